"""Benchmarks, run by `make bench`: medians of alternating runs in fresh processes, never a single time.

    python tools/bench.py            # everything, `make test` included (about 6 minutes)
    python tools/bench.py --quick    # without `make test` (make bench QUICK=1)

Measures, each in new processes (nothing cached between runs), alternating the things compared so
that drift on the machine hits them alike, and prints each figure and its ratio to its goal:

- the floor: a process that only loads the cdktf and AWS provider jsii assemblies (with the same
  lean provider import and the same `python -O` as `make synth`), which every synth pays;
- `python -O main.py` (what `make synth` runs) on a one-job jobs.toml against the floor (goal: at
  most 1.15 x);
- `python -O main.py` on a 200-job jobs.toml against the one-job synth (goal: at most 2.5 x);
- validating the 200-job jobs.toml, the time to report a config error, inside the process and in a
  fresh process of its own, interpreter start included (goal: under 0.5 s each);
- `make test` against the floor (goal: at most 8 x);
- `python -O main.py` on the one-job jobs.toml with each flavour, CDK for Terraform and CDK Terrain
  (each with its lean provider import), and their ratio (no goal: a figure to watch), when CDK
  Terrain's environment is built (`CDK_FLAVOR=cdktn make test` builds it);
- an alert storm, simulated in virtual time (``tests/alert_storm.py``, the same figures every run):
  200 runs failing at once, then 200 more during a 6-hour chat outage: the messages each channel
  shows (goal: at most 10 each) and the simulated time to the last delivery; no alert set aside.

Each time is printed as it is taken. Exits 1 when a figure misses its goal, 2 (one line, no
figures) when a measured command fails.
"""

from __future__ import annotations

import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from constructs_lib._provider import FLAVORS, environment_python

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 7
TEST_ROUNDS = 3  # `make test` takes a minute or more a run
VALIDATION_GOAL_SECONDS = 0.5
SYNTH_VS_FLOOR_GOAL = 1.15
MANY_VS_ONE_GOAL = 2.5
TESTS_VS_FLOOR_GOAL = 8.0

SCHEDULES = [
    "cron({m} {h} * * ? *)",
    "cron({m} {h} ? * MON-FRI *)",
    "cron({m} {h} L * ? *)",
    "cron({m} {h} LW * ? *)",
    "cron({m} {h} 15W * ? *)",
    "cron({m} {h} ? * 6#3 *)",
    "cron({m} {h} ? * 2L *)",
    "cron({m} {h} ? 2 1#5 *)",
    "cron({m} {h} 1 NOV-FEB ? *)",
    "cron({m} */{step} * * ? *)",
]
HEADER = '[stack]\nregion = "ap-northeast-1"\n'
JOB = """
[[jobs]]
name = "job-{index}"
schedule = "{schedule}"
image = "public.ecr.aws/docker/library/alpine:3.20"
command = ["echo", "{index}"]
cpu = 256
memory = 512
"""
FLOOR = (
    "from constructs_lib import use_lean_provider_import\n"
    "use_lean_provider_import()\n"
    "import constructs_lib.cdk\n"
    "from constructs_lib.aws.provider import AwsProvider\n"
)
# Each flavour's environment (constructs_lib/_provider.py); CDK Terrain's is measured when built.
FLAVOR_PYTHONS = {name: ROOT / environment_python(chosen) for name, chosen in FLAVORS.items()}
MEASURE = (
    "import sys, time\n"
    "started = time.perf_counter()\n"
    "from constructs_lib.model.config import load_config\n"
    "load_config(sys.argv[1])\n"
    "print(time.perf_counter() - started)\n"
)


# What `make synth` does before the provider loads, in a process of its own: a bad config is
# reported this fast.
VALIDATE = "import sys\nfrom constructs_lib.model.config import load_config\nload_config(sys.argv[1])\n"
STORM = "import json, sys\nsys.path[:0] = ['tests', '.']\nimport alert_storm\nprint(json.dumps(alert_storm.report()))\n"
STORM_MESSAGES_GOAL = 10


