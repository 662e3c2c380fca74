"""Synthesize the scheduled-jobs stack from jobs.toml (or $JOBS_CONFIG) into cdktf.out.

    python main.py                  # what `make synth` and `cdktf synth` run
    python main.py --stack-folder   # print where the stack is synthesized (for `make test-alert`)

A bad config is reported, one line per problem, before the AWS provider bindings are imported;
nothing is written and the previous cdktf.out stays as it was. A good one is synthesized into a
staging folder that replaces cdktf.out only once synthesis has succeeded.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import warnings as warnings_module
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from constructs_lib.model.alert_channels import channel_settings
from constructs_lib.model.config import Config, ConfigError, JobSpec, job_default_retry, load_config
from constructs_lib.model.naming import alert_queue_name, alert_topic_name
from constructs_lib.model.schedule_expression import format_duration
from lambda_src.contract import missed_run_reported_within

ROOT = Path(__file__).resolve().parent
DEFAULT_CONFIG = ROOT / "jobs.toml"
# EventBridge's default quota of rules per event bus (adjustable; the account's other rules on the
# bus count too). https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
DEFAULT_BUS_RULES_QUOTA = 300


def config_path() -> Path:
    return Path(os.environ.get("JOBS_CONFIG") or DEFAULT_CONFIG)


def output_dir() -> Path:
    # The cdktf CLI says where it wants the output; on our own we write ./cdktf.out.
    return Path(os.environ.get("CDKTF_OUTDIR") or "cdktf.out")


def synthesize(config: Config, outdir: Path) -> Path:
    """Synthesize ``config`` into ``outdir``, replacing it only on success. Returns the stack folder."""
    from constructs_lib._provider import use_lean_provider_import

    use_lean_provider_import()  # only the provider modules in use: about 20 s less
    from cdktf import App  # the AWS provider loads here, after the config is known to be valid

    from constructs_lib.stack import ScheduledJobsStack

    outdir = outdir.resolve()
    outdir.parent.mkdir(parents=True, exist_ok=True)
    # What a run that was killed mid-synth left behind (a SIGKILL runs no cleanup).
    for stale in outdir.parent.glob(f".{outdir.name}.*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.", dir=outdir.parent))
    try:
        app = App(outdir=str(staging))
        ScheduledJobsStack(app, config=config, local_state_path=local_state_path(config, outdir))
        app.synth()
        previous = outdir.with_name(f".{outdir.name}.previous")
        shutil.rmtree(previous, ignore_errors=True)
        if outdir.exists():
            outdir.rename(previous)
        staging.rename(outdir)
        shutil.rmtree(previous, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return outdir / "stacks" / config.stack.name


def stack_json(config: Config) -> dict[str, Any]:
    """The stack's Terraform JSON as ``cdktf.Testing`` synthesizes it: deterministic, and no file
    written. The tests and the user's snapshot (``tools/stack-snapshot``) compare it."""
    from constructs_lib._provider import use_lean_provider_import

    use_lean_provider_import()
    from cdktf import Testing

    from constructs_lib.stack import ScheduledJobsStack

    return json.loads(Testing.synth(ScheduledJobsStack(Testing.app(), config=config)))


def local_state_path(config: Config, outdir: Path) -> str:
    """Where Terraform keeps a local state: ``terraform.<stack>.tfstate`` at the project's root,
    outside the output folder (which every synth replaces), written relative to the stack's
    folder, so that a clone elsewhere finds its own."""
    state = ROOT / f"terraform.{config.stack.name}.tfstate"
    return os.path.relpath(state, outdir.resolve() / "stacks" / config.stack.name)


