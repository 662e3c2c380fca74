"""``cdktf.out/review.md``: what a stack will run, when, and what happens when it fails, for a
reviewer who would rather not read the Terraform JSON.

Pure: it reads the synthesized stack (``cdk.tf.json`` as a dict), not the config, so it shows what
Terraform will really get. GitHub renders its Mermaid flowcharts.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from constructs_lib.model.retry_policy import RetryPolicy
from constructs_lib.model.schedule_expression import ScheduleError, format_duration, parse_schedule

__all__ = ["flowchart", "flowchart_edges", "review"]

_REFERENCE = re.compile(r"\$\{(?:data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}")
# Resources that cost money by the hour (or month) whatever the jobs do.
# https://aws.amazon.com/vpc/pricing/ (NAT gateway, public IPv4) · https://aws.amazon.com/kms/pricing/
STANDING_COSTS = {
    "aws_nat_gateway": "NAT gateway: an hourly charge, plus data processed",
    "aws_eip": "public IPv4 address: an hourly charge",
    "aws_kms_key": "KMS key: a monthly charge",
}


def _short(text: Any) -> str:
    """``${aws_sns_topic.alert-topic_8C7D3EFD.arn}`` -> ``aws_sns_topic.alert-topic.arn``."""
    return _REFERENCE.sub(lambda m: f"{m.group(1)}.{m.group(2).rsplit('_', 1)[0]}.{m.group(3)}", str(text))


def _resources(stack: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return stack.get("resource", {}).get(kind, {})


def _ref(kind: str, name: str, attribute: str) -> str:
    return f"${{{kind}.{name}.{attribute}}}"


# --- the state machine as a flowchart ---------------------------------------------------------------


def _states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _states(branch["States"])


def flowchart_edges(definition: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Every transition of ``definition`` and its nested branches: ``(from, to, label)``."""
    edges: list[tuple[str, str, str]] = [("start", definition["StartAt"], "")]
    for name, state in _states(definition["States"]):
        for branch in state.get("Branches", []):
            edges.append((name, branch["StartAt"], "branch"))
        if "Next" in state:
            edges.append((name, state["Next"], ""))
        for choice in state.get("Choices", []):
            edges.append((name, choice["Next"], _condition(choice)))
        if "Default" in state:
            edges.append((name, state["Default"], "otherwise"))
        for catch in state.get("Catch", []):
            edges.append((name, catch["Next"], "catch " + ", ".join(catch["ErrorEquals"])))
        for retry in state.get("Retry", []):
            edges.append((name, name, f"retry ×{retry['MaxAttempts']}: " + ", ".join(retry["ErrorEquals"])))
    return edges


def _condition(rule: dict[str, Any]) -> str:
    for operator in ("And", "Or"):
        if operator in rule:
            return f" {operator.lower()} ".join(_condition(inner) for inner in rule[operator])
    variable = rule.get("Variable", "")
    for key, value in rule.items():
        if key not in ("Variable", "Next"):
            return f"{variable.rsplit('.', 1)[-1]} {key} {json.dumps(value)}"
    return variable


def flowchart(definition: dict[str, Any]) -> str:
    """A Mermaid flowchart of every state and transition; parallel branches as subgraphs."""
    lines = ["flowchart TD", '  start(["start"])']

    def node(name: str, state: dict[str, Any]) -> str:
        kind = state["Type"]
        label = f"{name}<br/><small>{kind}</small>"
        shapes = {"Choice": ('{"', '"}'), "Fail": ('[["', '"]]'), "Pass": ('("', '")')}
        left, right = shapes.get(kind, ('["', '"]'))
        return f"  {name}{left}{label}{right}"

    def declare(states: dict[str, Any], depth: int) -> None:
        for name, state in states.items():
            lines.append(node(name, state))
            for index, branch in enumerate(state.get("Branches", [])):
                lines.append(f'  subgraph {name}_branch{index}["{name}: branch {index + 1}"]')
                declare(branch["States"], depth + 1)
                lines.append("  end")

    declare(definition["States"], 0)
    for source, target, label in flowchart_edges(definition):
        arrow = "-.->" if label.startswith(("catch", "retry")) else "-->"
        text = label.replace('"', "'")
        lines.append(f'  {source} {arrow}|"{text}"| {target}' if label else f"  {source} {arrow} {target}")
    return "\n".join(lines)


