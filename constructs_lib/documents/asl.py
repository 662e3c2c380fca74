"""The job's state machine definition (Amazon States Language), built as a dict by pure functions.

The shape, and why (docs/failure-semantics.md):

    RunJob (Parallel, one branch)                Retry: launch failures and TaskFailedToStart
      RunTask (ecs:runTask.sync)                        (one budget), opt-in re-runs of TaskFailed
        └─ Catch States.ALL -> ClassifyFailure   Catch: States.ALL -> NotifyFailure
      ClassifyFailure (Choice) -> a Fail state that names the failure:
        TaskFailedToStart   StopCode TaskFailedToStart: the container never ran (retried)
        TaskFailed          the task ran and stopped with an error (not re-run by default)
        TimedOut            the task ran past timeout_seconds; Step Functions stopped it
        LaunchFailed        RunTask itself failed; the ECS error name is kept (placement
                            failures are retried)
    NotifyFailure (Parallel, one branch per configured alert channel, log first)
      Alert<Channel> (lambda:invoke with "channel"; transient errors retried on their own)
        └─ Catch States.ALL -> Alert<Channel>Undelivered (Pass: the other channels go on)
    JobFailed (Fail: the job's error and cause, so the execution ends FAILED)

Step Functions cannot retry on a task's stop code, only on error names, so the branch turns the
stop code into an error name that the Parallel state's retrier can match. A Retry on
``States.TaskFailed`` would also re-run containers that ran (``States.TaskFailed`` matches every
error but ``States.Timeout``), which is what this design avoids.

One alert invocation per channel, each with its own retrier, means that a retry after a channel
was down never repeats the message on a channel that already has it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from constructs_lib.documents.asl_alert import (
    AlertJob,
    render_notify_failure,
)
from constructs_lib.documents.asl_guard import render_concurrency_guard
from constructs_lib.documents.asl_states import render_catch, render_retry
from constructs_lib.model.capacity import FARGATE, FARGATE_SPOT, capacity_source
from constructs_lib.model.config import Concurrency
from constructs_lib.model.fargate import PLATFORM_VERSION
from constructs_lib.model.retry_policy import RetryPolicy
from lambda_src.contract import (
    ERROR_FAILED_TO_START,
    ERROR_RETRYABLE_EXIT,
    ERROR_SPOT_INTERRUPTED,
    ERROR_TASK_FAILED,
    ERROR_TIMED_OUT,
    PLACEMENT_ERRORS,
)

__all__ = [
    "PLACEMENT_ERRORS",
    "render_branch",
    "render_classify_failure",
    "render_definition",
    "render_run_job",
    "render_run_task",
    "stage_name",
    "with_suffix",
]

# The Cause of States.TaskFailed is the stopped task (DescribeTasks) as JSON; it is parsed with
# States.StringToJson and the branch reads its fields, not the string's formatting.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html
STOP_CODE_PATH = "$.Failure.Task.StopCode"

SPOT_STOP_CODE = FARGATE_SPOT.interruption_stop_code  # AWS took the capacity back


def render_run_task(
    *,
    partition: str,
    cluster_arn: str,
    task_definition_arn: str,
    subnet_ids: Sequence[str],
    security_group_ids: Sequence[str],
    assign_public_ip: bool,
    timeout_seconds: int,
    capacity: str = FARGATE.name,
    propagate_tags: bool = False,
) -> dict[str, Any]:
    """``RunTask`` on ``capacity``: the ``FARGATE`` launch type, or a capacity provider strategy
    (RunTask refuses both together). The container runs the command of the task definition, its
    one source: no override. With ``propagate_tags``, the task carries the task definition's tags
    and ECS's own (the cluster's name), so that Cost Explorer can split the spend per job.
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html"""
    placement = capacity_source(capacity).placement()
    tagging = {"PropagateTags": "TASK_DEFINITION", "EnableECSManagedTags": True} if propagate_tags else {}
    return {
        "Type": "Task",
        "Resource": f"arn:{partition}:states:::ecs:runTask.sync",
        "Parameters": {
            "Cluster": cluster_arn,
            "TaskDefinition": task_definition_arn,
            **placement,
            "PlatformVersion": PLATFORM_VERSION,
            "NetworkConfiguration": {
                "AwsvpcConfiguration": {
                    "Subnets": list(subnet_ids),
                    "SecurityGroups": list(security_group_ids),
                    "AssignPublicIp": "ENABLED" if assign_public_ip else "DISABLED",
                }
            },
            **tagging,
        },
        "ResultPath": "$.RunTask",
        "TimeoutSeconds": timeout_seconds,
        "Catch": [render_catch("ClassifyFailure", result_path="$.Failure")],
        "End": True,
    }


def render_classify_failure(*, timeout_seconds: int, retry_exit_codes: Sequence[int] = ()) -> dict[str, Any]:
    """The branch's states after ``RunTask`` caught an error: they turn how the task stopped into an
    error name that the enclosing Parallel state's retriers can match, and fail the branch with it."""

    def error_is(name: str) -> dict[str, str]:
        return {"Variable": "$.Failure.Error", "StringEquals": name}

    def fail(error: str) -> dict[str, str]:
        return {"Type": "Fail", "Error": error, "CausePath": "$.Failure.Cause"}

    states: dict[str, Any] = {
        "ClassifyFailure": {
            "Type": "Choice",
            "Choices": [
                # A stopped task's cause is its JSON; anything else is kept as it is.
                {
                    "And": [error_is("States.TaskFailed"), {"Variable": "$.Failure.Cause", "StringMatches": "{*"}],
                    "Next": "ReadStoppedTask",
                },
                {**error_is("States.TaskFailed"), "Next": "TaskFailed"},
                {**error_is("States.Timeout"), "Next": "TimedOut"},
            ],
            "Default": "LaunchFailed",
        },
        "ReadStoppedTask": {
            "Type": "Pass",
            "Parameters": {
                "Error.$": "$.Failure.Error",
                "Cause.$": "$.Failure.Cause",
                "Task.$": "States.StringToJson($.Failure.Cause)",
            },
            "ResultPath": "$.Failure",
            "Next": "HowDidTheTaskStop",
        },
        "HowDidTheTaskStop": {
            "Type": "Choice",
            "Choices": [
                # No StopCode: a failed task all the same. Written as Not IsPresent true, which every
                # engine reads alike (aws-local-stepfunctions never matches IsPresent false).
                {"Not": {"Variable": STOP_CODE_PATH, "IsPresent": True}, "Next": "TaskFailed"},
                {"Variable": STOP_CODE_PATH, "StringEquals": "TaskFailedToStart", "Next": "TaskFailedToStart"},
                {"Variable": STOP_CODE_PATH, "StringEquals": SPOT_STOP_CODE, "Next": "SpotInterrupted"},
            ],
            "Default": "TaskFailed",
        },
        "TaskFailedToStart": fail(ERROR_FAILED_TO_START),
        "SpotInterrupted": fail(ERROR_SPOT_INTERRUPTED),
        "TaskFailed": fail(ERROR_TASK_FAILED),
        "TimedOut": {
            "Type": "Fail",
            "Error": ERROR_TIMED_OUT,
            "Cause": f"The task ran longer than timeout_seconds ({timeout_seconds} s); Step Functions stopped it.",
        },
        "LaunchFailed": {"Type": "Fail", "ErrorPath": "$.Failure.Error", "CausePath": "$.Failure.Cause"},
    }
    if retry_exit_codes:
        # The essential container exited: with one of the codes that mean "nothing was done, try
        # again"? Its exit code is read as a list ([*]: the task has the one container) and tested
        # with States.ArrayContains, code by code.
        states["HowDidTheTaskStop"]["Choices"].append(
            {"Variable": STOP_CODE_PATH, "StringEquals": "EssentialContainerExited", "Next": "ReadExitCode"}
        )
        flags = {f"Exited{code}": code for code in retry_exit_codes}
        states["ReadExitCode"] = {
            "Type": "Pass",
            "Parameters": {"Codes.$": "$.Failure.Task.Containers[*].ExitCode"},
            "ResultPath": "$.Exit",
            "Next": "MatchExitCode",
        }
        states["MatchExitCode"] = {
            "Type": "Pass",
            "Parameters": {f"{flag}.$": f"States.ArrayContains($.Exit.Codes, {code})" for flag, code in flags.items()},
            "ResultPath": "$.Exit.Matches",
            "Next": "IsExitRetryable",
        }
        matches = [{"Variable": f"$.Exit.Matches.{flag}", "BooleanEquals": True} for flag in flags]
        states["IsExitRetryable"] = {
            "Type": "Choice",
            "Choices": [{**(matches[0] if len(matches) == 1 else {"Or": matches}), "Next": "RetryableExit"}],
            "Default": "TaskFailed",
        }
        states["RetryableExit"] = fail(ERROR_RETRYABLE_EXIT)
    return states


