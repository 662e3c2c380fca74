"""A real HTTP server on localhost that records what it receives and answers from a script.

It stands in for a Slack incoming webhook (JSON bodies) and for the Chatwork API (form bodies).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = int | tuple[int, str]  # a status, or a status and the response body


@dataclass
class Webhook:
    base: str  # http://127.0.0.1:<port>
    url: str  # base + the webhook path
    answers: list[Answer]  # in order; the last one repeats
    delay_seconds: float = 0.0
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def accepted(self) -> list[dict[str, Any]]:
        """The requests answered with a 2xx: the messages the channel shows."""
        return [request for request in self.received if 200 <= request["status"] < 300]


@contextmanager
def webhook_server(answers: list[Answer], *, delay_seconds: float = 0.0) -> Iterator[Webhook]:
    hook = Webhook(base="", url="", answers=answers, delay_seconds=delay_seconds)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            content_type = self.headers["Content-Type"] or ""
            if content_type.startswith("application/json"):
                body: Any = json.loads(raw)
            else:
                body = dict(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True))
            with hook.lock:
                index = len(hook.received)
                answer = hook.answers[min(index, len(hook.answers) - 1)]
                status, text = answer if isinstance(answer, tuple) else (answer, "ok")
                hook.received.append(
                    {
                        "path": self.path,
                        "content_type": content_type,
                        "headers": {name.lower(): value for name, value in self.headers.items()},
                        "body": body,
                        "status": status,
                    }
                )
            time.sleep(hook.delay_seconds)
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(text.encode())

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as base:
        hook.base = base
        hook.url = f"{hook.base}/services/T000/B000/secret-path"
        yield hook


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` on 127.0.0.1, in a thread, while the block runs; yields ``http://127.0.0.1:<port>``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