# --- the page --------------------------------------------------------------------------------------


def _job_name(definition: dict[str, Any]) -> str:
    for _, state in _states(definition["States"]):
        payload = state.get("Parameters", {}).get("Payload", {})
        if isinstance(payload, dict) and "job" in payload:
            return str(payload["job"])
    return "?"


def _schedule(stack: dict[str, Any], machine_arn: str) -> tuple[str, str | None, str]:
    """``(expression, time zone or None, what schedules it)`` for the state machine."""
    # The rules whose targets start this state machine (read once: a stack has a target per rule).
    targeted = {
        t.get("rule") for t in _resources(stack, "aws_cloudwatch_event_target").values() if t.get("arn") == machine_arn
    }
    for rule_name, rule in _resources(stack, "aws_cloudwatch_event_rule").items():
        if _ref("aws_cloudwatch_event_rule", rule_name, "name") in targeted and "schedule_expression" in rule:
            return rule["schedule_expression"], None, f"EventBridge rule {rule['name']} ({rule['state'].lower()})"
    for schedule in _resources(stack, "aws_scheduler_schedule").values():
        if schedule["target"]["arn"] == machine_arn:
            state = schedule["state"].lower()
            return (
                schedule["schedule_expression"],
                schedule["schedule_expression_timezone"],
                f"EventBridge Scheduler schedule {schedule['name']} ({state})",
            )
    return "?", None, "no schedule"


def _next_runs(expression: str, zone: str | None, after: datetime) -> str:
    try:
        return parse_schedule(expression).describe_next_runs(after, zone=zone)
    except ScheduleError:
        return "?"


def _task(stack: dict[str, Any], definition: dict[str, Any]) -> str:
    parameters = definition["States"]["RunJob"]["Branches"][0]["States"]["RunTask"]["Parameters"]
    match = _REFERENCE.fullmatch(parameters["TaskDefinition"])
    body = _resources(stack, "aws_ecs_task_definition").get(match.group(2), {}) if match else {}
    (container,) = json.loads(body.get("container_definitions", '[{"image": "?", "command": []}]'))
    command = " ".join(container.get("command", []))
    return f"{body.get('cpu', '?')} cpu / {body.get('memory', '?')} MiB; image `{container['image']}`; `{command}`"


def _retry_timeline(definition: dict[str, Any]) -> str:
    stages = [name for name in definition["States"] if name.startswith("RunJob")]
    retry = definition["States"]["RunJob"]["Retry"][0]
    policy = RetryPolicy(
        max_attempts=retry["MaxAttempts"],
        interval_seconds=retry["IntervalSeconds"],
        backoff_rate=retry["BackoffRate"],
        max_delay_seconds=retry.get("MaxDelaySeconds"),
    )
    elapsed, steps = 0.0, ["launch 1 at 0 s"]
    for number, wait in enumerate(policy.waits(), start=2):
        elapsed += wait
        steps.append(f"launch {number} after {format_duration(int(elapsed))}")
    each = f" on each of {len(stages)} capacity sources" if len(stages) > 1 else ""
    jitter = " (random waits up to these: FULL jitter)" if retry.get("JitterStrategy") == "FULL" else ""
    return (
        ", ".join(steps) + f"{each}{jitter}; rides out a capacity outage of "
        f"{format_duration(int(elapsed * len(stages)))}"
    )


def _on_failure(stack: dict[str, Any], definition: dict[str, Any], machine_arn: str) -> str:
    channels = [
        branch["StartAt"].removeprefix("Alert").lower() for branch in definition["States"]["NotifyFailure"]["Branches"]
    ]
    alarms = sorted(
        alarm["metric_name"]
        for alarm in _resources(stack, "aws_cloudwatch_metric_alarm").values()
        if alarm.get("dimensions", {}).get("StateMachineArn") == machine_arn
    )
    return f"alert to {', '.join(channels)}; then FAILED, and alarms on {', '.join(alarms)} notify the alert topic"


