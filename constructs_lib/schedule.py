"""A job's schedule: an EventBridge rule whose target starts the job's state machine."""

from __future__ import annotations

from constructs import Construct

from constructs_lib.aws.cloudwatch_event_rule import CloudwatchEventRule
from constructs_lib.aws.cloudwatch_event_target import CloudwatchEventTarget
from constructs_lib.aws_environment import AwsEnvironment
from constructs_lib.dead_letter_queue import DeadLetterQueue
from constructs_lib.documents.iam import render_statements
from constructs_lib.documents.run_input import rule_input_transformer, start_retry
from constructs_lib.model.naming import aws_name, schedule_rule_name
from constructs_lib.model.schedule_expression import Schedule as ScheduleExpression
from constructs_lib.service_role import ServiceRole
from constructs_lib.state_machine import JobStateMachine

__all__ = ["Schedule"]


class Schedule(Construct):
    """An EventBridge rule on the default bus (UTC ``cron(...)`` or ``rate(...)``).

    Its target starts the state machine through a role that may start that one state machine, with
    ``{"job": ..., "scheduledTime": <the event's time>}`` as input. A start Step Functions does not
    accept is retried for one period of the schedule (at most an hour, ``run_input.start_retry``),
    then goes to ``dead_letter_queue``. (A RunTask that "succeeds" with a capacity failure never
    reaches this far, hence the state machine.) ``schedule`` is the expression as ``parse_schedule``
    checked it (``JobSpec.parsed_schedule``). Exposes ``rule_name`` (also ``schedule_name``) and ``arn``.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        job_name: str,
        schedule: ScheduleExpression,
        aws: AwsEnvironment,
        state_machine: JobStateMachine,
        dead_letter_queue: DeadLetterQueue,
        enabled: bool = True,
        description: str = "",
    ) -> None:
        super().__init__(scope, id_)
        self.rule_name = schedule_rule_name(name)
        self.schedule_name = self.rule_name
        self.rule = CloudwatchEventRule(
            self,
            "rule",
            name=self.rule_name,
            description=description,
            schedule_expression=schedule.expression,
            state="ENABLED" if enabled else "DISABLED",
        )
        self.arn: str = self.rule.arn
        self.role = ServiceRole(
            self,
            "role",
            name=aws_name(name, "events", kind="iam_role"),
            service="events.amazonaws.com",
            description=f"EventBridge rule {self.rule_name} starts its state machine",
            statements=render_statements("states:StartExecution", state_machine=state_machine.arn),
            source_account=aws.account_id,
            source_arn=aws.arn("events", f"rule/{self.rule_name}"),
        )
        CloudwatchEventTarget(
            self,
            "target",
            rule=self.rule.name,
            target_id="state-machine",
            arn=state_machine.arn,
            role_arn=self.role.arn,
            input_transformer=rule_input_transformer(job_name),
            retry_policy=start_retry(schedule.period_seconds).as_terraform(),
            dead_letter_config={"arn": dead_letter_queue.arn},
        )
