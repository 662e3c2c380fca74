"""The user's own stack has its own snapshot (tools/stack-snapshot), recorded on first use, compared
by `make test`, updated on purpose. (That the suite never reads jobs.toml: test_jobs_toml_swapped.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

USER_JOBS = """
[stack]
name = "acme-batch"
region = "eu-west-1"

[[jobs]]
name = "daily-report"
schedule = "cron(0 8 ? * MON-FRI *)"
timezone = "Asia/Tokyo"
image = "public.ecr.aws/docker/library/alpine:3.20"
command = ["sh", "-c", "echo report"]
cpu = 256
memory = 512
"""


def snapshot_tool(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "stack-snapshot"), *args],
        cwd=config.parent,
        env={**os.environ, "JOBS_CONFIG": str(config)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_users_stack_snapshot_is_recorded_then_compared_then_updated(tmp_path):
    config = tmp_path / "jobs.toml"
    config.write_text(USER_JOBS)
    snapshot = tmp_path / "snapshots" / "acme-batch.json"

    first = snapshot_tool(config)
    assert (first.returncode, first.stderr) == (0, "")
    assert first.stdout == (
        "snapshot: recorded the first snapshot of stack 'acme-batch' (jobs.toml) in snapshots/acme-batch.json; "
        "commit it with the config.\n"
    )
    recorded = snapshot.read_text()
    assert '"region": "eu-west-1"' in recorded
    assert '"schedule_expression_timezone": "Asia/Tokyo"' in recorded

    config.write_text(USER_JOBS.replace('"cron(0 8 ? * MON-FRI *)"', '"cron(30 8 ? * MON-FRI *)"'))
    changed = snapshot_tool(config)
    assert changed.returncode == 1
    assert changed.stdout == ""
    lines = changed.stderr.splitlines()
    assert lines[0] == "snapshot: stack 'acme-batch' (jobs.toml) differs from snapshots/acme-batch.json:"
    changed = [line.split()[2].split(".")[0] for line in lines if line.startswith("  ~ changed  ")]
    # The schedule, the alerts that name its next run (each ended-early target and the state machine),
    # and the watchdog, whose package lists the schedules it expects.
    assert changed == ["aws_cloudwatch_event_target"] * 2 + [
        "aws_lambda_function",
        "aws_scheduler_schedule",
        "aws_sfn_state_machine",
    ]
    assert '      -  "schedule_expression": "cron(0 8 ? * MON-FRI *)",' in lines
    assert '      +  "schedule_expression": "cron(30 8 ? * MON-FRI *)",' in lines
    assert lines[-1] == (
        "Review the changes above. If they are what you meant, record them with `make update-snapshots` "
        "and commit snapshots/acme-batch.json with the config."
    )
    assert snapshot.read_text() == recorded  # a failed comparison leaves the snapshot as it was

    updated = snapshot_tool(config, "--update")
    assert (updated.returncode, updated.stdout) == (
        0,
        "snapshot: recorded stack 'acme-batch' (jobs.toml) in snapshots/acme-batch.json; review `git diff` "
        "and commit it.\n",
    )
    same = snapshot_tool(config)
    assert (same.returncode, same.stdout) == (
        0,
        "snapshot: stack 'acme-batch' (jobs.toml) matches snapshots/acme-batch.json\n",
    )


def test_a_bad_config_writes_no_snapshot(tmp_path):
    config = tmp_path / "jobs.toml"
    config.write_text(USER_JOBS.replace('region = "eu-west-1"', 'region = "moon-1"'))
    result = snapshot_tool(config)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == f"error: {config} has 1 problem; nothing was written:"
    assert not (tmp_path / "snapshots").exists()
