"""What people read: the alert for each way a run fails, from the payload the synthesized state
machine really sends. Each payload is captured by executing the three-job stack's nightly job in
moto's engine under a fault (``sfn_harness``), then rendered for e-mail, Slack and Chatwork.

The expected texts are written out in full: they are the product's words.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sfn_harness import (
    CONTAINER_EXIT_1,
    EXIT_75,
    FAILED_TO_START,
    NO_CAPACITY,
    RULE_INPUT,
    SPOT_INTERRUPTED,
    TIMEOUT,
    Hold,
    Raise,
    Sandbox,
    Succeed,
)
from stack_helpers import definition_text

from lambda_src.chatwork import chatwork_message
from lambda_src.mail import email_message
from lambda_src.message import describe
from lambda_src.slack import slack_message

logging.getLogger("moto").setLevel(logging.CRITICAL)

DENIED = Raise("ECS.AccessDeniedException", "User is not authorized to perform: ecs:RunTask")
FAULTS = {
    "no-capacity": [NO_CAPACITY],
    "failed-to-start": [FAILED_TO_START],
    "exit-1": [CONTAINER_EXIT_1],
    "timeout": [TIMEOUT],
    "access-denied": [DENIED],
}


@pytest.fixture(scope="module")
def payloads(multi_stack) -> dict[str, dict]:
    """The ``log`` channel's payload of one failed run per fault."""
    definition = definition_text(multi_stack, "nightly-report")
    captured = {}
    with Sandbox() as sandbox:
        for fault, launches in FAULTS.items():
            run = sandbox.execute(definition, launches=launches, handler=lambda event, context: {"delivered": {}})
            (payload,) = run.alerts_to("log")
            captured[fault] = payload
        assert sandbox.execute(definition, launches=[Succeed()], handler=lambda e, c: {}).alerts == []
    return captured


def shown(timestamp: str) -> str:
    return datetime.fromisoformat(timestamp).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


TOKYO = timezone(timedelta(hours=9))  # no daylight saving in Japan


def next_weekday_eight_in_tokyo(after: str) -> str:
    """nightly-report's next run, cron(0 8 ? * MON-FRI *) in Asia/Tokyo, worked out by hand."""
    moment = datetime.fromisoformat(after).astimezone(TOKYO)
    day = moment.replace(hour=8, minute=0, second=0, microsecond=0)
    while day <= moment or day.weekday() >= 5:
        day += timedelta(days=1)
    return f"{shown(day.isoformat())} ({day.strftime('%a')} 08:00 JST, Asia/Tokyo)"


def facts(payload: dict, error: str, *, task: bool = False) -> str:
    lines = [
        "Job: nightly-report",
        "Stack: batch",
        "Region: ap-northeast-1",
        "Scheduled for: 2026-11-28 08:00:00 UTC (Sat 17:00 JST, Asia/Tokyo)",
        f"Started: {shown(payload['startTime'])}",
        f"Gave up: {shown(payload['gaveUpAt'])}",
        f"Error: {error}",
    ]
    if task:
        lines.append("Task: arn:aws:ecs:ap-northeast-1:123456789012:task/cluster/0123456789abcdef")
    lines.append(f"Next run: {next_weekday_eight_in_tokyo(payload['gaveUpAt'])}")
    lines.append("Run it now: make run JOB=nightly-report")
    return "\n".join(lines)


def links(payload: dict, *, log_stream: bool, task: bool = False) -> str:
    execution = payload["execution"]
    task_link = (
        "Task (ECS console):\n  https://console.aws.amazon.com/ecs/v2/clusters/cluster/tasks/0123456789abcdef"
        "?region=ap-northeast-1\n"
        if task
        else ""
    )
    log = (
        "Task log (CloudWatch console):\n  https://console.aws.amazon.com/cloudwatch/home?region=ap-northeast-1"
        "#logsV2:log-groups/log-group/$252Fecs$252Fjob/log-events/job$252Fapp$252F0123456789abcdef"
        if log_stream
        else "Job log group (CloudWatch console):\n  https://console.aws.amazon.com/cloudwatch/home"
        "?region=ap-northeast-1#logsV2:log-groups/log-group/$252Fecs$252Fjob"
    )
    return (
        "Execution (Step Functions console):\n"
        f"  https://console.aws.amazon.com/states/home?region=ap-northeast-1#/v2/executions/details/{execution}\n"
        f"{task_link}{log}\n\nAlert id: {execution}\n"
    )


