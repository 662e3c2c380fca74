"""The deploy workflow as users run it: the pinned cdktf CLI (from node_modules, which `make test`
installs from package-lock.json), make's deploy targets without a Terraform, and `make run` with
stand-ins for the aws and terraform commands."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CDKTF = ROOT / "node_modules" / ".bin" / "cdktf"
ENV = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "CHECKPOINT_DISABLE": "1"}

needs_cli = pytest.mark.skipif(
    not CDKTF.exists(), reason="the pinned cdktf CLI is not installed: `make test` installs it (npm ci)"
)


def cli_synth(outdir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CDKTF), "synth", "--output", str(outdir), *extra], cwd=ROOT, env=ENV, capture_output=True, text=True
    )


@needs_cli
def test_the_pinned_cli_is_0_21_0():
    version = subprocess.run([str(CDKTF), "--version"], cwd=ROOT, env=ENV, capture_output=True, text=True)
    assert version.stdout.splitlines()[0] == "0.21.0"  # then whatever terraform says of its own set-up


@needs_cli
def test_cdktf_synth_through_cdktf_json_gives_the_same_stack_as_make_synth(tmp_path):
    by_cli = cli_synth(tmp_path / "cli")
    assert by_cli.returncode == 0, by_cli.stderr
    ours = subprocess.run(
        [sys.executable, "main.py"],
        cwd=ROOT,
        env={**ENV, "CDKTF_OUTDIR": str(tmp_path / "ours")},
        capture_output=True,
        text=True,
    )
    assert ours.returncode == 0, ours.stderr
    stack = Path("stacks") / "scheduled-jobs" / "cdk.tf.json"
    assert (tmp_path / "cli" / stack).read_bytes() == (tmp_path / "ours" / stack).read_bytes()


@needs_cli
def test_the_stack_as_hcl(tmp_path):
    result = cli_synth(tmp_path, "--hcl")
    assert result.returncode == 0, result.stderr
    # The config's warnings reach the user once, as warnings: the CLI shows the app's stdout as it
    # is, and would have marked each line of its stderr "[ERROR]".
    said = result.stdout + result.stderr
    assert said.count("warning: no alert reaches a person: ") == 1
    assert "[ERROR] default - \x1b[39mwarning" not in said and "[ERROR] default - warning" not in said
    hcl = (tmp_path / "stacks" / "scheduled-jobs" / "cdk.tf").read_text()
    assert 'resource "aws_sfn_state_machine" "job-run-once-a-hour_state-machine_DEAE63A6" {' in hcl
    assert not (tmp_path / "stacks" / "scheduled-jobs" / "cdk.tf.json").exists()


@pytest.mark.parametrize("target", ["deploy", "diff", "destroy"])
def test_deploy_targets_without_terraform_say_what_is_missing(target, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "head"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    result = subprocess.run(
        [str(ROOT / "tools" / "check-terraform"), target],
        env={"PATH": str(bin_dir), "TERRAFORM_BINARY_NAME": "tofu"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"make {target}: 'tofu' is not on the PATH, and cdktf {target} runs it.",
        "  Install Terraform 1.10 or newer: https://developer.hashicorp.com/terraform/install",
        "  or OpenTofu, and run with TERRAFORM_BINARY_NAME=tofu: https://opentofu.org/docs/intro/install/",
    ]
    assert "Traceback" not in result.stderr


def test_make_diff_stops_at_once_without_terraform(tmp_path):
    """`make diff` itself, not only its check: the CLI never starts."""
    env = {**ENV, "TERRAFORM_BINARY_NAME": "no-such-terraform-binary"}
    result = subprocess.run(["make", "--no-print-directory", "diff"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 2
    assert "make diff: 'no-such-terraform-binary' is not on the PATH" in result.stderr
    assert "Synthesizing" not in result.stdout + result.stderr


# --- make run: tools/run-job with stand-ins ---------------------------------------------------------

MACHINE = "arn:aws:states:ap-northeast-1:111122223333:stateMachine:s-nightly"
OUTPUTS = {
    "region": {"value": "ap-northeast-1"},
    "jobs": {"value": {"nightly": {"state_machine_arn": MACHINE, "log_group": "/scheduled-jobs/s/nightly"}}},
}
FAKE_TERRAFORM = """#!/bin/sh
case "$*" in
  *"output -json") cat "$OUTPUTS_FILE" ;;
  *) exit 1 ;;
