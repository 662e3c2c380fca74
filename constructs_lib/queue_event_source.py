"""The alert Lambda reading the dead-letter queue: a Lambda event source mapping on SQS."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.lambda_event_source_mapping import LambdaEventSourceMapping
from constructs import Construct

from constructs_lib.alert_function import AlertFunction
from constructs_lib.dead_letter_queue import DeadLetterQueue

__all__ = ["BATCH_SIZE", "MAXIMUM_CONCURRENCY", "QueueEventSource"]

# Ten messages per invocation (SQS's default batch, which needs no batching window), and partial
# batch responses, so that a message whose channel was down comes back alone.
# https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
BATCH_SIZE = 10
# The fewest concurrent invocations the mapping allows (2 to 1,000): the queue is rare news, and
# the chat services take about a message a second.
# https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
MAXIMUM_CONCURRENCY = 2


class QueueEventSource(Construct):
    """``function`` reads ``queue``: each message becomes an alert on every channel. The function's
    role must hold ``queue.consume_statements()`` (``AlertFunction(consumed_queue=...)``), and the
    mapping is created after its policy, since Lambda checks the role when the mapping is created.
    Exposes ``mapping``."""

    def __init__(self, scope: Construct, id_: str, *, queue: DeadLetterQueue, function: AlertFunction) -> None:
        super().__init__(scope, id_)
        self.mapping = LambdaEventSourceMapping(
            self,
            "mapping",
            event_source_arn=queue.arn,
            function_name=function.arn,
            batch_size=BATCH_SIZE,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config={"maximum_concurrency": MAXIMUM_CONCURRENCY},
            depends_on=[function.role.policy] if function.role.policy else None,
        )
