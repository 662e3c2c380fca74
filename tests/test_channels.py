"""The alert channels against a real local HTTP server and stand-in AWS clients: what each sends,
and how each answer becomes "delivered", "down, retry" or "refused".

``test_alert_lambda.py`` runs the whole handler with moto and hanging servers; these tests need
neither, so ``make mutate`` runs them.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from lambda_src.channels import Parameters, configured_channels, post
from lambda_src.chatwork import ChatworkChannel
from lambda_src.contract import AlertDeliveryError, AlertRejectedError
from lambda_src.mail import EmailChannel
from lambda_src.message import Alert
from lambda_src.slack import SlackChannel
from lambda_src.transport import BODY_EXCERPT

ALERT = Alert(title="[batch] nightly failed: it broke", what="It broke.", facts=(("Job", "nightly"),))


class Server:
    """Answers ``POST /<status>/<body>`` with that status and body, and keeps each request
    (header names in lower case: HTTP does not care)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                server.requests.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": self.rfile.read(length),
                    }
                )
                _, status, body = self.path.split("/", 2)
                if status == "garbage":  # not HTTP at all
                    self.wfile.write(b"nonsense\r\n\r\n")
                    return
                if status == "slow":  # answers after the client gave up
                    time.sleep(1)
                    status = "200"
                if status == "redirect":  # to the URL in the rest of the path
                    self.send_response(302)
                    self.send_header("Location", urllib.parse.unquote(body))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if status == "trickle":  # a byte every 0.2 s, for ever (until the client leaves)
                    self.send_response(200)
                    self.send_header("Content-Length", "1000")
                    self.end_headers()
                    try:
                        for _ in range(1000):
                            self.wfile.write(b"x")
                            self.wfile.flush()
                            time.sleep(0.2)
                    except OSError:
                        pass
                    return
                if status == "echo":  # a 404 page that repeats the request's path
                    page = f"<h1>Not found: {self.path}</h1>".encode()
                    self.send_response(404)
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    return
                payload = urllib.parse.unquote_to_bytes(body.split("/")[0])
                self.send_response(int(status))
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:  # a followed redirect turns a POST into a GET
                server.requests.append({"path": self.path, "headers": {}, "body": b"", "method": "GET"})
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._http.server_address[1]}"
        threading.Thread(target=self._http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.close()


def send(server: Server, path: str, body: bytes = b"{}") -> str:
    return post(f"{server.base}/{path}", body, headers={"X-Test": "1"}, service="svc", timeout=5)


# --- post ---------------------------------------------------------------------------------------


def test_a_2xx_answer_is_delivered_with_its_status_and_body(server):
    assert send(server, "200/ok") == "HTTP 200 ok"
    assert send(server, "204/") == "HTTP 204"
    with pytest.raises(AlertRejectedError) as raised:
        send(server, "404/")
    assert str(raised.value) == "svc refused the alert: HTTP 404"
    request = server.requests[-1]
    assert request["headers"]["x-test"] == "1"
    assert request["body"] == b"{}"


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_429_and_5xx_are_worth_a_retry(server, status):
    with pytest.raises(AlertDeliveryError) as raised:
        send(server, f"{status}/busy%20now")
    assert str(raised.value) == f"svc answered HTTP {status} busy now"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 499])
def test_other_4xx_are_refusals(server, status):
    with pytest.raises(AlertRejectedError) as raised:
        send(server, f"{status}/no_team")
    assert str(raised.value) == f"svc refused the alert: HTTP {status} no_team"


def test_the_answer_is_one_line_and_clipped(server):
    assert send(server, "200/%20line%0Aone%0A%0Atwo%20") == "HTTP 200 line one  two"
    exact = "a" * BODY_EXCERPT
    assert send(server, f"200/{exact}") == f"HTTP 200 {exact}"
    assert send(server, f"200/{exact}b") == f"HTTP 200 {exact}…"
    assert send(server, "200/%FFok") == "HTTP 200 \ufffdok"  # not UTF-8: replaced, not a crash


def test_an_unreachable_or_garbled_service_is_worth_a_retry(server):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(AlertDeliveryError) as refused:
        post(f"http://127.0.0.1:{port}/x", b"", headers={}, service="svc", timeout=5)
    assert str(refused.value) == "svc unreachable: [Errno 111] Connection refused"
    with pytest.raises(AlertDeliveryError) as garbled:
        send(server, "garbage/")
    assert str(garbled.value) == "svc unreachable: nonsense\r\n"  # http.client's BadStatusLine: the line it got


