"""Derived names fit their AWS limits and stay distinct."""

from __future__ import annotations

import hashlib

import pytest

from constructs_lib.model.naming import alert_queue_name, alert_topic_name, aws_name, check_job_name, check_stack_name

LONG_JOB = "j" * 64


def test_short_names_are_kept():
    assert aws_name("scheduled-jobs", "run-once-a-hour", "sfn", kind="iam_role") == "scheduled-jobs-run-once-a-hour-sfn"


@pytest.mark.parametrize(
    ("kind", "limit"), [("iam_role", 64), ("state_machine", 80), ("event_rule", 64), ("lambda_function", 64)]
)
def test_long_names_fit_and_keep_their_start(kind, limit):
    name = aws_name("scheduled-jobs", LONG_JOB, "events", kind=kind)
    assert len(name) == limit
    assert name.startswith("scheduled-jobs-jjjj")
    assert name[-9] == "-"


def test_long_names_that_share_a_prefix_stay_distinct():
    first = aws_name("stack", LONG_JOB[:-1] + "a", kind="iam_role")
    second = aws_name("stack", LONG_JOB[:-1] + "b", kind="iam_role")
    assert first != second
    assert first[:55] == second[:55]


def test_job_name_check():
    assert check_job_name("a_b-9") == "a_b-9"
    with pytest.raises(ValueError, match="is not a valid job name"):
        check_job_name("a.b")


def test_a_name_exactly_at_the_limit_is_kept():
    name = "s-" + "j" * 62
    assert aws_name(name, kind="iam_role") == name


@pytest.mark.parametrize("end", ["a", "X"])
def test_a_cut_that_ends_in_a_separator_drops_it_before_the_hash(end):
    first = "A" * 53 + end  # the cut at 55 characters ends with the '-' that joins the parts
    full = f"{first}-{'b' * 20}"
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    assert aws_name(first, "b" * 20, kind="iam_role") == f"{first}-{digest}"


def test_stack_name_check():
    assert check_stack_name("jobs-1") == "jobs-1"
    with pytest.raises(ValueError) as caught:
        check_stack_name("1jobs")
    assert str(caught.value) == (
        "'1jobs' is not a valid stack name (allowed: 1-32 characters, letters, digits and '-', starting with a letter)"
    )
    with pytest.raises(ValueError, match="is not a valid stack name"):
        check_stack_name(7)  # type: ignore[arg-type]


def test_job_name_message_and_type():
    with pytest.raises(ValueError) as caught:
        check_job_name("-x")
    assert str(caught.value) == (
        "'-x' is not a valid job name (allowed: 1-64 characters, letters, digits, '-' and '_', "
        "starting with a letter or digit)"
    )
    with pytest.raises(ValueError, match="is not a valid job name"):
        check_job_name(None)  # type: ignore[arg-type]


def test_alert_topic_name():
    assert alert_topic_name("batch") == "batch-alerts"
    assert alert_queue_name("batch") == "batch-alert-queue"
    assert len(alert_queue_name("s" * 32) + "-undeliverable") <= 80  # SQS's limit
    assert alert_topic_name("s" * 32) == "s" * 32 + "-alerts"  # within SNS's 256: kept whole


def test_the_names_of_a_job_s_pieces():
    from constructs_lib.model.naming import (
        ended_early_rule_name,
        job_name_prefix,
        schedule_rule_name,
        task_log_group,
        task_log_group_name,
    )

    assert job_name_prefix("batch", "nightly") == "batch-nightly"
    assert schedule_rule_name("batch-nightly") == "batch-nightly"
    assert ended_early_rule_name("batch-nightly") == "batch-nightly-ended-early"
    assert task_log_group("batch-nightly") == "/ecs/batch-nightly"
    assert task_log_group_name("batch", "nightly") == "/ecs/batch-nightly"
    long = "j" * 64
    assert schedule_rule_name(job_name_prefix("batch", long)) == aws_name(f"batch-{long}", kind="event_rule")
    assert len(ended_early_rule_name(job_name_prefix("batch", long))) == 64
