"""E-mail: an alert, or a group of them, published to the stack's SNS topic, whose e-mail
subscriptions get the subject and the plain-text body. https://docs.aws.amazon.com/sns/latest/api/API_Publish.html"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lambda_src.contract import SNS_TOPIC_VARIABLE
from lambda_src.digest import Limits, Part, headline, link, pack_lines, suffix
from lambda_src.message import LOG_TAIL_LABEL, SUBJECT_LIMIT, Alert
from lambda_src.transport import Channel, Parameters, client_error

__all__ = ["EMAIL_BODY_LIMIT", "EmailChannel", "email_message", "email_parts", "from_environment"]

# SNS takes a message of up to 256 KiB (262,144 bytes), subject and attributes included.
EMAIL_BODY_LIMIT = 200_000


def email_message(alert: Alert) -> tuple[str, str]:
    """``(subject, body)`` for SNS: a subject within SNS's limits and a plain-text body."""
    subject = "".join(ch if ch.isprintable() else " " for ch in alert.title)
    if len(subject) > SUBJECT_LIMIT:
        subject = subject[: SUBJECT_LIMIT - 1] + "…"
    lines = [*alert.body_lines]
    if alert.log_tail:
        lines += ["", f"{LOG_TAIL_LABEL}:", *(f"  {line}" for line in alert.log_tail)]
    if alert.links:
        lines += ["", *(f"{label}:\n  {url}" for label, url in alert.links)]
    if alert.alert_id:
        lines += ["", f"Alert id: {alert.alert_id}"]
    return subject, "\n".join(lines) + "\n"


def email_parts(alerts: Sequence[Alert], *, stack: str) -> list[Part]:
    """E-mail (one SNS publish per part): the headline as the subject, the alerts by kind in the
    body, each with its link on the next line; at most ``EMAIL_BODY_LIMIT`` characters a body."""
    if len(alerts) == 1:
        return [Part(email_message(alerts[0]), (0,))]

    def line(alert: Alert) -> str:
        text = "- " + (alert.job or alert.title) + (f", {alert.due}" if alert.due else "")
        found = link(alert)
        return text + (f"\n    {found[0]}: {found[1]}" if found else "")

    title = headline(alerts, stack=stack)
    limits = Limits(block_chars=EMAIL_BODY_LIMIT, blocks=10**6, part_chars=EMAIL_BODY_LIMIT)
    packed = pack_lines(alerts, line=line, heading=lambda text: text, limits=limits)
    result = []
    for number, (blocks, members) in enumerate(packed, 1):
        subject = "".join(ch if ch.isprintable() else " " for ch in title + suffix(number, len(packed)))
        if len(subject) > SUBJECT_LIMIT:
            subject = subject[: SUBJECT_LIMIT - 1] + "…"
        body = "\n\n".join("\n".join(block) for block in blocks) + "\n"
        result.append(Part((subject, body), tuple(members)))
    return result


@dataclass
class EmailChannel(Channel):
    """Publishes to the stack's SNS topic: its e-mail subscriptions get the subject and body."""

    topic_arn: str
    client_factory: Callable[[], Any]
    name: str = "email"

    def parts(self, alerts: Sequence[Alert], *, stack: str) -> list[Part]:
        return email_parts(alerts, stack=stack)

    def deliver(self, part: Part, *, timeout: float) -> str:
        del timeout  # boto3's own timeouts (AWS_TIMEOUTS) apply
        subject, body = part.document
        try:
            answer = self.client_factory().publish(TopicArn=self.topic_arn, Subject=subject, Message=body)
        except Exception as error:
            raise client_error("SNS", error) from None
        return f"SNS message {answer.get('MessageId', '?')}"


def from_environment(
    env: Mapping[str, str], *, parameters: Parameters, sns_client: Callable[[], Any], clock: Callable[[], float]
) -> EmailChannel | None:
    """The stack's topic, always configured by the stack (its e-mail subscriptions are ``[alert] emails``)."""
    del parameters, clock
    topic = env.get(SNS_TOPIC_VARIABLE)
    return EmailChannel(topic, sns_client) if topic else None