def test_a_service_that_does_not_answer_in_time_is_worth_a_retry(server):
    started = time.monotonic()
    with pytest.raises(AlertDeliveryError) as raised:
        post(f"{server.base}/slow/", b"", headers={}, service="svc", timeout=0.2)
    assert str(raised.value) == "svc unreachable: timed out"
    assert time.monotonic() - started < 0.9  # gave up at the timeout, not when the answer came


def test_errors_never_name_the_url(server):
    secret = "T000/B000/XXXXsecret"
    with pytest.raises(AlertRejectedError) as raised:
        post(f"{server.base}/404/no_service/{secret}", b"", headers={}, service="slack", timeout=5)
    assert secret not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


# --- SSM parameters and AWS errors -------------------------------------------------------------


class ClientError(Exception):
    """What botocore raises: the answer is in ``response``."""

    def __init__(self, code: str, status: int | None) -> None:
        super().__init__(code)
        metadata = {"HTTPStatusCode": status} if status is not None else {}
        self.response = {"Error": {"Code": code}, "ResponseMetadata": metadata}


class SSM:
    def __init__(self, values: dict[str, str], error: Exception | None = None) -> None:
        self.values, self.error, self.calls = values, error, []

    def get_parameter(self, **kwargs: Any) -> dict:
        self.calls.append(kwargs)
        if self.error:
            raise self.error
        return {"Parameter": {"Value": self.values[kwargs["Name"]]}}


def test_parameters_are_read_decrypted_once_and_forgotten_on_request():
    ssm = SSM({"/a": "one", "/b": "two"})
    made = []
    parameters = Parameters(lambda: made.append(1) or ssm)
    assert made == []  # no client before the first read
    assert [parameters.get("/a"), parameters.get("/a"), parameters.get("/b")] == ["one", "one", "two"]
    assert ssm.calls == [{"Name": "/a", "WithDecryption": True}, {"Name": "/b", "WithDecryption": True}]
    assert made == [1]
    ssm.values["/a"] = "rotated"
    parameters.forget("/a")
    parameters.forget("/never-read")
    assert parameters.get("/a") == "rotated"
    assert parameters.get("/b") == "two"
    assert len(ssm.calls) == 3


@pytest.mark.parametrize(
    ("error", "kind", "message"),
    [
        (
            ClientError("ParameterNotFound", 400),
            AlertRejectedError,
            "SSM (parameter /a) answered ParameterNotFound (HTTP 400)",
        ),
        (
            ClientError("AccessDeniedException", 403),
            AlertRejectedError,
            "SSM (parameter /a) answered AccessDeniedException (HTTP 403)",
        ),
        (
            ClientError("ThrottlingException", 400),
            AlertDeliveryError,
            "SSM (parameter /a) answered ThrottlingException (HTTP 400)",
        ),
        (
            ClientError("TooManyRequests", 429),
            AlertDeliveryError,
            "SSM (parameter /a) answered TooManyRequests (HTTP 429)",
        ),
        (
            ClientError("InternalServerError", 500),
            AlertDeliveryError,
            "SSM (parameter /a) answered InternalServerError (HTTP 500)",
        ),
        (ClientError("Odd", 499), AlertRejectedError, "SSM (parameter /a) answered Odd (HTTP 499)"),
        (ClientError("NoStatus", None), AlertDeliveryError, "SSM (parameter /a) answered NoStatus"),
        (TimeoutError("read timed out"), AlertDeliveryError, "SSM (parameter /a) answered TimeoutError"),
    ],
)
def test_aws_errors_are_retryable_when_throttled_failing_or_unanswered(error, kind, message):
    parameters = Parameters(lambda: SSM({}, error))
    with pytest.raises(kind) as raised:
        parameters.get("/a")
    assert type(raised.value) is kind
    assert str(raised.value) == message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


# --- each channel ------------------------------------------------------------------------------


def test_slack_posts_the_message_as_json_to_the_webhook(server):
    parameters = Parameters(lambda: SSM({"/hook": f"{server.base}/200/ok"}))
    channel = SlackChannel("/hook", parameters)
    assert channel.name == "slack"
    assert channel.send(ALERT, timeout=5) == "HTTP 200 ok"
    request = server.requests[-1]
    assert request["path"] == "/200/ok"
    assert request["headers"]["content-type"] == "application/json; charset=utf-8"
    assert json.loads(request["body"]) == {
        "text": "[batch] nightly failed: it broke",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "*[batch] nightly failed: it broke*"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "It broke."}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Job:* nightly"}},
        ],
    }


