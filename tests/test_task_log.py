"""The last lines of a failed run's task log in its alert: read from the job's log stream in moto's
CloudWatch Logs, only when the task ran, capped, stripped of control characters, and unable to
write the chat services' markup."""

from __future__ import annotations

import json
import logging
import time

import boto3
import pytest
from alert_world import alert_world
from moto import mock_aws
from sfn_harness import CONTAINER_EXIT_1, FAILED_TO_START
from webhook_server import webhook_server

from lambda_src import alert
from lambda_src.alert import handler
from lambda_src.task_log import MAX_CHARACTERS, MAX_LINE, clean, stream_of

logging.getLogger("moto").setLevel(logging.CRITICAL)

REGION = "ap-northeast-1"
GROUP = "/ecs/batch-nightly-report"
TASK_ID = "0123456789abcdef"  # the task in CONTAINER_EXIT_1's cause
STREAM = f"job/app/{TASK_ID}"


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def payload(channel: str, cause: str = CONTAINER_EXIT_1.cause) -> dict:
    return {
        "channel": channel,
        "stack": "batch",
        "job": "nightly-report",
        "error": "Job.TaskFailed",
        "cause": cause,
        "execution": f"arn:aws:states:{REGION}:123456789012:execution:batch-nightly-report:run-1",
        "logGroup": GROUP,
        "logStreamPrefix": "job/app",
    }


def write_log(lines: list[str]) -> None:
    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName=STREAM)
    logs.put_log_events(
        logGroupName=GROUP,
        logStreamName=STREAM,
        # Now: CloudWatch Logs refuses events more than two hours ahead.
        logEvents=[{"timestamp": int(time.time() * 1000) + i, "message": line} for i, line in enumerate(lines)],
    )


@pytest.fixture
def aws():
    with mock_aws():
        yield
    alert.reset()


def test_the_alert_quotes_the_newest_lines_cleaned_on_every_channel(aws, monkeypatch):
    lines = [f"line {n}" for n in range(30)] + ["\x1b[31mTraceback\x1b[0m:\tboom", "[toall] [/info] <!channel>"]
    write_log(lines)
    with webhook_server([200]) as slack, webhook_server([(200, '{"message_id":"1"}')]) as chatwork:
        world = alert_world(monkeypatch.setenv, region=REGION, slack_url=slack.url, chatwork_base=chatwork.base)
        for channel in ("slack", "chatwork", "email"):
            handler(payload(channel), Context())
        (slack_request,) = slack.received
        (chatwork_request,) = chatwork.received
        (mail,) = world.emails()
    newest = [f"line {n}" for n in range(12, 30)] + ["[31mTraceback[0m:    boom", "[toall] [/info] <!channel>"]
    assert mail["Message"].split("Last lines of the task's log:\n")[1].split("\n\n")[0].splitlines() == [
        f"  {line}" for line in newest
    ]  # the newest 20 lines, oldest first; escape characters and tabs gone
    block = slack_request["body"]["blocks"][3]["text"]["text"]
    assert block.startswith("*Last lines of the task's log*\n```\nline 12\n")
    assert block.endswith("[toall] [/info] &lt;!channel&gt;```")  # no mention reaches Slack
    body = chatwork_request["body"]["body"]
    assert "[code]\nline 12\n" in body
    assert "［toall] ［/info] <!channel>\n[/code]" in body  # no Chatwork notation from a log line
    assert body.count("[/info]") == 1


def test_no_lines_for_a_task_that_never_started_and_none_when_the_stream_is_missing(aws, monkeypatch, capsys):
    assert stream_of(payload("log", FAILED_TO_START.cause)) is None
    assert stream_of(payload("log")) == (GROUP, STREAM)
    assert stream_of({**payload("log"), "cause": "Capacity is unavailable"}) is None
    alert_world(monkeypatch.setenv, region=REGION)
    handler(payload("email"), Context())  # the stream does not exist: the task wrote nothing
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line.get("outcome") for line in lines] == ["delivered"]  # no warning for a missing stream


def test_lines_are_capped_in_length_and_in_all():
    assert clean("x" * 1000) == "x" * (MAX_LINE - 1) + "…"
    assert clean("a\u202eb\x00c\r\n") == "abc"
    assert clean("\udcff") == "?"


def test_the_total_stays_under_the_cap_newest_lines_kept(aws):
    write_log([f"{n:02d}" + "x" * 248 for n in range(20)])  # 250 characters each
    from lambda_src.task_log import last_lines

    kept = last_lines(boto3.client("logs", region_name=REGION), GROUP, STREAM)
    assert sum(map(len, kept)) <= MAX_CHARACTERS
    assert kept == [f"{n:02d}" + "x" * 248 for n in range(12, 20)]  # 8 x 250 = 2,000
