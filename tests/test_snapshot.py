"""A committed snapshot of the default stack: a change detector. Update it on purpose with
`make update-snapshots`, and review the diff."""

from __future__ import annotations

import pytest
from syrupy.extensions.json import JSONSnapshotExtension


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


def test_default_stack_snapshot(default_stack, snapshot_json):
    assert default_stack == snapshot_json
