"""Where alerts go: Slack-compatible webhooks, Chatwork and the SNS topic (e-mail).

Each channel ``send``s one ``Alert`` and returns a short description of what the service answered,
or raises ``AlertDeliveryError`` (down: retry) or ``AlertRejectedError`` (refused: do not). Secrets
(the webhook URL, the Chatwork token) are read from SSM Parameter Store at run time, cached for
the life of the execution environment, and never written to a log or an error message.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lambda_src.contract import (
    CHATWORK_API_BASE_VARIABLE,
    CHATWORK_ROOM_VARIABLE,
    CHATWORK_TOKEN_VARIABLE,
    DEFAULT_CHATWORK_API_BASE,
    SNS_TOPIC_VARIABLE,
    WEBHOOK_PARAMETER_VARIABLE,
    AlertDeliveryError,
    AlertRejectedError,
)
from lambda_src.message import Alert, chatwork_message, email_message, slack_message

__all__ = [
    "AWS_TIMEOUTS",
    "HTTP_TIMEOUT_SECONDS",
    "Channel",
    "ChatworkChannel",
    "EmailChannel",
    "Parameters",
    "SlackChannel",
    "configured_channels",
    "post",
]

# Each HTTP request gives up after this; the function's timeout (60 s) leaves room for an SSM
# read and a request on every channel in one invocation.
HTTP_TIMEOUT_SECONDS = 10.0
# boto3 calls (SSM, SNS): 2 s to connect, 5 s to read, 2 attempts in all: at most 14 s. botocore's
# `max_attempts` counts retries after the first attempt; `total_max_attempts` counts them all.
# https://botocore.amazonaws.com/v1/documentation/api/latest/reference/config.html
AWS_TIMEOUTS = {"connect_timeout": 2, "read_timeout": 5, "retries": {"total_max_attempts": 2, "mode": "standard"}}
BODY_EXCERPT = 120  # characters of a refusal's response body kept in the log line


def post(url: str, data: bytes, *, headers: Mapping[str, str], service: str, timeout: float) -> str:
    """POST ``data``; return ``"HTTP <status> <body excerpt>"`` or raise one of the two errors.

    Messages name the ``service``, never the URL: a webhook URL is itself the secret.
    """
    request = urllib.request.Request(url, data=data, method="POST", headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return f"HTTP {response.status} {_excerpt(response.read())}".rstrip()
    except urllib.error.HTTPError as error:
        answer = f"HTTP {error.code} {_excerpt(error.read())}".rstrip()
        if error.code == 429 or error.code >= 500:
            raise AlertDeliveryError(f"{service} answered {answer}") from None
        raise AlertRejectedError(f"{service} refused the alert: {answer}") from None
    except (OSError, http.client.HTTPException) as error:  # URLError, timeouts, resets, bad answers
        reason = getattr(error, "reason", None) or error
        raise AlertDeliveryError(f"{service} unreachable: {reason}") from None


def _excerpt(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip().replace("\n", " ")
    return text if len(text) <= BODY_EXCERPT else text[:BODY_EXCERPT] + "…"


def _client_error(service: str, error: Exception) -> Exception:
    """A boto3 error as one of ours: throttling, 5xx and connection trouble are worth a retry."""
    response = getattr(error, "response", None) or {}
    code = response.get("Error", {}).get("Code", type(error).__name__)
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    message = f"{service} answered {code}" + (f" (HTTP {status})" if status else "")
    if status is None or status == 429 or status >= 500 or "Throttl" in code:
        return AlertDeliveryError(message)
    return AlertRejectedError(message)


class Parameters:
    """SecureString parameters, decrypted on first use and cached for the execution environment."""

    def __init__(self, client_factory: Callable[[], Any]) -> None:
        self._client_factory = client_factory
        self._client: Any = None
        self._values: dict[str, str] = {}

    def get(self, name: str) -> str:
        if name not in self._values:
            if self._client is None:
                self._client = self._client_factory()
            try:
                answer = self._client.get_parameter(Name=name, WithDecryption=True)
            except Exception as error:
                failure = _client_error(f"SSM (parameter {name})", error)
                raise failure from None
            self._values[name] = answer["Parameter"]["Value"]
        return self._values[name]

    def forget(self, name: str) -> None:
        """Drop a cached value the service refused (a rotated token is read again next time)."""
        self._values.pop(name, None)


class Channel:
    name: str

    def send(self, alert: Alert, *, timeout: float) -> str:
        raise NotImplementedError


@dataclass
class SlackChannel(Channel):
    """A Slack-compatible incoming webhook; its URL is the SecureString ``parameter``."""

    parameter: str
    parameters: Parameters
    name: str = "slack"

    def send(self, alert: Alert, *, timeout: float) -> str:
        url = self.parameters.get(self.parameter)
        body = json.dumps(slack_message(alert), ensure_ascii=False).encode()
        try:
            return post(
                url, body, headers={"Content-Type": "application/json; charset=utf-8"}, service="slack", timeout=timeout
            )
        except AlertRejectedError:
            self.parameters.forget(self.parameter)
            raise


@dataclass
class ChatworkChannel(Channel):
    """``POST {api_base}/v2/rooms/{room_id}/messages`` with the ``X-ChatWorkToken`` header.
    https://developer.chatwork.com/reference/post-rooms-room_id-messages"""

    room_id: str
    token_parameter: str
    parameters: Parameters
    api_base: str = DEFAULT_CHATWORK_API_BASE
    name: str = "chatwork"

    def send(self, alert: Alert, *, timeout: float) -> str:
        token = self.parameters.get(self.token_parameter)
        url = f"{self.api_base.rstrip('/')}/v2/rooms/{urllib.parse.quote(self.room_id, safe='')}/messages"
        body = urllib.parse.urlencode({"body": chatwork_message(alert), "self_unread": "1"}).encode()
        headers = {"X-ChatWorkToken": token, "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        try:
            return post(url, body, headers=headers, service="chatwork", timeout=timeout)
        except AlertRejectedError:
            self.parameters.forget(self.token_parameter)
            raise


@dataclass
class EmailChannel(Channel):
    """Publishes to the stack's SNS topic: its e-mail subscriptions get the subject and body."""

    topic_arn: str
    client_factory: Callable[[], Any]
    name: str = "email"

    def send(self, alert: Alert, *, timeout: float) -> str:
        del timeout  # boto3's own timeouts (AWS_TIMEOUTS) apply
        subject, body = email_message(alert)
        try:
            answer = self.client_factory().publish(TopicArn=self.topic_arn, Subject=subject, Message=body)
        except Exception as error:
            raise _client_error("SNS", error) from None
        return f"SNS message {answer.get('MessageId', '?')}"


def configured_channels(
    environ: Mapping[str, str], *, parameters: Parameters, sns_client: Callable[[], Any]
) -> dict[str, Channel]:
    """The channels the function's environment configures, by name (``log`` is not among them)."""
    channels: dict[str, Channel] = {}
    if environ.get(SNS_TOPIC_VARIABLE):
        channels["email"] = EmailChannel(environ[SNS_TOPIC_VARIABLE], sns_client)
    if environ.get(WEBHOOK_PARAMETER_VARIABLE):
        channels["slack"] = SlackChannel(environ[WEBHOOK_PARAMETER_VARIABLE], parameters)
    if environ.get(CHATWORK_ROOM_VARIABLE) and environ.get(CHATWORK_TOKEN_VARIABLE):
        channels["chatwork"] = ChatworkChannel(
            environ[CHATWORK_ROOM_VARIABLE],
            environ[CHATWORK_TOKEN_VARIABLE],
            parameters,
            api_base=environ.get(CHATWORK_API_BASE_VARIABLE) or DEFAULT_CHATWORK_API_BASE,
        )
    return channels
