"""The alert Lambda's handler, called directly: delivery to Slack and Chatwork stand-ins (real HTTP
servers on 127.0.0.1), SSM and SNS in moto, and what it logs.

The messages for the payloads the synthesized state machine really sends are in
``test_alert_messages.py``; the per-channel invocations under faults are in ``test_execution.py``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from alert_world import CHATWORK_TOKEN, ROOM_ID, TOKEN_PARAMETER, WEBHOOK_PARAMETER, AlertWorld, alert_world
from moto import mock_aws
from sfn_harness import CONTAINER_EXIT_1
from webhook_server import Webhook, webhook_server

from lambda_src import alert
from lambda_src.alert import handler
from lambda_src.chatwork import chatwork_message
from lambda_src.contract import AlertDeliveryError, AlertRejectedError
from lambda_src.mail import email_message
from lambda_src.message import describe
from lambda_src.slack import slack_message

logging.getLogger("moto").setLevel(logging.CRITICAL)

REGION = "us-east-1"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:batch-nightly-report:0f1e2d3c"


def payload(channel: str | None = None, **changes) -> dict:
    event = {
        "stack": "batch",
        "job": "nightly-report",
        "error": "Job.TaskFailed",
        "cause": CONTAINER_EXIT_1.cause,
        "execution": EXECUTION,
        "stateMachine": "arn:aws:states:us-east-1:123456789012:stateMachine:batch-nightly-report",
        "startTime": "2026-11-28T08:00:00.412Z",
        "gaveUpAt": "2026-11-28T08:03:05.018Z",
        "input": {"time": "2026-11-28T08:00:00Z", "detail-type": "Scheduled Event"},
        "launchBudget": 13,
        "timeoutSeconds": 1800,
        "logGroup": "/ecs/batch-nightly-report",
        "logStreamPrefix": "job/app",
    }
    if channel is not None:
        event["channel"] = channel
    return {**event, **changes}


@dataclass
class Context:
    """The Lambda context's one method the handler uses."""

    remaining_ms: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class Channels:
    world: AlertWorld
    slack: Webhook
    chatwork: Webhook


@pytest.fixture
def aws():
    with mock_aws():
        yield
    alert.reset()


def channels_with(monkeypatch, slack_answers, chatwork_answers, *, delay_seconds: float = 0.0) -> Iterator[Channels]:
    with (
        webhook_server(slack_answers, delay_seconds=delay_seconds) as slack,
        webhook_server(chatwork_answers, delay_seconds=delay_seconds) as chatwork,
    ):
        world = alert_world(monkeypatch.setenv, region=REGION, slack_url=slack.url, chatwork_base=chatwork.base)
        yield Channels(world, slack, chatwork)


@pytest.fixture
def up(aws, monkeypatch) -> Iterator[Channels]:
    """Every channel configured and answering 200."""
    yield from channels_with(monkeypatch, [200], [(200, '{"message_id":"1"}')])


def log_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


# --- each channel, delivered -----------------------------------------------------------------------


def test_log_channel_writes_the_alert_record_and_calls_nothing(up, capsys):
    result = handler(payload("log"), Context())
    assert result == {"alert_id": EXECUTION, "delivered": {"log": "written"}}
    (line,) = log_lines(capsys)
    assert line == describe(payload()).record
    assert line["task"]["containers"] == [{"name": "app", "exit_code": 1, "reason": None}]
    assert (up.slack.received, up.chatwork.received, up.world.emails()) == ([], [], [])


def test_slack_gets_the_summary_as_text_and_the_body_as_blocks(up, capsys):
    result = handler(payload("slack"), Context())
    assert result == {"alert_id": EXECUTION, "delivered": {"slack": "HTTP 200 ok"}}
    (request,) = up.slack.received
    assert request["path"] == "/services/T000/B000/secret-path"  # the URL read from SSM
    assert request["content_type"] == "application/json; charset=utf-8"
    assert request["body"] == slack_message(describe(payload()))
    assert request["body"]["text"] == "[batch] nightly-report failed: the container exited with code 1"
    assert (up.chatwork.received, up.world.emails()) == ([], [])
    (line,) = log_lines(capsys)
    assert line == {
        "alert_id": EXECUTION,
        "channel": "slack",
        "level": "INFO",
        "outcome": "delivered",
        "answer": "HTTP 200 ok",
    }


def test_chatwork_gets_a_form_post_with_the_token_header(up):
    result = handler(payload("chatwork"), Context())
    assert result == {"alert_id": EXECUTION, "delivered": {"chatwork": 'HTTP 200 {"message_id":"1"}'}}
    (request,) = up.chatwork.received
    assert request["path"] == f"/v2/rooms/{ROOM_ID}/messages"
    assert request["headers"]["x-chatworktoken"] == CHATWORK_TOKEN
    assert request["content_type"] == "application/x-www-form-urlencoded; charset=utf-8"
    assert request["body"] == {"body": chatwork_message(describe(payload())), "self_unread": "1"}
    assert request["body"]["body"].startswith(
        "[info][title][batch] nightly-report failed: the container exited with code 1[/title]"
    )
    assert request["body"]["body"].endswith("[/info]")
    assert (up.slack.received, up.world.emails()) == ([], [])


