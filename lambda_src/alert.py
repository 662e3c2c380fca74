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

It writes one structured JSON line to its log group and, when ``ALERT_WEBHOOK_URL`` is set,
POSTs ``{"text": <one line>, "alert": <the record>}`` to it (Slack and Mattermost incoming
webhooks show ``text``). A webhook that is down (5xx, 429, timeout, unreachable) raises
``AlertDeliveryError``, which the state machine retries; one that refuses the request (other 4xx)
raises ``AlertRejectedError``, which it does not. A retried delivery can call the handler twice
for the same run; ``alert_id`` (the execution ARN) makes such duplicates recognisable.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any

WEBHOOK_URL_VARIABLE = "ALERT_WEBHOOK_URL"
WEBHOOK_TIMEOUT_SECONDS = 10.0


class AlertDeliveryError(Exception):
    """The webhook could not take the alert now; worth retrying."""


class AlertRejectedError(Exception):
    """The webhook refused the alert (a 4xx other than 429); retrying will not help."""


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


def summary_line(record: dict[str, Any]) -> str:
    """One line for a chat message: what failed, what it means, and where to look."""
    line = f"{record['message']}: {record['meaning']}"
    task = record.get("task")
    if task:
        exits = [f"{c['name']} exited {c['exit_code']}" for c in task["containers"] if c["exit_code"] is not None]
        details = [task.get("stop_code"), task.get("stopped_reason"), *exits]
        line += " (" + "; ".join(str(d) for d in details if d) + ")"
    return f"{line}. Execution: {record['execution']}"


def post_webhook(url: str, record: dict[str, Any], *, timeout: float = WEBHOOK_TIMEOUT_SECONDS) -> int:
    """POST the alert to ``url``; return the HTTP status, or raise one of the two errors above."""
    body = json.dumps({"text": summary_line(record), "alert": record}, ensure_ascii=False).encode()
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        if error.code == 429 or error.code >= 500:
            raise AlertDeliveryError(f"webhook answered HTTP {error.code}") from None
        raise AlertRejectedError(f"webhook refused the alert: HTTP {error.code}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise AlertDeliveryError(f"webhook unreachable: {reason}") from None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    record = describe_failure(event if isinstance(event, dict) else {"cause": event})
    print(json.dumps(record, sort_keys=True, ensure_ascii=False), file=sys.stdout, flush=True)
    url = os.environ.get(WEBHOOK_URL_VARIABLE)
    if url:
        record["webhook_status"] = post_webhook(url, record)
    return record
