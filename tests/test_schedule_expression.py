"""EventBridge schedule expressions: what is accepted, and the period each one has."""

from __future__ import annotations

import pytest

from constructs_lib.schedule_expression import ScheduleError, format_duration, parse_schedule

HOUR, DAY = 3600, 86400


@pytest.mark.parametrize(
    ("expression", "period"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(1 hour)", HOUR),
        ("rate(2 days)", 2 * DAY),
        ("cron(0 * * * ? *)", HOUR),
        ("cron(0/15 9-17 ? * MON-FRI *)", 900),
        ("cron(0 8 ? * MON-FRI *)", DAY),  # Friday to Monday is longer; the shortest gap counts
        ("cron(0 8,20 * * ? *)", 12 * HOUR),
        ("cron(0 23,1 ? * MON *)", 22 * HOUR),  # 01:00 and 23:00 on Mondays
        ("cron(30 2 1 * ? *)", 28 * DAY),  # the 1st of February to the 1st of March
        ("cron(0 8 L * ? *)", 28 * DAY),
        ("cron(0 8 ? * 6#3 *)", 28 * DAY),  # third Friday
        ("cron(0 8 ? * 6L *)", 28 * DAY),  # last Friday
        ("cron(0 12 * JAN-FEB ? *)", DAY),
        ("cron(0 0 29 2 ? *)", 4 * 365 * DAY + DAY),  # leap days
        ("cron(0 8 1 1 ? 2030)", None),  # runs once
    ],
)
def test_period_is_the_shortest_gap_between_runs(expression, period):
    assert parse_schedule(expression).period_seconds == period


def test_nearest_weekday():
    # 15W: the 15th, or the Friday before / Monday after when it falls on a weekend.
    assert parse_schedule("cron(0 8 15W * ? *)").period_seconds == 28 * DAY


def test_errors_are_schedule_errors():
    with pytest.raises(ScheduleError, match=r"'cron\(\)' has 0 fields"):
        parse_schedule("cron()")
    with pytest.raises(ScheduleError, match="leading or trailing spaces"):
        parse_schedule(" rate(1 hour)")
    with pytest.raises(ScheduleError, match=r"day-of-week '2#6' is not valid"):
        parse_schedule("cron(0 8 ? * 2#6 *)")
    with pytest.raises(ScheduleError, match=r"minutes '\*/0' is not valid"):
        parse_schedule("cron(*/0 8 * * ? *)")


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0 s"), (59, "59 s"), (90, "1 min 30 s"), (3600, "1 h"), (90061, "1 d 1 h 1 min 1 s")]
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text
