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

from lambda_src import alert
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

    def configured_channels(environ, *, parameters, sns_client):
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
    monkeypatch.setattr(alert, "_aws_client", lambda service: made.append(service) or f"client-{len(made)}")
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
    client = alert._aws_client("sns")
    assert client.meta.service_model.service_name == "sns"
    assert (client.meta.config.connect_timeout, client.meta.config.read_timeout) == (2, 5)
    assert client.meta.config.retries == {"total_max_attempts": 2, "mode": "standard"}  # the first included
