"""What a scheduled run's execution gets as input, and how each kind of schedule delivers it.

Pure: dicts and strings. The input names the job and the time the run was due, so that alerts and
logs can say which run failed:

- an EventBridge rule passes its "Scheduled Event" through an input transformer that keeps the
  event's ``time``: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
- EventBridge Scheduler fills ``<aws.scheduler.scheduled-time>`` and ``<aws.scheduler.execution-id>``
  in the target's input: https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html

It also holds how long a schedule keeps trying to start a run that Step Functions did not accept
(throttling, a permissions mistake, a deleted state machine) before the start goes to the
dead-letter queue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lambda_src.contract import INPUT_JOB, INPUT_SCHEDULED_TIME

__all__ = ["StartRetry", "manual_input", "rule_input_transformer", "scheduler_input", "start_retry"]


def rule_input_transformer(job_name: str) -> dict[str, Any]:
    """The rule target's input transformer: ``{"job": ..., "scheduledTime": <the event's time>}``.
    Each input's keys are written in sorted order, so that the JSON is the same on every synth."""
    template = json.dumps({INPUT_JOB: job_name, INPUT_SCHEDULED_TIME: "<time>"})
    return {"input_paths": {"time": "$.time"}, "input_template": template}


def scheduler_input(job_name: str) -> str:
    """The Scheduler target's input, with Scheduler's context attributes."""
    return json.dumps(
        {
            INPUT_JOB: job_name,
            "scheduleExecutionId": "<aws.scheduler.execution-id>",
            INPUT_SCHEDULED_TIME: "<aws.scheduler.scheduled-time>",
        }
    )


def manual_input(job_name: str) -> str:
    """The input of a run started by hand (`make run`): the job, and no scheduled time."""
    return json.dumps({INPUT_JOB: job_name, "startedBy": "hand"})


@dataclass(frozen=True)
class StartRetry:
    """How long, and how often, a schedule retries starting an execution."""

    maximum_event_age_in_seconds: int
    maximum_retry_attempts: int

    def as_terraform(self) -> dict[str, int]:
        return {
            "maximum_event_age_in_seconds": self.maximum_event_age_in_seconds,
            "maximum_retry_attempts": self.maximum_retry_attempts,
        }


# Both kinds of schedule default to 24 hours and 185 attempts. A run started a day late is not the
# run that was scheduled: it overlaps the following ones and does its work at the wrong time.
# So a start is retried for at most one period of the schedule (capped at an hour: a run more
# than an hour late is news, not a run), and then goes to the dead-letter queue, whose alarm tells
# people. 20 attempts with EventBridge's exponential backoff fill that hour.
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html
# https://docs.aws.amazon.com/scheduler/latest/APIReference/API_RetryPolicy.html
MAX_START_DELAY_SECONDS = 3600
MIN_EVENT_AGE_SECONDS = 60  # the smallest age both services accept
START_ATTEMPTS = 20


def start_retry(period_seconds: int | None) -> StartRetry:
    """The retry policy for starting a run of a schedule with ``period_seconds`` between runs."""
    window = MAX_START_DELAY_SECONDS if period_seconds is None else min(period_seconds, MAX_START_DELAY_SECONDS)
    return StartRetry(max(window, MIN_EVENT_AGE_SECONDS), START_ATTEMPTS)
