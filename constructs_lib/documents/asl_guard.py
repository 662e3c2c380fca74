"""The overlap guard (``concurrency = "forbid"``): states that let a run start only when it is the
oldest RUNNING execution of its state machine."""

from __future__ import annotations

from typing import Any

from constructs_lib.documents.asl_states import render_catch, render_retry
from constructs_lib.model.retry_policy import RetryPolicy
from lambda_src.contract import ERROR_PREVIOUS_RUN

__all__ = ["GUARD_PAGE", "GUARD_RETRY", "render_concurrency_guard"]

# The concurrency guard's ListExecutions call reads and changes nothing, so any error is retried.
GUARD_RETRY = RetryPolicy(max_attempts=3, interval_seconds=1, backoff_rate=2.0)

# RUNNING executions read at once: far more than one job ever has (runs that overlap are refused).
GUARD_PAGE = 100


def render_concurrency_guard(*, partition: str, next_state: str) -> dict[str, dict[str, Any]]:
    """States that let a run start only when it is the oldest RUNNING execution of its state machine.

    The decision rests on the other executions, not on a count, because ``ListExecutions`` "may
    not reflect very recent updates": this execution may not be listed yet. The list is newest
    first, so:

    - nothing listed: nothing else runs; go ahead;
    - this execution not listed, others are: they started before it (a predecessor still running):
      launch nothing, alert, fail;
    - this execution listed: go ahead only if it is the last, the oldest. Of two executions started
      for one scheduled event (EventBridge delivers at least once), exactly one is the oldest, so
      exactly one runs the job, and the other ends like any overlapping run.

    If the call keeps failing, the run goes ahead (fail open): a skipped run is worse than a rare
    overlap. https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html
    """
    refuse = "PreviousRunStillRunning"
    return {
        "CheckPreviousRun": {
            "Type": "Task",
            "Resource": f"arn:{partition}:states:::aws-sdk:sfn:listExecutions",
            "Parameters": {
                "StateMachineArn.$": "$$.StateMachine.Id",
                "StatusFilter": "RUNNING",
                "MaxResults": GUARD_PAGE,
            },
            "ResultSelector": {"Running.$": "$.Executions[*].ExecutionArn", "Self.$": "$$.Execution.Id"},
            "ResultPath": "$.Guard",
            "Retry": [render_retry(["States.ALL"], GUARD_RETRY)],
            "Catch": [render_catch(next_state, result_path="$.GuardFailure")],
            "Next": "WhoIsRunning",
        },
        "WhoIsRunning": {
            "Type": "Pass",
            "Parameters": {
                "Count.$": "States.ArrayLength($.Guard.Running)",
                "Listed.$": "States.ArrayContains($.Guard.Running, $.Guard.Self)",
            },
            "ResultPath": "$.Guard.Order",
            "Next": "IsPreviousRunRunning",
        },
        "IsPreviousRunRunning": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.Guard.Order.Count", "NumericEquals": 0, "Next": next_state},
                {"Variable": "$.Guard.Order.Listed", "BooleanEquals": False, "Next": refuse},
            ],
            "Default": "FindOldestRun",
        },
        "FindOldestRun": {
            "Type": "Pass",
            "Parameters": {"Oldest.$": "States.ArrayGetItem($.Guard.Running, States.MathAdd($.Guard.Order.Count, -1))"},
            "ResultPath": "$.Guard.Order",
            "Next": "IsThisTheOldestRun",
        },
        "IsThisTheOldestRun": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.Guard.Order.Oldest", "StringEqualsPath": "$.Guard.Self", "Next": next_state}],
            "Default": refuse,
        },
        refuse: {
            "Type": "Pass",
            "Result": {
                "Error": ERROR_PREVIOUS_RUN,
                "Cause": 'Another execution of this job was still running (concurrency = "forbid"), '
                "so this run launched no task.",
            },
            "ResultPath": "$.Failure",
            "Next": "NotifyFailure",
        },
    }
