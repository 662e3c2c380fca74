"""What a job's task is given besides its image and size: its task role's statements, its CPU
architecture, disk, shut-down grace, environment files and EFS volumes. Each is checked against
what ECS and Fargate accept, with the AWS page that says so."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import field_validator

from constructs_lib.model.checks import IAM_ACTION_PATTERN, IAM_RESOURCE_PATTERN, freeze_list
from constructs_lib.model.value_object import ValueObject

__all__ = ["ARCHITECTURES", "Architecture", "EfsVolume", "TaskRoleStatement", "check_environment_files",
           "environment_file_buckets"]  # fmt: skip

# Fargate runs Linux tasks on X86_64 and ARM64 (Graviton).
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-arm64.html
Architecture = Literal["X86_64", "ARM64"]
ARCHITECTURES: tuple[str, ...] = ("X86_64", "ARM64")

# An S3 object ARN whose key ends in ".env": ECS reads each file at launch with the execution
# role, at most ten files per container.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/use-environment-file.html
_ENV_FILE_ARN = re.compile(r"arn:aws(?:-cn|-us-gov)?:s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(\S+\.env)")
MAX_ENVIRONMENT_FILES = 10


class TaskRoleStatement(ValueObject):
    """``[[jobs.task_role_statements]]``: one Allow statement of the task role's inline policy."""

    actions: tuple[str, ...]
    resources: tuple[str, ...]

    _lists = field_validator("actions", "resources", mode="before")(freeze_list)

    @field_validator("actions")
    @classmethod
    def _actions(cls, actions: tuple[str, ...]) -> tuple[str, ...]:
        if not actions:
            raise ValueError("[] names no action (allowed: one or more actions such as 's3:PutObject')")
        for action in actions:
            if not IAM_ACTION_PATTERN.fullmatch(action):
                raise ValueError(
                    f"{action!r} is not an IAM action of one service (allowed: 'service:Action', "
                    "for example 's3:PutObject' or 's3:Get*'; a bare '*' is refused)"
                )
        return actions

    @field_validator("resources")
    @classmethod
    def _resources(cls, resources: tuple[str, ...]) -> tuple[str, ...]:
        if not resources:
            raise ValueError("[] names no resource (allowed: ARNs, or '*' for actions that take none)")
        for resource in resources:
            if not IAM_RESOURCE_PATTERN.fullmatch(resource):
                raise ValueError(
                    f"{resource!r} is not a resource ARN (allowed: 'arn:aws:service:region:account:resource', "
                    "or '*' for actions that take no resource)"
                )
        return resources


class EfsVolume(ValueObject):
    """``[[jobs.volumes]]``: an Amazon EFS file system (or one of its access points) mounted in the
    container at ``container_path``, over TLS and authorized by the task role (IAM), so that the
    file system's policy can tell the jobs apart.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/efs-volumes.html"""

    file_system_id: str
    container_path: str
    access_point_id: str | None = None
    read_only: bool = False

    _file_system = field_validator("file_system_id")(lambda value: _efs_id(value, "fs", "file system"))
    _access_point = field_validator("access_point_id")(lambda value: _efs_id(value, "fsap", "access point"))

    @field_validator("container_path")
    @classmethod
    def _path(cls, value: str) -> str:
        # /tmp is the task's scratch volume; a mount over / or a system folder would hide the image.
        if not re.fullmatch(r"(/[A-Za-z0-9_.-]+)+", value) or value.split("/")[1] in _SYSTEM_FOLDERS:
            raise ValueError(
                f"{value!r} is not a folder the volume may be mounted at (allowed: an absolute path of "
                f"letters, digits, '_', '.', '-', outside {', '.join('/' + name for name in sorted(_SYSTEM_FOLDERS))}, "
                "for example '/data')"
            )
        return value


def _efs_id(value: str | None, prefix: str, kind: str) -> str | None:
    """An EFS id: ``prefix``, a dash, and hex digits."""
    if value is not None and not re.fullmatch(prefix + r"-[0-9a-f]{8,40}", value):
        raise ValueError(
            f"{value!r} is not an EFS {kind} id (allowed: '{prefix}-' and hex digits, as {prefix}-0123abcd)"
        )
    return value


_SYSTEM_FOLDERS = frozenset({"bin", "dev", "etc", "lib", "lib64", "proc", "sbin", "sys", "tmp", "usr"})


def check_environment_files(arns: tuple[str, ...]) -> tuple[str, ...]:
    for arn in arns:
        if not _ENV_FILE_ARN.fullmatch(arn):
            raise ValueError(
                f"{arn!r} is not the ARN of an S3 object whose name ends in .env (allowed: "
                "'arn:aws:s3:::<bucket>/<key>.env')"
            )
    if len(set(arns)) != len(arns):
        raise ValueError(f"{list(arns)!r} names a file twice (allowed: each once)")
    if len(arns) > MAX_ENVIRONMENT_FILES:
        raise ValueError(f"{len(arns)} files (allowed: at most {MAX_ENVIRONMENT_FILES}, ECS's limit per container)")
    return arns


def environment_file_buckets(arns: tuple[str, ...]) -> list[str]:
    """The ARNs of the buckets that hold ``arns``, each once, in order."""
    buckets = []
    for arn in arns:
        match = _ENV_FILE_ARN.fullmatch(arn)
        assert match is not None  # checked by check_environment_files
        bucket = arn.split(":::")[0] + ":::" + match.group(1)
        if bucket not in buckets:
            buckets.append(bucket)
    return buckets
