"""EventBridge schedule expressions: parse, validate, measure the period, list the next runs.

Pure Python (no cdktf import), so config errors are reported before the AWS provider loads.

EventBridge rules and EventBridge Scheduler take ``cron(minutes hours day-of-month month
day-of-week year)``, with exactly one of day-of-month / day-of-week set to ``?``, or
``rate(N unit)``. Rules run in UTC; Scheduler in the schedule's time zone.
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html

The days a cron expression matches are computed month by month from the calendar (not by testing
every day), and each expression is parsed once per process (``parse_schedule`` is cached).
``aws-croniter`` (PyPI) implements the same dialect; the tests use it as an oracle for the next
run times.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from constructs_lib.model.durations import format_duration
from constructs_lib.model.time_zone import zone_info

__all__ = ["Schedule", "ScheduleError", "format_duration", "parse_schedule"]

_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
# EventBridge numbers days of the week 1-7 starting on Sunday.
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_DAY_NAMES = tuple(_DAYS)  # SUN first: EventBridge's 1, Unix cron's 0
# A weekday written as a number in day-of-week: not the count after "#" (MON#2, 6#2's 2).
_WEEKDAY_NUMBER = re.compile(r"(?<![#\d])[0-7](?!\d)")
_FIELD_NAMES = ("minutes", "hours", "day-of-month", "month", "day-of-week", "year")
_RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
# Between 1901 and 2099 the calendar repeats every 28 years; two cycles see every combination of
# weekday, month length and leap year at least twice, so a schedule that runs once per cycle
# (the fifth Sunday of February) still shows its period.
_HORIZON_START = 2024
_HORIZON_YEARS = range(_HORIZON_START, _HORIZON_START + 56)


class ScheduleError(ValueError):
    """A schedule expression that EventBridge would reject, or that would never run."""


@dataclass(frozen=True)
class _Cron:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    day_rule: tuple  # ("dom", days) | ("L",) | ("LW",) | ("W", n) | ("dow", weekdays) | ("nL", w) | ("#", w, k)
    months: tuple[int, ...]
    years: tuple[int, ...] | None  # None: every year

    def days(self, year: int, month: int) -> list[int]:
        """The days of ``month`` that match, in order."""
        first_weekday, last = calendar.monthrange(year, month)
        # EventBridge weekday (1 = Sunday) of the 1st of the month; Python's Monday is 0.
        first = (first_weekday + 1) % 7 + 1
        kind, *args = self.day_rule
        if kind == "dom":
            return [day for day in args[0] if day <= last]
        if kind == "L":
            return [last]
        if kind == "LW":
            return [_nearest_weekday(year, month, last, last)]
        if kind == "W":
            return [_nearest_weekday(year, month, args[0], last)] if args[0] <= last else []
        if kind == "dow":
            return sorted(d for w in args[0] for d in range(1 + (w - first) % 7, last + 1, 7))
        weekday_first = 1 + (args[0] - first) % 7
        occurrences = list(range(weekday_first, last + 1, 7))
        if kind == "nL":
            return occurrences[-1:]
        nth = args[1]
        return occurrences[nth - 1 : nth]

    def local_times(self, since: dt.datetime, until_year: int = 2199) -> Iterator[dt.datetime]:
        """Every matching wall-clock time from ``since`` (naive, same clock) on, in order."""
        times = [(h, m) for h in self.hours for m in self.minutes]
        years = self.years if self.years is not None else range(since.year, until_year + 1)
        for year in years:
            if year < since.year:
                continue
            for month in self.months:
                if (year, month) < (since.year, since.month):
                    continue
                for day in self.days(year, month):
                    if (year, month, day) < (since.year, since.month, since.day):
                        continue
                    for hour, minute in times:
                        moment = dt.datetime(year, month, day, hour, minute)
                        if moment >= since:
                            yield moment


def _nearest_weekday(year: int, month: int, day: int, last: int) -> int:
    """``nW``: the weekday nearest to ``day`` within the month (Quartz's rule, which EventBridge follows)."""
    weekday = calendar.weekday(year, month, day)
    if weekday == 5:  # Saturday: the Friday before, or the Monday after when the 1st is a Saturday
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday: the Monday after, or the Friday before when it is the last day
        return day + 1 if day < last else day - 2
    return day


@dataclass(frozen=True)
class Schedule:
    """A validated schedule expression.

    ``period_seconds`` is the shortest gap between two consecutive runs (of wall-clock time, for
    cron), or ``None`` when the expression runs at most once.
    """

    expression: str
    period_seconds: int | None
    rate_seconds: int | None = None
    _cron: _Cron | None = field(default=None, repr=False, compare=False)

    def shortest_gap_seconds(self, *, zone: str = "UTC", flexible_window_minutes: int = 0) -> int | None:
        """The shortest real time between two runs: a cron schedule's wall-clock period, less the
        zone's daylight-saving shift (a daily 02:30 run is 23 h after the previous one on the day
        clocks spring forward), less a flexible window (a run may start that much late, and the
        next one on time). ``None`` when it runs at most once."""
        if self.period_seconds is None:
            return None
        gap = self.period_seconds
        shift = _daylight_saving_shift(zone) if self._cron is not None else 0
        if gap > shift:
            gap -= shift
        return max(gap - flexible_window_minutes * 60, 0)

    @property
    def preview_count(self) -> int:
        """How many next runs show the pattern: a week of a daily (or rarer) schedule, so that a
        weekday-only one shows its weekend; three of a more frequent one."""
        return 7 if self.period_seconds is None or self.period_seconds >= 20 * 3600 else 3

    def weekday_numbers(self) -> tuple[str, str, str] | None:
        """For a day-of-week field written with numbers: the field, the days it means in
        EventBridge (1 = SUN), and the days the same numbers mean in Unix cron (0 or 7 = SUN,
        1 = MON), which is what most people who write numbers have in mind. ``None`` otherwise."""
        if self._cron is None:
            return None
        field = self.expression[len("cron(") : -1].split(" ")[4]
        if not _WEEKDAY_NUMBER.search(field):
            return None
        eventbridge = _WEEKDAY_NUMBER.sub(lambda m: _DAY_NAMES[int(m[0]) - 1], field)
        unix = _WEEKDAY_NUMBER.sub(lambda m: _DAY_NAMES[int(m[0]) % 7], field)
        return field, eventbridge, unix

    def next_runs(self, after: dt.datetime, *, count: int = 3, zone: str = "UTC") -> list[dt.datetime]:
        """The next ``count`` runs after ``after`` (timezone-aware), in ``zone``, as Scheduler runs
        them: a local time that does not exist (spring forward) is skipped, one that happens twice
        (fall back) runs once, at its first occurrence. ``[]`` for ``rate()``, which counts from when
        the schedule was created.
        https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#daylist-savings-time
        """
        if self._cron is None:
            return []
        tz = zone_info(zone)
        # An hour early on the local clock: the runs of a repeated hour come before ``after``'s.
        since = (after.astimezone(tz) - dt.timedelta(hours=1)).replace(tzinfo=None, second=0, microsecond=0)
        runs: list[dt.datetime] = []
        for local in self._cron.local_times(since):
            moment = local.replace(tzinfo=tz)  # fold=0: the first of two occurrences
            if moment.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None) != local:
                continue  # does not exist on the clock that day
            if moment > after:
                runs.append(moment)
                if len(runs) == count:
                    break
        return runs

    def describe_next_runs(self, after: dt.datetime, *, zone: str | None = None, count: int = 3) -> str:
        """The next runs in words, for people: in UTC, or local = UTC when ``zone`` is given."""
        if self.rate_seconds is not None:
            return f"every {format_duration(self.rate_seconds)}, counted from when the schedule is created"
        runs = self.next_runs(after, count=count, zone=zone or "UTC")
        if not runs:
            return "no more runs"
        shown = []
        for run in runs:
            utc = run.astimezone(dt.UTC).strftime("%a %Y-%m-%d %H:%M UTC")
            shown.append(utc if zone is None else f"{run.strftime('%a %Y-%m-%d %H:%M %Z')} = {utc}")
        return "; ".join(shown)


