"""The state machine's alert step (``NotifyFailure``): one branch per channel, each invoking the
alert Lambda with the run's payload (``lambda_src.contract.AlertPayload``) and retrying what is
transient on its own, so that a channel that was down never makes another repeat its message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from constructs_lib.documents.asl_states import CONTAINER_NAME, LOG_STREAM_PREFIX, render_catch, render_retry
from constructs_lib.model.alert_channels import CHANNELS
from constructs_lib.model.capacity import DEFAULT_CAPACITY
from constructs_lib.model.retry_policy import RetryPolicy
from lambda_src.contract import AlertDeliveryError

__all__ = [
    "ALERT_RETRY",
    "LAMBDA_TRANSIENT_ERRORS",
    "AlertJob",
    "alert_state_name",
    "render_alert_branch",
    "render_alert_payload",
    "render_notify_failure",
]

# Lambda errors worth retrying, as AWS CDK's LambdaInvoke retries them, plus throttling and the
# alert function's own "channel down" error (lambda_src/contract.py).
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


@dataclass(frozen=True)
class AlertJob:
    """What an alert says about the job, known at synth time."""

    stack_name: str
    name: str
    launch_budget: int  # launches per capacity source over which a placement failure is retried
    timeout_seconds: int
    log_group_name: str
    capacity: tuple[str, ...] = DEFAULT_CAPACITY  # where the task is launched, in order
    schedule: str | None = None  # the schedule expression: the alert names the next run
    timezone: str | None = None  # the schedule's zone: the alert shows times in it too

    @classmethod
    def of(
        cls,
        *,
        stack_name: str,
        job_name: str,
        retry: RetryPolicy,
        timeout_seconds: int,
        log_group_name: str,
        capacity: Sequence[str] = DEFAULT_CAPACITY,
        schedule: str | None = None,
        timezone: str | None = None,
    ) -> AlertJob:
        return cls(
            stack_name=stack_name,
            name=job_name,
            launch_budget=1 + retry.max_attempts,
            timeout_seconds=timeout_seconds,
            log_group_name=log_group_name,
            capacity=tuple(capacity),
            schedule=schedule,
            timezone=timezone,
        )

    def static_fields(self, channel: str) -> dict[str, Any]:
        """The alert payload's fields that do not depend on the run."""
        return {
            "channel": channel,
            "stack": self.stack_name,
            "job": self.name,
            "launchBudget": self.launch_budget,
            "timeoutSeconds": self.timeout_seconds,
            "logGroup": self.log_group_name,
            "logStreamPrefix": f"{LOG_STREAM_PREFIX}/{CONTAINER_NAME}",
            "capacity": list(self.capacity),
            **({"schedule": self.schedule} if self.schedule else {}),
            **({"timezone": self.timezone} if self.timezone else {}),
        }


def render_alert_payload(*, channel: str, job: AlertJob) -> dict[str, Any]:
    """What the alert Lambda gets (``lambda_src.contract.AlertPayload``), from the branch input that
    ``render_notify_failure`` passes; every path exists in every execution, so building it cannot fail."""
    return {
        **job.static_fields(channel),
        "error.$": "$.Failure.Error",
        "cause.$": "$.Failure.Cause",
        "execution.$": "$$.Execution.Id",
        "startTime.$": "$.StartTime",
        "gaveUpAt.$": "$.GaveUpAt",
        "stateMachine.$": "$$.StateMachine.Id",
        "input.$": "$.Input",
    }


def alert_state_name(channel: str) -> str:
    return f"Alert{channel.capitalize()}"


def render_alert_branch(*, partition: str, channel: str, job: AlertJob, alert_function_arn: str) -> dict[str, Any]:
    """One channel's delivery: invoke the Lambda for ``channel``, retry what is transient, and end
    the branch either way (a channel that stays down must not stop the others)."""
    name = alert_state_name(channel)
    return {
        "StartAt": name,
        "States": {
            name: {
                "Type": "Task",
                "Resource": f"arn:{partition}:states:::lambda:invoke",
                "Parameters": {
                    "FunctionName": alert_function_arn,
                    "Payload": render_alert_payload(channel=channel, job=job),
                },
                "Retry": [render_retry(LAMBDA_TRANSIENT_ERRORS, ALERT_RETRY)],
                "Catch": [render_catch(f"{name}Undelivered", result_path="$.AlertFailure")],
                "End": True,
            },
            f"{name}Undelivered": {"Type": "Pass", "End": True},
        },
    }


def render_notify_failure(
    *, partition: str, job: AlertJob, alert_function_arn: str, channels: Sequence[str]
) -> dict[str, Any]:
    """Alert on every channel at once, each on its own; then fail the run."""
    unknown = sorted(set(channels) - set(CHANNELS))
    if unknown or not channels:
        raise ValueError(f"alert channels {list(channels)!r}: allowed a non-empty selection of {CHANNELS}")
    return {
        "Type": "Parallel",
        # The branches' input: the failure, and when the run gave up (one time for every channel).
        # The execution's input and start are passed here, not read from the context object inside
        # a branch: correct on AWS either way, but only this reading is the same in every engine.
        "Parameters": {
            "Failure.$": "$.Failure",
            "GaveUpAt.$": "$$.State.EnteredTime",
            "Input.$": "$$.Execution.Input",
            "StartTime.$": "$$.Execution.StartTime",
        },
        "Branches": [
            render_alert_branch(partition=partition, channel=channel, job=job, alert_function_arn=alert_function_arn)
            for channel in channels
        ],
        # Discard the deliveries' results: JobFailed reads $.Failure.
        "ResultPath": None,
        # Every branch catches its own failures; should the state itself fail, the run still ends
        # in JobFailed (and its alarm).
        "Catch": [render_catch("JobFailed", result_path="$.AlertFailure")],
        "Next": "JobFailed",
    }
