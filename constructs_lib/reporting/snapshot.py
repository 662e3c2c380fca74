"""A snapshot of a synthesized stack, and a diff of two that a person can read.

The snapshot is the stack's Terraform JSON with its embedded JSON documents (state machine
definitions, policies, container definitions) parsed, so that a diff shows the changed lines, not
one long string. The diff names each Terraform address that was added, removed or changed, and
shows a changed one line by line.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

PARSED = "(parsed JSON)"
# A changed resource is shown in full up to this many diff lines; past it, the count of the rest.
MAX_LINES_PER_CHANGE = 60


def readable(value: Any) -> Any:
    """``value`` with every string that holds a JSON object or array parsed, recursively."""
    if isinstance(value, dict):
        return {key: readable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [readable(item) for item in value]
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return {PARSED: readable(json.loads(value))}
        except ValueError:
            return value
    return value


def dumps(snapshot: Any) -> str:
    """The snapshot file's text: stable across runs and machines."""
    return json.dumps(snapshot, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def addresses(stack: dict[str, Any]) -> dict[str, Any]:
    """Each piece of the stack by its Terraform address: ``aws_sqs_queue.name``,
    ``data.aws_region.name``, ``output.name``, ``provider.aws``; other top-level blocks by name."""
    found: dict[str, Any] = {}
    for block, body in stack.items():
        if block in ("resource", "data") and isinstance(body, dict):
            prefix = "data." if block == "data" else ""
            for kind, items in body.items():
                for name, item in items.items():
                    found[f"{prefix}{kind}.{name}"] = item
        elif block in ("output", "provider", "variable", "locals") and isinstance(body, dict):
            for name, item in body.items():
                found[f"{block}.{name}"] = item
        else:
            found[block] = body
    return found


def diff(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """The lines a person reads: each address added, removed or changed, in address order, and the
    changed lines of each changed one. Empty when the two are the same."""
    before, after = addresses(recorded), addresses(current)
    lines: list[str] = []
    for address in sorted(before.keys() | after.keys()):
        if address not in before:
            lines.append(f"+ added    {address}")
        elif address not in after:
            lines.append(f"- removed  {address}")
        elif before[address] != after[address]:
            lines.append(f"~ changed  {address}")
            changed = list(
                difflib.unified_diff(
                    dumps(before[address]).splitlines(),
                    dumps(after[address]).splitlines(),
                    lineterm="",
                    n=2,
                )
            )[2:]  # without the ---/+++ header lines
            shown = changed[:MAX_LINES_PER_CHANGE]
            lines += [f"    {line}" for line in shown]
            if len(changed) > len(shown):
                lines.append(f"    ... {len(changed) - len(shown)} more lines")
    return lines
