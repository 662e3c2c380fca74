"""The alert queue: a durable buffer between a failed run and each channel, and its consumer.

A failed run's alert for a chat or e-mail channel is put in the stack's alert queue (SQS) and the
state machine's step returns at once. The queue's event source mapping hands the function what
arrived within ``[alert] group_seconds`` (its batching window); ``deliver_queued`` renders each
channel's alerts as one group (``lambda_src.digest``), sends its parts, and answers which messages
must come back:

- a part that went through is done: its messages are deleted, never posted again;
- a channel that is down (5xx, timeout, unreachable) or rate-limited (429) gets the rest later:
  each of those messages is made visible again after ``retry_delay`` (the service's Retry-After
  when it gave one), with the visibility timeout, never a sleep;
- a channel that refuses (401, 403, 404, 410, a missing parameter) gets nothing more: its messages
  go to the alert dead-letter queue, each with one log line saying why;
- a message that is still undelivered on its ``ALERT_QUEUE_MAX_RECEIVES``-th receive goes to the
  alert dead-letter queue by the queue's redrive policy, after more than 24 hours of tries.

Every outcome is logged per alert and channel, with the alert's id (the execution ARN).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lambda_src.channels import Channel
from lambda_src.contract import (
    ALERT_DEAD_LETTER_URL_VARIABLE,
    ALERT_QUEUE_MAX_RECEIVES,
    ALERT_QUEUE_URL_VARIABLE,
    AlertDeliveryError,
    AlertRejectedError,
)
from lambda_src.message import Alert, clip, describe

__all__ = [
    "BACKOFF_FIRST_SECONDS",
    "BACKOFF_LONGEST_SECONDS",
    "ENVELOPE",
    "MESSAGE_LIMIT_BYTES",
    "RATE_LIMITED_ALLOWANCE",
    "AlertQueue",
    "Queued",
    "alert_queue_from",
    "deliver_queued",
    "horizon_seconds",
    "queued_body",
    "read_queued",
    "retry_delay",
]

ENVELOPE = "alertQueue"  # the key (and version) that marks a message this module wrote
# SQS takes messages of up to 256 KiB. https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
MESSAGE_LIMIT_BYTES = 250_000
CLIPPED_FIELD_CHARS = 8000  # a cause or an input cut to this when a payload would not fit

# A channel that is down is tried again after 30 s, then twice as long each time, up to 5 minutes:
# 30, 60, 120, 240, 300, 300, ... (a chat service back from an outage gets its alerts within 5
# minutes and a batching window). Over 320 receives that is 450 + 316 x 300 = 95,250 s (26 h). A
# rate-limited answer is tried again after the wait the service asked for; each costs a receive,
# and up to RATE_LIMITED_ALLOWANCE of them still leave more than 24 hours (300 x 300 s = 90,000 s).
BACKOFF_FIRST_SECONDS = 30
BACKOFF_LONGEST_SECONDS = 300
RATE_LIMITED_ALLOWANCE = 20


def retry_delay(receives: int, *, retry_after: float | None, jitter: Callable[[], float] = random.random) -> int:
    """Seconds until a message that failed on its ``receives``-th receive is tried again: the
    service's ``retry_after`` plus up to 2 s (the two invocations the mapping may run at once then
    do not come back to a rate limit together), or the backoff for that receive, without jitter: a
    channel that is down fails every waiting alert alike, and they should come back together, to
    go out as one group. Never less than 1 s; at most SQS's 12 hours."""
    if retry_after is not None:
        delay = max(1.0, retry_after) + 2 * jitter()
    else:
        delay = min(BACKOFF_FIRST_SECONDS * 2 ** max(0, receives - 1), BACKOFF_LONGEST_SECONDS)
    return min(43_200, math.ceil(delay))


def horizon_seconds(*, rate_limited: int = 0) -> int:
    """How long a message whose channel stays down is tried before the redrive policy sets it
    aside, at the least, when ``rate_limited`` of its receives were 429s first (each answered
    with the shortest wait)."""
    waits = [retry_delay(receive, retry_after=0.0, jitter=lambda: 0.0) for receive in range(1, rate_limited + 1)]
    waits += [
        retry_delay(receive, retry_after=None) for receive in range(rate_limited + 1, ALERT_QUEUE_MAX_RECEIVES + 1)
    ]
    return sum(waits)


@dataclass(frozen=True)
class Queued:
    """A message of the alert queue: one alert for one channel."""

    channel: str
    payload: Any
    message_id: str
    receipt_handle: str
    receives: int
    body: str


