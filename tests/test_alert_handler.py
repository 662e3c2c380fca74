"""The alert handler's own logic with stand-in channels: which channels it uses and in what order,
what it logs, what it returns and raises, and how much time it gives a request.

``test_alert_lambda.py`` runs the same handler against moto and real HTTP servers; these tests
need neither, so ``make mutate`` runs them.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from alert_world import sqs_record

from lambda_src import alert, transport
from lambda_src.channels import Parameters
from lambda_src.contract import AlertDeliveryError, AlertRejectedError
from lambda_src.message import Alert, describe

EXECUTION = "arn:aws:states:eu-west-1:123456789012:execution:batch-nightly:run-1"
PAYLOAD = {"stack": "batch", "job": "nightly", "error": "Job.TaskFailed", "execution": EXECUTION}


class Channel:
    """A channel that answers ``outcome`` (or raises it) and keeps what it was sent."""

    def __init__(self, name: str, outcome: str | Exception) -> None:
        self.name, self.outcome, self.sent = name, outcome, []

    def send(self, sent: Alert, *, timeout: float) -> str:
        self.sent.append((sent, timeout))
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


class Context:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class Configured:
    """The channels the handler finds configured (fill them in), and how it asked for them."""

    def __init__(self) -> None:
        self.channels: dict[str, Channel] = {}
        self.asked: list[tuple] = []


@pytest.fixture
def configured(monkeypatch) -> Any:
    state = Configured()

    def configured_channels(environ, *, parameters, sns_client, clock):
        state.asked.append((environ, parameters, sns_client))
        return dict(state.channels)

    monkeypatch.setattr(alert, "configured_channels", configured_channels)
    alert.reset()
    yield state
    alert.reset()


def log_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_the_log_channel_writes_the_record_and_configures_nothing(configured, capsys):
    result = alert.handler({**PAYLOAD, "channel": "log"}, None)
    assert result == {"alert_id": EXECUTION, "delivered": {"log": "written"}}
    assert log_lines(capsys) == [describe({**PAYLOAD, "channel": "log"}).record]
    assert configured.asked == []


def test_a_named_channel_gets_the_alert_with_the_whole_request_timeout(configured, capsys):
    slack = configured.channels["slack"] = Channel("slack", "HTTP 200 ok")
    configured.channels["email"] = email = Channel("email", "SNS message m-1")
    result = alert.handler({**PAYLOAD, "channel": "slack"}, None)
    assert result == {"alert_id": EXECUTION, "delivered": {"slack": "HTTP 200 ok"}}
    assert slack.sent == [(describe({**PAYLOAD, "channel": "slack"}), 10.0)]
    assert email.sent == []
    assert log_lines(capsys) == [
        {"alert_id": EXECUTION, "channel": "slack", "level": "INFO", "outcome": "delivered", "answer": "HTTP 200 ok"}
    ]
    ((environ, parameters, sns_client),) = configured.asked
    assert environ is os.environ
    assert isinstance(parameters, Parameters)
    assert parameters is alert._clients.parameters
    assert sns_client == alert._clients.sns_client


@pytest.mark.parametrize(
    ("error", "level", "outcome"),
    [
        (AlertDeliveryError("slack answered HTTP 503"), "WARNING", "down, to be retried"),
        (AlertRejectedError("slack refused the alert: HTTP 404 no_service"), "ERROR", "refused, not retried"),
    ],
)
def test_a_named_channel_that_fails_raises_and_says_why_in_one_line(configured, capsys, error, level, outcome):
    configured.channels["slack"] = Channel("slack", error)
    with pytest.raises(type(error)) as raised:
        alert.handler({**PAYLOAD, "channel": "slack"}, None)
    assert raised.value is error
    assert log_lines(capsys) == [
        {"alert_id": EXECUTION, "channel": "slack", "level": level, "outcome": outcome, "reason": str(error)}
    ]


@pytest.mark.parametrize(
    ("names", "listed"),
    [((), "none"), (("email", "chatwork"), "chatwork, email")],
)
def test_a_channel_that_is_not_configured_is_refused(configured, capsys, names, listed):
    for name in names:
        configured.channels[name] = Channel(name, "ok")
    reason = f"channel 'slack' is not configured (configured: {listed})"
    with pytest.raises(AlertRejectedError) as raised:
        alert.handler({**PAYLOAD, "channel": "slack"}, None)
    assert str(raised.value) == reason
    assert log_lines(capsys) == [
        {"alert_id": EXECUTION, "channel": "slack", "level": "ERROR", "outcome": "refused", "reason": reason}
    ]


def test_without_a_channel_each_configured_one_gets_it_in_turn(configured, capsys):
    configured.channels["email"] = Channel("email", "SNS message m-1")
    configured.channels["slack"] = Channel("slack", "HTTP 200 ok")
    result = alert.handler(PAYLOAD, None)
    assert result == {
        "alert_id": EXECUTION,
        "delivered": {"log": "written", "email": "SNS message m-1", "slack": "HTTP 200 ok"},
    }
    lines = log_lines(capsys)
    assert lines[0] == describe(PAYLOAD).record
    assert [(line["channel"], line["outcome"]) for line in lines[1:]] == [
        ("email", "delivered"),
        ("slack", "delivered"),
    ]


@pytest.mark.parametrize(
    ("outcomes", "raised", "message"),
    [
        (
            {
                "email": "SNS message m-1",
                "slack": AlertDeliveryError("slack down"),
                "chatwork": AlertRejectedError("no"),
            },
            AlertDeliveryError,
            "slack down; no",
        ),
        (
            {"email": AlertRejectedError("denied"), "slack": AlertRejectedError("gone")},
            AlertRejectedError,
            "denied; gone",
        ),
    ],
    ids=["one-down", "all-refused"],
)
def test_without_a_channel_every_one_is_tried_then_the_failures_are_raised(configured, outcomes, raised, message):
    for name, outcome in outcomes.items():
        configured.channels[name] = Channel(name, outcome)
    with pytest.raises(raised) as caught:
        alert.handler(PAYLOAD, None)
    assert type(caught.value) is raised
    assert str(caught.value) == message
    assert all(len(configured.channels[name].sent) == 1 for name in outcomes)


def test_without_a_channel_and_none_configured_the_log_is_enough(configured, capsys):
    assert alert.handler("not a payload", None) == {"alert_id": None, "delivered": {"log": "written"}}
    (line,) = log_lines(capsys)
    assert line["message"] == "unrecognised alert payload"


def test_log_lines_keep_non_ascii_and_show_what_json_cannot_hold(configured, capsys):
    alert.handler({"job": "ジョブ", "odd": {1}, "channel": "log"}, None)
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "ジョブ" in out  # not \\u escapes
    assert json.loads(out)["event"]["odd"] == "{1}"
    assert out == json.dumps(json.loads(out), sort_keys=True, ensure_ascii=False) + "\n"  # keys in order


@pytest.mark.parametrize(("remaining_ms", "timeout"), [(60_000, 10.0), (12_000, 10.0), (5_000, 3.0), (2_600, 0.6)])
def test_a_request_ends_before_the_invocation_does(configured, remaining_ms, timeout):
    slack = configured.channels["slack"] = Channel("slack", "ok")
    alert.handler({**PAYLOAD, "channel": "slack"}, Context(remaining_ms))
    assert slack.sent[0][1] == pytest.approx(timeout)


def test_without_a_channel_each_request_also_ends_before_the_invocation_does(configured):
    configured.channels["email"] = email = Channel("email", "ok")
    configured.channels["slack"] = slack = Channel("slack", "ok")
    alert.handler(PAYLOAD, Context(5_000))
    assert [email.sent[0][1], slack.sent[0][1]] == [pytest.approx(3.0), pytest.approx(3.0)]


@pytest.mark.parametrize("remaining_ms", [2_500, 1_000, 0])
def test_without_time_left_nothing_is_sent_and_the_error_is_retryable(configured, capsys, remaining_ms):
    slack = configured.channels["slack"] = Channel("slack", "ok")
    with pytest.raises(AlertDeliveryError) as raised:
        alert.handler({**PAYLOAD, "channel": "slack"}, Context(remaining_ms))
    assert str(raised.value) == "no time left in this invocation to deliver the alert"
    assert slack.sent == []
    assert log_lines(capsys)[0]["outcome"] == "down, to be retried"


def test_clients_are_made_on_first_use_and_kept_until_a_reset(monkeypatch):
    made = []
    monkeypatch.setattr(alert, "aws_client", lambda service: made.append(service) or f"client-{len(made)}")
    alert.reset()
    clients = alert._clients
    assert made == []
    assert clients.sns_client() == "client-1"
    assert clients.sns_client() == "client-1"
    assert clients.parameters._client_factory() == "client-2"
    assert made == ["sns", "ssm"]
    alert.reset()
    assert alert._clients is not clients
    assert alert._clients.sns_client() == "client-3"


def test_aws_clients_have_short_timeouts_and_two_attempts(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    client = transport.aws_client("sns")
    assert client.meta.service_model.service_name == "sns"
    assert (client.meta.config.connect_timeout, client.meta.config.read_timeout) == (2, 5)
    assert client.meta.config.retries == {"total_max_attempts": 2, "mode": "standard"}  # the first included


# --- the dead-letter queue's messages, and the task log's tail --------------------------------------


def test_each_queue_message_goes_to_every_channel_and_only_a_down_one_comes_back(configured, capsys, monkeypatch):
    monkeypatch.setenv("STACK_NAME", "batch")
    slack = configured.channels["slack"] = Channel("slack", AlertDeliveryError("slack answered HTTP 503"))
    email = configured.channels["email"] = Channel("email", "SNS message 1")
    start = {"job": "nightly", "scheduledTime": "2026-12-01T00:00:00Z"}
    records = [sqs_record(start, message_id="m-1", sent=None), sqs_record(start, message_id="m-2", sent=None)]
    result = alert.handler({"Records": records}, Context(60_000))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}]}
    assert [sent.alert_id for sent, _ in email.sent] == ["undelivered:m-1", "undelivered:m-2"]
    assert [sent.title for sent, _ in slack.sent] == ["[batch] nightly failed: the run was never started"] * 2
    records = [line for line in log_lines(capsys) if line.get("from") == "dead-letter queue"]
    assert [(line["message_id"], line["receives"], line["job"]) for line in records] == [
        ("m-1", None, "nightly"),
        ("m-2", None, "nightly"),
    ]


def test_a_refused_channel_does_not_bring_a_message_back(configured, capsys, monkeypatch):
    monkeypatch.delenv("STACK_NAME", raising=False)
    configured.channels["slack"] = Channel("slack", AlertRejectedError("slack refused the alert: HTTP 404"))
    chat = configured.channels["chatwork"] = Channel("chatwork", "HTTP 200")
    body = {"channel": "chatwork", "job": "nightly", "error": "Execution.ABORTED"}
    result = alert.handler({"Records": [sqs_record(body, message_id="m-3")]}, Context(60_000))
    assert result == {"batchItemFailures": []}
    assert [sent.title for sent, _ in chat.sent] == ["[?] nightly failed: the run was aborted"]  # its own channel only


class Logs:
    def __init__(self, outcome):
        self.outcome = outcome

    def get_log_events(self, **asked):
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return {"events": [{"message": line} for line in self.outcome]}


TASK_CAUSE = json.dumps({"TaskArn": "arn:aws:ecs:r:1:task/c/abc", "StopCode": "EssentialContainerExited"})
RAN = {**PAYLOAD, "cause": TASK_CAUSE, "logGroup": "/ecs/batch-nightly", "logStreamPrefix": "job/app"}


def test_the_task_log_tail_reaches_the_alert_and_a_failure_to_read_it_is_logged(configured, capsys, monkeypatch):
    slack = configured.channels["slack"] = Channel("slack", "HTTP 200 ok")
    monkeypatch.setattr(alert._clients, "logs", Logs(["boom"]))
    alert.handler({**RAN, "channel": "slack"}, Context(60_000))
    assert slack.sent[0][0].log_tail == ("boom",)
    denied = RuntimeError("AccessDenied")
    monkeypatch.setattr(alert._clients, "logs", Logs(denied))
    alert.handler({**RAN, "channel": "slack"}, Context(60_000))
    assert slack.sent[1][0].log_tail == ()
    assert {
        "level": "WARNING",
        "message": "the task's last log lines could not be read",
        "reason": "RuntimeError('AccessDenied')",
    } in log_lines(capsys)


def test_a_missing_stream_is_no_warning(configured, capsys, monkeypatch):
    configured.channels["slack"] = Channel("slack", "HTTP 200 ok")
    missing = RuntimeError("no stream")
    missing.response = {"Error": {"Code": "ResourceNotFoundException"}}
    monkeypatch.setattr(alert._clients, "logs", Logs(missing))
    alert.handler({**RAN, "channel": "slack"}, Context(60_000))
    assert [line.get("level") for line in log_lines(capsys)] == ["INFO"]  # the delivery, nothing else


def test_a_channel_that_is_not_a_name_is_refused_as_one(configured):
    with pytest.raises(AlertRejectedError) as refused:
        alert.handler({**PAYLOAD, "channel": ["slack"]}, None)
    assert str(refused.value) == "channel '[\"slack\"]' is not configured (configured: none)"


def test_strings_are_made_encodable_before_anything_reads_them():
    assert alert._clean({"a\udcff": ["b\ud800", 1, None]}) == {"a?": ["b?", 1, None]}
