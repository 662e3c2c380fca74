"""What each kind of schedule gives the state machine: the synthesized rule target's input
transformer run on a real "Scheduled Event" in moto's EventBridge engine, and a run started with
exactly the input EventBridge Scheduler sends, executed, its alert saying when it was due."""

from __future__ import annotations

import json
import logging
from datetime import datetime

import boto3
from moto import mock_aws
from sfn_harness import REGION, RULE_INPUT, SCHEDULED_EVENT, TIMEOUT, Sandbox
from stack_helpers import definition_text, job_resource

from lambda_src.mail import email_message
from lambda_src.message import describe

logging.getLogger("moto").setLevel(logging.CRITICAL)


def test_the_rule_target_turns_the_scheduled_event_into_the_job_and_its_time(default_stack):
    _, target = job_resource(default_stack, "aws_cloudwatch_event_target", "run-once-a-hour", "schedule_target")
    transformer = target["input_transformer"]
    with mock_aws():
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        queue = sqs.create_queue(QueueName="execution-input")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        # moto fires no schedules; a pattern on the scheduled event's source stands in for the clock.
        events.put_rule(Name="clock", EventPattern=json.dumps({"source": ["aws.events"]}))
        events.put_targets(
            Rule="clock",
            Targets=[
                {
                    "Id": "state-machine",
                    "Arn": queue_arn,
                    "InputTransformer": {
                        "InputPathsMap": transformer["input_paths"],
                        "InputTemplate": transformer["input_template"],
                    },
                }
            ],
        )
        event = {k: v for k, v in SCHEDULED_EVENT.items() if k not in ("version", "id", "account", "region")}
        events.put_events(
            Entries=[
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                    "Resources": event["resources"],
                    "Time": SCHEDULED_EVENT["time"],
                }
            ]
        )
        (message,) = sqs.receive_message(QueueUrl=queue)["Messages"]
    delivered = json.loads(message["Body"])
    # moto keeps an event's time as epoch seconds where EventBridge gives the event's ISO 8601
    # "time" (https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html):
    # the same instant.
    due = datetime.fromisoformat(RULE_INPUT["scheduledTime"]).timestamp()
    assert delivered == {"job": "run-once-a-hour", "scheduledTime": str(int(due))}


def test_a_run_started_by_scheduler_says_when_it_was_due(multi_stack):
    """Scheduler replaces its context attributes in the synthesized input; this is that input for
    the Monday 08:00 run in Tokyo (Sunday 23:00 UTC)."""
    _, schedule = job_resource(multi_stack, "aws_scheduler_schedule", "nightly-report", "schedule")
    sent = (
        schedule["target"]["input"]
        .replace("<aws.scheduler.scheduled-time>", "2026-11-29T23:00:00Z")
        .replace("<aws.scheduler.execution-id>", "d2b6e3a5-1c2f-4f6e-9a0b-7c1d2e3f4a5b")
    )
    definition = definition_text(multi_stack, "nightly-report")
    with Sandbox() as sandbox:
        run = sandbox.execute(
            definition,
            launches=[TIMEOUT],
            handler=lambda event, context: {"delivered": {}},
            execution_input=json.loads(sent),
        )
    (payload,) = run.alerts_to("log")
    assert payload["input"] == {
        "job": "nightly-report",
        "scheduledTime": "2026-11-29T23:00:00Z",
        "scheduleExecutionId": "d2b6e3a5-1c2f-4f6e-9a0b-7c1d2e3f4a5b",
    }
    _, body = email_message(describe(payload))
    assert "Scheduled for: 2026-11-29 23:00:00 UTC (Mon 08:00 JST, Asia/Tokyo)\n" in body
