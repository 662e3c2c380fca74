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
    "Fixed",
    "Need",
    "granted_statements",
    "policy_document",
    "policy_json",
    "render_statements",
    "trust_policy",
]


@dataclass(frozen=True)
class Fixed:
    """A condition value written in the table itself, not looked up among the caller's ARNs."""

    value: str


@dataclass(frozen=True)
class Need:
    """One statement an integration needs: ``actions`` on the ARNs named ``resource``.

    ``conditions`` maps an operator to ``{key: name}``; each name is looked up in the values given
    to ``render_statements`` (a name it was not given raises, so a misspelt one cannot become a
    literal), or is a ``Fixed`` value.
    """

    sid: str
    actions: tuple[str, ...]
    resource: str
    conditions: Mapping[str, Mapping[str, str | Fixed]] = field(default_factory=dict)


ECS_TASKS_PRINCIPAL = "ecs-tasks.amazonaws.com"


def _mount(*actions: str, access_point: bool) -> tuple[Need, ...]:
    """Mounting an EFS file system (ClientMount and ``actions``), through the access point with ``access_point``."""
    conditions = {"ArnEquals": {"elasticfilesystem:AccessPointArn": "access_point"}} if access_point else {}
    return (Need("MountFileSystem", ("elasticfilesystem:ClientMount", *actions), "file_system", conditions),)


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
            {"StringEquals": {"iam:PassedToService": Fixed(ECS_TASKS_PRINCIPAL)}},
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
    # The concurrency guard lists its own state machine's running executions (aws-sdk integration):
    # https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html
    "sfn:listExecutions": (Need("ListOwnExecutions", ("states:ListExecutions",), "state_machine"),),
    # A state machine's execution log: CloudWatch Logs' vended-log delivery, whose actions AWS grants
    # on "*" only. https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html
    "logs:vendedDelivery": (
        Need(
            "DeliverExecutionLogs",
            (
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups",
            ),
            "any",
        ),
    ),
    # X-Ray tracing of a state machine or a Lambda function: the actions of AWS's managed
    # AWSXRayDaemonWriteAccess, which take no resource.
    # https://docs.aws.amazon.com/step-functions/latest/dg/xray-iam.html
    # https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html
    "xray:write": (
        Need(
            "WriteTraces",
            ("xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"),
            "any",
        ),
    ),
    # VPC flow logs delivered to a CloudWatch log group, by the role the flow log names: the
    # documented actions, on the one log group; DescribeLogGroups takes no resource but "*".
    # https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html
    "logs:flowLogs": (
        Need(
            "DeliverFlowLogs", ("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"), "log_streams"
        ),
        Need("FindFlowLogGroup", ("logs:DescribeLogGroups",), "any"),
    ),
    # EventBridge rule target that starts an execution:
    # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html
    "states:StartExecution": (Need("StartJob", ("states:StartExecution",), "state_machine"),),
    # awslogs log driver (task execution role) and a Lambda function's own logs:
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html
    # Log streams are `<log group ARN>:log-stream:<name>`, hence the `:*` the caller appends.
    "logs:write": (Need("WriteLogs", ("logs:CreateLogStream", "logs:PutLogEvents"), "log_streams"),),
    # The alert Lambda reads the last lines of a failed run's task log: GetLogEvents on the jobs'
    # log streams, nothing else. https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogEvents.html
    "logs:readTaskLogs": (Need("ReadTaskLogs", ("logs:GetLogEvents",), "log_streams"),),
    # Pulling a private ECR image (task execution role): the actions of AWS's managed
    # AmazonECSTaskExecutionRolePolicy, on the one repository. GetAuthorizationToken takes no resource.
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html
    "ecr:pull": (
        Need("EcrLogin", ("ecr:GetAuthorizationToken",), "any"),
        Need(
            "EcrPull",
            ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
            "repository",
        ),
    ),
    # Reading SecureString parameters (the alert Lambda's chat secrets): exactly the named ones.
    # Decryption goes through SSM only (kms:ViaService) and only for those parameters: SSM puts
    # the parameter's ARN in the encryption context. The AWS-managed key aws/ssm already lets every
    # principal of the account decrypt through SSM; a customer-managed key needs this statement.
    # https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-access.html
    # https://docs.aws.amazon.com/kms/latest/developerguide/services-parameter-store.html
    "ssm:read": (
        Need("ReadAlertSecrets", ("ssm:GetParameter",), "parameters"),
        Need(
            "DecryptAlertSecrets",
            ("kms:Decrypt",),
            "account_keys",
            {"StringEquals": {"kms:ViaService": "ssm_service", "kms:EncryptionContext:PARAMETER_ARN": "parameters"}},
        ),
    ),
    # A container's secrets, fetched by ECS with the task execution role at launch: exactly the
    # named parameters and secrets. A parameter or secret under a customer-managed KMS key also
    # needs kms:Decrypt on that key, granted in the key's policy.
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-ssm-paramstore.html
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html
    "ssm:taskSecrets": (Need("ReadTaskParameters", ("ssm:GetParameters",), "parameters"),),
    "secretsmanager:taskSecrets": (Need("ReadTaskSecrets", ("secretsmanager:GetSecretValue",), "secrets"),),
    # A container's environment files, fetched by ECS with the task execution role at launch.
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/use-environment-file.html
    "s3:environmentFiles": (
        Need("ReadEnvironmentFiles", ("s3:GetObject",), "objects"),
        Need("LocateEnvironmentFiles", ("s3:GetBucketLocation",), "buckets"),
    ),
    # An EFS volume with IAM authorization: the task role mounts it, and writes unless read-only;
    # through an access point only, when the job names one.
    # https://docs.aws.amazon.com/efs/latest/ug/iam-access-control-nfs-efs.html
    "efs:mount": _mount("elasticfilesystem:ClientWrite", access_point=False),
    "efs:mountReadOnly": _mount(access_point=False),
    "efs:mountThroughAccessPoint": _mount("elasticfilesystem:ClientWrite", access_point=True),
    "efs:mountReadOnlyThroughAccessPoint": _mount(access_point=True),
    # RunTask with tags (propagated from the task definition): ECS authorizes the tagging too,
    # only for a task being created by RunTask.
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/supported-iam-actions-tagging.html
    "ecs:tagTask": (
        Need(
            "TagJobTask",
            ("ecs:TagResource",),
            "cluster_tasks",
            {"StringEquals": {"ecs:CreateAction": Fixed("RunTask")}},
        ),
    ),
    # Sending to a dead-letter queue with the sender's own role: a Scheduler schedule the starts it
    # gave up on, a Lambda function the asynchronous invocations that failed after its retries.
    # https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html
    # https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
    "sqs:deadLetter": (Need("SendToDeadLetterQueue", ("sqs:SendMessage",), "queue"),),
    # A Lambda function's SQS event source mapping polls with the function's role: the three
    # actions AWS's AWSLambdaSQSQueueExecutionRole grants, on the one queue.
    # https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
    "sqs:consume": (
        Need("ReadUndelivered", ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"), "queue"),
    ),
    # The alert function and its own queue: it queues each channel's alert (SendMessageBatch is
    # authorised as sqs:SendMessage), reads the queue through its event source mapping, sets when
    # an undelivered alert comes back (ChangeMessageVisibility, batch included), and sets a refused
    # channel's alerts aside in the alert dead-letter queue.
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html
    "sqs:alertQueue": (
        Need("QueueAlerts", ("sqs:SendMessage",), "queue"),
        Need(
            "DeliverQueuedAlerts",
            ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"),
            "queue",
        ),
        Need("SetAsideRefusedAlerts", ("sqs:SendMessage",), "dead_letter_queue"),
    ),
    # The watchdog: it lists the executions of the stack's state machines, reads the rules and
    # schedules that start them (to say what it found when a run did not start), counts the
    # messages in the schedules' dead-letter queue, and queues its alerts. Read-only but the last.
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridgescheduler.html
    "states:listRuns": (Need("ListRuns", ("states:ListExecutions",), "state_machines"),),
    "events:readRules": (Need("ReadRules", ("events:DescribeRule", "events:ListTargetsByRule"), "rules"),),
    "scheduler:readSchedules": (Need("ReadSchedules", ("scheduler:GetSchedule",), "schedules"),),
    "sqs:countUndelivered": (Need("CountUndelivered", ("sqs:GetQueueAttributes",), "queue"),),
    "sqs:queueAlerts": (Need("QueueAlerts", ("sqs:SendMessage",), "queue"),),
    # Publishing to an SNS topic encrypted with a customer-managed key:
    # https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
    "sns:publish": (
        Need("PublishAlerts", ("sns:Publish",), "topic"),
        Need("EncryptAlerts", ("kms:GenerateDataKey", "kms:Decrypt"), "topic_key"),
    ),
}


def render_statements(integration: str, **arns: str | Sequence[str]) -> list[dict[str, Any]]:
    """The statements ``integration`` needs, with its named ARNs filled in.

    Raises ``KeyError`` naming a resource or condition value the caller did not give.
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
                operator: {key: _condition_value(integration, name, arns) for key, name in values.items()}
                for operator, values in need.conditions.items()
            }
        statements.append(statement)
    return statements


def granted_statements(grants: Sequence[tuple[Sequence[str], Sequence[str]]]) -> list[dict[str, Any]]:
    """The task role's inline statements, from the ``(actions, resources)`` a job grants its container."""
    return [
        {"Sid": f"JobGrant{index}", "Effect": "Allow", "Action": list(actions), "Resource": list(resources)}
        for index, (actions, resources) in enumerate(grants)
    ]


def _condition_value(integration: str, name: str | Fixed, arns: Mapping[str, str | Sequence[str]]) -> Any:
    if isinstance(name, Fixed):
        return name.value
    if name not in arns:
        raise KeyError(f"{integration} needs the value {name!r} for a condition")
    value = arns[name]
    return value if isinstance(value, str) else list(value)


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
