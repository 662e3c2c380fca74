"""The ECS cluster that all jobs' Fargate tasks run in."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.ecs_cluster import EcsCluster
from constructs import Construct

__all__ = ["Cluster"]


class Cluster(Construct):
    """An ECS cluster (Fargate needs no capacity of its own). Exposes ``arn`` and ``name``."""

    def __init__(self, scope: Construct, id_: str, *, name: str) -> None:
        super().__init__(scope, id_)
        self.cluster = EcsCluster(self, "cluster", name=name)
        self.arn: str = self.cluster.arn
        self.name = name
