"""Synth assertions: every resource's important attributes and every IAM statement."""

from __future__ import annotations

import json
from typing import Any

import pytest
from stack_helpers import (
    GUARD_STATES,
    arn,
    data_ref,
    definition,
    ids,
    job_resource,
    named,
    policy,
    ref,
    resources,
    statements_by_sid,
    trust,
)

JOB = "run-once-a-hour"
NAME = f"scheduled-jobs-{JOB}"


# --- provider and data sources --------------------------------------------------------------------


def test_provider_region_and_default_tags(default_stack):
    (provider,) = default_stack["provider"]["aws"]
    assert provider["region"] == "ap-northeast-1"
    assert provider["default_tags"] == [{"tags": {"ManagedBy": "cdktf", "Stack": "scheduled-jobs"}}]


def test_arns_come_from_data_sources_not_literals(default_stack):
    text = json.dumps(default_stack)
    assert "arn:aws:" not in text
    assert set(default_stack["data"]) == {
        "aws_availability_zones",
        "aws_caller_identity",
        "aws_partition",
        "aws_region",
    }


# --- network ---------------------------------------------------------------------------------------


def test_vpc(default_stack):
    (vpc,) = resources(default_stack, "aws_vpc").values()
    assert vpc["cidr_block"] == "10.0.0.0/16"
    assert vpc["enable_dns_hostnames"] is True
    assert vpc["enable_dns_support"] is True


def test_subnets_split_the_vpc_per_az(default_stack):
    zones = data_ref(default_stack, "aws_availability_zones", "names")
    expected = {
        "network_public-0": ("10.0.0.0/18", 0),
        "network_public-1": ("10.0.64.0/18", 1),
        "network_private-0": ("10.0.128.0/18", 0),
        "network_private-1": ("10.0.192.0/18", 1),
    }
    assert len(resources(default_stack, "aws_subnet")) == 4
    for path, (cidr, index) in expected.items():
        _, subnet = named(default_stack, "aws_subnet", path)
        assert subnet["cidr_block"] == cidr
        assert subnet["availability_zone"] == f"${{element({zones[2:-1]}, {index})}}"
        assert subnet["vpc_id"] == ids(default_stack, "aws_vpc", "network_vpc")
    _, public = named(default_stack, "aws_subnet", "network_public-0")
    assert public["map_public_ip_on_launch"] is False


def test_availability_zones_are_the_available_ones(default_stack):
    (zones,) = default_stack["data"]["aws_availability_zones"].values()
    assert zones == {"state": "available"}


def test_public_routes_go_to_the_internet_gateway(default_stack):
    _, route = named(default_stack, "aws_route", "network_public-default-route")
    assert route["destination_cidr_block"] == "0.0.0.0/0"
    assert route["gateway_id"] == ids(default_stack, "aws_internet_gateway", "network_igw")
    assert route["route_table_id"] == ids(default_stack, "aws_route_table", "network_public-routes")
    for index in (0, 1):
        _, association = named(default_stack, "aws_route_table_association", f"network_public-{index}-routes")
        assert association["subnet_id"] == ids(default_stack, "aws_subnet", f"network_public-{index}")
        assert association["route_table_id"] == ids(default_stack, "aws_route_table", "network_public-routes")


def test_one_nat_gateway_serves_both_private_subnets(default_stack):
    (nat_name, nat), *others = resources(default_stack, "aws_nat_gateway").items()
    assert others == []
    assert nat["subnet_id"] == ids(default_stack, "aws_subnet", "network_public-0")
    assert nat["allocation_id"] == ids(default_stack, "aws_eip", "network_nat-0-ip", "allocation_id")
    assert nat["depends_on"] == [
        f"aws_internet_gateway.{named(default_stack, 'aws_internet_gateway', 'network_igw')[0]}"
    ]
    _, eip = named(default_stack, "aws_eip", "network_nat-0-ip")
    assert eip["domain"] == "vpc"
    for index in (0, 1):
        _, route = named(default_stack, "aws_route", f"network_private-{index}-default-route")
        assert route["destination_cidr_block"] == "0.0.0.0/0"
        assert route["nat_gateway_id"] == ref("aws_nat_gateway", nat_name, "id")
        assert route["route_table_id"] == ids(default_stack, "aws_route_table", f"network_private-{index}-routes")
        _, association = named(default_stack, "aws_route_table_association", f"network_private-{index}-association")
        assert association["subnet_id"] == ids(default_stack, "aws_subnet", f"network_private-{index}")


def test_default_security_group_is_emptied(default_stack):
    (group,) = resources(default_stack, "aws_default_security_group").values()
    assert group["vpc_id"] == ids(default_stack, "aws_vpc", "network_vpc")
    assert "ingress" not in group
    assert "egress" not in group


def test_without_nat_jobs_run_in_public_subnets_with_a_public_ip(multi_stack):
    assert resources(multi_stack, "aws_nat_gateway") == {}
    assert resources(multi_stack, "aws_eip") == {}
    assert sorted(name.rsplit("_", 1)[0] for name in resources(multi_stack, "aws_subnet")) == [
        "network_public-0",
        "network_public-1",
        "network_public-2",
    ]
    run_task = definition(multi_stack, "nightly-report")["States"]["RunJob"]["Branches"][0]["States"]["RunTask"]
    network = run_task["Parameters"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "ENABLED"
    assert network["Subnets"] == [ids(multi_stack, "aws_subnet", f"network_public-{i}") for i in range(3)]


def test_pinned_zones_are_used_as_given(multi_stack):
    assert "aws_availability_zones" not in multi_stack["data"]
    zones = {
        name.rsplit("_", 1)[0]: subnet["availability_zone"]
        for name, subnet in resources(multi_stack, "aws_subnet").items()
    }
    assert zones == {
        "network_public-0": "us-east-1a",
        "network_public-1": "us-east-1b",
        "network_public-2": "us-east-1d",
    }


def test_small_vpc_is_split_in_eight_for_three_azs(multi_stack):
    cidrs = sorted(subnet["cidr_block"] for subnet in resources(multi_stack, "aws_subnet").values())
    assert cidrs == ["10.20.0.0/23", "10.20.2.0/23", "10.20.4.0/23"]


# --- cluster and task ------------------------------------------------------------------------------


def test_cluster(default_stack):
    (cluster,) = resources(default_stack, "aws_ecs_cluster").values()
    assert cluster["name"] == "scheduled-jobs"


def test_task_definition(default_stack):
    _, task = job_resource(default_stack, "aws_ecs_task_definition", JOB, "task_task-definition")
    assert task["family"] == NAME
    assert (task["cpu"], task["memory"]) == ("256", "512")
    assert task["network_mode"] == "awsvpc"
    assert task["requires_compatibilities"] == ["FARGATE"]
    assert task["execution_role_arn"] == ids(default_stack, "aws_iam_role", f"job-{JOB}_task_execution-role", "arn")
    assert task["task_role_arn"] == ids(default_stack, "aws_iam_role", f"job-{JOB}_task_task-role", "arn")
    assert task["volume"] == [{"name": "scratch"}]  # the task's ephemeral storage, for /tmp
    assert task["skip_destroy"] is True  # older revisions stay ACTIVE for runs in flight
    log_group = ids(default_stack, "aws_cloudwatch_log_group", f"job-{JOB}_task_logs", "name")
    assert json.loads(task["container_definitions"]) == [
        {
            "name": "app",
            "image": "public.ecr.aws/docker/library/alpine:latest",
            "essential": True,
            "command": ["echo", "This is scheduled task as run-once-a-hour"],
            "environment": [],
            "readonlyRootFilesystem": True,
            "mountPoints": [{"sourceVolume": "scratch", "containerPath": "/tmp", "readOnly": False}],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": log_group,
                    "awslogs-region": data_ref(default_stack, "aws_region", "region"),
                    "awslogs-stream-prefix": "job",
                },
            },
        }
    ]


def test_a_job_may_lift_the_read_only_root_filesystem(multi_stack):
    _, task = job_resource(multi_stack, "aws_ecs_task_definition", "every-5-minutes", "task_task-definition")
    (container,) = json.loads(task["container_definitions"])
    assert container["readonlyRootFilesystem"] is False
    assert container["mountPoints"] == [{"sourceVolume": "scratch", "containerPath": "/tmp", "readOnly": False}]


def test_task_environment_is_passed_sorted(multi_stack):
    _, task = job_resource(multi_stack, "aws_ecs_task_definition", "nightly-report", "task_task-definition")
    (container,) = json.loads(task["container_definitions"])
    assert container["environment"] == [
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "REPORT_KIND", "value": "daily"},
    ]
    assert (task["cpu"], task["memory"]) == ("1024", "2048")