def test_slack_sends_utf8_not_escapes(server):
    parameters = Parameters(lambda: SSM({"/hook": f"{server.base}/200/ok"}))
    SlackChannel("/hook", parameters).send(Alert(title="ジョブ失敗", what="w"), timeout=5)
    assert "ジョブ失敗".encode() in server.requests[-1]["body"]


@pytest.mark.parametrize(("status", "forgotten"), [(404, True), (503, False)])
def test_slack_forgets_a_refused_webhook_only(server, status, forgotten):
    ssm = SSM({"/hook": f"{server.base}/{status}/x"})
    parameters = Parameters(lambda: ssm)
    with pytest.raises((AlertRejectedError, AlertDeliveryError)) as raised:
        SlackChannel("/hook", parameters).send(ALERT, timeout=5)
    assert str(raised.value) == ("slack refused the alert: HTTP 404 x" if forgotten else "slack answered HTTP 503 x")
    ssm.values["/hook"] = f"{server.base}/200/ok"
    assert parameters.get("/hook") == (f"{server.base}/200/ok" if forgotten else f"{server.base}/{status}/x")


def test_chatwork_posts_a_form_with_the_token_header(server):
    parameters = Parameters(lambda: SSM({"/token": "tok"}))
    channel = ChatworkChannel("12 3/4", "/token", parameters, api_base=f"{server.base}/200/done/")
    assert channel.name == "chatwork"
    assert channel.send(ALERT, timeout=5) == "HTTP 200 done"
    request = server.requests[-1]
    assert request["path"] == "/200/done/v2/rooms/12%203%2F4/messages"
    assert request["headers"]["x-chatworktoken"] == "tok"
    assert request["headers"]["content-type"] == "application/x-www-form-urlencoded; charset=utf-8"
    assert urllib.parse.parse_qs(request["body"].decode()) == {
        "body": ["[info][title][batch] nightly failed: it broke[/title]It broke.\n\nJob: nightly[/info]"],
        "self_unread": ["1"],
    }


@pytest.mark.parametrize("channel", ["slack", "chatwork"])
def test_each_channel_gives_its_request_the_timeout(server, channel):
    parameters = Parameters(lambda: SSM({"/hook": f"{server.base}/slow/", "/token": "tok"}))
    target = (
        SlackChannel("/hook", parameters)
        if channel == "slack"
        else ChatworkChannel("1", "/token", parameters, api_base=f"{server.base}/slow/")
    )
    with pytest.raises(AlertDeliveryError) as raised:
        target.send(ALERT, timeout=0.2)
    assert str(raised.value) == f"{channel} unreachable: timed out"


def test_chatwork_defaults_to_the_public_api():
    channel = ChatworkChannel("1", "/token", Parameters(lambda: SSM({})))
    assert channel.api_base == "https://api.chatwork.com"


@pytest.mark.parametrize(("status", "forgotten"), [(401, True), (500, False)])
def test_chatwork_forgets_a_refused_token_only(server, status, forgotten):
    ssm = SSM({"/token": "old"})
    parameters = Parameters(lambda: ssm)
    channel = ChatworkChannel("1", "/token", parameters, api_base=f"{server.base}/{status}/x")
    with pytest.raises((AlertRejectedError, AlertDeliveryError)) as raised:
        channel.send(ALERT, timeout=5)
    assert str(raised.value) == (
        "chatwork refused the alert: HTTP 401 x" if forgotten else "chatwork answered HTTP 500 x"
    )
    ssm.values["/token"] = "new"
    assert parameters.get("/token") == ("new" if forgotten else "old")


class SNS:
    def __init__(self, answer: dict | None = None, error: Exception | None = None) -> None:
        self.answer, self.error, self.calls = answer or {}, error, []

    def publish(self, **kwargs: Any) -> dict:
        self.calls.append(kwargs)
        if self.error:
            raise self.error
        return self.answer


def test_email_publishes_subject_and_body_to_the_topic():
    sns = SNS({"MessageId": "m-1"})
    channel = EmailChannel("arn:aws:sns:eu-west-1:1:alerts", lambda: sns)
    assert channel.name == "email"
    assert channel.send(ALERT, timeout=0.001) == "SNS message m-1"
    assert sns.calls == [
        {
            "TopicArn": "arn:aws:sns:eu-west-1:1:alerts",
            "Subject": "[batch] nightly failed: it broke",
            "Message": "It broke.\n\nJob: nightly\n",
        }
    ]
    assert EmailChannel("t", lambda: SNS({})).send(ALERT, timeout=1) == "SNS message ?"


