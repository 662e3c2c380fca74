"""A committed snapshot of the project's default stack (tests/configs/default.toml): a change detector
of the constructs. Update it on purpose with `make update-snapshots`, and review the diff. The
user's own stack has its own snapshot (tools/stack-snapshot, docs/operations.md, the snapshot of your stack)."""

from __future__ import annotations

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from constructs_lib.reporting.snapshot import readable


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


def test_default_stack_snapshot(default_stack, snapshot_json):
    assert readable(default_stack) == snapshot_json
