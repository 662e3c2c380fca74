"""A run a schedule could not start alerts like any failed run: on every channel, naming the job
and the scheduled time, once per failed start. The messages are put in an SQS queue (moto) as
EventBridge and Scheduler put them in the dead-letter queue, read back as the event source mapping
reads them, and handed to the alert Lambda, which delivers to Slack and Chatwork stand-ins (real
HTTP servers on 127.0.0.1) and to SNS (moto)."""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3
import pytest
from alert_world import alert_world
from moto import mock_aws
from webhook_server import webhook_server

from lambda_src import alert
from lambda_src.alert import handler

logging.getLogger("moto").setLevel(logging.CRITICAL)

REGION = "ap-northeast-1"
ACCOUNT = "123456789012"
STACK = "batch"


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def attributes(**values: str) -> dict[str, dict[str, str]]:
    return {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}


# What EventBridge Scheduler puts in the queue: the schedule's input (the run input) as the body.
SCHEDULER_MESSAGE = {
    "MessageBody": json.dumps({"job": "nightly-report", "scheduledTime": "2026-11-30T23:00:00Z"}),
    "MessageAttributes": attributes(
        ERROR_CODE="AccessDeniedException",
        ERROR_MESSAGE="User is not authorized to perform: states:StartExecution",
        SCHEDULE_ARN=f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/{STACK}/{STACK}-nightly-report",
        TARGET_ARN=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STACK}-nightly-report",
    ),
}
# What an EventBridge rule puts there: the scheduled event itself.
RULE_MESSAGE = {
    "MessageBody": json.dumps(
        {
            "version": "0",
            "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT,
            "time": "2026-12-01T00:15:00Z",
            "region": REGION,
            "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{STACK}-every-15-minutes"],
            "detail": {},
        }
    ),
    "MessageAttributes": attributes(
        ERROR_CODE="ResourceNotFoundException",
        ERROR_MESSAGE="State Machine Does Not Exist",
        RULE_ARN=f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{STACK}-every-15-minutes",
        TARGET_ARN=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STACK}-every-15-minutes",
    ),
}


def queue_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The messages sent to a queue and received back, as the event source mapping hands them on."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=f"{STACK}-undelivered")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for message in messages:
        sqs.send_message(QueueUrl=url, **message)
    received = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    )["Messages"]
    assert len(received) == len(messages)
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message["Attributes"],
                "messageAttributes": {
                    name: {"stringValue": value["StringValue"], "dataType": value["DataType"]}
                    for name, value in message.get("MessageAttributes", {}).items()
                },
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": REGION,
            }
            for message in received
        ]
    }


@pytest.fixture
def aws(monkeypatch):
    with mock_aws():
        monkeypatch.setenv("STACK_NAME", STACK)
        yield
    alert.reset()


def test_each_failed_start_alerts_every_channel_once_naming_the_job_and_the_time(aws, monkeypatch):
    with webhook_server([200]) as slack, webhook_server([(200, '{"message_id":"1"}')]) as chatwork:
        world = alert_world(monkeypatch.setenv, region=REGION, slack_url=slack.url, chatwork_base=chatwork.base)
        event = queue_event([SCHEDULER_MESSAGE, RULE_MESSAGE])
        assert handler(event, Context()) == {"batchItemFailures": []}
        texts = [request["body"]["text"] for request in slack.received]
        chats = [request["body"]["body"] for request in chatwork.received]
        mails = world.emails()
    assert sorted(texts) == [
        "[batch] every-15-minutes failed: the run was never started",
        "[batch] nightly-report failed: the run was never started",
    ]
    # One chat message and one mail per failed start, each naming its own job.
    assert sorted("nightly-report" in chat for chat in chats) == [False, True]
    assert sorted(mail["Subject"] for mail in mails) == sorted(texts)
    nightly = next(mail["Message"] for mail in mails if "nightly-report" in mail["Subject"])
    assert "Scheduled for: 2026-11-30 23:00:00 UTC" in nightly
    assert (
        "The schedule could not start the run, even after retrying, so the job did not run. It said: "
        "AccessDeniedException: User is not authorized to perform: states:StartExecution.\n"
    ) in nightly
    assert "Run it now: make run JOB=nightly-report\n" in nightly
    every = next(chat for chat in chats if "every-15-minutes" in chat)
    assert "Scheduled for: 2026-12-01 00:15:00 UTC" in every
    assert "ResourceNotFoundException: State Machine Does Not Exist" in every


def test_a_start_whose_channel_is_down_is_delivered_again_later(aws, monkeypatch):
    with webhook_server([503]) as slack, webhook_server([(200, '{"message_id":"1"}')]) as chatwork:
        alert_world(monkeypatch.setenv, region=REGION, slack_url=slack.url, chatwork_base=chatwork.base)
        event = queue_event([SCHEDULER_MESSAGE])
        result = handler(event, Context())
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}


def test_a_start_every_channel_refused_is_not_retried(aws, monkeypatch):
    with webhook_server([404]) as slack:
        alert_world(monkeypatch.setenv, region=REGION, slack_url=slack.url)
        monkeypatch.setenv("SNS_TOPIC_ARN", f"arn:aws:sns:{REGION}:{ACCOUNT}:no-such-topic")
        result = handler(queue_event([SCHEDULER_MESSAGE]), Context())
    assert result == {"batchItemFailures": []}  # refused everywhere: logged, retrying will not help