def now() -> datetime:
    """The time the preview counts from: now, or ``SOURCE_DATE_EPOCH`` (the reproducible-builds
    convention, https://reproducible-builds.org/specs/source-date-epoch/) when it is set."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    return datetime.fromtimestamp(int(epoch), tz=UTC) if epoch else datetime.now(tz=UTC)


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


def read_stack(stack_dir: Path) -> dict[str, Any] | None:
    """The synthesized Terraform JSON; ``None`` when `cdktf synth --hcl` asked for HCL (cdk.tf)."""
    json_file = stack_dir / "cdk.tf.json"
    return json.loads(json_file.read_text()) if json_file.exists() else None


def summary(
    config: Config, stack_dir: Path, synthesized: dict[str, Any] | None, *, after: datetime | None = None
) -> str:
    """What was written, and what will run when: for a person reading the terminal."""
    after = after or now()
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
                f"{job.cpu} cpu / {job.memory} MiB",
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
    return (
        f"watched: a run not started {format_duration(grace)} after its time is reported within "
        f"{format_duration(missed_run_reported_within(grace))}; recovery notices {'on' if recoveries else 'off'}"
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


def warnings(config: Config) -> list[str]:
    """What is allowed but probably not meant."""
    found = []
    alert = config.alert
    if not (alert.emails or alert.chat_channels):
        found.append(
            "no alert reaches a person: a failed run is only logged, and its alarms notify a topic nobody is "
            "subscribed to. Set [alert] emails, webhook_ssm_parameter, chatwork_room_id, teams_webhook_ssm_parameter "
            "or pagerduty_routing_key_ssm_parameter (docs/alerts.md)."
        )
    for index, job in enumerate(config.jobs):
        found += [f"{job_label(index, job)}: {text}" for text in job_warnings(job)]
    return found


# Grants that hand the container the account: allowed (the job's author decides) but said aloud.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html
BROAD_POLICIES = ("arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/IAMFullAccess")


def grant_warnings(job: JobSpec) -> list[str]:
    """The job's task role grants that amount to control of the account."""
    found = [
        f"task_role_policy_arns attaches {arn}: the container may do anything that policy allows, to the "
        "whole account. Grant only what the job uses (task_role_statements)."
        for arn in job.task_role_policy_arns
        if arn.replace(":aws-cn:", ":aws:").replace(":aws-us-gov:", ":aws:") in BROAD_POLICIES
    ]
    for index, statement in enumerate(job.task_role_statements):
        anywhere = "*" in statement.resources
        # Every IAM action (it can write its own policy), or IAM and AssumeRole on any resource.
        broad = [
            action
            for action in statement.actions
            if action.lower() == "iam:*" or (anywhere and action.lower().startswith(("iam:", "sts:assumerole")))
        ]
        if broad:
            found.append(
                f"task_role_statements[{index}] grants {', '.join(broad)} on {', '.join(statement.resources)}: the "
                "container may then give itself any permission (privilege escalation). Name the roles it may "
                "pass or assume, and the IAM actions it needs."
            )
    return found


def parliament_findings(job: JobSpec) -> list[str]:
    """parliament's findings on the job's own grants (unknown actions, actions that take no such
    resource, ...): the project's own policies are linted by the tests; a user's are linted here."""
    if not job.task_role_statements:
        return []
    try:
        with warnings_module.catch_warnings():
            warnings_module.simplefilter("ignore")  # parliament imports pkg_resources, which warns
            from parliament import analyze_policy_string
    except ImportError:  # make synth installs it; a hand-made environment may lack it
        return ["task_role_statements were not linted: parliament is not installed (make synth installs it)"]
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": list(statement.actions), "Resource": list(statement.resources)}
            for statement in job.task_role_statements
        ],
    }
    found = []
    for finding in analyze_policy_string(json.dumps(document)).findings:
        detail = finding.detail if isinstance(finding.detail, str) else json.dumps(finding.detail)
        detail = detail if len(detail) <= 200 else detail[:199] + "…"
        found.append(f"task_role_statements, parliament {finding.issue}: {detail}")
    return found


def job_warnings(job: JobSpec) -> list[str]:
    """What is allowed in one job but probably not meant."""
    found = grant_warnings(job) + parliament_findings(job)
    if numbers := job.parsed_schedule.weekday_numbers():
        written, eventbridge, unix = numbers
        found.append(
            f"day-of-week {written} in {job.schedule} counts from Sunday in EventBridge (1 = SUN, 7 = SAT), so "
            f"{written} = {eventbridge}; in Unix cron the same numbers mean {unix}. Write the days by name "
            f"({unix} or {eventbridge}, as you mean), which reads the same everywhere."
        )
    period = job.parsed_schedule.period_seconds
    if job.concurrency != "forbid" or period is None:
        return found
    defaulted = job.retry is None or "max_attempts" not in job.retry.model_fields_set
    if defaulted and job.retry_policy.max_attempts == 0:
        roomy = job_default_retry(
            gap_seconds=job.shortest_gap_seconds, sources=len(job.capacity), timeout_seconds=0, forbid=False
        )
        found.append(
            f"timeout_seconds {format_duration(job.timeout_seconds)} leaves no time for launch retries before the "
            f"next run of {job.schedule} ({format_duration(period)} later): the default policy keeps a run inside "
            "its slot, so it launches once, and a capacity shortage alerts at once. Shorten timeout_seconds to the "
            f'longest the job should take, or set concurrency = "allow" (the default policy would then make '
            f"{roomy.describe()})."
        )
    elif job.longest_run_seconds > period:
        found.append(
            f"a run can last {format_duration(job.longest_run_seconds)} (retry waits, and timeout_seconds "
            f"{format_duration(job.timeout_seconds)} per run of the task), longer than the "
            f"{format_duration(period)} between runs of {job.schedule}: a run due while the previous one still "
            'runs launches nothing and alerts (concurrency = "forbid"). Shorten timeout_seconds, or set '
            'concurrency = "allow" if runs may overlap.'
        )
    return found


