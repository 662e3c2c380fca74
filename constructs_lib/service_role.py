"""An IAM role for one AWS service, with one inline policy rendered from the integration table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from constructs import Construct

from constructs_lib.aws.iam_role import IamRole
from constructs_lib.aws.iam_role_policy import IamRolePolicy
from constructs_lib.aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs_lib.documents.iam import policy_document, policy_json, trust_policy

__all__ = ["ServiceRole"]


class ServiceRole(Construct):
    """A role that ``service`` may assume, limited by source account / ARN where the service sets them.

    What the role may do is the ``statements`` given (one inline policy) and the
    ``managed_policy_arns`` the caller attaches, nothing more.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        service: str,
        description: str,
        statements: Sequence[Mapping[str, Any]] = (),
        source_account: str | None = None,
        source_arn: str | None = None,
        managed_policy_arns: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, id_)
        self.role = IamRole(
            self,
            "role",
            name=name,
            description=description,
            assume_role_policy=policy_json(trust_policy(service, source_account=source_account, source_arn=source_arn)),
        )
        self.arn: str = self.role.arn
        self.policy: IamRolePolicy | None = None
        if statements:
            self.policy = IamRolePolicy(
                self,
                "policy",
                name=name,
                role=self.role.id,
                policy=policy_json(policy_document(statements)),
            )
        self.attachments = [
            IamRolePolicyAttachment(self, f"attachment-{index}", role=self.role.name, policy_arn=arn)
            for index, arn in enumerate(managed_policy_arns)
        ]
