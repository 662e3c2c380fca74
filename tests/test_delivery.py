"""The alert queue's consumer and producer (lambda_src.delivery, lambda_src.alert): which messages
come back and when, which are set aside, what is logged; the retry schedule's horizon."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from alert_storm import StandIn, VirtualClock, serving
from alert_world import alert_world, sqs_record
from moto import mock_aws
from webhook_server import webhook_server

from lambda_src import alert
from lambda_src.channels import Channel, Parameters
from lambda_src.contract import (
    ALERT_DEAD_LETTER_URL_VARIABLE,
    ALERT_QUEUE_MAX_RECEIVES,
    ALERT_QUEUE_URL_VARIABLE,
    ALERT_QUEUE_VISIBILITY_SECONDS,
    STACK_NAME_VARIABLE,
    AlertDeliveryError,
    AlertRejectedError,
)
from lambda_src.delivery import (
    ENVELOPE,
    MESSAGE_LIMIT_BYTES,
    RATE_LIMITED_ALLOWANCE,
    AlertQueue,
    deliver_queued,
    horizon_seconds,
    queued_body,
    read_queued,
    retry_delay,
)
from lambda_src.digest import Part
from lambda_src.message import Alert
from lambda_src.slack import SlackChannel

REGION = "eu-west-1"


def payload(job: str, **extra: Any) -> dict[str, Any]:
    return {
        "job": job,
        "error": "ECS.AmazonECSException",
        "stack": "batch",
        "execution": f"arn:aws:states:{REGION}:123456789012:execution:batch-{job}:run",
        **extra,
    }


def record(job: str, *, channel: str = "slack", receives: int = 1, message_id: str | None = None) -> dict:
    return {
        **sqs_record(queued_body(channel, payload(job, channel=channel)), message_id=message_id or f"m-{job}"),
        "receiptHandle": f"h-{job}",
        "attributes": {"ApproximateReceiveCount": str(receives)},
    }


# --- the retry schedule ---------------------------------------------------------------------------


def test_a_channel_that_is_down_is_tried_again_after_a_doubling_wait_up_to_the_visibility_timeout():
    assert [retry_delay(n, retry_after=None, jitter=lambda: 0.0) for n in range(1, 9)] == [
        30, 60, 120, 240, 300, 300, 300, 300,
    ]  # fmt: skip
    # No jitter: alerts that failed together come back together, as one group.
    assert [retry_delay(n, retry_after=None, jitter=lambda: 1.0) for n in (1, 6)] == [30, 300]


def test_a_rate_limited_channel_is_tried_again_when_the_service_said():
    assert retry_delay(5, retry_after=7.2, jitter=lambda: 0.0) == 8
    assert retry_delay(5, retry_after=7.2, jitter=lambda: 1.0) == 10
    assert retry_delay(1, retry_after=0.0, jitter=lambda: 0.0) == 1  # never at once
    assert retry_delay(1, retry_after=10**9, jitter=lambda: 0.0) == 43_200  # SQS's longest visibility timeout


def test_the_tries_last_more_than_a_day_even_after_rate_limited_answers():
    assert ALERT_QUEUE_MAX_RECEIVES * ALERT_QUEUE_VISIBILITY_SECONDS >= 86_400
    assert horizon_seconds() == 30 + 60 + 120 + 240 + 316 * 300  # 95,250 s: 26 h
    assert horizon_seconds(rate_limited=RATE_LIMITED_ALLOWANCE) == 20 * 1 + 300 * 300
    assert horizon_seconds(rate_limited=RATE_LIMITED_ALLOWANCE) >= 86_400


# --- the message --------------------------------------------------------------------------------------


def test_a_queued_message_names_its_channel_and_carries_the_payload():
    body = queued_body("chatwork", payload("nightly"))
    assert json.loads(body) == {ENVELOPE: 1, "channel": "chatwork", "payload": payload("nightly")}
    item = read_queued({**sqs_record(body, message_id="m1"), "receiptHandle": "h1",
                        "attributes": {"ApproximateReceiveCount": "4"}})  # fmt: skip
    assert (item.channel, item.payload, item.message_id, item.receipt_handle, item.receives) == (
        "chatwork", payload("nightly"), "m1", "h1", 4,
    )  # fmt: skip


def test_a_payload_too_large_for_sqs_keeps_its_job_and_loses_the_end_of_its_cause():
    body = queued_body("slack", payload("big", cause="x" * 400_000, input={"blob": "y" * 300_000}))
    assert len(body.encode()) <= MESSAGE_LIMIT_BYTES
    kept = json.loads(body)["payload"]
    assert kept["job"] == "big"
    assert kept["cause"] == "x" * 7999 + "…"  # message.clip: at most 8,000 characters, the cut shown
    assert kept["input"].startswith('{"blob": "yyy') and len(kept["input"]) == 8000


@pytest.mark.parametrize("body", ["not json", "[]", '{"channel": "slack"}', '{"alertQueue": 2, "channel": "slack"}'])
def test_a_message_this_function_did_not_queue_is_not_read_as_an_alert(body):
    assert read_queued(sqs_record(body)) is None


# --- delivering a batch ---------------------------------------------------------------------------------


@dataclass
class FakeQueue:
    """Records what ``deliver_queued`` asks of the queue."""

    aside_ok: bool = True
    waits: list[tuple[str, int]] = field(default_factory=list)
    aside: list[tuple[str, str]] = field(default_factory=list)

    def delay(self, waits):
        self.waits += [(item.message_id, seconds) for item, seconds in waits]
        return []

    def set_aside(self, body, *, reason):
        self.aside.append((json.loads(body)["payload"]["job"] if body.startswith("{") else body, reason))
        return self.aside_ok


@dataclass
class FakeChannel(Channel):
    """Parts of two alerts each; ``outcomes`` answers each ``deliver`` in turn."""

    outcomes: list[Any]
    name: str = "slack"
    sent: list[tuple[str, ...]] = field(default_factory=list)
    rendered: list[Alert] = field(default_factory=list)

    def parts(self, alerts, *, stack):
        self.rendered = list(alerts)
        return [Part(None, tuple(range(i, min(i + 2, len(alerts))))) for i in range(0, len(alerts), 2)]

    def deliver(self, part, *, timeout):
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        self.sent.append(tuple(self.rendered[i].job for i in part.indices))
        return outcome


def deliver(records, channel, queue, *, log_tail=lambda payload: ()):
    lines: list[dict] = []
    failed = deliver_queued(
        records,
        channels={"slack": channel},
        queue=queue,
        stack="batch",
        timeout=lambda: 10.0,
        log=lines.append,
        log_tail=log_tail,
        jitter=lambda: 0.5,
    )
    return failed, lines


JOBS = ["a", "b", "c", "d", "e"]


def test_each_part_that_goes_through_is_done_and_each_alert_logged_with_its_id():
    channel, queue = FakeChannel(["HTTP 200 ok"] * 3), FakeQueue()
    failed, lines = deliver([record(job) for job in JOBS], channel, queue)
    assert failed == []
    assert channel.sent == [("a", "b"), ("c", "d"), ("e",)]
    assert [(line["alert_id"].split(":")[-2], line["part"], line["outcome"]) for line in lines] == [
        ("batch-a", "1 of 3", "delivered"), ("batch-b", "1 of 3", "delivered"), ("batch-c", "2 of 3", "delivered"),
        ("batch-d", "2 of 3", "delivered"), ("batch-e", "3 of 3", "delivered"),
    ]  # fmt: skip
    assert queue.waits == queue.aside == []


def test_a_part_that_failed_and_every_later_one_come_back_the_ones_before_do_not():
    down = AlertDeliveryError("slack answered HTTP 429", retry_after=5.0)
    channel, queue = FakeChannel(["HTTP 200 ok", down]), FakeQueue()
    failed, lines = deliver([record(job) for job in JOBS], channel, queue)
    assert channel.sent == [("a", "b")]
    assert failed == ["m-c", "m-d", "m-e"]
    assert queue.waits == [("m-c", 6), ("m-d", 6), ("m-e", 6)]  # 5 s asked, plus 2 x 0.5 s
    assert [line["outcome"] for line in lines] == ["delivered"] * 2 + ["not delivered, tried again in 6 s"] * 3


def test_a_channel_down_without_a_wait_backs_off_by_each_messages_receive_count():
    channel, queue = FakeChannel([AlertDeliveryError("slack answered HTTP 503")]), FakeQueue()
    failed, _ = deliver([record("a", receives=1), record("b", receives=6)], channel, queue)
    assert failed == ["m-a", "m-b"]
    assert queue.waits == [("m-a", 30), ("m-b", 300)]


def test_a_refused_part_is_set_aside_and_the_others_still_go():
    refused = AlertRejectedError("slack refused the alert: HTTP 404 no_team")
    channel, queue = FakeChannel([refused, "HTTP 200 ok", "HTTP 200 ok"]), FakeQueue()
    failed, lines = deliver([record(job) for job in JOBS], channel, queue)
    assert failed == []
    assert queue.aside == [("a", str(refused)), ("b", str(refused))]
    assert channel.sent == [("c", "d"), ("e",)]
    assert [line["outcome"] for line in lines[:2]] == ["refused, set aside in the dead-letter queue"] * 2
    assert lines[0]["reason"] == str(refused) and lines[0]["level"] == "ERROR"


def test_a_refused_alert_that_could_not_be_set_aside_comes_back():
    channel, queue = FakeChannel([AlertRejectedError("no")]), FakeQueue(aside_ok=False)
    failed, lines = deliver([record("a")], channel, queue)
    assert failed == ["m-a"]
    assert lines[0]["outcome"] == "refused, to be set aside again"


def test_alerts_for_a_channel_no_longer_configured_are_set_aside():
    queue = FakeQueue()
    failed, lines = deliver([record("a", channel="teams")], FakeChannel([]), queue)
    assert failed == []
    assert queue.aside == [("a", "channel 'teams' is no longer configured")]
    assert lines[0]["channel"] == "teams"


def test_a_message_that_is_not_an_alert_is_set_aside_once():
    queue = FakeQueue()
    failed, lines = deliver([sqs_record("hello", message_id="odd")], FakeChannel([]), queue)
    assert failed == []
    assert queue.aside == [("hello", "not an alert this function queued")]
    assert lines == [{"level": "ERROR", "message_id": "odd", "outcome": "set aside",
                      "reason": "not an alert this function queued"}]  # fmt: skip


def test_a_single_alert_gets_its_tasks_last_log_lines_and_a_group_does_not():
    asked: list[str] = []

    def tail(payload):
        asked.append(payload["job"])
        return ("line 1",)

    channel = FakeChannel(["ok"] * 3)
    deliver([record("a")], channel, FakeQueue(), log_tail=tail)
    assert asked == ["a"] and channel.rendered[0].log_tail == ("line 1",)
    deliver([record("a"), record("b")], channel, FakeQueue(), log_tail=tail)
    assert asked == ["a"] and [alert.log_tail for alert in channel.rendered] == [(), ()]


# --- the rate limit a 429 names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),  # Slack: seconds
        ({"x-ratelimit-reset": str(1_796_083_200 + 4)}, 4.0),  # Chatwork: the epoch second it resets
        ({"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}, None),  # a date: the backoff applies
        ({}, None),
    ],
)
def test_a_429_carries_the_wait_the_service_asked_for(headers, expected):
    clock = VirtualClock(1_796_083_200.0)
    service = StandIn(clock, lambda s: (429, headers))
    ssm = SimpleNamespace(get_parameter=lambda **_: {"Parameter": {"Value": service.url}})
    parameters = Parameters(lambda: ssm)
    with serving(service, check=lambda body: None):
        channel = SlackChannel("/p", parameters, clock=clock)
        with pytest.raises(AlertDeliveryError) as raised:
            channel.deliver(Part({"text": "x"}, (0,)), timeout=5)
    assert raised.value.retry_after == (pytest.approx(expected - 0.3) if "x-ratelimit-reset" in headers else expected)


# --- the handler: queue, deliver, fan out ------------------------------------------------------------


@pytest.fixture
def queued(monkeypatch):
    """moto's SQS with the alert queues, the Lambda configured for them and a Slack stand-in."""
    with mock_aws(), webhook_server([200]) as slack:
        world = alert_world(monkeypatch.setenv, region=REGION, slack_url=slack.url)
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="batch-alert-queue")["QueueUrl"]
        dead_letter = sqs.create_queue(QueueName="batch-alert-queue-undeliverable")["QueueUrl"]
        monkeypatch.setenv(ALERT_QUEUE_URL_VARIABLE, url)
        monkeypatch.setenv(ALERT_DEAD_LETTER_URL_VARIABLE, dead_letter)
        monkeypatch.setenv(STACK_NAME_VARIABLE, "batch")
        alert.reset()
        yield sqs, url, dead_letter, slack, world
    alert.reset()


