"""Microsoft Teams: an alert, or a group of them, as an Adaptive Card posted to a Workflows webhook.

Office 365 connector webhooks are retired; a channel's "Send webhook alerts to a channel" workflow
(Power Automate) takes ``{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "content": <card>}]}`` and answers 202 when it accepted
the request. https://learn.microsoft.com/en-us/connectors/teams/?tabs=text1#microsoft-teams-webhook
Adaptive Cards: https://adaptivecards.io/explorer/ (version 1.4 renders in Teams on every client).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lambda_src.contract import setting_variable
from lambda_src.digest import Limits, Part, headline, link, pack_lines, short_label, suffix
from lambda_src.message import LOG_TAIL_LABEL, Alert
from lambda_src.transport import Channel, Parameters, post, usable_url

__all__ = [
    "PARAMETER_VARIABLE",
    "TEAMS_MESSAGE_BYTES",
    "TeamsChannel",
    "from_environment",
    "teams_card",
    "teams_message",
    "teams_parts",
]

# The SecureString parameter holding the Workflows webhook URL.
PARAMETER_VARIABLE = setting_variable("teams_webhook_ssm_parameter")

# Teams refuses a message over about 28 KB; a part stays well under it.
# https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/format-your-bot-messages
TEAMS_MESSAGE_BYTES = 24_000
CARD_VERSION = "1.4"


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _envelope(card_body: list[dict[str, Any]], actions: list[dict[str, Any]]) -> dict[str, Any]:
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": card_body,
        "msteams": {"width": "Full"},
    }
    if actions:
        card["actions"] = actions
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def teams_card(alert: Alert) -> list[dict[str, Any]]:
    """One alert's card body: its title, what happened, its facts, its task's last log lines."""
    body = [
        _text(alert.title, weight="Bolder", size="Medium", color="Attention"),
        _text(alert.what),
    ]
    if alert.facts:
        body.append({"type": "FactSet", "facts": [{"title": label, "value": value} for label, value in alert.facts]})
    if alert.log_tail:
        body.append(_text(LOG_TAIL_LABEL, weight="Bolder"))
        body.append(_text("\n\n".join(alert.log_tail), fontType="Monospace", size="Small"))
    return body


def teams_message(alert: Alert) -> dict[str, Any]:
    """One alert as a Teams message; its links are buttons (a phone shows them under the card)."""
    actions = [{"type": "Action.OpenUrl", "title": short_label(label), "url": url} for label, url in alert.links]
    return _envelope(teams_card(alert), actions)


def teams_parts(alerts: Sequence[Alert], *, stack: str) -> list[Part]:
    """Teams messages for a group: the headline, then the alerts by what happened, one line each
    with when it was due and a link to its execution; each message under ``TEAMS_MESSAGE_BYTES``."""
    if len(alerts) == 1:
        return [Part(teams_message(alerts[0]), (0,))]

    def line(alert: Alert) -> str:
        words = [f"**{alert.job or alert.title}**"]
        if alert.due:
            words.append(alert.due)
        found = link(alert)
        if found:
            words.append(f"[{found[0]}]({found[1]})")
        return "- " + " · ".join(words)

    # JSON escaping and the TextBlocks' own keys take room too: the text gets half the budget.
    limits = Limits(block_chars=TEAMS_MESSAGE_BYTES // 2, blocks=10**6, part_chars=TEAMS_MESSAGE_BYTES // 2)
    packed = pack_lines(alerts, line=line, heading=lambda text: f"**{text}**", limits=limits)
    title = headline(alerts, stack=stack)
    result = []
    for number, (blocks, members) in enumerate(packed, 1):
        top = title + suffix(number, len(packed))
        body = [_text(top, weight="Bolder", size="Medium", color="Attention")]
        body += [_text("\n".join(block)) for block in blocks]
        result.append(Part(_envelope(body, []), tuple(members)))
    return result


@dataclass
class TeamsChannel(Channel):
    """A Microsoft Teams Workflows webhook (``lambda_src.teams``); its URL is the SecureString
    ``parameter``. The workflow answers 202 when it took the message."""

    parameter: str
    parameters: Parameters
    clock: Callable[[], float] = time.time
    name: str = "teams"

    def parts(self, alerts: Sequence[Alert], *, stack: str) -> list[Part]:
        return teams_parts(alerts, stack=stack)

    def deliver(self, part: Part, *, timeout: float) -> str:
        url = self.parameters.checked(self.parameter, service="teams", shape="an https webhook URL", valid=usable_url)
        body = json.dumps(part.document, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        with self.parameters.forgotten_when_refused(self.parameter):
            return post(url, body, headers=headers, service="teams", timeout=timeout, clock=self.clock)


def from_environment(
    env: Mapping[str, str], *, parameters: Parameters, sns_client: Callable[[], Any], clock: Callable[[], float]
) -> TeamsChannel | None:
    """The channel when ``[alert] teams_webhook_ssm_parameter`` names the workflow URL's parameter."""
    del sns_client
    parameter = env.get(PARAMETER_VARIABLE)
    return TeamsChannel(parameter, parameters, clock=clock) if parameter else None
