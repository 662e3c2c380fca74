"""The second alert path: CloudWatch alarms that notify the alert topic without the alert Lambda."""

from __future__ import annotations

from typing import Any

from constructs import Construct

from constructs_lib.alert_function import AlertFunction
from constructs_lib.alert_queue import AlertQueue
from constructs_lib.alert_topic import AlertTopic
from constructs_lib.aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from constructs_lib.dead_letter_queue import DeadLetterQueue
from constructs_lib.model.naming import aws_name
from constructs_lib.state_machine import JobStateMachine

__all__ = [
    "EXECUTION_METRICS",
    "FUNCTION_METRICS",
    "AlertFunctionAlarms",
    "RunAlarms",
    "UndeliverableAlertsAlarm",
    "UndeliveredStartsAlarm",
    "WatchdogAlarms",
]

# Step Functions execution metrics, dimension StateMachineArn:
# https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html
EXECUTION_METRICS = {
    "ExecutionsFailed": ("failed-runs", "A run of {job} failed: see the execution's error and cause"),
    "ExecutionsTimedOut": ("timed-out-runs", "A run of {job} timed out as a whole execution"),
    "ExecutionsAborted": ("aborted-runs", "A run of {job} was aborted (stopped by hand or by a deploy)"),
}
# Lambda function metrics, dimension FunctionName:
# https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
FUNCTION_METRICS = {
    "Errors": ("errors", "The alert Lambda failed (a channel down or refusing); some alerts may be missing"),
    "Throttles": ("throttles", "The alert Lambda was throttled; alerts may be late or missing"),
}


def _alarm(
    scope: Construct,
    id_: str,
    *,
    name: str,
    description: str,
    namespace: str,
    metric: str,
    dimensions: dict[str, str],
    topic: AlertTopic,
    statistic: str = "Sum",
    periods: int = 1,
    below: bool = False,
    missing_is_breach: bool = False,
) -> CloudwatchMetricAlarm:
    """At least 1 in each of ``periods`` 5-minute periods (``below``: less than 1); no data is not a
    breach unless ``missing_is_breach``. Notifies ``topic``."""
    return CloudwatchMetricAlarm(
        scope,
        id_,
        alarm_name=name,
        alarm_description=description,
        namespace=namespace,
        metric_name=metric,
        dimensions=dimensions,
        statistic=statistic,
        period=300,
        evaluation_periods=periods,
        threshold=1,
        comparison_operator="LessThanThreshold" if below else "GreaterThanOrEqualToThreshold",
        treat_missing_data="breaching" if missing_is_breach else "notBreaching",
        alarm_actions=[topic.arn],
    )


class RunAlarms(Construct):
    """Alarms on a job's failed, timed-out and aborted executions, notifying ``topic``.

    Every run that gives up ends FAILED (``constructs_lib.documents.asl``), so these fire even when the alert
    Lambda could not deliver. Exposes ``alarms`` by metric name.
    """

    def __init__(
        self, scope: Construct, id_: str, *, name: str, job_name: str, state_machine: JobStateMachine, topic: AlertTopic
    ) -> None:
        super().__init__(scope, id_)
        self.alarms: dict[str, Any] = {
            metric: _alarm(
                self,
                suffix,
                name=aws_name(name, suffix, kind="cloudwatch_alarm"),
                description=description.format(job=job_name),
                namespace="AWS/States",
                metric=metric,
                dimensions={"StateMachineArn": state_machine.arn},
                topic=topic,
            )
            for metric, (suffix, description) in EXECUTION_METRICS.items()
        }


class AlertFunctionAlarms(Construct):
    """Alarms on the alert Lambda's errors and throttles, notifying ``topic``: a broken alert path
    is itself news. Exposes ``alarms`` by metric name."""

    def __init__(self, scope: Construct, id_: str, *, function: AlertFunction, topic: AlertTopic) -> None:
        super().__init__(scope, id_)
        self.alarms: dict[str, Any] = {
            metric: _alarm(
                self,
                suffix,
                name=aws_name(function.name, suffix, kind="cloudwatch_alarm"),
                description=description,
                namespace="AWS/Lambda",
                metric=metric,
                dimensions={"FunctionName": function.function_name},
                topic=topic,
            )
            for metric, (suffix, description) in FUNCTION_METRICS.items()
        }


