"""The ECS cluster that all jobs' Fargate tasks run in."""

from __future__ import annotations

from collections.abc import Sequence

from constructs import Construct

from constructs_lib.aws.ecs_cluster import EcsCluster
from constructs_lib.aws.ecs_cluster_capacity_providers import EcsClusterCapacityProviders
from constructs_lib.aws_environment import AwsEnvironment

__all__ = ["Cluster"]


class Cluster(Construct):
    """An ECS cluster (Fargate needs no capacity of its own).

    ``capacity_providers`` (``FARGATE``, ``FARGATE_SPOT``) are associated with the cluster, so that
    RunTask may name them in a capacity provider strategy; the ``FARGATE`` launch type needs none.
    ``container_insights`` turns on per-task metrics (charged as CloudWatch metrics and logs).
    Exposes ``arn``, ``name``, ``capacity_providers`` and ``task_arns`` (the ARN pattern of every
    task in it).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        aws: AwsEnvironment,
        capacity_providers: Sequence[str] = (),
        container_insights: bool = False,
    ) -> None:
        super().__init__(scope, id_)
        # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-container-insights.html
        self.cluster = EcsCluster(
            self,
            "cluster",
            name=name,
            setting=[{"name": "containerInsights", "value": "enabled" if container_insights else "disabled"}],
        )
        self.capacity_providers = tuple(capacity_providers)
        if self.capacity_providers:
            # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html
            EcsClusterCapacityProviders(
                self, "capacity-providers", cluster_name=self.cluster.name, capacity_providers=list(capacity_providers)
            )
        self.arn: str = self.cluster.arn
        self.name = name
        self.task_arns: str = aws.arn("ecs", f"task/{name}/*")
