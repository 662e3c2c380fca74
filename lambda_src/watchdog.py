"""The watchdog: a run that never started is reported too, and so is the first run that works again.

Invoked every ``INTERVAL_SECONDS`` by an EventBridge rule, it computes each watched job's fire
times with the schedule model that validated the config (``constructs_lib.model``, shipped with
the function), and looks for an execution that started within the job's grace period of each one
whose grace ended in the last interval (``ListExecutions``). A run with none is missed: the
watchdog says what it found (the rule or schedule disabled, missing or changed; messages waiting in
the dead-letter queue; else no execution at all) and queues one alert per channel, once.

Invoked by the stack's "execution succeeded" rule, it looks at the runs before that one: when the
latest of them failed, timed out or was aborted, or a fire time between them passed without a
run, it queues one "recovered" alert naming the earlier failure and how long the job was broken.

The jobs it watches are in ``watched_jobs.json``, packaged with it: names only, the ARNs are built
from the function's own partition, region and account.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lambda_src.contract import (
    ALERT_CHANNELS_VARIABLE,
    ERROR_LONG_RUN,
    ERROR_MISSED,
    STACK_NAME_VARIABLE,
    UNDELIVERED_QUEUE_URL_VARIABLE,
    WATCHDOG_INTERVAL_SECONDS,
    WATCHED_JOBS_FILE,
)
from lambda_src.delivery import alert_queue_from
from lambda_src.transport import aws_client, log_line

__all__ = [
    "INTERVAL_SECONDS",
    "Found",
    "Watched",
    "findings",
    "handler",
    "load_watched",
    "long_runs",
    "missed_alert_id",
    "missed_runs",
    "recovery",
]

INTERVAL_SECONDS = WATCHDOG_INTERVAL_SECONDS
EARLY_SECONDS = 30  # a run that started this much before its time still counts (clocks differ)
FAILED_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")
WATCHED_PATH = Path(__file__).resolve().parent / WATCHED_JOBS_FILE


@dataclass(frozen=True)
class Watched:
    """One job the watchdog watches (``constructs_lib.watchdog`` writes the list)."""

    job: str
    state_machine: str  # its name
    schedule: str
    timezone: str | None
    grace_seconds: int
    rule: str | None = None  # an EventBridge rule's name (a UTC job)
    schedule_name: str | None = None  # or a Scheduler schedule's name, in ``schedule_group``
    schedule_group: str | None = None
    warn_after_seconds: int | None = None  # a heads-up, once per run, when it runs longer

    @property
    def rate_seconds(self) -> int | None:
        from constructs_lib.model.schedule_expression import parse_schedule

        return parse_schedule(self.schedule).rate_seconds


def load_watched(path: Path) -> list[Watched]:
    return [Watched(**entry) for entry in json.loads(path.read_text())]


def _fire_times(watched: Watched, *, since: dt.datetime, until: dt.datetime) -> list[dt.datetime]:
    """A cron job's fire times in ``(since, until]``, as Scheduler (or the rule) runs them."""
    from constructs_lib.model.schedule_expression import parse_schedule

    schedule = parse_schedule(watched.schedule)
    times: list[dt.datetime] = []
    after = since
    while True:
        batch = schedule.next_runs(after, count=50, zone=watched.timezone or "UTC")
        times += [moment for moment in batch if moment <= until]
        if len(batch) < 50 or batch[-1] > until:
            return [moment.astimezone(dt.UTC) for moment in times]
        after = batch[-1]


def missed_runs(
    watched: Watched, *, starts: Sequence[dt.datetime], since: dt.datetime, until: dt.datetime
) -> list[dt.datetime]:
    """The fire times whose grace ended in ``(since, until]`` and that no execution answered: none
    started from ``EARLY_SECONDS`` before the time to the end of its grace. Each start answers one
    fire time. A rate job's fire times count from its latest start before them (a rate counts
    from when its schedule was created, which no one recorded); a rate job that never ran is not
    judged."""
    grace = dt.timedelta(seconds=watched.grace_seconds)
    rate = watched.rate_seconds
    if rate is None:
        due = _fire_times(watched, since=since - grace, until=until - grace)
    else:
        due = []
        anchors = sorted(start for start in starts if start <= until - grace)
        if not anchors:
            return []
        anchor = anchors[-1]
        first = math.floor((since - grace - anchor).total_seconds() / rate) + 1
        last = math.floor((until - grace - anchor).total_seconds() / rate)
        due = [anchor + dt.timedelta(seconds=rate * k) for k in range(max(first, 1), last + 1)]
    unused = sorted(starts)
    missed = []
    for moment in due:
        answer = next((s for s in unused if moment - dt.timedelta(seconds=EARLY_SECONDS) <= s < moment + grace), None)
        if answer is None:
            missed.append(moment)
        else:
            unused.remove(answer)
    return missed


