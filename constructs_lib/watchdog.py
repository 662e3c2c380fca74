"""The watchdog: a Lambda that reports runs that never started, and the first run that works again."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from constructs import Construct

from constructs_lib.alert_function import LAMBDA_SOURCE, lambda_role, python_function, staged_source
from constructs_lib.alert_queue import AlertQueue
from constructs_lib.aws.cloudwatch_event_rule import CloudwatchEventRule
from constructs_lib.aws.cloudwatch_event_target import CloudwatchEventTarget
from constructs_lib.aws.lambda_permission import LambdaPermission
from constructs_lib.aws_environment import AwsEnvironment
from constructs_lib.dead_letter_queue import DeadLetterQueue
from constructs_lib.documents.execution_events import succeeded_pattern
from constructs_lib.documents.iam import render_statements
from constructs_lib.log_key import LogEncryption, log_group
from constructs_lib.model.naming import aws_name
from constructs_lib.scheduled_job import ScheduledJob
from constructs_lib.scheduler import TimeZoneSchedule
from lambda_src.contract import (
    ALERT_CHANNELS_VARIABLE,
    ALERT_QUEUE_URL_VARIABLE,
    STACK_NAME_VARIABLE,
    UNDELIVERED_QUEUE_URL_VARIABLE,
    WATCHED_JOBS_FILE,
)
from lambda_src.watchdog import INTERVAL_SECONDS

__all__ = ["HANDLER", "Watchdog", "watch_entry"]

HANDLER = "lambda_src.watchdog.handler"
TIMEOUT_SECONDS = 60
TICK = f"rate({INTERVAL_SECONDS // 60} minutes)"


def watch_entry(job: ScheduledJob, *, schedule_group: str | None) -> dict[str, Any]:
    """What the watchdog knows of one job (``lambda_src.watchdog.Watched``): names, not ARNs."""
    spec = job.job
    entry: dict[str, Any] = {
        "job": spec.name,
        "state_machine": job.state_machine.name,
        "schedule": spec.schedule,
        "timezone": spec.timezone,
        "grace_seconds": spec.grace_seconds,
    }
    if spec.warn_after_seconds is not None:
        entry["warn_after_seconds"] = spec.warn_after_seconds
    if isinstance(job.schedule, TimeZoneSchedule):
        entry |= {"schedule_name": job.schedule.schedule_name, "schedule_group": schedule_group}
    else:
        entry["rule"] = job.schedule.schedule_name
    return entry


class Watchdog(Construct):
    """A Lambda (the alert function's code, handler ``lambda_src.watchdog.handler``) invoked every
    5 minutes, that reports each enabled job's runs that did not start within its grace period,
    and (``recoveries``) invoked when a run of the stack succeeds, that reports a job working
    again. Its alerts go to ``alert_queue`` for each of ``channels``. Its role may list the jobs'
    executions, read their rules and schedules and count ``undelivered``'s messages: named, each.
    Two alarms notify ``topic`` when it stops being invoked or keeps failing (``alarm.py``).
    Exposes ``function_name``, ``watched`` (the list it checks) and ``tick_rule``."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        stack_name: str,
        aws: AwsEnvironment,
        jobs: Sequence[ScheduledJob],
        schedule_group: str | None,
        alert_queue: AlertQueue,
        channels: Sequence[str],
        undelivered: DeadLetterQueue,
        recoveries: bool,
        log_retention_days: int = 30,
        log_key: LogEncryption | None = None,
        tracing: bool = False,
    ) -> None:
        super().__init__(scope, id_)
        self.name = aws_name(name, kind="lambda_function")
        watched_jobs = [job for job in jobs if job.job.enabled]
        self.watched = [watch_entry(job, schedule_group=schedule_group) for job in watched_jobs]
        self.log_group = log_group(
            self, name=f"/aws/lambda/{self.name}", retention_days=log_retention_days, key=log_key
        )
        machines = [aws.arn("states", f"stateMachine:{job.state_machine.name}") for job in watched_jobs]
        statements = render_statements("states:listRuns", state_machines=machines)
        rules = [aws.arn("events", f"rule/{entry['rule']}") for entry in self.watched if "rule" in entry]
        if rules:
            statements += render_statements("events:readRules", rules=rules)
        schedules = [
            aws.arn("scheduler", f"schedule/{entry['schedule_group']}/{entry['schedule_name']}")
            for entry in self.watched
            if "schedule_name" in entry
        ]
        if schedules:
            statements += render_statements("scheduler:readSchedules", schedules=schedules)
        statements += render_statements("sqs:countUndelivered", queue=undelivered.arn)
        statements += render_statements("sqs:queueAlerts", queue=alert_queue.arn)
        self.role = lambda_role(
            self,
            name=name,
            description="The scheduled jobs' watchdog: reports runs that never started, and recoveries",
            log_group=self.log_group,
            statements=statements,
            tracing=tracing,
        )
        zones = sorted({job.job.timezone for job in watched_jobs if job.job.timezone})
        files = {WATCHED_JOBS_FILE: json.dumps(self.watched, indent=1, sort_keys=True) + "\n"}
        self.function = python_function(
            self,
            name=self.name,
            description="Reports scheduled runs that never started, and jobs that work again",
            role=self.role,
            log_group=self.log_group,
            handler=HANDLER,
            package=staged_source(LAMBDA_SOURCE, zones, files=files),
            timeout=TIMEOUT_SECONDS,
            reserved_concurrency=2,
            environment={
                STACK_NAME_VARIABLE: stack_name,
                ALERT_QUEUE_URL_VARIABLE: alert_queue.url,
                ALERT_CHANNELS_VARIABLE: ",".join(channels),
                UNDELIVERED_QUEUE_URL_VARIABLE: undelivered.queue.url,
            },
            tracing=tracing,
        )
        self.function_name: str = self.function.function_name
        self.tick_rule = self._invoked_by(
            "tick",
            aws,
            name=aws_name(name, "tick", kind="event_rule"),
            description=f"Every {INTERVAL_SECONDS // 60} minutes: look for scheduled runs that did not start",
            schedule_expression=TICK,
        )
        self.recovery_rule = None
        if recoveries:
            # The stack's state machines are named <stack>-<job>; the watchdog ignores any other.
            pattern = succeeded_pattern(aws.arn("states", f"stateMachine:{stack_name}-"))
            self.recovery_rule = self._invoked_by(
                "recovered",
                aws,
                name=aws_name(name, "recovered", kind="event_rule"),
                description="Runs that succeeded: the first after a failure is a recovery",
                event_pattern=json.dumps(pattern, sort_keys=True),
            )

    def _invoked_by(self, id_: str, aws: AwsEnvironment, *, name: str, **rule: Any) -> CloudwatchEventRule:
        """A rule that invokes the function, and the permission for that rule only."""
        event_rule = CloudwatchEventRule(self, f"{id_}-rule", name=name, **rule)
        CloudwatchEventTarget(self, f"{id_}-target", rule=event_rule.name, target_id="watchdog", arn=self.function.arn)
        LambdaPermission(
            self,
            f"{id_}-permission",
            statement_id=name[:100],
            action="lambda:InvokeFunction",
            function_name=self.function_name,
            principal="events.amazonaws.com",
            source_arn=event_rule.arn,
            source_account=aws.account_id,
        )
        return event_rule
