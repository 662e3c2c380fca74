"""A config into Terraform JSON: into the output folder (replaced only on success), or into memory
for the tests and the user's snapshot. The cdktf bindings load here, once the config is valid."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from constructs_lib.model.config import Config

__all__ = ["ROOT", "local_state_path", "stack_json", "synthesize"]

ROOT = Path(__file__).resolve().parent.parent  # the project: where jobs.toml and the local state live


def synthesize(config: Config, outdir: Path) -> Path:
    """Synthesize ``config`` into ``outdir``, replacing it only on success. Returns the stack folder."""
    from constructs_lib._provider import use_lean_provider_import

    use_lean_provider_import()  # only the provider modules in use: about 20 s less
    from constructs_lib.cdk import App  # the AWS provider loads here, after the config is known to be valid
    from constructs_lib.stack import ScheduledJobsStack

    outdir = outdir.resolve()
    outdir.parent.mkdir(parents=True, exist_ok=True)
    # What a run that was killed mid-synth left behind (a SIGKILL runs no cleanup).
    for stale in outdir.parent.glob(f".{outdir.name}.*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.", dir=outdir.parent))
    try:
        app = App(outdir=str(staging))
        ScheduledJobsStack(app, config=config, local_state_path=local_state_path(config, outdir))
        app.synth()
        previous = outdir.with_name(f".{outdir.name}.previous")
        shutil.rmtree(previous, ignore_errors=True)
        if outdir.exists():
            outdir.rename(previous)
        staging.rename(outdir)
        shutil.rmtree(previous, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return outdir / "stacks" / config.stack.name


def stack_json(config: Config) -> dict[str, Any]:
    """The stack's Terraform JSON as ``cdktf.Testing`` synthesizes it: deterministic, and no file
    written. The tests and the user's snapshot (``tools/stack-snapshot``) compare it."""
    from constructs_lib._provider import use_lean_provider_import

    use_lean_provider_import()
    from constructs_lib.cdk import Testing
    from constructs_lib.stack import ScheduledJobsStack

    return json.loads(Testing.synth(ScheduledJobsStack(Testing.app(), config=config)))


def local_state_path(config: Config, outdir: Path) -> str:
    """Where Terraform keeps a local state: ``terraform.<stack>.tfstate`` at the project's root,
    outside the output folder (which every synth replaces), written relative to the stack's
    folder, so that a clone elsewhere finds its own."""
    state = ROOT / f"terraform.{config.stack.name}.tfstate"
    return os.path.relpath(state, outdir.resolve() / "stacks" / config.stack.name)
