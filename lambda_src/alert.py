"""The alert Lambda: tells people that a scheduled job's run gave up. Handler: ``handler``.

The state machine's ``NotifyFailure`` step invokes it once per channel, in parallel, with the
payload described by ``lambda_src.contract.AlertPayload`` and ``"channel"`` set to one of
``lambda_src.channels.CHANNELS``; each invocation is retried on its own, so a channel that is
down never makes another channel repeat a message. Without ``"channel"`` (a person invoking the
function, ``make test-alert``) it delivers to every configured channel in turn.

- ``log`` writes the alert record as one JSON line to the function's log group.
- the others write one JSON line saying what the channel answered, then: return when it took the
  alert; raise ``AlertDeliveryError`` when it is down (5xx, 429, timeout, unreachable), which the
  state machine retries; raise ``AlertRejectedError`` when it refused (401, 403, 404, a missing
  parameter), which it does not.

The dead-letter queue's event source mapping invokes it with an SQS event: each message (a run a
schedule could not start, or an ended-early alert that could not be delivered) becomes an alert
to every configured channel, and the handler answers with the messages to deliver again later
(``batchItemFailures``: a channel was down).

The handler never crashes on its input: a payload it does not recognise becomes an alert that
carries the raw content.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from lambda_src.channels import HTTP_TIMEOUT_SECONDS, Channel, Parameters, configured_channels
from lambda_src.contract import (
    STACK_NAME_VARIABLE,
    AlertDeliveryError,
    AlertRejectedError,
)
from lambda_src.delivery import AlertQueue, alert_queue_from, deliver_queued
from lambda_src.message import Alert, describe
from lambda_src.task_log import last_lines, stream_of
from lambda_src.transport import aws_client, log_line
from lambda_src.undelivered import is_queue_event, payload_of

__all__ = ["handler", "reset"]

TIME_MARGIN_SECONDS = 2.0  # left for logging and returning after the last request


class _Clients:
    """boto3 clients and decrypted parameters, kept across invocations of one environment, and the
    clock a rate limit's reset time is read against."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.sns: Any = None
        self.logs: Any = None
        self.sqs: Any = None
        self.parameters = Parameters(lambda: aws_client("ssm"))

    def sns_client(self) -> Any:
        if self.sns is None:
            self.sns = aws_client("sns")
        return self.sns

    def sqs_client(self) -> Any:
        if self.sqs is None:
            self.sqs = aws_client("sqs")
        return self.sqs

    def logs_client(self) -> Any:
        if self.logs is None:
            self.logs = aws_client("logs")
        return self.logs


_clients = _Clients()


def reset(*, clock: Callable[[], float] = time.time) -> None:
    """Forget cached clients and parameter values (a new execution environment); ``clock``: the
    time, for a test in virtual time."""
    global _clients
    _clients = _Clients(clock)


def _log_tail(event: Any) -> tuple[str, ...]:
    """The last lines of the failed run's task log (``lambda_src.task_log``), or none: an alert
    without them is better than no alert."""
    where = stream_of(event) if isinstance(event, dict) else None
    if where is None:
        return ()
    try:
        return tuple(last_lines(_clients.logs_client(), *where))
    except Exception as error:  # no permission, a timeout; or no stream: the task logged nothing
        code = getattr(error, "response", {}).get("Error", {}).get("Code")
        if code != "ResourceNotFoundException":
            log_line(
                {"level": "WARNING", "message": "the task's last log lines could not be read", "reason": repr(error)}
            )
        return ()