def queued_body(channel: str, payload: Any) -> str:
    """The message for ``channel``'s copy of ``payload``. A payload too large for SQS keeps its
    shape with its ``cause`` and ``input`` cut (the alert still names the job and the run); one
    still too large (no payload the state machine sends is) is left whole, for SQS to refuse and
    the caller to report, rather than cut into text that no longer reads as an alert."""
    body = json.dumps({ENVELOPE: 1, "channel": channel, "payload": payload}, ensure_ascii=False, default=repr)
    if len(body.encode()) <= MESSAGE_LIMIT_BYTES or not isinstance(payload, dict):
        return body
    smaller = {key: clip(value, CLIPPED_FIELD_CHARS) if key in ("cause", "input") else value
               for key, value in payload.items()}  # fmt: skip
    return json.dumps({ENVELOPE: 1, "channel": channel, "payload": smaller}, ensure_ascii=False, default=repr)


def read_queued(record: Mapping[str, Any]) -> Queued | None:
    """The alert in an SQS record of the alert queue, or ``None`` when it is not one this module
    wrote (a message sent by hand): such a message is set aside, not retried."""
    try:
        envelope = json.loads(record.get("body") or "")
    except ValueError:
        return None
    if not isinstance(envelope, dict) or envelope.get(ENVELOPE) != 1 or not isinstance(envelope.get("channel"), str):
        return None
    try:
        receives = int((record.get("attributes") or {}).get("ApproximateReceiveCount", 1))
    except (TypeError, ValueError):
        receives = 1
    return Queued(
        channel=envelope["channel"],
        payload=envelope.get("payload"),
        message_id=str(record.get("messageId")),
        receipt_handle=str(record.get("receiptHandle")),
        receives=receives,
        body=str(record.get("body")),
    )


def alert_queue_from(environ: Mapping[str, str], client_factory: Callable[[], Any]) -> AlertQueue | None:
    """The stack's alert queue, when the function's environment names one (``ALERT_QUEUE_URL``)."""
    url = environ.get(ALERT_QUEUE_URL_VARIABLE)
    if not url:
        return None
    return AlertQueue(client_factory, url=url, dead_letter_url=environ.get(ALERT_DEAD_LETTER_URL_VARIABLE))


class AlertQueue:
    """The stack's alert queue and its dead-letter queue, through an SQS client."""

    def __init__(self, client_factory: Callable[[], Any], *, url: str, dead_letter_url: str | None) -> None:
        self._client_factory = client_factory
        self.url = url
        self.dead_letter_url = dead_letter_url

    @property
    def name(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]

    def holds(self, record: Mapping[str, Any]) -> bool:
        """Whether an SQS record came from this queue (its ``eventSourceARN`` ends in its name)."""
        return str(record.get("eventSourceARN", "")).rsplit(":", 1)[-1] == self.name

    def put(self, entries: Sequence[tuple[str, Any]]) -> dict[str, str]:
        """Queue each ``(channel, payload)``; the message id per channel. Raises
        ``AlertDeliveryError`` naming the channels SQS did not take (the caller retries)."""
        if not entries:
            return {}
        request = [{"Id": str(i), "MessageBody": queued_body(ch, p)} for i, (ch, p) in enumerate(entries)]
        try:
            answer = self._client_factory().send_message_batch(QueueUrl=self.url, Entries=request)
        except Exception as error:
            raise AlertDeliveryError(f"the alert queue did not take the alert: {_code(error)}") from None
        failed = [entries[int(entry["Id"])][0] for entry in answer.get("Failed", [])]
        if failed:
            raise AlertDeliveryError(f"the alert queue did not take the alert for {', '.join(failed)}")
        return {entries[int(entry["Id"])][0]: entry["MessageId"] for entry in answer.get("Successful", [])}

    def delay(self, waits: Sequence[tuple[Queued, int]]) -> list[str]:
        """Make each message visible again after its wait; the ids whose wait SQS did not set (they
        come back after the queue's visibility timeout instead)."""
        missed: list[str] = []
        for start in range(0, len(waits), 10):  # ChangeMessageVisibilityBatch takes 10 entries
            chunk = waits[start : start + 10]
            entries = [
                {"Id": str(i), "ReceiptHandle": item.receipt_handle, "VisibilityTimeout": seconds}
                for i, (item, seconds) in enumerate(chunk)
            ]
            try:
                answer = self._client_factory().change_message_visibility_batch(QueueUrl=self.url, Entries=entries)
                missed += [chunk[int(entry["Id"])][0].message_id for entry in answer.get("Failed", [])]
            except Exception:
                missed += [item.message_id for item, _ in chunk]
        return missed

    def set_aside(self, body: str, *, reason: str) -> bool:
        """Put a message in the alert dead-letter queue, with ``reason``; whether SQS took it."""
        if not self.dead_letter_url:
            return False
        try:
            self._client_factory().send_message(
                QueueUrl=self.dead_letter_url,
                MessageBody=body,
                MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:1000] or "?"}},
            )
        except Exception:
            return False
        return True


