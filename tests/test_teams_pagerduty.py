"""The two channels added as plug-ins: Microsoft Teams (an Adaptive Card to a Workflows webhook)
and PagerDuty (Events API v2): what each sends for an alert and a group, against local HTTP
servers, and how the synthesized stack configures them (examples/tokyo-daily-report.toml)."""

from __future__ import annotations

import json

import pytest
from stack_helpers import definition, named, policy, statements_by_sid
from webhook_server import webhook_server

from lambda_src.channels import Parameters, configured_channels
from lambda_src.contract import AlertDeliveryError, AlertRejectedError
from lambda_src.message import describe
from lambda_src.pagerduty import PagerDutyChannel, pagerduty_event, severity
from lambda_src.teams import TEAMS_MESSAGE_BYTES, TeamsChannel, teams_message, teams_parts

ARN = "arn:aws:states:ap-northeast-1:123456789012:execution:batch-{job}:run-1"
CONSOLE = "https://console.aws.amazon.com/states/home?region=ap-northeast-1#/v2/executions/details/"
ROUTING_KEY = "R0123456789abcdefABCDEF012345678"


def failed(job: str, error: str = "ECS.AmazonECSException", **extra):
    return describe(
        {"job": job, "error": error, "stack": "batch", "execution": ARN.format(job=job),
         "input": {"scheduledTime": "2026-12-01T00:00:00Z"}, **extra}
    )  # fmt: skip


