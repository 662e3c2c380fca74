"""What an alert says: a failed run's payload turned into words a person can act on, per channel.

``describe(event)`` never raises: a payload it does not recognise becomes an alert that carries
the raw content. Each channel's module (``lambda_src.channels`` lists them) turns an ``Alert``
into its format.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from constructs_lib.model.durations import format_duration
from lambda_src import payload as read
from lambda_src.contract import (
    ERROR_FAILED_TO_START,
    ERROR_LONG_RUN,
    ERROR_MISSED,
    ERROR_NOT_STARTED,
    ERROR_PREVIOUS_RUN,
    ERROR_RETRYABLE_EXIT,
    ERROR_SPOT_INTERRUPTED,
    ERROR_TASK_FAILED,
    ERROR_TIMED_OUT,
    PLACEMENT_ERRORS,
    ended_early_error,
)

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
    stack = read.nonempty_text(event.get("stack")) or "?"
    execution = read.nonempty_text(event.get("execution"))
    alert_id = execution or read.nonempty_text(event.get("alertId"))
    partition, region = read.arn_location(execution or read.nonempty_text(event.get("source")))
    cause = event.get("cause")
    task = read.parse_task(cause)
    started = read.parse_time(event.get("startTime"))
    gave_up = read.parse_time(event.get("gaveUpAt"))
    elapsed = f" over {format_duration(int((gave_up - started).total_seconds()))}" if started and gave_up else ""
    scheduled = read.parse_time(read.scheduled_time(event.get("input")))

    short, what = _what_happened(event, error, task, cause, elapsed)
    zone = read.nonempty_text(event.get("timezone"))
    facts = [("Job", job), ("Stack", stack), ("Region", region or "?")]
    if scheduled:
        facts.append(("Scheduled for", read.show_time(scheduled) + read.in_zone(scheduled, zone)))
    if started:
        facts.append(("Started", read.show_time(started)))
    if gave_up:
        facts.append(("Gave up", read.show_time(gave_up)))
    facts.append(("Error", error))
    if task and task.get("TaskArn"):
        facts.append(("Task", str(task["TaskArn"])))
    upcoming = read.next_run(read.nonempty_text(event.get("schedule")), zone, after=gave_up or started or scheduled)
    if upcoming:
        facts.append(("Next run", read.show_time(upcoming) + read.in_zone(upcoming, zone)))
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
    machine = read.nonempty_text(event.get("stateMachine"))
    if error in (ERROR_PREVIOUS_RUN, ERROR_MISSED) and machine and region:
        links.append(
            (
                "Executions (Step Functions console)"
                if error == ERROR_MISSED
                else "Running executions (Step Functions console)",
                f"{console}/states/home?region={region}#/statemachines/view/{machine}",
            )
        )
    task_link = read.task_link(console, region, task)
    if task_link:
        links.append(task_link)
    log_link = read.log_link(console, region, event, task)
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
        record["task"] = read.task_summary(task)
    due = next((f"{label.lower()} {value}" for label, value in facts if label in ("Scheduled for", "Started")), None)
    return Alert(
        title=f"[{stack}] {job} is {short}" if error == ERROR_LONG_RUN else f"[{stack}] {job} failed: {short}",
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
        reason = read.start_reason(task)
        stuck = next((what for pattern, what in _NEVER_STARTED if pattern.search(reason)), None)
        return (
            "the task never started",
            f"The task never started{f' ({stuck})' if stuck else ''}, after {launches}{elapsed}, "
            f"so the job did not run. ECS said: {reason or 'no reason given'}",
        )
    if error == ERROR_RETRYABLE_EXIT:
        exited = read.exited_container(task)
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
        exited = read.exited_container(task)
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
    if error == ERROR_LONG_RUN:
        warn = event.get("warnAfterSeconds")
        ran = f" after {format_duration(warn)}" if isinstance(warn, int) else ""
        limit = event.get("timeoutSeconds")
        stop = (
            f" The timeout stops its task after {format_duration(limit)} of running." if isinstance(limit, int) else ""
        )
        return (
            "still running",
            f"The run is still running{ran} (warn_after_seconds): a heads-up, not a failure; nothing was "
            f"stopped.{stop}",
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
    stack = read.nonempty_text(event.get("stack")) or "?"
    execution = read.nonempty_text(event.get("execution"))
    partition, region = read.arn_location(execution or read.nonempty_text(event.get("stateMachine")))
    since = read.parse_time(event.get("since"))
    ended = read.parse_time(event.get("gaveUpAt"))
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
        facts.append(("Broken since", read.show_time(since)))
    if ended:
        facts.append(("Succeeded", read.show_time(ended)))
    console = CONSOLE.get(partition or "aws", CONSOLE["aws"])
    links = []
    for label, arn in (("Execution", execution), ("Last failed execution", read.nonempty_text(last.get("execution")))):
        if arn and region:
            links.append(
                (
                    f"{label} (Step Functions console)",
                    f"{console}/states/home?region={region}#/v2/executions/details/{arn}",
                )
            )
    resolves = read.nonempty_text(last.get("execution")) or read.nonempty_text(last.get("alertId"))
    record = {"level": "INFO", "message": f"scheduled job {job} recovered", "alert_id": execution, "stack": stack,
              "job": job, "what": what, "execution": execution, "resolves": resolves}  # fmt: skip
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
        due=f"succeeded {read.show_time(ended)}" if ended else None,
    )


def _test_alert(event: dict[str, Any]) -> Alert:
    stack = read.nonempty_text(event.get("stack")) or "this stack"
    what = "This is a test alert. If you read it, alerts reach you here."
    return Alert(
        title=f"[{stack}] test alert",
        what=what,
        alert_id=read.nonempty_text(event.get("id")),
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


def clip(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= limit else text[: limit - 1] + "…"
