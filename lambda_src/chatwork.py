"""Chatwork: an alert, or a group of them, as a message in a room (its ``[info]`` notation).
https://developer.chatwork.com/reference/post-rooms-room_id-messages

A rate-limited post is answered 429 with ``x-ratelimit-reset`` (the epoch second the window
resets), which the transport obeys. https://developer.chatwork.com/docs/endpoints"""

from __future__ import annotations

import re
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lambda_src.contract import setting_variable
from lambda_src.digest import Limits, Part, headline, link, pack_lines, suffix
from lambda_src.message import LOG_TAIL_LABEL, Alert
from lambda_src.transport import Channel, Parameters, post

__all__ = ["API_BASE_VARIABLE", "CHATWORK_MESSAGE_LIMIT", "DEFAULT_API_BASE", "ROOM_VARIABLE", "TOKEN_VARIABLE",
           "ChatworkChannel", "chatwork_message", "chatwork_parts", "from_environment"]  # fmt: skip

# The room, and the SecureString parameter holding the API token; the API's address may be
# replaced (a stand-in server in the tests).
ROOM_VARIABLE = setting_variable("chatwork_room_id")
TOKEN_VARIABLE = setting_variable("chatwork_token_ssm_parameter")
API_BASE_VARIABLE = "CHATWORK_API_BASE"
# https://developer.chatwork.com/reference/post-rooms-room_id-messages
DEFAULT_API_BASE = "https://api.chatwork.com"

# Chatwork's API reference states no length for a message's body; a body of 40,000 characters has
# been seen accepted and one of 80,000 refused (400). A part stays at half the accepted length.
# https://developer.chatwork.com/reference/post-rooms-room_id-messages
# https://qiita.com/39taro/items/a012de576c43effcd280
CHATWORK_MESSAGE_LIMIT = 20000
# A Chatwork API token: 32 hexadecimal characters as issued; letters, digits, "-" and "_" accepted.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


def chatwork_message(alert: Alert) -> str:
    """Chatwork message notation: ``[info][title]…[/title]…[/info]``; Chatwork links bare URLs.
    https://developer.chatwork.com/docs/message-notation"""
    lines = [_chatwork_escape(line) for line in alert.body_lines]
    if alert.log_tail:
        lines += ["", f"{LOG_TAIL_LABEL}:", "[code]", *(_chatwork_escape(line) for line in alert.log_tail), "[/code]"]
    if alert.links:
        lines += ["", *(f"{label}: {url}" for label, url in alert.links)]
    return f"[info][title]{_chatwork_escape(alert.title)}[/title]" + "\n".join(lines) + "[/info]"


# Chatwork's notation tags (https://developer.chatwork.com/docs/message-notation): text from a run
# (a stop reason, a cause, a log line) must not ping the room ([toall], [To:…]) nor end the frame
# early ([/info]); "[batch]" and other brackets stay as they are.
_CHATWORK_TAG = re.compile(
    r"\[(?=/?(?:toall|to:|rp\b|pname|piconname|picon|info|title|code|hr|qt|qtmeta|dtext)\b)", re.I
)


def _chatwork_escape(text: str) -> str:
    """``text`` that cannot open or close a Chatwork tag: such a "[" becomes its full-width "［"."""
    return _CHATWORK_TAG.sub("［", text)


def chatwork_parts(alerts: Sequence[Alert], *, stack: str) -> list[Part]:
    """Chatwork messages: the headline as the frame's title, then the alerts by kind, one per line
    with the execution's URL under it (Chatwork links bare URLs); at most ``CHATWORK_MESSAGE_LIMIT``
    characters each."""
    if len(alerts) == 1:
        return [Part(chatwork_message(alerts[0]), (0,))]

    def line(alert: Alert) -> str:
        text = (
            "・"
            + _chatwork_escape(alert.job or alert.title)
            + (f" — {_chatwork_escape(alert.due)}" if alert.due else "")
        )
        found = link(alert)
        return text + (f"\n  {found[1]}" if found else "")

    title = headline(alerts, stack=stack)
    frame = len(f"[info][title]{title} (part 99 of 99)[/title][/info]")
    limits = Limits(block_chars=CHATWORK_MESSAGE_LIMIT, blocks=10**6, part_chars=CHATWORK_MESSAGE_LIMIT - frame)
    packed = pack_lines(alerts, line=line, heading=_chatwork_escape, limits=limits)
    return [
        Part(
            f"[info][title]{_chatwork_escape(title + suffix(number, len(packed)))}[/title]"
            + "\n\n".join("\n".join(block) for block in blocks)
            + "[/info]",
            tuple(members),
        )
        for number, (blocks, members) in enumerate(packed, 1)
    ]


@dataclass
class ChatworkChannel(Channel):
    """``POST {api_base}/v2/rooms/{room_id}/messages`` with the ``X-ChatWorkToken`` header.
    https://developer.chatwork.com/reference/post-rooms-room_id-messages"""

    room_id: str
    token_parameter: str
    parameters: Parameters
    api_base: str = DEFAULT_API_BASE
    clock: Callable[[], float] = time.time
    name: str = "chatwork"

    def parts(self, alerts: Sequence[Alert], *, stack: str) -> list[Part]:
        return chatwork_parts(alerts, stack=stack)

    def deliver(self, part: Part, *, timeout: float) -> str:
        token = self.parameters.checked(
            self.token_parameter,
            service="chatwork",
            shape='an API token (letters, digits, "-" and "_")',
            valid=lambda value: _TOKEN.fullmatch(value) is not None,
        )
        url = f"{self.api_base.rstrip('/')}/v2/rooms/{urllib.parse.quote(self.room_id, safe='')}/messages"
        body = urllib.parse.urlencode({"body": part.document, "self_unread": "1"}).encode()
        headers = {"X-ChatWorkToken": token, "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        with self.parameters.forgotten_when_refused(self.token_parameter):
            return post(
                url, body, headers=headers, service="chatwork", timeout=timeout, secrets=(token,), clock=self.clock
            )


def from_environment(
    env: Mapping[str, str], *, parameters: Parameters, sns_client: Callable[[], Any], clock: Callable[[], float]
) -> ChatworkChannel | None:
    """The channel when ``[alert] chatwork_room_id`` and its token's parameter are both set."""
    del sns_client
    room, token = env.get(ROOM_VARIABLE), env.get(TOKEN_VARIABLE)
    if not (room and token):
        return None
    api_base = env.get(API_BASE_VARIABLE) or DEFAULT_API_BASE
    return ChatworkChannel(room, token, parameters, api_base=api_base, clock=clock)
