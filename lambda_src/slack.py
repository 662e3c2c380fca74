"""Slack: an alert, or a group of them, as an incoming-webhook message (``text`` and Block Kit).
https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks

A rate-limited post is answered 429 with ``Retry-After`` (seconds), which the transport obeys.
https://docs.slack.dev/apis/web-api/rate-limits"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lambda_src.contract import setting_variable
from lambda_src.digest import Limits, Part, headline, link, pack_lines, suffix
from lambda_src.message import LOG_TAIL_LABEL, Alert, clip
from lambda_src.transport import Channel, Parameters, post, usable_url

__all__ = [
    "PARAMETER_VARIABLE",
    "SLACK_BLOCKS_LIMIT",
    "SLACK_BLOCK_TEXT_LIMIT",
    "SLACK_TEXT_LIMIT",
    "SlackChannel",
    "from_environment",
    "slack_message",
    "slack_parts",
]

# The SecureString parameter holding the incoming-webhook URL.
PARAMETER_VARIABLE = setting_variable("webhook_ssm_parameter")

# Slack refuses a message whose section (or context element) text passes 3,000 characters, or
# that has more than 50 blocks (400 invalid_blocks), and cuts its top-level text at 40,000.
# https://docs.slack.dev/reference/block-kit/blocks/section-block
# https://docs.slack.dev/reference/block-kit/blocks
SLACK_BLOCK_TEXT_LIMIT = 3000
SLACK_BLOCKS_LIMIT = 50
SLACK_TEXT_LIMIT = 40000


def slack_message(alert: Alert) -> dict[str, Any]:
    """A Slack incoming-webhook message: ``text`` is the notification (and the fallback of
    clients that show no blocks); the blocks hold the readable body.
    https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks"""
    facts = "\n".join(f"*{label}:* {_slack_escape(value)}" for label, value in alert.facts)
    links = "  ·  ".join(f"<{url}|{label}>" for label, url in alert.links)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _slack_clip(f"*{_slack_escape(alert.title)}*")}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _slack_clip(_slack_escape(alert.what))}},
    ]
    if facts:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _slack_clip(facts)}})
    if alert.log_tail:
        tail = _slack_escape("\n".join(alert.log_tail)).replace("```", "` ` `")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _slack_code(f"*{LOG_TAIL_LABEL}*", tail)}})
    if links:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _slack_clip(links)}]})
    # The notification text is mrkdwn too: escaped, so "<!channel>" in a cause pings no one.
    return {"text": clip(_slack_escape(alert.title), SLACK_TEXT_LIMIT), "blocks": blocks}


def _slack_code(label: str, code: str) -> str:
    """A label and a code block within a block's limit: the oldest lines go first."""
    room = SLACK_BLOCK_TEXT_LIMIT - len(label) - len("\n```\n```")
    if len(code) > room:
        code = "…" + code[len(code) - room + 1 :]
    return f"{label}\n```\n{code}```"


def _slack_clip(text: str) -> str:
    """``text`` within a block's 3,000 characters, cut visibly ("…") and never inside an escape
    (``&amp;``) or a link (``<url|label>``)."""
    if len(text) <= SLACK_BLOCK_TEXT_LIMIT:
        return text
    cut = text[: SLACK_BLOCK_TEXT_LIMIT - 1]
    for opener, closer in (("&", ";"), ("<", ">")):
        start = cut.rfind(opener)
        if start > cut.rfind(closer):
            cut = cut[:start]
    return cut + "…"


def _slack_escape(text: str) -> str:
    """Slack's three control characters. https://docs.slack.dev/messaging/formatting-message-text"""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_parts(alerts: Sequence[Alert], *, stack: str) -> list[Part]:
    """Slack messages: a headline section, then one section per kind of alert (more where one
    passes 3,000 characters), one alert per line; at most 50 blocks and 40,000 characters each."""
    if len(alerts) == 1:
        return [Part(slack_message(alerts[0]), (0,))]

    def line(alert: Alert) -> str:
        words = [f"• *{_slack_escape(alert.job or alert.title)}*"]
        if alert.due:
            words.append(_slack_escape(alert.due))
        found = link(alert)
        if found:
            words.append(f"<{found[1]}|{_slack_escape(found[0])}>")
        return _slack_clip(" · ".join(words))

    limits = Limits(block_chars=SLACK_BLOCK_TEXT_LIMIT, blocks=SLACK_BLOCKS_LIMIT - 1, part_chars=SLACK_TEXT_LIMIT)
    packed = pack_lines(alerts, line=line, heading=lambda text: f"*{_slack_escape(text)}*", limits=limits)
    title = headline(alerts, stack=stack)
    result = []
    for number, (blocks, members) in enumerate(packed, 1):
        top = _slack_escape(title + suffix(number, len(packed)))
        body = [_slack_section(f"*{top}*")] + [_slack_section("\n".join(block)) for block in blocks]
        result.append(Part({"text": top, "blocks": body}, tuple(members)))
    return result


def _slack_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _slack_clip(text)}}


@dataclass
class SlackChannel(Channel):
    """A Slack-compatible incoming webhook; its URL is the SecureString ``parameter``."""

    parameter: str
    parameters: Parameters
    clock: Callable[[], float] = time.time
    name: str = "slack"

    def parts(self, alerts: Sequence[Alert], *, stack: str) -> list[Part]:
        return slack_parts(alerts, stack=stack)

    def deliver(self, part: Part, *, timeout: float) -> str:
        url = self.parameters.checked(self.parameter, service="slack", shape="an https webhook URL", valid=usable_url)
        body = json.dumps(part.document, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        with self.parameters.forgotten_when_refused(self.parameter):
            return post(url, body, headers=headers, service="slack", timeout=timeout, clock=self.clock)


def from_environment(
    env: Mapping[str, str], *, parameters: Parameters, sns_client: Callable[[], Any], clock: Callable[[], float]
) -> SlackChannel | None:
    """The channel when ``[alert] webhook_ssm_parameter`` names the webhook's parameter."""
    del sns_client
    parameter = env.get(PARAMETER_VARIABLE)
    return SlackChannel(parameter, parameters, clock=clock) if parameter else None
