"""A committed snapshot of the project's default stack (tests/configs/default.toml): a change detector
of the constructs. Update it on purpose with `make update-snapshots`, and review the diff. The
user's own stack has its own snapshot (tools/stack-snapshot, docs/operations.md, the snapshot of your stack).

On CDK Terrain (CDK_FLAVOR=cdktn) the stack has a file of its own, since the provider version
shows in it. Syrupy is not loaded there (`-p no:syrupy`, the Makefile): at the end of a session
with `--snapshot-update` it deletes every snapshot of the test files that ran which no test used,
the default flavour's among them. `UPDATE_SNAPSHOTS=1` records CDK Terrain's file instead."""

from __future__ import annotations

import json
import os
from pathlib import Path

from syrupy.extensions.json import JSONSnapshotExtension

from constructs_lib._provider import DEFAULT_FLAVOR, flavor
from constructs_lib.reporting.snapshot import readable

CDK_TERRAIN_SNAPSHOT = Path(__file__).resolve().parent / "snapshots-cdktn" / "default_stack.json"


def test_default_stack_snapshot(default_stack, request):
    stack = readable(default_stack)
    if flavor().name == DEFAULT_FLAVOR:
        assert stack == request.getfixturevalue("snapshot").use_extension(JSONSnapshotExtension)
        return
    if os.environ.get("UPDATE_SNAPSHOTS"):
        CDK_TERRAIN_SNAPSHOT.parent.mkdir(exist_ok=True)
        CDK_TERRAIN_SNAPSHOT.write_text(json.dumps(stack, indent=2, sort_keys=True) + "\n")
    assert stack == json.loads(CDK_TERRAIN_SNAPSHOT.read_text())
