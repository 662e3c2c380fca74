"""Where a schedule puts a run it could not start: one SQS queue per stack, and its alarm."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from constructs import Construct

from constructs_lib.aws.sqs_queue import SqsQueue
from constructs_lib.aws.sqs_queue_policy import SqsQueuePolicy
from constructs_lib.aws_environment import AwsEnvironment
from constructs_lib.documents.iam import policy_json, render_statements
from constructs_lib.documents.resource_policies import dead_letter_queue_policy, rule_arns_fit_a_queue_policy

__all__ = ["RETENTION_SECONDS", "VISIBILITY_TIMEOUT_SECONDS", "DeadLetterQueue"]

RETENTION_SECONDS = 14 * 86400  # SQS's longest: time to read what was dropped and why
# The alert Lambda reads the queue; a message it could not deliver (a channel down) comes back
# after this long. Lambda asks for at least six times the function's timeout (60 s).
# https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
VISIBILITY_TIMEOUT_SECONDS = 360


class DeadLetterQueue(Construct):
    """A standard SQS queue (a FIFO queue cannot be a dead-letter queue for EventBridge or
    Scheduler), encrypted with SQS-managed keys, that the stack's rules (``<stack>-*``) may send
    to. A message in it is a scheduled run that never started (or an ended-early alert that could
    not be delivered): the alert Lambda reads it (``QueueEventSource``) and tells people on every
    channel, and ``UndeliveredStartsAlarm`` (``alarm.py``) notifies the topic on its own. Exposes
    ``arn``, ``name``, ``send_statements()`` and ``consume_statements()``.
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        stack_name: str,
        aws: AwsEnvironment,
        rule_names: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, id_)
        self.name = name
        self.queue = SqsQueue(
            self,
            "queue",
            name=name,
            sqs_managed_sse_enabled=True,
            message_retention_seconds=RETENTION_SECONDS,
            visibility_timeout_seconds=VISIBILITY_TIMEOUT_SECONDS,
        )
        self.arn: str = self.queue.arn
        SqsQueuePolicy(
            self,
            "policy",
            queue_url=self.queue.url,
            policy=policy_json(
                dead_letter_queue_policy(
                    queue_arn=self.queue.arn,
                    account_id=aws.account_id,
                    rule_arns=self._senders(aws, stack_name, rule_names),
                )
            ),
        )

    @staticmethod
    def _senders(aws: AwsEnvironment, stack_name: str, rule_names: Sequence[str]) -> str | list[str]:
        """The rules that may send here: each by its ARN, while the list fits SQS's policy size;
        past that (some 35 jobs), the stack's rules by their common name prefix ``<stack>-``, which
        a stack named ``<stack>-x`` in the same account would match too."""
        if rule_names and rule_arns_fit_a_queue_policy(rule_names):
            return [aws.arn("events", f"rule/{rule}") for rule in rule_names]
        return aws.arn("events", f"rule/{stack_name}-*")

    def consume_statements(self) -> list[dict[str, Any]]:
        """What the role of a function that reads this queue (its event source mapping) needs."""
        return render_statements("sqs:consume", queue=self.arn)

    def send_statements(self) -> list[dict[str, Any]]:
        """What a sender's role needs to send here: a Scheduler schedule's (its undelivered starts),
        the alert function's (its failed asynchronous invocations)."""
        return render_statements("sqs:deadLetter", queue=self.arn)