def test_job_log_group_retention(default_stack, multi_stack):
    _, logs = job_resource(default_stack, "aws_cloudwatch_log_group", JOB, "task_logs")
    assert logs == {"name": f"/ecs/{NAME}", "retention_in_days": 7}
    _, logs = job_resource(multi_stack, "aws_cloudwatch_log_group", "nightly-report", "task_logs")
    assert logs["retention_in_days"] == 30


def test_security_group_allows_all_egress_and_no_ingress(default_stack):
    _, group = job_resource(default_stack, "aws_security_group", JOB, "task_security-group")
    assert group["name"] == NAME
    assert group["vpc_id"] == ids(default_stack, "aws_vpc", "network_vpc")
    assert "ingress" not in group
    (rule,) = resources(default_stack, "aws_vpc_security_group_egress_rule").values()
    assert rule["ip_protocol"] == "-1"
    assert rule["cidr_ipv4"] == "0.0.0.0/0"
    assert rule["security_group_id"] == ids(default_stack, "aws_security_group", f"job-{JOB}_task_security-group")
    assert resources(default_stack, "aws_vpc_security_group_ingress_rule") == {}


# --- IAM -------------------------------------------------------------------------------------------


def test_no_managed_policies_but_the_ones_a_job_attaches(default_stack, multi_stack):
    assert resources(default_stack, "aws_iam_role_policy_attachment") == {}
    task_role = ids(multi_stack, "aws_iam_role", "job-nightly-report_task_task-role", "name")
    assert {body["role"] for body in resources(multi_stack, "aws_iam_role_policy_attachment").values()} == {task_role}
    for stack in (default_stack, multi_stack):
        for role in resources(stack, "aws_iam_role").values():
            assert "managed_policy_arns" not in role


def test_roles_and_their_names(default_stack):
    names = sorted(role["name"] for role in resources(default_stack, "aws_iam_role").values())
    assert names == sorted(
        [
            "scheduled-jobs-alert",
            "scheduled-jobs-watchdog",
            f"{NAME}-events",
            f"{NAME}-sfn",
            f"{NAME}-exec",
            f"{NAME}-task",
        ]
    )


def test_state_machine_role(default_stack):
    _, statement = trust(default_stack, f"job-{JOB}_state-machine_role")
    assert statement == {
        "Effect": "Allow",
        "Principal": {"Service": "states.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": data_ref(default_stack, "aws_caller_identity", "account_id")},
            "ArnLike": {"aws:SourceArn": arn(default_stack, "states", f"stateMachine:{NAME}")},
        },
    }
    _, body = job_resource(default_stack, "aws_iam_role_policy", JOB, "state-machine_role_policy")
    assert body["role"] == ids(default_stack, "aws_iam_role", f"job-{JOB}_state-machine_role")
    cluster = ids(default_stack, "aws_ecs_cluster", "cluster", "arn")
    alert = ids(default_stack, "aws_lambda_function", "alert_function", "arn")
    assert statements_by_sid(policy(body)) == {
        "RunJobTask": {
            "Sid": "RunJobTask",
            "Effect": "Allow",
            "Action": ["ecs:RunTask"],
            # Every revision of the family: a run that began before a deploy launches its retries
            # with the revision it started with, which the deploy leaves ACTIVE (skip_destroy).
            "Resource": [arn(default_stack, "ecs", f"task-definition/{NAME}:*")],
            "Condition": {"ArnEquals": {"ecs:cluster": cluster}},
        },
        "TrackJobTask": {
            "Sid": "TrackJobTask",
            "Effect": "Allow",
            "Action": ["ecs:StopTask", "ecs:DescribeTasks"],
            "Resource": [arn(default_stack, "ecs", "task/scheduled-jobs/*")],
            "Condition": {"ArnEquals": {"ecs:cluster": cluster}},
        },
        "PassTaskRoles": {
            "Sid": "PassTaskRoles",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": [
                ids(default_stack, "aws_iam_role", f"job-{JOB}_task_execution-role", "arn"),
                ids(default_stack, "aws_iam_role", f"job-{JOB}_task_task-role", "arn"),
            ],
            "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        },
        "ManagedSyncRule": {
            "Sid": "ManagedSyncRule",
            "Effect": "Allow",
            "Action": ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            "Resource": [arn(default_stack, "events", "rule/StepFunctionsGetEventsForECSTaskRule")],
        },
        "InvokeAlert": {
            "Sid": "InvokeAlert",
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction"],
            "Resource": [alert, f"{alert}:*"],
        },
        "ListOwnExecutions": {
            "Sid": "ListOwnExecutions",
            "Effect": "Allow",
            "Action": ["states:ListExecutions"],
            "Resource": [arn(default_stack, "states", f"stateMachine:{NAME}")],
        },
        "DeliverExecutionLogs": {
            "Sid": "DeliverExecutionLogs",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups",
            ],
            "Resource": ["*"],
        },
    }


def test_concurrency_guard_only_where_runs_may_not_overlap(default_stack, multi_stack):
    guarded = definition(default_stack, JOB)
    assert guarded["StartAt"] == "CheckPreviousRun"
    partition = data_ref(default_stack, "aws_partition", "partition")
    check = guarded["States"]["CheckPreviousRun"]
    assert check["Resource"] == f"arn:{partition}:states:::aws-sdk:sfn:listExecutions"
    assert check["Parameters"] == {
        "StateMachineArn.$": "$$.StateMachine.Id",
        "StatusFilter": "RUNNING",
        "MaxResults": 100,
    }
    assert check["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.GuardFailure", "Next": "RunJob"}]
    assert guarded["States"]["IsPreviousRunRunning"]["Choices"][0]["Next"] == "RunJob"  # nothing else runs
    assert guarded["States"]["IsThisTheOldestRun"]["Choices"][0]["Next"] == "RunJob"
    assert guarded["States"]["PreviousRunStillRunning"]["Next"] == "NotifyFailure"
    job = "idempotent-sync-job-with-a-name-that-uses-all-sixty-four-chars-x"  # concurrency = "allow"
    allowed = definition(multi_stack, job)
    assert allowed["StartAt"] == "RunJob"
    assert not set(GUARD_STATES) & set(allowed["States"])
    _, body = job_resource(multi_stack, "aws_iam_role_policy", job, "state-machine_role_policy")
    assert "ListOwnExecutions" not in statements_by_sid(policy(body))


def test_execution_role_writes_only_its_log_group(default_stack):
    _, statement = trust(default_stack, f"job-{JOB}_task_execution-role")
    assert statement == {
        "Effect": "Allow",
        "Principal": {"Service": "ecs-tasks.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": data_ref(default_stack, "aws_caller_identity", "account_id")}
        },
    }
    _, body = job_resource(default_stack, "aws_iam_role_policy", JOB, "task_execution-role_policy")
    log_group = ids(default_stack, "aws_cloudwatch_log_group", f"job-{JOB}_task_logs", "arn")
    assert policy(body)["Statement"] == [
        {
            "Sid": "WriteLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{log_group}:*"],
        }
    ]


def test_execution_role_pulls_only_its_private_ecr_repository(multi_stack):
    _, body = job_resource(multi_stack, "aws_iam_role_policy", "nightly-report", "task_execution-role_policy")
    partition = data_ref(multi_stack, "aws_partition", "partition")
    statements = statements_by_sid(policy(body))
    assert set(statements) == {"WriteLogs", "EcrLogin", "EcrPull", "ReadTaskParameters", "ReadTaskSecrets"}
    # GetAuthorizationToken has no resource-level permissions: "*" is the only choice.
    assert statements["EcrLogin"]["Action"] == ["ecr:GetAuthorizationToken"]
    assert statements["EcrLogin"]["Resource"] == ["*"]
    assert statements["EcrPull"]["Action"] == [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ]
    assert statements["EcrPull"]["Resource"] == [
        f"arn:{partition}:ecr:us-east-1:123456789012:repository/reports/mailer"
    ]