def job_label(index: int, job: JobSpec) -> str:
    """How messages name a job: ``jobs[0] (daily-report)``."""
    return f"jobs[{index}] ({job.name})"


def stack_warnings(synthesized: dict[str, Any] | None) -> list[str]:
    """What the synthesized stack may run into on deploy."""
    rules = len((synthesized or {}).get("resource", {}).get("aws_cloudwatch_event_rule", {}))
    if rules <= DEFAULT_BUS_RULES_QUOTA:
        return []
    return [
        f"the stack puts {rules} rules on the default event bus (a schedule without a timezone is one, and each "
        f"job's ended-early alert is one), more than EventBridge's default quota of {DEFAULT_BUS_RULES_QUOTA} rules "
        "per bus, which the account's other rules share: the deploy fails with LimitExceededException unless "
        'the quota is raised (Service Quotas, Amazon EventBridge, "Rules"). A job with a timezone is scheduled '
        "by EventBridge Scheduler, which makes no rule."
    ]


def write_review(config: Config, stack_dir: Path, synthesized: dict[str, Any] | None) -> Path | None:
    """``cdktf.out/review.md`` from the synthesized stack (none for an HCL synth)."""
    from constructs_lib.documents.review import review

    if synthesized is None:
        return None
    page = stack_dir.parent.parent / "review.md"
    text = review(synthesized, stack_name=config.stack.name, region=config.stack.region, after=now())
    page.write_text(text)
    return page


def load_or_report(path: Path) -> Config | None:
    """The config at ``path``, or ``None`` once its problems are printed, one line each."""
    try:
        return load_config(path)
    except ConfigError as error:
        count = len(error.problems)
        print(f"error: {path} has {count} problem{'s' if count != 1 else ''}; nothing was written:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


def main(argv: list[str]) -> int:
    if argv not in ([], ["--stack-folder"]):
        print(f"usage: {Path(__file__).name} [--stack-folder]", file=sys.stderr)
        return 2
    path = config_path()
    config = load_or_report(path)
    if config is None:
        return 2
    if argv == ["--stack-folder"]:
        print(output_dir() / "stacks" / config.stack.name)
        return 0
    try:
        stack_dir = synthesize(config, output_dir())
    except Exception as error:  # a construct check or a jsii error: say it, keep cdktf.out
        print(f"error: synthesis failed, {output_dir()} was left as it was: {error}", file=sys.stderr)
        return 1
    synthesized = read_stack(stack_dir)
    print(summary(config, stack_dir, synthesized))
    try:
        page = write_review(config, stack_dir, synthesized)
    except Exception as error:  # the page is a convenience: the stack is written either way
        print(f"warning: the review page could not be written: {error!r}", file=sys.stderr)
    else:
        if page is not None:
            print(f"Review page: {page}")
    for warning in warnings(config) + stack_warnings(synthesized):
        print(f"warning: {warning}", file=warning_stream())
    return 0


def warning_stream() -> TextIO:
    """Where warnings go: stderr, except under the cdktf CLI (``cdktf synth/diff/deploy``, which sets
    ``CDKTF_CONTEXT_JSON`` for the app it runs), which shows an app's stdout as it is but prefixes
    each line of its stderr with "[ERROR]"."""
    return sys.stdout if "CDKTF_CONTEXT_JSON" in os.environ else sys.stderr


def _stop(signum: int, frame: object) -> None:
    """SIGTERM (a CI job cancelled, `timeout`) ends the run like Ctrl-C: cleanups run, the staging
    folder goes, and the previous output stays."""
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop)
    sys.exit(main(sys.argv[1:]))
