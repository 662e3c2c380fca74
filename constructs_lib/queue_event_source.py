"""The alert Lambda reading a queue: a Lambda event source mapping on SQS."""

from __future__ import annotations

from constructs import Construct

from constructs_lib.alert_function import AlertFunction
from constructs_lib.alert_queue import AlertQueue
from constructs_lib.aws.lambda_event_source_mapping import LambdaEventSourceMapping
from constructs_lib.dead_letter_queue import DeadLetterQueue

__all__ = ["BATCH_SIZE", "GROUP_BATCH_SIZE", "MAXIMUM_CONCURRENCY", "QueueEventSource"]

# Without a batching window: ten messages per invocation (SQS's default batch; more needs a window).
# https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
BATCH_SIZE = 10
# With one, the mapping gathers up to this many messages, or 6 MB, or what arrived within the
# window, whichever comes first: a storm's alerts (200 jobs x 3 channels) in one invocation.
GROUP_BATCH_SIZE = 1000
# The fewest concurrent invocations the mapping allows (2 to 1,000): the queues are rare news, and
# the chat services take about a message a second.
# https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
MAXIMUM_CONCURRENCY = 2


class QueueEventSource(Construct):
    """``function`` reads ``queue`` with partial batch responses (``ReportBatchItemFailures``: a
    message whose channel was down comes back alone). ``batching_window_seconds`` > 0 gathers what
    arrives within that many seconds into one invocation (the alert queue's grouping). The
    function's role must hold the queue's consume statements, and the mapping is created after its
    policy, since Lambda checks the role when the mapping is created. Exposes ``mapping``."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        queue: DeadLetterQueue | AlertQueue,
        function: AlertFunction,
        batching_window_seconds: int = 0,
    ) -> None:
        super().__init__(scope, id_)
        self.mapping = LambdaEventSourceMapping(
            self,
            "mapping",
            event_source_arn=queue.arn,
            function_name=function.arn,
            batch_size=GROUP_BATCH_SIZE if batching_window_seconds else BATCH_SIZE,
            maximum_batching_window_in_seconds=batching_window_seconds or None,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config={"maximum_concurrency": MAXIMUM_CONCURRENCY},
            depends_on=[function.role.policy] if function.role.policy else None,
        )