def test_email_is_published_to_the_topic_with_subject_and_body(up):
    result = handler(payload("email"), Context())
    assert result["delivered"]["email"].startswith("SNS message ")
    subject, body = email_message(describe(payload()))
    assert up.world.emails() == [{"Subject": subject, "Message": body}]
    assert subject == "[batch] nightly-report failed: the container exited with code 1"
    assert (up.slack.received, up.chatwork.received) == ([], [])


def test_without_a_channel_every_configured_channel_gets_one_message(up, capsys):
    result = handler(payload(), Context())
    assert set(result["delivered"]) == {"log", "email", "slack", "chatwork"}
    assert (len(up.slack.received), len(up.chatwork.received), len(up.world.emails())) == (1, 1, 1)
    lines = log_lines(capsys)
    assert lines[0] == describe(payload()).record
    assert sorted(line["channel"] for line in lines[1:]) == ["chatwork", "email", "slack"]


def test_a_channel_that_is_not_configured_is_refused(aws, monkeypatch, capsys):
    alert_world(monkeypatch.setenv, region=REGION)  # the topic only
    with pytest.raises(AlertRejectedError, match=r"^channel 'slack' is not configured \(configured: email\)$"):
        handler(payload("slack"), Context())
    (line,) = log_lines(capsys)
    assert (line["level"], line["outcome"]) == ("ERROR", "refused")


# --- a channel that is down is retried, one that refuses is not ------------------------------------


@pytest.mark.parametrize("status", [500, 503, 429])
@pytest.mark.parametrize("channel", ["slack", "chatwork"])
def test_a_channel_that_is_down_raises_the_retryable_error(aws, monkeypatch, capsys, channel, status):
    for channels in channels_with(monkeypatch, [(status, "rollup_error")], [(status, '{"errors":["busy"]}')]):
        with pytest.raises(AlertDeliveryError) as raised:
            handler(payload(channel), Context())
        body = "rollup_error" if channel == "slack" else '{"errors":["busy"]}'
        assert str(raised.value) == f"{channel} answered HTTP {status} {body}"
        assert len(getattr(channels, channel).received) == 1
    (line,) = log_lines(capsys)
    assert line["outcome"] == "down, to be retried"
    assert line["reason"] == f"{channel} answered HTTP {status} {body}"


@pytest.mark.parametrize(
    ("channel", "status", "body"),
    [
        ("slack", 403, "action_prohibited"),
        ("slack", 404, "no_team"),
        ("slack", 410, "channel_is_archived"),
        ("chatwork", 401, '{"errors":["Invalid API token"]}'),
        ("chatwork", 403, '{"errors":["You don\'t have permission to send messages in this room"]}'),
        ("chatwork", 404, '{"errors":["Resource not found"]}'),
    ],
)
def test_a_channel_that_refuses_raises_the_final_error_and_logs_why_in_one_line(
    aws, monkeypatch, capsys, channel, status, body
):
    for channels in channels_with(monkeypatch, [(status, body)], [(status, body)]):
        with pytest.raises(AlertRejectedError) as raised:
            handler(payload(channel), Context())
        assert str(raised.value) == f"{channel} refused the alert: HTTP {status} {body}"
        assert len(getattr(channels, channel).received) == 1
    (line,) = log_lines(capsys)
    assert line == {
        "alert_id": EXECUTION,
        "channel": channel,
        "level": "ERROR",
        "outcome": "refused, not retried",
        "reason": f"{channel} refused the alert: HTTP {status} {body}",
    }


@pytest.mark.parametrize("channel", ["slack", "chatwork"])
def test_a_hanging_channel_times_out_within_the_functions_time(aws, monkeypatch, channel):
    # 2.6 s left in the invocation: 2 s are kept back, so the request gets 0.6 s.
    for _channels in channels_with(monkeypatch, [200], [200], delay_seconds=2.0):
        with pytest.raises(AlertDeliveryError, match=rf"^{channel} unreachable: .*timed out"):
            handler(payload(channel), Context(remaining_ms=2600))


def test_no_time_left_is_a_retryable_error_before_any_request(up):
    with pytest.raises(AlertDeliveryError, match=r"^no time left in this invocation to deliver the alert$"):
        handler(payload("slack"), Context(remaining_ms=2400))
    assert up.slack.received == []