def _job_section(stack: dict[str, Any], name: str, machine: dict[str, Any], after: datetime) -> list[str]:
    definition = json.loads(machine["definition"])
    arn = _ref("aws_sfn_state_machine", name, "arn")
    expression, zone, how = _schedule(stack, arn)
    return [
        f"### {_job_name(definition)}",
        "",
        "| | |",
        "|---|---|",
        f"| schedule | `{expression}`{f' in {zone}' if zone else ' (UTC)'}: {how} |",
        f"| next runs | {_next_runs(expression, zone, after)} |",
        f"| task | {_task(stack, definition)} |",
        f"| state machine | {machine['name']} |",
        f"| retries | {_retry_timeline(definition)} |",
        f"| on failure | {_on_failure(stack, definition, arn)} |",
        "",
        "```mermaid",
        flowchart(definition),
        "```",
        "",
    ]


def _roles(stack: dict[str, Any]) -> list[str]:
    lines = ["| role | trusted by | may | on | when |", "|---|---|---|---|---|"]
    policies = {body["role"]: json.loads(body["policy"]) for body in _resources(stack, "aws_iam_role_policy").values()}
    attached: dict[str, list[str]] = {}
    for body in _resources(stack, "aws_iam_role_policy_attachment").values():
        attached.setdefault(body["role"], []).append(body["policy_arn"])
    for name, role in sorted(_resources(stack, "aws_iam_role").items(), key=lambda item: item[1]["name"]):
        (trust,) = json.loads(role["assume_role_policy"])["Statement"]
        trusted = trust["Principal"]["Service"]
        conditions = ", ".join(key for operator in trust.get("Condition", {}).values() for key in operator)
        trusted += f" ({conditions})" if conditions else ""
        statements = policies.get(_ref("aws_iam_role", name, "id"), {}).get("Statement", [])
        managed = attached.get(_ref("aws_iam_role", name, "name"), [])
        if not statements and not managed:
            lines.append(f"| {role['name']} | {trusted} | nothing | | |")
        for index, statement in enumerate(statements):
            who = f"{role['name']} | {trusted}" if index == 0 else " | "
            actions = ", ".join(f"`{action}`" for action in statement["Action"])
            resources = "<br/>".join(f"`{_short(resource)}`" for resource in statement["Resource"])
            when = "<br/>".join(
                f"`{key}` {operator} `{_short(value)}`"
                for operator, values in statement.get("Condition", {}).items()
                for key, value in values.items()
            )
            lines.append(f"| {who} | {actions} | {resources} | {when} |")
        for index, arn in enumerate(managed, start=len(statements)):
            who = f"{role['name']} | {trusted}" if index == 0 else " | "
            lines.append(f"| {who} | what the managed policy `{arn}` allows | | |")
    return lines


def review(stack: dict[str, Any], *, stack_name: str, region: str, after: datetime) -> str:
    """The review page for a synthesized stack."""
    counts = Counter({kind: len(items) for kind, items in stack.get("resource", {}).items()})
    lines = [
        f"# Review: stack `{stack_name}` ({region})",
        "",
        f"Generated by `make synth` from the synthesized `cdk.tf.json`: {sum(counts.values())} resources. "
        f"Next runs are counted from {after.astimezone(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "## Jobs",
        "",
    ]
    machines = sorted(_resources(stack, "aws_sfn_state_machine").items(), key=lambda item: item[1]["name"])
    for name, machine in machines:
        lines += _job_section(stack, name, machine, after)
    lines += ["## Roles", "", "What each role may do, on what, and when.", "", *_roles(stack), ""]
    lines += ["## Resources", "", "| type | count |", "|---|---|"]
    lines += [f"| {kind} | {count} |" for kind, count in sorted(counts.items())]
    standing = [
        f"- {what}: " + ", ".join(f"`{_short(_ref(kind, name, 'id'))}`" for name in sorted(_resources(stack, kind)))
        for kind, what in STANDING_COSTS.items()
        if _resources(stack, kind)
    ]
    lines += ["", "Charged while they exist, whether jobs run or not:", "", *(standing or ["- nothing"]), ""]
    return "\n".join(lines)