# --- what the check found -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """What a missed run's alert says the check found, in a sentence each."""

    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.lines)


def _error_code(error: Exception) -> str:
    return str((getattr(error, "response", None) or {}).get("Error", {}).get("Code") or type(error).__name__)


def findings(
    watched: Watched, *, arns: Callable[[str, str], str], events: Any, scheduler: Any, sqs: Any, queue_url: str | None
) -> Found:
    """Why the run may not have started: the rule or schedule as it is now against what the stack
    deployed, and the schedules' dead-letter queue. Each check that cannot be made says so."""
    lines: list[str] = []
    machine = arns("states", f"stateMachine:{watched.state_machine}")
    try:
        if watched.rule:
            rule = events.describe_rule(Name=watched.rule)
            lines += _compare("rule", watched.rule, rule.get("State"), rule.get("ScheduleExpression"), watched)
            targets = events.list_targets_by_rule(Rule=watched.rule).get("Targets", [])
            if machine not in [target.get("Arn") for target in targets]:
                lines.append(f"The rule {watched.rule} no longer starts state machine {watched.state_machine}.")
        elif watched.schedule_name:
            schedule = scheduler.get_schedule(Name=watched.schedule_name, GroupName=watched.schedule_group)
            lines += _compare(
                "schedule", watched.schedule_name, schedule.get("State"), schedule.get("ScheduleExpression"), watched
            )
            zone = schedule.get("ScheduleExpressionTimezone") or "UTC"
            if zone != (watched.timezone or "UTC"):
                lines.append(f"The schedule's time zone was changed to {zone} (deployed: {watched.timezone}).")
            if (schedule.get("Target") or {}).get("Arn") != machine:
                lines.append(f"The schedule no longer starts state machine {watched.state_machine}.")
    except Exception as error:
        code = _error_code(error)
        what = f"rule {watched.rule}" if watched.rule else f"schedule {watched.schedule_name}"
        if code == "ResourceNotFoundException":
            lines.append(f"The {what} is missing: deleted outside Terraform.")
        else:
            lines.append(f"The {what} could not be read ({code}).")
    if queue_url:
        try:
            attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
            waiting = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
            if waiting:
                name = queue_url.rstrip("/").rsplit("/", 1)[-1]
                lines.append(f"{waiting} message(s) wait in the dead-letter queue {name}: starts that failed.")
        except Exception as error:
            lines.append(f"The dead-letter queue could not be read ({_error_code(error)}).")
    if not lines:
        lines.append(
            "No execution started at all, and the schedule is as deployed: an EventBridge or Scheduler problem, "
            "or a start still being retried."
        )
    return Found(tuple(lines))


def _compare(kind: str, name: str, state: Any, expression: Any, watched: Watched) -> list[str]:
    lines = []
    if state and state != "ENABLED":
        lines.append(f"The {kind} {name} is {str(state).lower()}.")
    if expression and expression != watched.schedule:
        lines.append(f"The {kind}'s schedule was changed to {expression} (deployed: {watched.schedule}).")
    return lines


# --- recovery -------------------------------------------------------------------------------------------


def recovery(watched: Watched, *, executions: Sequence[Mapping[str, Any]], succeeded: str) -> dict[str, Any] | None:
    """What a "recovered" alert says about the run ``succeeded`` (an execution ARN), given the state
    machine's executions newest first: the failed runs just before it, or the fire times missed
    between it and the success before it; ``None`` when the job was working."""
    ordered = sorted(executions, key=lambda item: _moment(item["startDate"]), reverse=True)
    index = next((i for i, item in enumerate(ordered) if item["executionArn"] == succeeded), None)
    if index is None:
        return None
    this = ordered[index]
    failures = []
    previous_success = None
    for item in ordered[index + 1 :]:
        if item["status"] == "SUCCEEDED":
            previous_success = item
            break
        if item["status"] in FAILED_STATUSES:
            failures.append(item)
    started = _moment(this["startDate"])
    if failures:
        first = failures[-1]
        return {
            "failedRuns": len(failures),
            "since": _moment(first["startDate"]).isoformat(),
            "lastFailure": {"status": failures[0]["status"], "execution": failures[0]["executionArn"]},
        }
    if previous_success is None:
        return None
    starts = [_moment(item["startDate"]) for item in ordered]
    missed = missed_runs(watched, starts=starts, since=_moment(previous_success["startDate"]), until=started)
    if not missed:
        return None
    return {
        "missedRuns": len(missed),
        "since": missed[0].isoformat(),
        "lastFailure": {"status": "MISSED", "scheduledTime": missed[-1].isoformat()},
    }


