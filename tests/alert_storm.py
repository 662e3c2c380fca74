"""An alert storm in virtual time: the alert Lambda, the alert queue in moto, a simulated event
source mapping, and Slack and Chatwork stand-ins on 127.0.0.1 that enforce the services' rate
limits. Used by tests/test_alert_storm.py, and by `make bench` (``report()``, with tests/ and the
project's root on ``sys.path``).

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
import os
import random
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from unittest import mock

import boto3
import webhook_server
from alert_world import AlertWorld, alert_world
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sqs import models as sqs_models
from sfn_harness import CONTAINER_EXIT_1, NO_CAPACITY, REGION, Sandbox
from stack_helpers import definition_text, ids, named, resources

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


def _within_retention(self: Any, queue_name: str, message: Any) -> bool:
    """moto's own check, reading the one attribute it needs (moto 5.2.5 renders every attribute
    of the queue for each message it receives: most of a long simulation's time)."""
    retention = int(self.get_queue(queue_name).message_retention_period)
    return retention + message.sent_timestamp / 1000 > sqs_models.unix_time()


def _had_receipt_handle(self: Any, handle: str) -> bool:
    """moto's own check, without building a list of every handle the message ever had for each of
    the queue's messages on each ChangeMessageVisibility."""
    return handle == self.receipt_handle or handle in self._old_receipt_handles


