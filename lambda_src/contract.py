"""What the state machine, the constructs and the alert Lambda agree on, defined once.

Standard library only: ``constructs_lib.documents.asl`` and ``constructs_lib.alert_function`` import it at
synth time, and the Lambda imports it at run time.
"""

from __future__ import annotations

from typing import Any, TypedDict

__all__ = [
    "ALERT_CHANNELS_VARIABLE",
    "ALERT_DEAD_LETTER_URL_VARIABLE",
    "ALERT_QUEUE_MAX_RECEIVES",
    "ALERT_QUEUE_URL_VARIABLE",
    "ALERT_QUEUE_VISIBILITY_SECONDS",
    "ENDED_EARLY_STATUSES",
    "ERROR_FAILED_TO_START",
    "ERROR_LONG_RUN",
    "ERROR_MISSED",
    "ERROR_NOT_STARTED",
    "ERROR_PREVIOUS_RUN",
    "ERROR_RETRYABLE_EXIT",
    "ERROR_SPOT_INTERRUPTED",
    "ERROR_TASK_FAILED",
    "ERROR_TIMED_OUT",
    "INPUT_JOB",
    "INPUT_SCHEDULED_TIME",
    "PLACEMENT_ERRORS",
    "SNS_TOPIC_VARIABLE",
    "STACK_NAME_VARIABLE",
    "UNDELIVERED_QUEUE_URL_VARIABLE",
    "WATCHDOG_INTERVAL_SECONDS",
    "WATCHED_JOBS_FILE",
    "AlertDeliveryError",
    "AlertPayload",
    "AlertRejectedError",
    "ended_early_error",
    "missed_run_reported_within",
    "setting_variable",
]

# The Lambda's environment (other tools rely on these names).
SNS_TOPIC_VARIABLE = "SNS_TOPIC_ARN"
STACK_NAME_VARIABLE = "STACK_NAME"
ALERT_QUEUE_URL_VARIABLE = "ALERT_QUEUE_URL"  # where a channel's alert waits for delivery
ALERT_DEAD_LETTER_URL_VARIABLE = "ALERT_DEAD_LETTER_QUEUE_URL"  # where a refused channel's alerts go
# The watchdog's: the channels it queues a missed run's (or a recovery's) alert for, comma-separated,
# the schedules' dead-letter queue it looks into, and the list of jobs it watches (in its package).
ALERT_CHANNELS_VARIABLE = "ALERT_CHANNELS"
UNDELIVERED_QUEUE_URL_VARIABLE = "UNDELIVERED_QUEUE_URL"
WATCHED_JOBS_FILE = "watched_jobs.json"
# How often the watchdog looks (its rule's rate): a missed run is reported at most this long after
# its grace ended.
WATCHDOG_INTERVAL_SECONDS = 300


def missed_run_reported_within(grace_seconds: int) -> int:
    """The worst-case delay from a run's scheduled time to the watchdog's alert that it did not start."""
    return grace_seconds + WATCHDOG_INTERVAL_SECONDS


# The alert queue (constructs_lib.alert_queue) and its consumer (lambda_src.delivery) agree on these:
# a message the function received comes back after this long unless the function says otherwise
# (the queue's visibility timeout: Lambda asks for six times the function's 60 s at least), and
# goes to the alert dead-letter queue on its receive after this many. The consumer sets each wait
# itself (lambda_src.delivery.retry_delay: at most 5 minutes apart) so that a channel that is down
# is tried for more than 24 hours; 320 x 900 s (80 h) is the ceiling, should every try time out.
# https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
ALERT_QUEUE_VISIBILITY_SECONDS = 900
ALERT_QUEUE_MAX_RECEIVES = 320


def setting_variable(key: str) -> str:
    """The alert Lambda's environment variable that carries the ``[alert]`` setting ``key``: the
    key in capitals (``webhook_ssm_parameter``: ``WEBHOOK_SSM_PARAMETER``). Each channel's settings
    reach the Lambda this way, so the two sides of a channel name each setting once, by its key.
    Other tools rely on these names."""
    return key.upper()


# RunTask answered 200 with `failures` (no capacity). The Step Functions guide names the error
# AmazonECS.Unknown; the Knowledge Center article on Fargate capacity names it
# ECS.AmazonECSException. Both mean the container never ran.
# https://docs.aws.amazon.com/step-functions/latest/dg/connect-ecs.html
# https://repost.aws/knowledge-center/ecs-fargate-capacity-errors
PLACEMENT_ERRORS = ("AmazonECS.Unknown", "ECS.AmazonECSException")