esac
"""
FAKE_AWS = """#!/bin/sh
printf '%s\\n' "$@" >> "$CALLS"
case "$2" in
  start-execution) echo arn:aws:states:ap-northeast-1:111122223333:execution:s-nightly:abc ;;
  describe-log-streams) echo "${STREAM:-job/app/0123abcd}" ;;
  tail) echo "2026-11-30T08:00:01 report sent" ;;
esac
"""


def run_tool(tmp_path: Path, tool: str, job: str, **env: str) -> subprocess.CompletedProcess[str]:
    """tools/<tool> against a stand-in terraform (the outputs above) and aws (each call recorded)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    for name, text in (("terraform", FAKE_TERRAFORM), ("aws", FAKE_AWS)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    (bin_dir / "python3").symlink_to(os.path.realpath(sys.executable))  # the interpreter, not a shim
    for command in ("dirname", "cat"):
        (bin_dir / command).symlink_to(shutil.which(command))
    stack_dir = tmp_path / "stacks" / "s"
    stack_dir.mkdir(parents=True)
    (stack_dir / "cdk.tf.json").write_text("{}")
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(OUTPUTS))
    return subprocess.run(
        [shutil.which("bash"), str(ROOT / "tools" / tool), str(stack_dir), job],
        env={"PATH": str(bin_dir), "CALLS": str(tmp_path / "calls"), "OUTPUTS_FILE": str(outputs), **env},
        capture_output=True,
        text=True,
    )


def run_job(tmp_path: Path, job: str) -> subprocess.CompletedProcess[str]:
    return run_tool(tmp_path, "run-job", job)


def test_make_run_starts_the_job_now_and_prints_its_console_link(tmp_path):
    result = run_job(tmp_path, "nightly")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "calls").read_text().splitlines() == [
        "stepfunctions",
        "start-execution",
        "--region",
        "ap-northeast-1",
        "--state-machine-arn",
        "arn:aws:states:ap-northeast-1:111122223333:stateMachine:s-nightly",
        "--input",
        json.dumps({"job": "nightly", "startedBy": "hand"}, separators=(",", ":")),
        "--query",
        "executionArn",
        "--output",
        "text",
    ]
    assert result.stdout.splitlines() == [
        "Started arn:aws:states:ap-northeast-1:111122223333:execution:s-nightly:abc",
        "https://console.aws.amazon.com/states/home?region=ap-northeast-1#/v2/executions/details/"
        "arn:aws:states:ap-northeast-1:111122223333:execution:s-nightly:abc",
    ]


def test_make_run_names_the_jobs_when_the_job_is_unknown(tmp_path):
    result = run_job(tmp_path, "nighly")
    assert result.returncode == 2
    assert result.stderr.strip() == "make run: no job 'nighly' in this stack (its jobs: nightly)"
    assert not (tmp_path / "calls").exists()


# --- make logs: tools/job-logs with the same stand-ins ----------------------------------------------


def test_make_logs_prints_the_newest_stream_of_the_jobs_log_group(tmp_path):
    result = run_tool(tmp_path, "job-logs", "nightly")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2026-11-30T08:00:01 report sent\n"
    assert result.stderr == "/scheduled-jobs/s/nightly job/app/0123abcd\n"
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls == [
        *("logs", "describe-log-streams", "--region", "ap-northeast-1"),
        *("--log-group-name", "/scheduled-jobs/s/nightly", "--order-by", "LastEventTime", "--descending"),
        *("--max-items", "1", "--query", "logStreams[0].logStreamName", "--output", "text"),
        *("logs", "tail", "/scheduled-jobs/s/nightly", "--region", "ap-northeast-1"),
        *("--log-stream-names", "job/app/0123abcd", "--since", "30d", "--format", "short"),
    ]


def test_make_logs_says_when_there_is_nothing_to_show(tmp_path):
    quiet = run_tool(tmp_path / "a", "job-logs", "nightly", STREAM="None")
    assert (quiet.returncode, quiet.stderr) == (
        1,
        "make logs: no run of nightly has logged anything yet (log group /scheduled-jobs/s/nightly)\n",
    )
    unknown = run_tool(tmp_path / "b", "job-logs", "nighly")
    assert (unknown.returncode, unknown.stderr.strip()) == (
        2,
        "make logs: no job 'nighly' in this stack (its jobs: nightly)",
    )
    unnamed = run_tool(tmp_path / "c", "job-logs", "")
    assert (unnamed.returncode, unnamed.stderr) == (2, "make logs: name the job: make logs JOB=<name>\n")
