"""What `make synth` prints after a synth: what was written, and what will run when, for a person
reading the terminal. Pure: the config and the synthesized JSON in, text out."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from constructs_lib.model.alert_channels import channel_settings
from constructs_lib.model.config import Config, JobSpec
from constructs_lib.model.naming import alert_queue_name, alert_topic_name
from constructs_lib.model.schedule_expression import format_duration
from lambda_src.contract import missed_run_reported_within

__all__ = ["alert_routes", "next_run_lines", "next_runs", "retry_source", "summary", "watched"]


def next_runs(job: JobSpec, after: datetime, count: int = 3) -> str:
    """The job's next runs in its time zone and in UTC, in one line."""
    return job.parsed_schedule.describe_next_runs(after, zone=job.timezone, count=count)


def next_run_lines(job: JobSpec, after: datetime) -> list[str]:
    """The summary's lines for the job's next runs: enough to show the pattern (a week of a daily
    schedule, so a weekday-only one shows its weekend), one per line."""
    schedule = job.parsed_schedule
    zone = f" ({job.timezone}, EventBridge Scheduler)" if job.timezone else ""
    described = next_runs(job, after, count=schedule.preview_count)
    if schedule.rate_seconds is not None or described == "no more runs":
        return [f"  {job.name} next{zone}: {described}"]
    return [f"  {job.name} next{zone}:", *(f"    {run}" for run in described.split("; "))]


def summary(config: Config, stack_dir: Path, synthesized: dict[str, Any] | None, *, after: datetime) -> str:
    """What was written, and what will run when: for a person reading the terminal."""
    resources = sum(len(items) for items in synthesized.get("resource", {}).values()) if synthesized else "(HCL)"
    lines = [
        f"Synthesized stack '{config.stack.name}' ({config.stack.region}) into {stack_dir}",
        f"  {resources} resources, {len(config.jobs)} job(s):",
        "",
    ]
    rows = [("job", "schedule", "zone", "size", "timeout", "launches, waiting at most", "runs")]
    for job in config.jobs:
        retry = job.retry_policy
        sources = f" x{len(job.capacity)} capacity" if len(job.capacity) > 1 else ""
        rows.append(
            (
                job.name,
                job.schedule + ("" if job.enabled else " (disabled)"),
                job.timezone or "UTC",
                f"{job.cpu} cpu / {job.memory} MiB" + (f" {job.architecture}" if job.architecture else ""),
                format_duration(job.timeout_seconds),
                f"{1 + retry.max_attempts}{sources}, {format_duration(int(job.retry_window_seconds))}",
                "one at a time" if job.concurrency == "forbid" else "may overlap",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines += [
        "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    lines.append("")
    for job in config.jobs:
        lines += next_run_lines(job, after)
    for job in config.jobs:
        lines.append(f"  {job.name} launch retries: {job.retry_policy.describe()} ({retry_source(job)})")
    for job in config.jobs:
        lines.append(f"  {job.name} {watched(job, recoveries=config.alert.recoveries)}")
    lines.append(f"  alerts: {alert_routes(config)}")
    lines.append(f"Review: cd {stack_dir} && terraform init && terraform plan   (or: cdktf diff / cdktf deploy)")
    return "\n".join(lines)


def watched(job: JobSpec, *, recoveries: bool) -> str:
    """How the watchdog watches the job, in a line."""
    if not job.enabled:
        return "not watched (enabled = false)"
    grace = job.grace_seconds
    heads_up = (
        f"; a run still going after {format_duration(job.warn_after_seconds)} is announced"
        if job.warn_after_seconds
        else ""
    )
    return (
        f"watched: a run not started {format_duration(grace)} after its time is reported within "
        f"{format_duration(missed_run_reported_within(grace))}; recovery notices {'on' if recoveries else 'off'}"
        + heads_up
    )


def retry_source(job: JobSpec) -> str:
    """Where the job's retry policy comes from: ``[jobs.retry]``, the default, or both."""
    given = sorted(job.retry.model_fields_set) if job.retry is not None else []
    if not given:
        return "the default policy"
    if len(given) == len(type(job.retry).model_fields):
        return "all from [jobs.retry]"
    return f"[jobs.retry] sets {', '.join(given)}; the rest is the default policy"


def alert_routes(config: Config) -> str:
    """Where a failed run's alert goes, in one line."""
    alert = config.alert
    routes = ["log", f"SNS topic {alert_topic_name(config.stack.name)}"]
    if alert.emails:
        routes[-1] += f" (e-mail to {', '.join(alert.emails)}; each confirms AWS's subscription mail first)"
    routes += [setting.route for setting in channel_settings(alert)]
    grouped = f"grouped over {alert.group_seconds} s" if alert.group_seconds else "not grouped"
    return ", ".join(routes) + f"; all but the log through queue {alert_queue_name(config.stack.name)} ({grouped})"
