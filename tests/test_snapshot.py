"""A committed snapshot of the default stack: a change detector. Update it on purpose with
`make update-snapshots`, and review the diff."""

from __future__ import annotations

import json
from typing import Any

import pytest
from syrupy.extensions.json import JSONSnapshotExtension


def readable(value: Any) -> Any:
    """The stack with its embedded JSON documents (state machine definitions, policies, container
    definitions) parsed, so that a snapshot diff shows the changed lines, not one long string."""
    if isinstance(value, dict):
        return {key: readable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [readable(item) for item in value]
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return {"(parsed JSON)": readable(json.loads(value))}
        except ValueError:
            return value
    return value


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


def test_default_stack_snapshot(default_stack, snapshot_json):
    assert readable(default_stack) == snapshot_json
