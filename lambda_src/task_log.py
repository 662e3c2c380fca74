"""The last lines a failed run's task wrote, for the alert: read from the job's log stream (awslogs
names it ``<prefix>/<container>/<task id>``), only when the task ran, capped and cleaned so that a
log line can neither flood a message nor carry control characters into it.

Standard library only; the CloudWatch Logs client is passed in.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["MAX_CHARACTERS", "MAX_LINE", "MAX_LINES", "last_lines", "stream_of"]

MAX_LINES = 20  # the newest lines read
MAX_LINE = 300  # characters kept of each line
MAX_CHARACTERS = 2000  # characters kept in all, newest lines first
# C0 and C1 control characters but tab, DEL, and Unicode's line and paragraph separators and
# direction overrides (which can make a line read backwards in a chat client).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def stream_of(payload: dict[str, Any]) -> tuple[str, str] | None:
    """``(log group, log stream)`` of the task that ran, from the alert payload; ``None`` when no
    task ran (never placed, or stopped before its container started) or the payload lacks them."""
    group, prefix = payload.get("logGroup"), payload.get("logStreamPrefix")
    try:
        task = json.loads(payload.get("cause") or "")
    except (TypeError, ValueError):
        return None
    if not (isinstance(task, dict) and isinstance(group, str) and group and isinstance(prefix, str) and prefix):
        return None
    task_arn = task.get("TaskArn")
    if not isinstance(task_arn, str) or "/" not in task_arn or task.get("StopCode") == "TaskFailedToStart":
        return None
    return group, f"{prefix}/{task_arn.rsplit('/', 1)[-1]}"


def last_lines(logs: Any, group: str, stream: str) -> list[str]:
    """The stream's newest lines, oldest first, cleaned and capped (``MAX_*``)."""
    answer = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=MAX_LINES, startFromHead=False)
    lines = [clean(str(event.get("message", ""))) for event in answer.get("events", [])]
    kept: list[str] = []
    total = 0
    for line in reversed(lines):
        if total + len(line) > MAX_CHARACTERS:
            break
        kept.append(line)
        total += len(line)
    return kept[::-1]


def clean(line: str) -> str:
    """One line as a message may show it: no control characters, no trailing newline, at most
    ``MAX_LINE`` characters (cut visibly)."""
    text = _CONTROL.sub("", line.rstrip("\r\n")).replace("\t", "    ")
    text = text.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate becomes "?"
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 1] + "…"