def test_secrets_reach_the_container_as_secrets_and_the_execution_role_reads_exactly_those(multi_stack):
    _, task = job_resource(multi_stack, "aws_ecs_task_definition", "nightly-report", "task_task-definition")
    (container,) = json.loads(task["container_definitions"])
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:batch/db-AbC123"
    parameter = "arn:aws:ssm:us-east-1:123456789012:parameter/batch/smtp-password"
    assert container["secrets"] == [
        {"name": "DB_PASSWORD", "valueFrom": f"{secret}:password::"},
        {"name": "DB_USER", "valueFrom": f"{secret}:username::"},
        {"name": "SMTP_PASSWORD", "valueFrom": parameter},
    ]
    assert [entry["name"] for entry in container["environment"]] == ["LOG_LEVEL", "REPORT_KIND"]
    _, body = job_resource(multi_stack, "aws_iam_role_policy", "nightly-report", "task_execution-role_policy")
    statements = statements_by_sid(policy(body))
    assert statements["ReadTaskParameters"] == {
        "Sid": "ReadTaskParameters",
        "Effect": "Allow",
        "Action": ["ssm:GetParameters"],
        "Resource": [parameter],
    }
    # IAM names the secret itself, once, without the JSON key that only ECS reads.
    assert statements["ReadTaskSecrets"] == {
        "Sid": "ReadTaskSecrets",
        "Effect": "Allow",
        "Action": ["secretsmanager:GetSecretValue"],
        "Resource": [secret],
    }


def test_a_job_without_secrets_reads_none(multi_stack):
    for job in ("every-5-minutes", "thumbnails"):
        _, body = job_resource(multi_stack, "aws_iam_role_policy", job, "task_execution-role_policy")
        assert [s["Sid"] for s in policy(body)["Statement"]] == ["WriteLogs"]


