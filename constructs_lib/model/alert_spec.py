"""``[alert]``: where the alerts go, and how they are grouped."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from constructs_lib.model.alert_channels import channel_settings
from constructs_lib.model.checks import (
    EmailAddress,
    check_retention,
    check_ssm_parameter_name,
    field_error,
    freeze_list,
)
from constructs_lib.model.value_object import ValueObject


class AlertSpec(ValueObject):
    """``[alert]``: where the alert Lambda that all jobs share tells people about a failed run.

    Every channel is optional; the log and the stack's SNS topic are always there. Secrets (the
    webhook URL, the Chatwork token) stay in SSM Parameter Store: the config names the parameters
    and the Lambda reads them at run time, so they never reach the Terraform plan or state.
    """

    log_retention_days: int = 30
    #: A SecureString parameter holding a Slack-compatible incoming webhook URL.
    webhook_ssm_parameter: str | None = None
    #: The Chatwork room to post to, and the SecureString parameter holding the API token.
    chatwork_room_id: str | None = None
    chatwork_token_ssm_parameter: str | None = None
    #: A SecureString parameter holding a Microsoft Teams Workflows webhook URL.
    teams_webhook_ssm_parameter: str | None = None
    #: A SecureString parameter holding a PagerDuty Events API v2 integration (routing) key.
    pagerduty_routing_key_ssm_parameter: str | None = None
    #: Addresses subscribed to the stack's alert topic (each confirms once, from the mail AWS sends).
    emails: tuple[EmailAddress, ...] = ()
    #: Alerts for one channel that arrive within this many seconds go out as one message (the
    #: alert queue's batching window; 0 sends each batch of up to 10 at once). 30 s, Alertmanager's
    #: group_wait: the runs that one capacity outage fails give up within seconds of each other.
    group_seconds: int = Field(default=30, ge=0, le=300)
    #: The first successful run after a failed, timed-out, aborted or missed one says so, once.
    recoveries: bool = True

    _retention = field_validator("log_retention_days")(check_retention)
    _parameters = field_validator(
        "webhook_ssm_parameter",
        "chatwork_token_ssm_parameter",
        "teams_webhook_ssm_parameter",
        "pagerduty_routing_key_ssm_parameter",
    )(check_ssm_parameter_name)
    _emails_list = field_validator("emails", mode="before")(freeze_list)

    @model_validator(mode="before")
    @classmethod
    def _replaced_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and "webhook_url" in data:
            raise field_error(
                "webhook_url",
                "replaced by webhook_ssm_parameter; a webhook URL is a secret and would land in the Terraform "
                "plan and state, so this key is refused and its value is not shown (allowed: store it in an "
                "SSM SecureString parameter and name it with webhook_ssm_parameter, "
                'for example webhook_ssm_parameter = "/scheduled-jobs/slack-webhook")',
            )
        return data

    @field_validator("chatwork_room_id", mode="before")
    @classmethod
    def _room_id(cls, room: Any) -> Any:
        if isinstance(room, int) and not isinstance(room, bool):
            room = str(room)
        if isinstance(room, str) and not re.fullmatch(r"[1-9][0-9]{0,19}", room):
            raise ValueError(
                f"{room!r} is not a Chatwork room id (allowed: its digits, as in the room's URL #!rid123456)"
            )
        return room

    @field_validator("emails")
    @classmethod
    def _emails(cls, emails: tuple[str, ...]) -> tuple[str, ...]:
        seen = [address.lower() for address in emails]
        for index, address in enumerate(seen):
            if address in seen[:index]:
                raise ValueError(f"{emails[index]!r} is listed twice (allowed: each address once)")
        return emails

    @model_validator(mode="after")
    def _chatwork_pair(self) -> AlertSpec:
        if self.chatwork_room_id is not None and self.chatwork_token_ssm_parameter is None:
            raise field_error(
                "chatwork_token_ssm_parameter",
                "required with chatwork_room_id (allowed: the SSM SecureString parameter that holds the API token)",
            )
        if self.chatwork_token_ssm_parameter is not None and self.chatwork_room_id is None:
            raise field_error("chatwork_room_id", "required with chatwork_token_ssm_parameter (allowed: the room's id)")
        return self

    @property
    def chat_channels(self) -> tuple[str, ...]:
        """The chat channels configured, in the order alerts list them."""
        return tuple(setting.name for setting in channel_settings(self))
