"""The ECS cluster that all jobs' Fargate tasks run in."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.ecs_cluster import EcsCluster
from constructs import Construct

from constructs_lib.aws_environment import AwsEnvironment

__all__ = ["Cluster"]


class Cluster(Construct):
    """An ECS cluster (Fargate needs no capacity of its own).

    Exposes ``arn``, ``name`` and ``task_arns`` (the ARN pattern of every task in it).
    """

    def __init__(self, scope: Construct, id_: str, *, name: str, aws: AwsEnvironment) -> None:
        super().__init__(scope, id_)
        self.cluster = EcsCluster(self, "cluster", name=name)
        self.arn: str = self.cluster.arn
        self.name = name
        self.task_arns: str = aws.arn("ecs", f"task/{name}/*")
