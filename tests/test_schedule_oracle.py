"""The cron parser against an independent implementation of EventBridge's dialect, aws-croniter
(PyPI, development only): over a generated corpus, both must accept the same expressions and give
the same next run times, except where aws-croniter is known to be wrong, each listed with why."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from aws_croniter import AwsCroniter

from constructs_lib.model.schedule_expression import ScheduleError, parse_schedule

START = datetime(2026, 11, 28, 7, 30, tzinfo=UTC)
RUNS = 5


def corpus(size: int = 1500, seed: int = 7) -> list[str]:
    """Cron bodies built from every kind of field value, both day fields, wrap-arounds included."""
    rng = random.Random(seed)
    minutes = ["0", "*", "*/15", "0/5", "5,35", "10-20", "0-59/20", "45", "05", "50-10"]
    hours = ["*", "8", "0-23/6", "9-17", "22-2", "8,20", "*/3", "0"]
    months = ["*", "1", "JAN-MAR", "NOV-FEB", "2", "*/2", "6,12", "FEB", "dec"]
    years = ["*", "*", "*", "2027", "2026-2030", "2027,2029"]
    days_of_month = ["*", "1", "15", "L", "LW", "15W", "1W", "31W", "1-10", "*/5", "29", "30", "31", "28-3"]
    days_of_week = ["*", "MON-FRI", "1", "L", "6L", "2#1", "6#3", "1#5", "SAT,SUN", "MON-SUN", "FRI-MON", "7", "tue"]
    bodies: set[str] = set()
    while len(bodies) < size:
        minute, hour, month, year = (rng.choice(values) for values in (minutes, hours, months, years))
        if rng.random() < 0.5:
            bodies.add(f"{minute} {hour} {rng.choice(days_of_month)} {month} ? {year}")
        else:
            bodies.add(f"{minute} {hour} ? {month} {rng.choice(days_of_week)} {year}")
    return sorted(bodies)


def known_oracle_bug(body: str, ours: list[datetime], theirs: list[datetime] | None, error: str | None) -> bool:
    """Where aws-croniter 2.1.1 is wrong, not us."""
    day_of_month, day_of_week = body.split()[2], body.split()[4]
    if day_of_month == "LW":
        return error is not None and "invalid literal for int()" in error  # it crashes on LW
    if day_of_week == "L":
        return theirs == []  # L alone is documented (the last day of the week); it finds no runs
    if theirs is not None and 0 < len(theirs) < len(ours):
        return ours[: len(theirs)] == theirs  # its search gives up after a few years; the rest agrees
    return theirs == [] and "#5" in day_of_week  # a fifth weekday once in 28 years: past its search


def test_the_parser_agrees_with_aws_croniter():
    agree, explained, disagreements = 0, 0, []
    for body in corpus():
        try:
            ours = parse_schedule(f"cron({body})").next_runs(START, count=RUNS)
        except ScheduleError as error:
            # We refuse what never runs (30 February); aws-croniter accepts it and finds nothing.
            assert "never runs" in str(error), (body, str(error))
            explained += 1
            continue
        try:
            theirs = [run.astimezone(UTC) for run in AwsCroniter(body).get_next(START, n=RUNS) if run is not None]
            error = None
        except Exception as raised:
            theirs, error = None, f"{type(raised).__name__}: {raised}"
        ours = [run.astimezone(UTC) for run in ours]
        if theirs == ours:
            agree += 1
        elif known_oracle_bug(body, ours, theirs, error):
            explained += 1
        else:
            disagreements.append((body, ours[:3], theirs[:3] if theirs else error))
    assert disagreements == []
    assert agree > 1200  # most of the corpus is compared run for run, not explained away
