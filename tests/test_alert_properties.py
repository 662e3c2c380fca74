"""The alert handler never crashes on its input, whatever it is: property-based tests (hypothesis)
over JSON-like values with any text in them, lone surrogates included, and over odd channels."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_src import alert
from lambda_src.alert import handler
from lambda_src.chatwork import chatwork_message
from lambda_src.contract import AlertRejectedError
from lambda_src.mail import email_message
from lambda_src.message import describe
from lambda_src.slack import slack_message

# Any code point: surrogates too, which JSON carries and UTF-8 cannot encode.
ANY_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()), max_size=40)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=20,
)
KEYS = ["job", "error", "cause", "execution", "stack", "input", "startTime", "gaveUpAt", "schedule", "timezone"]
PAYLOADS = st.fixed_dictionaries({}, optional={key: JSON_VALUES for key in KEYS}) | JSON_VALUES


@pytest.fixture(autouse=True)
def no_channels(monkeypatch):
    """Only the log channel: the properties are about reading the input, not about delivering."""
    for name in ("SNS_TOPIC_ARN", "WEBHOOK_SSM_PARAMETER", "CHATWORK_ROOM_ID", "CHATWORK_TOKEN_SSM_PARAMETER"):
        monkeypatch.delenv(name, raising=False)
    alert.reset()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=PAYLOADS, channel=st.none() | st.just("log") | JSON_VALUES)
def test_the_handler_logs_or_refuses_and_never_crashes(payload: Any, channel: Any, capsys) -> None:
    event = {**payload, "channel": channel} if isinstance(payload, dict) and channel is not None else payload
    try:
        result = handler(event, None)
    except AlertRejectedError as refused:  # a channel that is not configured: refused, by name
        assert str(refused).startswith("channel ")
    else:
        assert result["delivered"]["log"] == "written"
    for line in capsys.readouterr().out.split("\n")[:-1]:  # CloudWatch splits on "\n" only
        json.loads(line)  # every log line is one JSON document


@settings(max_examples=200, deadline=None)
@given(payload=PAYLOADS)
def test_every_message_can_be_sent_as_utf_8(payload: Any) -> None:
    message = describe(alert._clean(payload))
    json.dumps(slack_message(message), ensure_ascii=False).encode("utf-8")
    chatwork_message(message).encode("utf-8")
    subject, body = email_message(message)
    (subject + body).encode("utf-8")
    assert len(subject) <= 99