def test_the_payload_is_what_the_state_machine_knows(payloads):
    payload = payloads["exit-1"]
    assert payload["input"] == RULE_INPUT
    assert payload["execution"].startswith("arn:aws:states:ap-northeast-1:123456789012:execution:")
    assert payload["startTime"] <= payload["gaveUpAt"]


def elapsed(payload: dict) -> str:
    """The run's duration as the alert words it: virtual time makes it a few milliseconds here."""
    words = describe(payload).what.split(" over ")[1].split(",")[0]
    assert re.fullmatch(r"\d s", words)
    return words


def test_no_capacity(payloads):
    payload = payloads["no-capacity"]
    subject, body = email_message(describe(payload))
    assert subject == "[batch] nightly-report failed: Fargate had no capacity"
    assert body == (
        "Fargate had no capacity for the task: it was not placed after 13 launches over "
        f'{elapsed(payload)}, so the job did not run. ECS said: "Capacity is unavailable at this time. '
        'Please try again later or in a different availability zone"\n\n'
        + facts(payload, "ECS.AmazonECSException")
        + "\n\n"
        + links(payload, log_stream=False)
    )


def test_failed_to_start(payloads):
    payload = payloads["failed-to-start"]
    subject, body = email_message(describe(payload))
    assert subject == "[batch] nightly-report failed: the task never started"
    assert body == (
        "The task never started (the image could not be pulled), after 13 launches over "
        f"{elapsed(payload)}, so the job did not run. ECS said: CannotPullContainerError: pull image manifest "
        "has been retried 5 time(s)\n\n"
        + facts(payload, "Job.TaskFailedToStart", task=True)
        + "\n\n"
        + links(payload, log_stream=False, task=True)
    )


def test_container_exit_code(payloads):
    payload = payloads["exit-1"]
    subject, body = email_message(describe(payload))
    assert subject == "[batch] nightly-report failed: the container exited with code 1"
    assert body == (
        "The container exited with code 1. The job ran, maybe half-way; it was not re-run.\n\n"
        + facts(payload, "Job.TaskFailed", task=True)
        + "\n\n"
        + links(payload, log_stream=True, task=True)
    )


def test_timeout(payloads):
    payload = payloads["timeout"]
    subject, body = email_message(describe(payload))
    assert subject == "[batch] nightly-report failed: the task ran past its timeout"
    assert body == (
        "The task ran past its timeout of 30 min; Step Functions stopped it. It was not re-run.\n\n"
        + facts(payload, "Job.TimedOut")
        + "\n\n"
        + links(payload, log_stream=False)
    )


def test_anything_else_keeps_the_raw_error_and_cause(payloads):
    payload = payloads["access-denied"]
    subject, body = email_message(describe(payload))
    assert subject == "[batch] nightly-report failed: ECS.AccessDeniedException"
    assert body.startswith(
        "The run failed with ECS.AccessDeniedException and was not retried. "
        "Cause: User is not authorized to perform: ecs:RunTask\n\n"
    )


