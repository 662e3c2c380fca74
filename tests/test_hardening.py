"""The stack-wide switches of [stack] and [network]: tracing, Container Insights, a KMS key for the
logs, VPC flow logs. Off in the default stack, all on in the multi-job stack."""

from __future__ import annotations

from stack_helpers import arn, data_ref, ids, named, policy, resources, statements_by_sid, trust

XRAY = {
    "Sid": "WriteTraces",
    "Effect": "Allow",
    "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"],
    "Resource": ["*"],
}
MULTI_JOBS = ("nightly-report", "every-5-minutes", "idempotent-sync-job-with-a-name-that-uses-all-sixty-four-chars-x")


def role_statements(stack, path):
    _, body = named(stack, "aws_iam_role_policy", path)
    return statements_by_sid(policy(body))


def test_tracing_is_off_by_default(default_stack):
    (machine,) = resources(default_stack, "aws_sfn_state_machine").values()
    assert "tracing_configuration" not in machine
    functions = resources(default_stack, "aws_lambda_function").values()
    assert sorted(function["function_name"] for function in functions) == [
        "scheduled-jobs-alert",
        "scheduled-jobs-watchdog",
    ]
    assert [function for function in functions if "tracing_config" in function] == []
    for body in resources(default_stack, "aws_iam_role_policy").values():
        assert not any(action.startswith("xray:") for s in policy(body)["Statement"] for action in s["Action"])


def test_tracing_traces_every_state_machine_and_the_alert_lambda(multi_stack):
    machines = resources(multi_stack, "aws_sfn_state_machine")
    assert len(machines) == 4
    for machine in machines.values():
        assert machine["tracing_configuration"] == {"enabled": True}
    for job in MULTI_JOBS:
        assert role_statements(multi_stack, f"job-{job}_state-machine_role_policy")["WriteTraces"] == XRAY
    for path in ("alert_function", "watchdog_function"):
        _, function = named(multi_stack, "aws_lambda_function", path)
        assert function["tracing_config"] == {"mode": "Active"}
    assert role_statements(multi_stack, "alert_role_policy")["WriteTraces"] == XRAY
    assert role_statements(multi_stack, "watchdog_role_policy")["WriteTraces"] == XRAY


def test_container_insights_is_an_explicit_setting(default_stack, multi_stack):
    _, cluster = named(default_stack, "aws_ecs_cluster", "cluster")
    assert cluster["setting"] == [{"name": "containerInsights", "value": "disabled"}]
    _, cluster = named(multi_stack, "aws_ecs_cluster", "cluster")
    assert cluster["setting"] == [{"name": "containerInsights", "value": "enabled"}]


def test_without_log_kms_no_log_group_names_a_key(default_stack):
    groups = resources(default_stack, "aws_cloudwatch_log_group")
    # The job's task, its state machine, the alert Lambda, the watchdog.
    assert sorted(group["name"] for group in groups.values()) == [
        "/aws/lambda/scheduled-jobs-alert",
        "/aws/lambda/scheduled-jobs-watchdog",
        "/aws/vendedlogs/states/scheduled-jobs-run-once-a-hour",
        "/ecs/scheduled-jobs-run-once-a-hour",
    ]
    assert [group for group in groups.values() if "kms_key_id" in group] == []
    assert [key["description"] for key in resources(default_stack, "aws_kms_key").values()] == [
        "Encrypts the alert topic scheduled-jobs-alerts"
    ]


def test_log_kms_encrypts_every_log_group_with_the_stack_s_key(multi_stack):
    key = ids(multi_stack, "aws_kms_key", "log-key", "arn")
    groups = resources(multi_stack, "aws_cloudwatch_log_group")
    # 4 jobs' tasks and state machines, the alert Lambda, the watchdog, the flow logs
    assert len(groups) == 11
    assert {group["kms_key_id"] for group in groups.values()} == {key}  # a KeyError if one has none
    assert sorted(group["name"].split("/")[1] + "/" + group["name"].split("/")[2] for group in groups.values()) == [
        *["aws/lambda"] * 2,
        *["aws/vendedlogs"] * 4,
        *["ecs/batch-every-5-minutes", "ecs/batch-idempotent-sync-job-with-a-name-that-uses-all-sixty-four-chars-x"],
        *["ecs/batch-nightly-report", "ecs/batch-thumbnails"],
        "vpc/batch",
    ]


def test_the_log_key_lets_cloudwatch_logs_use_it_for_this_account_and_region_only(multi_stack):
    _, key = named(multi_stack, "aws_kms_key", "log-key")
    assert key["enable_key_rotation"] is True
    assert key["deletion_window_in_days"] == 30
    region = data_ref(multi_stack, "aws_region", "region")
    assert policy(key)["Statement"] == [
        {
            "Sid": "AccountManagesKeyThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": arn(multi_stack, "iam", "root", regional=False)},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "CloudWatchLogsEncrypt",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{region}.amazonaws.com"},
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
            "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": arn(multi_stack, "logs", "log-group:*")}},
        },
    ]
    _, alias = named(multi_stack, "aws_kms_alias", "log-key_alias")
    assert alias["name"] == "alias/batch-logs"


def test_flow_logs_are_off_by_default(default_stack):
    assert resources(default_stack, "aws_flow_log") == {}


def test_flow_logs_record_all_traffic_of_the_vpc_to_their_log_group(multi_stack):
    _, flow_log = named(multi_stack, "aws_flow_log", "flow-logs_flow-log")
    group = ids(multi_stack, "aws_cloudwatch_log_group", "flow-logs", "arn")
    assert flow_log == {
        "vpc_id": ids(multi_stack, "aws_vpc", "network_vpc"),
        "traffic_type": "ALL",
        "log_destination_type": "cloud-watch-logs",
        "log_destination": group,
        "iam_role_arn": ids(multi_stack, "aws_iam_role", "flow-logs_role", "arn"),
        "max_aggregation_interval": 600,
    }
    _, logs = named(multi_stack, "aws_cloudwatch_log_group", "flow-logs")
    assert (logs["name"], logs["retention_in_days"]) == ("/vpc/batch/flow-logs", 90)
    role, statement = trust(multi_stack, "flow-logs_role")
    assert role["name"] == "batch-flow-logs"
    assert statement == {
        "Effect": "Allow",
        "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": data_ref(multi_stack, "aws_caller_identity", "account_id")},
            "ArnLike": {"aws:SourceArn": arn(multi_stack, "ec2", "vpc-flow-log/*")},
        },
    }
    assert policy(named(multi_stack, "aws_iam_role_policy", "flow-logs_role_policy")[1])["Statement"] == [
        {
            "Sid": "DeliverFlowLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [f"{group}:*"],
        },
        {
            "Sid": "FindFlowLogGroup",
            "Effect": "Allow",
            "Action": ["logs:DescribeLogGroups"],
            "Resource": ["*"],
        },
    ]


def test_a_key_arn_encrypts_the_logs_with_the_user_s_key_and_creates_none(example_stacks):
    stack = example_stacks["existing-vpc-remote-state"]
    key = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    groups = resources(stack, "aws_cloudwatch_log_group")
    assert {group["kms_key_id"] for group in groups.values()} == {key}
    assert [body["description"] for body in resources(stack, "aws_kms_key").values()] == [
        "Encrypts the alert topic team-jobs-alerts"
    ]