def config(jobs: int) -> str:
    text = HEADER
    for index in range(jobs):
        template = SCHEDULES[index % len(SCHEDULES)]
        schedule = template.format(m=index % 60, h=index % 24, step=2 + index % 5)
        text += JOB.format(index=index, schedule=schedule)
    return text


class StepFailed(Exception):
    """A measured command that did not succeed: reported in one line, not as a traceback."""


def run(command: list[str], **environment: str) -> subprocess.CompletedProcess[str]:
    """``command`` in a fresh process; ``StepFailed`` with its last line of output when it fails."""
    result = subprocess.run(
        command, cwd=ROOT, env={**os.environ, **environment}, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        said = (result.stderr.strip() or result.stdout.strip() or "(no output)").splitlines()[-1]
        shown = shlex.join(command)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise StepFailed(f"{shown} exited {result.returncode}: {said}")
    return result


def validation_seconds(path: Path) -> float:
    """The config layer's own time, measured inside the process (imports included)."""
    return float(run([sys.executable, "-c", MEASURE, str(path)]).stdout)


def wall_seconds(command: list[str], **environment: str) -> float:
    """How long ``command`` takes, start to exit, in a fresh process."""
    started = time.perf_counter()
    run(command, **environment)
    return time.perf_counter() - started


def alternate(rounds: int, runs: dict[str, Callable[[], float]]) -> dict[str, float]:
    """The median of each run over ``rounds`` rounds, the runs taken in turn within each round; each
    time is printed as it is taken (to stderr), so a long benchmark shows where it is."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(1, rounds + 1):
        for name, measure in runs.items():
            print(f"  round {round_}/{rounds}: {name} ...", end="", file=sys.stderr, flush=True)
            times[name].append(measure())
            print(f" {times[name][-1]:.2f} s", file=sys.stderr, flush=True)
    return {name: statistics.median(values) for name, values in times.items()}


def verdict(label: str, value: float, goal: float, unit: str = " x") -> bool:
    met = value <= goal
    print(f"  {label}: {value:.2f}{unit} (goal: at most {goal}{unit}) {'ok' if met else 'MISSED'}")
    return met


def main() -> int:
    try:
        return measure_all(quick="--quick" in sys.argv[1:])
    except StepFailed as failure:
        print(f"make bench: a measured step failed, so there are no figures: {failure}", file=sys.stderr)
        return 2


def measure_all(*, quick: bool) -> int:
    python = sys.executable
    with tempfile.TemporaryDirectory() as folder:
        one, many = Path(folder, "one.toml"), Path(folder, "many.toml")
        one.write_text(config(1))
        many.write_text(config(200))
        out = str(Path(folder, "cdktf.out"))
        synth = {"CDKTF_OUTDIR": out, "SOURCE_DATE_EPOCH": "1798761600"}
        synth_command = [python, "-O", "main.py"]  # as `make synth` runs it
        floor_command = [python, "-O", "-c", FLOOR]
        wall_seconds(synth_command, JOBS_CONFIG=str(many), **synth)  # warm the disk cache once
        medians = alternate(
            ROUNDS,
            {
                "floor": lambda: wall_seconds(floor_command),
                "synth 1 job": lambda: wall_seconds(synth_command, JOBS_CONFIG=str(one), **synth),
                "synth 200 jobs": lambda: wall_seconds(synth_command, JOBS_CONFIG=str(many), **synth),
                "validate 1 job": lambda: validation_seconds(one),
                "validate 200 jobs": lambda: validation_seconds(many),
                "validate 200 jobs, fresh process": lambda: wall_seconds([python, "-c", VALIDATE, str(many)]),
            },
        )
        if not quick:
            medians |= {
                f"{name} ({TEST_ROUNDS} rounds)": value
                for name, value in alternate(
                    TEST_ROUNDS,
                    {
                        "floor": lambda: wall_seconds(floor_command),
                        "make test": lambda: wall_seconds(["make", "--no-print-directory", "test"]),
                    },
                ).items()
            }
    print(f"Medians of {ROUNDS} alternating runs, each in a fresh process:")
    for name, value in medians.items():
        print(f"  {name:<32} {value:8.3f} s")
    print("Against the goals:")
    results = [
        verdict("python -O main.py (1 job) / floor", medians["synth 1 job"] / medians["floor"], SYNTH_VS_FLOOR_GOAL),
        verdict("200 jobs / 1 job (synth)", medians["synth 200 jobs"] / medians["synth 1 job"], MANY_VS_ONE_GOAL),
        verdict("validate 200 jobs", medians["validate 200 jobs"], VALIDATION_GOAL_SECONDS, " s"),
        verdict(
            "validate 200 jobs, fresh process",
            medians["validate 200 jobs, fresh process"],
            VALIDATION_GOAL_SECONDS,
            " s",
        ),
    ]
    if not quick:
        tests, floor = medians[f"make test ({TEST_ROUNDS} rounds)"], medians[f"floor ({TEST_ROUNDS} rounds)"]
        results.append(verdict("make test / floor", tests / floor, TESTS_VS_FLOOR_GOAL))
    results += storm_figures()
    flavour_figures()
    return 0 if all(results) else 1


def flavour_figures() -> None:
    """``main.py`` on one job with each flavour, alternating, and CDK Terrain's time over CDK for Terraform's."""
    missing = [name for name, python in FLAVOR_PYTHONS.items() if not python.exists()]
    if missing:
        print(
            f"Flavours: the {', '.join(missing)} environment is not built (CDK_FLAVOR={missing[0]} make test builds it)"
        )
        return
    with tempfile.TemporaryDirectory() as folder:
        one = Path(folder, "one.toml")
        one.write_text(config(1))
        synth = {"CDKTF_OUTDIR": str(Path(folder, "cdktf.out")), "JOBS_CONFIG": str(one)}
        medians = alternate(
            ROUNDS,
            {
                f"synth 1 job, {name}": lambda name=name, python=python: wall_seconds(
                    [str(python), "-O", "main.py"], CDK_FLAVOR=name, **synth
                )
                for name, python in FLAVOR_PYTHONS.items()
            },
        )
    print(f"Flavours, medians of {ROUNDS} alternating runs of python -O main.py (1 job):")
    for name, value in medians.items():
        print(f"  {name:<32} {value:8.3f} s")
    ratio = medians["synth 1 job, cdktn"] / medians["synth 1 job, cdktf"]
    print(f"  CDK Terrain / CDK for Terraform: {ratio:.2f} x")


def storm_figures() -> list[bool]:
    """The alert storm's figures (virtual time: one run gives them), printed against their goals."""
    print("Alert storm, simulated (tests/alert_storm.py; virtual time, the same every run):", file=sys.stderr)
    figures = json.loads(run([sys.executable, "-c", STORM]).stdout.strip().splitlines()[-1])
    storm, outage = figures["storm"], figures["outage"]
    print("Alert storm: 200 runs give up at once (two chat stand-ins at their services' rate limits):")
    print(f"  first failure to last delivery    {storm['seconds_to_last_delivery']:8.1f} s (simulated)")
    print("Alert storm after 6 hours of chat outage (503s), then the services back:")
    print(f"  recovery to last delivery         {outage['seconds_from_recovery_to_last_delivery']:8.1f} s (simulated)")
    results = []
    for label, messages in (("storm", storm["messages"]), ("after the outage", outage["messages"])):
        for channel, count in messages.items():
            met = count <= STORM_MESSAGES_GOAL
            results.append(met)
            print(f"  {label}: {channel} messages for 200 alerts: {count} (goal: at most {STORM_MESSAGES_GOAL}) "
                  f"{'ok' if met else 'MISSED'}")  # fmt: skip
    set_aside = outage["set_aside"]
    print(f"  alerts set aside after the outage: {set_aside} (goal: 0) {'ok' if set_aside == 0 else 'MISSED'}")
    return [*results, set_aside == 0]


if __name__ == "__main__":
    sys.exit(main())