def test_slack_and_chatwork_carry_the_same_words(payloads):
    alert = describe(payloads["exit-1"])
    execution = payloads["exit-1"]["execution"]
    slack = slack_message(alert)
    assert slack["text"] == "[batch] nightly-report failed: the container exited with code 1"
    assert [block["type"] for block in slack["blocks"]] == ["section", "section", "section", "context"]
    assert slack["blocks"][1]["text"]["text"] == alert.what
    assert slack["blocks"][2]["text"]["text"].splitlines()[:3] == [
        "*Job:* nightly-report",
        "*Stack:* batch",
        "*Region:* ap-northeast-1",
    ]
    assert slack["blocks"][3]["elements"][0]["text"].startswith(
        "<https://console.aws.amazon.com/states/home?region=ap-northeast-1#/v2/executions/details/"
        f"{execution}|Execution (Step Functions console)>  ·  <https://console.aws.amazon.com/ecs/v2/clusters/"
    )
    chatwork = chatwork_message(alert)
    assert chatwork.startswith(
        "[info][title][batch] nightly-report failed: the container exited with code 1[/title]"
        "The container exited with code 1. The job ran, maybe half-way; it was not re-run.\n\nJob: nightly-report\n"
    )
    assert chatwork.endswith(
        "#logsV2:log-groups/log-group/$252Fecs$252Fjob/log-events/job$252Fapp$252F0123456789abcdef[/info]"
    )
    assert (
        f"Execution (Step Functions console): https://console.aws.amazon.com/states/home?region=ap-northeast-1#/v2/executions/details/{execution}\n"
        in chatwork
    )


def test_previous_run_still_running(multi_stack):
    definition = definition_text(multi_stack, "nightly-report")
    hold = Hold()
    with Sandbox() as sandbox, sandbox.running(definition, launches=[hold], handler=lambda e, c: {"delivered": {}}):
        assert hold.running.wait(timeout=10)
        run = sandbox.execute(definition, launches=[Succeed()], handler=lambda e, c: {"delivered": {}})
        hold.release.set()
    (payload,) = run.alerts_to("log")
    subject, body = email_message(describe(payload))
    assert subject == "[batch] nightly-report failed: the previous run was still running"
    machine = payload["stateMachine"]
    assert body == (
        "The previous run of this job was still running when this one started, so this run launched no task "
        '(concurrency = "forbid"). A run still going a whole period later is news of its own: see the state '
        "machine's running executions.\n\n"
        + facts(payload, "Job.PreviousRunStillRunning")
        + "\n\nExecution (Step Functions console):\n"
        f"  https://console.aws.amazon.com/states/home?region=ap-northeast-1#/v2/executions/details/{run.execution_arn}\n"
        "Running executions (Step Functions console):\n"
        f"  https://console.aws.amazon.com/states/home?region=ap-northeast-1#/statemachines/view/{machine}\n"
        "Job log group (CloudWatch console):\n  https://console.aws.amazon.com/cloudwatch/home"
        "?region=ap-northeast-1#logsV2:log-groups/log-group/$252Fecs$252Fjob\n\n"
        f"Alert id: {run.execution_arn}\n"
    )


@pytest.mark.parametrize(
    ("fault", "subject", "what"),
    [
        (
            EXIT_75,
            "[batch] nightly-report failed: exit code 75 on every launch",
            'The container exited with code 75, which the job declares as "nothing was done, try again" '
            "(retry_exit_codes), after 13 launches over ",
        ),
        (
            SPOT_INTERRUPTED,
            "[batch] nightly-report failed: Fargate Spot took the capacity back",
            "Fargate Spot took its capacity back while the task ran (SpotInterruption, two minutes' warning). "
            "The job may have run half-way; it was not re-run (rerun_attempts allows re-runs).",
        ),
    ],
    ids=["exit-75", "spot"],
)
def test_retryable_exit_and_spot_interruption(multi_stack, fault, subject, what):
    definition = definition_text(multi_stack, "nightly-report")
    with Sandbox() as sandbox:
        run = sandbox.execute(definition, launches=[fault], handler=lambda e, c: {"delivered": {}})
    (payload,) = run.alerts_to("log")
    alert = describe(payload)
    assert email_message(alert)[0] == subject
    assert alert.what.startswith(what)
