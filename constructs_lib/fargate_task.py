"""A job's Fargate task: task definition, its log group, execution and task roles, security group."""

from __future__ import annotations

import json
import re
from typing import Any

from constructs import Construct

from constructs_lib.aws.ecs_task_definition import (
    EcsTaskDefinition,
    EcsTaskDefinitionVolume,
    EcsTaskDefinitionVolumeEfsVolumeConfiguration,
    EcsTaskDefinitionVolumeEfsVolumeConfigurationAuthorizationConfig,
)
from constructs_lib.aws.security_group import SecurityGroup
from constructs_lib.aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from constructs_lib.aws_environment import AwsEnvironment
from constructs_lib.documents.asl_states import CONTAINER_NAME, LOG_STREAM_PREFIX
from constructs_lib.documents.iam import ECS_TASKS_PRINCIPAL, granted_statements, render_statements
from constructs_lib.log_key import LogEncryption, log_group
from constructs_lib.model.capacity import TASK_COMPATIBILITY
from constructs_lib.model.config import JobSpec, secret_sources
from constructs_lib.model.naming import aws_name, task_log_group
from constructs_lib.model.task_options import EfsVolume, environment_file_buckets
from constructs_lib.network import JobNetwork
from constructs_lib.service_role import ServiceRole

__all__ = ["SCRATCH_VOLUME", "FargateTask", "ecr_repository"]

SCRATCH_VOLUME = "scratch"  # the task's ephemeral storage, mounted writable at /tmp

# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@digest]
_ECR_IMAGE = re.compile(r"(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([^:@]+)")


def ecr_repository(image: str) -> tuple[str, str, str] | None:
    """``(account, region, repository)`` of a private ECR image, or ``None`` for any other registry."""
    match = _ECR_IMAGE.match(image)
    return (match.group(1), match.group(2), match.group(3)) if match else None


