"""The AWS side of the alert channels, in moto: the SSM SecureString parameters, the SNS topic, and
an SQS queue subscribed to the topic that collects what the e-mail subscribers would get.

Call ``alert_world`` inside an active ``mock_aws``; it sets the Lambda's environment (the contract's
variable names) through ``setenv`` and starts the Lambda with empty caches.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from lambda_src import alert
from lambda_src.chatwork import API_BASE_VARIABLE as CHATWORK_API_BASE_VARIABLE
from lambda_src.chatwork import ROOM_VARIABLE as CHATWORK_ROOM_VARIABLE
from lambda_src.chatwork import TOKEN_VARIABLE as CHATWORK_TOKEN_VARIABLE
from lambda_src.contract import SNS_TOPIC_VARIABLE
from lambda_src.slack import PARAMETER_VARIABLE as WEBHOOK_PARAMETER_VARIABLE

WEBHOOK_PARAMETER = "/batch/alerts/slack-webhook"
TOKEN_PARAMETER = "/batch/alerts/chatwork-token"
CHATWORK_TOKEN = "cw-token-0123456789abcdef"
ROOM_ID = "123456"


def sqs_record(body: Any, *, message_id: str = "m", sent: str | None = "1796079660000", **attributes: str) -> dict:
    """One message as a Lambda event source mapping hands it on: ``body`` (JSON unless text), its
    ``SentTimestamp``, and ``attributes`` as message attributes."""
    return {
        "messageId": message_id,
        "eventSource": "aws:sqs",
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {"SentTimestamp": sent} if sent is not None else {},
        "messageAttributes": {name: {"stringValue": value, "dataType": "String"} for name, value in attributes.items()},
    }


@dataclass
class AlertWorld:
    region: str
    topic_arn: str
    queue_url: str

    def ssm(self) -> Any:
        return boto3.client("ssm", region_name=self.region)

    def emails(self) -> list[dict[str, str]]:
        """Every message published to the topic, as ``{"Subject": ..., "Message": ...}``."""
        sqs = boto3.client("sqs", region_name=self.region)
        messages = []
        while True:
            batch = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return messages
            for message in batch:
                envelope = json.loads(message["Body"])
                messages.append({"Subject": envelope.get("Subject"), "Message": envelope["Message"]})
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


def alert_world(
    setenv: Callable[[str, str], None],
    *,
    region: str,
    slack_url: str | None = None,
    chatwork_base: str | None = None,
    topic_name: str = "batch-alerts",
) -> AlertWorld:
    """Create the parameters, the topic ``topic_name`` and its mailbox, and configure the Lambda for them."""
    ssm = boto3.client("ssm", region_name=region)
    sns = boto3.client("sns", region_name=region)
    sqs = boto3.client("sqs", region_name=region)
    setenv("AWS_DEFAULT_REGION", region)
    topic_arn = sns.create_topic(Name=topic_name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"mailbox-{topic_name}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    setenv(SNS_TOPIC_VARIABLE, topic_arn)
    if slack_url is not None:
        ssm.put_parameter(Name=WEBHOOK_PARAMETER, Value=slack_url, Type="SecureString", Overwrite=True)
        setenv(WEBHOOK_PARAMETER_VARIABLE, WEBHOOK_PARAMETER)
    if chatwork_base is not None:
        ssm.put_parameter(Name=TOKEN_PARAMETER, Value=CHATWORK_TOKEN, Type="SecureString", Overwrite=True)
        setenv(CHATWORK_ROOM_VARIABLE, ROOM_ID)
        setenv(CHATWORK_TOKEN_VARIABLE, TOKEN_PARAMETER)
        setenv(CHATWORK_API_BASE_VARIABLE, chatwork_base)
    alert.reset()
    return AlertWorld(region=region, topic_arn=topic_arn, queue_url=queue_url)
