"""ECS refuses to register a task definition over its size quota, 64 KiB (not adjustable), and
``terraform apply`` would fail on it halfway through a deploy. What decides the size is what a job
writes: its environment, secrets, command, image, environment files and volumes. They are
measured here as ECS receives them (compact JSON), with a reserve for what the stack writes
around them (names, ARNs, the log configuration), so that a job over the quota is refused at synth.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html
"""

from __future__ import annotations

import json
from typing import Any

from constructs_lib.model.checks import field_error

__all__ = ["STACK_RESERVE_BYTES", "TASK_DEFINITION_QUOTA_BYTES", "check_task_definition_size", "job_written_bytes"]

TASK_DEFINITION_QUOTA_BYTES = 64 * 1024
# The most the stack writes around a job's own values: family and container names, two role ARNs,
# the log configuration, the scratch volume, platform, storage and tags keys. The synthesized task
# definition of a job with names at their longest stays below it (tests/test_task_options.py).
STACK_RESERVE_BYTES = 4 * 1024


def _compact(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def job_written_bytes(job: Any) -> dict[str, int]:
    """The bytes each of the job's own fields takes in its registered task definition."""
    return {
        "environment": _compact([{"name": key, "value": value} for key, value in job.environment.items()]),
        "secrets": _compact([{"name": key, "valueFrom": value} for key, value in job.secrets.items()]),
        "command": _compact(list(job.command)),
        "image": _compact(job.image),
        "environment_files": _compact([{"value": arn, "type": "s3"} for arn in job.environment_files]),
        "volumes": _compact([volume.model_dump() for volume in job.volumes]) * 2,  # a volume and its mount point
        "tags": _compact([{"key": key, "value": value} for key, value in (job.tags or {}).items()]),
    }


def check_task_definition_size(job: Any) -> None:
    """Raise a field error naming the job's largest field when its task definition would pass the quota."""
    written = job_written_bytes(job)
    total = sum(written.values()) + STACK_RESERVE_BYTES
    if total > TASK_DEFINITION_QUOTA_BYTES:
        largest = max(written, key=lambda name: written[name])
        raise field_error(
            largest,
            f"the task definition would take about {total:,} bytes, {written[largest]:,} of them here (allowed: "
            f"at most {TASK_DEFINITION_QUOTA_BYTES:,}, ECS's task definition size quota; put large values in an "
            "S3 object the job reads, or in environment_files)",
        )