def missed_alert_id(machine_arn: str, moment: dt.datetime) -> str:
    """A missed run's alert id: the state machine and the scheduled time (there is no execution)."""
    return f"{machine_arn}:missed:{moment.astimezone(dt.UTC).isoformat()}"


def _moment(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


# --- the handler ----------------------------------------------------------------------------------------


class _Arns:
    """ARNs of the stack's resources, in the function's own partition, region and account."""

    def __init__(self, function_arn: str) -> None:
        parts = function_arn.split(":")
        self.partition, self.region, self.account = parts[1], parts[3], parts[4]

    def __call__(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"


def _executions(sfn: Any, machine: str, *, back_to: dt.datetime | None = None, limit: int = 100) -> list[dict]:
    """The state machine's executions, newest first, back to ``back_to`` (or one page)."""
    found: list[dict] = []
    token = None
    while True:
        page = sfn.list_executions(stateMachineArn=machine, maxResults=limit, **({"nextToken": token} if token else {}))
        found += page.get("executions", [])
        token = page.get("nextToken")
        oldest = _moment(found[-1]["startDate"]) if found else None
        if not token or back_to is None or (oldest is not None and oldest < back_to):
            return found


@dataclass
class Clients:
    sfn: Any
    events: Any
    scheduler: Any
    sqs: Any


def long_runs(
    watched: Watched, *, running: Sequence[Mapping[str, Any]], since: dt.datetime, until: dt.datetime
) -> list[Mapping[str, Any]]:
    """The RUNNING executions that passed the job's ``warn_after_seconds`` in ``(since, until]``:
    each is reported by the one tick whose interval holds that moment, so once per run."""
    if watched.warn_after_seconds is None:
        return []
    warn = dt.timedelta(seconds=watched.warn_after_seconds)
    return [item for item in running if since < _moment(item["startDate"]) + warn <= until]


def check(
    watched_jobs: Iterable[Watched],
    *,
    now: dt.datetime,
    clients: Clients,
    arns: Callable[[str, str], str],
    stack: str,
    queue_url: str | None,
    log: Callable[[Mapping[str, Any]], None],
) -> list[dict[str, Any]]:
    """The missed runs whose grace ended in the interval before ``now``, as alert payloads."""
    since = now - dt.timedelta(seconds=INTERVAL_SECONDS)
    alerts = []
    for watched in watched_jobs:
        machine = arns("states", f"stateMachine:{watched.state_machine}")
        alerts += _long_run_alerts(watched, machine, clients=clients, stack=stack, since=since, now=now, log=log)
        grace = dt.timedelta(seconds=watched.grace_seconds)
        if watched.rate_seconds is None and not _fire_times(watched, since=since - grace, until=now - grace):
            continue  # nothing was due: no call
        back_to = since - grace - dt.timedelta(seconds=EARLY_SECONDS + (watched.rate_seconds or 0))
        executions = _executions(clients.sfn, machine, back_to=back_to)
        starts = [_moment(item["startDate"]) for item in executions]
        for moment in missed_runs(watched, starts=starts, since=since, until=now):
            found = findings(
                watched, arns=arns, events=clients.events, scheduler=clients.scheduler, sqs=clients.sqs,
                queue_url=queue_url,
            )  # fmt: skip
            payload = {
                **_about(watched, stack=stack, machine=machine),
                "error": ERROR_MISSED,
                "cause": found.text,
                "alertId": missed_alert_id(machine, moment),
                "source": machine,
                "input": {"scheduledTime": moment.isoformat().replace("+00:00", "Z")},
                "graceSeconds": watched.grace_seconds,
            }
            log({"level": "ERROR", "message": f"scheduled job {watched.job} missed its run", "alert_id":
                 payload["alertId"], "job": watched.job, "scheduled_time": payload["input"]["scheduledTime"],
                 "found": list(found.lines)})  # fmt: skip
            alerts.append(payload)
    return alerts


def _about(watched: Watched, *, stack: str, machine: str) -> dict[str, Any]:
    """What every watchdog alert says of its job (``lambda_src.contract.AlertPayload``)."""
    return {
        "job": watched.job,
        "stack": stack,
        "stateMachine": machine,
        "schedule": watched.schedule,
        **({"timezone": watched.timezone} if watched.timezone else {}),
    }


def _long_run_alerts(
    watched: Watched,
    machine: str,
    *,
    clients: Clients,
    stack: str,
    since: dt.datetime,
    now: dt.datetime,
    log: Callable[[Mapping[str, Any]], None],
) -> list[dict[str, Any]]:
    if watched.warn_after_seconds is None:
        return []
    page = clients.sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING", maxResults=100)
    alerts = []
    for item in long_runs(watched, running=page.get("executions", []), since=since, until=now):
        execution = str(item["executionArn"])
        log({"level": "WARNING", "message": f"a run of {watched.job} is still running", "alert_id": execution,
             "job": watched.job, "warn_after_seconds": watched.warn_after_seconds})  # fmt: skip
        alerts.append(
            {
                **_about(watched, stack=stack, machine=machine),
                "error": ERROR_LONG_RUN,
                "cause": "",
                "execution": execution,
                "alertId": f"{execution}:still-running",
                "startTime": _moment(item["startDate"]).isoformat(),
                "warnAfterSeconds": watched.warn_after_seconds,
            }
        )
    return alerts


_aws = aws_client  # the tests put stand-in clients here


def handler(event: Any, context: Any) -> dict[str, Any]:
    """A tick of the watchdog's schedule (``{"time": ...}``), or an execution that succeeded."""
    watched_jobs = load_watched(WATCHED_PATH)
    arns = _Arns(context.invoked_function_arn)
    stack = os.environ.get(STACK_NAME_VARIABLE) or "?"
    channels = [name for name in (os.environ.get(ALERT_CHANNELS_VARIABLE) or "").split(",") if name]
    queue = alert_queue_from(os.environ, lambda: aws_client("sqs"))
    if event.get("detail-type") == "Step Functions Execution Status Change":
        alerts = _recovered(event, watched_jobs, arns=arns, stack=stack, sfn=_aws("stepfunctions"))
    else:
        now = _moment(event.get("time") or dt.datetime.now(dt.UTC).isoformat())
        clients = Clients(_aws("stepfunctions"), _aws("events"), _aws("scheduler"), _aws("sqs"))
        alerts = check(
            watched_jobs,
            now=now,
            clients=clients,
            arns=arns,
            stack=stack,
            queue_url=os.environ.get(UNDELIVERED_QUEUE_URL_VARIABLE),
            log=log_line,
        )
    queued = {}
    if queue is not None:
        for payload in alerts:
            queued[payload["alertId"]] = queue.put([(channel, {**payload, "channel": channel}) for channel in channels])
    return {"alerts": len(alerts), "queued": queued}


def _recovered(
    event: Mapping[str, Any], watched_jobs: Iterable[Watched], *, arns: _Arns, stack: str, sfn: Any
) -> list[dict[str, Any]]:
    detail = event.get("detail") or {}
    machine = str(detail.get("stateMachineArn", ""))
    watched = next((w for w in watched_jobs if machine.endswith(f":stateMachine:{w.state_machine}")), None)
    if watched is None or detail.get("status") != "SUCCEEDED":
        return []
    found = recovery(watched, executions=_executions(sfn, machine), succeeded=str(detail.get("executionArn")))
    if found is None:
        return []
    last = found["lastFailure"]
    if last.get("status") == "MISSED":  # the missed run's alert id: a paging channel resolves that incident
        found["lastFailure"] = {"status": "MISSED", "alertId": missed_alert_id(machine, _moment(last["scheduledTime"]))}
    payload = {
        **_about(watched, stack=stack, machine=machine),
        "recovered": True,
        "execution": detail.get("executionArn"),
        "startTime": detail.get("startDate"),
        "gaveUpAt": detail.get("stopDate"),
        **found,
    }
    log_line({"level": "INFO", "message": f"scheduled job {watched.job} recovered", "alert_id": payload["execution"],
          **found})  # fmt: skip
    return [{**payload, "alertId": f"{payload['execution']}:recovered"}]
