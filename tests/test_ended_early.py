"""Runs that end without reaching the alert step (aborted, timed out as a whole): the synthesized
EventBridge rule and input transformers, executed in moto's EventBridge engine, and the alerts the
handler makes of what they deliver.

moto's rules do not invoke Lambda targets, so each target's ARN is pointed at an SQS queue that
collects the transformed input; the pattern, the input paths and the template are the synthesized
ones. The event is shaped as Step Functions sends it to the default bus.
"""

from __future__ import annotations

import json
import logging

import boto3
import pytest
from alert_world import alert_world
from moto import mock_aws
from sfn_harness import ACCOUNT, JOB_LOG_GROUP, PLAUSIBLE_VALUES, REGION, resolve_references
from stack_helpers import job_resource, resources
from webhook_server import webhook_server

from lambda_src import alert
from lambda_src.alert import handler

logging.getLogger("moto").setLevel(logging.CRITICAL)

JOB = "nightly-report"
MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:batch-{JOB}"
EXECUTION = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:batch-{JOB}:manual-7"
VALUES = {**PLAUSIBLE_VALUES, ("aws_sfn_state_machine", "arn"): MACHINE}


def status_change(status: str, machine: str = MACHINE) -> dict:
    """A "Step Functions Execution Status Change" event, as put on the default bus."""
    detail = {
        "executionArn": EXECUTION,
        "stateMachineArn": machine,
        "name": "manual-7",
        "status": status,
        "startDate": 1795852800000,  # 2026-11-28 08:00:00 UTC
        "stopDate": 1795853100000 if status != "RUNNING" else None,
        "input": "{}",
        "inputDetails": {"included": True},
        "output": None,
        "outputDetails": None,
    }
    return {
        "Source": "aws.states",
        "DetailType": "Step Functions Execution Status Change",
        "Detail": json.dumps(detail),
    }


@pytest.fixture
def delivered(multi_stack):
    """Put the synthesized rule and its targets in moto; return a function that sends events and
    gives back what each target received, by channel."""
    _, rule = job_resource(multi_stack, "aws_cloudwatch_event_rule", JOB, "ended-early_rule")
    targets = [
        body for name, body in resources(multi_stack, "aws_cloudwatch_event_target").items()
        if name.startswith(f"job-{JOB}_ended-early_target-")
    ]  # fmt: skip
    with mock_aws():
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        events.put_rule(Name="ended-early", EventPattern=resolve_references(rule["event_pattern"], VALUES))
        queues = {}
        for target in targets:
            queue = sqs.create_queue(QueueName=target["target_id"])["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            transformer = target["input_transformer"]
            events.put_targets(
                Rule="ended-early",
                Targets=[
                    {
                        "Id": target["target_id"],
                        "Arn": queue_arn,
                        "InputTransformer": {
                            "InputPathsMap": transformer["input_paths"],
                            "InputTemplate": resolve_references(transformer["input_template"], VALUES),
                        },
                    }
                ],
            )
            queues[target["target_id"].removeprefix("alert-")] = queue

        def send(*entries: dict) -> dict[str, list[dict]]:
            events.put_events(Entries=list(entries))
            received = {}
            for channel, queue in queues.items():
                messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
                received[channel] = [json.loads(message["Body"]) for message in messages]
            return received

        yield send
    alert.reset()


def test_an_aborted_run_reaches_every_channel_target_with_the_alert_payload(delivered):
    received = delivered(status_change("ABORTED"))
    assert sorted(received) == ["chatwork", "email", "log", "slack"]
    for channel, (payload,) in received.items():
        assert payload == {
            "channel": channel,
            "stack": "batch",
            "job": JOB,
            "error": "Execution.ABORTED",
            "cause": "The execution ended ABORTED before the alert step",
            "execution": EXECUTION,
            "stateMachine": MACHINE,
            "startTime": 1795852800000,
            "gaveUpAt": 1795853100000,
            "launchBudget": 13,
            "timeoutSeconds": 1800,
            "logGroup": JOB_LOG_GROUP,
            "logStreamPrefix": "job/app",
            "capacity": ["FARGATE"],
            "schedule": "cron(0 8 ? * MON-FRI *)",  # the alert names the next run
            "timezone": "Asia/Tokyo",  # and shows times on the job's clock
        }


@pytest.mark.parametrize(
    "event",
    [
        status_change("SUCCEEDED"),
        status_change("FAILED"),  # the alert step has told people already
        status_change("RUNNING"),
        status_change("ABORTED", machine=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:batch-other"),
    ],
    ids=["succeeded", "failed", "running", "another-state-machine"],
)
def test_other_endings_and_other_state_machines_are_not_matched(delivered, event):
    assert delivered(event) == {"log": [], "email": [], "slack": [], "chatwork": []}


def test_the_alerts_say_the_run_was_aborted_or_timed_out(delivered, monkeypatch):
    with webhook_server([200]) as slack, webhook_server([200]) as chatwork:
        world = alert_world(monkeypatch.setenv, region=REGION, slack_url=slack.url, chatwork_base=chatwork.base)
        for status, words in [("ABORTED", "the run was aborted"), ("TIMED_OUT", "the run timed out")]:
            for payload in delivered(status_change(status)).values():
                handler(payload[0], None)
            (email,) = world.emails()
            assert email["Subject"] == f"[batch] {JOB} failed: {words}"
            assert "Started: 2026-11-28 08:00:00 UTC\nGave up: 2026-11-28 08:05:00 UTC\n" in email["Message"]
            assert f"Error: Execution.{status}\n" in email["Message"]
        assert [request["body"]["text"] for request in slack.accepted] == [
            f"[batch] {JOB} failed: the run was aborted",
            f"[batch] {JOB} failed: the run timed out",
        ]
        assert len(chatwork.accepted) == 2