def test_an_unreachable_channel_is_retryable(aws, monkeypatch):
    with webhook_server([200]) as gone:
        url = gone.url  # nothing listens there once the block ends
    alert_world(monkeypatch.setenv, region=REGION, slack_url=url)
    with pytest.raises(AlertDeliveryError, match=r"^slack unreachable: .*Connection refused"):
        handler(payload("slack"), Context())


def test_without_a_channel_a_channel_down_fails_the_call_after_the_others_were_tried(aws, monkeypatch):
    for channels in channels_with(monkeypatch, [503], [200]):
        with pytest.raises(AlertDeliveryError, match=r"^slack answered HTTP 503 ok$"):
            handler(payload(), Context())
        assert (len(channels.chatwork.accepted), len(channels.world.emails())) == (1, 1)


@pytest.mark.parametrize(
    ("slack", "chatwork", "error", "message"),
    [
        (
            403,
            401,
            AlertRejectedError,
            "slack refused the alert: HTTP 403 ok; chatwork refused the alert: HTTP 401 ok",
        ),
        (503, 401, AlertDeliveryError, "slack answered HTTP 503 ok; chatwork refused the alert: HTTP 401 ok"),
    ],
    ids=["all-refused", "one-down"],
)
def test_without_a_channel_the_error_is_retryable_when_any_failure_is(
    aws, monkeypatch, slack, chatwork, error, message
):
    for channels in channels_with(monkeypatch, [slack], [chatwork]):
        with pytest.raises(error) as raised:
            handler(payload(), Context())
        assert type(raised.value) is error
        assert str(raised.value) == message
        assert len(channels.world.emails()) == 1


# --- secrets: read from SSM at run time, cached, never logged ---------------------------------------


def test_secrets_are_read_once_per_environment(up):
    handler(payload("slack"), Context())
    up.world.ssm().delete_parameter(Name=WEBHOOK_PARAMETER)
    handler(payload("slack"), Context())  # served from the cache
    assert len(up.slack.accepted) == 2


def test_a_refused_token_is_read_again_on_the_next_invocation(aws, monkeypatch):
    for channels in channels_with(monkeypatch, [200], [(401, '{"errors":["Invalid API token"]}'), 200]):
        with pytest.raises(AlertRejectedError):
            handler(payload("chatwork"), Context())
        channels.world.ssm().put_parameter(Name=TOKEN_PARAMETER, Value="rotated", Type="SecureString", Overwrite=True)
        handler(payload("chatwork"), Context())
        assert [r["headers"]["x-chatworktoken"] for r in channels.chatwork.received] == [CHATWORK_TOKEN, "rotated"]


def test_a_missing_parameter_is_refused_with_its_name(up):
    up.world.ssm().delete_parameter(Name=WEBHOOK_PARAMETER)
    with pytest.raises(
        AlertRejectedError, match=rf"^SSM \(parameter {WEBHOOK_PARAMETER}\) answered ParameterNotFound \(HTTP 400\)$"
    ):
        handler(payload("slack"), Context())


def test_no_secret_reaches_the_log_or_an_error(aws, monkeypatch, capsys):
    for channels in channels_with(monkeypatch, [(403, "action_prohibited")], [(401, "bad token")]):
        errors = []
        for channel in ("slack", "chatwork"):
            with pytest.raises(AlertRejectedError) as raised:
                handler(payload(channel), Context())
            errors.append(str(raised.value))
        secrets = [channels.slack.url, "secret-path", CHATWORK_TOKEN]
    out = capsys.readouterr().out
    for secret in secrets:
        assert secret not in out
        assert all(secret not in error for error in errors)


# --- any input gives an alert ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "raw"),
    [
        ("just text", '"just text"'),
        ({}, "{}"),
        ({"job": 7, "error": None}, '{"error": null, "job": 7}'),
        ([1, 2], "[1, 2]"),
    ],
)
def test_an_unrecognised_payload_still_alerts_with_the_raw_content(up, event, raw):
    result = handler(event, Context())
    assert set(result["delivered"]) == {"log", "email", "slack", "chatwork"}
    (request,) = up.slack.received
    assert request["body"]["text"] == "Scheduled jobs alert (unrecognised payload)"
    what = f"The alert function was called with a payload it does not recognise: {raw}"
    assert request["body"]["blocks"][1]["text"]["text"] == what


def test_surprising_values_in_a_known_shape_do_not_crash(up):
    event = payload("slack", cause='{"StopCode": "X", "Containers": ["bad", {"ExitCode": "one"}]}', startTime=5)
    handler(event, Context())
    (request,) = up.slack.received
    assert request["body"]["text"] == "[batch] nightly-report failed: the task stopped"


def test_a_test_alert_says_so(up):
    handler({"test": True, "stack": "batch"}, Context())
    (request,) = up.slack.received
    assert request["body"]["text"] == "[batch] test alert"
    assert up.world.emails()[0]["Message"] == "This is a test alert. If you read it, alerts reach you here.\n"
