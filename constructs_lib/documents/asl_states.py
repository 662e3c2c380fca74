"""Pieces every part of the state machine uses: the job's container and log names, a Retry entry
and a Catch-all entry (ASL)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from constructs_lib.model.retry_policy import RetryPolicy

__all__ = ["CONTAINER_NAME", "LOG_STREAM_PREFIX", "render_catch", "render_retry"]

CONTAINER_NAME = "app"

# The awslogs stream prefix of the job's container: streams are "<prefix>/<container>/<task id>".
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html
LOG_STREAM_PREFIX = "job"


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
