"""Where alerts go: the channels' table, the one place that names them all. Each channel is a
module of its own: how it renders an alert or a group, how it sends, and ``from_environment``,
which makes it from the function's environment when the stack configured it. The transport they
share (``post``, ``Parameters``) is ``lambda_src.transport``.

Adding a channel: its module, one line in ``_MODULES``, its settings in
``constructs_lib/model/alert_channels.py``, and tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from lambda_src import chatwork, mail, pagerduty, slack, teams
from lambda_src.transport import AWS_TIMEOUTS, HTTP_TIMEOUT_SECONDS, Channel, Parameters, post, usable_url

__all__ = ["AWS_TIMEOUTS", "CHANNELS", "HTTP_TIMEOUT_SECONDS", "Channel", "Parameters", "configured_channels", "post",
           "usable_url"]  # fmt: skip

# Each channel's module, by name, in the order alerts list them. "log" (the full alert record in
# the function's log group, which cannot fail) is the handler's own and comes first.
_MODULES: dict[str, ModuleType] = {
    "email": mail,
    "slack": slack,
    "chatwork": chatwork,
    "teams": teams,
    "pagerduty": pagerduty,
}
CHANNELS: tuple[str, ...] = ("log", *_MODULES)


def configured_channels(
    environ: Mapping[str, str],
    *,
    parameters: Parameters,
    sns_client: Callable[[], Any],
    clock: Callable[[], float] = time.time,
) -> dict[str, Channel]:
    """The channels the function's environment configures, by name, in ``CHANNELS`` order (``log``
    is not among them)."""
    channels: dict[str, Channel] = {}
    for name, module in _MODULES.items():
        channel = module.from_environment(environ, parameters=parameters, sns_client=sns_client, clock=clock)
        if channel is not None:
            channels[name] = channel
    return channels
