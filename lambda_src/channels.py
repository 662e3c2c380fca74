"""Where alerts go: the channels' table. Each channel is a module of its own (``mail``, ``slack``,
``chatwork``, ``teams``, ``pagerduty``: how it renders an alert or a group, and how it sends);
``configured_channels`` makes those the function's environment turns on, in ``CHANNELS`` order.
The transport they share (``post``, ``Parameters``) is ``lambda_src.transport``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from lambda_src.chatwork import ChatworkChannel
from lambda_src.contract import (
    CHATWORK_API_BASE_VARIABLE,
    CHATWORK_ROOM_VARIABLE,
    CHATWORK_TOKEN_VARIABLE,
    DEFAULT_CHATWORK_API_BASE,
    PAGERDUTY_API_BASE_VARIABLE,
    PAGERDUTY_KEY_VARIABLE,
    SNS_TOPIC_VARIABLE,
    TEAMS_PARAMETER_VARIABLE,
    WEBHOOK_PARAMETER_VARIABLE,
)
from lambda_src.mail import EmailChannel
from lambda_src.pagerduty import DEFAULT_PAGERDUTY_API_BASE, PagerDutyChannel
from lambda_src.slack import SlackChannel
from lambda_src.teams import TeamsChannel
from lambda_src.transport import AWS_TIMEOUTS, HTTP_TIMEOUT_SECONDS, Channel, Parameters, post, usable_url

__all__ = [
    "AWS_TIMEOUTS",
    "HTTP_TIMEOUT_SECONDS",
    "Channel",
    "ChatworkChannel",
    "EmailChannel",
    "PagerDutyChannel",
    "Parameters",
    "SlackChannel",
    "TeamsChannel",
    "configured_channels",
    "post",
    "usable_url",
]


def configured_channels(
    environ: Mapping[str, str],
    *,
    parameters: Parameters,
    sns_client: Callable[[], Any],
    clock: Callable[[], float] = time.time,
) -> dict[str, Channel]:
    """The channels the function's environment configures, by name, in ``CHANNELS`` order (``log``
    is not among them). Each channel is one entry of ``_FROM_ENVIRONMENT``."""
    channels: dict[str, Channel] = {}
    for name, build in _FROM_ENVIRONMENT.items():
        channel = build(environ, parameters, sns_client, clock)
        if channel is not None:
            channels[name] = channel
    return channels


_Factory = Callable[[Mapping[str, str], Parameters, Callable[[], Any], Callable[[], float]], Channel | None]
# How each channel is made from the function's environment: the one place that names them all.
_FROM_ENVIRONMENT: dict[str, _Factory] = {
    "email": lambda env, parameters, sns, clock: (
        EmailChannel(env[SNS_TOPIC_VARIABLE], sns) if env.get(SNS_TOPIC_VARIABLE) else None
    ),
    "slack": lambda env, parameters, sns, clock: (
        SlackChannel(env[WEBHOOK_PARAMETER_VARIABLE], parameters, clock=clock)
        if env.get(WEBHOOK_PARAMETER_VARIABLE)
        else None
    ),
    "chatwork": lambda env, parameters, sns, clock: (
        ChatworkChannel(
            env[CHATWORK_ROOM_VARIABLE],
            env[CHATWORK_TOKEN_VARIABLE],
            parameters,
            api_base=env.get(CHATWORK_API_BASE_VARIABLE) or DEFAULT_CHATWORK_API_BASE,
            clock=clock,
        )
        if env.get(CHATWORK_ROOM_VARIABLE) and env.get(CHATWORK_TOKEN_VARIABLE)
        else None
    ),
    "teams": lambda env, parameters, sns, clock: (
        TeamsChannel(env[TEAMS_PARAMETER_VARIABLE], parameters, clock=clock)
        if env.get(TEAMS_PARAMETER_VARIABLE)
        else None
    ),
    "pagerduty": lambda env, parameters, sns, clock: (
        PagerDutyChannel(
            env[PAGERDUTY_KEY_VARIABLE],
            parameters,
            api_base=env.get(PAGERDUTY_API_BASE_VARIABLE) or DEFAULT_PAGERDUTY_API_BASE,
            clock=clock,
        )
        if env.get(PAGERDUTY_KEY_VARIABLE)
        else None
    ),
}
