"""Derived names fit their AWS limits and stay distinct."""

from __future__ import annotations

import pytest

from constructs_lib.model.naming import aws_name, check_job_name

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