@pytest.mark.parametrize(
    ("error", "kind", "message"),
    [
        (ClientError("AuthorizationError", 403), AlertRejectedError, "SNS answered AuthorizationError (HTTP 403)"),
        (ClientError("Throttled", 400), AlertDeliveryError, "SNS answered Throttled (HTTP 400)"),
        (ConnectionError("reset"), AlertDeliveryError, "SNS answered ConnectionError"),
    ],
)
def test_email_errors(error, kind, message):
    with pytest.raises(kind) as raised:
        EmailChannel("t", lambda: SNS(error=error)).send(ALERT, timeout=1)
    assert str(raised.value) == message


# --- which channels the environment configures -----------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, {}),
        ({"SNS_TOPIC_ARN": "arn:t"}, {"email": ("arn:t",)}),
        ({"SNS_TOPIC_ARN": ""}, {}),
        ({"WEBHOOK_SSM_PARAMETER": "/hook"}, {"slack": ("/hook",)}),
        ({"CHATWORK_ROOM_ID": "1"}, {}),
        ({"CHATWORK_TOKEN_SSM_PARAMETER": "/token"}, {}),
        (
            {"CHATWORK_ROOM_ID": "1", "CHATWORK_TOKEN_SSM_PARAMETER": "/token"},
            {"chatwork": ("1", "/token", "https://api.chatwork.com")},
        ),
        (
            {"CHATWORK_ROOM_ID": "1", "CHATWORK_TOKEN_SSM_PARAMETER": "/token", "CHATWORK_API_BASE": ""},
            {"chatwork": ("1", "/token", "https://api.chatwork.com")},
        ),
        (
            {
                "SNS_TOPIC_ARN": "arn:t",
                "WEBHOOK_SSM_PARAMETER": "/hook",
                "CHATWORK_ROOM_ID": "1",
                "CHATWORK_TOKEN_SSM_PARAMETER": "/token",
                "CHATWORK_API_BASE": "http://127.0.0.1:9",
            },
            {"email": ("arn:t",), "slack": ("/hook",), "chatwork": ("1", "/token", "http://127.0.0.1:9")},
        ),
    ],
)
def test_the_environment_configures_the_channels(environ, expected):
    parameters = Parameters(lambda: SSM({}))
    sns_client = SNS

    channels = configured_channels(environ, parameters=parameters, sns_client=sns_client)
    described = {}
    for name, channel in channels.items():
        if isinstance(channel, EmailChannel):
            assert channel.client_factory is sns_client
            described[name] = (channel.topic_arn,)
        elif isinstance(channel, SlackChannel):
            assert channel.parameters is parameters
            described[name] = (channel.parameter,)
        else:
            assert channel.parameters is parameters
            described[name] = (channel.room_id, channel.token_parameter, channel.api_base)
    assert described == expected
    assert list(channels) == list(expected)  # in this order: e-mail first


# --- secrets stored badly, redirects, schemes, slow and huge answers --------------------------------

SECRET_PATH = "services/T0SECRET/B0SECRET/s3cr3tp4th"