def test_task_role_gets_exactly_the_policies_a_job_grants(multi_stack):
    role = ids(multi_stack, "aws_iam_role", "job-nightly-report_task_task-role")
    _, body = job_resource(multi_stack, "aws_iam_role_policy", "nightly-report", "task_task-role_policy")
    assert body["role"] == role
    assert policy(body)["Statement"] == [
        {
            "Sid": "JobGrant0",
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": ["arn:aws:s3:::batch-reports/daily/*"],
        },
        {"Sid": "JobGrant1", "Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": ["*"]},
    ]
    role_name = ids(multi_stack, "aws_iam_role", "job-nightly-report_task_task-role", "name")
    assert sorted(
        (body["role"], body["policy_arn"]) for body in resources(multi_stack, "aws_iam_role_policy_attachment").values()
    ) == [
        (role_name, "arn:aws:iam::123456789012:policy/report-readers"),
        (role_name, "arn:aws:iam::aws:policy/AmazonSESFullAccess"),
    ]
    for job in ("every-5-minutes", "thumbnails"):
        _, task_role = job_resource(multi_stack, "aws_iam_role", job, "task_task-role")
        assert task_role["name"] not in {
            body["role"] for body in resources(multi_stack, "aws_iam_role_policy").values()
        }


def test_public_images_get_no_ecr_rights(multi_stack):
    _, body = job_resource(multi_stack, "aws_iam_role_policy", "every-5-minutes", "task_execution-role_policy")
    assert [s["Sid"] for s in policy(body)["Statement"]] == ["WriteLogs"]


def test_task_role_has_no_permissions(default_stack):
    _, statement = trust(default_stack, f"job-{JOB}_task_task-role")
    assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": data_ref(default_stack, "aws_caller_identity", "account_id")},
        "ArnLike": {"aws:SourceArn": arn(default_stack, "ecs", "*")},
    }
    task_role = ids(default_stack, "aws_iam_role", f"job-{JOB}_task_task-role", "id")
    assert [
        body for body in resources(default_stack, "aws_iam_role_policy").values() if body["role"] == task_role
    ] == []
    assert resources(default_stack, "aws_iam_role_policy_attachment") == {}


def test_events_role_may_only_start_its_state_machine(default_stack):
    _, statement = trust(default_stack, f"job-{JOB}_schedule_role")
    assert statement == {
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": data_ref(default_stack, "aws_caller_identity", "account_id")},
            "ArnLike": {"aws:SourceArn": arn(default_stack, "events", f"rule/{NAME}")},
        },
    }
    _, body = job_resource(default_stack, "aws_iam_role_policy", JOB, "schedule_role_policy")
    assert policy(body)["Statement"] == [
        {
            "Sid": "StartJob",
            "Effect": "Allow",
            "Action": ["states:StartExecution"],
            "Resource": [ids(default_stack, "aws_sfn_state_machine", f"job-{JOB}_state-machine", "arn")],
        }
    ]


def test_alert_role_writes_its_logs_and_publishes_to_the_topic(default_stack):
    _, statement = trust(default_stack, "alert_role")
    assert statement == {
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    _, body = named(default_stack, "aws_iam_role_policy", "alert_role_policy")
    log_group = ids(default_stack, "aws_cloudwatch_log_group", "alert_logs", "arn")
    assert policy(body)["Statement"] == [
        {
            "Sid": "WriteLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{log_group}:*"],
        },
        {
            "Sid": "PublishAlerts",
            "Effect": "Allow",
            "Action": ["sns:Publish"],
            "Resource": [ids(default_stack, "aws_sns_topic", "alert-topic", "arn")],
        },
        {
            "Sid": "EncryptAlerts",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": [ids(default_stack, "aws_kms_key", "alert-topic_key", "arn")],
        },
        {
            # The event source mapping polls the dead-letter queue with this role: that queue only.
            "Sid": "ReadUndelivered",
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            "Resource": [ids(default_stack, "aws_sqs_queue", "undelivered_queue", "arn")],
        },
        {
            # The function's own dead-letter queue: asynchronous invocations that kept failing.
            "Sid": "SendToDeadLetterQueue",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": [ids(default_stack, "aws_sqs_queue", "undelivered_queue", "arn")],
        },
        {
            # A failed run's alert for a channel waits in the alert queue: that queue only.
            "Sid": "QueueAlerts",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": [ids(default_stack, "aws_sqs_queue", "alert-queue_waiting", "arn")],
        },
        {
            # Its event source mapping reads it, and the function sets when an undelivered alert returns.
            "Sid": "DeliverQueuedAlerts",
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ChangeMessageVisibility",
            ],
            "Resource": [ids(default_stack, "aws_sqs_queue", "alert-queue_waiting", "arn")],
        },
        {
            # A refused channel's alerts are set aside in the alert dead-letter queue, by the function.
            "Sid": "SetAsideRefusedAlerts",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": [ids(default_stack, "aws_sqs_queue", "alert-queue_dead-letter", "arn")],
        },
        {
            # An alert quotes the last lines of the task's log: the jobs' log streams, nothing else.
            "Sid": "ReadTaskLogs",
            "Effect": "Allow",
            "Action": ["logs:GetLogEvents"],
            "Resource": [arn(default_stack, "logs", "log-group:/ecs/scheduled-jobs-run-once-a-hour:log-stream:*")],
        },
    ]


def test_alert_role_reads_exactly_the_named_parameters_and_decrypts_them_through_ssm_only(multi_stack):
    _, body = named(multi_stack, "aws_iam_role_policy", "alert_role_policy")
    parameters = [
        arn(multi_stack, "ssm", "parameter/batch/alerts/slack-webhook"),
        arn(multi_stack, "ssm", "parameter/batch/alerts/chatwork-token"),
    ]
    statements = statements_by_sid(policy(body))
    assert sorted(statements) == sorted(
        [
            "WriteLogs",
            "PublishAlerts",
            "EncryptAlerts",
            "ReadUndelivered",
            "SendToDeadLetterQueue",
            "QueueAlerts",
            "DeliverQueuedAlerts",
            "SetAsideRefusedAlerts",
            "ReadTaskLogs",
            "ReadAlertSecrets",
            "DecryptAlertSecrets",
            "WriteTraces",
        ]
    )
    assert statements["ReadTaskLogs"]["Resource"] == [
        arn(multi_stack, "logs", f"log-group:/ecs/batch-{job}:log-stream:*")
        for job in (
            "nightly-report",
            "every-5-minutes",
            "idempotent-sync-job-with-a-name-that-uses-all-sixty-four-chars-x",
            "thumbnails",
        )
    ]
    assert statements["ReadAlertSecrets"] == {
        "Sid": "ReadAlertSecrets",
        "Effect": "Allow",
        "Action": ["ssm:GetParameter"],
        "Resource": parameters,
    }
    region = data_ref(multi_stack, "aws_region", "region")
    assert statements["DecryptAlertSecrets"] == {
        "Sid": "DecryptAlertSecrets",
        "Effect": "Allow",
        "Action": ["kms:Decrypt"],
        "Resource": [arn(multi_stack, "kms", "key/*")],
        "Condition": {
            "StringEquals": {
                "kms:ViaService": f"ssm.{region}.amazonaws.com",
                "kms:EncryptionContext:PARAMETER_ARN": parameters,
            }
        },
    }


def test_each_state_machine_logs_its_failed_states_without_execution_data(default_stack):
    _, machine = job_resource(default_stack, "aws_sfn_state_machine", JOB, "state-machine")
    group = ids(default_stack, "aws_cloudwatch_log_group", f"job-{JOB}_state-machine_logs", "arn")
    assert machine["logging_configuration"] == {
        "level": "ERROR",
        "include_execution_data": False,
        "log_destination": f"{group}:*",
    }
    _, logs = job_resource(default_stack, "aws_cloudwatch_log_group", JOB, "state-machine_logs")
    assert logs == {"name": f"/aws/vendedlogs/states/{NAME}", "retention_in_days": 7}
    _, body = job_resource(default_stack, "aws_iam_role_policy", JOB, "state-machine_role_policy")
    assert statements_by_sid(policy(body))["DeliverExecutionLogs"]["Resource"] == ["*"]


# --- alert Lambda ----------------------------------------------------------------------------------


def test_alert_function(default_stack):
    _, function = named(default_stack, "aws_lambda_function", "alert_function")
    assert function["function_name"] == "scheduled-jobs-alert"
    assert function["runtime"] == "python3.13"
    assert function["handler"] == "lambda_src.alert.handler"
    assert function["architectures"] == ["arm64"]
    assert function["timeout"] == 60
    assert function["reserved_concurrent_executions"] == 20
    # The ended-early rules invoke it asynchronously: what still fails goes to the queue it reads.
    assert function["dead_letter_config"] == {
        "target_arn": ids(default_stack, "aws_sqs_queue", "undelivered_queue", "arn")
    }
    assert function["role"] == ids(default_stack, "aws_iam_role", "alert_role", "arn")
    assert function["filename"].startswith("assets/alert_code_")
    assert function["filename"].endswith("/archive.zip")
    assert len(function["source_code_hash"]) == 32
    log_group_name, log_group = named(default_stack, "aws_cloudwatch_log_group", "alert_logs")
    assert log_group == {"name": "/aws/lambda/scheduled-jobs-alert", "retention_in_days": 30}
    assert f"aws_cloudwatch_log_group.{log_group_name}" in function["depends_on"]
    # Without chat channels, the function knows the topic and its alert queues only.
    assert function["environment"] == {
        "variables": {
            "SNS_TOPIC_ARN": ids(default_stack, "aws_sns_topic", "alert-topic", "arn"),
            "STACK_NAME": "scheduled-jobs",
            "ALERT_QUEUE_URL": ids(default_stack, "aws_sqs_queue", "alert-queue_waiting", "url"),
            "ALERT_DEAD_LETTER_QUEUE_URL": ids(default_stack, "aws_sqs_queue", "alert-queue_dead-letter", "url"),
        }
    }


def test_alert_function_environment_names_the_parameters_not_the_secrets(multi_stack):
    _, function = named(multi_stack, "aws_lambda_function", "alert_function")
    assert function["environment"] == {
        "variables": {
            "SNS_TOPIC_ARN": ids(multi_stack, "aws_sns_topic", "alert-topic", "arn"),
            "STACK_NAME": "batch",
            "ALERT_QUEUE_URL": ids(multi_stack, "aws_sqs_queue", "alert-queue_waiting", "url"),
            "ALERT_DEAD_LETTER_QUEUE_URL": ids(multi_stack, "aws_sqs_queue", "alert-queue_dead-letter", "url"),
            "WEBHOOK_SSM_PARAMETER": "/batch/alerts/slack-webhook",
            "CHATWORK_ROOM_ID": "123456",
            "CHATWORK_TOKEN_SSM_PARAMETER": "/batch/alerts/chatwork-token",
        }
    }


def test_no_secret_can_reach_the_plan_or_the_state(default_stack, multi_stack):
    """The stack never reads a secret: no SSM parameter data source or resource (their values would
    be stored in the state), no Secrets Manager value, no URL but the AWS endpoints'."""
    for stack in (default_stack, multi_stack):
        kinds = set(stack.get("data", {})) | set(stack.get("resource", {}))
        assert not {kind for kind in kinds if "ssm" in kind or "secretsmanager" in kind}
        text = json.dumps(stack)
        assert "webhook_url" not in text
        assert "hooks." not in text
        assert "https://" not in text


def test_alert_function_is_shared_by_all_jobs(multi_stack):
    function_name, _ = named(multi_stack, "aws_lambda_function", "alert_function")
    others = [body["function_name"] for name, body in resources(multi_stack, "aws_lambda_function").items()
              if name != function_name]  # fmt: skip
    assert others == ["batch-watchdog"]
    alert = ref("aws_lambda_function", function_name, "arn")
    for job in ("nightly-report", "every-5-minutes"):
        for branch in definition(multi_stack, job)["States"]["NotifyFailure"]["Branches"]:
            assert branch["States"][branch["StartAt"]]["Parameters"]["FunctionName"] == alert
    _, logs = named(multi_stack, "aws_cloudwatch_log_group", "alert_logs")
    assert logs["retention_in_days"] == 90


def test_alert_step_invokes_the_function_once_per_configured_channel(default_stack, multi_stack):
    default = definition(default_stack, JOB)["States"]["NotifyFailure"]
    assert [branch["StartAt"] for branch in default["Branches"]] == ["AlertLog", "AlertEmail"]
    multi = definition(multi_stack, "nightly-report")["States"]["NotifyFailure"]
    assert [branch["StartAt"] for branch in multi["Branches"]] == [
        "AlertLog",
        "AlertEmail",
        "AlertSlack",
        "AlertChatwork",
    ]
    assert (multi["Type"], multi["ResultPath"], multi["Next"]) == ("Parallel", None, "JobFailed")
    assert multi["Parameters"] == {
        "Failure.$": "$.Failure",
        "GaveUpAt.$": "$$.State.EnteredTime",
        "Input.$": "$$.Execution.Input",
        "StartTime.$": "$$.Execution.StartTime",
    }
    slack = multi["Branches"][2]["States"]
    assert slack["AlertSlackUndelivered"] == {"Type": "Pass", "End": True}
    assert slack["AlertSlack"]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.AlertFailure", "Next": "AlertSlackUndelivered"}
    ]
    log_group = ids(multi_stack, "aws_cloudwatch_log_group", "job-nightly-report_task_logs", "name")
    assert slack["AlertSlack"]["Parameters"]["Payload"] == {
        "channel": "slack",
        "stack": "batch",
        "job": "nightly-report",
        "error.$": "$.Failure.Error",
        "cause.$": "$.Failure.Cause",
        "execution.$": "$$.Execution.Id",
        "startTime.$": "$.StartTime",
        "gaveUpAt.$": "$.GaveUpAt",
        "stateMachine.$": "$$.StateMachine.Id",
        "input.$": "$.Input",
        "launchBudget": 13,
        "timeoutSeconds": 1800,
        "logGroup": log_group,
        "logStreamPrefix": "job/app",
        "capacity": ["FARGATE"],
        "schedule": "cron(0 8 ? * MON-FRI *)",  # the alert names the next run
        "timezone": "Asia/Tokyo",  # and shows times on the job's clock
    }


# --- alert topic -----------------------------------------------------------------------------------


def test_alert_topic_is_encrypted_with_its_own_rotated_key(default_stack):
    _, topic = named(default_stack, "aws_sns_topic", "alert-topic")
    key = ids(default_stack, "aws_kms_key", "alert-topic_key", "arn")
    assert topic == {"name": "scheduled-jobs-alerts", "kms_master_key_id": key}
    _, alias = named(default_stack, "aws_kms_alias", "alert-topic_key-alias")
    assert alias == {
        "name": "alias/scheduled-jobs-alerts",
        "target_key_id": ids(default_stack, "aws_kms_key", "alert-topic_key", "key_id"),
    }
    _, body = named(default_stack, "aws_kms_key", "alert-topic_key")
    assert (body["enable_key_rotation"], body["deletion_window_in_days"]) == (True, 30)
    account = data_ref(default_stack, "aws_caller_identity", "account_id")
    alarms = arn(default_stack, "cloudwatch", "alarm:*")
    assert policy(body)["Statement"] == [
        {
            "Sid": "AccountManagesKeyThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": arn(default_stack, "iam", "root", regional=False)},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "CloudWatchAlarmsPublish",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account}, "ArnLike": {"aws:SourceArn": alarms}},
        },
    ]


def test_alert_topic_policy_lets_the_accounts_alarms_publish_over_tls_only(default_stack):
    _, body = named(default_stack, "aws_sns_topic_policy", "alert-topic_policy")
    topic = ids(default_stack, "aws_sns_topic", "alert-topic", "arn")
    assert body["arn"] == topic
    assert policy(body)["Statement"] == [
        {
            "Sid": "CloudWatchAlarmsPublish",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic,
            "Condition": {
                "StringEquals": {"aws:SourceAccount": data_ref(default_stack, "aws_caller_identity", "account_id")},
                "ArnLike": {"aws:SourceArn": arn(default_stack, "cloudwatch", "alarm:*")},
            },
        },
        {
            "Sid": "DenyWithoutTls",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sns:Publish",
            "Resource": topic,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    ]


def test_each_email_is_subscribed_and_none_without_emails(default_stack, multi_stack):
    assert resources(default_stack, "aws_sns_topic_subscription") == {}
    topic = ids(multi_stack, "aws_sns_topic", "alert-topic", "arn")
    subscriptions = [body for _, body in sorted(resources(multi_stack, "aws_sns_topic_subscription").items())]
    assert subscriptions == [
        {"topic_arn": topic, "protocol": "email", "endpoint": "ops@example.com"},
        {"topic_arn": topic, "protocol": "email", "endpoint": "oncall+batch@example.org"},
    ]


# --- state machine, schedule, alarm ----------------------------------------------------------------


def test_state_machine(default_stack):
    _, machine = job_resource(default_stack, "aws_sfn_state_machine", JOB, "state-machine")
    assert machine["name"] == NAME
    assert machine["type"] == "STANDARD"
    assert machine["role_arn"] == ids(default_stack, "aws_iam_role", f"job-{JOB}_state-machine_role", "arn")
    policy_name, _ = job_resource(default_stack, "aws_iam_role_policy", JOB, "state-machine_role_policy")
    assert machine["depends_on"] == [f"aws_iam_role_policy.{policy_name}"]


def test_run_task_parameters(default_stack):
    run_task = definition(default_stack, JOB)["States"]["RunJob"]["Branches"][0]["States"]["RunTask"]
    assert (
        run_task["Resource"] == f"arn:{data_ref(default_stack, 'aws_partition', 'partition')}:states:::ecs:runTask.sync"
    )
    assert run_task["ResultPath"] == "$.RunTask"
    assert run_task["Parameters"] == {
        "Cluster": ids(default_stack, "aws_ecs_cluster", "cluster", "arn"),
        "TaskDefinition": ids(default_stack, "aws_ecs_task_definition", f"job-{JOB}_task_task-definition", "arn"),
        "LaunchType": "FARGATE",
        "PlatformVersion": "1.4.0",
        "NetworkConfiguration": {
            "AwsvpcConfiguration": {
                "Subnets": [
                    ids(default_stack, "aws_subnet", "network_private-0"),
                    ids(default_stack, "aws_subnet", "network_private-1"),
                ],
                "SecurityGroups": [ids(default_stack, "aws_security_group", f"job-{JOB}_task_security-group")],
                "AssignPublicIp": "DISABLED",
            }
        },
    }  # no Overrides: the container runs the task definition's command, its one source


def test_shipped_retry_policy_is_the_originals(default_stack):
    retries = definition(default_stack, JOB)["States"]["RunJob"]["Retry"]
    assert retries == [
        {
            "ErrorEquals": ["AmazonECS.Unknown", "ECS.AmazonECSException", "Job.TaskFailedToStart"],
            "IntervalSeconds": 1,
            "MaxAttempts": 3,
            "BackoffRate": 2.0,
            # Left out of [jobs.retry], so the default policy's cap: it never binds on 1, 2 and 4 s.
            "MaxDelaySeconds": 120,
        }
    ]


def test_schedule_rule_and_target(default_stack, multi_stack):
    _, rule = job_resource(default_stack, "aws_cloudwatch_event_rule", JOB, "schedule_rule")
    assert rule["name"] == NAME
    assert rule["schedule_expression"] == "cron(0 * * * ? *)"
    assert rule["state"] == "ENABLED"
    _, target = job_resource(default_stack, "aws_cloudwatch_event_target", JOB, "schedule_target")
    assert target["rule"] == ids(default_stack, "aws_cloudwatch_event_rule", f"job-{JOB}_schedule_rule", "name")
    assert target["arn"] == ids(default_stack, "aws_sfn_state_machine", f"job-{JOB}_state-machine", "arn")
    assert target["role_arn"] == ids(default_stack, "aws_iam_role", f"job-{JOB}_schedule_role", "arn")
    _, disabled = job_resource(multi_stack, "aws_cloudwatch_event_rule", "every-5-minutes", "schedule_rule")
    assert disabled["state"] == "DISABLED"
    assert disabled["schedule_expression"] == "rate(5 minutes)"


ALARM = {
    "statistic": "Sum",
    "period": 300,
    "evaluation_periods": 1,
    "threshold": 1,
    "comparison_operator": "GreaterThanOrEqualToThreshold",
    "treat_missing_data": "notBreaching",
}


@pytest.mark.parametrize(
    ("metric", "suffix"),
    [
        ("ExecutionsFailed", "failed-runs"),
        ("ExecutionsTimedOut", "timed-out-runs"),
        ("ExecutionsAborted", "aborted-runs"),
    ],
)
def test_run_alarms_notify_the_topic(default_stack, metric, suffix):
    _, alarm = job_resource(default_stack, "aws_cloudwatch_metric_alarm", JOB, f"alarms_{suffix}")
    alarm = dict(alarm)  # the synthesized stack is shared by the session
    description = alarm.pop("alarm_description")
    assert description.startswith(f"A run of {JOB} ")
    assert alarm == {
        **ALARM,
        "alarm_name": f"{NAME}-{suffix}",
        "namespace": "AWS/States",
        "metric_name": metric,
        "dimensions": {
            "StateMachineArn": ids(default_stack, "aws_sfn_state_machine", f"job-{JOB}_state-machine", "arn")
        },
        "alarm_actions": [ids(default_stack, "aws_sns_topic", "alert-topic", "arn")],
    }


@pytest.mark.parametrize(("metric", "suffix"), [("Errors", "errors"), ("Throttles", "throttles")])
def test_alert_function_alarms_notify_the_topic(default_stack, metric, suffix):
    _, alarm = named(default_stack, "aws_cloudwatch_metric_alarm", f"alert-alarms_{suffix}")
    alarm = dict(alarm)
    assert alarm.pop("alarm_description").startswith("The alert Lambda ")
    assert alarm == {
        **ALARM,
        "alarm_name": f"scheduled-jobs-alert-{suffix}",
        "namespace": "AWS/Lambda",
        "metric_name": metric,
        "dimensions": {"FunctionName": ids(default_stack, "aws_lambda_function", "alert_function", "function_name")},
        "alarm_actions": [ids(default_stack, "aws_sns_topic", "alert-topic", "arn")],
    }


def test_every_alarm_notifies_the_one_topic(multi_stack):
    topic = ids(multi_stack, "aws_sns_topic", "alert-topic", "arn")
    alarms = resources(multi_stack, "aws_cloudwatch_metric_alarm").values()
    assert sorted(alarm["metric_name"] for alarm in alarms) == sorted(
        ["ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"] * 4
        + ["Errors", "Throttles", "NumberOfMessagesSent", "ApproximateNumberOfMessagesVisible"]
        + ["Invocations", "Errors"]  # the watchdog's
    )
    assert {json.dumps(alarm["alarm_actions"]) for alarm in alarms} == {json.dumps([topic])}


# --- names that fit -------------------------------------------------------------------------------

LIMITS = {
    ("aws_iam_role", "name"): 64,
    ("aws_sfn_state_machine", "name"): 80,
    ("aws_cloudwatch_event_rule", "name"): 64,
    ("aws_lambda_function", "function_name"): 64,
    ("aws_ecs_task_definition", "family"): 255,
    ("aws_security_group", "name"): 255,
    ("aws_cloudwatch_metric_alarm", "alarm_name"): 255,
    ("aws_sns_topic", "name"): 256,
}


@pytest.mark.parametrize(("kind", "field"), sorted(LIMITS))
def test_every_name_fits_its_limit_even_for_a_64_character_job(multi_stack, kind, field):
    names = [body[field] for body in resources(multi_stack, kind).values()]
    assert names, f"no {kind}"
    assert all(len(name) <= LIMITS[(kind, field)] for name in names), names
    assert len(set(names)) == len(names)


def test_long_names_keep_a_readable_start(multi_stack):
    job = "idempotent-sync-job-with-a-name-that-uses-all-sixty-four-chars-x"
    _, role = job_resource(multi_stack, "aws_iam_role", job, "state-machine_role")
    assert len(role["name"]) == 64
    assert role["name"].startswith("batch-idempotent-sync-job-with-a-name-that-uses-all-")
    _, machine = job_resource(multi_stack, "aws_sfn_state_machine", job, "state-machine")
    assert machine["name"] == f"batch-{job}"


def test_outputs_name_the_alert_path(default_stack):
    alert_outputs = ("region", "alert_function_name", "alert_topic_arn")
    assert {key: default_stack["output"][key] for key in alert_outputs} == {
        "region": {"description": "The stack's region", "value": data_ref(default_stack, "aws_region", "region")},
        "alert_function_name": {
            "description": "The alert Lambda",
            "value": ids(default_stack, "aws_lambda_function", "alert_function", "function_name"),
        },
        "alert_topic_arn": {
            "description": "Alerts and alarms are published here: subscribe e-mail, SMS or HTTPS endpoints to it",
            "value": ids(default_stack, "aws_sns_topic", "alert-topic", "arn"),
        },
    }


# --- runs that end without reaching the alert step ------------------------------------------------


def test_ended_early_rule_matches_this_state_machines_aborted_and_timed_out_executions(default_stack):
    _, rule = job_resource(default_stack, "aws_cloudwatch_event_rule", JOB, "ended-early_rule")
    assert rule["name"] == f"{NAME}-ended-early"
    assert json.loads(rule["event_pattern"]) == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {
            "status": ["ABORTED", "TIMED_OUT"],
            "stateMachineArn": [ids(default_stack, "aws_sfn_state_machine", f"job-{JOB}_state-machine", "arn")],
        },
    }
    assert "schedule_expression" not in rule


def test_ended_early_rule_invokes_the_alert_function_once_per_channel(default_stack, multi_stack):
    for stack, channels in ((default_stack, ["email", "log"]), (multi_stack, ["chatwork", "email", "log", "slack"])):
        job = JOB if stack is default_stack else "nightly-report"
        rule = ids(stack, "aws_cloudwatch_event_rule", f"job-{job}_ended-early_rule", "name")
        targets = {
            body["target_id"]: body
            for name, body in resources(stack, "aws_cloudwatch_event_target").items()
            if name.startswith(f"job-{job}_ended-early_")
        }
        assert sorted(targets) == [f"alert-{channel}" for channel in channels]
        function = ids(stack, "aws_lambda_function", "alert_function", "arn")
        for channel in channels:
            target = targets[f"alert-{channel}"]
            assert (target["rule"], target["arn"]) == (rule, function)
            assert target["retry_policy"] == {"maximum_event_age_in_seconds": 3600, "maximum_retry_attempts": 20}
            assert target["input_transformer"]["input_paths"] == {
                "execution": "$.detail.executionArn",
                "stateMachine": "$.detail.stateMachineArn",
                "status": "$.detail.status",
                "startDate": "$.detail.startDate",
                "stopDate": "$.detail.stopDate",
            }
            assert f'"channel": "{channel}"' in target["input_transformer"]["input_template"]


def test_only_its_rule_may_invoke_the_alert_function(default_stack):
    _, permission = job_resource(default_stack, "aws_lambda_permission", JOB, "ended-early_permission")
    assert permission == {
        "statement_id": f"{NAME}-ended-early",
        "action": "lambda:InvokeFunction",
        "function_name": ids(default_stack, "aws_lambda_function", "alert_function", "function_name"),
        "principal": "events.amazonaws.com",
        "source_arn": ids(default_stack, "aws_cloudwatch_event_rule", f"job-{JOB}_ended-early_rule", "arn"),
        "source_account": data_ref(default_stack, "aws_caller_identity", "account_id"),
    }
    # The only other permissions are the watchdog's, for its own two rules.
    others = [body for body in resources(default_stack, "aws_lambda_permission").values() if body != permission]
    assert [(body["statement_id"], body["function_name"]) for body in others] == [
        (rule, ids(default_stack, "aws_lambda_function", "watchdog_function", "function_name"))
        for rule in ("scheduled-jobs-watchdog-recovered", "scheduled-jobs-watchdog-tick")
    ]


def test_exit_codes_are_read_from_the_parsed_task_only_where_codes_are_declared(default_stack, multi_stack):
    plain = definition(default_stack, JOB)["States"]["RunJob"]
    assert not {"ReadExitCode", "MatchExitCode", "IsExitRetryable", "RetryableExit"} & set(
        plain["Branches"][0]["States"]
    )
    assert plain["Branches"][0]["States"]["ReadStoppedTask"]["Parameters"] == {
        "Error.$": "$.Failure.Error",
        "Cause.$": "$.Failure.Cause",
        "Task.$": "States.StringToJson($.Failure.Cause)",
    }
    nightly = definition(multi_stack, "nightly-report")["States"]["RunJob"]
    states = nightly["Branches"][0]["States"]
    assert states["MatchExitCode"]["Parameters"] == {"Exited75.$": "States.ArrayContains($.Exit.Codes, 75)"}
    assert states["IsExitRetryable"]["Choices"] == [
        {"Variable": "$.Exit.Matches.Exited75", "BooleanEquals": True, "Next": "RetryableExit"}
    ]
    assert nightly["Retry"][0]["ErrorEquals"] == [
        "AmazonECS.Unknown",
        "ECS.AmazonECSException",
        "Job.TaskFailedToStart",
        "Job.RetryableExit",
    ]
    sync = definition(multi_stack, "idempotent-sync-job-with-a-name-that-uses-all-sixty-four-chars-x")["States"]
    (choice,) = sync["RunJob"]["Branches"][0]["States"]["IsExitRetryable"]["Choices"]
    assert choice["Or"] == [
        {"Variable": "$.Exit.Matches.Exited75", "BooleanEquals": True},
        {"Variable": "$.Exit.Matches.Exited69", "BooleanEquals": True},
    ]
    assert sync["RunJob"]["Retry"][1]["ErrorEquals"] == ["Job.TaskFailed", "Job.SpotInterrupted"]


# --- capacity ----------------------------------------------------------------------------------------


def test_a_second_capacity_source_is_a_second_stage_with_its_own_states(default_stack, multi_stack):
    assert "aws_ecs_cluster_capacity_providers" not in default_stack["resource"]
    _, providers = named(multi_stack, "aws_ecs_cluster_capacity_providers", "cluster_capacity-providers")
    assert providers == {
        "cluster_name": ids(multi_stack, "aws_ecs_cluster", "cluster", "name"),
        "capacity_providers": ["FARGATE", "FARGATE_SPOT"],
    }
    states = definition(multi_stack, "thumbnails")["States"]
    assert [name for name in states if name.startswith("RunJob")] == ["RunJob", "RunJobOnFargateSpot"]
    assert states["RunJob"]["Catch"] == [
        {
            "ErrorEquals": ["AmazonECS.Unknown", "ECS.AmazonECSException"],
            "ResultPath": "$.Failure",
            "Next": "RunJobOnFargateSpot",
        },
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.Failure", "Next": "NotifyFailure"},
    ]
    assert states["RunJobOnFargateSpot"]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.Failure", "Next": "NotifyFailure"}
    ]
    assert states["RunJobOnFargateSpot"]["Retry"] == states["RunJob"]["Retry"]
    (spot_branch,) = states["RunJobOnFargateSpot"]["Branches"]
    assert spot_branch["StartAt"] == "RunTaskOnFargateSpot"
    assert all(name.endswith("OnFargateSpot") for name in spot_branch["States"])
    spot = spot_branch["States"]["RunTaskOnFargateSpot"]["Parameters"]
    assert spot["CapacityProviderStrategy"] == [{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}]
    assert "LaunchType" not in spot
    (first_branch,) = states["RunJob"]["Branches"]
    assert first_branch["States"]["RunTask"]["Parameters"]["LaunchType"] == "FARGATE"
    # State names are unique across the whole state machine, branches included.
    names = list(states)
    for stage in ("RunJob", "RunJobOnFargateSpot"):
        names += list(states[stage]["Branches"][0]["States"])
    names += [n for branch in states["NotifyFailure"]["Branches"] for n in branch["States"]]
    assert len(names) == len(set(names))


# --- delivery that is never dropped, and schedules in a time zone ----------------------------------


def test_rule_target_names_the_job_and_its_time_retries_for_a_period_and_has_a_dead_letter_queue(default_stack):
    _, target = job_resource(default_stack, "aws_cloudwatch_event_target", JOB, "schedule_target")
    assert target["input_transformer"] == {
        "input_paths": {"time": "$.time"},
        "input_template": '{"job": "run-once-a-hour", "scheduledTime": "<time>"}',
    }
    # cron(0 * * * ? *) runs hourly: a start is retried for at most that hour.
    assert target["retry_policy"] == {"maximum_event_age_in_seconds": 3600, "maximum_retry_attempts": 20}
    assert target["dead_letter_config"] == {"arn": ids(default_stack, "aws_sqs_queue", "undelivered_queue", "arn")}


def test_dead_letter_queue_takes_only_the_stacks_rules_and_alarms_when_it_holds_a_message(default_stack):
    _, queue = named(default_stack, "aws_sqs_queue", "undelivered_queue")
    assert queue == {
        "name": "scheduled-jobs-undelivered",
        "sqs_managed_sse_enabled": True,
        "message_retention_seconds": 14 * 86400,
        "visibility_timeout_seconds": 360,  # six times the alert Lambda's 60 s, as Lambda asks
    }
    assert "fifo_queue" not in queue  # a FIFO queue cannot be a dead-letter queue
    _, body = named(default_stack, "aws_sqs_queue_policy", "undelivered_policy")
    arn_ = ids(default_stack, "aws_sqs_queue", "undelivered_queue", "arn")
    assert body["queue_url"] == ids(default_stack, "aws_sqs_queue", "undelivered_queue", "url")
    assert policy(body)["Statement"] == [
        {
            "Sid": "StackRulesSendUndeliveredEvents",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": arn_,
            "Condition": {
                "StringEquals": {"aws:SourceAccount": data_ref(default_stack, "aws_caller_identity", "account_id")},
                # Each rule of the stack by name: a stack named scheduled-jobs-x is not let in.
                "ArnLike": {
                    "aws:SourceArn": [
                        arn(default_stack, "events", "rule/scheduled-jobs-run-once-a-hour"),
                        arn(default_stack, "events", "rule/scheduled-jobs-run-once-a-hour-ended-early"),
                    ]
                },
            },
        },
        {
            "Sid": "DenyWithoutTls",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:*",
            "Resource": arn_,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    ]
    _, alarm = named(default_stack, "aws_cloudwatch_metric_alarm", "undelivered-alarm")
    alarm = dict(alarm)
    assert alarm.pop("alarm_description").startswith("A scheduled run (or an alert for one) could not be started")
    assert alarm == {
        **ALARM,
        "alarm_name": "scheduled-jobs-undelivered-messages",
        "namespace": "AWS/SQS",
        # Each message sent alarms again, however fast the Lambda reads and deletes it.
        "metric_name": "NumberOfMessagesSent",
        "dimensions": {"QueueName": ids(default_stack, "aws_sqs_queue", "undelivered_queue", "name")},
        "alarm_actions": [ids(default_stack, "aws_sns_topic", "alert-topic", "arn")],
    }
    for name, target in resources(default_stack, "aws_cloudwatch_event_target").items():
        if name.startswith("watchdog_"):  # a watchdog event in this queue would read as a failed start
            assert "dead_letter_config" not in target
            continue
        assert target["dead_letter_config"] == {"arn": arn_}, name  # the ended-early targets too


def mappings(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The event source mappings, by the queue they read."""
    return {body["event_source_arn"]: body for body in resources(stack, "aws_lambda_event_source_mapping").values()}


def test_the_alert_function_reads_the_dead_letter_queue(default_stack):
    """Every failed start alerts on every channel: the alert Lambda consumes the queue, ten messages
    at a time, answering which ones to deliver again, after its role's policy exists."""
    mapping = mappings(default_stack)[ids(default_stack, "aws_sqs_queue", "undelivered_queue", "arn")]
    assert mapping == {
        "event_source_arn": ids(default_stack, "aws_sqs_queue", "undelivered_queue", "arn"),
        "function_name": ids(default_stack, "aws_lambda_function", "alert_function", "arn"),
        "batch_size": 10,
        "function_response_types": ["ReportBatchItemFailures"],
        "scaling_config": {"maximum_concurrency": 2},
        "depends_on": [f"aws_iam_role_policy.{named(default_stack, 'aws_iam_role_policy', 'alert_role_policy')[0]}"],
    }


def test_the_alert_function_delivers_the_alert_queue_in_groups(default_stack, multi_stack):
    """What arrives within [alert] group_seconds (30 by default; 20 in multi.toml) is one
    invocation: up to 1,000 messages, two invocations at a time, with partial batch responses."""
    for stack, window in ((default_stack, 30), (multi_stack, 20)):
        mapping = mappings(stack)[ids(stack, "aws_sqs_queue", "alert-queue_waiting", "arn")]
        assert mapping == {
            "event_source_arn": ids(stack, "aws_sqs_queue", "alert-queue_waiting", "arn"),
            "function_name": ids(stack, "aws_lambda_function", "alert_function", "arn"),
            "batch_size": 1000,
            "maximum_batching_window_in_seconds": window,
            "function_response_types": ["ReportBatchItemFailures"],
            "scaling_config": {"maximum_concurrency": 2},
            "depends_on": [f"aws_iam_role_policy.{named(stack, 'aws_iam_role_policy', 'alert_role_policy')[0]}"],
        }


def test_the_alert_queue_keeps_trying_for_more_than_a_day_then_sets_aside(default_stack):
    """Encrypted, kept 4 days, back after 15 minutes unless the function says sooner, and moved to
    its dead-letter queue on the 321st receive: 320 x 900 s >= 86,400 s (the function's own waits,
    5 minutes at most, still add up to more than a day: tests/test_delivery.py)."""
    _, queue = named(default_stack, "aws_sqs_queue", "alert-queue_waiting")
    _, dead_letter = named(default_stack, "aws_sqs_queue", "alert-queue_dead-letter")
    queue = dict(queue)  # the session's stack is shared: never change it
    redrive = json.loads(queue.pop("redrive_policy"))
    assert queue == {
        "name": "scheduled-jobs-alert-queue",
        "sqs_managed_sse_enabled": True,
        "message_retention_seconds": 4 * 86400,
        "visibility_timeout_seconds": 900,
    }
    assert redrive == {
        "deadLetterTargetArn": ids(default_stack, "aws_sqs_queue", "alert-queue_dead-letter", "arn"),
        "maxReceiveCount": 320,
    }
    assert redrive["maxReceiveCount"] * queue["visibility_timeout_seconds"] >= 86400
    assert dead_letter == {
        "name": "scheduled-jobs-alert-queue-undeliverable",
        "sqs_managed_sse_enabled": True,
        "message_retention_seconds": 14 * 86400,
    }


def test_the_alert_queues_refuse_requests_without_tls(default_stack):
    for path in ("alert-queue_policy", "alert-queue_dead-letter-policy"):
        _, body = named(default_stack, "aws_sqs_queue_policy", path)
        queue = "alert-queue_waiting" if path == "alert-queue_policy" else "alert-queue_dead-letter"
        assert body["queue_url"] == ids(default_stack, "aws_sqs_queue", queue, "url")
        assert policy(body) == {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyWithoutTls",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sqs:*",
                    "Resource": ids(default_stack, "aws_sqs_queue", queue, "arn"),
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }


def test_an_alert_in_the_alert_dead_letter_queue_alarms_to_the_topic(default_stack):
    _, alarm = named(default_stack, "aws_cloudwatch_metric_alarm", "undeliverable-alarm")
    assert alarm == {
        "alarm_name": "scheduled-jobs-alert-queue-undeliverable-messages",
        "alarm_description": "An alert could not be delivered to its channel (tried for more than 24 hours, or "
        "refused): the alert function's log says why, and SQS queue scheduled-jobs-alert-queue-undeliverable keeps "
        "the alert",
        "namespace": "AWS/SQS",
        "metric_name": "ApproximateNumberOfMessagesVisible",
        "dimensions": {"QueueName": ids(default_stack, "aws_sqs_queue", "alert-queue_dead-letter", "name")},
        "statistic": "Maximum",
        "period": 300,
        "evaluation_periods": 1,
        "threshold": 1,
        "comparison_operator": "GreaterThanOrEqualToThreshold",
        "treat_missing_data": "notBreaching",
        "alarm_actions": [ids(default_stack, "aws_sns_topic", "alert-topic", "arn")],
    }


def test_a_job_with_a_timezone_is_a_scheduler_schedule_in_the_stacks_group(multi_stack, default_stack):
    assert "aws_scheduler_schedule_group" not in default_stack["resource"]
    job = "nightly-report"
    assert [n for n in resources(multi_stack, "aws_cloudwatch_event_rule") if n.startswith(f"job-{job}_schedule")] == []
    _, group = named(multi_stack, "aws_scheduler_schedule_group", "schedule-group")
    assert group == {"name": "batch"}
    _, schedule = job_resource(multi_stack, "aws_scheduler_schedule", job, "schedule")
    assert schedule == {
        "name": f"batch-{job}",
        "group_name": ids(multi_stack, "aws_scheduler_schedule_group", "schedule-group", "name"),
        "description": f"Starts job {job}",
        "schedule_expression": "cron(0 8 ? * MON-FRI *)",
        "schedule_expression_timezone": "Asia/Tokyo",
        "state": "ENABLED",
        "flexible_time_window": {"mode": "FLEXIBLE", "maximum_window_in_minutes": 15},
        "target": {
            "arn": ids(multi_stack, "aws_sfn_state_machine", f"job-{job}_state-machine", "arn"),
            "role_arn": ids(multi_stack, "aws_iam_role", f"job-{job}_schedule_role", "arn"),
            "input": '{"job": "nightly-report", "scheduleExecutionId": "<aws.scheduler.execution-id>", '
            '"scheduledTime": "<aws.scheduler.scheduled-time>"}',
            "retry_policy": {"maximum_event_age_in_seconds": 3600, "maximum_retry_attempts": 20},
            "dead_letter_config": {"arn": ids(multi_stack, "aws_sqs_queue", "undelivered_queue", "arn")},
        },
    }


def test_scheduler_role_is_trusted_for_the_stacks_group_and_may_start_one_state_machine(multi_stack):
    job = "nightly-report"
    role, statement = trust(multi_stack, f"job-{job}_schedule_role")
    assert role["name"] == f"batch-{job}-scheduler"
    assert statement == {
        "Effect": "Allow",
        "Principal": {"Service": "scheduler.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": data_ref(multi_stack, "aws_caller_identity", "account_id")},
            "ArnLike": {"aws:SourceArn": arn(multi_stack, "scheduler", "schedule-group/batch")},
        },
    }
    _, body = job_resource(multi_stack, "aws_iam_role_policy", job, "schedule_role_policy")
    assert policy(body)["Statement"] == [
        {
            "Sid": "StartJob",
            "Effect": "Allow",
            "Action": ["states:StartExecution"],
            "Resource": [ids(multi_stack, "aws_sfn_state_machine", f"job-{job}_state-machine", "arn")],
        },
        {
            "Sid": "SendToDeadLetterQueue",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": [ids(multi_stack, "aws_sqs_queue", "undelivered_queue", "arn")],
        },
    ]


def test_a_disabled_job_keeps_its_schedule_disabled(multi_stack):
    _, rule = job_resource(multi_stack, "aws_cloudwatch_event_rule", "every-5-minutes", "schedule_rule")
    assert rule["state"] == "DISABLED"
    _, target = job_resource(multi_stack, "aws_cloudwatch_event_target", "every-5-minutes", "schedule_target")
    assert target["retry_policy"] == {"maximum_event_age_in_seconds": 300, "maximum_retry_attempts": 20}


def test_past_sqs_s_policy_size_the_queue_names_the_stack_s_rules_by_their_prefix():
    """SQS refuses a queue policy over 8,192 bytes: some 75 rule ARNs of this length (35 jobs) fit,
    counting each at its longest resolved length (93 bytes here) and 1 KiB for the rest."""
    from constructs_lib.documents.resource_policies import rule_arns_fit_a_queue_policy

    names = [f"scheduled-jobs-job-{n:03d}-ended-early" for n in range(200)]
    assert rule_arns_fit_a_queue_policy(names[:77])  # 1,024 + 77 x 93 = 8,185 bytes
    assert not rule_arns_fit_a_queue_policy(names[:78])  # 8,278


# --- the watchdog -----------------------------------------------------------------------------------

SYNC_JOB = "idempotent-sync-job-with-a-name-that-uses-all-sixty-four-chars-x"


def test_the_watchdog_runs_every_5_minutes_with_its_own_narrow_role(multi_stack):
    _, function = named(multi_stack, "aws_lambda_function", "watchdog_function")
    assert function["handler"] == "lambda_src.watchdog.handler"
    assert function["environment"] == {
        "variables": {
            "STACK_NAME": "batch",
            "ALERT_QUEUE_URL": ids(multi_stack, "aws_sqs_queue", "alert-queue_waiting", "url"),
            "ALERT_CHANNELS": "email,slack,chatwork",
            "UNDELIVERED_QUEUE_URL": ids(multi_stack, "aws_sqs_queue", "undelivered_queue", "url"),
        }
    }
    assert (function["timeout"], function["reserved_concurrent_executions"]) == (60, 2)
    _, rule = named(multi_stack, "aws_cloudwatch_event_rule", "watchdog_tick-rule")
    assert rule == {
        "name": "batch-watchdog-tick",
        "description": "Every 5 minutes: look for scheduled runs that did not start",
        "schedule_expression": "rate(5 minutes)",
    }
    _, body = named(multi_stack, "aws_iam_role_policy", "watchdog_role_policy")
    # The enabled jobs only (every-5-minutes is disabled), each by name; nothing it could change.
    statements = statements_by_sid(policy(body))
    assert statements["ListRuns"]["Action"] == ["states:ListExecutions"]
    assert statements["ListRuns"]["Resource"] == [
        arn(multi_stack, "states", f"stateMachine:batch-{job}") for job in ("nightly-report", SYNC_JOB, "thumbnails")
    ]
    assert statements["ReadRules"] == {
        "Sid": "ReadRules",
        "Effect": "Allow",
        "Action": ["events:DescribeRule", "events:ListTargetsByRule"],
        "Resource": [
            arn(multi_stack, "events", "rule/batch-idempotent-sync-job-with-a-name-that-uses-all-six-3e432595"),
            arn(multi_stack, "events", "rule/batch-thumbnails"),
        ],
    }
    assert statements["ReadSchedules"]["Action"] == ["scheduler:GetSchedule"]
    assert statements["ReadSchedules"]["Resource"] == [
        arn(multi_stack, "scheduler", "schedule/batch/batch-nightly-report")
    ]
    assert statements["CountUndelivered"]["Action"] == ["sqs:GetQueueAttributes"]
    assert statements["CountUndelivered"]["Resource"] == [ids(multi_stack, "aws_sqs_queue", "undelivered_queue", "arn")]
    assert statements["QueueAlerts"]["Action"] == ["sqs:SendMessage"]
    assert statements["QueueAlerts"]["Resource"] == [ids(multi_stack, "aws_sqs_queue", "alert-queue_waiting", "arn")]
    assert sorted(statements) == sorted(
        ["WriteLogs", "ListRuns", "ReadRules", "ReadSchedules", "CountUndelivered", "QueueAlerts", "WriteTraces"]
    )


def test_a_run_of_the_stack_that_succeeded_reaches_the_watchdog(default_stack):
    _, rule = named(default_stack, "aws_cloudwatch_event_rule", "watchdog_recovered-rule")
    assert json.loads(rule["event_pattern"]) == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {
            "status": ["SUCCEEDED"],
            "stateMachineArn": [{"prefix": arn(default_stack, "states", "stateMachine:scheduled-jobs-")}],
        },
    }
    for path in ("watchdog_recovered", "watchdog_tick"):
        _, target = named(default_stack, "aws_cloudwatch_event_target", f"{path}-target")
        assert target == {
            "rule": ids(default_stack, "aws_cloudwatch_event_rule", f"{path}-rule", "name"),
            "target_id": "watchdog",
            "arn": ids(default_stack, "aws_lambda_function", "watchdog_function", "arn"),
        }
        _, permission = named(default_stack, "aws_lambda_permission", f"{path}-permission")
        assert permission["source_arn"] == ids(default_stack, "aws_cloudwatch_event_rule", f"{path}-rule", "arn")
        assert permission["principal"] == "events.amazonaws.com"


def test_the_watchdog_is_watched(default_stack):
    name = ids(default_stack, "aws_lambda_function", "watchdog_function", "function_name")
    topic = ids(default_stack, "aws_sns_topic", "alert-topic", "arn")
    _, silent = named(default_stack, "aws_cloudwatch_metric_alarm", "watchdog-alarms_silent")
    _, failing = named(default_stack, "aws_cloudwatch_metric_alarm", "watchdog-alarms_failing")
    common = {"namespace": "AWS/Lambda", "dimensions": {"FunctionName": name}, "statistic": "Sum", "period": 300,
              "evaluation_periods": 3, "threshold": 1, "alarm_actions": [topic]}  # fmt: skip
    assert silent == {
        **common,
        "alarm_name": "scheduled-jobs-watchdog-silent",
        "alarm_description": "The watchdog was not invoked for 15 minutes: missed runs would not be reported",
        "metric_name": "Invocations",
        "comparison_operator": "LessThanThreshold",
        "treat_missing_data": "breaching",  # not invoked: no data at all
    }
    assert failing == {
        **common,
        "alarm_name": "scheduled-jobs-watchdog-failing",
        "alarm_description": "The watchdog failed for 15 minutes: see its log; missed runs may not be reported",
        "metric_name": "Errors",
        "comparison_operator": "GreaterThanOrEqualToThreshold",
        "treat_missing_data": "notBreaching",
    }