def bodies(sqs, url) -> list[dict]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def test_a_channels_alert_waits_in_the_queue_and_the_step_returns_at_once(queued):
    sqs, url, _, slack, _ = queued
    answer = alert.handler(payload("nightly", channel="slack"), None)
    assert answer["alert_id"].endswith(":batch-nightly:run") and list(answer["queued"]) == ["slack"]
    assert bodies(sqs, url) == [{ENVELOPE: 1, "channel": "slack", "payload": payload("nightly", channel="slack")}]
    assert slack.received == []


def test_the_log_channel_and_a_persons_request_do_not_wait(queued, capsys):
    sqs, url, _, slack, world = queued
    assert alert.handler(payload("nightly", channel="log"), None)["delivered"] == {"log": "written"}
    assert json.loads(capsys.readouterr().out)["job"] == "nightly"
    answer = alert.handler({"test": True, "stack": "batch"}, None)
    assert set(answer["delivered"]) == {"log", "email", "slack"}
    assert len(slack.received) == 1 and len(world.emails()) == 1
    assert bodies(sqs, url) == []


def test_an_unconfigured_channel_is_refused_before_anything_is_queued(queued):
    sqs, url, *_ = queued
    with pytest.raises(AlertRejectedError, match="'chatwork' is not configured"):
        alert.handler(payload("nightly", channel="chatwork"), None)
    assert bodies(sqs, url) == []


