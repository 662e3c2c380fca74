"""``cdktf.out/review.md``: what a stack will run, when, and what happens when it fails, for a
reviewer who would rather not read the Terraform JSON.

Pure: it reads the synthesized stack (``cdk.tf.json`` as a dict), not the config, so it shows what
Terraform will really get. GitHub renders its Mermaid flowcharts.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from constructs_lib.documents.execution_events import is_succeeded_pattern
from constructs_lib.model.retry_policy import RetryPolicy
from constructs_lib.model.schedule_expression import ScheduleError, format_duration, parse_schedule
from constructs_lib.reporting.flowchart import flowchart, states_of
from lambda_src.contract import missed_run_reported_within

__all__ = ["compact_flowchart", "review"]

_REFERENCE = re.compile(r"\$\{(?:data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}")
# What is charged while it exists, whatever the jobs do: US East (N. Virginia) list prices, a
# month of 730 hours; other regions differ by a few tens of percent. Each with the one assumption
# its figure makes, and the AWS page it comes from.
HOURS_A_MONTH = 730
STANDING_COSTS = {
    "aws_nat_gateway": (
        "NAT gateway",
        0.045 * HOURS_A_MONTH,
        "$0.045 an hour, plus $0.045 per GB it processes (image pulls, logs)",
        "https://aws.amazon.com/vpc/pricing/",
    ),
    "aws_eip": (
        "public IPv4 address",
        0.005 * HOURS_A_MONTH,
        "$0.005 an hour for each address, in use or not",
        "https://aws.amazon.com/vpc/pricing/",
    ),
    "aws_kms_key": (
        "KMS key",
        1.00,
        "$1 a month for each customer-managed key, plus $0.03 per 10,000 requests",
        "https://aws.amazon.com/kms/pricing/",
    ),
    "aws_cloudwatch_metric_alarm": (
        "CloudWatch alarm",
        0.10,
        "$0.10 a month for each standard-resolution alarm, the first 10 of the account free",
        "https://aws.amazon.com/cloudwatch/pricing/",
    ),
}
# What the data sources of every stack read, shown as the placeholders a reader resolves at a glance.
_RESOLVED = {
    ("aws_partition", "partition"): "${partition}",
    ("aws_region", "name"): "${region}",
    ("aws_region", "region"): "${region}",
    ("aws_caller_identity", "account_id"): "${account}",
}


def _short(text: Any) -> str:
    """An ARN as a reviewer reads it: the partition, region and account data sources as
    ``${partition}``, ``${region}``, ``${account}``, and a resource's attribute as
    ``<aws_sns_topic.alert-topic.arn>`` (``${aws_sns_topic.alert-topic_8C7D3EFD.arn}`` in the JSON)."""

    def shown(match: re.Match[str]) -> str:
        kind, name, attribute = match.groups()
        return _RESOLVED.get((kind, attribute)) or f"<{kind}.{name.rsplit('_', 1)[0]}.{attribute}>"

    return _REFERENCE.sub(shown, str(text))


def _resources(stack: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return stack.get("resource", {}).get(kind, {})


def _ref(kind: str, name: str, attribute: str) -> str:
    return f"${{{kind}.{name}.{attribute}}}"


def _job_name(definition: dict[str, Any]) -> str:
    for _, state in states_of(definition["States"]):
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


def _run_task(definition: dict[str, Any], stage: str = "RunJob") -> dict[str, Any]:
    """The RunTask state of a launch stage (``RunJob``, ``RunJobOnFargateSpot``, …)."""
    branch = definition["States"][stage]["Branches"][0]["States"]
    return branch[next(name for name in branch if name.startswith("RunTask"))]


def _container(stack: dict[str, Any], definition: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(task definition, its container)`` of the job."""
    match = _REFERENCE.fullmatch(_run_task(definition)["Parameters"]["TaskDefinition"])
    body = _resources(stack, "aws_ecs_task_definition").get(match.group(2), {}) if match else {}
    (container,) = json.loads(body.get("container_definitions", '[{"image": "?", "command": []}]'))
    return body, container


def _task(stack: dict[str, Any], definition: dict[str, Any]) -> str:
    """Size, and what changes the task's price or reach: its architecture, its disk, its volumes."""
    body, container = _container(stack, definition)
    command = " ".join(container.get("command", []))
    size = f"{body.get('cpu', '?')} cpu / {body.get('memory', '?')} MiB"
    if "runtime_platform" in body:
        size += f" {body['runtime_platform']['cpu_architecture']}"
    if "ephemeral_storage" in body:
        size += f", {body['ephemeral_storage']['size_in_gib']} GiB disk"
    mounts = {mount["sourceVolume"]: mount for mount in container.get("mountPoints", [])}
    for volume in body.get("volume", []):
        efs = volume.get("efs_volume_configuration")
        if efs:
            mount = mounts.get(volume["name"], {})
            through = efs.get("authorization_config", {}).get("access_point_id")
            size += f"; EFS `{efs['file_system_id']}`{f' through `{through}`' if through else ''} at "
            size += f"`{mount.get('containerPath', '?')}`{' (read-only)' if mount.get('readOnly') else ''}"
    return f"{size}; image `{container['image']}`; `{command}`"


