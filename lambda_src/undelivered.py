"""The dead-letter queue's messages, as alerts: a scheduled run that was never started (or an alert
for a run that ended early that could not be delivered), read from the SQS event the queue's event
source mapping invokes the alert Lambda with.

Standard library only. What a message holds, by who put it there:

- EventBridge Scheduler (a job with a ``timezone``): the body is the target's input, the run input
  ``{"job": ..., "scheduledTime": ...}``, and the attributes ``ERROR_CODE``, ``ERROR_MESSAGE``,
  ``SCHEDULE_ARN``, ``TARGET_ARN``.
  https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html
- an EventBridge rule (a job in UTC, and each job's ended-early alert): the body is the event, and
  the attributes ``RULE_ARN``, ``TARGET_ARN``, ``ERROR_CODE``, ``ERROR_MESSAGE``.
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
- Lambda, for an asynchronous invocation of the alert function (an ended-early alert) that failed
  after Lambda's retries: the body is the invocation's payload, and the attributes ``RequestID``,
  ``ErrorCode``, ``ErrorMessage``. https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html

A body of either form (the event as matched, or the target's input after its transformer) is
read; anything else still becomes an alert, naming what it could.
"""

from __future__ import annotations

import json
from typing import Any

from lambda_src.contract import (
    ERROR_NOT_STARTED,
    INPUT_JOB,
    INPUT_SCHEDULED_TIME,
    ended_early_error,
)

__all__ = ["is_queue_event", "payload_of"]

SCHEDULED_EVENT = "Scheduled Event"
EXECUTION_STATUS_CHANGE = "Step Functions Execution Status Change"


def is_queue_event(event: Any) -> bool:
    """Whether ``event`` is the SQS event of an event source mapping (``Records`` from ``aws:sqs``)."""
    records = event.get("Records") if isinstance(event, dict) else None
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(record, dict) and record.get("eventSource") == "aws:sqs" for record in records)
    )


def payload_of(record: dict[str, Any], *, stack: str) -> dict[str, Any]:
    """The alert payload (``lambda_src.contract.AlertPayload``) for one SQS record."""
    attributes = {
        name: value.get("stringValue")
        for name, value in (record.get("messageAttributes") or {}).items()
        if isinstance(value, dict)
    }
    body = _json(record.get("body"))
    # EventBridge and Scheduler name them ERROR_CODE and ERROR_MESSAGE; Lambda (the function's own
    # dead-letter queue) ErrorCode and ErrorMessage.
    code = attributes.get("ERROR_CODE") or attributes.get("ErrorCode")
    message = attributes.get("ERROR_MESSAGE") or attributes.get("ErrorMessage")
    reason = ": ".join(str(part) for part in (code, message) if part)
    sent = str((record.get("attributes") or {}).get("SentTimestamp", ""))
    base: dict[str, Any] = {
        "stack": stack,
        "alertId": f"undelivered:{record.get('messageId')}",
        "gaveUpAt": int(sent) if sent.isdigit() else None,
        "cause": reason or "no reason given",
    }
    source = attributes.get("SCHEDULE_ARN") or attributes.get("RULE_ARN")
    if isinstance(body, dict) and isinstance(body.get("job"), str) and isinstance(body.get("error"), str):
        # An ended-early alert after its input transformer: the alert payload itself, for its channel.
        return {**body, "stack": body.get("stack") or stack, "alertId": base["alertId"], "undelivered": reason}
    if isinstance(body, dict) and isinstance(body.get(INPUT_JOB), str):  # a run's input
        return {**base, "job": body[INPUT_JOB], "error": ERROR_NOT_STARTED, "input": body, "source": source}
    if isinstance(body, dict) and body.get("detail-type") == SCHEDULED_EVENT:
        rule = source or next(iter(body.get("resources") or []), None)
        job = _job_of(rule, stack)
        run_input = {INPUT_JOB: job, INPUT_SCHEDULED_TIME: body.get("time")}
        return {**base, "job": job, "error": ERROR_NOT_STARTED, "input": run_input, "source": rule}
    if isinstance(body, dict) and body.get("detail-type") == EXECUTION_STATUS_CHANGE:
        detail = body.get("detail") if isinstance(body.get("detail"), dict) else {}
        status = detail.get("status") or "UNKNOWN"
        return {
            **base,
            "job": _job_of(detail.get("stateMachineArn"), stack),
            "error": ended_early_error(str(status)),
            "cause": f"The execution ended {status} before the alert step, and its alert could "
            f"not be delivered at first ({base['cause']})",
            "execution": detail.get("executionArn"),
            "stateMachine": detail.get("stateMachineArn"),
            "startTime": detail.get("startDate"),
            "gaveUpAt": detail.get("stopDate"),
            "input": _json(detail.get("input")),
        }
    return {**base, "job": _job_of(source, stack), "error": ERROR_NOT_STARTED, "input": body, "source": source}


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _job_of(arn: Any, stack: str) -> str:
    """The job a rule, schedule or state machine belongs to: its name less ``<stack>-`` (a name
    shortened to fit an AWS limit keeps its start and a hash; it is shown as it is)."""
    if not isinstance(arn, str) or not arn:
        return "?"
    name = arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return name[len(stack) + 1 :] if name.startswith(f"{stack}-") and len(name) > len(stack) + 1 else name
