"""The pure builders behind the alert path, without a synth: the alert step, the ended-early
rule's documents, the IAM table's alert entries and the key and topic policies."""

from __future__ import annotations

import json

import pytest

from constructs_lib.documents.asl_alert import AlertJob, render_alert_branch, render_notify_failure
from constructs_lib.documents.execution_events import (
    alert_input_template,
    ended_early_pattern,
    is_succeeded_pattern,
    succeeded_pattern,
)
from constructs_lib.documents.iam import render_statements
from constructs_lib.documents.resource_policies import alert_key_policy, alert_topic_policy
from constructs_lib.model.retry_policy import RetryPolicy
from lambda_src.message import describe

JOB = AlertJob.of(
    stack_name="batch",
    job_name="report",
    retry=RetryPolicy(max_attempts=3, interval_seconds=1, backoff_rate=2.0),
    timeout_seconds=600,
    log_group_name="/ecs/batch-report",
)


def test_alert_job_counts_the_first_launch_in_its_budget():
    assert JOB.launch_budget == 4
    assert JOB.static_fields("slack") == {
        "channel": "slack",
        "stack": "batch",
        "job": "report",
        "launchBudget": 4,
        "timeoutSeconds": 600,
        "logGroup": "/ecs/batch-report",
        "logStreamPrefix": "job/app",
        "capacity": ["FARGATE"],
    }


@pytest.mark.parametrize("channels", [(), ("log", "pager"), ("sms",)])
def test_the_alert_step_takes_only_known_channels(channels):
    with pytest.raises(ValueError, match=r"^alert channels .* allowed a non-empty selection of \('log', 'email', "):
        render_notify_failure(partition="aws", job=JOB, alert_function_arn="fn", channels=channels)


def test_an_alert_branch_retries_transient_errors_and_ends_either_way():
    branch = render_alert_branch(partition="aws", channel="chatwork", job=JOB, alert_function_arn="fn")
    assert branch["StartAt"] == "AlertChatwork"
    task = branch["States"]["AlertChatwork"]
    (retry,) = task["Retry"]
    assert "AlertDeliveryError" in retry["ErrorEquals"]
    assert "AlertRejectedError" not in retry["ErrorEquals"]
    assert (retry["IntervalSeconds"], retry["MaxAttempts"], retry["BackoffRate"]) == (2, 6, 2.0)
    assert task["End"] is True
    assert branch["States"]["AlertChatworkUndelivered"] == {"Type": "Pass", "End": True}


def test_the_input_template_is_json_once_its_placeholders_are_filled():
    template = alert_input_template(channel="log", job=JOB)
    filled = (
        template.replace("<status>", "ABORTED")
        .replace("<execution>", "arn:x")
        .replace("<stateMachine>", "arn:m")
        .replace("<startDate>", "1000")
        .replace("<stopDate>", "2000")
    )
    payload = json.loads(filled)
    assert (payload["startTime"], payload["gaveUpAt"]) == (1000, 2000)  # numbers, not strings
    assert payload["error"] == "Execution.ABORTED"
    assert describe(payload).title == "[batch] report failed: the run was aborted"


def test_the_ended_early_pattern_names_one_state_machine():
    assert ended_early_pattern("arn:m")["detail"] == {"status": ["ABORTED", "TIMED_OUT"], "stateMachineArn": ["arn:m"]}


def test_ssm_read_statements_scope_decryption_to_the_parameters():
    statements = render_statements(
        "ssm:read", parameters=["arn:p1", "arn:p2"], account_keys="arn:keys/*", ssm_service="ssm.r.amazonaws.com"
    )
    assert statements == [
        {
            "Sid": "ReadAlertSecrets",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter"],
            "Resource": ["arn:p1", "arn:p2"],
        },
        {
            "Sid": "DecryptAlertSecrets",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": ["arn:keys/*"],
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": "ssm.r.amazonaws.com",
                    "kms:EncryptionContext:PARAMETER_ARN": ["arn:p1", "arn:p2"],
                }
            },
        },
    ]


def test_key_and_topic_policies_let_only_this_accounts_alarms_in():
    key = alert_key_policy(account_root="arn:root", account_id="111", alarm_arns="arn:alarm:*")
    topic = alert_topic_policy(topic_arn="arn:topic", account_id="111", alarm_arns="arn:alarm:*")
    for document in (key, topic):
        (service,) = [s for s in document["Statement"] if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
        assert service["Condition"] == {
            "StringEquals": {"aws:SourceAccount": "111"},
            "ArnLike": {"aws:SourceArn": "arn:alarm:*"},
        }


@pytest.mark.parametrize(
    ("reason", "said"),
    [
        ("CannotPullContainerError: pull image manifest has been retried 5 time(s)", "the image could not be pulled"),
        (
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed",
            "its secrets could not be fetched",
        ),
        (
            "Timeout waiting for network interface provisioning to complete.",
            "its network interface could not be set up",
        ),
        (
            "ResourceInitializationError: failed to validate logger args: access denied",
            "its resources could not be set up",
        ),
        ("Task failed to start: permission denied", None),  # 'denied' holds 'eni': no network guess
    ],
)
def test_a_task_that_never_started_says_what_it_was_stuck_on(reason, said):
    cause = json.dumps({"TaskArn": "arn:t", "StopCode": "TaskFailedToStart", "StoppedReason": reason})
    what = describe({"job": "report", "error": "Job.TaskFailedToStart", "cause": cause}).what
    expected = f"The task never started ({said})" if said else "The task never started, after"
    assert what.startswith(expected)


def test_a_condition_names_a_given_value_or_says_it_is_fixed():
    from constructs_lib.documents import iam

    assert render_statements("sfn:listExecutions", state_machine="arn:m") == [
        {"Sid": "ListOwnExecutions", "Effect": "Allow", "Action": ["states:ListExecutions"], "Resource": ["arn:m"]}
    ]
    misspelt = iam.Need("X", ("ecs:RunTask",), "task_definition", {"ArnEquals": {"ecs:cluster": "clustre"}})
    table = {**iam.INTEGRATIONS, "test:misspelt": (misspelt,)}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(iam, "INTEGRATIONS", table)
        with pytest.raises(KeyError, match="test:misspelt needs the value 'clustre' for a condition"):
            render_statements("test:misspelt", task_definition="arn:td", cluster="arn:c")
    passed = render_statements(
        "ecs:runTask.sync", task_definition="td", cluster="c", cluster_tasks="t", task_roles=["r"], sync_rule="s"
    )
    assert passed[2]["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}


def test_the_review_page_tells_the_recovery_rule_from_the_ended_early_one():
    assert succeeded_pattern("arn:aws:states:r:1:stateMachine:batch-") == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"status": ["SUCCEEDED"], "stateMachineArn": [{"prefix": "arn:aws:states:r:1:stateMachine:batch-"}]},
    }
    assert is_succeeded_pattern(succeeded_pattern("p")) is True
    assert is_succeeded_pattern(ended_early_pattern("arn:aws:states:r:1:stateMachine:batch-x")) is False
