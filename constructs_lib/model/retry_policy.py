"""How a job's launch is retried: the policy, its worst-case timeline, and the default.

Pure Python. The state machine renders a policy into a Step Functions ``Retry`` entry; the
config layer uses the timeline to reject a policy that would run into the next scheduled run.
Step Functions waits ``IntervalSeconds * BackoffRate ** (n - 1)`` before retry ``n``, capped at
``MaxDelaySeconds``; with ``JitterStrategy: FULL`` it waits a random time up to that.
See https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html#error-handling-retrying-after-an-error
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from constructs_lib.model.durations import format_duration
from constructs_lib.model.value_object import ValueObject

__all__ = ["DEFAULT_RETRY", "RetryPolicy", "default_retry_policy"]

Jitter = Literal["FULL", "NONE"]


class RetryPolicy(ValueObject):
    """A retry policy for launching a job's task.

    ``max_attempts`` counts retries after the first launch (Step Functions' ``MaxAttempts``), so a
    job is launched at most ``1 + max_attempts`` times for placement failures and tasks that failed
    to start. ``rerun_attempts`` is a separate, opt-in budget for re-running a task whose container
    ran and failed: keep it 0 unless the job is idempotent.
    Ranges are Step Functions' own, from
    https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
    """

    max_attempts: int = Field(default=3, ge=0, le=99_999_999)
    interval_seconds: int = Field(default=1, ge=1, le=99_999_999)
    backoff_rate: float = Field(default=2.0, ge=1.0, le=99_999_999)
    #: No cap by default: the wait grows with ``backoff_rate`` after each retry.
    max_delay_seconds: int | None = Field(default=None, ge=1, le=31_622_400)
    #: ``FULL`` spreads retries of many jobs apart but shortens every wait at random.
    jitter: Jitter = "NONE"
    #: Re-runs of a task whose container ran and failed. Only for idempotent jobs.
    rerun_attempts: int = Field(default=0, ge=0, le=10)
    #: Exit codes that mean "nothing was done, try again" (75 is EX_TEMPFAIL): a container that
    #: exits with one is relaunched within the launch budget; any other non-zero code is final.
    retry_exit_codes: tuple[int, ...] = ()

    @field_validator("retry_exit_codes", mode="before")
    @classmethod
    def _codes_list(cls, codes: Any) -> Any:
        return tuple(codes) if isinstance(codes, list) else codes

    @field_validator("retry_exit_codes")
    @classmethod
    def _exit_codes(cls, codes: tuple[int, ...]) -> tuple[int, ...]:
        for code in codes:
            if not 1 <= code <= 255:
                raise ValueError(f"{code} is not a failing exit code (allowed: 1 to 255; 0 means success)")
        if len(set(codes)) != len(codes):
            raise ValueError(f"{list(codes)} lists a code twice (allowed: each code once)")
        return codes

    def waits(self, attempts: int | None = None) -> list[float]:
        """Seconds waited before each retry, at most (``FULL`` jitter waits less)."""
        count = self.max_attempts if attempts is None else attempts
        waits = [self.interval_seconds * self.backoff_rate**n for n in range(count)]
        if self.max_delay_seconds is not None:
            waits = [min(w, self.max_delay_seconds) for w in waits]
        return waits

    def describe(self) -> str:
        """The policy in a line, as the summary shows it: ``3 retries, waiting 1 s, 2 s, 4 s (7 s)``."""
        parts = [f"{self.max_attempts} retr{'y' if self.max_attempts == 1 else 'ies'}"]
        if self.max_attempts:
            parts[0] += f", waiting {_waits(self.waits())}"
        if self.jitter == "FULL":
            parts.append("each wait shortened at random (jitter)")
        if self.retry_exit_codes:
            parts.append(
                f"exit code{'s' if len(self.retry_exit_codes) > 1 else ''} "
                f"{', '.join(map(str, self.retry_exit_codes))} relaunched"
            )
        if self.rerun_attempts:
            parts.append(
                f"{self.rerun_attempts} re-run(s) of a failed container, waiting "
                f"{_waits(self.waits(self.rerun_attempts))}"
            )
        return "; ".join(parts)

    @property
    def window_seconds(self) -> float:
        """Worst-case time spent waiting between launches of one run (task run time not counted)."""
        return sum(self.waits()) + sum(self.waits(self.rerun_attempts))


def _waits(waits: list[float]) -> str:
    """``[10, 20, 120, 120, 120]`` -> ``10 s, 20 s, 2 min x3 (4 min 30 s)``: runs of one wait counted."""
    runs: list[list[int]] = []
    for wait in (int(w) for w in waits):
        if runs and runs[-1][0] == wait:
            runs[-1][1] += 1
        else:
            runs.append([wait, 1])
    shown = ", ".join(format_duration(w) + (f" x{n}" if n > 1 else "") for w, n in runs)
    return f"{shown} ({format_duration(int(sum(waits)))})"


# The default rides out a Fargate capacity shortage of 15 minutes and more: waits of
# 10, 20, 40, 80 s, then 120 s each, 12 retries over 1110 s (18.5 min) of waiting.
DEFAULT_RETRY = RetryPolicy(max_attempts=12, interval_seconds=10, backoff_rate=2.0, max_delay_seconds=120)


def default_retry_policy(period_seconds: int | None) -> RetryPolicy:
    """``DEFAULT_RETRY`` with as many retries as fit before the next scheduled run.

    The retry window must stay shorter than the schedule's period, so a job that runs every
    5 minutes keeps 5 retries (10 + 20 + 40 + 80 + 120 = 270 s of waiting) and gives up before
    the next run is due.
    """
    if period_seconds is None:
        return DEFAULT_RETRY
    attempts = 0
    waited = 0.0
    for wait in DEFAULT_RETRY.waits():
        if waited + wait >= period_seconds:
            break
        waited += wait
        attempts += 1
    return RetryPolicy(
        max_attempts=attempts,
        interval_seconds=DEFAULT_RETRY.interval_seconds,
        backoff_rate=DEFAULT_RETRY.backoff_rate,
        max_delay_seconds=DEFAULT_RETRY.max_delay_seconds,
    )
