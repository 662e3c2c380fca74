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

from lambda_src.message import Alert

__all__ = ["RECOVERED", "Limits", "Part", "headline", "link", "pack_lines", "sections", "short_label", "suffix"]


RECOVERED = "recovered"  # the kind of a "recovered" alert (lambda_src.message)


@dataclass(frozen=True)
class Part:
    """One message of a channel: ``document`` in the channel's format (a webhook's JSON body, a
    message's text, an e-mail's ``(subject, body)``), carrying the alerts at ``indices``."""

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


def link(alert: Alert) -> tuple[str, str] | None:
    """The alert's first link (the execution, for a failed run), named without its "(console)"."""
    return (short_label(alert.links[0][0]), alert.links[0][1]) if alert.links else None


def short_label(label: str) -> str:
    """A link's label without where it opens: "Execution (Step Functions console)" reads "Execution"."""
    return label.split(" (")[0]


@dataclass(frozen=True)
class Limits:
    block_chars: int  # the text of one block (a section of a message); or the whole part
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


def suffix(number: int, total: int) -> str:
    return f" (part {number} of {total})" if total > 1 else ""
