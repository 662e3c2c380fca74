"""Shared fixtures: each configuration is synthesized once per test session."""

from __future__ import annotations

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

CONFIGS = Path(__file__).resolve().parent / "configs"
# The project's own configurations: never the user's jobs.toml, so the suite passes whatever it holds.
DEFAULT_CONFIG = CONFIGS / "default.toml"
MULTI_CONFIG = CONFIGS / "multi.toml"
# main.py and every command a test starts read $JOBS_CONFIG first: the suite's own default, whatever the
# user's shell exports.
os.environ["JOBS_CONFIG"] = str(DEFAULT_CONFIG)
EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))


def synth(config: Config) -> dict[str, Any]:
    """The stack's Terraform JSON, as ``cdktf.Testing.synth`` gives it (deterministic): what the
    user's own snapshot compares too."""
    from constructs_lib.synthesis import stack_json

    return stack_json(config)


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


@pytest.fixture(scope="session", autouse=True)
def one_sns_signing_key() -> Any:
    """moto signs each message SNS delivers to a subscriber with an RSA key it generates per
    subscription (2048 bits, about 70 ms), and the alert tests make a new subscription each
    (``tests/alert_world.py``): one key serves the session (``test_execution.py``: 16.4 s to 14.1 s).
    The signature is not checked here."""
    from unittest import mock

    from cryptography.hazmat.primitives.asymmetric import rsa
    from moto.sns.models import Subscription

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with mock.patch.object(Subscription, "private_key", lambda self: key):
        yield


@pytest.fixture(autouse=True)
def fresh_schedule_caches() -> None:
    """Each test parses schedules anew: ``schedule_expression`` keeps each parsed expression and the
    dates of each set of date fields for the life of the process, which would let a test pass on
    what an earlier one worked out (and hide a wrong change from ``make mutate``)."""
    from constructs_lib.model import schedule_expression

    schedule_expression.parse_schedule.cache_clear()
    schedule_expression._DATES.clear()
