"""IAM policy documents from a table of what each integration needs.

Pure Python: statements are dicts whose ARNs may hold Terraform references (``${...}``); the
constructs serialize them once with ``policy_json``. ARNs are built by the caller from the
partition, region and account data sources, never from an ``arn:aws:`` literal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "INTEGRATIONS",
    "Need",
    "policy_document",
    "policy_json",
    "render_statements",
    "trust_policy",
]


@dataclass(frozen=True)
class Need:
    """One statement an integration needs: ``actions`` on the ARNs named ``resource``.

    ``conditions`` maps an operator to ``{key: name}``; each name is looked up in the ARNs given to
    ``render_statements``, or used as the literal value when it is not among them.
    """

    sid: str
    actions: tuple[str, ...]
    resource: str
    conditions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


ECS_TASKS_PRINCIPAL = "ecs-tasks.amazonaws.com"

# What each integration needs. The table is the one place to read what a role may do.
INTEGRATIONS: dict[str, tuple[Need, ...]] = {
    # Step Functions `ecs:runTask.sync`:
    # https://docs.aws.amazon.com/step-functions/latest/dg/ecs-iam.html
    # AWS CDK grants StopTask/DescribeTasks on "*"; both take task ARNs, so they are scoped to
    # the job's cluster here. The managed rule is how `.sync` learns that the task stopped.
    "ecs:runTask.sync": (
        Need(
            "RunJobTask",
            ("ecs:RunTask",),
            "task_definition",
            {"ArnEquals": {"ecs:cluster": "cluster"}},
        ),
        Need(
            "TrackJobTask",
            ("ecs:StopTask", "ecs:DescribeTasks"),
            "cluster_tasks",
            {"ArnEquals": {"ecs:cluster": "cluster"}},
        ),
        Need(
            "PassTaskRoles",
            ("iam:PassRole",),
            "task_roles",
            {"StringEquals": {"iam:PassedToService": ECS_TASKS_PRINCIPAL}},
        ),
        Need(
            "ManagedSyncRule",
            ("events:PutTargets", "events:PutRule", "events:DescribeRule"),
            "sync_rule",
        ),
    ),
    # Step Functions `lambda:invoke`: https://docs.aws.amazon.com/step-functions/latest/dg/lambda-iam.html
    # The function ARN and its qualified forms (`:*`), as AWS CDK grants.
    "lambda:invoke": (Need("InvokeAlert", ("lambda:InvokeFunction",), "function"),),
    # EventBridge rule target that starts an execution:
    # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html
    "states:StartExecution": (Need("StartJob", ("states:StartExecution",), "state_machine"),),
    # awslogs log driver (task execution role) and a Lambda function's own logs:
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html
    # Log streams are `<log group ARN>:log-stream:<name>`, hence the `:*` the caller appends.
    "logs:write": (Need("WriteLogs", ("logs:CreateLogStream", "logs:PutLogEvents"), "log_streams"),),
    # Pulling a private ECR image (task execution role). GetAuthorizationToken takes no resource.
    # https://docs.aws.amazon.com/AmazonECR/latest/userguide/security_iam_id-based-policy-examples.html
    "ecr:pull": (
        Need("EcrLogin", ("ecr:GetAuthorizationToken",), "any"),
        Need("EcrPull", ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"), "repository"),
    ),
}


def render_statements(integration: str, **arns: str | Sequence[str]) -> list[dict[str, Any]]:
    """The statements ``integration`` needs, with its named ARNs filled in.

    Raises ``KeyError`` naming a resource the caller did not give.
    """
    arns = {"any": "*", **arns}
    statements = []
    for need in INTEGRATIONS[integration]:
        if need.resource not in arns:
            raise KeyError(f"{integration} needs the ARN {need.resource!r}")
        resources = arns[need.resource]
        statement: dict[str, Any] = {
            "Sid": need.sid,
            "Effect": "Allow",
            "Action": list(need.actions),
            "Resource": [resources] if isinstance(resources, str) else list(resources),
        }
        if need.conditions:
            statement["Condition"] = {
                operator: {key: arns.get(name, name) for key, name in values.items()}
                for operator, values in need.conditions.items()
            }
        statements.append(statement)
    return statements


def policy_document(statements: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def trust_policy(service: str, *, source_account: str | None = None, source_arn: str | None = None) -> dict[str, Any]:
    """A role trust policy for ``service``, limited to a source account and ARN where given.

    These conditions stop the confused deputy:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html
    """
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    condition: dict[str, dict[str, str]] = {}
    if source_account is not None:
        condition["StringEquals"] = {"aws:SourceAccount": source_account}
    if source_arn is not None:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    if condition:
        statement["Condition"] = condition
    return policy_document([statement])


def policy_json(document: Mapping[str, Any]) -> str:
    """Serialize a policy document once, deterministically."""
    return json.dumps(document, indent=2, sort_keys=True)
