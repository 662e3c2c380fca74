"""Every IAM policy document of a synthesized stack, with its Terraform references resolved to
plausible concrete values, so that an IAM linter can read it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from stack_helpers import resources

ACCOUNT = "123456789012"
# A reference `${<kind>.<name>.<attribute>}` becomes what AWS would put there.
_ARN_OF = {
    "aws_ecs_cluster": "arn:aws:ecs:{region}:{account}:cluster/{name}",
    "aws_cloudwatch_log_group": "arn:aws:logs:{region}:{account}:log-group:{name}",
    "aws_iam_role": "arn:aws:iam::{account}:role/{name}",
    "aws_lambda_function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "aws_sns_topic": "arn:aws:sns:{region}:{account}:{name}",
    "aws_kms_key": "arn:aws:kms:{region}:{account}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "aws_sqs_queue": "arn:aws:sqs:{region}:{account}:{name}",
    "aws_sfn_state_machine": "arn:aws:states:{region}:{account}:stateMachine:{name}",
    "aws_scheduler_schedule_group": "arn:aws:scheduler:{region}:{account}:schedule-group/{name}",
}


@dataclass(frozen=True)
class Document:
    """One policy document: where it is (``kind.name.field``), what it is (``role``, ``trust``,
    ``resource``), and its JSON with references resolved."""

    where: str
    kind: str
    document: dict[str, Any]


def _region(stack: dict[str, Any]) -> str:
    (provider,) = stack["provider"]["aws"]
    return provider["region"]


def _resolve(text: str, stack: dict[str, Any]) -> str:
    region = _region(stack)

    def value(match: re.Match[str]) -> str:
        parts = match.group(1).split(".")
        if parts[0] == "data":
            return {"aws_partition": "aws", "aws_region": region, "aws_caller_identity": ACCOUNT}[parts[1]]
        kind, name, attribute = parts
        body = resources(stack, kind)[name]
        plain = body.get("name") or body.get("family") or name
        if attribute in ("name", "family", "id") and kind != "aws_kms_key":
            return plain
        return _ARN_OF[kind].format(region=region, account=ACCOUNT, name=plain)

    # Resolve inner references first: a name can itself hold a reference.
    previous = None
    while previous != text:
        previous, text = text, re.sub(r"\$\{([a-z0-9_.-]+)\}", value, text, flags=re.I)
    return text


def documents(stack: dict[str, Any]) -> Iterator[Document]:
    """Role policies, trust policies, and the key, topic and queue resource policies."""
    fields = {
        "aws_iam_role_policy": ("policy", "role"),
        "aws_iam_role": ("assume_role_policy", "trust"),
        "aws_kms_key": ("policy", "resource"),
        "aws_sns_topic_policy": ("policy", "resource"),
        "aws_sqs_queue_policy": ("policy", "resource"),
    }
    for resource_kind, (field, kind) in fields.items():
        for name, body in resources(stack, resource_kind).items():
            yield Document(f"{resource_kind}.{name}.{field}", kind, json.loads(_resolve(body[field], stack)))