class FargateTask(Construct):
    """What one job runs: a Fargate task definition with one essential container named ``app``,
    as ``job`` (a validated ``JobSpec``) describes it.

    The container logs to its own log group through the awslogs driver (encrypted with
    ``log_key`` when given). The execution role may write to that log group, read exactly the
    job's ``secrets`` (SSM parameter or Secrets Manager ARNs, passed as ECS secrets, never as plain
    environment) and pull the image when it is in a private ECR repository. The task role has only
    what the job grants: ``task_role_policy_arns`` and ``task_role_statements``. The security
    group, in ``network``'s VPC, allows all egress and no ingress. The container's root filesystem
    is read-only unless the job says otherwise; ``/tmp`` is a writable scratch volume either way.
    Exposes ``arn``, ``pass_role_arns``, ``security_group_id`` and ``log_group_name``.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        job: JobSpec,
        aws: AwsEnvironment,
        network: JobNetwork,
        log_key: LogEncryption | None = None,
    ) -> None:
        super().__init__(scope, id_)
        self.log_group = log_group(self, name=task_log_group(name), retention_days=job.log_retention_days, key=log_key)
        self.log_group_name: str = self.log_group.name

        statements = render_statements("logs:write", log_streams=f"{self.log_group.arn}:*")
        repository = ecr_repository(job.image)
        if repository is not None:
            account, region, path = repository
            statements += render_statements(
                "ecr:pull",
                repository=f"arn:{aws.partition}:ecr:{region}:{account}:repository/{path}",
            )
        secrets = dict(sorted(job.secrets.items()))
        parameters, stored = secret_sources(secrets.values())
        if parameters:
            statements += render_statements("ssm:taskSecrets", parameters=parameters)
        if stored:
            statements += render_statements("secretsmanager:taskSecrets", secrets=stored)
        if job.environment_files:
            statements += render_statements(
                "s3:environmentFiles",
                objects=list(job.environment_files),
                buckets=environment_file_buckets(job.environment_files),
            )
        self.family = aws_name(name, kind="task_family")
        self.execution_role = ServiceRole(
            self,
            "execution-role",
            name=aws_name(name, "exec", kind="iam_role"),
            service=ECS_TASKS_PRINCIPAL,
            description=f"ECS pulls the image and ships the logs of job task {name}",
            statements=statements,
            # The ECS agent assumes the execution role; only the account is documented for it.
            source_account=aws.account_id,
        )
        self.task_role = ServiceRole(
            self,
            "task-role",
            name=aws_name(name, "task", kind="iam_role"),
            service=ECS_TASKS_PRINCIPAL,
            description=f"The identity of job task {name}'s container",
            statements=granted_statements([(grant.actions, grant.resources) for grant in job.task_role_statements])
            + _volume_statements(aws, job.volumes),
            managed_policy_arns=job.task_role_policy_arns,
            # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html
            source_account=aws.account_id,
            source_arn=aws.arn("ecs", "*"),
        )
        container = {
            "name": CONTAINER_NAME,
            "image": job.image,
            "essential": True,
            "command": list(job.command),
            "environment": [{"name": key, "value": value} for key, value in sorted(job.environment.items())],
            # Read-only by default: a job that is compromised or buggy cannot change its image's files.
            # /tmp stays writable, on the task's ephemeral storage, so ordinary programs still run.
            # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html
            "readonlyRootFilesystem": job.readonly_root_filesystem,
            "mountPoints": [{"sourceVolume": SCRATCH_VOLUME, "containerPath": "/tmp", "readOnly": False}]
            + [
                {
                    "sourceVolume": _volume_name(index),
                    "containerPath": volume.container_path,
                    "readOnly": volume.read_only,
                }
                for index, volume in enumerate(job.volumes)
            ],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": self.log_group_name,
                    "awslogs-region": aws.region,
                    "awslogs-stream-prefix": LOG_STREAM_PREFIX,
                },
            },
        }
        if job.environment_files:
            container["environmentFiles"] = [{"value": arn, "type": "s3"} for arn in job.environment_files]
        if job.stop_timeout_seconds is not None:
            container["stopTimeout"] = job.stop_timeout_seconds
        if secrets:
            container["secrets"] = [{"name": key, "valueFrom": value_from} for key, value_from in secrets.items()]
        self.task_definition = EcsTaskDefinition(
            self,
            "task-definition",
            family=self.family,
            cpu=str(job.cpu),
            memory=str(job.memory),
            network_mode="awsvpc",
            requires_compatibilities=[TASK_COMPATIBILITY],
            execution_role_arn=self.execution_role.arn,
            task_role_arn=self.task_role.arn,
            container_definitions=json.dumps([container], indent=2, sort_keys=True),
            volume=[{"name": SCRATCH_VOLUME}]
            + [_efs_volume(index, volume) for index, volume in enumerate(job.volumes)],
            runtime_platform=(
                {"operating_system_family": "LINUX", "cpu_architecture": job.architecture} if job.architecture else None
            ),
            ephemeral_storage={"size_in_gib": job.ephemeral_storage_gib} if job.ephemeral_storage_gib else None,
            # A deploy registers a new revision and leaves the old one ACTIVE, so that a run which
            # started before the deploy (its definition names the old revision) can still launch
            # its retries: ECS refuses to run an INACTIVE revision.
            # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeregisterTaskDefinition.html
            skip_destroy=True,
        )
        self.arn: str = self.task_definition.arn
        #: Every revision of the family: what a state machine may run (see ``skip_destroy``).
        self.revision_arns: str = aws.arn("ecs", f"task-definition/{self.family}:*")
        self.pass_role_arns: list[str] = [self.execution_role.arn, self.task_role.arn]

        self.security_group = SecurityGroup(
            self,
            "security-group",
            name=aws_name(name, kind="security_group"),
            description=f"Job {name}: all egress, no ingress",
            vpc_id=network.vpc_id,
        )
        self.security_group_id: str = self.security_group.id
        VpcSecurityGroupEgressRule(
            self,
            "egress",
            security_group_id=self.security_group_id,
            ip_protocol="-1",
            cidr_ipv4="0.0.0.0/0",
            description="Image pulls, logs, and whatever the job calls",
        )


def _volume_name(index: int) -> str:
    return f"efs-{index}"


def _efs_volume(index: int, volume: EfsVolume) -> EcsTaskDefinitionVolume:
    """An EFS volume reached over TLS and authorized by the task role (IAM), through the access
    point when one is given (whose own root directory then applies).
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/efs-volumes.html"""
    return EcsTaskDefinitionVolume(
        name=_volume_name(index),
        efs_volume_configuration=EcsTaskDefinitionVolumeEfsVolumeConfiguration(
            file_system_id=volume.file_system_id,
            transit_encryption="ENABLED",
            authorization_config=EcsTaskDefinitionVolumeEfsVolumeConfigurationAuthorizationConfig(
                iam="ENABLED", access_point_id=volume.access_point_id
            ),
        ),
    )


def _volume_statements(aws: AwsEnvironment, volumes: tuple[EfsVolume, ...]) -> list[dict[str, Any]]:
    """The task role's EFS grants: mount each file system (and write to it unless read-only),
    through its access point only when one is given."""
    statements = []
    for index, volume in enumerate(volumes):
        integration = "efs:mountReadOnly" if volume.read_only else "efs:mount"
        arns: dict[str, str] = {"file_system": aws.arn("elasticfilesystem", f"file-system/{volume.file_system_id}")}
        if volume.access_point_id:
            integration += "ThroughAccessPoint"
            arns["access_point"] = aws.arn("elasticfilesystem", f"access-point/{volume.access_point_id}")
        for statement in render_statements(integration, **arns):
            statements.append({**statement, "Sid": f"{statement['Sid']}{index}"})
    return statements