@functools.lru_cache(maxsize=512)
def _daylight_saving_shift(zone: str) -> int:
    """The largest change of ``zone``'s UTC offset over two years, in seconds (3600 for most zones
    with daylight saving, 1800 for Lord Howe Island, 0 without)."""
    tz = zone_info(zone)
    offsets = {
        int(dt.datetime(year, month, day, 12, tzinfo=tz).utcoffset().total_seconds())
        for year in (_HORIZON_START, _HORIZON_START + 1)
        for month in range(1, 13)
        for day in (1, 15)
    }
    return max(offsets) - min(offsets)


@functools.lru_cache(maxsize=4096)
def parse_schedule(expression: str) -> Schedule:
    """Validate ``expression`` and measure its period; raise ``ScheduleError`` with the reason.

    Cached: a config names each schedule once, but reads it several times.
    """
    if not isinstance(expression, str):
        raise ScheduleError(f"{expression!r} is not a string")
    text = expression.strip()
    if text != expression:
        raise ScheduleError(f"{expression!r} has leading or trailing spaces")
    if m := re.fullmatch(r"rate\((.*)\)", text):
        seconds = _parse_rate(m.group(1), expression)
        return Schedule(text, seconds, rate_seconds=seconds)
    if m := re.fullmatch(r"cron\((.*)\)", text):
        cron = _parse_cron(m.group(1), expression)
        return Schedule(text, _period_seconds(cron, expression), _cron=cron)
    raise ScheduleError(
        f"{expression!r} is not a schedule expression "
        "(allowed: 'cron(minutes hours day-of-month month day-of-week year)' or 'rate(N unit)')"
    )


