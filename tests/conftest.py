"""Shared fixtures: each configuration is synthesized once per test session."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from constructs_lib._provider import use_lean_provider_import  # noqa: E402
from constructs_lib.model.config import Config, load_config  # noqa: E402

use_lean_provider_import()

DEFAULT_CONFIG = ROOT / "jobs.toml"
MULTI_CONFIG = Path(__file__).resolve().parent / "configs" / "multi.toml"
EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))


def synth(config: Config) -> dict[str, Any]:
    """The stack's Terraform JSON, as ``cdktf.Testing.synth`` gives it (deterministic)."""
    from cdktf import Testing

    from constructs_lib.stack import ScheduledJobsStack

    app = Testing.app()
    stack = ScheduledJobsStack(app, config=config)
    return json.loads(Testing.synth(stack))


@pytest.fixture(scope="session")
def default_config() -> Config:
    return load_config(DEFAULT_CONFIG)


@pytest.fixture(scope="session")
def multi_config() -> Config:
    return load_config(MULTI_CONFIG)


@pytest.fixture(scope="session")
def default_stack(default_config: Config) -> dict[str, Any]:
    return synth(default_config)


@pytest.fixture(scope="session")
def multi_stack(multi_config: Config) -> dict[str, Any]:
    return synth(multi_config)


@pytest.fixture(scope="session")
def example_stacks() -> dict[str, dict[str, Any]]:
    """Every config in examples/, synthesized once, by file stem."""
    return {path.stem: synth(load_config(path)) for path in EXAMPLES}
