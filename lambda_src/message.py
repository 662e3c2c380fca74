"""What an alert says: a failed run's payload turned into words a person can act on, per channel.

``describe(event)`` never raises: a payload it does not recognise becomes an alert that carries
the raw content. Each channel's module (``lambda_src.slack``, ``chatwork``, ``mail``, ``teams``, ``pagerduty``) turns an
``Alert`` into its format.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from lambda_src.contract import (
    ERROR_FAILED_TO_START,
    ERROR_MISSED,
    ERROR_NOT_STARTED,
    ERROR_PREVIOUS_RUN,
    ERROR_RETRYABLE_EXIT,
    ERROR_SPOT_INTERRUPTED,
    ERROR_TASK_FAILED,
    ERROR_TIMED_OUT,
    INPUT_SCHEDULED_TIME,
    PLACEMENT_ERRORS,
    ended_early_error,
)
from lambda_src.durations import format_duration

__all__ = ["CONSOLE", "LOG_TAIL_LABEL", "SUBJECT_LIMIT", "Alert", "clip", "describe"]

# Console sign-in domains per partition.
# https://docs.aws.amazon.com/general/latest/gr/aws-arns-and-namespaces.html
CONSOLE = {
    "aws": "https://console.aws.amazon.com",
    "aws-cn": "https://console.amazonaws.cn",
    "aws-us-gov": "https://console.amazonaws-us-gov.com",
}
# SNS: "Subjects must be UTF-8 text with no line breaks or control characters, and less than
# 100 characters long." https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
SUBJECT_LIMIT = 99
RAW_LIMIT = 3000  # characters of an unrecognised payload or a long cause kept in a message
LOG_TAIL_LABEL = "Last lines of the task's log"

# What a task that never started was stuck on, by the words in ECS's reason.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html
_NEVER_STARTED = (
    (re.compile(r"CannotPullContainer|pull image", re.I), "the image could not be pulled"),
    (re.compile(r"secret|\bssm\b", re.I), "its secrets could not be fetched"),
    (re.compile(r"network interface|\bENI\b"), "its network interface could not be set up"),
    (re.compile(r"ResourceInitializationError"), "its resources could not be set up"),
)


@dataclass(frozen=True)
class Alert:
    """One alert, channel-neutral. ``facts`` are label/value lines; ``links`` label/URL pairs."""

    title: str  # one line: the notification text and the e-mail subject
    what: str  # what happened, in plain words
    facts: tuple[tuple[str, str], ...] = ()
    links: tuple[tuple[str, str], ...] = ()
    alert_id: str | None = None  # the execution ARN: duplicates of one run's alert share it
    record: dict[str, Any] = field(default_factory=dict)  # the structured log line
    log_tail: tuple[str, ...] = ()  # the task's last log lines, cleaned and capped (lambda_src.task_log)
    # What a group of alerts (lambda_src.digest) shows of this one: what happened in a few words
    # (alerts with the same words and region are listed together), the job, and when it was due.
    kind: str = ""
    job: str | None = None
    region: str | None = None
    due: str | None = None  # "Scheduled for ..." (or "Started ...") as the facts show it

    @property
    def body_lines(self) -> list[str]:
        facts = [f"{label}: {value}" for label, value in self.facts]
        return [self.what, "", *facts] if facts else [self.what]


def describe(event: Any, *, log_tail: tuple[str, ...] = ()) -> Alert:
    """The alert for ``event``: a failed run's payload (with its task's last log lines, when they
    were read), a test request, or anything else."""
    if not isinstance(event, dict):
        return _unrecognised(event)
    if event.get("test") is True:
        return _test_alert(event)
    if event.get("recovered") is True and isinstance(event.get("job"), str):
        try:
            return _recovered(event)
        except Exception as error:  # a payload of the right shape with surprising values
            return _unrecognised(event, note=f"({type(error).__name__} while reading it: {error})")
    if not isinstance(event.get("job"), str) or not isinstance(event.get("error"), str):
        return _unrecognised(event)
    try:
        return replace(_failed_run(event), log_tail=tuple(log_tail))
    except Exception as error:  # a payload of the right shape with surprising values
        return _unrecognised(event, note=f"({type(error).__name__} while reading it: {error})")


def _failed_run(event: dict[str, Any]) -> Alert:
    job, error = event["job"], event["error"]
    stack = _text(event.get("stack")) or "?"
    execution = _text(event.get("execution"))
    alert_id = execution or _text(event.get("alertId"))
    partition, region = _arn_location(execution or _text(event.get("source")))
    cause = event.get("cause")
    task = _parse_task(cause)
    started = _time(event.get("startTime"))
    gave_up = _time(event.get("gaveUpAt"))
    elapsed = f" over {format_duration(int((gave_up - started).total_seconds()))}" if started and gave_up else ""
    scheduled = _time(_scheduled_time(event.get("input")))

    short, what = _what_happened(event, error, task, cause, elapsed)
    zone = _text(event.get("timezone"))
    facts = [("Job", job), ("Stack", stack), ("Region", region or "?")]
    if scheduled:
        facts.append(("Scheduled for", _show_time(scheduled) + _in_zone(scheduled, zone)))
    if started:
        facts.append(("Started", _show_time(started)))
    if gave_up:
        facts.append(("Gave up", _show_time(gave_up)))
    facts.append(("Error", error))
    if task and task.get("TaskArn"):
        facts.append(("Task", str(task["TaskArn"])))
    upcoming = _next_run(_text(event.get("schedule")), zone, after=gave_up or started or scheduled)
    if upcoming:
        facts.append(("Next run", _show_time(upcoming) + _in_zone(upcoming, zone)))
    facts.append(("Run it now", f"make run JOB={job}"))

    links = []
    console = CONSOLE.get(partition or "aws", CONSOLE["aws"])
    if execution and region:
        links.append(
            (
                "Execution (Step Functions console)",
                f"{console}/states/home?region={region}#/v2/executions/details/{execution}",
            )
        )
    machine = _text(event.get("stateMachine"))
    if error in (ERROR_PREVIOUS_RUN, ERROR_MISSED) and machine and region:
        links.append(
            (
                "Executions (Step Functions console)"
                if error == ERROR_MISSED
                else "Running executions (Step Functions console)",
                f"{console}/states/home?region={region}#/statemachines/view/{machine}",
            )
        )
    task_link = _task_link(console, region, task)
    if task_link:
        links.append(task_link)
    log_link = _log_link(console, region, event, task)
    if log_link:
        links.append(log_link)

    record = {
        "level": "ERROR",
        "message": f"scheduled job {job} failed: {error}",
        "alert_id": alert_id,
        "stack": stack,
        "job": job,
        "error": error,
        "what": what,
        "cause": cause,
        "execution": execution,
        "start_time": event.get("startTime"),
        "gave_up_at": event.get("gaveUpAt"),
        "state_machine": event.get("stateMachine"),
    }
    if task is not None:
        record["task"] = _task_summary(task)
    due = next((f"{label.lower()} {value}" for label, value in facts if label in ("Scheduled for", "Started")), None)
    return Alert(
        title=f"[{stack}] {job} failed: {short}",
        what=what,
        facts=tuple(facts),
        links=tuple(links),
        alert_id=alert_id,
        record=record,
        kind=short,
        job=job,
        region=region,
        due=due,
    )


def _what_happened(
    event: dict[str, Any], error: str, task: dict[str, Any] | None, cause: Any, elapsed: str
) -> tuple[str, str]:
    """``(short, long)``: a few words for the title, and a sentence or two for the body."""
    budget = event.get("launchBudget")
    launches = f"{budget} launches" if isinstance(budget, int) and budget > 1 else "launching"
    if error in PLACEMENT_ERRORS:
        reason = f' ECS said: "{clip(cause, 300)}"' if isinstance(cause, str) and cause else ""
        capacity = event.get("capacity")
        if isinstance(capacity, list) and len(capacity) > 1:
            tried = ", then ".join(map(str, capacity))
            return (
                "Fargate had no capacity",
                f"Fargate had no capacity for the task on {tried}: it was not placed after {launches} on each"
                f"{elapsed}, so the job did not run.{reason}",
            )
        return (
            "Fargate had no capacity",
            f"Fargate had no capacity for the task: it was not placed after {launches}{elapsed}, "
            f"so the job did not run.{reason}",
        )
    if error == ERROR_FAILED_TO_START:
        reason = _start_reason(task)
        stuck = next((what for pattern, what in _NEVER_STARTED if pattern.search(reason)), None)
        return (
            "the task never started",
            f"The task never started{f' ({stuck})' if stuck else ''}, after {launches}{elapsed}, "
            f"so the job did not run. ECS said: {reason or 'no reason given'}",
        )
    if error == ERROR_RETRYABLE_EXIT:
        exited = _exited_container(task)
        code = exited[0] if exited else "?"
        return (
            f"exit code {code} on every launch",
            f'The container exited with code {code}, which the job declares as "nothing was done, try again" '
            f"(retry_exit_codes), after {launches}{elapsed}, so the job did not complete.",
        )
    if error == ERROR_SPOT_INTERRUPTED:
        return (
            "Fargate Spot took the capacity back",
            "Fargate Spot took its capacity back while the task ran (SpotInterruption, two minutes' warning). "
            "The job may have run half-way; it was not re-run (rerun_attempts allows re-runs).",
        )
    if error == ERROR_TASK_FAILED:
        exited = _exited_container(task)
        if exited is not None:
            code, reason = exited
            detail = f" ({reason})" if reason else ""
            return (
                f"the container exited with code {code}",
                f"The container exited with code {code}{detail}. The job ran, maybe half-way; it was not re-run.",
            )
        stop = ": ".join(str(task[key]) for key in ("StopCode", "StoppedReason") if task and task.get(key))
        return (
            "the task stopped",
            f"The task stopped before its container exited: {stop or 'no reason given'}. It was not re-run.",
        )
    if error == ERROR_NOT_STARTED:
        said = clip(cause, 300) if isinstance(cause, str) and cause else "no reason given"
        return (
            "the run was never started",
            f"The schedule could not start the run, even after retrying, so the job did not run. It said: {said}.",
        )
    if error == ERROR_MISSED:
        grace = event.get("graceSeconds")
        within = f" within {format_duration(grace)}" if isinstance(grace, int) else ""
        found = clip(cause, 1000) if isinstance(cause, str) and cause else "nothing more"
        return (
            "the run did not start",
            f"No run of the job started{within} of its scheduled time, so the job did not run. The check found: "
            f"{found}",
        )
    if error == ERROR_PREVIOUS_RUN:
        return (
            "the previous run was still running",
            "The previous run of this job was still running when this one started, so this run launched no "
            'task (concurrency = "forbid"). A run still going a whole period later is news of its own: see '
            "the state machine's running executions.",
        )
    if error == ended_early_error("ABORTED"):
        return (
            "the run was aborted",
            "The run was aborted (stopped by hand, or by a deploy that replaced the state machine) before it "
            "finished; Step Functions asked ECS to stop its task. The job may have run half-way; it was not re-run.",
        )
    if error == ended_early_error("TIMED_OUT"):
        return (
            "the run timed out",
            "The execution ran past its own time limit and was stopped before it finished. The job may have run "
            "half-way; it was not re-run.",
        )
    if error == ERROR_TIMED_OUT:
        limit = event.get("timeoutSeconds")
        limit_text = f" of {format_duration(limit)}" if isinstance(limit, int) else ""
        return (
            "the task ran past its timeout",
            f"The task ran past its timeout{limit_text}; Step Functions stopped it. It was not re-run.",
        )
    return (
        error,
        f"The run failed with {error} and was not retried. Cause: {clip(cause, RAW_LIMIT) if cause else 'none given'}",
    )


def _recovered(event: dict[str, Any]) -> Alert:
    """The first successful run after failed, timed-out, aborted or missed ones (the watchdog's)."""
    job = event["job"]
    stack = _text(event.get("stack")) or "?"
    execution = _text(event.get("execution"))
    partition, region = _arn_location(execution or _text(event.get("stateMachine")))
    since = _time(event.get("since"))
    ended = _time(event.get("gaveUpAt"))
    last = event.get("lastFailure") if isinstance(event.get("lastFailure"), dict) else {}
    failed, missed = event.get("failedRuns"), event.get("missedRuns")
    if isinstance(failed, int) and failed > 0:
        status = {"TIMED_OUT": " (the last one timed out)", "ABORTED": " (the last one was aborted)"}
        earlier = f"{failed} failed run{'s' if failed != 1 else ''}{status.get(str(last.get('status')), '')}"
    elif isinstance(missed, int) and missed > 0:
        earlier = f"{missed} missed run{'s' if missed != 1 else ''}"
    else:
        earlier = "a failure"
    broken = (
        f" The job was broken for {format_duration(int((ended - since).total_seconds()))}." if since and ended else ""
    )
    what = f"{job} ran successfully again, after {earlier}.{broken}"
    facts = [("Job", job), ("Stack", stack), ("Region", region or "?")]
    if since:
        facts.append(("Broken since", _show_time(since)))
    if ended:
        facts.append(("Succeeded", _show_time(ended)))
    console = CONSOLE.get(partition or "aws", CONSOLE["aws"])
    links = []
    for label, arn in (("Execution", execution), ("Last failed execution", _text(last.get("execution")))):
        if arn and region:
            links.append(
                (
                    f"{label} (Step Functions console)",
                    f"{console}/states/home?region={region}#/v2/executions/details/{arn}",
                )
            )
    record = {"level": "INFO", "message": f"scheduled job {job} recovered", "alert_id": execution, "stack": stack,
              "job": job, "what": what, "execution": execution,
              "resolves": _text(last.get("execution")) or _text(last.get("alertId"))}  # fmt: skip
    return Alert(
        title=f"[{stack}] {job} recovered",
        what=what,
        facts=tuple(facts),
        links=tuple(links),
        alert_id=execution,
        record=record,
        kind="recovered",
        job=job,
        region=region,
        due=f"succeeded {_show_time(ended)}" if ended else None,
    )


def _test_alert(event: dict[str, Any]) -> Alert:
    stack = _text(event.get("stack")) or "this stack"
    what = "This is a test alert. If you read it, alerts reach you here."
    return Alert(
        title=f"[{stack}] test alert",
        what=what,
        alert_id=_text(event.get("id")),
        record={"level": "INFO", "message": "test alert", "what": what, "event": event},
    )


def _unrecognised(event: Any, *, note: str = "") -> Alert:
    raw = clip(json.dumps(event, ensure_ascii=False, default=repr, sort_keys=True), RAW_LIMIT)
    what = f"The alert function was called with a payload it does not recognise{' ' + note if note else ''}: {raw}"
    return Alert(
        title="Scheduled jobs alert (unrecognised payload)",
        what=what,
        record={"level": "ERROR", "message": "unrecognised alert payload", "what": what, "event": event},
    )


# --- reading the payload ---------------------------------------------------------------------------


def _parse_task(cause: Any) -> dict[str, Any] | None:
    """The stopped task in a ``States.TaskFailed`` cause (DescribeTasks' task as JSON), or ``None``."""
    if not isinstance(cause, str):
        return None
    try:
        parsed = json.loads(cause)
    except ValueError:
        return None
    if isinstance(parsed, dict) and ("StopCode" in parsed or "TaskArn" in parsed):
        return parsed
    return None


def _containers(task: dict[str, Any] | None) -> list[dict[str, Any]]:
    containers = (task or {}).get("Containers")
    return [c for c in containers if isinstance(c, dict)] if isinstance(containers, list) else []


def _task_summary(task: dict[str, Any]) -> dict[str, Any]:
    return {
        "task_arn": task.get("TaskArn"),
        "stop_code": task.get("StopCode"),
        "stopped_reason": task.get("StoppedReason"),
        "containers": [
            {"name": c.get("Name"), "exit_code": c.get("ExitCode"), "reason": c.get("Reason")}
            for c in _containers(task)
        ],
    }


def _exited_container(task: dict[str, Any] | None) -> tuple[int, str] | None:
    """The first container that exited non-zero (the job's one container), with its reason."""
    for container in _containers(task):
        code = container.get("ExitCode")
        if isinstance(code, int) and code != 0:
            return code, str(container.get("Reason") or "")
    return None


def _start_reason(task: dict[str, Any] | None) -> str:
    reasons = [str(c["Reason"]) for c in _containers(task) if c.get("Reason")]
    stopped = (task or {}).get("StoppedReason")
    if stopped and str(stopped) not in reasons:
        reasons.append(str(stopped))
    return "; ".join(reasons)


def _scheduled_time(execution_input: Any) -> Any:
    """A scheduled run's input names its scheduled time (an EventBridge event's is ``time``)."""
    if not isinstance(execution_input, dict):
        return None
    return execution_input.get(INPUT_SCHEDULED_TIME) or execution_input.get("time")


def _arn_location(arn: str | None) -> tuple[str | None, str | None]:
    parts = (arn or "").split(":")
    return (parts[1], parts[3]) if len(parts) > 4 and parts[0] == "arn" and parts[3] else (None, None)


def _log_link(
    console: str, region: str | None, event: dict[str, Any], task: dict[str, Any] | None
) -> tuple[str, str] | None:
    """The task's log stream when the task ran (awslogs names it ``<prefix>/<container>/<task id>``),
    else the job's log group."""
    group = event.get("logGroup")
    if not region or not isinstance(group, str) or not group:
        return None
    base = f"{console}/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{_console_escape(group)}"
    task_arn = (task or {}).get("TaskArn")
    prefix = event.get("logStreamPrefix")
    ran = task is not None and task.get("StopCode") != "TaskFailedToStart"
    if ran and isinstance(task_arn, str) and isinstance(prefix, str):
        stream = f"{prefix}/{task_arn.rsplit('/', 1)[-1]}"
        return "Task log (CloudWatch console)", f"{base}/log-events/{_console_escape(stream)}"
    return "Job log group (CloudWatch console)", base


def _task_link(console: str, region: str | None, task: dict[str, Any] | None) -> tuple[str, str] | None:
    """The task in the ECS console: its ARN is ``arn:...:task/<cluster>/<task id>``."""
    task_arn = (task or {}).get("TaskArn")
    parts = task_arn.split(":", 5)[-1].split("/") if isinstance(task_arn, str) else []
    if not region or len(parts) != 3 or parts[0] != "task" or not all(parts):
        return None
    cluster, task_id = (urllib.parse.quote(part, safe="") for part in parts[1:])
    return "Task (ECS console)", f"{console}/ecs/v2/clusters/{cluster}/tasks/{task_id}?region={region}"


def _in_zone(moment: datetime, zone: str | None) -> str:
    """`` (Tue 08:00 JST, Asia/Tokyo)``: the same moment on the job's clock; empty without a zone, or
    where the zone's rules are not at hand."""
    tz = _zone(zone)
    if tz is None:
        return ""
    return f" ({moment.astimezone(tz).strftime('%a %H:%M %Z')}, {zone})"


def _zone(zone: str | None) -> Any:
    """The zone's rules from the pinned tz data shipped with the function (``constructs_lib.model``
    and ``tzdata``, packaged by ``AlertFunction``), or ``None``."""
    if not zone or zone == "UTC":
        return None
    try:
        from constructs_lib.model.time_zone import zone_info

        return zone_info(zone)
    except (ImportError, KeyError):  # not shipped, or a zone it does not know: the UTC time stands alone
        return None


def _next_run(schedule: str | None, zone: str | None, *, after: datetime | None) -> datetime | None:
    """The job's next run after ``after``, by the schedule model that validated it (shipped with the
    function); ``None`` for a rate (it counts from when the schedule was created) or when unknown."""
    if not schedule or after is None:
        return None
    try:
        from constructs_lib.model.schedule_expression import parse_schedule

        runs = parse_schedule(schedule).next_runs(after, count=1, zone=zone or "UTC")
    except (ImportError, KeyError, ValueError):  # not shipped, an unknown zone, or not a schedule it reads
        return None
    return runs[0] if runs else None


def _console_escape(text: str) -> str:
    """The CloudWatch console's fragment encoding: URL-encoded twice, with ``%`` written ``$``."""
    return urllib.parse.quote(urllib.parse.quote(text, safe=""), safe="").replace("%", "$")


def _time(value: Any) -> datetime | None:
    """An ISO 8601 time (Step Functions' context object) or epoch milliseconds (its events)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        try:
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _show_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def clip(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= limit else text[: limit - 1] + "…"
