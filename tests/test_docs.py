"""The README is a front door: the two commands first, a complete example that is a valid config,
links that resolve, at most 300 lines. The reference lives in docs/."""

from __future__ import annotations

import re
from pathlib import Path

from constructs_lib.model.config import parse_config

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_the_readme_opens_with_the_two_commands_and_stays_short():
    assert README.splitlines()[2:6] == [
        "```sh",
        "make synth   # builds the environment if needed, synthesizes jobs.toml into cdktf.out/",
        "make test    # builds the environment if needed, runs the test suite",
        "```",
    ]
    assert len(README.splitlines()) <= 300


def test_the_readme_example_is_a_complete_valid_config():
    (block,) = re.findall(r"```toml\n(.*?)```", README, re.S)
    config = parse_config(block, source="README.md")
    assert [job.name for job in config.jobs] == ["send-report"]
    job = config.jobs[0]
    # What the README says of it: 12 launch retries over 18 min 30 s, a missed run reported in 30 minutes.
    assert (job.retry_policy.max_attempts, job.retry_window_seconds) == (12, 1110)
    assert job.grace_seconds + 300 == 30 * 60


def test_every_link_to_a_doc_resolves():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(((?:\.\./|docs/)[^)#]+)\)", page.read_text()):
            assert (page.parent / target).resolve().is_file(), f"{page.name} links to {target}"
    assert {path.name for path in pages[1:]} == {
        "alerts.md", "architecture.md", "configuration.md", "failure-semantics.md", "flavors.md", "operations.md",
        "security.md", "testing.md",
    }  # fmt: skip
