"""Benchmarks, run by `make bench`: medians of alternating runs in fresh processes, never a single time.

    python tools/bench.py

Measures how long validating a 200-job jobs.toml takes (schedules with L, W and # included),
against a one-job file, each in a new Python process (so nothing is cached), and exits 1 when
the 200-job validation misses its goal of 0.5 s.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 7
GOAL_SECONDS = 0.5

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
MEASURE = (
    "import sys, time\n"
    "started = time.perf_counter()\n"
    "from constructs_lib.model.config import load_config\n"
    "load_config(sys.argv[1])\n"
    "print(time.perf_counter() - started)\n"
)


def config(jobs: int) -> str:
    text = HEADER
    for index in range(jobs):
        template = SCHEDULES[index % len(SCHEDULES)]
        schedule = template.format(m=index % 60, h=index % 24, step=2 + index % 5)
        text += JOB.format(index=index, schedule=schedule)
    return text


def validation_seconds(path: Path) -> float:
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return float(result.stdout)


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        one, many = Path(folder, "one.toml"), Path(folder, "many.toml")
        one.write_text(config(1))
        many.write_text(config(200))
        times: dict[Path, list[float]] = {one: [], many: []}
        for _ in range(ROUNDS):
            for path in (one, many):  # alternating, so that drift hits both alike
                times[path].append(validation_seconds(path))
    one_median, many_median = statistics.median(times[one]), statistics.median(times[many])
    print(f"validate 1 job (import + parse, fresh process): median {one_median * 1000:.0f} ms over {ROUNDS} runs")
    print(f"validate 200 jobs:                             median {many_median * 1000:.0f} ms over {ROUNDS} runs")
    print(f"  ratio 200/1: {many_median / one_median:.2f}; goal: 200 jobs under {GOAL_SECONDS} s")
    return 0 if many_median < GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
