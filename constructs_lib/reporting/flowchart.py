"""A state machine definition as a mermaid flowchart: every state and transition, for the review page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

__all__ = ["condition", "flowchart", "flowchart_edges", "states_of"]


def states_of(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from states_of(branch["States"])


def flowchart_edges(definition: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Every transition of ``definition`` and its nested branches: ``(from, to, label)``."""
    edges: list[tuple[str, str, str]] = [("start", definition["StartAt"], "")]
    for name, state in states_of(definition["States"]):
        for branch in state.get("Branches", []):
            edges.append((name, branch["StartAt"], "branch"))
        if "Next" in state:
            edges.append((name, state["Next"], ""))
        for choice in state.get("Choices", []):
            edges.append((name, choice["Next"], condition(choice)))
        if "Default" in state:
            edges.append((name, state["Default"], "otherwise"))
        for catch in state.get("Catch", []):
            edges.append((name, catch["Next"], "catch " + ", ".join(catch["ErrorEquals"])))
        for retry in state.get("Retry", []):
            edges.append((name, name, f"retry ×{retry['MaxAttempts']}: " + ", ".join(retry["ErrorEquals"])))
    return edges


def condition(rule: dict[str, Any]) -> str:
    for operator in ("And", "Or"):
        if operator in rule:
            return f" {operator.lower()} ".join(condition(inner) for inner in rule[operator])
    variable = rule.get("Variable", "")
    for key, value in rule.items():
        if key not in ("Variable", "Next"):
            return f"{variable.rsplit('.', 1)[-1]} {key} {json.dumps(value)}"
    return variable


def flowchart(definition: dict[str, Any]) -> str:
    """A Mermaid flowchart of every state and transition; parallel branches as subgraphs."""
    lines = ["flowchart TD", '  start(["start"])']

    def node(name: str, state: dict[str, Any]) -> str:
        kind = state["Type"]
        label = f"{name}<br/><small>{kind}</small>"
        shapes = {"Choice": ('{"', '"}'), "Fail": ('[["', '"]]'), "Pass": ('("', '")')}
        left, right = shapes.get(kind, ('["', '"]'))
        return f"  {name}{left}{label}{right}"

    def declare(states: dict[str, Any], depth: int) -> None:
        for name, state in states.items():
            lines.append(node(name, state))
            for index, branch in enumerate(state.get("Branches", [])):
                lines.append(f'  subgraph {name}_branch{index}["{name}: branch {index + 1}"]')
                declare(branch["States"], depth + 1)
                lines.append("  end")

    declare(definition["States"], 0)
    for source, target, label in flowchart_edges(definition):
        arrow = "-.->" if label.startswith(("catch", "retry")) else "-->"
        text = label.replace('"', "'")
        lines.append(f'  {source} {arrow}|"{text}"| {target}' if label else f"  {source} {arrow} {target}")
    return "\n".join(lines)


# --- the page --------------------------------------------------------------------------------------
