"""An alert storm in virtual time: the alert Lambda, the alert queue in moto, a simulated event
source mapping, and Slack and Chatwork stand-ins on 127.0.0.1 that enforce the services' rate
limits. Used by tests/test_alert_storm.py and by `make bench` (``report``).

- ``VirtualClock`` is the one time of the simulation: moto's SQS reads it (visibility timeouts,
  receive counts), the stand-ins read it (rate limits; each request takes ``REQUEST_SECONDS`` of
  it), and the Lambda reads it (a Chatwork reset time). Nothing sleeps.
- ``EventSourceMapping`` does what Lambda's SQS mapping does, as documented: it waits for the
  batching window once a message is visible, receives up to the batch size, invokes the function
  with the standard SQS event in up to ``MAXIMUM_CONCURRENCY`` batches, and deletes what the
  function did not report as failed.
  https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest import mock

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sqs import models as sqs_models

from lambda_src import alert
from lambda_src.contract import ALERT_DEAD_LETTER_URL_VARIABLE, ALERT_QUEUE_URL_VARIABLE, STACK_NAME_VARIABLE

START = 1_796_083_200.0  # 2026-12-01 00:00:00 UTC: the storm's first failure
REQUEST_SECONDS = 0.3  # what one request to a chat service takes, in virtual time
SLACK_INTERVAL_SECONDS = 1.0  # Slack: about one message a second per webhook
CHATWORK_WINDOW = (10, 10.0)  # Chatwork: 10 messages per 10 s per room


class VirtualClock:
    def __init__(self, start: float = START) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds

    def advance_to(self, moment: float) -> None:
        with self._lock:
            self.now = max(self.now, moment)


@contextmanager
def moto_time(clock: VirtualClock) -> Iterator[None]:
    """moto's SQS on the virtual clock."""
    with (
        mock.patch.object(sqs_models, "unix_time", lambda *args: clock()),
        mock.patch.object(sqs_models, "unix_time_millis", lambda *args: clock() * 1000),
    ):
        yield


# --- the chat services --------------------------------------------------------------------------------


@dataclass
class StandIn:
    """A chat service: up (enforcing its rate limit) or down (503). ``accepted``: the bodies it took."""

    clock: VirtualClock
    rule: Callable[[StandIn], tuple[int, dict[str, str]]]
    up: bool = True
    accepted: list[Any] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    taken_at: list[float] = field(default_factory=list)
    url: str = ""
    base: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, body: Any) -> tuple[int, dict[str, str]]:
        with self.lock:
            self.clock.advance(REQUEST_SECONDS)
            status, headers = (503, {}) if not self.up else self.rule(self)
            if status == 200:
                self.accepted.append(body)
                self.taken_at.append(self.clock())
            self.answered.append(status)
            return status, headers


def slack_rule(service: StandIn) -> tuple[int, dict[str, str]]:
    """One message a second; beyond it 429 with Retry-After. A message over Block Kit's limits
    (50 blocks, 3,000 characters a section) is refused, as Slack refuses it."""
    if service.taken_at and service.clock() - service.taken_at[-1] < SLACK_INTERVAL_SECONDS:
        return 429, {"Retry-After": "1"}
    return 200, {}


def chatwork_rule(service: StandIn) -> tuple[int, dict[str, str]]:
    """Ten messages in any 10 s; beyond it 429 with x-ratelimit-reset (epoch seconds)."""
    count, window = CHATWORK_WINDOW
    recent = [moment for moment in service.taken_at if service.clock() - moment < window]
    if len(recent) >= count:
        return 429, {"x-ratelimit-reset": str(int(recent[0] + window) + 1)}
    return 200, {}


