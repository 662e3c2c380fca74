"""What a group of alerts says: many alerts for one channel, as few messages as its limits allow.

A storm (Fargate without capacity at 00:00 fails every job due then) reaches a channel as one
group, grouped like a paging system groups: a headline with the count, then the alerts by what
happened ("37 runs: Fargate had no capacity in ap-northeast-1"), each job with when it was due and
its execution link. A group of one reads exactly as a single alert (``lambda_src.message``).

Each renderer returns the channel's messages as ``Part``s: the document to send and the indices of
the alerts it carries, so that a part that went through is never posted again when a later part
is retried.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lambda_src.message import (
    SLACK_BLOCK_TEXT_LIMIT,
    SLACK_TEXT_LIMIT,
    SUBJECT_LIMIT,
    Alert,
    _chatwork_escape,
    _slack_clip,
    _slack_escape,
    chatwork_message,
    email_message,
    slack_message,
)

__all__ = [
    "CHATWORK_MESSAGE_LIMIT",
    "EMAIL_BODY_LIMIT",
    "SLACK_BLOCKS_LIMIT",
    "Limits",
    "Part",
    "chatwork_parts",
    "email_parts",
    "headline",
    "pack_lines",
    "sections",
    "slack_parts",
]

# Slack refuses a message of more than 50 blocks (400 invalid_blocks).
# https://docs.slack.dev/reference/block-kit/blocks
SLACK_BLOCKS_LIMIT = 50
# Chatwork's API reference states no length for a message's body; a body of 40,000 characters has
# been seen accepted and one of 80,000 refused (400). A part stays at half the accepted length.
# https://developer.chatwork.com/reference/post-rooms-room_id-messages
# https://qiita.com/39taro/items/a012de576c43effcd280
CHATWORK_MESSAGE_LIMIT = 20000
# SNS takes a message of up to 256 KiB (262,144 bytes), subject and attributes included.
# https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
EMAIL_BODY_LIMIT = 200_000


RECOVERED = "recovered"  # the kind of a "recovered" alert (lambda_src.message)


@dataclass(frozen=True)
class Part:
    """One message of a channel: ``document`` in the channel's format (Slack: the JSON body;
    Chatwork: the message text; e-mail: ``(subject, body)``), carrying the alerts at ``indices``."""

    document: Any
    indices: tuple[int, ...]


@dataclass(frozen=True)
class _Section:
    heading: str  # "37 runs: Fargate had no capacity in ap-northeast-1"
    members: tuple[int, ...]  # indices into the group, in the order shown


def sections(alerts: Sequence[Alert]) -> list[_Section]:
    """The group's alerts by what happened and where, the largest first; within one, by when the
    runs were due, then by job."""
    by_kind: dict[tuple[str, str], list[int]] = {}
    for index, alert in enumerate(alerts):
        by_kind.setdefault((alert.kind or alert.title, alert.region or ""), []).append(index)
    ordered = sorted(by_kind.items(), key=lambda item: (-len(item[1]), item[0]))
    result = []
    for (kind, region), members in ordered:
        count = len(members)
        noun = "run" if all(alerts[i].job for i in members) else "alert"
        where = f" in {region}" if region else ""
        members.sort(key=lambda i: (alerts[i].due or "", alerts[i].job or "", alerts[i].alert_id or ""))
        if kind == RECOVERED:
            heading = f"{count} job{'s' if count != 1 else ''} recovered{where}"
        else:
            heading = f"{count} {noun}{'s' if count != 1 else ''}: {kind}{where}"
        result.append(_Section(heading, tuple(members)))
    return result


def headline(alerts: Sequence[Alert], *, stack: str) -> str:
    """``[stack] 200 runs failed: Fargate had no capacity`` (the kind only when all share it)."""
    kinds = {alert.kind or alert.title for alert in alerts}
    if kinds == {RECOVERED}:
        return f"[{stack}] {len(alerts)} jobs recovered"
    noun = "runs failed" if all(alert.job for alert in alerts) and RECOVERED not in kinds else "alerts"
    return f"[{stack}] {len(alerts)} {noun}" + (f": {next(iter(kinds))}" if len(kinds) == 1 else "")


def _link(alert: Alert) -> tuple[str, str] | None:
    """The alert's first link (the execution, for a failed run), named without its "(console)"."""
    return (alert.links[0][0].split(" (")[0], alert.links[0][1]) if alert.links else None


@dataclass(frozen=True)
class Limits:
    block_chars: int  # the text of one block (a Slack section); elsewhere the whole part
    blocks: int  # blocks in one part, besides its headline
    part_chars: int  # the text of all blocks of one part