class StoredSSM:
    """An SSM stand-in holding one parameter's value, as a user stored it."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.reads = 0

    def get_parameter(self, Name: str, WithDecryption: bool) -> dict[str, Any]:
        self.reads += 1
        return {"Parameter": {"Value": self.values[Name]}}


@pytest.mark.parametrize(
    "stored",
    [
        "hooks.slack.com/services/T0SECRET/B0SECRET/s3cr3tp4th",  # no scheme
        "https://hooks.slack.com/services/T0SECRET/B0SECRET/s3cr3t p4th",  # a space inside
        "https://hooks.slack.com/services/T0SECRET/\nB0SECRET/s3cr3tp4th",  # a newline inside
        "file:///proc/self/environ",  # not a web address at all
        "http://hooks.slack.com/services/T0SECRET/B0SECRET/s3cr3tp4th",  # plain http, not to loopback
    ],
    ids=["no-scheme", "space", "newline", "file", "http"],
)
def test_a_webhook_stored_malformed_is_refused_naming_the_parameter_not_the_value(stored):
    ssm = StoredSSM({"/hook": stored})
    channel = SlackChannel("/hook", Parameters(lambda: ssm))
    with pytest.raises(AlertRejectedError) as raised:
        channel.send(ALERT, timeout=5)
    message = str(raised.value)
    assert message.startswith("slack: the value of SSM parameter /hook is not an https webhook URL")
    assert "SECRET" not in message and "environ" not in message
    with pytest.raises(AlertRejectedError):
        channel.send(ALERT, timeout=5)
    assert ssm.reads == 2  # forgotten after the refusal: a corrected value is read at once


def test_a_token_stored_with_a_trailing_newline_is_used_without_it(server):
    ssm = StoredSSM({"/token": "0123456789abcdef0123456789abcdef\n"})
    channel = ChatworkChannel("1", "/token", Parameters(lambda: ssm), api_base=f"{server.base}/200/done/")
    assert channel.send(ALERT, timeout=5) == "HTTP 200 done"
    assert server.requests[-1]["headers"]["x-chatworktoken"] == "0123456789abcdef0123456789abcdef"


def test_a_token_with_other_characters_is_refused_without_showing_it(server):
    ssm = StoredSSM({"/token": "0123 secret\r\nX-Other: 1"})
    channel = ChatworkChannel("1", "/token", Parameters(lambda: ssm), api_base=f"{server.base}/200/done/")
    with pytest.raises(AlertRejectedError) as raised:
        channel.send(ALERT, timeout=5)
    assert "secret" not in str(raised.value) and "/token" in str(raised.value)


def test_an_answer_that_echoes_the_secret_path_is_redacted(server):
    with pytest.raises(AlertRejectedError) as raised:
        post(f"{server.base}/echo/{SECRET_PATH}", b"{}", headers={}, service="slack", timeout=5)
    assert str(raised.value) == "slack refused the alert: HTTP 404 <h1>Not found: [redacted]</h1>"


def test_an_answer_that_echoes_the_token_is_redacted(server):
    token = "0123456789abcdef0123456789abcdef"
    with pytest.raises(AlertRejectedError) as raised:
        post(
            f"{server.base}/401/bad%20token%20{token}",
            b"{}",
            headers={},
            service="chatwork",
            timeout=5,
            secrets=(token,),
        )
    assert str(raised.value) == "chatwork refused the alert: HTTP 401 bad token [redacted]"


def test_a_redirect_is_not_followed_and_the_token_goes_nowhere_else(server):
    other = Server()
    try:
        target = urllib.parse.quote(f"{other.base}/200/stolen", safe="")
        with pytest.raises(AlertRejectedError) as raised:
            post(
                f"{server.base}/redirect/{target}",
                b"{}",
                headers={"X-ChatWorkToken": "t"},
                service="chatwork",
                timeout=5,
            )
        assert str(raised.value) == "chatwork redirected the alert (not followed): HTTP 302"
        assert other.requests == []
    finally:
        other.close()


def test_a_trickling_answer_ends_within_the_request_s_time(server):
    started = time.monotonic()
    with pytest.raises(AlertDeliveryError) as raised:
        post(f"{server.base}/trickle/", b"{}", headers={}, service="slack", timeout=0.5)
    assert time.monotonic() - started < 1.5  # the whole request, not each read, is bounded
    assert str(raised.value).startswith("slack unreachable: ")


def test_at_most_a_few_kib_of_an_answer_are_read():
    from lambda_src.transport import MAX_ANSWER_BYTES, _read

    class Huge:
        read_bytes = 0

        def read1(self, size: int) -> bytes:
            Huge.read_bytes += size
            return b"x" * size

    assert len(_read(Huge(), time.monotonic() + 5)) == MAX_ANSWER_BYTES == 4096
    assert Huge.read_bytes == 4096


def test_a_usable_webhook_is_https_with_a_host_and_nothing_invisible():
    from lambda_src.channels import usable_url

    assert usable_url("https://hooks.slack.com/services/T/B/x") is True
    assert usable_url("http://127.0.0.1:8080/x") is True and usable_url("http://localhost/x") is True
    assert usable_url("http://example.com/x") is False
    assert usable_url("https:///no-host") is False
    assert usable_url("HTTPS://hooks.slack.com/x") is True  # urlsplit lowers the scheme
    for invisible in ("\x1f", "\x7f", "\x00", "\u2028"):
        assert usable_url(f"https://hooks.slack.com/x{invisible}y") is False, repr(invisible)
    assert usable_url("https://hooks.slack.com/x~!$&'()*+,;=:@y") is True  # every visible character is fine


def test_only_secrets_of_four_characters_or_more_are_redacted(server):
    # A path of "/200/abc" is hidden; a secret of three characters is not (it would hide ordinary words).
    with pytest.raises(AlertRejectedError) as raised:
        post(f"{server.base}/404/the%20abc%20abcd", b"{}", headers={}, service="s", timeout=5, secrets=("abc", "abcd"))
    assert str(raised.value) == "s refused the alert: HTTP 404 the abc [redacted]"