def _parse_rate(body: str, expression: str) -> int:
    m = re.fullmatch(r"([0-9]+) (minutes?|hours?|days?)", body)
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
    wraps: bool = True  # a range from high to low wraps around (FRI-MON, NOV-FEB, 22-2)
    steps: bool = True  # takes "/": AWS's day-of-week wildcards are only , - * ? L #

    @property
    def digits(self) -> int:
        """The widest number the field takes: ``05`` is a minute, ``005`` is not."""
        return len(str(self.high))


_MINUTES = _Field("minutes", 0, 59, {})
_HOURS = _Field("hours", 0, 23, {})
_DOM = _Field("day-of-month", 1, 31, {})
_MONTH = _Field("month", 1, 12, _MONTHS, " or JAN-DEC")
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html#eb-cron-expressions
_DOW = _Field("day-of-week", 1, 7, _DAYS, " or SUN-SAT", steps=False)
_YEAR = _Field("year", 1970, 2199, {}, wraps=False)


def _parse_cron(body: str, expression: str) -> _Cron:
    # Fields are separated by spaces. A tab or a non-breaking space is not a separator in the
    # documented syntax, and both reference libraries reject it: so do we.
    if any(ch.isspace() and ch != " " for ch in body):
        raise ScheduleError(f"{expression!r}: fields must be separated by spaces (found another kind of white space)")
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
    day_rule = _dom_rule(dom, expression) if dow == "?" else _dow_rule(dow, expression)
    years = None if year == "*" else tuple(sorted(_values(year, _YEAR, expression)))
    return _Cron(
        minutes=tuple(sorted(_values(minute, _MINUTES, expression))),
        hours=tuple(sorted(_values(hour, _HOURS, expression))),
        day_rule=day_rule,
        months=tuple(sorted(_values(month, _MONTH, expression))),
        years=years,
    )


def _values(text: str, field: _Field, expression: str) -> set[int]:
    """Values of a list/range/step field (``*``, ``a``, ``a-b``, ``*/n``, ``a/n``, ``a-b/n``, ``a,b``).

    A range whose start is after its end wraps around the field (``FRI-MON``, ``22-2``), as in
    Quartz, the cron that EventBridge's follows; a step counts on across the wrap.
    """
    result: set[int] = set()
    for part in text.split(","):
        m = re.fullmatch(r"(\*|[A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?(?:/([0-9]+))?", part, re.ASCII)
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
        if step < 1 or (end < start and not field.wraps) or (step_text and not field.steps):
            raise _field_error(field, text, expression)
        span = range(start, end + 1) if start <= end else [*range(start, field.high + 1), *range(field.low, end + 1)]
        result.update(itertools.islice(span, 0, None, step))
    return result