def _tags(stack: dict[str, Any], definition: dict[str, Any]) -> list[str]:
    """A row for a job whose resources carry tags of their own, and whose tasks carry them."""
    body, _ = _container(stack, definition)
    if not body.get("tags"):
        return []
    shown = ", ".join(f"`{key} = {value}`" for key, value in sorted(body["tags"].items()))
    propagated = _run_task(definition)["Parameters"].get("PropagateTags") == "TASK_DEFINITION"
    carried = "; each run's tasks carry them" if propagated else ""
    return [f"| tags | {shown}, over the stack's{carried} |"]


def _names(stack: dict[str, Any], definition: dict[str, Any]) -> str:
    """The names, never the values, of the container's environment and secrets."""
    _, container = _container(stack, definition)
    plain = sorted(item["name"] for item in container.get("environment", []))
    secret = sorted(item["name"] for item in container.get("secrets", []))
    shown = [f"`{name}`" for name in plain] + [f"`{name}` (secret)" for name in secret]
    return ", ".join(shown) or "none"


def _stages(definition: dict[str, Any]) -> list[str]:
    """The launch stages, one per capacity source, in order: ``RunJob``, ``RunJobOnFargateSpot``."""
    return [name for name in definition["States"] if name.startswith("RunJob")]


def _source(definition: dict[str, Any], stage: str) -> str:
    """Where a stage launches: its launch type, or its capacity provider strategy's provider."""
    parameters = _run_task(definition, stage)["Parameters"]
    strategy = parameters.get("CapacityProviderStrategy")
    return strategy[0]["CapacityProvider"] if strategy else parameters.get("LaunchType", "?")


def _capacity(definition: dict[str, Any]) -> str:
    """Where the task is launched, in order."""
    return ", then ".join(_source(definition, stage) for stage in _stages(definition))


def _concurrency(definition: dict[str, Any]) -> str:
    if "CheckPreviousRun" in definition["States"]:
        return "one at a time: a run due while the previous one runs launches nothing and alerts"
    return "runs may overlap"


def _worst_case(definition: dict[str, Any]) -> str:
    """How long one run can last at worst: every retry wait on every capacity source, and the task
    running to its timeout once, again for each re-run, and for each launch retry when exit codes
    are retried (a launch that was never placed or never started takes no time)."""
    stages = _stages(definition)
    timeout = int(_run_task(definition)["TimeoutSeconds"])
    waits, runs = 0.0, 1
    for entry in definition["States"]["RunJob"]["Retry"]:
        waits += sum(_policy(entry).waits())
        if "Job.RetryableExit" in entry["ErrorEquals"] or "Job.TaskFailed" in entry["ErrorEquals"]:
            runs += entry["MaxAttempts"]
    waited = int(waits * len(stages))
    return (
        f"{format_duration(waited + runs * timeout)} ({format_duration(waited)} of retry waits, then {runs} × "
        f"the {format_duration(timeout)} timeout)"
    )


def _policy(retry: dict[str, Any]) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=retry["MaxAttempts"],
        interval_seconds=retry["IntervalSeconds"],
        backoff_rate=retry["BackoffRate"],
        max_delay_seconds=retry.get("MaxDelaySeconds"),
    )


def compact_flowchart(definition: dict[str, Any]) -> str:
    """The run at a glance: launch, retry, alert, fail; the full flowchart is the detail."""
    stages = _stages(definition)
    lines = ["flowchart LR"]
    if "CheckPreviousRun" in definition["States"]:
        lines += ['  guard{"previous run<br/>still running?"} -->|no| launch0', "  guard -->|yes| alert"]
    for index, stage in enumerate(stages):
        retries = definition["States"][stage]["Retry"][0]["MaxAttempts"]
        lines.append(f'  launch{index}["launch on {_source(definition, stage)}<br/>retried ×{retries}"]')
        lines.append(f'  launch{index} -->|"the task succeeded"| done(["SUCCEEDED"])')
        if index:
            lines.append(f"  launch{index - 1} -->|no capacity| launch{index}")
    last = len(stages) - 1
    lines += [
        f'  launch{last} -->|"gave up, or the job failed"| alert["alert every channel"]',
        '  alert --> fail[["FAILED: alarms fire"]]',
    ]
    return "\n".join(lines)


