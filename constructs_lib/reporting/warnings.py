"""What `make synth` warns about: what the config allows but probably does not mean, and what the
synthesized stack may run into on deploy. Pure but for parliament, imported when a job grants
its own statements."""

from __future__ import annotations

import json
import warnings as warnings_module
from typing import Any

from constructs_lib.model.alert_channels import CHAT_CHANNELS
from constructs_lib.model.config import Config, JobSpec, job_default_retry
from constructs_lib.model.schedule_expression import format_duration

__all__ = ["DEFAULT_BUS_RULES_QUOTA", "grant_warnings", "job_label", "job_warnings", "parliament_findings",
           "stack_warnings", "warnings"]  # fmt: skip

# EventBridge's default quota of rules per event bus (adjustable; the account's other rules on the
# bus count too). https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
DEFAULT_BUS_RULES_QUOTA = 300
# The keys that send alerts to a person: "emails, a, b or c".
_KEYS = ["emails", *(kind.key for kind in CHAT_CHANNELS)]
_CHANNEL_KEYS = f"{', '.join(_KEYS[:-1])} or {_KEYS[-1]}"


def warnings(config: Config) -> list[str]:
    """What is allowed but probably not meant."""
    found = []
    alert = config.alert
    if not (alert.emails or alert.chat_channels):
        found.append(
            "no alert reaches a person: a failed run is only logged, and its alarms notify a topic nobody is "
            f"subscribed to. Set [alert] {_CHANNEL_KEYS} (docs/alerts.md)."
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