@contextmanager
def moto_time(clock: VirtualClock) -> Iterator[None]:
    """moto's SQS on the virtual clock (and two of its checks, the same answers at less cost)."""
    with (
        mock.patch.object(sqs_models.Message, "had_receipt_handle", _had_receipt_handle),
        mock.patch.object(sqs_models, "unix_time", lambda *args: clock()),
        mock.patch.object(sqs_models, "unix_time_millis", lambda *args: clock() * 1000),
        mock.patch.object(sqs_models.SQSBackend, "is_message_valid_based_on_retention_period", _within_retention),
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

    with webhook_server.serving(Handler) as base:
        service.base = base
        service.url = f"{base}/services/T000/B000/storm"
        yield service


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
    dead_letter_url = sqs.create_queue(QueueName=f"{stack}-alert-queue-undeliverable")["QueueUrl"]
    dead_letter_arn = sqs.get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": max_receives})
    url = sqs.create_queue(
        QueueName=f"{stack}-alert-queue",
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
        return list(self._backend().queues[self.queues.name]._messages)

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

    def _backend(self) -> Any:
        return sqs_models.sqs_backends[DEFAULT_ACCOUNT_ID][self.region]

    def _receive(self) -> list[dict[str, Any]]:
        """Up to the batch size, as the mapping's pollers receive it (they are AWS's own: here
        moto's backend directly, without an API call per ten messages)."""
        queue = self._backend().get_queue(self.queues.name)
        messages = self._backend().receive_message(
            self.queues.name,
            count=self.batch_size,
            wait_seconds_timeout=0,
            visibility_timeout=int(queue.visibility_timeout),  # the queue's, as the mapping's pollers use
        )
        records = [self._record(message) for message in messages]
        self.run.received += len(records)
        return records

    def _record(self, message: Any) -> dict[str, Any]:
        return {
            "messageId": message.id,
            "receiptHandle": message.receipt_handle,
            "body": message.body,
            "attributes": {
                "ApproximateReceiveCount": str(message.approximate_receive_count),
                "SentTimestamp": str(message.sent_timestamp),
            },
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
                self._backend().delete_message(self.queues.name, record["receiptHandle"])

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


# --- the whole storm, for the tests and the benchmark ----------------------------------------------

RUNS = 200
CHANNELS = ("email", "slack", "chatwork")


def real_samples(stack: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per channel, the payloads of nine real failed runs of ``stack`` (tests/configs/multi.toml),
    executed in moto's engine: capacity outages of a job in a time zone and of a rate job, and a
    container that exited 1."""
    found: dict[str, list[dict[str, Any]]] = {channel: [] for channel in ("log", *CHANNELS)}
    faults = (("nightly-report", NO_CAPACITY), ("every-5-minutes", NO_CAPACITY)) * 4
    with Sandbox() as sandbox:
        for job, fault in (*faults, ("nightly-report", CONTAINER_EXIT_1)):
            run = sandbox.execute(definition_text(stack, job), launches=[fault], handler=lambda e, c: {})
            assert run.status == "FAILED", run
            for channel in found:
                (payload,) = run.alerts_to(channel)
                found[channel].append(payload)
    return found


@dataclass(frozen=True)
class Settings:
    """The alert queue and its event source mapping, as ``stack`` declares them."""

    visibility: int
    max_receives: int
    window: int
    batch_size: int
    concurrency: int

    @classmethod
    def of(cls, stack: dict[str, Any]) -> Settings:
        _, queue = named(stack, "aws_sqs_queue", "alert-queue_waiting")
        arn = ids(stack, "aws_sqs_queue", "alert-queue_waiting", "arn")
        mappings = resources(stack, "aws_lambda_event_source_mapping").values()
        (mapping,) = [m for m in mappings if m["event_source_arn"] == arn]
        return cls(
            visibility=queue["visibility_timeout_seconds"],
            max_receives=json.loads(queue["redrive_policy"])["maxReceiveCount"],
            window=mapping.get("maximum_batching_window_in_seconds", 0),
            batch_size=mapping["batch_size"],
            concurrency=mapping["scaling_config"]["maximum_concurrency"],
        )


@dataclass
class Storm:
    clock: VirtualClock
    slack: StandIn
    chatwork: StandIn
    world: AlertWorld
    mapping: EventSourceMapping
    queue_url: str
    dead_letter_url: str

    def fail(self, samples: dict[str, list[dict[str, Any]]], count: int = RUNS) -> None:
        """``count`` runs give up at once: each run's alert step invokes the handler once per
        channel, as the state machine's NotifyFailure does."""
        for channel in ("log", *CHANNELS):
            for payload in storm_payloads(samples[channel], count):
                answer = alert.handler(payload, None)
                assert set(answer) == ({"alert_id", "delivered"} if channel == "log" else {"alert_id", "queued"})

    def waiting(self, url: str) -> int:
        attributes = self.mapping.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def delivered(self) -> dict[str, list[str]]:
        """Per channel, the texts of the messages it showed (the mailbox is drained)."""
        return {
            "slack": [json.dumps(body) for body in self.slack.accepted],
            "chatwork": [body["body"] for body in self.chatwork.accepted],
            "email": [mail["Subject"] + "\n" + mail["Message"] for mail in self.world.emails()],
        }

    def last_post(self) -> float:
        return max(self.slack.taken_at + self.chatwork.taken_at)


@contextmanager
def storm_world(settings: Settings, setenv: Callable[[str, str], None]) -> Iterator[Storm]:
    """moto (SQS, SNS, SSM) on a virtual clock, the two stand-ins, the alert queues as ``settings``
    say, and the Lambda configured for all of them. Jitter is seeded: the same storm every time."""
    random.seed(19)
    clock = VirtualClock()
    slack, chatwork = StandIn(clock, slack_rule), StandIn(clock, chatwork_rule)
    with (
        mock_aws(),
        moto_time(clock),
        serving(slack, check=slack_problem),
        serving(chatwork, check=chatwork_problem),
    ):
        world = alert_world(setenv, region=REGION, slack_url=slack.url, chatwork_base=chatwork.base)
        queues = create_alert_queues(
            setenv, region=REGION, stack="batch", visibility=settings.visibility, max_receives=settings.max_receives
        )
        alert.reset(clock=clock)
        mapping = EventSourceMapping(
            queues,
            region=REGION,
            clock=clock,
            window_seconds=settings.window,
            batch_size=settings.batch_size,
            concurrency=settings.concurrency,
        )
        try:
            yield Storm(clock, slack, chatwork, world, mapping, queues.url, queues.dead_letter_url)
        finally:
            alert.reset()


def report() -> dict[str, Any]:
    """The figures `make bench` prints: a storm of 200 failed runs, then 200 more during a 6-hour
    chat outage: the messages each channel showed, and the simulated time to the last one."""
    from conftest import MULTI_CONFIG, synth

    from constructs_lib.model.config import load_config

    stack = synth(load_config(MULTI_CONFIG))
    samples, settings = real_samples(stack), Settings.of(stack)
    saved = dict(os.environ)
    try:
        figures: dict[str, Any] = {}
        with storm_world(settings, os.environ.__setitem__) as storm:
            start = storm.clock()
            storm.fail(samples)
            storm.mapping.drain(until=start + 3600)
            figures["storm"] = {
                "messages": {channel: len(texts) for channel, texts in storm.delivered().items()},
                "seconds_to_last_delivery": round(storm.last_post() - start, 1),
                "invocations": storm.mapping.run.invocations,
            }
        with storm_world(settings, os.environ.__setitem__) as storm:
            start = storm.clock()
            storm.slack.up = storm.chatwork.up = False
            storm.fail(samples)
            storm.mapping.drain(until=start + 6 * 3600)
            storm.slack.up = storm.chatwork.up = True
            back = storm.clock()
            storm.mapping.drain(until=back + 3600)
            figures["outage"] = {
                "messages": {channel: len(texts) for channel, texts in storm.delivered().items()},
                "seconds_from_recovery_to_last_delivery": round(storm.last_post() - back, 1),
                "set_aside": storm.waiting(storm.dead_letter_url),
            }
        return figures
    finally:
        os.environ.clear()
        os.environ.update(saved)