def _retry_timeline(definition: dict[str, Any]) -> str:
    stages = _stages(definition)
    retry = definition["States"]["RunJob"]["Retry"][0]
    policy = _policy(retry)
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
    queued = [channel for channel in channels if channel != "log"]
    window = _alert_queue_window(stack)
    if window is not None and queued and "log" in channels:
        grouping = f"grouped over {window} s" if window else "not grouped"
        how = f"alert to log at once, and to {', '.join(queued)} through the alert queue ({grouping}, retried for "
        how += "more than 24 hours)"
    else:
        how = f"alert to {', '.join(channels)}"
    return f"{how}; then FAILED, and alarms on {', '.join(alarms)} notify the alert topic"


def _alert_queue_window(stack: dict[str, Any]) -> int | None:
    """The alert queue's batching window (0 without one), or ``None`` without an alert queue (a
    queue with a redrive policy, read by an event source mapping)."""
    queues = {
        _ref("aws_sqs_queue", name, "arn")
        for name, queue in _resources(stack, "aws_sqs_queue").items()
        if queue.get("redrive_policy")
    }
    for mapping in _resources(stack, "aws_lambda_event_source_mapping").values():
        if mapping.get("event_source_arn") in queues:
            return int(mapping.get("maximum_batching_window_in_seconds") or 0)
    return None


def _watched(stack: dict[str, Any], job: str) -> str:
    """How the watchdog watches the job: its grace (the stack's ``jobs`` output), the worst-case
    delay of a missed run's alert, and whether a recovery is announced (the stack's rule for it)."""
    outputs = (stack.get("output", {}).get("jobs", {}).get("value", {}).get(job)) or {}
    grace = outputs.get("missed_run_grace_seconds")
    if grace is None:
        return "no: the job is disabled (enabled = false)"
    recoveries = any(
        is_succeeded_pattern(json.loads(rule["event_pattern"]))
        for rule in _resources(stack, "aws_cloudwatch_event_rule").values()
        if "event_pattern" in rule
    )
    within = format_duration(missed_run_reported_within(grace))
    warn = outputs.get("warn_after_seconds")
    heads_up = f"; a run still going after {format_duration(warn)} is announced" if warn else ""
    return (
        f"a run not started {format_duration(grace)} after its time is reported missed, within {within} at "
        f"worst; recovery notices {'on' if recoveries else 'off'}{heads_up}"
    )


def _job_section(stack: dict[str, Any], name: str, machine: dict[str, Any], after: datetime) -> list[str]:
    definition = json.loads(machine["definition"])
    arn = _ref("aws_sfn_state_machine", name, "arn")
    expression, zone, how = _schedule(stack, arn)
    return [
        f"### {_job_name(definition)}",
        "",
        "```mermaid",
        compact_flowchart(definition),
        "```",
        "",
        "| | |",
        "|---|---|",
        f"| schedule | `{expression}`{f' in {zone}' if zone else ' (UTC)'}: {how} |",
        f"| next runs | {_next_runs(expression, zone, after)} |",
        f"| task | {_task(stack, definition)} |",
        f"| environment and secrets (names) | {_names(stack, definition)} |",
        *_tags(stack, definition),
        f"| timeout | {format_duration(int(_run_task(definition)['TimeoutSeconds']))} per run of the task |",
        f"| concurrency | {_concurrency(definition)} |",
        f"| capacity, in order | {_capacity(definition)} |",
        f"| state machine | {machine['name']} |",
        f"| retries | {_retry_timeline(definition)} |",
        f"| worst-case duration | {_worst_case(definition)} |",
        f"| on failure | {_on_failure(stack, definition, arn)} |",
        f"| watched | {_watched(stack, _job_name(definition))} |",
        "",
        "<details><summary>Every state and transition</summary>",
        "",
        "```mermaid",
        flowchart(definition),
        "```",
        "",
        "</details>",
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
    lines += ["", *_standing_costs(stack), ""]
    return "\n".join(lines)


def _standing_costs(stack: dict[str, Any]) -> list[str]:
    """What is charged while it exists, whether jobs run or not, by the month."""
    rows, total = [], 0.0
    for kind, (what, monthly, assumption, page) in STANDING_COSTS.items():
        count = len(_resources(stack, kind))
        if count:
            total += count * monthly
            rows.append(f"| {what} | {count} | ${count * monthly:,.2f} | {assumption} ([prices]({page})) |")
    if not rows:
        return ["Charged while they exist, whether jobs run or not: nothing."]
    return [
        "## Standing costs",
        "",
        "Charged while they exist, whether jobs run or not, by the month (US East list prices, 730 hours; "
        "runs, logs and requests come on top):",
        "",
        "| what | count | a month | assumption |",
        "|---|---|---|---|",
        *rows,
        f"| in all | | ${total:,.2f} | |",
    ]
