"""The job's state machine definition (Amazon States Language), built as a dict by pure functions.

The shape, and why (see DESIGN.md, "Failure semantics"):

    RunJob (Parallel, one branch)                Retry: launch failures and TaskFailedToStart
      RunTask (ecs:runTask.sync)                        (one budget), opt-in re-runs of TaskFailed
        └─ Catch States.ALL -> ClassifyFailure   Catch: States.ALL -> NotifyFailure
      ClassifyFailure (Choice) -> a Fail state that names the failure:
        TaskFailedToStart   StopCode TaskFailedToStart: the container never ran (retried)
        TaskFailed          the task ran and stopped with an error (not re-run by default)
        TimedOut            the task ran past timeout_seconds; Step Functions stopped it
        LaunchFailed        RunTask itself failed; the ECS error name is kept (placement
                            failures are retried)
    NotifyFailure (lambda:invoke, transient errors retried; its result is discarded)
    JobFailed (Fail: the job's error and cause, so the execution ends FAILED)

Step Functions cannot retry on a task's stop code, only on error names, so the branch turns the
stop code into an error name that the Parallel state's retrier can match. A Retry on
``States.TaskFailed`` would also re-run containers that ran (``States.TaskFailed`` matches every
error but ``States.Timeout``), which is what this design avoids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from constructs_lib.fargate import PLATFORM_VERSION
from constructs_lib.retry_policy import RetryPolicy
from lambda_src.alert import AlertDeliveryError

__all__ = [
    "ALERT_RETRY",
    "CONTAINER_NAME",
    "ERROR_FAILED_TO_START",
    "ERROR_TASK_FAILED",
    "ERROR_TIMED_OUT",
    "LAMBDA_TRANSIENT_ERRORS",
    "PLACEMENT_ERRORS",
    "render_definition",
    "render_retry",
]

CONTAINER_NAME = "app"

# RunTask answered 200 with `failures` (no capacity): the docs name it AmazonECS.Unknown, the
# Knowledge Center ECS.AmazonECSException. Both mean the container never ran.
# https://docs.aws.amazon.com/step-functions/latest/dg/connect-ecs.html
# https://repost.aws/knowledge-center/ecs-fargate-capacity-errors  (see REFERENCE.md)
PLACEMENT_ERRORS = ("AmazonECS.Unknown", "ECS.AmazonECSException")

# Error names the branch gives to a stopped task. Custom names may not start with "States.".
ERROR_FAILED_TO_START = "Job.TaskFailedToStart"
ERROR_TASK_FAILED = "Job.TaskFailed"
ERROR_TIMED_OUT = "Job.TimedOut"

# The Cause of States.TaskFailed is the stopped task (DescribeTasks) as compact JSON.
FAILED_TO_START_PATTERN = '*"StopCode":"TaskFailedToStart"*'

# Lambda errors worth retrying, as AWS CDK's LambdaInvoke retries them, plus throttling and the
# alert function's own "webhook down" error (lambda_src/alert.py).
# https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html
LAMBDA_TRANSIENT_ERRORS = (
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    AlertDeliveryError.__name__,
)
ALERT_RETRY = RetryPolicy(max_attempts=6, interval_seconds=2, backoff_rate=2.0)


def render_retry(errors: Sequence[str], policy: RetryPolicy, *, attempts: int | None = None) -> dict[str, Any]:
    """One Retry entry. ``attempts`` overrides ``policy.max_attempts`` (for the re-run budget)."""
    retry: dict[str, Any] = {
        "ErrorEquals": list(errors),
        "IntervalSeconds": policy.interval_seconds,
        "MaxAttempts": policy.max_attempts if attempts is None else attempts,
        "BackoffRate": policy.backoff_rate,
    }
    if policy.max_delay_seconds is not None:
        retry["MaxDelaySeconds"] = policy.max_delay_seconds
    if policy.jitter != "NONE":
        retry["JitterStrategy"] = policy.jitter
    return retry


def render_catch(next_state: str, *, result_path: str) -> dict[str, Any]:
    return {"ErrorEquals": ["States.ALL"], "ResultPath": result_path, "Next": next_state}


def render_run_task(
    *,
    partition: str,
    cluster_arn: str,
    task_definition_arn: str,
    command: Sequence[str],
    subnet_ids: Sequence[str],
    security_group_ids: Sequence[str],
    assign_public_ip: bool,
    timeout_seconds: int,
) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": f"arn:{partition}:states:::ecs:runTask.sync",
        "Parameters": {
            "Cluster": cluster_arn,
            "TaskDefinition": task_definition_arn,
            "LaunchType": "FARGATE",
            "PlatformVersion": PLATFORM_VERSION,
            "NetworkConfiguration": {
                "AwsvpcConfiguration": {
                    "Subnets": list(subnet_ids),
                    "SecurityGroups": list(security_group_ids),
                    "AssignPublicIp": "ENABLED" if assign_public_ip else "DISABLED",
                }
            },
            "Overrides": {"ContainerOverrides": [{"Name": CONTAINER_NAME, "Command": list(command)}]},
        },
        "ResultPath": "$.RunTask",
        "TimeoutSeconds": timeout_seconds,
        "Catch": [render_catch("ClassifyFailure", result_path="$.Failure")],
        "End": True,
    }


def render_classify_failure() -> dict[str, Any]:
    def error_is(name: str) -> dict[str, str]:
        return {"Variable": "$.Failure.Error", "StringEquals": name}

    return {
        "Type": "Choice",
        "Choices": [
            {
                "And": [
                    error_is("States.TaskFailed"),
                    {"Variable": "$.Failure.Cause", "StringMatches": FAILED_TO_START_PATTERN},
                ],
                "Next": "TaskFailedToStart",
            },
            {**error_is("States.TaskFailed"), "Next": "TaskFailed"},
            {**error_is("States.Timeout"), "Next": "TimedOut"},
        ],
        "Default": "LaunchFailed",
    }


def render_branch(run_task: Mapping[str, Any], *, timeout_seconds: int) -> dict[str, Any]:
    return {
        "StartAt": "RunTask",
        "States": {
            "RunTask": dict(run_task),
            "ClassifyFailure": render_classify_failure(),
            "TaskFailedToStart": {
                "Type": "Fail",
                "Error": ERROR_FAILED_TO_START,
                "CausePath": "$.Failure.Cause",
            },
            "TaskFailed": {"Type": "Fail", "Error": ERROR_TASK_FAILED, "CausePath": "$.Failure.Cause"},
            "TimedOut": {
                "Type": "Fail",
                "Error": ERROR_TIMED_OUT,
                "Cause": f"The task ran longer than timeout_seconds ({timeout_seconds} s); Step Functions stopped it.",
            },
            "LaunchFailed": {
                "Type": "Fail",
                "ErrorPath": "$.Failure.Error",
                "CausePath": "$.Failure.Cause",
            },
        },
    }


def render_run_job(branch: Mapping[str, Any], *, retry: RetryPolicy) -> dict[str, Any]:
    retries = [render_retry([*PLACEMENT_ERRORS, ERROR_FAILED_TO_START], retry)]
    if retry.rerun_attempts:
        retries.append(render_retry([ERROR_TASK_FAILED], retry, attempts=retry.rerun_attempts))
    return {
        "Type": "Parallel",
        "Branches": [dict(branch)],
        # A Parallel state's result is the list of its branches' outputs; keep the one.
        "OutputPath": "$[0]",
        "Retry": retries,
        "Catch": [render_catch("NotifyFailure", result_path="$.Failure")],
        "End": True,
    }


def render_notify_failure(*, partition: str, job_name: str, alert_function_arn: str) -> dict[str, Any]:
    """Invoke the alert Lambda with the payload documented in ``lambda_src/alert.py``."""
    return {
        "Type": "Task",
        "Resource": f"arn:{partition}:states:::lambda:invoke",
        "Parameters": {
            "FunctionName": alert_function_arn,
            "Payload": {
                "job": job_name,
                "error.$": "$.Failure.Error",
                "cause.$": "$.Failure.Cause",
                "execution.$": "$$.Execution.Id",
                "startTime.$": "$$.Execution.StartTime",
                "stateMachine.$": "$$.StateMachine.Id",
            },
        },
        # Discard the Lambda's result: JobFailed reads $.Failure.
        "ResultPath": None,
        "Retry": [render_retry(LAMBDA_TRANSIENT_ERRORS, ALERT_RETRY)],
        # An alert that could not be delivered still ends in JobFailed (and its alarm).
        "Catch": [render_catch("JobFailed", result_path="$.AlertFailure")],
        "Next": "JobFailed",
    }


def render_definition(
    *,
    job_name: str,
    partition: str,
    cluster_arn: str,
    task_definition_arn: str,
    command: Sequence[str],
    subnet_ids: Sequence[str],
    security_group_ids: Sequence[str],
    assign_public_ip: bool,
    alert_function_arn: str,
    retry: RetryPolicy,
    timeout_seconds: int,
) -> dict[str, Any]:
    """The whole definition for one job."""
    run_task = render_run_task(
        partition=partition,
        cluster_arn=cluster_arn,
        task_definition_arn=task_definition_arn,
        command=command,
        subnet_ids=subnet_ids,
        security_group_ids=security_group_ids,
        assign_public_ip=assign_public_ip,
        timeout_seconds=timeout_seconds,
    )
    return {
        "Comment": f"Runs job {job_name} on Fargate: retries launches whose container never ran, "
        "alerts and fails otherwise.",
        "StartAt": "RunJob",
        "States": {
            "RunJob": render_run_job(render_branch(run_task, timeout_seconds=timeout_seconds), retry=retry),
            "NotifyFailure": render_notify_failure(
                partition=partition, job_name=job_name, alert_function_arn=alert_function_arn
            ),
            "JobFailed": {"Type": "Fail", "ErrorPath": "$.Failure.Error", "CausePath": "$.Failure.Cause"},
        },
    }
