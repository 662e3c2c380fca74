"""Retry timelines: the waits Step Functions makes, and the default policy scaled to the schedule."""

from __future__ import annotations

from constructs_lib.model.retry_policy import DEFAULT_RETRY, RetryPolicy, default_retry_policy


def test_waits_grow_by_the_backoff_rate():
    assert RetryPolicy(max_attempts=3, interval_seconds=1, backoff_rate=2.0).waits() == [1, 2, 4]
    assert RetryPolicy(max_attempts=4, interval_seconds=30, backoff_rate=1.5).waits() == [30, 45, 67.5, 101.25]


def test_waits_are_capped_by_max_delay():
    policy = RetryPolicy(max_attempts=5, interval_seconds=10, backoff_rate=3.0, max_delay_seconds=60)
    assert policy.waits() == [10, 30, 60, 60, 60]
    assert policy.window_seconds == 220


def test_window_adds_the_rerun_budget():
    policy = RetryPolicy(max_attempts=2, interval_seconds=5, backoff_rate=2.0, rerun_attempts=1)
    assert policy.window_seconds == 5 + 10 + 5


def test_default_rides_out_a_15_minute_capacity_outage():
    assert DEFAULT_RETRY.waits() == [10, 20, 40, 80] + [120] * 8
    assert DEFAULT_RETRY.window_seconds == 1110
    assert DEFAULT_RETRY.window_seconds >= 15 * 60
    assert DEFAULT_RETRY.jitter == "NONE"  # FULL jitter would shorten the guaranteed window


def test_default_without_a_period_is_the_full_policy():
    assert default_retry_policy(None) == DEFAULT_RETRY
    assert default_retry_policy(86400) == DEFAULT_RETRY
    assert default_retry_policy(3600) == DEFAULT_RETRY


def test_default_scales_down_to_finish_before_the_next_run():
    every_5_minutes = default_retry_policy(300)
    assert every_5_minutes.waits() == [10, 20, 40, 80, 120]
    assert every_5_minutes.window_seconds == 270
    every_minute = default_retry_policy(60)
    assert every_minute.waits() == [10, 20]
    assert default_retry_policy(10).max_attempts == 0
    every_15_minutes = default_retry_policy(900)
    assert every_15_minutes.max_attempts == 10
    assert every_15_minutes.window_seconds == 870


def test_default_counts_the_waits_from_zero():
    # Waits of 10 and 20 s: both fit before a run 31 s later; only the first before one 30 s later.
    assert default_retry_policy(31).max_attempts == 2
    assert default_retry_policy(30).max_attempts == 1


def test_describe_says_the_policy_in_a_line():
    assert RetryPolicy(max_attempts=0).describe() == "0 retries"
    assert RetryPolicy(max_attempts=1, interval_seconds=5).describe() == "1 retry, waiting 5 s (5 s)"
    assert RetryPolicy(max_attempts=3, interval_seconds=1).describe() == "3 retries, waiting 1 s, 2 s, 4 s (7 s)"
    assert DEFAULT_RETRY.describe() == "12 retries, waiting 10 s, 20 s, 40 s, 1 min 20 s, 2 min x8 (18 min 30 s)"
    everything = RetryPolicy(
        max_attempts=2,
        interval_seconds=30,
        backoff_rate=1.0,
        jitter="FULL",
        retry_exit_codes=[75, 69],
        rerun_attempts=1,
    )
    assert everything.describe() == (
        "2 retries, waiting 30 s x2 (1 min); each wait shortened at random (jitter); exit codes 75, 69 relaunched; "
        "1 re-run(s) of a failed container, waiting 30 s (30 s)"
    )
    assert (
        RetryPolicy(max_attempts=1, retry_exit_codes=[75]).describe()
        == "1 retry, waiting 1 s (1 s); exit code 75 relaunched"
    )
