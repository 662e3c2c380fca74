"""Synthesize the scheduled-jobs stack from jobs.toml (or $JOBS_CONFIG) into cdktf.out.

    python main.py                  # what `make synth` and `cdktf synth` run
    python main.py --stack-folder   # print where the stack is synthesized (for `make test-alert`)

A bad config is reported, one line per problem, before the AWS provider bindings are imported;
nothing is written and the previous cdktf.out stays as it was. A good one is synthesized into a
staging folder that replaces cdktf.out only once synthesis has succeeded.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from constructs_lib.model.config import Config, ConfigError, load_config
from constructs_lib.reporting.summary import summary
from constructs_lib.reporting.warnings import stack_warnings, warnings
from constructs_lib.synthesis import synthesize

ROOT = Path(__file__).resolve().parent
DEFAULT_CONFIG = ROOT / "jobs.toml"


def config_path() -> Path:
    return Path(os.environ.get("JOBS_CONFIG") or DEFAULT_CONFIG)


def output_dir() -> Path:
    # The cdktf CLI says where it wants the output; on our own we write ./cdktf.out.
    return Path(os.environ.get("CDKTF_OUTDIR") or "cdktf.out")


def now() -> datetime:
    """The time the preview counts from: now, or ``SOURCE_DATE_EPOCH`` (the reproducible-builds
    convention, https://reproducible-builds.org/specs/source-date-epoch/) when it is set."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    return datetime.fromtimestamp(int(epoch), tz=UTC) if epoch else datetime.now(tz=UTC)


def read_stack(stack_dir: Path) -> dict[str, Any] | None:
    """The synthesized Terraform JSON; ``None`` when `cdktf synth --hcl` asked for HCL (cdk.tf)."""
    json_file = stack_dir / "cdk.tf.json"
    return json.loads(json_file.read_text()) if json_file.exists() else None


def write_review(config: Config, stack_dir: Path, synthesized: dict[str, Any] | None) -> Path | None:
    """``cdktf.out/review.md`` from the synthesized stack (none for an HCL synth)."""
    from constructs_lib.reporting.review import review

    if synthesized is None:
        return None
    page = stack_dir.parent.parent / "review.md"
    text = review(synthesized, stack_name=config.stack.name, region=config.stack.region, after=now())
    page.write_text(text)
    return page


def load_or_report(path: Path) -> Config | None:
    """The config at ``path``, or ``None`` once its problems are printed, one line each."""
    try:
        return load_config(path)
    except ConfigError as error:
        count = len(error.problems)
        print(f"error: {path} has {count} problem{'s' if count != 1 else ''}; nothing was written:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


def main(argv: list[str]) -> int:
    if argv not in ([], ["--stack-folder"]):
        print(f"usage: {Path(__file__).name} [--stack-folder]", file=sys.stderr)
        return 2
    path = config_path()
    config = load_or_report(path)
    if config is None:
        return 2
    if argv == ["--stack-folder"]:
        print(output_dir() / "stacks" / config.stack.name)
        return 0
    try:
        stack_dir = synthesize(config, output_dir())
    except Exception as error:  # a construct check or a jsii error: say it, keep cdktf.out
        print(f"error: synthesis failed, {output_dir()} was left as it was: {error}", file=sys.stderr)
        return 1
    synthesized = read_stack(stack_dir)
    print(summary(config, stack_dir, synthesized, after=now()))
    try:
        page = write_review(config, stack_dir, synthesized)
    except Exception as error:  # the page is a convenience: the stack is written either way
        print(f"warning: the review page could not be written: {error!r}", file=sys.stderr)
    else:
        if page is not None:
            print(f"Review page: {page}")
    for warning in warnings(config) + stack_warnings(synthesized):
        print(f"warning: {warning}", file=warning_stream())
    return 0


def warning_stream() -> TextIO:
    """Where warnings go: stderr, except under the cdktf CLI (``cdktf synth/diff/deploy``, which sets
    ``CDKTF_CONTEXT_JSON`` for the app it runs), which shows an app's stdout as it is but prefixes
    each line of its stderr with "[ERROR]"."""
    return sys.stdout if "CDKTF_CONTEXT_JSON" in os.environ else sys.stderr


def _stop(signum: int, frame: object) -> None:
    """SIGTERM (a CI job cancelled, `timeout`) ends the run like Ctrl-C: cleanups run, the staging
    folder goes, and the previous output stays."""
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop)
    sys.exit(main(sys.argv[1:]))
