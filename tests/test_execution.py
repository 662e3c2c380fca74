"""The failure semantics, executed: every synthesized state machine runs in moto's Step Functions
interpreter with faults injected at the ECS and Lambda integrations, in virtual time.

Each scenario asserts the final status, the error and cause the execution ends with, the number of
task launches and alert invocations, every wait, and the alert payload.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import pytest
from sfn_harness import (
    ALERT_FUNCTION_ARN,
    CLUSTER_ARN,
    CONTAINER_EXIT_1,
    FAILED_TO_START,
    NO_CAPACITY,
    TIMEOUT,
    LambdaFault,
    Raise,
    Sandbox,
    Succeed,
)
from stack_helpers import resources
from webhook_server import webhook_server

from lambda_src.alert import handler

logging.getLogger("moto").setLevel(logging.CRITICAL)

ALERT_WAITS = [2.0, 4.0, 8.0, 16.0, 32.0, 64.0]
TIMEOUT_CAUSE = "The task ran longer than timeout_seconds ({} s); Step Functions stopped it."


@dataclass(frozen=True)
class Job:
    """What the tests expect of one synthesized job, written out rather than derived."""

    stack: str
    name: str
    command: list[str]
    launch_waits: list[float]  # the waits before each launch retry, at most
    timeout_seconds: int
    rerun_waits: list[float]  # opt-in re-runs of a container that failed
    jittered: bool = False


JOBS = [
    Job("default_stack", "run-once-a-hour", ["echo", "This is scheduled task as run-once-a-hour"], [1, 2, 4], 3600, []),
    Job(
        "multi_stack",
        "nightly-report",
        ["python", "-m", "mailer", "--daily"],
        [10, 20, 40, 80] + [120] * 8,  # the default policy: 1110 s
        1800,
        [],
    ),
    Job("multi_stack", "every-5-minutes", ["sh", "-c", "date"], [10, 20, 40, 80, 120], 3600, []),
    Job(
        "multi_stack",
        "idempotent-sync-job-with-a-name-that-uses-all-sixty-four-chars-x",
        ["echo", "sync"],
        [30, 45, 60, 60],  # 30 s x1.5, capped at 60 s, with FULL jitter
        600,
        [30],
        jittered=True,
    ),
]


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture(params=JOBS, ids=lambda job: job.name[:20])
def job(request, sandbox) -> tuple[Job, str, Sandbox]:
    """The job and its synthesized definition (Terraform references and all)."""
    expected: Job = request.param
    stack = request.getfixturevalue(expected.stack)
    (machine,) = [
        body
        for name, body in resources(stack, "aws_sfn_state_machine").items()
        if name.startswith(f"job-{expected.name}_")
    ]
    return expected, machine["definition"], sandbox


def assert_waits(job: Job, waits: list[float], expected: list[float]) -> None:
    if job.jittered:  # FULL jitter: a random wait up to the computed one
        assert len(waits) == len(expected)
        assert all(0 <= wait <= limit for wait, limit in zip(waits, expected, strict=True)), waits
    else:
        assert waits == expected


def assert_alert(run, job: Job, *, error: str, cause: str) -> None:
    assert set(run.alert_functions) == {ALERT_FUNCTION_ARN}  # the stack's alert function
    (payload, *repeats) = run.alerts
    assert all(repeat == payload for repeat in repeats)  # a retried delivery repeats it exactly
    assert set(payload) == {"job", "error", "cause", "execution", "startTime", "stateMachine"}
    assert payload["job"] == job.name
    assert payload["error"] == error
    assert payload["cause"] == cause
    assert payload["execution"] == run.execution_arn  # unique per run: the deduplication key
    assert payload["stateMachine"] == run.state_machine_arn
    assert payload["startTime"].startswith("20")


def test_success_runs_once_with_the_job_parameters(job):
    expected, definition, sandbox = job
    run = sandbox.execute(definition, launches=[Succeed()], handler=handler)
    assert (run.status, run.error, run.alerts, run.waits) == ("SUCCEEDED", None, [], [])
    (launch,) = run.launches
    assert launch["cluster"] == CLUSTER_ARN
    assert launch["launchType"] == "FARGATE"
    assert launch["platformVersion"] == "1.4.0"
    assert launch["overrides"] == {"containerOverrides": [{"name": "app", "command": expected.command}]}
    assert launch["startedBy"] == "AWS Step Functions"


def entered(run) -> list[str]:
    """The states the execution entered, in order."""
    return [event["stateEnteredEventDetails"]["name"] for event in run.history if "stateEnteredEventDetails" in event]


def test_launch_failure_twice_then_success(job):
    expected, definition, sandbox = job
    run = sandbox.execute(definition, launches=[NO_CAPACITY, NO_CAPACITY, Succeed()], handler=handler)
    assert run.status == "SUCCEEDED"
    assert len(run.launches) == 3
    assert run.alerts == []
    assert_waits(expected, run.waits, expected.launch_waits[:2])


@pytest.mark.parametrize(
    ("fault", "error", "branch_end", "meaning"),
    [
        (
            NO_CAPACITY,
            "ECS.AmazonECSException",
            "LaunchFailed",
            "Fargate could not place the task (capacity), even after retries",
        ),
        (
            FAILED_TO_START,
            "Job.TaskFailedToStart",
            "TaskFailedToStart",
            "the task never started (image pull, network, secrets), even after retries",
        ),
    ],
    ids=["no-capacity", "failed-to-start"],
)
def test_a_container_that_never_runs_is_relaunched_until_the_budget_ends(job, fault, error, branch_end, meaning):
    expected, definition, sandbox = job
    run = sandbox.execute(definition, launches=[fault], handler=handler)
    assert (run.status, run.error, run.cause) == ("FAILED", error, fault.cause)
    assert len(run.launches) == 1 + len(expected.launch_waits)
    assert_waits(expected, run.waits, expected.launch_waits)
    assert len(run.alerts) == 1
    assert_alert(run, expected, error=error, cause=fault.cause)
    # A retry of the Parallel state runs its branch again without re-entering RunJob.
    launches = ["RunTask", "ClassifyFailure", branch_end] * len(run.launches)
    assert entered(run) == ["RunJob", *launches, "NotifyFailure", "JobFailed"]
    (record,) = run.alert_results
    assert record["meaning"] == meaning


def test_placement_error_named_amazon_ecs_unknown_is_retried_too(job):
    expected, definition, sandbox = job
    unknown = Raise("AmazonECS.Unknown", "RunTask failures: RESOURCE:FARGATE")
    run = sandbox.execute(definition, launches=[unknown, Succeed()], handler=handler)
    assert (run.status, len(run.launches)) == ("SUCCEEDED", 2)
    assert_waits(expected, run.waits, expected.launch_waits[:1])


def test_other_ecs_errors_are_not_retried(job):
    _expected, definition, sandbox = job
    denied = Raise("ECS.AccessDeniedException", "not authorized to perform: ecs:RunTask")
    run = sandbox.execute(definition, launches=[denied], handler=handler)
    assert (run.status, run.error, run.cause) == ("FAILED", "ECS.AccessDeniedException", denied.cause)
    assert (len(run.launches), run.waits, len(run.alerts)) == (1, [], 1)


def test_container_exit_1_is_not_rerun_by_default(job):
    expected, definition, sandbox = job
    run = sandbox.execute(definition, launches=[CONTAINER_EXIT_1, Succeed()], handler=handler)
    if expected.rerun_waits:  # the idempotent job opted in to one re-run
        assert (run.status, len(run.launches), run.alerts) == ("SUCCEEDED", 2, [])
        assert_waits(expected, run.waits, expected.rerun_waits)
        return
    assert (run.status, run.error, run.cause) == ("FAILED", "Job.TaskFailed", CONTAINER_EXIT_1.cause)
    assert (len(run.launches), run.waits) == (1, [])
    assert_alert(run, expected, error="Job.TaskFailed", cause=CONTAINER_EXIT_1.cause)
    (record,) = run.alert_results
    assert record["task"]["stop_code"] == "EssentialContainerExited"
    assert record["task"]["stopped_reason"] == "Essential container in task exited"
    assert record["task"]["containers"] == [{"name": "app", "exit_code": 1, "reason": None}]


def test_opted_in_reruns_are_bounded(job):
    expected, definition, sandbox = job
    run = sandbox.execute(definition, launches=[CONTAINER_EXIT_1], handler=handler)
    assert (run.status, run.error) == ("FAILED", "Job.TaskFailed")
    assert len(run.launches) == 1 + len(expected.rerun_waits)
    assert_waits(expected, run.waits, expected.rerun_waits)
    assert len(run.alerts) == 1


def test_failed_to_start_once_then_success(job):
    expected, definition, sandbox = job
    run = sandbox.execute(definition, launches=[FAILED_TO_START, Succeed()], handler=handler)
    assert (run.status, len(run.launches), run.alerts) == ("SUCCEEDED", 2, [])
    assert_waits(expected, run.waits, expected.launch_waits[:1])


def test_placement_failures_and_failed_starts_share_one_budget(job):
    expected, definition, sandbox = job
    alternating = [NO_CAPACITY, FAILED_TO_START] * len(expected.launch_waits)
    run = sandbox.execute(definition, launches=alternating, handler=handler)
    assert run.status == "FAILED"
    assert len(run.launches) == 1 + len(expected.launch_waits)
    assert_waits(expected, run.waits, expected.launch_waits)


def test_timeout_is_not_rerun_and_alerts(job):
    expected, definition, sandbox = job
    run = sandbox.execute(definition, launches=[TIMEOUT, Succeed()], handler=handler)
    cause = TIMEOUT_CAUSE.format(expected.timeout_seconds)
    assert (run.status, run.error, run.cause) == ("FAILED", "Job.TimedOut", cause)
    assert (len(run.launches), run.waits) == (1, [])
    assert_alert(run, expected, error="Job.TimedOut", cause=cause)
    run_task = json.loads(definition)["States"]["RunJob"]["Branches"][0]["States"]["RunTask"]
    assert run_task["TimeoutSeconds"] == expected.timeout_seconds


def test_alert_lambda_failing_once_is_retried(job):
    expected, definition, sandbox = job
    run = sandbox.execute(definition, launches=[CONTAINER_EXIT_1], alerts=[LambdaFault(), None], handler=handler)
    if expected.rerun_waits:
        run.waits = run.waits[len(expected.rerun_waits) :]
    assert (run.status, run.error, run.cause) == ("FAILED", "Job.TaskFailed", CONTAINER_EXIT_1.cause)
    assert len(run.alerts) == 2
    assert len(run.alert_results) == 1
    assert run.waits == ALERT_WAITS[:1]
    assert_alert(run, expected, error="Job.TaskFailed", cause=CONTAINER_EXIT_1.cause)


def test_alert_lambda_failing_always_still_ends_failed_with_the_jobs_error(job):
    expected, definition, sandbox = job
    run = sandbox.execute(
        definition, launches=[TIMEOUT], alerts=[LambdaFault("TooManyRequestsException")], handler=handler
    )
    assert (run.status, run.error) == ("FAILED", "Job.TimedOut")
    assert run.cause == TIMEOUT_CAUSE.format(expected.timeout_seconds)
    assert len(run.alerts) == 1 + len(ALERT_WAITS)
    assert run.alert_results == []
    assert run.waits == ALERT_WAITS


def test_webhook_down_once_is_retried_and_the_alert_delivered(job, monkeypatch):
    _expected, definition, sandbox = job
    with webhook_server([503, 200]) as hook:
        monkeypatch.setenv("ALERT_WEBHOOK_URL", hook.url)
        run = sandbox.execute(definition, launches=[TIMEOUT], handler=handler)
    assert (run.status, run.error) == ("FAILED", "Job.TimedOut")
    assert len(run.alerts) == 2
    assert run.waits == ALERT_WAITS[:1]
    (record,) = run.alert_results
    assert record["webhook_status"] == 200
    assert [request["body"]["alert"]["alert_id"] for request in hook.received] == [run.execution_arn] * 2


def test_webhook_refusing_the_alert_is_not_retried(job, monkeypatch):
    _expected, definition, sandbox = job
    with webhook_server([404]) as hook:
        monkeypatch.setenv("ALERT_WEBHOOK_URL", hook.url)
        run = sandbox.execute(definition, launches=[TIMEOUT], handler=handler)
    assert (run.status, run.error, len(run.alerts), len(hook.received), run.waits) == (
        "FAILED",
        "Job.TimedOut",
        1,
        1,
        [],
    )


def test_alert_function_errors_that_are_not_transient_are_not_retried(job):
    _expected, definition, sandbox = job
    run = sandbox.execute(
        definition, launches=[TIMEOUT], alerts=[LambdaFault("ResourceNotFoundException")], handler=handler
    )
    assert (run.status, run.error, len(run.alerts), run.waits) == ("FAILED", "Job.TimedOut", 1, [])