def _timeout(context: Any) -> float:
    """A request timeout that ends before the function's own timeout does."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return HTTP_TIMEOUT_SECONDS
    left = remaining() / 1000 - TIME_MARGIN_SECONDS
    if left <= 0.5:
        raise AlertDeliveryError("no time left in this invocation to deliver the alert")
    return min(HTTP_TIMEOUT_SECONDS, left)


def _deliver(channel: Channel, alert: Alert, context: Any) -> str:
    entry = {"alert_id": alert.alert_id, "channel": channel.name}
    try:
        answer = channel.send(alert, timeout=_timeout(context))
    except AlertDeliveryError as error:
        log_line({**entry, "level": "WARNING", "outcome": "down, to be retried", "reason": str(error)})
        raise
    except AlertRejectedError as error:
        log_line({**entry, "level": "ERROR", "outcome": "refused, not retried", "reason": str(error)})
        raise
    log_line({**entry, "level": "INFO", "outcome": "delivered", "answer": answer})
    return answer


def _deliver_each(
    channels: Mapping[str, Channel], alert: Alert, context: Any
) -> tuple[dict[str, str], list[AlertDeliveryError | AlertRejectedError]]:
    """Every channel in turn, each on its own (one that fails stops no other): what each took,
    and what went wrong, each failure already logged by ``_deliver``."""
    delivered: dict[str, str] = {}
    failures: list[AlertDeliveryError | AlertRejectedError] = []
    for name, target in channels.items():
        try:
            delivered[name] = _deliver(target, alert, context)
        except (AlertDeliveryError, AlertRejectedError) as error:
            failures.append(error)
    return delivered, failures


def _stack() -> str:
    return os.environ.get(STACK_NAME_VARIABLE) or "?"


def _channels() -> dict[str, Channel]:
    return configured_channels(
        os.environ, parameters=_clients.parameters, sns_client=_clients.sns_client, clock=_clients.clock
    )


def _consume(event: dict[str, Any], context: Any, queue: AlertQueue | None) -> dict[str, Any]:
    """The dead-letter queue's messages (``lambda_src.undelivered``), each an alert to every
    configured channel (or, for an ended-early alert, to its own channel): queued for each channel
    where the function has an alert queue, else delivered at once. A message stays in the queue,
    to be read again after its visibility timeout, while the alert queue or a channel could not
    take it; one that every channel took or refused is done. Returns the partial batch response."""
    channels = _channels()
    failed = []
    for record in event["Records"]:
        payload = payload_of(record, stack=_stack())
        receives = (record.get("attributes") or {}).get("ApproximateReceiveCount")
        wanted = payload.get("channel")
        targets = {name: target for name, target in channels.items() if wanted in (None, name)}
        if queue is not None:
            alert = describe(payload)
            log_line(
                {
                    **alert.record,
                    "from": "dead-letter queue",
                    "message_id": record.get("messageId"),
                    "receives": receives,
                }
            )
            try:
                queued = queue.put([(name, {**payload, "channel": name}) for name in targets])
            except AlertDeliveryError as error:
                log_line(
                    {"alert_id": alert.alert_id, "level": "WARNING", "outcome": "not queued", "reason": str(error)}
                )
                failed.append({"itemIdentifier": record.get("messageId")})
                continue
            for name, message_id in queued.items():
                log_line(
                    {
                        "alert_id": alert.alert_id,
                        "channel": name,
                        "level": "INFO",
                        "outcome": "queued",
                        "message_id": message_id,
                    }
                )
            continue
        alert = describe(payload, log_tail=_log_tail(payload))
        log_line(
            {**alert.record, "from": "dead-letter queue", "message_id": record.get("messageId"), "receives": receives}
        )
        _, failures = _deliver_each(targets, alert, context)
        # A refusal is final (retrying will not help); a channel that was down gets the message again.
        if any(isinstance(failure, AlertDeliveryError) for failure in failures):
            failed.append({"itemIdentifier": record.get("messageId")})
    return {"batchItemFailures": failed}


def _deliver_from_queue(event: dict[str, Any], context: Any, queue: AlertQueue) -> dict[str, Any]:
    """A batch of the alert queue (``lambda_src.delivery``): each channel's alerts as one group."""
    failed = deliver_queued(
        event["Records"],
        channels=_channels(),
        queue=queue,
        stack=_stack(),
        timeout=lambda: _timeout(context),
        log=log_line,
        log_tail=_log_tail,
    )
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def _clean(value: Any) -> Any:
    """``value`` with every string made encodable: a lone surrogate (``"\\udcff"``, which JSON
    allows and UTF-8 does not) becomes "?", so that no channel and no log line fails on it."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_clean(key): _clean(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return value


def handler(event: Any, context: Any) -> dict[str, Any]:
    event = _clean(event)
    queue = alert_queue_from(os.environ, _clients.sqs_client)
    if is_queue_event(event):
        if queue is not None and queue.holds(event["Records"][0]):  # a batch comes from one queue
            return _deliver_from_queue(event, context, queue)
        return _consume(event, context, queue)
    channel = event.get("channel") if isinstance(event, dict) else None
    if channel is not None and not isinstance(channel, str):
        channel = json.dumps(channel, default=repr)  # not a channel name: refused as one below
    if channel == "log":
        alert = describe(event, log_tail=_log_tail(event))
        log_line(alert.record)
        return {"alert_id": alert.alert_id, "delivered": {"log": "written"}}
    channels = _channels()
    if channel is not None:
        if channel not in channels:
            alert = describe(event)
            reason = f"channel {channel!r} is not configured (configured: {', '.join(sorted(channels)) or 'none'})"
            log_line(
                {
                    "alert_id": alert.alert_id,
                    "channel": channel,
                    "level": "ERROR",
                    "outcome": "refused",
                    "reason": reason,
                }
            )
            raise AlertRejectedError(reason)
        if queue is not None:  # the alert waits in the queue for its channel; the run ends now
            alert = describe(event)
            queued = queue.put([(channel, event)])
            log_line(
                {
                    "alert_id": alert.alert_id,
                    "channel": channel,
                    "level": "INFO",
                    "outcome": "queued",
                    "message_id": queued.get(channel),
                }
            )
            return {"alert_id": alert.alert_id, "queued": queued}
        alert = describe(event, log_tail=_log_tail(event))
        return {"alert_id": alert.alert_id, "delivered": {channel: _deliver(channels[channel], alert, context)}}

    # A person's request (make test-alert): every channel in turn, at once, then fail if one did:
    # with the retryable error if any failure is transient, so that a caller that retries does.
    alert = describe(event, log_tail=_log_tail(event))
    log_line(alert.record)
    delivered, failures = _deliver_each(channels, alert, context)
    if failures:
        transient = any(isinstance(failure, AlertDeliveryError) for failure in failures)
        raise (AlertDeliveryError if transient else AlertRejectedError)("; ".join(map(str, failures)))
    return {"alert_id": alert.alert_id, "delivered": {"log": "written", **delivered}}
