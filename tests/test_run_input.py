"""What a run is started with, by each kind of start, and how long a start is retried."""

from __future__ import annotations

from constructs_lib.documents.run_input import (
    StartRetry,
    manual_input,
    rule_input_transformer,
    scheduler_input,
    start_retry,
)


def test_a_rule_passes_the_job_and_the_event_s_time():
    assert rule_input_transformer("report") == {
        "input_paths": {"time": "$.time"},
        "input_template": '{"job": "report", "scheduledTime": "<time>"}',
    }


def test_a_scheduler_schedule_passes_its_context_attributes():
    assert scheduler_input("report") == (
        '{"job": "report", "scheduleExecutionId": "<aws.scheduler.execution-id>", '
        '"scheduledTime": "<aws.scheduler.scheduled-time>"}'
    )


def test_a_manual_run_says_it_was_started_by_hand():
    assert manual_input("report") == '{"job": "report", "startedBy": "hand"}'


def test_a_start_is_retried_for_one_period_between_a_minute_and_an_hour():
    assert start_retry(None) == StartRetry(3600, 20)
    assert start_retry(86400) == StartRetry(3600, 20)
    assert start_retry(3600) == StartRetry(3600, 20)
    assert start_retry(300) == StartRetry(300, 20)
    assert start_retry(60) == StartRetry(60, 20)
    assert start_retry(30) == StartRetry(60, 20)
    assert start_retry(300).as_terraform() == {"maximum_event_age_in_seconds": 300, "maximum_retry_attempts": 20}
