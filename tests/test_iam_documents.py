"""The IAM document builders, without a synth: each builder's exact output for small inputs."""

from __future__ import annotations

import json

import pytest

from constructs_lib.documents.iam import (
    granted_statements,
    policy_document,
    policy_json,
    render_statements,
    trust_policy,
)
from constructs_lib.documents.resource_policies import (
    alert_key_policy,
    alert_topic_policy,
    dead_letter_queue_policy,
    deny_without_tls,
    log_key_policy,
    service_grant,
)

ROOT = {
    "Sid": "AccountManagesKeyThroughIam",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:root"},
    "Action": "kms:*",
    "Resource": "*",
}


def test_a_resource_given_as_one_arn_or_several_becomes_a_list():
    assert render_statements("states:StartExecution", state_machine="arn:m") == [
        {"Sid": "StartJob", "Effect": "Allow", "Action": ["states:StartExecution"], "Resource": ["arn:m"]}
    ]
    assert render_statements("lambda:invoke", function=("arn:f", "arn:f:*")) == [
        {"Sid": "InvokeAlert", "Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": ["arn:f", "arn:f:*"]}
    ]


def test_a_missing_resource_names_the_integration_and_the_arn():
    with pytest.raises(KeyError, match="sqs:deadLetter needs the ARN 'queue'"):
        render_statements("sqs:deadLetter", topic="arn:t")


def test_any_is_the_star_the_caller_cannot_override_by_accident():
    assert render_statements("xray:write") == [
        {
            "Sid": "WriteTraces",
            "Effect": "Allow",
            "Action": [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
            ],
            "Resource": ["*"],
        }
    ]


def test_fixed_and_given_condition_values():
    statements = render_statements(
        "ecs:runTask.sync",
        task_definition="arn:td:*",
        cluster="arn:c",
        cluster_tasks="arn:c/tasks/*",
        task_roles=["arn:exec", "arn:task"],
        sync_rule="arn:rule",
    )
    assert [(s["Sid"], s["Resource"], s.get("Condition")) for s in statements] == [
        ("RunJobTask", ["arn:td:*"], {"ArnEquals": {"ecs:cluster": "arn:c"}}),
        ("TrackJobTask", ["arn:c/tasks/*"], {"ArnEquals": {"ecs:cluster": "arn:c"}}),
        (
            "PassTaskRoles",
            ["arn:exec", "arn:task"],
            {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        ),
        ("ManagedSyncRule", ["arn:rule"], None),
    ]
    assert "Condition" not in statements[3]


def test_task_secrets_read_exactly_the_named_ones():
    assert render_statements("ssm:taskSecrets", parameters=["arn:p"]) == [
        {"Sid": "ReadTaskParameters", "Effect": "Allow", "Action": ["ssm:GetParameters"], "Resource": ["arn:p"]}
    ]
    assert render_statements("secretsmanager:taskSecrets", secrets=["arn:s"]) == [
        {
            "Sid": "ReadTaskSecrets",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": ["arn:s"],
        }
    ]


def test_granted_statements_number_each_grant():
    assert granted_statements([(("s3:PutObject",), ("arn:b/*",)), (["sns:Publish"], ["arn:t", "arn:u"])]) == [
        {"Sid": "JobGrant0", "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": ["arn:b/*"]},
        {"Sid": "JobGrant1", "Effect": "Allow", "Action": ["sns:Publish"], "Resource": ["arn:t", "arn:u"]},
    ]
    assert granted_statements([]) == []


def test_log_key_policy():
    assert log_key_policy(account_root="arn:root", logs_service="logs.r.amazonaws.com", log_group_arns="arn:lg:*") == {
        "Version": "2012-10-17",
        "Statement": [
            ROOT,
            {
                "Sid": "CloudWatchLogsEncrypt",
                "Effect": "Allow",
                "Principal": {"Service": "logs.r.amazonaws.com"},
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
                "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:lg:*"}},
            },
        ],
    }


