"""EventBridge schedule expressions: what is accepted, and the period each one has."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from constructs_lib.model.schedule_expression import ScheduleError, format_duration, parse_schedule
from constructs_lib.model.time_zone import zone_info

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


# --- what EventBridge documents, decided where it is silent ------------------------------------------


@pytest.mark.parametrize(
    ("expression", "period"),
    [
        ("cron(0 0 ? 2 1#5 *)", 10227 * DAY),  # the fifth Sunday of February: 2032, then 2060
        ("cron(0 10 ? * L *)", 7 * DAY),  # L alone in day-of-week: the last day of the week, Saturday
        ("cron(0 8 ? * MON-SUN *)", DAY),  # a range may wrap around: MON-SUN is every day
        ("cron(0 8 ? * FRI-MON *)", DAY),  # Friday, Saturday, Sunday, Monday
        ("cron(0 8 1 NOV-FEB ? *)", 30 * DAY),  # November to February, across the new year
        ("cron(0 22-2 * * ? *)", HOUR),  # 22:00 to 02:00
        ("cron(05 8 * * ? *)", DAY),  # a leading zero within the field's width, as crontabs write it
    ],
)
def test_rare_and_wrapping_schedules(expression, period):
    assert parse_schedule(expression).period_seconds == period


def test_wrapped_ranges_list_the_values_across_the_end():
    runs = parse_schedule("cron(0 22-2/2 * * ? *)").next_runs(datetime(2026, 11, 28, 21, 0, tzinfo=UTC), count=3)
    assert [run.hour for run in runs] == [22, 0, 2]  # 22, 23, 0, 1, 2 with a step of 2


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        # str.isdigit() accepts any script's digits; EventBridge means 0-9.
        ("cron(0/٥ 10 * * ? *)", "'cron(0/٥ 10 * * ? *)': minutes '0/٥' is not valid"),
        # Wider than the field: both reference libraries reject it, and no documented form has it.
        ("cron(005 10 * * ? *)", "'cron(005 10 * * ? *)': minutes '005' is not valid"),
        ("cron(0 10 * * ? 02030)", "'cron(0 10 * * ? 02030)': year '02030' is not valid"),
        # Fields are separated by spaces; a tab or a non-breaking space is not documented as one.
        ("cron(0\t10 * * ? *)", r"'cron(0\t10 * * ? *)': fields must be separated by spaces"),
        ("cron(0\u00a010 * * ? *)", r"'cron(0\xa010 * * ? *)': fields must be separated by spaces"),
        # Dates that do not exist: EventBridge would accept them and never run the job.
        ("cron(0 0 30 2 ? *)", "'cron(0 0 30 2 ? *)' never runs: no date matches its day, month and year fields"),
        ("cron(0 0 31W 2 ? *)", "'cron(0 0 31W 2 ? *)' never runs"),  # nW past the month's end
        ("cron(0 0 29 2 ? 2027)", "'cron(0 0 29 2 ? 2027)' never runs"),  # not a leap year
    ],
)
def test_rejected_with_the_reason(expression, message):
    with pytest.raises(ScheduleError) as raised:
        parse_schedule(expression)
    assert str(raised.value).startswith(message)


def test_each_expression_is_parsed_once():
    parse_schedule.cache_clear()
    for _ in range(3):
        parse_schedule("cron(0 8 ? * MON-FRI *)")
    assert (parse_schedule.cache_info().hits, parse_schedule.cache_info().misses) == (2, 1)


# --- next runs, in the job's time zone ------------------------------------------------------------


def at(text: str, zone: str = "UTC") -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone_info(zone))


def test_next_runs_in_utc():
    runs = parse_schedule("cron(0 8 ? * MON-FRI *)").next_runs(at("2026-11-27T09:00"), count=3)
    assert runs == [at("2026-11-30T08:00"), at("2026-12-01T08:00"), at("2026-12-02T08:00")]


def test_next_runs_in_tokyo_are_the_previous_evening_in_utc():
    runs = parse_schedule("cron(0 8 * * ? *)").next_runs(at("2026-11-27T12:00"), count=2, zone="Asia/Tokyo")
    assert runs == [at("2026-11-28T08:00", "Asia/Tokyo"), at("2026-11-29T08:00", "Asia/Tokyo")]
    assert [run.astimezone(UTC).isoformat() for run in runs] == [
        "2026-11-27T23:00:00+00:00",
        "2026-11-28T23:00:00+00:00",
    ]


def test_a_local_time_that_does_not_exist_is_skipped():
    # Europe/Berlin springs forward at 02:00 on 2027-03-28: there is no 02:30 that day.
    runs = parse_schedule("cron(30 2 * * ? *)").next_runs(at("2027-03-26T12:00"), count=3, zone="Europe/Berlin")
    assert [run.astimezone(UTC).isoformat() for run in runs] == [
        "2027-03-27T01:30:00+00:00",  # 02:30 CET
        "2027-03-29T00:30:00+00:00",  # 02:30 CEST: the 28th had no 02:30
        "2027-03-30T00:30:00+00:00",
    ]


def test_a_local_time_that_happens_twice_runs_once():
    # Europe/Berlin falls back at 03:00 on 2026-10-25: 02:30 happens at 00:30 and 01:30 UTC.
    runs = parse_schedule("cron(30 2 * * ? *)").next_runs(at("2026-10-24T12:00"), count=3, zone="Europe/Berlin")
    assert [run.astimezone(UTC).isoformat() for run in runs] == [
        "2026-10-25T00:30:00+00:00",  # the first 02:30 only
        "2026-10-26T01:30:00+00:00",
        "2026-10-27T01:30:00+00:00",
    ]
    # The gap across the change is 25 h in UTC; across spring forward it is 23 h.


def test_rate_schedules_have_no_calendar():
    assert parse_schedule("rate(5 minutes)").next_runs(at("2026-11-28T00:00")) == []


def runs(expression: str, after: datetime, count: int = 3, zone: str = "UTC") -> list[str]:
    return [
        run.strftime("%Y-%m-%d %H:%M") for run in parse_schedule(expression).next_runs(after, count=count, zone=zone)
    ]


def test_day_rules_at_the_edges_of_a_month():
    june_2025 = datetime(2025, 5, 31, tzinfo=UTC)  # June 2025 starts on a Sunday
    assert runs("cron(0 0 ? 6 MON 2025)", june_2025) == ["2025-06-02 00:00", "2025-06-09 00:00", "2025-06-16 00:00"]
    # 31W in a 31-day month whose 31st is a Friday; LW; 2W when the 2nd is a Saturday (the 1st, a Friday)
    assert runs("cron(0 0 31W 1 ? 2025)", datetime(2025, 1, 1, tzinfo=UTC), count=1) == ["2025-01-31 00:00"]
    assert runs("cron(0 0 LW * ? *)", datetime(2025, 5, 1, tzinfo=UTC), count=2) == [
        "2025-05-30 00:00",
        "2025-06-30 00:00",
    ]
    assert runs("cron(0 0 2W 8 ? 2025)", datetime(2025, 7, 1, tzinfo=UTC), count=1) == ["2025-08-01 00:00"]
    # Day-of-week names in any case, with L and #
    assert runs("cron(0 0 ? * friL *)", datetime(2025, 5, 1, tzinfo=UTC), count=1) == ["2025-05-30 00:00"]
    assert runs("cron(0 0 ? * MON#2 *)", datetime(2025, 5, 1, tzinfo=UTC), count=1) == ["2025-05-12 00:00"]


def test_listed_years_before_now_are_skipped():
    assert runs("cron(0 12 1 1 ? 2020,2030)", datetime(2025, 6, 1, tzinfo=UTC)) == ["2030-01-01 12:00"]


def test_periods_that_wrap_midnight_or_run_on_one_day():
    assert parse_schedule("cron(0 1,22 * * ? *)").period_seconds == 3 * 3600  # 22:00 to 01:00
    assert parse_schedule("cron(0 8,20 1 1 ? 2030)").period_seconds == 12 * 3600


def test_shortest_gap_at_the_edges():
    # Rates are real time: daylight saving does not shorten them.
    assert parse_schedule("rate(2 hours)").shortest_gap_seconds(zone="Europe/Berlin") == 7200
    # An hourly cron in a zone that shifts by an hour: no shorter than an hour.
    assert parse_schedule("cron(0 * * * ? *)").shortest_gap_seconds(zone="Europe/Berlin") == 3600
    assert parse_schedule("rate(1 hour)").shortest_gap_seconds(flexible_window_minutes=60) == 0


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("rate(2 minute)", "'rate(2 minute)': a rate above 1 takes the plural unit 'minutes'"),
        (
            "cron(0 0 32W * ? *)",
            "'cron(0 0 32W * ? *)': day-of-month '32W' is not valid (allowed: 1-31 with , - * /, ?, L, LW, nW)",
        ),
        ("cron(0 0 ? * 8L *)", "'cron(0 0 ? * 8L *)': day-of-week '8L' is not valid"),
        ("cron(0 0 ? * 8#2 *)", "'cron(0 0 ? * 8#2 *)': day-of-week '8#2' is not valid"),
        ("cron(*-5 0 * * ? *)", "'cron(*-5 0 * * ? *)': minutes '*-5' is not valid (allowed: 0-59 with , - * /)"),
        ("cron(0/0 0 * * ? *)", "'cron(0/0 0 * * ? *)': minutes '0/0' is not valid (allowed: 0-59 with , - * /)"),
        ("cron(0 0 * * ? 2030-2029)", "'cron(0 0 * * ? 2030-2029)': year '2030-2029' is not valid"),
        # AWS's day-of-week wildcards are , - * ? L #: no step, and the message lists no "/".
        (
            "cron(0 9 ? * MON/2 *)",
            "'cron(0 9 ? * MON/2 *)': day-of-week 'MON/2' is not valid (allowed: 1-7 or SUN-SAT with , - *, ?, L, "
            "nL, n#k)",
        ),
        ("cron(0 9 ? * */2 *)", "'cron(0 9 ? * */2 *)': day-of-week '*/2' is not valid"),
        ("cron(0 9 ? * 2-6/2 *)", "'cron(0 9 ? * 2-6/2 *)': day-of-week '2-6/2' is not valid"),
    ],
)
def test_each_field_error_names_the_field_and_the_text(expression, message):
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(expression)
    assert str(caught.value).startswith(message)


def test_next_runs_in_words():
    after = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # a Saturday
    assert parse_schedule("cron(0 8 ? * MON-FRI *)").describe_next_runs(after, count=2) == (
        "Mon 2026-11-30 08:00 UTC; Tue 2026-12-01 08:00 UTC"
    )
    assert parse_schedule("cron(0 8 ? * MON-FRI *)").describe_next_runs(after, zone="Asia/Tokyo", count=2) == (
        "Mon 2026-11-30 08:00 JST = Sun 2026-11-29 23:00 UTC; Tue 2026-12-01 08:00 JST = Mon 2026-11-30 23:00 UTC"
    )
    assert parse_schedule("cron(0 8 ? * MON-FRI *)").describe_next_runs(after) == (
        "Mon 2026-11-30 08:00 UTC; Tue 2026-12-01 08:00 UTC; Wed 2026-12-02 08:00 UTC"
    )
    assert parse_schedule("rate(90 minutes)").describe_next_runs(after) == (
        "every 1 h 30 min, counted from when the schedule is created"
    )
    assert parse_schedule("cron(0 8 1 1 ? 2020)").describe_next_runs(after) == "no more runs"


def test_the_preview_uses_the_pinned_tz_database_not_the_machines():
    """tzdata 2026f moves British Columbia to year-round UTC-7 from November 2026; a machine with
    older zone files (Debian's 2025b here) still says UTC-8. The preview follows the pinned data."""
    from constructs_lib.model.time_zone import TZDATA_VERSION, zone_info

    assert TZDATA_VERSION == "2026f"  # the Pipfile pin; a new release may change the figures below
    after = datetime(2026, 11, 30, tzinfo=UTC)
    assert parse_schedule("cron(0 8 * * ? *)").describe_next_runs(after, zone="America/Vancouver", count=1) == (
        "Mon 2026-11-30 08:00 MST = Mon 2026-11-30 15:00 UTC"
    )
    assert zone_info("America/Vancouver").utcoffset(datetime(2027, 1, 1)) == timedelta(hours=-7)
