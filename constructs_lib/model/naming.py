"""Names of AWS resources derived from the stack and job names, within each service's limit.

A name that would be too long keeps its readable start and ends in a hash of the full name, so
two long job names that share a prefix still get distinct resource names.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["NAME_LIMITS", "alert_topic_name", "aws_name", "check_job_name", "check_stack_name"]

# Maximum name lengths. IAM role: https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
# State machine: https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html
# EventBridge rule: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html
# Lambda function: https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html
# ECS task family: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html
# Security group: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html
# SNS topic: https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html
# Scheduler schedule and group: https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html
NAME_LIMITS = {
    "iam_role": 64,
    "state_machine": 80,
    "event_rule": 64,
    "lambda_function": 64,
    "task_family": 255,
    "security_group": 255,
    "cloudwatch_alarm": 255,
    "sns_topic": 256,
    "scheduler_schedule": 64,
    "schedule_group": 64,
}

JOB_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
STACK_NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,31}")
_HASH_LENGTH = 8


def check_job_name(name: str) -> str:
    """Return ``name`` if it is a valid job name, else raise ``ValueError`` saying what is allowed."""
    if not isinstance(name, str) or not JOB_NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"{name!r} is not a valid job name (allowed: 1-64 characters, letters, digits, "
            "'-' and '_', starting with a letter or digit)"
        )
    return name


def check_stack_name(name: str) -> str:
    """Return ``name`` if it is a valid stack name, else raise ``ValueError``."""
    if not isinstance(name, str) or not STACK_NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"{name!r} is not a valid stack name (allowed: 1-32 characters, letters, digits "
            "and '-', starting with a letter)"
        )
    return name


def aws_name(*parts: str, kind: str) -> str:
    """Join ``parts`` with ``-`` and fit the result into the limit for ``kind``.

    >>> aws_name("jobs", "nightly", kind="iam_role")
    'jobs-nightly'
    """
    limit = NAME_LIMITS[kind]
    full = "-".join(parts)
    if len(full) <= limit:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:_HASH_LENGTH]
    return f"{full[: limit - _HASH_LENGTH - 1].rstrip('-_')}-{digest}"


def job_name_prefix(stack_name: str, job_name: str) -> str:
    """What every resource name of a job starts with: ``<stack>-<job>``."""
    return f"{stack_name}-{job_name}"


def task_log_group(name: str) -> str:
    """A task's log group, for a task named ``name``: ``/ecs/<name>`` (512 characters allowed)."""
    return f"/ecs/{name}"


def task_log_group_name(stack_name: str, job_name: str) -> str:
    """The job's task log group: ``/ecs/<stack>-<job>``."""
    return task_log_group(job_name_prefix(stack_name, job_name))


def schedule_rule_name(name: str) -> str:
    """The EventBridge rule that schedules the job named ``name`` (``<stack>-<job>``), in UTC."""
    return aws_name(name, kind="event_rule")


def ended_early_rule_name(name: str) -> str:
    """The EventBridge rule on the aborted and timed-out runs of the job named ``name``."""
    return aws_name(name, "ended-early", kind="event_rule")


def alert_queue_name(stack_name: str) -> str:
    """The stack's alert queue (SQS names: at most 80 characters; a stack name has at most 32)."""
    return f"{stack_name}-alert-queue"


def alert_topic_name(stack_name: str) -> str:
    """The stack's alert topic, as the stack names it and ``make synth`` reports it."""
    return aws_name(stack_name, "alerts", kind="sns_topic")