def _code(error: Exception) -> str:
    return str((getattr(error, "response", None) or {}).get("Error", {}).get("Code") or type(error).__name__)


def deliver_queued(
    records: Sequence[Mapping[str, Any]],
    *,
    channels: Mapping[str, Channel],
    queue: AlertQueue,
    stack: str,
    timeout: Callable[[], float],
    log: Callable[[Mapping[str, Any]], None],
    log_tail: Callable[[Any], tuple[str, ...]] = lambda payload: (),
    jitter: Callable[[], float] = random.random,
) -> list[str]:
    """Deliver a batch of the alert queue: each channel's alerts as one group. Returns the ids of
    the messages to deliver again (the partial batch response). ``timeout()`` is the time a request
    may take now, and raises ``AlertDeliveryError`` when the invocation has none left."""
    failed: list[str] = []
    by_channel: dict[str, list[Queued]] = {}
    for record in records:
        item = read_queued(record)
        if item is None:
            reason = "not an alert this function queued"
            if not queue.set_aside(str(record.get("body")), reason=reason):
                failed.append(str(record.get("messageId")))
            log({"level": "ERROR", "message_id": record.get("messageId"), "outcome": "set aside", "reason": reason})
            continue
        by_channel.setdefault(item.channel, []).append(item)

    for name, items in by_channel.items():
        failed += _deliver_channel(
            name,
            items,
            channel=channels.get(name),
            queue=queue,
            stack=stack,
            timeout=timeout,
            log=log,
            log_tail=log_tail,
            jitter=jitter,
        )
    return failed


def _deliver_channel(
    name: str,
    items: list[Queued],
    *,
    channel: Channel | None,
    queue: AlertQueue,
    stack: str,
    timeout: Callable[[], float],
    log: Callable[[Mapping[str, Any]], None],
    log_tail: Callable[[Any], tuple[str, ...]],
    jitter: Callable[[], float],
) -> list[str]:
    if channel is None:
        reason = f"channel {name!r} is no longer configured"
        return _set_aside(items, [describe(item.payload) for item in items], queue=queue, reason=reason, log=log)
    alerts = [describe(item.payload) for item in items]
    if len(items) == 1:  # a single alert reads as it always has, with its task's last log lines
        alerts = [describe(items[0].payload, log_tail=log_tail(items[0].payload))]
    parts = channel.parts(alerts, stack=stack)
    failed: list[str] = []
    for number, part in enumerate(parts, 1):
        members = [items[i] for i in part.indices]
        entry = {"channel": name, "part": f"{number} of {len(parts)}"}
        try:
            answer = channel.deliver(part, timeout=timeout())
        except AlertDeliveryError as error:
            # This part and every later one come back; the parts before it are done.
            rest = [i for later in parts[number - 1 :] for i in later.indices]
            # One draw for the whole group: its alerts come back together, as one group again.
            draw = jitter()
            waits = [
                (items[i], retry_delay(items[i].receives, retry_after=error.retry_after, jitter=lambda draw=draw: draw))
                for i in rest
            ]
            queue.delay(waits)
            for index, (item, seconds) in zip(rest, waits, strict=True):
                log(
                    {
                        **entry,
                        "alert_id": alerts[index].alert_id,
                        "level": "WARNING",
                        "outcome": f"not delivered, tried again in {seconds} s",
                        "receives": item.receives,
                        "reason": str(error),
                    }
                )
            return failed + [items[i].message_id for i in rest]
        except AlertRejectedError as error:
            failed += _set_aside(members, [alerts[i] for i in part.indices], queue=queue, reason=str(error), log=log)
            continue
        for index in part.indices:
            log(
                {**entry, "alert_id": alerts[index].alert_id, "level": "INFO", "outcome": "delivered", "answer": answer}
            )
    return failed


def _set_aside(
    items: Sequence[Queued], alerts: Sequence[Alert], *, queue: AlertQueue, reason: str, log: Callable[..., None]
) -> list[str]:
    """Refused: each message to the dead-letter queue with one log line; the ids SQS did not take
    (delivered again, and refused again, until it does or the redrive policy moves them)."""
    failed = []
    for item, alert in zip(items, alerts, strict=True):
        moved = queue.set_aside(item.body, reason=reason)
        if not moved:
            failed.append(item.message_id)
        outcome = "refused, set aside in the dead-letter queue" if moved else "refused, to be set aside again"
        log(
            {
                "channel": item.channel,
                "alert_id": alert.alert_id,
                "level": "ERROR",
                "outcome": outcome,
                "reason": reason,
            }
        )
    return failed
