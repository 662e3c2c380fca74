"""Small readers for a synthesized stack, so that assertions say what they check."""

from __future__ import annotations

import json
import re
from typing import Any

# The concurrency guard's states, written out once for the tests, in the order a run passes them
# when an older execution is listed beside it: it ends refused. The oldest run takes the first five,
# then RunJob.
GUARD_STATES = (
    "CheckPreviousRun",
    "WhoIsRunning",
    "IsPreviousRunRunning",
    "FindOldestRun",
    "IsThisTheOldestRun",
    "PreviousRunStillRunning",
)
GUARD_PASSED = GUARD_STATES[:5]


def resources(stack: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """All resources of ``kind`` (``aws_iam_role``), by logical name."""
    return stack.get("resource", {}).get(kind, {})


def named(stack: dict[str, Any], kind: str, path: str) -> tuple[str, dict[str, Any]]:
    """The resource of ``kind`` at construct ``path`` (``job-x_task_execution-role``): its logical
    name is the path (repeated ids collapsed) and a hash."""
    pattern = re.compile(rf"{re.escape(path)}_[0-9A-F]{{8}}")
    matches = [(name, body) for name, body in resources(stack, kind).items() if pattern.fullmatch(name)]
    assert len(matches) == 1, f"expected one {kind} at {path!r}, found {sorted(resources(stack, kind))}"
    return matches[0]


def ref(kind: str, name: str, attribute: str) -> str:
    return f"${{{kind}.{name}.{attribute}}}"


def ids(stack: dict[str, Any], kind: str, path: str, attribute: str = "id") -> str:
    """A reference to ``attribute`` of the resource at ``path``."""
    name, _ = named(stack, kind, path)
    return ref(kind, name, attribute)


def trust(stack: dict[str, Any], path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The role at ``path`` and the one statement of its trust policy."""
    _, role = named(stack, "aws_iam_role", path)
    (statement,) = policy(role, "assume_role_policy")["Statement"]
    return role, statement


def data_ref(stack: dict[str, Any], kind: str, attribute: str) -> str:
    (name,) = stack["data"][kind]
    return f"${{data.{kind}.{name}.{attribute}}}"


def arn(stack: dict[str, Any], service: str, resource: str, *, regional: bool = True) -> str:
    """The ARN the stack builds from its partition, region and account data sources."""
    partition = data_ref(stack, "aws_partition", "partition")
    region = data_ref(stack, "aws_region", "region") if regional else ""
    account = data_ref(stack, "aws_caller_identity", "account_id")
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"


def job_resource(stack: dict[str, Any], kind: str, job: str, part: str) -> tuple[str, dict[str, Any]]:
    """The resource of ``kind`` at ``part`` (``task_execution-role``) of job ``job``."""
    return named(stack, kind, f"job-{job}_{part}")


def definition_text(stack: dict[str, Any], job: str) -> str:
    """The job's state machine definition as synthesized: JSON text, Terraform references and all."""
    _, machine = job_resource(stack, "aws_sfn_state_machine", job, "state-machine")
    return machine["definition"]


def definition(stack: dict[str, Any], job: str) -> dict[str, Any]:
    return json.loads(definition_text(stack, job))


def policy(body: dict[str, Any], field: str = "policy") -> dict[str, Any]:
    return json.loads(body[field])


def statements_by_sid(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {statement["Sid"]: statement for statement in document["Statement"]}


def references(text: str) -> set[str]:
    return set(re.findall(r"\$\{[^}]+\}", text))
