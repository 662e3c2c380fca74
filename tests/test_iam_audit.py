"""Every IAM document of every stack the tests synthesize (the shipped jobs.toml, the four-job stack
with every switch on, each example): linted with parliament, and checked for each narrowing this
project promises, so that none of them erodes unnoticed."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from typing import Any

import pytest
from iam_documents import ACCOUNT, documents
from stack_helpers import resources

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # parliament imports pkg_resources, which warns
    from parliament import analyze_policy_string


@pytest.fixture(scope="module")
def stacks(default_stack, multi_stack, example_stacks) -> dict[str, dict[str, Any]]:
    return {"jobs.toml": default_stack, "multi.toml": multi_stack, **example_stacks}


@dataclass(frozen=True)
class Accepted:
    """A parliament finding this project accepts: its issue, on which kind of document, a text its
    detail contains, and why."""

    issue: str
    kind: str
    detail: str
    reason: str


ACCEPTED = (
    Accepted(
        "MALFORMED",
        "trust",
        "neither Resource nor NotResource",
        "a role's trust policy names no resource: IAM refuses one there",
    ),
    Accepted(
        "RESOURCE_MISMATCH",
        "role",
        "states:ListExecutions",
        "parliament's action table predates ListExecutions on a state machine ARN; AWS's reference lists "
        "stateMachine as its resource (service authorization reference, AWS Step Functions)",
    ),
    Accepted(
        "RESOURCE_STAR",
        "resource",
        "kms:",
        "in a key policy, Resource '*' means the key the policy is attached to",
    ),
    Accepted(
        "PERMISSIONS_MANAGEMENT_ACTIONS",
        "resource",
        "kms:putkeypolicy",
        "AWS's default key statement: the account manages its key through IAM (kms:* for the account root)",
    ),
    Accepted(
        "PERMISSIONS_MANAGEMENT_ACTIONS",
        "role",
        "['iam:passrole', 'logs:putresourcepolicy']",
        "the state machine passes the task's two roles to ECS only (iam:PassedToService), and log delivery "
        "needs logs:PutResourcePolicy, which AWS grants on '*' only",
    ),
    Accepted(
        "CREDENTIALS_EXPOSURE",
        "role",
        "ecr:getauthorizationtoken",
        "pulling a private ECR image needs the registry's token (task execution role)",
    ),
    Accepted(
        "MISMATCHED_TYPE",
        "resource",
        "ArnLike requires a value of type Arn",
        "the log key's condition kms:EncryptionContext:aws:logs:arn holds a log group ARN: AWS's documented "
        "key policy for CloudWatch Logs matches it with ArnLike",
    ),
    Accepted(
        "UNKNOWN_CONDITION_FOR_ACTION",
        "resource",
        "kms:EncryptionContext:aws:logs:arn for action kms:DescribeKey",
        "AWS's documented key policy for CloudWatch Logs puts DescribeKey under the same condition",
    ),
)


def _accepted(issue: str, kind: str, detail: str) -> Accepted | None:
    for accepted in ACCEPTED:
        if (accepted.issue, accepted.kind) == (issue, kind) and accepted.detail in detail:
            return accepted
    return None


def test_parliament_finds_nothing_but_the_accepted_findings(stacks):
    unexpected, used = [], set()
    for stack_name, stack in stacks.items():
        for document in documents(stack):
            text = json.dumps(document.document)
            assert "${" not in text, f"{stack_name} {document.where}: an unresolved reference in {text}"
            for finding in analyze_policy_string(text, include_community_auditors=True).findings:
                detail = f"{finding.detail} {sorted(finding.location.get('actions', []))}"
                accepted = _accepted(finding.issue, document.kind, detail)
                if accepted is None:
                    unexpected.append(f"{stack_name} {document.where}: {finding.issue} {detail}")
                else:
                    used.add(accepted)
    assert unexpected == []
    assert set(ACCEPTED) - used == set()  # each accepted finding still happens: the list stays true


def test_parliament_can_fail():
    """The linter is live: a misspelt action, and a wildcard grant, are reported."""

    def issues(action: str) -> set[str]:
        document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [action], "Resource": "*"}]}
        findings = analyze_policy_string(json.dumps(document), include_community_auditors=True).findings
        return {finding.issue for finding in findings}

    assert issues("s3:GetObjekt") == {"UNKNOWN_ACTION"}
    assert {"RESOURCE_STAR", "PRIVILEGE_ESCALATION"} <= issues("iam:*")


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def test_no_allow_statement_has_a_wildcard_action_but_the_account_s_own_key_statement(stacks):
    for stack_name, stack in stacks.items():
        for document in documents(stack):
            for statement in _statements(document.document):
                if statement["Effect"] != "Allow":
                    continue
                wild = [action for action in _listed(statement["Action"]) if "*" in action]
                if wild:
                    # AWS's default key policy statement, without which the key cannot be managed.
                    assert (document.kind, statement["Sid"], wild) == (
                        "resource",
                        "AccountManagesKeyThroughIam",
                        ["kms:*"],
                    ), f"{stack_name} {document.where}"
                    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}


# Which trust conditions each kind of role carries. The task execution role: ECS documents only the
# account. The alert Lambda's role: Lambda sets no source key when it assumes a function's role.
TRUST_CONDITIONS = {
    "states.amazonaws.com": {"aws:SourceAccount", "aws:SourceArn"},
    "events.amazonaws.com": {"aws:SourceAccount", "aws:SourceArn"},
    "scheduler.amazonaws.com": {"aws:SourceAccount", "aws:SourceArn"},
    "vpc-flow-logs.amazonaws.com": {"aws:SourceAccount", "aws:SourceArn"},
    "lambda.amazonaws.com": set(),
}


def test_every_service_trust_names_its_account_and_source(stacks):
    for stack_name, stack in stacks.items():
        for document in documents(stack):
            if document.kind != "trust":
                continue
            (statement,) = _statements(document.document)
            service = statement["Principal"]["Service"]
            keys = {key for values in statement.get("Condition", {}).values() for key in values}
            if service == "ecs-tasks.amazonaws.com":
                expected = (
                    {"aws:SourceAccount"}
                    if document.where.count("execution-role")
                    else {
                        "aws:SourceAccount",
                        "aws:SourceArn",
                    }
                )
            else:
                expected = TRUST_CONDITIONS[service]
            assert keys == expected, f"{stack_name} {document.where}"
            condition = statement.get("Condition", {})
            if "aws:SourceAccount" in keys:
                assert condition["StringEquals"]["aws:SourceAccount"] == ACCOUNT
            if "aws:SourceArn" in keys:
                assert condition["ArnLike"]["aws:SourceArn"].split(":")[4] == ACCOUNT


def test_resource_policies_let_services_act_for_this_account_only_and_deny_plain_http(stacks):
    for stack_name, stack in stacks.items():
        for document in documents(stack):
            if document.kind != "resource":
                continue
            for statement in _statements(document.document):
                where = f"{stack_name} {document.where} {statement['Sid']}"
                if statement["Effect"] == "Deny":
                    assert statement["Sid"] == "DenyWithoutTls", where
                    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, where
                elif "AWS" in statement["Principal"]:
                    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, where
                elif statement["Sid"] == "CloudWatchLogsEncrypt":
                    # CloudWatch Logs names the log group in the encryption context: this account's, here.
                    (log_groups,) = statement["Condition"]["ArnLike"].values()
                    assert log_groups.split(":")[4:] == [ACCOUNT, "log-group", "*"], where
                else:
                    condition = statement["Condition"]
                    assert condition["StringEquals"] == {"aws:SourceAccount": ACCOUNT}, where
                    sources = condition["ArnLike"]["aws:SourceArn"]
                    for source in [sources] if isinstance(sources, str) else sources:
                        assert source.split(":")[4] == ACCOUNT, where
    for stack_name, stack in stacks.items():
        for name, permission in resources(stack, "aws_lambda_permission").items():
            assert permission["source_account"].startswith("${data.aws_caller_identity."), f"{stack_name} {name}"
            assert permission["source_arn"].startswith("${aws_cloudwatch_event_rule."), f"{stack_name} {name}"


# The role statements whose actions need a condition to stay narrow, and the condition they carry.
NARROWED = {
    "ecs:RunTask": ("ArnEquals", "ecs:cluster"),
    "ecs:StopTask": ("ArnEquals", "ecs:cluster"),
    "ecs:DescribeTasks": ("ArnEquals", "ecs:cluster"),
    "iam:PassRole": ("StringEquals", "iam:PassedToService"),
}
# Where "*" is the resource: only actions that take no other.
STAR_RESOURCE_ACTIONS = {
    "ecr:GetAuthorizationToken",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "cloudwatch:PutMetricData",  # a job's own grant in multi.toml
}


def test_every_role_statement_is_narrowed(stacks):
    for stack_name, stack in stacks.items():
        for document in documents(stack):
            if document.kind != "role":
                continue
            for statement in _statements(document.document):
                where = f"{stack_name} {document.where} {statement['Sid']}"
                for action in statement["Action"]:
                    if action in NARROWED:
                        operator, key = NARROWED[action]
                        assert key in statement["Condition"][operator], where
                    if action == "kms:Decrypt" and statement["Sid"] != "EncryptAlerts":
                        # Chat secrets: only through SSM and only for the named parameters.
                        assert set(statement["Condition"]["StringEquals"]) == {
                            "kms:ViaService",
                            "kms:EncryptionContext:PARAMETER_ARN",
                        }, where
                if "*" in statement["Resource"]:
                    assert statement["Resource"] == ["*"], where
                    assert set(statement["Action"]) <= STAR_RESOURCE_ACTIONS, where
                for resource in statement["Resource"]:
                    if resource != "*" and not resource.startswith("arn:aws:s3:::"):
                        assert resource.split(":")[4] in (ACCOUNT, ""), where  # this account's, or global
