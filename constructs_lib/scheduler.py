"""Schedules in a time zone: EventBridge Scheduler schedules in the stack's schedule group."""

from __future__ import annotations

from constructs import Construct

from constructs_lib.aws.scheduler_schedule import SchedulerSchedule
from constructs_lib.aws.scheduler_schedule_group import SchedulerScheduleGroup
from constructs_lib.aws_environment import AwsEnvironment
from constructs_lib.dead_letter_queue import DeadLetterQueue
from constructs_lib.documents.iam import render_statements
from constructs_lib.documents.run_input import scheduler_input, start_retry
from constructs_lib.model.naming import aws_name
from constructs_lib.model.schedule_expression import Schedule
from constructs_lib.service_role import ServiceRole
from constructs_lib.state_machine import JobStateMachine

__all__ = ["ScheduleGroup", "TimeZoneSchedule"]


class ScheduleGroup(Construct):
    """The stack's EventBridge Scheduler schedule group; its ARN is what the schedules' roles
    trust (``aws:SourceArn``). Exposes ``name`` and ``arn``."""

    def __init__(self, scope: Construct, id_: str, *, name: str) -> None:
        super().__init__(scope, id_)
        self.name = aws_name(name, kind="schedule_group")
        self.group = SchedulerScheduleGroup(self, "group", name=self.name)
        self.arn: str = self.group.arn


class TimeZoneSchedule(Construct):
    """An EventBridge Scheduler schedule: ``cron(...)`` or ``rate(...)`` in ``timezone`` (IANA).

    Scheduler follows daylight saving: a local time that does not exist (spring forward) is
    skipped, one that happens twice (fall back) runs once. Its target starts the state machine with
    ``{"job", "scheduledTime", "scheduleExecutionId"}`` as input, through a role trusted by
    ``scheduler.amazonaws.com`` for this account's schedule group only, that may start this state
    machine and send to ``dead_letter_queue``. A start Step Functions does not accept is retried
    for one period of the schedule (at most an hour), then goes to that queue.
    https://docs.aws.amazon.com/scheduler/latest/UserGuide/what-is-scheduler.html
    ``schedule`` is the expression as ``parse_schedule`` checked it. Exposes ``schedule_name`` and ``arn``.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        job_name: str,
        schedule: Schedule,
        timezone: str,
        aws: AwsEnvironment,
        state_machine: JobStateMachine,
        group: ScheduleGroup,
        dead_letter_queue: DeadLetterQueue,
        enabled: bool = True,
        flexible_window_minutes: int | None = None,
        description: str = "",
    ) -> None:
        super().__init__(scope, id_)
        self.schedule_name = aws_name(name, kind="scheduler_schedule")
        self.role = ServiceRole(
            self,
            "role",
            name=aws_name(name, "scheduler", kind="iam_role"),
            service="scheduler.amazonaws.com",
            description=f"EventBridge Scheduler schedule {self.schedule_name} starts its state machine",
            statements=render_statements("states:StartExecution", state_machine=state_machine.arn)
            + dead_letter_queue.send_statements(),
            # https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html
            source_account=aws.account_id,
            source_arn=aws.arn("scheduler", f"schedule-group/{group.name}"),
        )
        window = (
            {"mode": "FLEXIBLE", "maximum_window_in_minutes": flexible_window_minutes}
            if flexible_window_minutes
            else {"mode": "OFF"}
        )
        self.schedule = SchedulerSchedule(
            self,
            "schedule",
            name=self.schedule_name,
            group_name=group.group.name,
            description=description,
            schedule_expression=schedule.expression,
            schedule_expression_timezone=timezone,
            state="ENABLED" if enabled else "DISABLED",
            flexible_time_window=window,
            target={
                "arn": state_machine.arn,
                "role_arn": self.role.arn,
                "input": scheduler_input(job_name),
                "retry_policy": start_retry(schedule.period_seconds).as_terraform(),
                "dead_letter_config": {"arn": dead_letter_queue.arn},
            },
        )
        self.arn: str = self.schedule.arn