class UndeliveredStartsAlarm(Construct):
    """Alarms when a message reaches the dead-letter queue: a schedule gave up starting a run (or
    an alert), so the run never happened. Notifies ``topic``, on its own, whatever the alert Lambda
    that reads the queue does. ``NumberOfMessagesSent`` at least 1 in 5 minutes: each new failed
    start alarms again, however fast the Lambda reads the queue (a count of visible messages would
    miss one read within the minute, and stay in alarm, silent, while old ones wait).
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html
    """

    def __init__(self, scope: Construct, id_: str, *, queue: DeadLetterQueue, topic: AlertTopic) -> None:
        super().__init__(scope, id_)
        self.alarm = _alarm(
            self,
            "alarm",
            name=aws_name(queue.name, "messages", kind="cloudwatch_alarm"),
            description="A scheduled run (or an alert for one) could not be started: the alert names the job "
            f"and why, and the alert Lambda's log keeps each message of SQS queue {queue.name}",
            namespace="AWS/SQS",
            metric="NumberOfMessagesSent",
            dimensions={"QueueName": queue.queue.name},
            topic=topic,
        )


class UndeliverableAlertsAlarm(Construct):
    """Alarms while an alert waits in the alert dead-letter queue: its channel was down for more
    than 24 hours, or refused it. Notifies ``topic`` (e-mail, which does not depend on the chat
    services). Messages moved there by the redrive policy are not counted as sent, so the alarm
    watches the visible ones (``ApproximateNumberOfMessagesVisible``, the maximum in 5 minutes),
    and stays in alarm until they are read and deleted, or redriven.
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/dead-letter-queues-alarms-cloudwatch.html
    """

    def __init__(self, scope: Construct, id_: str, *, queue: AlertQueue, topic: AlertTopic) -> None:
        super().__init__(scope, id_)
        self.alarm = _alarm(
            self,
            "alarm",
            name=aws_name(queue.dead_letter_name, "messages", kind="cloudwatch_alarm"),
            description="An alert could not be delivered to its channel (tried for more than 24 hours, or refused): "
            f"the alert function's log says why, and SQS queue {queue.dead_letter_name} keeps the alert",
            namespace="AWS/SQS",
            metric="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": queue.dead_letter.name},
            topic=topic,
            statistic="Maximum",
        )


# The watchdog runs every 5 minutes: three periods without an invocation, or with errors, alarm.
SILENT_PERIODS = 3


class WatchdogAlarms(Construct):
    """The watchdog is watched: an alarm when it was not invoked in 15 minutes (missing data is a
    breach: no invocation, no metric), and one when it failed in each of 15 minutes. Both notify
    ``topic``. Exposes ``alarms`` by metric name."""

    def __init__(self, scope: Construct, id_: str, *, function_name: str, name: str, topic: AlertTopic) -> None:
        super().__init__(scope, id_)
        common = {"namespace": "AWS/Lambda", "dimensions": {"FunctionName": function_name}, "topic": topic}
        self.alarms: dict[str, Any] = {
            "Invocations": _alarm(
                self,
                "silent",
                name=aws_name(name, "silent", kind="cloudwatch_alarm"),
                description="The watchdog was not invoked for 15 minutes: missed runs would not be reported",
                metric="Invocations",
                periods=SILENT_PERIODS,
                below=True,
                missing_is_breach=True,  # not invoked: no data at all
                **common,
            ),
            "Errors": _alarm(
                self,
                "failing",
                name=aws_name(name, "failing", kind="cloudwatch_alarm"),
                description="The watchdog failed for 15 minutes: see its log; missed runs may not be reported",
                metric="Errors",
                periods=SILENT_PERIODS,
                **common,
            ),
        }
