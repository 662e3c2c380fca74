"""Resource policies: who may use the stack's KMS keys, alert topic and queues, besides the
roles that IAM policies already allow. Pure builders; the role policies are ``iam.py``'s."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from constructs_lib.documents.iam import policy_document

__all__ = ["SQS_POLICY_BYTES", "alert_key_policy", "alert_topic_policy", "dead_letter_queue_policy", "deny_without_tls",
           "log_key_policy", "rule_arns_fit_a_queue_policy", "service_grant", "tls_only_queue_policy"]  # fmt: skip


def alert_key_policy(*, account_root: str, account_id: str, alarm_arns: str) -> dict[str, Any]:
    """The key policy of the alert topic's KMS key.

    The account keeps control of the key through IAM (AWS's default key policy statement; the
    Lambda's role is granted its use there). CloudWatch alarms may encrypt for the topic: they
    cannot publish to a topic under the AWS-managed alias/aws/sns key, whose policy cannot name
    them. https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
    https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
    """
    return policy_document(
        [
            _account_manages_key(account_root),
            service_grant(
                "CloudWatchAlarmsPublish",
                service="cloudwatch.amazonaws.com",
                action=["kms:Decrypt", "kms:GenerateDataKey"],
                resource="*",
                account_id=account_id,
                source_arns=alarm_arns,
            ),
        ]
    )


def log_key_policy(*, account_root: str, logs_service: str, log_group_arns: str) -> dict[str, Any]:
    """The key policy of the stack's log key: the account manages it through IAM; CloudWatch Logs
    may use it for this account's log groups in this region only (the encryption context names the
    log group). https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html"""
    return policy_document(
        [
            _account_manages_key(account_root),
            {
                "Sid": "CloudWatchLogsEncrypt",
                "Effect": "Allow",
                "Principal": {"Service": logs_service},
                # AWS's example writes these as wildcards (kms:Encrypt*, ...); named, they cannot
                # grow into actions added later.
                "Action": [
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                    "kms:GenerateDataKey",
                    "kms:GenerateDataKeyWithoutPlaintext",
                    "kms:DescribeKey",
                ],
                "Resource": "*",
                "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_group_arns}},
            },
        ]
    )


def _account_manages_key(account_root: str) -> dict[str, Any]:
    """AWS's default key policy statement: the account controls the key through IAM.
    https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html"""
    return {
        "Sid": "AccountManagesKeyThroughIam",
        "Effect": "Allow",
        "Principal": {"AWS": account_root},
        "Action": "kms:*",
        "Resource": "*",
    }


def service_grant(
    sid: str, *, service: str, action: str | list[str], resource: str, account_id: str, source_arns: str | list[str]
) -> dict[str, Any]:
    """A resource-policy statement letting ``service`` act for this account's ``source_arns`` only:
    the confused-deputy conditions. https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html"""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": action,
        "Resource": resource,
        "Condition": {"StringEquals": {"aws:SourceAccount": account_id}, "ArnLike": {"aws:SourceArn": source_arns}},
    }


def deny_without_tls(action: str, resource: str) -> dict[str, Any]:
    """A resource-policy statement refusing ``action`` on ``resource`` over plain HTTP.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-securetransport"""
    return {
        "Sid": "DenyWithoutTls",
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": resource,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def alert_topic_policy(*, topic_arn: str, account_id: str, alarm_arns: str) -> dict[str, Any]:
    """The alert topic's access policy: the account's CloudWatch alarms may publish; nobody may
    use it without TLS. Principals of the account publish through their IAM policies.
    https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html"""
    return policy_document(
        [
            service_grant(
                "CloudWatchAlarmsPublish",
                service="cloudwatch.amazonaws.com",
                action="sns:Publish",
                resource=topic_arn,
                account_id=account_id,
                source_arns=alarm_arns,
            ),
            deny_without_tls("sns:Publish", topic_arn),
        ]
    )


def tls_only_queue_policy(*, queue_arn: str) -> dict[str, Any]:
    """A queue that only the account's own principals use, through their IAM policies: the policy
    only refuses requests without TLS."""
    return policy_document([deny_without_tls("sqs:*", queue_arn)])


# SQS refuses a queue policy over 8,192 bytes.
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-policies.html
SQS_POLICY_BYTES = 8192
# What a rule ARN's fixed part resolves to at the longest (partition, region, account), and the
# rest of the dead-letter queue's policy resolved, with room to spare.
_RULE_ARN_PREFIX_BYTES = len("arn:aws-us-gov:events:ap-southeast-4:123456789012:rule/")
_QUEUE_POLICY_OVERHEAD_BYTES = 1024


def rule_arns_fit_a_queue_policy(rule_names: Sequence[str]) -> bool:
    """Whether a queue policy naming each rule's ARN stays within SQS's policy size (some 75
    rules, 35 jobs); beyond that the policy names the stack's rules by their common prefix."""
    listed = sum(_RULE_ARN_PREFIX_BYTES + len(name) + len('"", ') for name in rule_names)
    return _QUEUE_POLICY_OVERHEAD_BYTES + listed <= SQS_POLICY_BYTES


def dead_letter_queue_policy(*, queue_arn: str, account_id: str, rule_arns: str | list[str]) -> dict[str, Any]:
    """The dead-letter queue's policy: the stack's EventBridge rules may send to it (EventBridge
    needs a queue policy; Scheduler uses its role instead); nobody may use it without TLS.
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html#eb-dlq-perms"""
    return policy_document(
        [
            service_grant(
                "StackRulesSendUndeliveredEvents",
                service="events.amazonaws.com",
                action="sqs:SendMessage",
                resource=queue_arn,
                account_id=account_id,
                source_arns=rule_arns,
            ),
            deny_without_tls("sqs:*", queue_arn),
        ]
    )
