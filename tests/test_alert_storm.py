"""A storm and an outage, end to end in virtual time (``alert_storm``): 200 runs fail at once.

The payloads are the ones the synthesized state machines of tests/configs/multi.toml send under
faults (executed in moto's engine); the queue's settings and the event source mapping's are read
from the synthesized stack. Each failed run's alert step invokes the real handler once per
channel, as ``NotifyFailure`` does; the simulated mapping then delivers from moto's SQS to the
Slack and Chatwork stand-ins (which enforce the services' rate limits) and to SNS.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alert_storm import CHANNELS, RUNS, Settings, Storm, jobs_per_message, real_samples, storm_world

EVERY_JOB = [f"storm-{index:03d}" for index in range(RUNS)]


@pytest.fixture(scope="module")
def samples(multi_stack) -> dict[str, list[dict[str, Any]]]:
    return real_samples(multi_stack)


@pytest.fixture
def storm(multi_stack, monkeypatch) -> Iterator[Storm]:
    with storm_world(Settings.of(multi_stack), monkeypatch.setenv) as storm:
        yield storm


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
    assert storm.last_post() - start < 600


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
        # The alerts that waited together come back together, and go out grouped.
        assert 1 <= len(delivered[channel]) <= 10, (channel, len(delivered[channel]))
    assert storm.waiting(storm.queue_url) == storm.waiting(storm.dead_letter_url) == 0
    # Delivered within the longest wait between tries (300 s) of the services' return, and the
    # time to post the parts at the services' rates.
    assert storm.last_post() - back <= 300 + 5 * 60
