"""Reading a failed run's payload: the stopped task in its cause, the times, the ARNs, the console
links, and the job's next run by the schedule model shipped with the function."""

from __future__ import annotations

import json
import urllib.parse
from datetime import UTC, datetime
from typing import Any

from lambda_src.contract import INPUT_SCHEDULED_TIME

__all__ = [
    "arn_location",
    "console_escape",
    "containers",
    "exited_container",
    "in_zone",
    "log_link",
    "next_run",
    "nonempty_text",
    "parse_task",
    "parse_time",
    "scheduled_time",
    "show_time",
    "start_reason",
    "task_link",
    "task_summary",
    "zone_rules",
]


def parse_task(cause: Any) -> dict[str, Any] | None:
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


def containers(task: dict[str, Any] | None) -> list[dict[str, Any]]:
    containers = (task or {}).get("Containers")
    return [c for c in containers if isinstance(c, dict)] if isinstance(containers, list) else []


def task_summary(task: dict[str, Any]) -> dict[str, Any]:
    return {
        "task_arn": task.get("TaskArn"),
        "stop_code": task.get("StopCode"),
        "stopped_reason": task.get("StoppedReason"),
        "containers": [
            {"name": c.get("Name"), "exit_code": c.get("ExitCode"), "reason": c.get("Reason")} for c in containers(task)
        ],
    }


def exited_container(task: dict[str, Any] | None) -> tuple[int, str] | None:
    """The first container that exited non-zero (the job's one container), with its reason."""
    for container in containers(task):
        code = container.get("ExitCode")
        if isinstance(code, int) and code != 0:
            return code, str(container.get("Reason") or "")
    return None


def start_reason(task: dict[str, Any] | None) -> str:
    reasons = [str(c["Reason"]) for c in containers(task) if c.get("Reason")]
    stopped = (task or {}).get("StoppedReason")
    if stopped and str(stopped) not in reasons:
        reasons.append(str(stopped))
    return "; ".join(reasons)


def scheduled_time(execution_input: Any) -> Any:
    """A scheduled run's input names its scheduled time (an EventBridge event's is ``time``)."""
    if not isinstance(execution_input, dict):
        return None
    return execution_input.get(INPUT_SCHEDULED_TIME) or execution_input.get("time")


def arn_location(arn: str | None) -> tuple[str | None, str | None]:
    parts = (arn or "").split(":")
    return (parts[1], parts[3]) if len(parts) > 4 and parts[0] == "arn" and parts[3] else (None, None)


def log_link(
    console: str, region: str | None, event: dict[str, Any], task: dict[str, Any] | None
) -> tuple[str, str] | None:
    """The task's log stream when the task ran (awslogs names it ``<prefix>/<container>/<task id>``),
    else the job's log group."""
    group = event.get("logGroup")
    if not region or not isinstance(group, str) or not group:
        return None
    base = f"{console}/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{console_escape(group)}"
    task_arn = (task or {}).get("TaskArn")
    prefix = event.get("logStreamPrefix")
    ran = task is not None and task.get("StopCode") != "TaskFailedToStart"
    if ran and isinstance(task_arn, str) and isinstance(prefix, str):
        stream = f"{prefix}/{task_arn.rsplit('/', 1)[-1]}"
        return "Task log (CloudWatch console)", f"{base}/log-events/{console_escape(stream)}"
    return "Job log group (CloudWatch console)", base


def task_link(console: str, region: str | None, task: dict[str, Any] | None) -> tuple[str, str] | None:
    """The task in the ECS console: its ARN is ``arn:...:task/<cluster>/<task id>``."""
    task_arn = (task or {}).get("TaskArn")
    parts = task_arn.split(":", 5)[-1].split("/") if isinstance(task_arn, str) else []
    if not region or len(parts) != 3 or parts[0] != "task" or not all(parts):
        return None
    cluster, task_id = (urllib.parse.quote(part, safe="") for part in parts[1:])
    return "Task (ECS console)", f"{console}/ecs/v2/clusters/{cluster}/tasks/{task_id}?region={region}"


def in_zone(moment: datetime, zone: str | None) -> str:
    """`` (Tue 08:00 JST, Asia/Tokyo)``: the same moment on the job's clock; empty without a zone, or
    where the zone's rules are not at hand."""
    tz = zone_rules(zone)
    if tz is None:
        return ""
    return f" ({moment.astimezone(tz).strftime('%a %H:%M %Z')}, {zone})"


def zone_rules(zone: str | None) -> Any:
    """The zone's rules from the pinned tz data shipped with the function (``constructs_lib.model``
    and ``tzdata``, packaged by ``AlertFunction``), or ``None``."""
    if not zone or zone == "UTC":
        return None
    try:
        from constructs_lib.model.time_zone import zone_info

        return zone_info(zone)
    except (ImportError, KeyError):  # not shipped, or a zone it does not know: the UTC time stands alone
        return None


def next_run(schedule: str | None, zone: str | None, *, after: datetime | None) -> datetime | None:
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


def console_escape(text: str) -> str:
    """The CloudWatch console's fragment encoding: URL-encoded twice, with ``%`` written ``$``."""
    return urllib.parse.quote(urllib.parse.quote(text, safe=""), safe="").replace("%", "$")


def parse_time(value: Any) -> datetime | None:
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


def show_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def nonempty_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
