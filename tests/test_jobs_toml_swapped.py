"""The user's path: jobs.toml is theirs to edit. The suite never reads it (it synthesizes its own
configurations in tests/configs/): a copy of the project whose jobs.toml is swapped for another
passes the tests of the entry points."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The test files that start main.py, the cdktf CLI (which runs `make synth`) and the snapshot, and
# that load the default configuration.
ENTRY_POINT_TESTS = ("tests/test_cli.py", "tests/test_workflow.py", "tests/test_snapshot.py", "tests/test_config.py")


def project_copy(destination: Path) -> Path:
    """The project's files as a clone has them (tracked, and new files not ignored), with the built
    environments linked in; modification times kept, so make finds its environment up to date."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    for built in (".venv", ".tools", "node_modules"):
        if (ROOT / built).exists():
            (destination / built).symlink_to(ROOT / built)
    return destination


def test_the_suites_entry_points_pass_whatever_jobs_toml_holds(tmp_path):
    """A jobs.toml that is not even TOML: every test that reached it would fail."""
    copy = project_copy(tmp_path / "project")
    (copy / "jobs.toml").write_text("this is the user's file, and it is not TOML [\n")
    env = {key: value for key, value in os.environ.items() if key not in ("JOBS_CONFIG", "PYTEST_XDIST_WORKER")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", *ENTRY_POINT_TESTS],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " failed" not in result.stdout and " error" not in result.stdout
