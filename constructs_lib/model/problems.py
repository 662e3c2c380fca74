"""How a config's problems read: one line each, ``<field path>: <what is wrong>``, in the words
of a TOML file, naming the job by its name."""

from __future__ import annotations

import datetime as dt
import json
import re
import typing
from typing import Any

from constructs_lib.model.capacity import example_order
from constructs_lib.model.value_object import ValueObject


class ConfigError(Exception):
    """An invalid config: ``problems`` holds one line per problem, each naming its field."""

    def __init__(self, source: str, problems: list[str]):
        super().__init__(f"{source}: " + "; ".join(problems))
        self.source = source
        self.problems = problems


# A jobs.toml of 200 jobs is about 40 KiB: 1 MiB is room for any real one, and keeps a runaway file
# (a 200 MB string) from holding `make synth` for minutes.


_JOB_AT = re.compile(r"jobs\[(\d+)\]")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def named_problem(problem: str, jobs: Any) -> str:
    """``jobs[0].schedule: ...`` -> ``jobs[0] (daily-report).schedule: ...`` when that job has a
    name that can be printed as it is (a bad name is reported on its own line)."""
    match = _JOB_AT.match(problem)
    if not match or not isinstance(jobs, list) or int(match[1]) >= len(jobs) or problem[match.end() :][:6] == ".name:":
        return problem
    job = jobs[int(match[1])]
    name = job.get("name") if isinstance(job, dict) else None
    if not isinstance(name, str) or not _PLAIN_NAME.fullmatch(name):
        return problem
    return f"{match[0]} ({name}){problem[match.end() :]}"


def _path(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _show(value: Any) -> str:
    if isinstance(value, (dt.date, dt.time)):  # TOML dates and times, as they are written
        return value.isoformat()
    try:
        return json.dumps(value, ensure_ascii=False)
    except TypeError:
        return repr(value)


# What a list field holds, for "is not a list": by the field's name, or the generic example.
_LIST_OF = {
    "emails": 'a list of e-mail addresses, for example ["ops@example.com"]',
    "command": 'a list: the program, then its arguments, for example ["python", "job.py"]',
    "capacity": f"a list of capacity sources, for example {example_order()}",
    "retry_exit_codes": "a list of exit codes, for example [75]",
}
# Each pydantic error type that names a Python type, in the words of a TOML file.
_NOT_A = {
    **dict.fromkeys(("tuple_type", "list_type", "set_type", "frozen_set_type"), ("a list", None)),
    **dict.fromkeys(
        ("dict_type", "model_type", "model_attributes_type"),
        ("a table", 'a table: a [section], or inline as { key = "value" }'),
    ),
    **dict.fromkeys(
        ("int_type", "int_parsing", "int_from_float"),
        ("a whole number", "a whole number without quotes, for example 256"),
    ),
    **dict.fromkeys(("float_type", "float_parsing"), ("a number", "a number without quotes, for example 2.0")),
    **dict.fromkeys(("bool_type", "bool_parsing"), ("true or false", "true or false, without quotes")),
    **dict.fromkeys(("string_type",), ("text", 'text in quotes, for example "value"')),
}
_BOUNDS = {
    "greater_than_equal": "at least {ge}",
    "less_than_equal": "at most {le}",
    "greater_than": "more than {gt}",
    "less_than": "less than {lt}",
}


def problem_line(error: dict[str, Any], root: Any) -> str:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "field_error":
        field = error["ctx"]["field"]
        return f"{_path(loc) + '.' if loc else ''}{field}: {error['msg']}"
    path = _path(loc) or "(top level)"
    if kind == "missing":
        return f"{path}: required but missing"
    if kind == "extra_forbidden":
        allowed = ", ".join(_fields_at(loc[:-1], root))
        return f"{path}: unknown key (allowed: {allowed})"
    if kind == "value_error":
        return f"{path}: {error['ctx']['error']}"
    got = _show(error["input"])
    if kind in _NOT_A:
        noun, allowed = _NOT_A[kind]
        if noun == "a list":
            key = next((part for part in reversed(loc) if isinstance(part, str)), "")
            allowed = _LIST_OF.get(key, 'a list, for example ["a", "b"]')
        return f"{path}: {got} is not {noun} (allowed: {allowed})"
    if kind in _BOUNDS:
        return f"{path}: {got} is out of range (allowed: {_BOUNDS[kind].format(**error['ctx'])})"
    if kind == "literal_error":
        return f"{path}: {got} is not an allowed value (allowed: {error['ctx']['expected']})"
    return f"{path}: {error['msg'][0].lower()}{error['msg'][1:]} (got {got})"


def _fields_at(loc: tuple[str | int, ...], root: Any) -> list[str]:
    """The keys the model at ``loc`` (under ``root``, the whole config's model) accepts, for the
    'unknown key' message."""
    model: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        model = _model_in(model.model_fields[part].annotation)
    return list(model.model_fields)


def _model_in(annotation: Any) -> Any:
    """The ValueObject class inside ``X``, ``X | None`` or ``tuple[X, ...]``."""
    if isinstance(annotation, type) and issubclass(annotation, ValueObject):
        return annotation
    for arg in typing.get_args(annotation):  # None and ... hold no model: they give None
        found = _model_in(arg)
        if found is not None:
            return found
    return None
