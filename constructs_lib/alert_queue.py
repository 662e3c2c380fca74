"""Where a channel's alert waits for delivery: the alert queue, its dead-letter queue and alarm."""

from __future__ import annotations

from typing import Any

from constructs import Construct

from constructs_lib.aws.sqs_queue import SqsQueue
from constructs_lib.aws.sqs_queue_policy import SqsQueuePolicy
from constructs_lib.documents.iam import policy_json, render_statements
from constructs_lib.documents.resource_policies import tls_only_queue_policy
from lambda_src.contract import ALERT_QUEUE_MAX_RECEIVES, ALERT_QUEUE_VISIBILITY_SECONDS

__all__ = ["DEAD_LETTER_RETENTION_SECONDS", "RETENTION_SECONDS", "AlertQueue"]

# Longer than the tries can last (ALERT_QUEUE_MAX_RECEIVES x ALERT_QUEUE_VISIBILITY_SECONDS = 80 h,
# should every try time out): a message never expires while it is still being tried.
RETENTION_SECONDS = 4 * 86400
# SQS's longest. A message moved by the redrive policy keeps its first enqueue time, so the
# dead-letter queue keeps messages longer than its source does.
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
DEAD_LETTER_RETENTION_SECONDS = 14 * 86400


class AlertQueue(Construct):
    """Two standard SQS queues, encrypted with SQS-managed keys, used only with TLS: ``<name>``
    holds each channel's alerts until the alert function delivers them (``QueueEventSource``), and
    ``<name>-undeliverable`` receives an alert that was tried for more than 24 hours (the redrive
    policy: ``ALERT_QUEUE_MAX_RECEIVES`` receives, at most ``ALERT_QUEUE_VISIBILITY_SECONDS``
    apart) or that its channel refused; ``UndeliverableAlertsAlarm`` (``alarm.py``) watches it.

    Exposes ``arn``, ``url``, ``name``, ``dead_letter_url`` and ``statements()`` (what the alert
    function's role needs: send, read and delay here, set aside there)."""

    def __init__(self, scope: Construct, id_: str, *, name: str) -> None:
        super().__init__(scope, id_)
        self.name = name
        self.dead_letter_name = f"{name}-undeliverable"
        self.dead_letter = SqsQueue(
            self,
            "dead-letter",
            name=self.dead_letter_name,
            sqs_managed_sse_enabled=True,
            message_retention_seconds=DEAD_LETTER_RETENTION_SECONDS,
        )
        self.queue = SqsQueue(
            self,
            "waiting",
            name=name,
            sqs_managed_sse_enabled=True,
            message_retention_seconds=RETENTION_SECONDS,
            visibility_timeout_seconds=ALERT_QUEUE_VISIBILITY_SECONDS,
            redrive_policy=policy_json(
                {"deadLetterTargetArn": self.dead_letter.arn, "maxReceiveCount": ALERT_QUEUE_MAX_RECEIVES}
            ),
        )
        for id_suffix, queue in (("policy", self.queue), ("dead-letter-policy", self.dead_letter)):
            SqsQueuePolicy(
                self, id_suffix, queue_url=queue.url, policy=policy_json(tls_only_queue_policy(queue_arn=queue.arn))
            )
        self.arn: str = self.queue.arn
        self.url: str = self.queue.url
        self.dead_letter_url: str = self.dead_letter.url

    def statements(self) -> list[dict[str, Any]]:
        return render_statements("sqs:alertQueue", queue=self.arn, dead_letter_queue=self.dead_letter.arn)
