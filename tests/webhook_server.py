"""A real HTTP server on localhost that records what it receives and answers from a script."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Webhook:
    url: str
    statuses: list[int]  # answers in order; the last one repeats
    delay_seconds: float = 0.0
    received: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def webhook_server(statuses: list[int], *, delay_seconds: float = 0.0) -> Iterator[Webhook]:
    hook = Webhook(url="", statuses=statuses, delay_seconds=delay_seconds)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hook.received.append(
                {"path": self.path, "content_type": self.headers["Content-Type"], "body": json.loads(body)}
            )
            time.sleep(hook.delay_seconds)
            status = hook.statuses[min(len(hook.received), len(hook.statuses)) - 1]
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_port}/hooks/alerts"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
