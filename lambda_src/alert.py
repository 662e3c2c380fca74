"""The alert Lambda: tells someone that a scheduled job gave up.

Plain Python, standard library only (no cdktf, nothing to package). The state machine's
NotifyFailure step invokes ``handler`` once per failed run with this payload:

    {
      "job": "nightly-report",                      # the job's name from jobs.toml
      "error": "Job.TaskFailed",                    # the error the run ended with
      "cause": "{\"StopCode\": ...}",               # Step Functions' cause: for a stopped task,
                                                    # the task as JSON; otherwise plain text
      "execution": "arn:aws:states:...:execution:...",  # unique per run: the deduplication key
      "startTime": "2026-11-28T08:00:00.000Z",
      "stateMachine": "arn:aws:states:...:stateMachine:..."
    }

It writes one structured JSON line to its log group and returns the same record. A retried
delivery can call it twice for the same run; ``alert_id`` (the execution ARN) makes such
duplicates recognisable.
"""

from __future__ import annotations

import json
import sys
from typing import Any

# Errors a run can end with, and what they mean for the job (see README, "Failure semantics").
MEANINGS = {
    "Job.TaskFailed": "the task ran and stopped with an error; it was not re-run",
    "Job.TaskFailedToStart": "the task never started (image pull, network, secrets), even after retries",
    "Job.TimedOut": "the task ran past its timeout and was stopped",
    "AmazonECS.Unknown": "Fargate could not place the task (capacity), even after retries",
    "ECS.AmazonECSException": "Fargate could not place the task (capacity), even after retries",
}


def describe_failure(event: dict[str, Any]) -> dict[str, Any]:
    """The alert record for a failed run: what happened, in fields a person or a tool can read."""
    error = str(event.get("error") or "unknown")
    cause = event.get("cause")
    record: dict[str, Any] = {
        "level": "ERROR",
        "message": f"scheduled job {event.get('job', '?')} failed: {error}",
        "alert_id": event.get("execution"),
        "job": event.get("job"),
        "error": error,
        "meaning": MEANINGS.get(error, "the run failed and was not retried"),
        "cause": cause,
        "execution": event.get("execution"),
        "start_time": event.get("startTime"),
        "state_machine": event.get("stateMachine"),
    }
    task = _parse_task(cause)
    if task is not None:
        record["task"] = {
            "task_arn": task.get("TaskArn"),
            "stop_code": task.get("StopCode"),
            "stopped_reason": task.get("StoppedReason"),
            "containers": [
                {
                    "name": container.get("Name"),
                    "exit_code": container.get("ExitCode"),
                    "reason": container.get("Reason"),
                }
                for container in task.get("Containers") or []
                if isinstance(container, dict)
            ],
        }
    return record


def _parse_task(cause: Any) -> dict[str, Any] | None:
    """The stopped task in a ``States.TaskFailed`` cause, or ``None`` for a plain-text cause."""
    if not isinstance(cause, str):
        return None
    try:
        parsed = json.loads(cause)
    except ValueError:
        return None
    if isinstance(parsed, dict) and ("StopCode" in parsed or "TaskArn" in parsed):
        return parsed
    return None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    record = describe_failure(event if isinstance(event, dict) else {"cause": event})
    print(json.dumps(record, sort_keys=True, ensure_ascii=False), file=sys.stdout, flush=True)
    return record
