"""A storm and an outage, end to end in virtual time (``alert_storm``): 200 runs fail at once.

The payloads are the ones the synthesized state machines of tests/configs/multi.toml send under
faults (executed in moto's engine); the queue's settings and the event source mapping's are read
from the synthesized stack. Each failed run's alert step invokes the real handler once per
channel, as ``NotifyFailure`` does; the simulated mapping then delivers from moto's SQS to the
Slack and Chatwork stand-ins (which enforce the services' rate limits) and to SNS.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from alert_storm import (
    EventSourceMapping,
    StandIn,
    VirtualClock,
    chatwork_problem,
    chatwork_rule,
    create_alert_queues,
    jobs_per_message,
    moto_time,
    serving,
    slack_problem,
    slack_rule,
    storm_payloads,
)
from alert_world import AlertWorld, alert_world
from moto import mock_aws
from sfn_harness import CONTAINER_EXIT_1, NO_CAPACITY, REGION, Sandbox
from stack_helpers import definition_text, ids, named, resources

from lambda_src import alert

logging.getLogger("moto").setLevel(logging.CRITICAL)

RUNS = 200
CHANNELS = ("email", "slack", "chatwork")
EVERY_JOB = [f"storm-{index:03d}" for index in range(RUNS)]


@pytest.fixture(scope="module")
def samples(multi_stack) -> dict[str, list[dict[str, Any]]]:
    """Per channel, the payloads of three real failed runs: two capacity outages (a job in a time
    zone and a rate job) and a container that exited 1."""
    found: dict[str, list[dict[str, Any]]] = {channel: [] for channel in ("log", *CHANNELS)}
    with Sandbox() as sandbox:
        for job, fault in (("nightly-report", NO_CAPACITY), ("every-5-minutes", NO_CAPACITY)) * 4 + (
            ("nightly-report", CONTAINER_EXIT_1),
        ):
            run = sandbox.execute(definition_text(multi_stack, job), launches=[fault], handler=lambda e, c: {})
            assert run.status == "FAILED"
            for channel in found:
                (payload,) = run.alerts_to(channel)
                found[channel].append(payload)
    return found


@dataclass(frozen=True)
class Settings:
    visibility: int
    max_receives: int
    window: int
    batch_size: int
    concurrency: int


@pytest.fixture(scope="module")
def settings(multi_stack) -> Settings:
    _, queue = named(multi_stack, "aws_sqs_queue", "alert-queue_waiting")
    arn = ids(multi_stack, "aws_sqs_queue", "alert-queue_waiting", "arn")
    (mapping,) = [
        m for m in resources(multi_stack, "aws_lambda_event_source_mapping").values() if m["event_source_arn"] == arn
    ]
    return Settings(
        visibility=queue["visibility_timeout_seconds"],
        max_receives=json.loads(queue["redrive_policy"])["maxReceiveCount"],
        window=mapping["maximum_batching_window_in_seconds"],
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

    def fail(self, samples: dict[str, list[dict[str, Any]]]) -> None:
        """200 runs give up at once: each run's alert step invokes the handler once per channel."""
        for channel in ("log", *CHANNELS):
            for payload in storm_payloads(samples[channel], RUNS):
                answer = alert.handler(payload, None)
                assert set(answer) == ({"alert_id", "delivered"} if channel == "log" else {"alert_id", "queued"})

    def waiting(self, url: str) -> int:
        attributes = self.mapping.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def delivered(self) -> dict[str, list[str]]:
        """Per channel, the texts of the messages it showed."""
        return {
            "slack": [json.dumps(body) for body in self.slack.accepted],
            "chatwork": [body["body"] for body in self.chatwork.accepted],
            "email": [mail["Subject"] + "\n" + mail["Message"] for mail in self.world.emails()],
        }


@pytest.fixture
def storm(settings, monkeypatch) -> Iterator[Storm]:
    random.seed(19)
    clock = VirtualClock()
    slack, chatwork = StandIn(clock, slack_rule), StandIn(clock, chatwork_rule)
    with (
        mock_aws(),
        moto_time(clock),
        serving(slack, check=slack_problem),
        serving(chatwork, check=chatwork_problem),
    ):
        world = alert_world(monkeypatch.setenv, region=REGION, slack_url=slack.url, chatwork_base=chatwork.base)
        queues = create_alert_queues(
            monkeypatch.setenv,
            region=REGION,
            stack="batch",
            visibility=settings.visibility,
            max_receives=settings.max_receives,
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
        yield Storm(clock, slack, chatwork, world, mapping, queues.url, queues.dead_letter_url)
    alert.reset()


def test_200_failed_runs_reach_each_channel_once_in_at_most_10_messages(storm, samples):
    start = storm.clock()
    storm.fail(samples)
    # The state machines are done: every alert waits in the queue, nothing was posted yet.
    assert storm.waiting(storm.queue_url) == RUNS * len(CHANNELS)
    assert storm.slack.answered == storm.chatwork.answered == []

    storm.mapping.drain(until=start + 3600)
    delivered = storm.delivered()
    for channel in CHANNELS:
        assert sorted(jobs_per_message(delivered[channel])) == EVERY_JOB, channel
        assert 1 <= len(delivered[channel]) <= 10, (channel, len(delivered[channel]))
    assert storm.waiting(storm.queue_url) == 0
    assert storm.waiting(storm.dead_letter_url) == 0
    # Grouped by what happened, the largest group first, with the count in the headline.
    first = storm.chatwork.accepted[0]["body"]
    assert first.startswith("[info][title][batch] ")
    assert "runs: Fargate had no capacity in ap-northeast-1\n" in first
    # Every 429 was honoured: Slack never took two messages within a second, nor Chatwork 11 in 10 s.
    gaps = [b - a for a, b in zip(storm.slack.taken_at, storm.slack.taken_at[1:], strict=False)]
    assert all(gap >= 1.0 for gap in gaps)
    taken = storm.chatwork.taken_at
    assert all(taken[i + 10] - taken[i] >= 10.0 for i in range(len(taken) - 10))
    # The last message went out within minutes of the failures.
    assert max(storm.slack.taken_at + storm.chatwork.taken_at) - start < 600


def test_six_hours_of_chat_outage_lose_nothing_and_repeat_nothing(storm, samples):
    start = storm.clock()
    storm.slack.up = storm.chatwork.up = False
    storm.fail(samples)
    storm.mapping.drain(until=start + 6 * 3600)
    assert storm.slack.accepted == storm.chatwork.accepted == []
    assert set(storm.slack.answered) == set(storm.chatwork.answered) == {503}
    # Still waiting, not set aside: the queue holds every chat alert after six hours.
    assert storm.waiting(storm.queue_url) == RUNS * 2
    assert storm.waiting(storm.dead_letter_url) == 0

    storm.slack.up = storm.chatwork.up = True
    back = storm.clock()
    storm.mapping.drain(until=back + 3600)
    delivered = storm.delivered()
    for channel in CHANNELS:
        assert sorted(jobs_per_message(delivered[channel])) == EVERY_JOB, channel
    assert storm.waiting(storm.queue_url) == storm.waiting(storm.dead_letter_url) == 0
    # Delivered within one backoff step (at most 990 s) of the services' return.
    assert max(storm.slack.taken_at + storm.chatwork.taken_at) - back <= 990 + 2 * 60
