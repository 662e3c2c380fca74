"""The KMS key that encrypts the stack's log groups: one the stack creates, or the user's own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from constructs import Construct

from constructs_lib.aws.cloudwatch_log_group import CloudwatchLogGroup
from constructs_lib.aws.kms_alias import KmsAlias
from constructs_lib.aws.kms_key import KmsKey
from constructs_lib.aws_environment import AwsEnvironment
from constructs_lib.documents.iam import policy_json
from constructs_lib.documents.resource_policies import log_key_policy

__all__ = ["ExistingLogKey", "LogEncryption", "LogKey", "log_group"]


class LogEncryption(Protocol):
    """What a log group needs of its key: the key's ARN (CloudWatch Logs takes no alias)."""

    arn: str


@dataclass(frozen=True)
class ExistingLogKey:
    """A key the user manages; its policy must let ``logs.<region>.amazonaws.com`` use it."""

    arn: str


class LogKey(Construct):
    """A customer-managed key (rotated yearly) that CloudWatch Logs may use for this account's
    log groups in this region, and nothing else may use but through the account's IAM policies.
    Exposes ``arn``."""

    def __init__(self, scope: Construct, id_: str, *, name: str, aws: AwsEnvironment) -> None:
        super().__init__(scope, id_)
        self.key = KmsKey(
            self,
            "key",
            description=f"Encrypts the log groups of stack {name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=policy_json(
                log_key_policy(
                    account_root=aws.arn("iam", "root", regional=False),
                    logs_service=f"logs.{aws.region}.amazonaws.com",
                    log_group_arns=aws.arn("logs", "log-group:*"),
                )
            ),
        )
        KmsAlias(self, "alias", name=f"alias/{name}-logs", target_key_id=self.key.key_id)
        self.arn: str = self.key.arn


def log_group(scope: Construct, *, name: str, retention_days: int, key: LogEncryption | None) -> CloudwatchLogGroup:
    """The log group ``name`` (construct id ``logs`` in ``scope``), kept ``retention_days``, and
    encrypted with ``key`` when there is one (else with CloudWatch Logs' own keys)."""
    return CloudwatchLogGroup(
        scope, "logs", name=name, retention_in_days=retention_days, kms_key_id=key.arn if key else None
    )
