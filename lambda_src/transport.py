"""How a channel reaches its service: one HTTPS POST within a deadline (``post``), SecureString
parameters read once (``Parameters``), and the ``Channel`` every channel module implements.

``post`` returns a short description of what the service answered, or raises
``AlertDeliveryError`` (down: retry) or ``AlertRejectedError`` (refused: do not). Secrets are read
from SSM Parameter Store at run time, cached for the life of the execution environment, and
never written to a log or an error message.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from lambda_src.contract import AlertDeliveryError, AlertRejectedError
from lambda_src.digest import Part
from lambda_src.message import Alert

__all__ = [
    "AWS_TIMEOUTS",
    "HTTP_TIMEOUT_SECONDS",
    "Channel",
    "Parameters",
    "aws_client",
    "client_error",
    "log_line",
    "post",
    "usable_url",
]

# Each HTTP request gives up after this; the function's timeout (60 s) leaves room for an SSM
# read and a request on every channel in one invocation.
HTTP_TIMEOUT_SECONDS = 10.0
# boto3 calls (SSM, SNS): 2 s to connect, 5 s to read, 2 attempts in all: at most 14 s. botocore's
# `max_attempts` counts retries after the first attempt; `total_max_attempts` counts them all.
# https://botocore.amazonaws.com/v1/documentation/api/latest/reference/config.html
AWS_TIMEOUTS = {"connect_timeout": 2, "read_timeout": 5, "retries": {"total_max_attempts": 2, "mode": "standard"}}
BODY_EXCERPT = 120  # characters of a refusal's response body kept in the log line
MAX_ANSWER_BYTES = 4096  # read of any answer: a status and a short body are all an alert needs
# Plain HTTP only to this machine (the tests' stand-ins); every service is reached over https.
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a new request: following one would send the token to another
    host, or turn a POST into a GET that "succeeds" with nothing posted."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects())


def usable_url(url: str) -> bool:
    """An https URL with a host and no white space or control character (plain http to loopback)."""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return False
    parts = urllib.parse.urlsplit(url)
    return bool(parts.hostname) and (
        parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)
    )


def post(
    url: str,
    data: bytes,
    *,
    headers: Mapping[str, str],
    service: str,
    timeout: float,
    secrets: tuple[str, ...] = (),
    clock: Callable[[], float] = time.time,
) -> str:
    """POST ``data``; return ``"HTTP <status> <body excerpt>"`` or raise one of the two errors.

    Messages name the ``service``, never the URL: a webhook URL is itself the secret, and so is
    any of ``secrets`` (a token); an answer that echoes one has it redacted. The whole request
    ends within ``timeout`` seconds, redirects are not followed, and at most ``MAX_ANSWER_BYTES``
    of the answer are read. A 429's error carries the wait the service asked for (``retry_after``),
    measured against ``clock`` where the service names a moment.
    """
    parts = urllib.parse.urlsplit(url)
    hidden = tuple(s for s in (parts.path, parts.query, *secrets) if len(s) >= 4)
    deadline = time.monotonic() + timeout
    try:
        request = urllib.request.Request(url, data=data, method="POST", headers=dict(headers))
        with _OPENER.open(request, timeout=timeout) as response:
            return f"HTTP {response.status} {_excerpt(_read(response, deadline), hidden)}".rstrip()
    except urllib.error.HTTPError as error:
        answer = f"HTTP {error.code} {_excerpt(_read(error, deadline), hidden)}".rstrip()
        if error.code == 429 or error.code >= 500:
            wait = _retry_after(error.headers, clock) if error.code == 429 else None
            raise AlertDeliveryError(f"{service} answered {answer}", retry_after=wait) from None
        if 300 <= error.code < 400:
            raise AlertRejectedError(f"{service} redirected the alert (not followed): {answer}") from None
        raise AlertRejectedError(f"{service} refused the alert: {answer}") from None
    except (OSError, http.client.HTTPException) as error:  # URLError, timeouts, resets, bad answers
        reason = _redact(str(getattr(error, "reason", None) or error), hidden)
        raise AlertDeliveryError(f"{service} unreachable: {reason}") from None
    except ValueError:  # a URL or a header value urllib cannot send: its text would hold the secret
        raise AlertRejectedError(f"{service}: the request could not be built from the stored settings") from None


def _retry_after(headers: Any, clock: Callable[[], float]) -> float | None:
    """The seconds a rate-limited answer asks to wait: HTTP's ``Retry-After`` (in seconds; an HTTP
    date is not read), or the widespread ``x-ratelimit-reset`` (the epoch second the window
    resets); ``None`` when neither header is there or readable. Each channel's module says which
    its service sends.
    https://www.rfc-editor.org/rfc/rfc9110#field.retry-after"""
    try:
        if headers.get("Retry-After") is not None:
            return max(0.0, float(headers["Retry-After"]))
        if headers.get("x-ratelimit-reset") is not None:
            return max(0.0, float(headers["x-ratelimit-reset"]) - clock())
    except (TypeError, ValueError):  # an HTTP date, or nothing readable: the channel's backoff applies
        return None
    return None


