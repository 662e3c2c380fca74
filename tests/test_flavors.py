"""CDK for Terraform and CDK Terrain build the same stack (constructs_lib/_provider.py).

Each flavour's environment synthesizes every example and the suite's own configs, as `make synth`
does; the two outputs must be the same resources with the same attributes, but for the documented
differences below (docs/flavors.md). Runs where both environments are built: `.ci/run` builds the
default one with `make test`, then the CDK Terrain one with `CDK_FLAVOR=cdktn make test`.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from typing import Any

import pytest
from conftest import CONFIGS, EXAMPLES, ROOT

from constructs_lib._provider import FLAVORS, environment_python, flavor
from constructs_lib.model.config import load_config

CONFIG_FILES = [*EXAMPLES, CONFIGS / "default.toml", CONFIGS / "multi.toml"]
PYTHONS = {name: ROOT / environment_python(chosen) for name, chosen in FLAVORS.items()}
# What may differ, and why (docs/flavors.md): the framework's version in the stack's metadata,
# and the AWS provider each flavour's bindings were generated for. "aws" and "hashicorp/aws" are
# the same provider address (registry.terraform.io/hashicorp/aws).
PROVIDERS = {
    "cdktf": {"source": "aws", "version": "6.25.0"},
    "cdktn": {"source": "hashicorp/aws", "version": "6.69.1"},
}
FRAMEWORK_VERSIONS = {"cdktf": "0.21.0", "cdktn": "0.24.0"}


@pytest.fixture(scope="module")
def both(tmp_path_factory) -> dict[str, dict[str, dict[str, Any]]]:
    """Each flavour's synthesized stacks, by config stem."""
    missing = [name for name, python in PYTHONS.items() if not python.exists()]
    if missing:
        pytest.skip(
            f"the {', '.join(missing)} environment is not built (CDK_FLAVOR={missing[0]} make test builds it; "
            ".ci/run builds both)"
        )
    out = tmp_path_factory.mktemp("flavors")
    running = {
        name: subprocess.Popen(
            [str(PYTHONS[name]), "tools/flavor-synth", str(out / name), *map(str, CONFIG_FILES)],
            cwd=ROOT,
            env={**os.environ, "CDK_FLAVOR": name},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in FLAVORS
    }
    stacks: dict[str, dict[str, dict[str, Any]]] = {}
    for name, process in running.items():
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, f"{name}: {stderr[-2000:]}"
        stacks[name] = {
            path.stem: json.loads(next((out / name / path.stem / "stacks").glob("*/cdk.tf.json")).read_text())
            for path in CONFIG_FILES
        }
    return stacks


def _without_documented_differences(stack: dict[str, Any], name: str) -> dict[str, Any]:
    stack = copy.deepcopy(stack)
    assert stack["terraform"]["required_providers"].pop("aws") == PROVIDERS[name]
    assert stack["//"]["metadata"].pop("version") == FRAMEWORK_VERSIONS[name]
    return stack


def test_both_flavours_build_the_same_resources_with_the_same_attributes(both):
    for stem in both["cdktf"]:
        cdktf = _without_documented_differences(both["cdktf"][stem], "cdktf")
        cdktn = _without_documented_differences(both["cdktn"][stem], "cdktn")
        assert cdktn == cdktf, stem


def _addresses(stack: dict[str, Any]) -> list[str]:
    found = [f"{kind}.{name}" for kind, items in stack.get("resource", {}).items() for name in items]
    found += [f"data.{kind}.{name}" for kind, items in stack.get("data", {}).items() for name in items]
    return sorted(found)


def test_the_terraform_addresses_are_identical_so_a_deployed_stack_moves_without_replacement(both):
    for path in CONFIG_FILES:
        addresses = _addresses(both["cdktf"][path.stem])
        assert _addresses(both["cdktn"][path.stem]) == addresses, path.stem
        # The whole stack, not an empty one: every job's state machine is among them.
        machines = sorted(address.split(".")[1].split("_")[0] for address in addresses
                          if address.startswith("aws_sfn_state_machine."))  # fmt: skip
        assert machines == sorted(f"job-{job.name}" for job in load_config(path).jobs), path.stem


def test_the_flavour_is_chosen_by_cdk_flavor_and_an_unknown_one_is_refused():
    code = "import constructs_lib._provider as p; print(p.flavor().name)"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "CDK_FLAVOR": "cdk"})  # fmt: skip
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == (
        "constructs_lib._provider.FlavorError: CDK_FLAVOR='cdk' is not a flavour (allowed: cdktf, cdktn)"
    )
    assert flavor().name == (os.environ.get("CDK_FLAVOR") or "cdktf")


def test_each_flavour_loads_only_the_provider_modules_in_use():
    code = (
        "import sys, constructs_lib\n"
        "constructs_lib.use_lean_provider_import()\n"
        "import constructs_lib.network\n"
        f"package = {flavor().provider!r}\n"
        "print(sorted({m.split('.')[1] for m in sys.modules if m.startswith(package + '.')}))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    # What network.py imports, and the assembly loader (and CDK Terrain's bindings' shared helpers).
    assert result.stdout.strip() == str(
        [
            "_jsii",
            *(["_private"] if flavor().name == "cdktn" else []),
            "data_aws_availability_zones",
            "default_security_group",
            "eip",
            "internet_gateway",
            "nat_gateway",
            "route",
            "route_table",
            "route_table_association",
            "subnet",
            "vpc",
        ]
    )


def test_your_stacks_snapshot_on_cdk_terrain_is_a_file_of_its_own(tmp_path):
    python = PYTHONS["cdktn"]
    if not python.exists():
        pytest.skip("the cdktn environment is not built (CDK_FLAVOR=cdktn make test builds it; .ci/run builds both)")
    config = tmp_path / "jobs.toml"
    config.write_text((CONFIGS / "default.toml").read_text())
    run = subprocess.run(
        [str(python), "tools/stack-snapshot"],
        cwd=ROOT,
        env={**os.environ, "CDK_FLAVOR": "cdktn", "JOBS_CONFIG": str(config)},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert sorted(path.name for path in (tmp_path / "snapshots").iterdir()) == ["scheduled-jobs.cdktn.json"]
    recorded = json.loads((tmp_path / "snapshots" / "scheduled-jobs.cdktn.json").read_text())
    assert recorded["terraform"]["required_providers"]["aws"]["version"] == "6.69.1"
