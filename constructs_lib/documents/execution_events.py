"""EventBridge documents for runs that end without reaching the alert step: an aborted execution
(stopped by hand, or by a deploy) or one that timed out as a whole. Pure: dicts and strings.

Step Functions sends "Step Functions Execution Status Change" events to the account's default bus
for standard workflows; ``detail`` carries ``executionArn``, ``stateMachineArn``, ``status`` and
``startDate``/``stopDate`` (epoch milliseconds).
https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html
"""

from __future__ import annotations

import json
from typing import Any

from constructs_lib.documents.asl_alert import AlertJob
from lambda_src.contract import ENDED_EARLY_STATUSES, ended_early_error

__all__ = ["INPUT_PATHS", "STATUS_CHANGE", "alert_input_template", "ended_early_pattern"]

STATUS_CHANGE = "Step Functions Execution Status Change"

# What the input transformer reads from the event.
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
INPUT_PATHS = {
    "execution": "$.detail.executionArn",
    "stateMachine": "$.detail.stateMachineArn",
    "status": "$.detail.status",
    "startDate": "$.detail.startDate",
    "stopDate": "$.detail.stopDate",
}
_NUMBERS = ("startDate", "stopDate")


SUCCEEDED = "SUCCEEDED"


def ended_early_pattern(state_machine_arn: str) -> dict[str, Any]:
    """Events of ``state_machine_arn``'s executions that ended ABORTED or TIMED_OUT."""
    return {
        "source": ["aws.states"],
        "detail-type": [STATUS_CHANGE],
        "detail": {"status": list(ENDED_EARLY_STATUSES), "stateMachineArn": [state_machine_arn]},
    }


def succeeded_pattern(state_machine_arn_prefix: str) -> dict[str, Any]:
    """Events of the executions that SUCCEEDED, of every state machine whose ARN starts with
    ``state_machine_arn_prefix`` (the stack's: ``...:stateMachine:<stack>-``)."""
    return {
        "source": ["aws.states"],
        "detail-type": [STATUS_CHANGE],
        "detail": {"status": [SUCCEEDED], "stateMachineArn": [{"prefix": state_machine_arn_prefix}]},
    }


def is_succeeded_pattern(pattern: dict[str, Any]) -> bool:
    """Whether an event pattern is one ``succeeded_pattern`` made (the review page asks)."""
    return pattern.get("detail-type") == [STATUS_CHANGE] and pattern.get("detail", {}).get("status") == [SUCCEEDED]


def alert_input_template(*, channel: str, job: AlertJob) -> str:
    """The alert payload (``lambda_src.contract.AlertPayload``) for ``channel``, as an input
    template: ``<name>`` placeholders are filled from ``INPUT_PATHS``; the dates are numbers."""
    payload = {
        **job.static_fields(channel),
        "error": ended_early_error("<status>"),
        "cause": "The execution ended <status> before the alert step",
        "execution": "<execution>",
        "stateMachine": "<stateMachine>",
        "startTime": "<startDate>",
        "gaveUpAt": "<stopDate>",
    }
    template = json.dumps(payload, sort_keys=True)
    for number in _NUMBERS:
        template = template.replace(f'"<{number}>"', f"<{number}>")
    return template
