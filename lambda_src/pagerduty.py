"""PagerDuty: an alert as an Events API v2 event. https://developer.pagerduty.com/docs/events-api-v2/trigger-events/

``POST https://events.pagerduty.com/v2/enqueue`` with ``routing_key`` (the integration key, kept in
SSM), ``event_action`` and ``dedup_key``. A trigger's ``dedup_key`` is the alert's id (the
execution ARN, or the missed run's id): a trigger with the key of an open incident is added to it,
so a delivery that is retried never pages twice. A recovery resolves the incident of the job's
last failure. PagerDuty groups incidents itself: each alert is its own event, never a digest.
Accepted: 202 ``{"status": "success"}``; 400 for an invalid event; 429 when the key sends more than
its rate limit.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lambda_src.contract import (
    ERROR_FAILED_TO_START,
    ERROR_LONG_RUN,
    ERROR_MISSED,
    ERROR_NOT_STARTED,
    ERROR_PREVIOUS_RUN,
    PLACEMENT_ERRORS,
    setting_variable,
)
from lambda_src.digest import Part
from lambda_src.message import Alert
from lambda_src.transport import Channel, Parameters, post

__all__ = ["API_BASE_VARIABLE", "DEDUP_KEY_LIMIT", "DEFAULT_API_BASE", "KEY_VARIABLE", "SUMMARY_LIMIT",
           "PagerDutyChannel", "from_environment", "pagerduty_event", "pagerduty_parts", "severity"]  # fmt: skip

# The SecureString parameter holding the integration (routing) key; the API's address may be
# replaced (a stand-in server in the tests).
KEY_VARIABLE = setting_variable("pagerduty_routing_key_ssm_parameter")
API_BASE_VARIABLE = "PAGERDUTY_API_BASE"
DEFAULT_API_BASE = "https://events.pagerduty.com"
SUMMARY_LIMIT = 1024
DEDUP_KEY_LIMIT = 255
# The job did not run at all: the report did not go out.
_DID_NOT_RUN = frozenset({*PLACEMENT_ERRORS, ERROR_FAILED_TO_START, ERROR_NOT_STARTED, ERROR_MISSED})


def severity(alert: Alert) -> str:
    """``critical`` when the job did not run at all, ``warning`` for a run refused because the
    previous one still ran, ``info`` for a test or an unrecognised payload, else ``error``."""
    error = alert.record.get("error")
    if error in _DID_NOT_RUN:
        return "critical"
    if error in (ERROR_PREVIOUS_RUN, ERROR_LONG_RUN):
        return "warning"
    if alert.job is None:
        return "info"
    return "error"


def pagerduty_event(alert: Alert, *, routing_key: str) -> dict[str, Any]:
    """The Events API v2 body for ``alert``: a trigger, or for a recovery the resolve of the
    incident its last failure opened."""
    if alert.kind == "recovered":
        key = str(alert.record.get("resolves") or alert.alert_id or alert.title)
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": key[:DEDUP_KEY_LIMIT]}
    key = alert.alert_id or alert.title
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": key[:DEDUP_KEY_LIMIT],
        "payload": {
            "summary": alert.title[:SUMMARY_LIMIT],
            "source": str(alert.record.get("stack") or "scheduled-jobs"),
            "severity": severity(alert),
            "component": alert.job or "alert function",
            "group": str(alert.record.get("stack") or ""),
            "class": str(alert.record.get("error") or alert.kind or ""),
            "custom_details": {"what": alert.what, **dict(alert.facts)},
        },
        "links": [{"href": url, "text": label} for label, url in alert.links],
    }


def pagerduty_parts(alerts: Sequence[Alert], *, stack: str) -> list[Part]:
    """One event per alert (the routing key is added when it is sent)."""
    del stack
    return [Part(alert, (index,)) for index, alert in enumerate(alerts)]


# An Events API v2 integration key: 32 characters, letters and digits.
_ROUTING_KEY = re.compile(r"[A-Za-z0-9]{32}")


@dataclass
class PagerDutyChannel(Channel):
    """PagerDuty's Events API v2 (``lambda_src.pagerduty``); the integration's routing key is the
    SecureString ``key_parameter``."""

    key_parameter: str
    parameters: Parameters
    api_base: str = DEFAULT_API_BASE
    clock: Callable[[], float] = time.time
    name: str = "pagerduty"

    def parts(self, alerts: Sequence[Alert], *, stack: str) -> list[Part]:
        return pagerduty_parts(alerts, stack=stack)

    def deliver(self, part: Part, *, timeout: float) -> str:
        key = self.parameters.checked(
            self.key_parameter,
            service="pagerduty",
            shape="an integration (routing) key of 32 letters and digits",
            valid=lambda value: _ROUTING_KEY.fullmatch(value) is not None,
        )
        body = json.dumps(pagerduty_event(part.document, routing_key=key), ensure_ascii=False).encode()
        url = f"{self.api_base.rstrip('/')}/v2/enqueue"
        headers = {"Content-Type": "application/json"}
        with self.parameters.forgotten_when_refused(self.key_parameter):
            return post(
                url, body, headers=headers, service="pagerduty", timeout=timeout, secrets=(key,), clock=self.clock
            )


def from_environment(
    env: Mapping[str, str], *, parameters: Parameters, sns_client: Callable[[], Any], clock: Callable[[], float]
) -> PagerDutyChannel | None:
    """The channel when ``[alert] pagerduty_routing_key_ssm_parameter`` names the key's parameter."""
    del sns_client
    key = env.get(KEY_VARIABLE)
    if not key:
        return None
    return PagerDutyChannel(key, parameters, api_base=env.get(API_BASE_VARIABLE) or DEFAULT_API_BASE, clock=clock)