class Stored:
    """SSM as the channels see it: one stored value per parameter name."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get_parameter(self, *, Name: str, WithDecryption: bool) -> dict:
        return {"Parameter": {"Value": self.values[Name]}}


def parameters(**values: str) -> Parameters:
    stored = Stored({f"/{name}": value for name, value in values.items()})
    return Parameters(lambda: stored)


# --- Teams ---------------------------------------------------------------------------------------------


def test_a_teams_alert_is_an_adaptive_card_with_its_facts_and_links():
    alert = failed("nightly")
    message = teams_message(alert)
    assert message["type"] == "message"
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    title, what, facts = card["body"]
    assert title == {"type": "TextBlock", "text": alert.title, "wrap": True, "weight": "Bolder", "size": "Medium",
                     "color": "Attention"}  # fmt: skip
    assert what["text"] == alert.what
    assert facts == {"type": "FactSet", "facts": [{"title": label, "value": value} for label, value in alert.facts]}
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Execution", "url": CONSOLE + ARN.format(job="nightly")}
    ]


def test_a_teams_group_lists_the_jobs_by_what_happened():
    (part,) = teams_parts([failed("b"), failed("a"), failed("c", "Job.TaskFailed")], stack="batch")
    body = part.document["attachments"][0]["content"]["body"]
    due = "scheduled for 2026-12-01 00:00:00 UTC"
    assert [block["text"] for block in body] == [
        "[batch] 3 runs failed",
        "**2 runs: Fargate had no capacity in ap-northeast-1**\n"
        f"- **a** · {due} · [Execution]({CONSOLE}{ARN.format(job='a')})\n"
        f"- **b** · {due} · [Execution]({CONSOLE}{ARN.format(job='b')})",
        f"**1 run: the task stopped in ap-northeast-1**\n- **c** · {due} · [Execution]({CONSOLE}{ARN.format(job='c')})",
    ]
    assert part.indices == (1, 0, 2)


def test_a_large_teams_group_splits_under_the_message_size():
    parts = teams_parts([failed(f"job-{i:03d}") for i in range(400)], stack="batch")
    assert len(parts) > 1
    assert sorted(i for part in parts for i in part.indices) == list(range(400))
    assert all(len(json.dumps(part.document).encode()) <= TEAMS_MESSAGE_BYTES for part in parts)


def test_teams_takes_the_card_and_answers_202():
    with webhook_server([(202, "")]) as hook:
        channel = TeamsChannel("/teams", parameters(teams=hook.url))
        assert channel.send(failed("nightly"), timeout=5) == "HTTP 202"
    (request,) = hook.received
    assert request["content_type"] == "application/json; charset=utf-8"
    assert (
        request["body"]["attachments"][0]["content"]["body"][0]["text"]
        == "[batch] nightly failed: Fargate had no capacity"
    )


@pytest.mark.parametrize(("status", "error"), [(429, AlertDeliveryError), (502, AlertDeliveryError),
                                               (404, AlertRejectedError)])  # fmt: skip
def test_teams_answers_become_retry_or_refusal(status, error):
    with webhook_server([status]) as hook, pytest.raises(error, match=rf"^teams .*HTTP {status}"):
        TeamsChannel("/teams", parameters(teams=hook.url)).send(failed("nightly"), timeout=5)


# --- PagerDuty ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("ECS.AmazonECSException", "critical"),  # did not run at all
        ("Job.TaskFailedToStart", "critical"),
        ("Schedule.Missed", "critical"),
        ("Schedule.StartFailed", "critical"),
        ("Job.TaskFailed", "error"),  # ran, and failed
        ("Job.TimedOut", "error"),
        ("Job.PreviousRunStillRunning", "warning"),
    ],
)
def test_pagerduty_severity_comes_from_the_failure(error, expected):
    assert severity(failed("nightly", error)) == expected
    assert severity(describe({"test": True})) == "info"


def test_a_pagerduty_trigger_is_keyed_by_the_execution():
    alert = failed("nightly")
    event = pagerduty_event(alert, routing_key=ROUTING_KEY)
    assert event == {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": ARN.format(job="nightly"),
        "payload": {
            "summary": "[batch] nightly failed: Fargate had no capacity",
            "source": "batch",
            "severity": "critical",
            "component": "nightly",
            "group": "batch",
            "class": "ECS.AmazonECSException",
            "custom_details": {"what": alert.what, **dict(alert.facts)},
        },
        "links": [{"href": CONSOLE + ARN.format(job="nightly"), "text": "Execution (Step Functions console)"}],
    }
    long = failed("x" * 64, cause="c", execution="arn:" + "e" * 400)
    event = pagerduty_event(long, routing_key=ROUTING_KEY)
    assert len(event["dedup_key"]) == 255 and len(event["payload"]["summary"]) <= 1024


def test_a_recovery_resolves_the_incident_of_the_last_failure():
    last = {"status": "FAILED", "execution": ARN.format(job="nightly")}
    recovered = describe({"job": "nightly", "stack": "batch", "recovered": True, "execution": ARN.format(job="ok"),
                          "failedRuns": 1, "lastFailure": last})  # fmt: skip
    assert pagerduty_event(recovered, routing_key=ROUTING_KEY) == {
        "routing_key": ROUTING_KEY,
        "event_action": "resolve",
        "dedup_key": ARN.format(job="nightly"),
    }
    missed = describe({"job": "nightly", "stack": "batch", "recovered": True, "execution": ARN.format(job="ok"),
                       "missedRuns": 2, "lastFailure": {"status": "MISSED", "alertId": "sm:missed:t"}})  # fmt: skip
    assert pagerduty_event(missed, routing_key=ROUTING_KEY)["dedup_key"] == "sm:missed:t"


def test_pagerduty_gets_one_event_per_alert_and_the_key_never_shows():
    with webhook_server([(202, '{"status": "success"}'), (400, f'{{"message": "bad {ROUTING_KEY}"}}')]) as hook:
        channel = PagerDutyChannel("/pagerduty", parameters(pagerduty=ROUTING_KEY), api_base=hook.base)
        parts = channel.parts([failed("a"), failed("b")], stack="batch")
        assert [part.indices for part in parts] == [(0,), (1,)]
        assert channel.deliver(parts[0], timeout=5) == 'HTTP 202 {"status": "success"}'
        with pytest.raises(AlertRejectedError) as refused:
            channel.deliver(parts[1], timeout=5)
    assert ROUTING_KEY not in str(refused.value)
    assert [request["path"] for request in hook.received] == ["/v2/enqueue"] * 2
    assert [request["body"]["dedup_key"] for request in hook.received] == [ARN.format(job="a"), ARN.format(job="b")]


def test_a_routing_key_of_the_wrong_shape_is_refused_without_showing_it():
    channel = PagerDutyChannel("/pagerduty", parameters(pagerduty="not a key"))
    with pytest.raises(AlertRejectedError, match="value of SSM parameter /pagerduty is not an integration") as refused:
        channel.send(failed("a"), timeout=5)
    assert "not a key" not in str(refused.value)


def test_the_environment_turns_each_channel_on_in_order():
    environ = {"SNS_TOPIC_ARN": "arn:topic", "TEAMS_WEBHOOK_SSM_PARAMETER": "/teams",
               "PAGERDUTY_ROUTING_KEY_SSM_PARAMETER": "/pagerduty", "WEBHOOK_SSM_PARAMETER": "/slack"}  # fmt: skip
    channels = configured_channels(environ, parameters=parameters(), sns_client=lambda: None)
    assert list(channels) == ["email", "slack", "teams", "pagerduty"]
    assert channels["pagerduty"].api_base == "https://events.pagerduty.com"


# --- the stack ----------------------------------------------------------------------------------------


def test_the_example_turns_on_teams_and_pagerduty_with_their_secrets_in_ssm(example_stacks):
    stack = example_stacks["tokyo-daily-report"]
    _, function = named(stack, "aws_lambda_function", "alert_function")
    variables = function["environment"]["variables"]
    assert variables["TEAMS_WEBHOOK_SSM_PARAMETER"] == "/reports/teams-webhook"
    assert variables["PAGERDUTY_ROUTING_KEY_SSM_PARAMETER"] == "/reports/pagerduty-key"
    _, body = named(stack, "aws_iam_role_policy", "alert_role_policy")
    resources = statements_by_sid(policy(body))["ReadAlertSecrets"]["Resource"]
    assert [resource.rsplit(":", 1)[-1] for resource in resources] == [
        "parameter/reports/teams-webhook",
        "parameter/reports/pagerduty-key",
    ]
    branches = definition(stack, "send-report")["States"]["NotifyFailure"]["Branches"]
    assert [branch["StartAt"] for branch in branches] == ["AlertLog", "AlertEmail", "AlertTeams", "AlertPagerduty"]
    _, watchdog = named(stack, "aws_lambda_function", "watchdog_function")
    assert watchdog["environment"]["variables"]["ALERT_CHANNELS"] == "email,teams,pagerduty"
