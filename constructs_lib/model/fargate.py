"""Fargate task sizes: which memory values each cpu value allows.

See https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
"""

from __future__ import annotations

__all__ = ["FARGATE_SIZES", "PLATFORM_VERSION", "check_cpu", "check_fargate_size"]

# cpu units -> allowed memory in MiB
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

# Platform version 1.4.0 is what the original stack pins (awsvpc ENI for image pulls and logs).
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/platform-linux-fargate.html
PLATFORM_VERSION = "1.4.0"


def _span(values: tuple[int, ...]) -> str:
    if len(values) <= 3:
        return ", ".join(map(str, values))
    return f"{values[0]}-{values[-1]} in steps of {values[1] - values[0]}"


def check_cpu(cpu: int) -> int:
    if cpu not in FARGATE_SIZES:
        raise ValueError(f"{cpu!r} is not a Fargate cpu value (allowed: {', '.join(map(str, FARGATE_SIZES))})")
    return cpu


def check_fargate_size(cpu: int, memory: int) -> None:
    """Raise ``ValueError`` (worded for the ``memory`` field) unless ``cpu``/``memory`` is a Fargate size."""
    check_cpu(cpu)
    if memory not in FARGATE_SIZES[cpu]:
        raise ValueError(f"{memory!r} is not valid with cpu {cpu} (allowed: {_span(FARGATE_SIZES[cpu])})")