@contextmanager
def serving(service: StandIn, *, check: Callable[[Any], str | None]) -> Iterator[StandIn]:
    """``service`` on 127.0.0.1; ``check(body)`` names what is wrong with a body (answered 400)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            if (self.headers["Content-Type"] or "").startswith("application/json"):
                body: Any = json.loads(raw)
            else:
                body = dict(urllib.parse.parse_qsl(raw.decode()))
            problem = check(body)
            status, headers = (400, {}) if problem else service.answer(body)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write((problem or "ok").encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.base = f"http://127.0.0.1:{server.server_port}"
    service.url = f"{service.base}/services/T000/B000/storm"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()


def slack_problem(body: Any) -> str | None:
    blocks = body.get("blocks", [])
    if len(blocks) > 50:
        return "invalid_blocks: more than 50"
    if any(len(block.get("text", {}).get("text", "")) > 3000 for block in blocks):
        return "invalid_blocks: a section over 3000"
    return None


def chatwork_problem(body: Any) -> str | None:
    return "body too long" if len(body.get("body", "")) > 40000 else None


# --- the queue and its event source mapping ---------------------------------------------------------


@dataclass
class AlertQueues:
    url: str
    arn: str
    dead_letter_url: str

    @property
    def name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


def create_alert_queues(
    setenv: Callable[[str, str], None], *, region: str, stack: str, visibility: int, max_receives: int
) -> AlertQueues:
    """The alert queue and its dead-letter queue as the stack declares them, and the Lambda's
    environment naming them."""
    sqs = boto3.client("sqs", region_name=region)
    dead_letter_url = sqs.create_queue(QueueName=f"{stack}-alerts-undeliverable")["QueueUrl"]
    dead_letter_arn = sqs.get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": max_receives})
    url = sqs.create_queue(
        QueueName=f"{stack}-alerts",
        Attributes={"VisibilityTimeout": str(visibility), "RedrivePolicy": redrive},
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    setenv(ALERT_QUEUE_URL_VARIABLE, url)
    setenv(ALERT_DEAD_LETTER_URL_VARIABLE, dead_letter_url)
    setenv(STACK_NAME_VARIABLE, stack)
    return AlertQueues(url=url, arn=arn, dead_letter_url=dead_letter_url)


class _Context:
    """A Lambda context with a minute left (virtual: a request's time is the clock's)."""

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class MappingRun:
    invocations: int = 0
    received: int = 0
    redelivered: int = 0  # messages the function reported as failed


class EventSourceMapping:
    """Lambda's SQS event source mapping over moto, in virtual time."""

    def __init__(
        self,
        queues: AlertQueues,
        *,
        region: str,
        clock: VirtualClock,
        window_seconds: int,
        batch_size: int,
        concurrency: int,
        handler: Callable[[dict[str, Any], Any], dict[str, Any]] = alert.handler,
    ) -> None:
        self.queues = queues
        self.sqs = boto3.client("sqs", region_name=region)
        self.region = region
        self.clock = clock
        self.window = window_seconds
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.handler = handler
        self.run = MappingRun()

    def _messages(self) -> list[Any]:
        backend = sqs_models.sqs_backends[DEFAULT_ACCOUNT_ID][self.region]
        return list(backend.queues[self.queues.name]._messages)

    def _next_visible(self) -> float | None:
        """When the next message becomes visible (now, if one is), or ``None`` when the queue is empty."""
        moments = [max(m.visible_at, m.delayed_until) / 1000 for m in self._messages()]
        return min(moments) if moments else None

    def poll(self, *, until: float) -> bool:
        """One invocation round, if a message becomes visible before ``until``: wait for it and
        the batching window, receive, invoke. Whether a round ran."""
        moment = self._next_visible()
        if moment is None or moment > until:
            return False
        self.clock.advance_to(moment + 0.001)
        self.clock.advance(self.window)
        records = self._receive()
        if not records:
            return True
        # The mapping's pollers each fill a batch: here, ten at a time, in turn.
        batches: list[list[dict[str, Any]]] = [[] for _ in range(self.concurrency)]
        for start in range(0, len(records), 10):
            batches[(start // 10) % self.concurrency].extend(records[start : start + 10])
        for batch in filter(None, batches):
            self._invoke(batch)
        return True

    def _receive(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        while len(records) < self.batch_size:
            answer = self.sqs.receive_message(
                QueueUrl=self.queues.url,
                MaxNumberOfMessages=min(10, self.batch_size - len(records)),
                AttributeNames=["All"],
            )
            messages = answer.get("Messages", [])
            if not messages:
                break
            records += [self._record(message) for message in messages]
        self.run.received += len(records)
        return records

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {},
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queues.arn,
            "awsRegion": self.region,
        }

    def _invoke(self, batch: list[dict[str, Any]]) -> None:
        self.run.invocations += 1
        answer = self.handler({"Records": batch}, _Context())
        failed = {item["itemIdentifier"] for item in answer["batchItemFailures"]}
        self.run.redelivered += len(failed)
        for record in batch:
            if record["messageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.queues.url, ReceiptHandle=record["receiptHandle"])

    def drain(self, *, until: float) -> None:
        while self.poll(until=until):
            pass


# --- the storm -----------------------------------------------------------------------------------------


def storm_payloads(samples: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """``count`` runs' payloads for one channel, each a real payload (``samples``, in turn) given a
    job (``storm-000`` ...) and an execution (``run-000`` ...) of its own."""
    payloads = []
    for index in range(count):
        sample = samples[index % len(samples)]
        execution = sample["execution"].rsplit(":", 1)[0] + f":run-{index:03d}"
        payloads.append({**sample, "job": f"storm-{index:03d}", "execution": execution})
    return payloads


def jobs_per_message(texts: list[str]) -> list[str]:
    """The storm jobs each delivered message names (each once per message), message after message:
    a job delivered once appears once in this list."""
    return [job for text in texts for job in sorted(set(re.findall(r"storm-\d{3}", text)))]
