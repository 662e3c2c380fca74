"""EventBridge schedule expressions: parse, validate, and measure the period.

Pure Python (no cdktf import), so config errors are reported before the AWS provider loads.

EventBridge rules take ``cron(minutes hours day-of-month month day-of-week year)`` in UTC, with
exactly one of day-of-month / day-of-week set to ``?``, or ``rate(N unit)``.
See https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html

No library on PyPI parses this dialect (six fields, a year field, ``?``, ``L``, ``W``, ``#``);
croniter and friends implement Vixie/Quartz cron, which differ in exactly those places.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Schedule", "ScheduleError", "parse_schedule"]

_MONTHS = {m: i for i, m in enumerate(calendar.month_abbr) if m}
_MONTHS = {k.upper(): v for k, v in _MONTHS.items()}
# EventBridge numbers days of the week 1-7 starting on Sunday.
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_FIELD_NAMES = ("minutes", "hours", "day-of-month", "month", "day-of-week", "year")
_RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
# Calendars repeat every 28 years between 1901 and 2099, so this window sees every
# combination of weekday, month length and leap year.
_HORIZON_YEARS = range(2024, 2024 + 28)


class ScheduleError(ValueError):
    """A schedule expression that EventBridge would reject."""


@dataclass(frozen=True)
class Schedule:
    """A validated schedule expression.

    ``period_seconds`` is the shortest gap between two consecutive runs, or ``None`` when the
    expression fires at most once.
    """

    expression: str
    period_seconds: int | None


def format_duration(seconds: int) -> str:
    """``90`` -> ``1 min 30 s``; used in messages and summaries."""
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if seconds >= size:
            count, seconds = divmod(seconds, size)
            parts.append(f"{count} {unit}")
    return " ".join(parts) or "0 s"


def parse_schedule(expression: str) -> Schedule:
    """Validate ``expression`` and measure its period; raise ``ScheduleError`` with the reason."""
    if not isinstance(expression, str):
        raise ScheduleError(f"{expression!r} is not a string")
    text = expression.strip()
    if text != expression:
        raise ScheduleError(f"{expression!r} has leading or trailing spaces")
    if m := re.fullmatch(r"rate\((.*)\)", text):
        return Schedule(text, _parse_rate(m.group(1), expression))
    if m := re.fullmatch(r"cron\((.*)\)", text):
        return Schedule(text, _parse_cron(m.group(1), expression))
    raise ScheduleError(
        f"{expression!r} is not a schedule expression "
        "(allowed: 'cron(minutes hours day-of-month month day-of-week year)' or 'rate(N unit)')"
    )


def _parse_rate(body: str, expression: str) -> int:
    m = re.fullmatch(r"(\d+) (minutes?|hours?|days?)", body)
    if not m:
        raise ScheduleError(
            f"{expression!r} is not a rate expression (allowed: 'rate(N minutes|hours|days)', "
            "for example 'rate(5 minutes)' or 'rate(1 hour)')"
        )
    value, unit = int(m.group(1)), m.group(2)
    if value < 1:
        raise ScheduleError(f"{expression!r}: the rate must be at least 1")
    singular = unit.rstrip("s")
    if value == 1 and unit != singular:
        raise ScheduleError(f"{expression!r}: a rate of 1 takes the singular unit '{singular}'")
    if value > 1 and unit == singular:
        raise ScheduleError(f"{expression!r}: a rate above 1 takes the plural unit '{singular}s'")
    return value * _RATE_UNITS[singular]


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int]
    hint: str = ""


_MINUTES = _Field("minutes", 0, 59, {})
_HOURS = _Field("hours", 0, 23, {})
_DOM = _Field("day-of-month", 1, 31, {})
_MONTH = _Field("month", 1, 12, _MONTHS, " or JAN-DEC")
_DOW = _Field("day-of-week", 1, 7, _DAYS, " or SUN-SAT")
_YEAR = _Field("year", 1970, 2199, {})
_YEAR_RANGE = range(_YEAR.low, _YEAR.high + 1)


def _parse_cron(body: str, expression: str) -> int | None:
    fields = body.split()
    if len(fields) != 6:
        raise ScheduleError(
            f"{expression!r} has {len(fields)} fields; EventBridge cron needs 6: " + " ".join(_FIELD_NAMES)
        )
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ScheduleError(
            f"{expression!r}: exactly one of day-of-month ({dom!r}) and day-of-week ({dow!r}) must be '?'"
        )
    minutes = _values(minute, _MINUTES, expression)
    hours = _values(hour, _HOURS, expression)
    months = _values(month, _MONTH, expression)
    years = _values(year, _YEAR, expression)
    day_matches = _dom_matcher(dom, expression) if dow == "?" else _dow_matcher(dow, expression)
    times = sorted(h * 60 + m for h in hours for m in minutes)
    days = _matching_days(day_matches, months, years)
    return _period_minutes(times, days) * 60 if len(times) * len(days) > 1 else None


def _values(text: str, field: _Field, expression: str) -> set[int]:
    """Values of a list/range/step field (``*``, ``a``, ``a-b``, ``*/n``, ``a/n``, ``a,b``)."""
    result: set[int] = set()
    for part in text.split(","):
        m = re.fullmatch(r"(\*|[A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?(?:/(\d+))?", part)
        if not m:
            raise _field_error(field, text, expression)
        start_text, end_text, step_text = m.groups()
        if start_text == "*":
            if end_text:
                raise _field_error(field, text, expression)
            start, end = field.low, field.high
        else:
            start = _value(start_text, field, text, expression)
            end = _value(end_text, field, text, expression) if end_text else start
            if step_text and not end_text:
                end = field.high
        step = int(step_text) if step_text else 1
        if step < 1 or end < start:
            raise _field_error(field, text, expression)
        result.update(range(start, end + 1, step))
    return result


def _value(text: str, field: _Field, whole: str, expression: str) -> int:
    if text.upper() in field.names:
        return field.names[text.upper()]
    if text.isdigit() and field.low <= int(text) <= field.high:
        return int(text)
    raise _field_error(field, whole, expression)


def _field_error(field: _Field, text: str, expression: str) -> ScheduleError:
    allowed = f"{field.low}-{field.high}{field.hint}"
    extras = {"day-of-month": ", ?, L, LW, nW", "day-of-week": ", ?, nL, n#k"}.get(field.name, "")
    return ScheduleError(
        f"{expression!r}: {field.name} {text!r} is not valid (allowed: {allowed} with , - * /{extras})"
    )


_DayMatcher = Callable[[dt.date], bool]


def _dom_matcher(text: str, expression: str) -> _DayMatcher:
    def last_day(d: dt.date) -> int:
        return calendar.monthrange(d.year, d.month)[1]

    def nearest_weekday(d: dt.date, day: int) -> int:
        day = min(day, last_day(d))
        target = d.replace(day=day)
        if target.weekday() == 5:  # Saturday: Friday before, or Monday after the 1st
            return day - 1 if day > 1 else day + 2
        if target.weekday() == 6:  # Sunday: Monday after, or Friday before the month's end
            return day + 1 if day < last_day(d) else day - 2
        return day

    if text == "L":
        return lambda d: d.day == last_day(d)
    if text == "LW":
        return lambda d: d.day == nearest_weekday(d, last_day(d))
    if m := re.fullmatch(r"(\d+)W", text):
        day = _value(m.group(1), _DOM, text, expression)
        return lambda d: d.day == nearest_weekday(d, day)
    days = _values(text, _DOM, expression)
    return lambda d: d.day in days


def _dow_matcher(text: str, expression: str) -> _DayMatcher:
    def eventbridge_weekday(d: dt.date) -> int:
        return (d.weekday() + 1) % 7 + 1  # Monday=0 in Python; Sunday=1 in EventBridge

    if m := re.fullmatch(r"([A-Za-z0-9]+)L", text):
        day = _value(m.group(1), _DOW, text, expression)
        return lambda d: eventbridge_weekday(d) == day and d.day + 7 > calendar.monthrange(d.year, d.month)[1]
    if m := re.fullmatch(r"([A-Za-z0-9]+)#([1-5])", text):
        day = _value(m.group(1), _DOW, text, expression)
        nth = int(m.group(2))
        return lambda d: eventbridge_weekday(d) == day and (d.day - 1) // 7 + 1 == nth
    days = _values(text, _DOW, expression)
    return lambda d: eventbridge_weekday(d) in days


def _matching_days(matches: _DayMatcher, months: set[int], years: set[int]) -> list[dt.date]:
    horizon = sorted(years) if len(years) < len(_YEAR_RANGE) else list(_HORIZON_YEARS)
    days = []
    for year in horizon:
        for month in sorted(months):
            for day in range(1, calendar.monthrange(year, month)[1] + 1):
                date = dt.date(year, month, day)
                if matches(date):
                    days.append(date)
    return days


def _period_minutes(times: list[int], days: list[dt.date]) -> int:
    """Shortest gap, in minutes, between consecutive runs at ``times`` on each of ``days``."""
    within_day = min((b - a for a, b in itertools.pairwise(times)), default=None)
    day_gap = min(((b - a).days for a, b in itertools.pairwise(days)), default=None)
    gaps = [g for g in (within_day,) if g is not None]
    if day_gap is not None:
        gaps.append(day_gap * 1440 - (times[-1] - times[0]))
    return min(gaps)
