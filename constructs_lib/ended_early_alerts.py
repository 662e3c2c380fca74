"""Alerts for runs that end without reaching the alert step: an EventBridge rule on the job's
aborted and timed-out executions, whose targets invoke the alert Lambda once per channel."""

from __future__ import annotations

import json

from constructs import Construct

from constructs_lib.alert_function import AlertFunction
from constructs_lib.aws.cloudwatch_event_rule import CloudwatchEventRule
from constructs_lib.aws.cloudwatch_event_target import CloudwatchEventTarget
from constructs_lib.aws.lambda_permission import LambdaPermission
from constructs_lib.aws_environment import AwsEnvironment
from constructs_lib.dead_letter_queue import DeadLetterQueue
from constructs_lib.documents.execution_events import INPUT_PATHS, alert_input_template, ended_early_pattern
from constructs_lib.documents.run_input import start_retry
from constructs_lib.model.naming import ended_early_rule_name
from constructs_lib.state_machine import JobStateMachine

__all__ = ["TARGET_RETRY", "EndedEarlyAlerts"]

# EventBridge retries delivery to the Lambda as it retries a schedule's start (run_input.start_retry):
# for at most an hour; an alert later than that is noise. Function errors are retried by Lambda's
# asynchronous invocation (twice). https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html
TARGET_RETRY = start_retry(None).as_terraform()


class EndedEarlyAlerts(Construct):
    """An execution that is aborted (stopped by hand, or by a deploy) or times out as a whole never
    reaches the state machine's alert step. This rule catches its status change on the default
    bus and invokes the alert function once per channel (one target each, so that each channel
    is retried on its own), with the same payload shape as the alert step's. An invocation that
    cannot be delivered goes to ``dead_letter_queue``.
    Exposes ``rule``.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        aws: AwsEnvironment,
        state_machine: JobStateMachine,
        alert: AlertFunction,
        dead_letter_queue: DeadLetterQueue,
    ) -> None:
        super().__init__(scope, id_)
        rule_name = ended_early_rule_name(name)
        self.rule = CloudwatchEventRule(
            self,
            "rule",
            name=rule_name,
            description=f"Runs of {state_machine.alert_job.name} that were aborted or timed out: alert",
            event_pattern=json.dumps(ended_early_pattern(state_machine.arn), sort_keys=True),
        )
        rule_reference = self.rule.name  # one jsii round trip, not one per target
        for channel in alert.channels:
            CloudwatchEventTarget(
                self,
                f"target-{channel}",
                rule=rule_reference,
                target_id=f"alert-{channel}",
                arn=alert.arn,
                input_transformer={
                    "input_paths": INPUT_PATHS,
                    "input_template": alert_input_template(channel=channel, job=state_machine.alert_job),
                },
                retry_policy=TARGET_RETRY,
                dead_letter_config={"arn": dead_letter_queue.arn},
            )
        # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-lambda-permissions
        LambdaPermission(
            self,
            "permission",
            statement_id=rule_name[:100],
            action="lambda:InvokeFunction",
            function_name=alert.function_name,
            principal="events.amazonaws.com",
            source_arn=self.rule.arn,
            source_account=aws.account_id,
        )