def test_a_batch_from_the_alert_queue_is_delivered_as_one_group(queued):
    sqs, url, _, slack, _ = queued
    for job in ("a", "b", "c"):
        alert.handler(payload(job, channel="slack"), None)
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    arn = f"arn:aws:sqs:{REGION}:123456789012:batch-alert-queue"
    records = [
        {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
         "attributes": m["Attributes"], "eventSource": "aws:sqs", "eventSourceARN": arn}
        for m in messages
    ]  # fmt: skip
    assert alert.handler({"Records": records}, None) == {"batchItemFailures": []}
    (posted,) = slack.received
    assert posted["body"]["text"] == "[batch] 3 runs failed: Fargate had no capacity"


def test_a_run_that_never_started_is_queued_for_every_channel(queued):
    sqs, url, *_ = queued
    rule = f"arn:aws:events:{REGION}:123456789012:rule/batch-a-schedule"
    start = {"version": "0", "id": "e1", "detail-type": "Scheduled Event", "source": "aws.events",
             "time": "2026-12-01T00:00:00Z", "resources": [rule], "detail": {}}  # fmt: skip
    answer = alert.handler({"Records": [sqs_record(start, message_id="start-1")]}, None)
    assert answer == {"batchItemFailures": []}
    queued_now = sorted(bodies(sqs, url), key=lambda body: body["channel"])
    assert [body["channel"] for body in queued_now] == ["email", "slack"]
    assert all(body["payload"]["channel"] == body["channel"] for body in queued_now)
    assert {body["payload"]["error"] for body in queued_now} == {"Schedule.StartFailed"}


def test_the_queue_that_cannot_take_the_alert_makes_the_step_retry(queued, monkeypatch):
    monkeypatch.setenv(ALERT_QUEUE_URL_VARIABLE, f"https://sqs.{REGION}.amazonaws.com/123456789012/gone")
    with pytest.raises(AlertDeliveryError, match="the alert queue did not take the alert"):
        alert.handler(payload("nightly", channel="slack"), None)


def test_setting_aside_and_delaying_use_the_real_queues(queued):
    sqs, url, dead_letter, *_ = queued
    queue = AlertQueue(lambda: sqs, url=url, dead_letter_url=dead_letter)
    assert queue.set_aside('{"x": 1}', reason="refused: HTTP 404") is True
    (message,) = sqs.receive_message(QueueUrl=dead_letter, MessageAttributeNames=["All"])["Messages"]
    assert message["Body"] == '{"x": 1}'
    assert message["MessageAttributes"]["reason"]["StringValue"] == "refused: HTTP 404"
    queue.put([("slack", payload(f"j{i}")) for i in range(3)])
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    items = [read_queued({"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"]})
             for m in received]  # fmt: skip
    assert queue.delay([(item, 600) for item in items]) == []
    # Hidden for ten minutes now: nothing to receive.
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []) == []
