"""The alert channels a config can turn on, in one table: what each reads from ``[alert]``, what
the alert Lambda's environment must say for it, the SSM parameters it may read, and how the
summary names it. The Lambda's side of each channel is ``lambda_src/channels.py`` (its
``_FROM_ENVIRONMENT`` entry) and its renderer module.

Adding a channel: its keys on ``AlertSpec`` (``model/config.py``), one ``ChannelKind`` below, one
``_FROM_ENVIRONMENT`` entry, its renderer, and tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lambda_src.contract import (
    CHATWORK_ROOM_VARIABLE,
    CHATWORK_TOKEN_VARIABLE,
    PAGERDUTY_KEY_VARIABLE,
    TEAMS_PARAMETER_VARIABLE,
    WEBHOOK_PARAMETER_VARIABLE,
)

__all__ = ["CHAT_CHANNELS", "ChannelKind", "ChannelSetting", "channel_settings"]


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
    """A channel a config may turn on: ``setting`` reads ``[alert]`` and answers ``None`` when the
    channel is not configured."""

    name: str
    setting: Callable[[Any], ChannelSetting | None]


def _parameter_channel(name: str, key: str, variable: str, route: str) -> ChannelKind:
    """A channel whose one setting is an SSM parameter holding its secret (a URL or a key)."""

    def setting(alert: Any) -> ChannelSetting | None:
        parameter = getattr(alert, key)
        if not parameter:
            return None
        return ChannelSetting(name, {variable: parameter}, (parameter,), route.format(parameter=parameter))

    return ChannelKind(name, setting)


def _chatwork(alert: Any) -> ChannelSetting | None:
    if not alert.chatwork_room_id:
        return None
    token = alert.chatwork_token_ssm_parameter
    return ChannelSetting(
        "chatwork",
        {CHATWORK_ROOM_VARIABLE: alert.chatwork_room_id, CHATWORK_TOKEN_VARIABLE: token},
        (token,),
        f"Chatwork room {alert.chatwork_room_id} (token in SSM {token})",
    )


# The chat and paging channels, in the order alerts list them (after log and email, always there).
CHAT_CHANNELS: tuple[ChannelKind, ...] = (
    _parameter_channel(
        "slack", "webhook_ssm_parameter", WEBHOOK_PARAMETER_VARIABLE, "Slack (webhook URL in SSM {parameter})"
    ),
    ChannelKind("chatwork", _chatwork),
    _parameter_channel(
        "teams",
        "teams_webhook_ssm_parameter",
        TEAMS_PARAMETER_VARIABLE,
        "Microsoft Teams (workflow URL in SSM {parameter})",
    ),
    _parameter_channel(
        "pagerduty",
        "pagerduty_routing_key_ssm_parameter",
        PAGERDUTY_KEY_VARIABLE,
        "PagerDuty (routing key in SSM {parameter})",
    ),
)


def channel_settings(alert: Any) -> list[ChannelSetting]:
    """The chat and paging channels ``alert`` (an ``AlertSpec``) configures, in order."""
    found = (kind.setting(alert) for kind in CHAT_CHANNELS)
    return [setting for setting in found if setting is not None]
