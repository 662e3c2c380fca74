"""The stack's alert topic: SNS, encrypted with its own KMS key, with an e-mail subscription per address."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from constructs import Construct

from constructs_lib.aws.kms_alias import KmsAlias
from constructs_lib.aws.kms_key import KmsKey
from constructs_lib.aws.sns_topic import SnsTopic
from constructs_lib.aws.sns_topic_policy import SnsTopicPolicy
from constructs_lib.aws.sns_topic_subscription import SnsTopicSubscription
from constructs_lib.aws_environment import AwsEnvironment
from constructs_lib.documents.iam import policy_json, render_statements
from constructs_lib.documents.resource_policies import alert_key_policy, alert_topic_policy
from constructs_lib.model.naming import aws_name

__all__ = ["AlertTopic"]


class AlertTopic(Construct):
    """Where alerts and alarms meet people: the alert Lambda publishes each alert here, and the
    stack's CloudWatch alarms notify it, so e-mail works even when the Lambda does not.

    The topic exists even without ``emails``, so that other endpoints (a pager, a chat bridge) can
    subscribe later. It is encrypted with a customer-managed key (rotated yearly): CloudWatch alarms
    cannot publish to a topic under the AWS-managed ``alias/aws/sns`` key. Each address gets an
    ``email`` subscription, which AWS confirms by mail; until the recipient follows that link,
    nothing is delivered to it. Exposes ``arn``, ``name`` and ``publish_statements()``.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        aws: AwsEnvironment,
        emails: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, id_)
        self.name = aws_name(name, kind="sns_topic")
        alarm_arns = aws.arn("cloudwatch", "alarm:*")
        self.key = KmsKey(
            self,
            "key",
            description=f"Encrypts the alert topic {self.name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=policy_json(
                alert_key_policy(
                    account_root=aws.arn("iam", "root", regional=False),
                    account_id=aws.account_id,
                    alarm_arns=alarm_arns,
                )
            ),
        )
        KmsAlias(self, "key-alias", name=f"alias/{self.name}", target_key_id=self.key.key_id)
        self.topic = SnsTopic(self, "topic", name=self.name, kms_master_key_id=self.key.arn)
        self.arn: str = self.topic.arn
        SnsTopicPolicy(
            self,
            "policy",
            arn=self.topic.arn,
            policy=policy_json(
                alert_topic_policy(topic_arn=self.topic.arn, account_id=aws.account_id, alarm_arns=alarm_arns)
            ),
        )
        self.subscriptions = [
            SnsTopicSubscription(self, f"email-{index}", topic_arn=self.topic.arn, protocol="email", endpoint=address)
            for index, address in enumerate(emails)
        ]

    def publish_statements(self) -> list[dict[str, Any]]:
        """What a role needs to publish to this topic (and to encrypt for it)."""
        return render_statements("sns:publish", topic=self.arn, topic_key=self.key.arn)