def render_branch(
    run_task: Mapping[str, Any], *, timeout_seconds: int, retry_exit_codes: Sequence[int] = ()
) -> dict[str, Any]:
    return {
        "StartAt": "RunTask",
        "States": {
            "RunTask": dict(run_task),
            **render_classify_failure(timeout_seconds=timeout_seconds, retry_exit_codes=retry_exit_codes),
        },
    }


def stage_name(index: int, capacity: str) -> str:
    """``RunJob`` for the first capacity source, ``RunJobOnFargateSpot`` and so on for the next."""
    return "RunJob" if index == 0 else f"RunJobOn{capacity.title().replace('_', '')}"


def with_suffix(branch: Mapping[str, Any], suffix: str) -> dict[str, Any]:
    """``branch`` with ``suffix`` on every state name and reference to it: state names are unique
    across a whole state machine, branches included."""
    names = set(branch["States"])

    def rename(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: item + suffix if key in ("Next", "Default", "StartAt") and item in names else rename(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [rename(item) for item in value]
        return value

    renamed = rename(dict(branch))
    renamed["States"] = {name + suffix: state for name, state in renamed["States"].items()}
    return renamed


def render_run_job(
    branch: Mapping[str, Any], *, retry: RetryPolicy, on_no_capacity: str | None = None
) -> dict[str, Any]:
    """One capacity source's stage: the branch, its retriers and where a run goes when it gives up:
    on to ``on_no_capacity`` (the next source's stage) when nothing was placed, else to the alert."""
    # One budget for every launch after which the job did nothing: not placed, not started, or
    # exited with a code the job declares retryable.
    never_ran = [*PLACEMENT_ERRORS, ERROR_FAILED_TO_START] + ([ERROR_RETRYABLE_EXIT] if retry.retry_exit_codes else [])
    retries = [render_retry(never_ran, retry)]
    if retry.rerun_attempts:
        # Opt-in re-runs of a task that ran, maybe half-way: a failure, or Fargate Spot taking it back.
        retries.append(render_retry([ERROR_TASK_FAILED, ERROR_SPOT_INTERRUPTED], retry, attempts=retry.rerun_attempts))
    return {
        "Type": "Parallel",
        "Branches": [dict(branch)],
        # A Parallel state's result is the list of its branches' outputs; keep the one.
        "OutputPath": "$[0]",
        "Retry": retries,
        "Catch": (
            [{"ErrorEquals": list(PLACEMENT_ERRORS), "ResultPath": "$.Failure", "Next": on_no_capacity}]
            if on_no_capacity
            else []
        )
        + [render_catch("NotifyFailure", result_path="$.Failure")],
        "End": True,
    }


def render_definition(
    *,
    job: AlertJob,
    partition: str,
    cluster_arn: str,
    task_definition_arn: str,
    subnet_ids: Sequence[str],
    security_group_ids: Sequence[str],
    assign_public_ip: bool,
    alert_function_arn: str,
    alert_channels: Sequence[str],
    retry: RetryPolicy,
    concurrency: Concurrency = "forbid",
    propagate_tags: bool = False,
) -> dict[str, Any]:
    """The whole definition for one job (``job`` says what its alerts say about it, and on which
    capacity it runs, in order)."""
    stages = {}
    for index, capacity in enumerate(job.capacity):
        run_task = render_run_task(
            partition=partition,
            cluster_arn=cluster_arn,
            task_definition_arn=task_definition_arn,
            subnet_ids=subnet_ids,
            security_group_ids=security_group_ids,
            assign_public_ip=assign_public_ip,
            timeout_seconds=job.timeout_seconds,
            capacity=capacity,
            propagate_tags=propagate_tags,
        )
        branch = render_branch(run_task, timeout_seconds=job.timeout_seconds, retry_exit_codes=retry.retry_exit_codes)
        name = stage_name(index, capacity)
        following = stage_name(index + 1, job.capacity[index + 1]) if index + 1 < len(job.capacity) else None
        stages[name] = render_run_job(
            with_suffix(branch, name.removeprefix("RunJob")), retry=retry, on_no_capacity=following
        )
    guard = render_concurrency_guard(partition=partition, next_state="RunJob") if concurrency == "forbid" else {}
    return {
        "Comment": f"Runs job {job.name} on Fargate: retries launches whose container never ran, "
        "alerts and fails otherwise.",
        "StartAt": "CheckPreviousRun" if guard else "RunJob",
        "States": {
            **guard,
            **stages,
            "NotifyFailure": render_notify_failure(
                partition=partition, job=job, alert_function_arn=alert_function_arn, channels=alert_channels
            ),
            "JobFailed": {"Type": "Fail", "ErrorPath": "$.Failure.Error", "CausePath": "$.Failure.Cause"},
        },
    }