def _value(text: str, field: _Field, whole: str, expression: str) -> int:
    if text.upper() in field.names:
        return field.names[text.upper()]
    # ASCII digits only (str.isdigit accepts '٥'), no wider than the field's largest value.
    if text.isascii() and text.isdigit() and len(text) <= field.digits and field.low <= int(text) <= field.high:
        return int(text)
    raise _field_error(field, whole, expression)


def _field_error(field: _Field, text: str, expression: str) -> ScheduleError:
    allowed = f"{field.low}-{field.high}{field.hint}"
    extras = {"day-of-month": ", ?, L, LW, nW", "day-of-week": ", ?, L, nL, n#k"}.get(field.name, "")
    return ScheduleError(
        f"{expression!r}: {field.name} {text!r} is not valid (allowed: {allowed} with , - *"
        f"{' /' if field.steps else ''}{extras})"
    )


def _dom_rule(text: str, expression: str) -> tuple:
    if text in ("L", "LW"):
        return (text,)
    if m := re.fullmatch(r"([0-9]+)W", text):
        return ("W", _value(m.group(1), _DOM, text, expression))
    return ("dom", tuple(sorted(_values(text, _DOM, expression))))


def _dow_rule(text: str, expression: str) -> tuple:
    if text == "L":  # the last day of the week: Saturday
        return ("dow", (_DAYS["SAT"],))
    if m := re.fullmatch(r"([A-Za-z0-9]+)L", text):
        return ("nL", _value(m.group(1), _DOW, text, expression))
    if m := re.fullmatch(r"([A-Za-z0-9]+)#([1-5])", text):
        return ("#", _value(m.group(1), _DOW, text, expression), int(m.group(2)))
    return ("dow", tuple(sorted(_values(text, _DOW, expression))))


# The dates of each distinct set of date fields seen (see ``_dates``).
_DATES: dict[_Cron, tuple[int, int | None]] = {}


def _dates(cron: _Cron) -> tuple[int, int | None]:
    """How many dates ``cron``'s day, month and year fields match (at least: see below), over the
    years it names or two calendar cycles, and the shortest gap in days between two in a row
    (``None`` for fewer than two). The walk stops at the first two days in a row, since no gap is
    shorter: an every-day schedule looks at two days, not 56 years. Jobs share date fields far more
    often than times, so each set is walked once (``_period_seconds`` passes ``cron`` without its
    times)."""
    if cron not in _DATES:
        years = cron.years if cron.years is not None else tuple(_HORIZON_YEARS)
        count, shortest, previous = 0, None, None
        for ordinal in (
            dt.date(year, month, day).toordinal()
            for year in years
            for month in cron.months
            for day in cron.days(year, month)
        ):
            count += 1
            if previous is not None and (shortest is None or ordinal - previous < shortest):
                shortest = ordinal - previous
                if shortest == 1:
                    break
            previous = ordinal
        _DATES[cron] = (count, shortest)
    return _DATES[cron]


def _period_seconds(cron: _Cron, expression: str) -> int | None:
    """Shortest gap between consecutive runs, over the years the expression names or two
    calendar cycles; raise ``ScheduleError`` when it never runs."""
    count, day_gap = _dates(replace(cron, minutes=(), hours=()))
    if not count:
        raise ScheduleError(f"{expression!r} never runs: no date matches its day, month and year fields")
    times = [h * 60 + m for h in cron.hours for m in cron.minutes]
    if count * len(times) < 2:
        return None
    gaps = [b - a for a, b in itertools.pairwise(times)]
    if day_gap is not None:
        gaps.append(day_gap * 1440 - (times[-1] - times[0]))
    return min(gaps) * 60