def _read(response: Any, deadline: float) -> bytes:
    """At most ``MAX_ANSWER_BYTES`` of the answer, before ``deadline``: a server that trickles its
    answer, or sends a huge one, costs the invocation neither its time nor its memory."""
    chunks: list[bytes] = []
    size = 0
    while size < MAX_ANSWER_BYTES:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the answer did not arrive in time")
        _set_timeout(response, left)
        chunk = (
            response.read1(MAX_ANSWER_BYTES - size)
            if hasattr(response, "read1")
            else response.read(MAX_ANSWER_BYTES - size)
        )
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _set_timeout(response: Any, seconds: float) -> None:
    """Each read waits at most what is left of the request's time."""
    sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.01))


def _redact(text: str, hidden: tuple[str, ...]) -> str:
    for secret in hidden:
        text = text.replace(secret, "[redacted]")
    return text


def _excerpt(body: bytes, hidden: tuple[str, ...] = ()) -> str:
    text = _redact(body.decode("utf-8", "replace"), hidden).strip().replace("\n", " ")
    return text if len(text) <= BODY_EXCERPT else text[:BODY_EXCERPT] + "…"


def client_error(service: str, error: Exception) -> Exception:
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
                failure = client_error(f"SSM (parameter {name})", error)
                raise failure from None
            # Stored with a trailing newline (put-parameter --value file://token.txt) or spaces:
            # the secret is the text inside.
            self._values[name] = answer["Parameter"]["Value"].strip()
        return self._values[name]

    def forget(self, name: str) -> None:
        """Drop a cached value the service refused (a rotated token is read again next time)."""
        self._values.pop(name, None)

    @contextlib.contextmanager
    def forgotten_when_refused(self, name: str) -> Iterator[None]:
        """Around a request that sends ``name``'s value: when the service refuses it
        (``AlertRejectedError``), the cached value is dropped, so a rotated secret is read again."""
        try:
            yield
        except AlertRejectedError:
            self.forget(name)
            raise

    def checked(self, name: str, *, service: str, shape: str, valid: Callable[[str], bool]) -> str:
        """The parameter's value, when ``valid`` finds it has the shape of ``shape``. Otherwise it
        is forgotten (a corrected value is read at once) and the alert refused, naming the
        parameter, never the value: a malformed secret is still a secret."""
        value = self.get(name)
        if not valid(value):
            self.forget(name)
            raise AlertRejectedError(
                f"{service}: the value of SSM parameter {name} is not {shape} (its value is not shown); store "
                'it again (docs/alerts.md, "Setting up each channel")'
            )
        return value


class Channel:
    """A place alerts go. ``parts`` renders a group of alerts as the channel's messages (one alert:
    one message, as ``lambda_src.message`` words it); ``deliver`` sends one of them."""

    name: str

    def parts(self, alerts: Sequence[Alert], *, stack: str) -> list[Part]:
        raise NotImplementedError

    def deliver(self, part: Part, *, timeout: float) -> str:
        raise NotImplementedError

    def send(self, alert: Alert, *, timeout: float) -> str:
        """One alert, at once (the state machine's direct path, ``make test-alert``)."""
        (part,) = self.parts([alert], stack="")
        return self.deliver(part, timeout=timeout)


def aws_client(service: str) -> Any:
    """A boto3 client with ``AWS_TIMEOUTS`` (the Lambda runtime provides boto3; imported here so
    that the formatting code needs none)."""
    import boto3
    from botocore.config import Config

    return boto3.client(service, config=Config(**AWS_TIMEOUTS))


def log_line(entry: Mapping[str, Any]) -> None:
    """One JSON line in the function's log (stdout goes to its log group)."""
    print(json.dumps(entry, sort_keys=True, ensure_ascii=False, default=repr), file=sys.stdout, flush=True)