# What a scheduled run's execution gets as input, from either kind of schedule (constructs_lib.documents.run_input).
INPUT_JOB = "job"
INPUT_SCHEDULED_TIME = "scheduledTime"  # ISO 8601, UTC: when the schedule was due

# Error names the state machine gives to a stopped task (custom names may not start with "States.").
ERROR_FAILED_TO_START = "Job.TaskFailedToStart"  # StopCode TaskFailedToStart: the container never ran
ERROR_TASK_FAILED = "Job.TaskFailed"  # the container ran and stopped with an error
ERROR_RETRYABLE_EXIT = "Job.RetryableExit"  # it exited with one of the job's retry_exit_codes
ERROR_SPOT_INTERRUPTED = "Job.SpotInterrupted"  # StopCode SpotInterruption: Fargate Spot took it back
ERROR_TIMED_OUT = "Job.TimedOut"  # it ran past timeout_seconds; Step Functions stopped it

# A run that found an earlier execution of its state machine still running (concurrency "forbid")
# launches nothing and ends with this error.
ERROR_PREVIOUS_RUN = "Job.PreviousRunStillRunning"

# A schedule gave up starting the run (its message in the dead-letter queue): the job never ran.
ERROR_NOT_STARTED = "Schedule.StartFailed"
# No execution started within the job's grace period after its scheduled time (the watchdog).
ERROR_MISSED = "Schedule.Missed"
# A run still running past the job's warn_after_seconds (the watchdog's heads-up; not a failure).
ERROR_LONG_RUN = "Run.StillRunning"

# Executions that end without reaching the state machine's alert step, reported through an
# EventBridge rule on their status change; their alert's error is "Execution.<status>".
ENDED_EARLY_STATUSES = ("ABORTED", "TIMED_OUT")


def ended_early_error(status: str) -> str:
    return f"Execution.{status}"


class AlertDeliveryError(Exception):
    """The channel could not take the alert now (5xx, 429, timeout, unreachable): worth retrying.

    The state machine retries the invocation on this error name (Step Functions reports a Lambda
    function's unhandled exception by its class name). ``retry_after``: the seconds the service
    asked to wait (``Retry-After`` or a rate-limit reset), when it said.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AlertRejectedError(Exception):
    """The channel refused the alert (401, 403, 404, a missing parameter): retrying will not help."""


class AlertPayload(TypedDict, total=False):
    """What the state machine's alert step sends (``constructs_lib.documents.asl.render_alert_payload``)."""

    channel: str  # a channel's name (lambda_src.channels.CHANNELS); absent: every configured channel
    stack: str
    job: str
    error: str  # the error the run ended with
    cause: str  # Step Functions' cause: for a stopped task, the task as JSON
    execution: str  # the execution ARN: unique per run
    stateMachine: str
    startTime: str | int  # when the execution started (ISO 8601, or epoch ms from an event)
    gaveUpAt: str | int  # when the run gave up (ISO 8601, or epoch ms: when it stopped)
    input: Any  # the execution's input; a scheduled run's names the job and its scheduledTime
    launchBudget: int  # launches a placement failure is retried over, the first included
    timeoutSeconds: int
    logGroup: str  # the task's log group
    logStreamPrefix: str  # "<awslogs-stream-prefix>/<container name>"
    capacity: list[str]  # where the task was launched, in order: FARGATE, FARGATE_SPOT
    alertId: str  # the alert's id where there is no execution (a start that failed: its SQS message)
    schedule: str  # the job's schedule expression: the alert names the next run
    timezone: str  # the schedule's IANA zone, when it has one: times are shown in it too
    graceSeconds: int  # a missed run's: how long after its time the watchdog waited
    warnAfterSeconds: int  # a long run's heads-up: how long it had run
    recovered: bool  # a "recovered" alert (the watchdog's), with the fields below
    failedRuns: int  # the failed runs just before the success
    missedRuns: int  # or the fire times missed between it and the success before
    since: str  # when the job broke: the first failed run's start, or the first missed time
    lastFailure: dict  # {"status": FAILED | TIMED_OUT | ABORTED | MISSED, "execution" or "alertId": its id}