def pack_lines(
    alerts: Sequence[Alert], *, line: Callable[[Alert], str], heading: Callable[[str], str], limits: Limits
) -> list[tuple[list[list[str]], list[int]]]:
    """The group's lines in parts, each a list of blocks (lists of lines) within ``limits``. Each
    section starts a block with its heading; a section cut by a new part repeats its heading there
    ("(continued)"); one alert's line is never cut."""
    parts: list[tuple[list[list[str]], list[int]]] = []
    blocks: list[list[str]] = []
    members: list[int] = []
    size = 0

    def add_block(block: list[str]) -> None:
        nonlocal blocks, members, size
        block_size = len("\n".join(block))
        if blocks and (len(blocks) + 1 > limits.blocks or size + block_size > limits.part_chars):
            parts.append((blocks, members))
            blocks, members, size = [], [], 0
            if not block[0].startswith(HEADING_MARK):
                block.insert(0, heading(current + " (continued)"))
                block_size = len("\n".join(block))
        blocks.append(block)
        size += block_size

    current = ""
    for section in sections(alerts):
        current = section.heading
        opened = False
        for index in section.members:
            text = line(alerts[index])
            last = blocks[-1] if blocks and opened else None
            if (
                last is not None
                and len("\n".join(last)) + 1 + len(text) <= limits.block_chars
                and size + 1 + len(text) <= limits.part_chars
            ):
                last.append(text)
                size += 1 + len(text)
            else:
                add_block([HEADING_MARK + heading(section.heading), text] if not opened else [text])
                opened = True
            members.append(index)
    if members:
        parts.append((blocks, members))
    return [([[row.removeprefix(HEADING_MARK) for row in block] for block in found], taken) for found, taken in parts]


HEADING_MARK = "\x00"  # marks a section's first heading while packing (removed before sending)


def _suffix(number: int, total: int) -> str:
    return f" (part {number} of {total})" if total > 1 else ""


# --- per channel -------------------------------------------------------------------------------------


def slack_parts(alerts: Sequence[Alert], *, stack: str) -> list[Part]:
    """Slack messages: a headline section, then one section per kind of alert (more where one
    passes 3,000 characters), one alert per line; at most 50 blocks and 40,000 characters each."""
    if len(alerts) == 1:
        return [Part(slack_message(alerts[0]), (0,))]

    def line(alert: Alert) -> str:
        words = [f"• *{_slack_escape(alert.job or alert.title)}*"]
        if alert.due:
            words.append(_slack_escape(alert.due))
        link = _link(alert)
        if link:
            words.append(f"<{link[1]}|{_slack_escape(link[0])}>")
        return _slack_clip(" · ".join(words))

    limits = Limits(block_chars=SLACK_BLOCK_TEXT_LIMIT, blocks=SLACK_BLOCKS_LIMIT - 1, part_chars=SLACK_TEXT_LIMIT)
    packed = pack_lines(alerts, line=line, heading=lambda text: f"*{_slack_escape(text)}*", limits=limits)
    title = headline(alerts, stack=stack)
    result = []
    for number, (blocks, members) in enumerate(packed, 1):
        top = _slack_escape(title + _suffix(number, len(packed)))
        body = [_slack_section(f"*{top}*")] + [_slack_section("\n".join(block)) for block in blocks]
        result.append(Part({"text": top, "blocks": body}, tuple(members)))
    return result


def _slack_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _slack_clip(text)}}


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
        link = _link(alert)
        return text + (f"\n  {link[1]}" if link else "")

    title = headline(alerts, stack=stack)
    frame = len(f"[info][title]{title} (part 99 of 99)[/title][/info]")
    limits = Limits(block_chars=CHATWORK_MESSAGE_LIMIT, blocks=10**6, part_chars=CHATWORK_MESSAGE_LIMIT - frame)
    packed = pack_lines(alerts, line=line, heading=_chatwork_escape, limits=limits)
    return [
        Part(
            f"[info][title]{_chatwork_escape(title + _suffix(number, len(packed)))}[/title]"
            + "\n\n".join("\n".join(block) for block in blocks)
            + "[/info]",
            tuple(members),
        )
        for number, (blocks, members) in enumerate(packed, 1)
    ]


def email_parts(alerts: Sequence[Alert], *, stack: str) -> list[Part]:
    """E-mail (one SNS publish per part): the headline as the subject, the alerts by kind in the
    body, each with its link on the next line; at most ``EMAIL_BODY_LIMIT`` characters a body."""
    if len(alerts) == 1:
        return [Part(email_message(alerts[0]), (0,))]

    def line(alert: Alert) -> str:
        text = "- " + (alert.job or alert.title) + (f", {alert.due}" if alert.due else "")
        link = _link(alert)
        return text + (f"\n    {link[0]}: {link[1]}" if link else "")

    title = headline(alerts, stack=stack)
    limits = Limits(block_chars=EMAIL_BODY_LIMIT, blocks=10**6, part_chars=EMAIL_BODY_LIMIT)
    packed = pack_lines(alerts, line=line, heading=lambda text: text, limits=limits)
    result = []
    for number, (blocks, members) in enumerate(packed, 1):
        subject = "".join(ch if ch.isprintable() else " " for ch in title + _suffix(number, len(packed)))
        if len(subject) > SUBJECT_LIMIT:
            subject = subject[: SUBJECT_LIMIT - 1] + "…"
        body = "\n\n".join("\n".join(block) for block in blocks) + "\n"
        result.append(Part((subject, body), tuple(members)))
    return result
