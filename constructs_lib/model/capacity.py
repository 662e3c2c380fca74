"""Where a job's task may run: each capacity source as one value, the only place that names them.

A source knows how RunTask asks for it (a launch type, or a capacity provider strategy: RunTask
refuses both together), the cluster capacity provider it needs, the stop code with which AWS
takes a task back from it, and how people read its name.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "CLUSTER_PROVIDERS",
    "DEFAULT_CAPACITY",
    "FARGATE",
    "FARGATE_SPOT",
    "SOURCES",
    "TASK_COMPATIBILITY",
    "CapacitySource",
    "capacity_source",
    "example_order",
]


@dataclass(frozen=True)
class CapacitySource:
    name: str  # as jobs.toml writes it, and as ECS names it
    label: str  # as people read it
    cluster_provider: str | None = None  # the cluster must associate it (a provider strategy)
    interruption_stop_code: str | None = None  # the StopCode of a task AWS took back
    architectures: tuple[str, ...] = ("X86_64", "ARM64")  # the CPU architectures it runs

    def placement(self) -> dict[str, Any]:
        """The RunTask parameters that launch on this source."""
        if self.cluster_provider is None:
            return {"LaunchType": self.name}
        return {"CapacityProviderStrategy": [{"CapacityProvider": self.cluster_provider, "Weight": 1}]}


# On-demand Fargate: the FARGATE launch type.
FARGATE = CapacitySource("FARGATE", "Fargate")
# Spare capacity at a discount that AWS can take back with two minutes' warning.
# Fargate Spot runs Linux tasks on X86_64 only ("Linux tasks with the ARM64 architecture don't
# support the Fargate Spot capacity provider", in the page above).
FARGATE_SPOT = CapacitySource(
    "FARGATE_SPOT",
    "Fargate Spot",
    cluster_provider="FARGATE_SPOT",
    interruption_stop_code="SpotInterruption",
    architectures=("X86_64",),
)
SOURCES: dict[str, CapacitySource] = {source.name: source for source in (FARGATE, FARGATE_SPOT)}
DEFAULT_CAPACITY: tuple[str, ...] = (FARGATE.name,)
# What a task definition declares it runs on: the Fargate launch type and its capacity providers.
TASK_COMPATIBILITY = FARGATE.name
# A cluster that a job launches on through a strategy associates both providers (the default
# strategy of a cluster with capacity providers must name the on-demand one too).
CLUSTER_PROVIDERS: tuple[str, ...] = (FARGATE.name, FARGATE_SPOT.name)


def capacity_source(name: str) -> CapacitySource:
    return SOURCES[name]


def example_order() -> str:
    """``["FARGATE", "FARGATE_SPOT"]``: every source once, as a TOML list, for messages."""
    return "[" + ", ".join(f'"{name}"' for name in SOURCES) + "]"
