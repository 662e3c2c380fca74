"""The second alert channel: a CloudWatch alarm on a state machine's failed executions."""

from __future__ import annotations

from collections.abc import Sequence

from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from constructs import Construct

from constructs_lib.naming import aws_name

__all__ = ["FailedRunsAlarm"]


class FailedRunsAlarm(Construct):
    """Alarms when the state machine has a failed execution in a 5-minute window.

    Every run that gives up ends FAILED (see ``constructs_lib.asl``), so this fires even when the
    alert Lambda could not deliver. ``alarm_actions`` (for example an SNS topic ARN) is empty by
    default: the alarm state is visible in the console and to anything that watches alarms.
    Metric: https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        state_machine_arn: str,
        alarm_actions: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, id_)
        self.alarm = CloudwatchMetricAlarm(
            self,
            "alarm",
            alarm_name=aws_name(name, "failed-runs", kind="cloudwatch_alarm"),
            alarm_description=f"A run of {name} gave up: see the execution's error and cause",
            namespace="AWS/States",
            metric_name="ExecutionsFailed",
            dimensions={"StateMachineArn": state_machine_arn},
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=list(alarm_actions),
        )
