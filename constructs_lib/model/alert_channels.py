"""The alert channels a config can turn on, in one place: each channel's ``[alert]`` keys and
their validation (``ChannelKeys``, which ``AlertSpec`` extends), the environment the alert Lambda
needs for it, the SSM parameters it may read, and how the summary names it (``CHAT_CHANNELS``).
The Lambda's side of each channel is its module in ``lambda_src`` and one line of
``lambda_src/channels.py``; a test holds the two tables to the same names in the same order.

Adding a channel: its keys on ``ChannelKeys``, one ``ChannelKind`` below, its Lambda module and
line, and tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import field_validator, model_validator

from constructs_lib.model.checks import check_ssm_parameter_name, field_error
from constructs_lib.model.value_object import ValueObject
from lambda_src.contract import setting_variable

__all__ = ["CHANNELS", "CHAT_CHANNELS", "ChannelKeys", "ChannelKind", "ChannelSetting", "channel_settings"]


class ChannelKeys(ValueObject):
    """The ``[alert]`` keys that turn the chat and paging channels on. Secrets (webhook URLs,
    tokens, routing keys) stay in SSM Parameter Store: the config names the parameters and the
    Lambda reads them at run time, so they never reach the Terraform plan or state."""

    #: A SecureString parameter holding a Slack-compatible incoming webhook URL.
    webhook_ssm_parameter: str | None = None
    #: The Chatwork room to post to, and the SecureString parameter holding the API token.
    chatwork_room_id: str | None = None
    chatwork_token_ssm_parameter: str | None = None
    #: A SecureString parameter holding a Microsoft Teams Workflows webhook URL.
    teams_webhook_ssm_parameter: str | None = None
    #: A SecureString parameter holding a PagerDuty Events API v2 integration (routing) key.
    pagerduty_routing_key_ssm_parameter: str | None = None

    _parameters = field_validator(
        "webhook_ssm_parameter",
        "chatwork_token_ssm_parameter",
        "teams_webhook_ssm_parameter",
        "pagerduty_routing_key_ssm_parameter",
    )(check_ssm_parameter_name)

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

    @model_validator(mode="after")
    def _chatwork_pair(self) -> ChannelKeys:
        if self.chatwork_room_id is not None and self.chatwork_token_ssm_parameter is None:
            raise field_error(
                "chatwork_token_ssm_parameter",
                "required with chatwork_room_id (allowed: the SSM SecureString parameter that holds the API token)",
            )
        if self.chatwork_token_ssm_parameter is not None and self.chatwork_room_id is None:
            raise field_error("chatwork_room_id", "required with chatwork_token_ssm_parameter (allowed: the room's id)")
        return self


@dataclass(frozen=True)
class ChannelSetting:
    """One configured channel, as the alert function needs it: its name, the environment that
    names its settings (never a secret), and the SSM SecureString parameters holding its secrets."""

    name: str
    environment: Mapping[str, str] = field(default_factory=dict)
    parameters: tuple[str, ...] = ()
    route: str = ""  # how the summary names it


@dataclass(frozen=True)
class ChannelKind:
    """A channel a config may turn on: ``key`` is the ``[alert]`` key that turns it on, and
    ``setting`` reads ``[alert]`` and answers ``None`` when the channel is not configured."""

    name: str
    key: str
    setting: Callable[[Any], ChannelSetting | None]


def _environment(**settings: str) -> dict[str, str]:
    """The Lambda's environment for these ``[alert]`` settings (``lambda_src.contract.setting_variable``)."""
    return {setting_variable(key): value for key, value in settings.items()}


def _parameter_channel(name: str, key: str, route: str) -> ChannelKind:
    """A channel whose one setting is an SSM parameter holding its secret (a URL or a key)."""

    def setting(alert: Any) -> ChannelSetting | None:
        parameter = getattr(alert, key)
        if not parameter:
            return None
        return ChannelSetting(name, _environment(**{key: parameter}), (parameter,), route.format(parameter=parameter))

    return ChannelKind(name, key, setting)


def _chatwork(alert: Any) -> ChannelSetting | None:
    room, token = alert.chatwork_room_id, alert.chatwork_token_ssm_parameter
    if not room:
        return None
    environment = _environment(chatwork_room_id=room, chatwork_token_ssm_parameter=token)
    return ChannelSetting("chatwork", environment, (token,), f"Chatwork room {room} (token in SSM {token})")


# The chat and paging channels, in the order alerts list them (after log and email, always there).
CHAT_CHANNELS: tuple[ChannelKind, ...] = (
    _parameter_channel("slack", "webhook_ssm_parameter", "Slack (webhook URL in SSM {parameter})"),
    ChannelKind("chatwork", "chatwork_room_id", _chatwork),
    _parameter_channel("teams", "teams_webhook_ssm_parameter", "Microsoft Teams (workflow URL in SSM {parameter})"),
    _parameter_channel(
        "pagerduty", "pagerduty_routing_key_ssm_parameter", "PagerDuty (routing key in SSM {parameter})"
    ),
)
# Every channel an alert may name: "log" (the full record in the function's log group, which
# cannot fail) and "email" (the stack's SNS topic) are always there.
CHANNELS: tuple[str, ...] = ("log", "email", *(kind.name for kind in CHAT_CHANNELS))


def channel_settings(alert: Any) -> list[ChannelSetting]:
    """The chat and paging channels ``alert`` (an ``AlertSpec``) configures, in order."""
    found = (kind.setting(alert) for kind in CHAT_CHANNELS)
    return [setting for setting in found if setting is not None]