def test_service_grant_and_tls_deny():
    assert service_grant(
        "S",
        service="events.amazonaws.com",
        action="sqs:SendMessage",
        resource="arn:q",
        account_id="1",
        source_arns="arn:r*",
    ) == {
        "Sid": "S",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": "arn:q",
        "Condition": {"StringEquals": {"aws:SourceAccount": "1"}, "ArnLike": {"aws:SourceArn": "arn:r*"}},
    }
    assert deny_without_tls("sns:Publish", "arn:t") == {
        "Sid": "DenyWithoutTls",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sns:Publish",
        "Resource": "arn:t",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def test_dead_letter_queue_policy():
    document = dead_letter_queue_policy(queue_arn="arn:q", account_id="1", rule_arns="arn:rule/s-*")
    assert document["Version"] == "2012-10-17"
    assert document["Statement"] == [
        service_grant(
            "StackRulesSendUndeliveredEvents",
            service="events.amazonaws.com",
            action="sqs:SendMessage",
            resource="arn:q",
            account_id="1",
            source_arns="arn:rule/s-*",
        ),
        deny_without_tls("sqs:*", "arn:q"),
    ]


def test_trust_policy_conditions_only_where_given():
    plain = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    assert trust_policy("lambda.amazonaws.com") == {"Version": "2012-10-17", "Statement": [plain]}
    account_only = trust_policy("ecs-tasks.amazonaws.com", source_account="1")["Statement"][0]
    assert account_only["Condition"] == {"StringEquals": {"aws:SourceAccount": "1"}}
    both = trust_policy("states.amazonaws.com", source_account="1", source_arn="arn:m")["Statement"][0]
    assert both["Condition"] == {"StringEquals": {"aws:SourceAccount": "1"}, "ArnLike": {"aws:SourceArn": "arn:m"}}
    arn_only = trust_policy("states.amazonaws.com", source_arn="arn:m")["Statement"][0]
    assert arn_only["Condition"] == {"ArnLike": {"aws:SourceArn": "arn:m"}}


def test_policy_json_is_deterministic():
    document = policy_document([{"b": 1, "a": [2]}])
    lines = [
        "{",
        '  "Statement": [',
        "    {",
        '      "a": [',
        "        2",
        "      ],",
        '      "b": 1',
        "    }",
        "  ],",
        '  "Version": "2012-10-17"',
        "}",
    ]
    assert policy_json(document) == "\n".join(lines)
    assert json.loads(policy_json(document)) == document


def test_alert_key_and_topic_policies():
    key = alert_key_policy(account_root="arn:root", account_id="1", alarm_arns="arn:alarm:*")
    assert key == {
        "Version": "2012-10-17",
        "Statement": [
            ROOT,
            service_grant(
                "CloudWatchAlarmsPublish",
                service="cloudwatch.amazonaws.com",
                action=["kms:Decrypt", "kms:GenerateDataKey"],
                resource="*",
                account_id="1",
                source_arns="arn:alarm:*",
            ),
        ],
    }
    topic = alert_topic_policy(topic_arn="arn:t", account_id="1", alarm_arns="arn:alarm:*")
    assert topic == {
        "Version": "2012-10-17",
        "Statement": [
            service_grant(
                "CloudWatchAlarmsPublish",
                service="cloudwatch.amazonaws.com",
                action="sns:Publish",
                resource="arn:t",
                account_id="1",
                source_arns="arn:alarm:*",
            ),
            deny_without_tls("sns:Publish", "arn:t"),
        ],
    }


def test_a_condition_value_given_as_a_tuple_becomes_a_list():
    (_, decrypt) = render_statements(
        "ssm:read", parameters=("arn:p",), account_keys="arn:k/*", ssm_service="ssm.r.amazonaws.com"
    )
    assert decrypt["Condition"]["StringEquals"]["kms:EncryptionContext:PARAMETER_ARN"] == ["arn:p"]
    assert type(decrypt["Condition"]["StringEquals"]["kms:EncryptionContext:PARAMETER_ARN"]) is list
