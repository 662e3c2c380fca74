"""What several sections of jobs.toml check alike: names, ARNs, SSM parameters, e-mail addresses,
log retention periods, and the pydantic error that names a field."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from constructs_lib.model.capacity import SOURCES

# CloudWatch Logs accepts only these retention periods (days).
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)  # fmt: skip
REGION_PATTERN = re.compile(r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d")
ZONE_PATTERN = re.compile(REGION_PATTERN.pattern + r"[a-z]")
ENV_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
Concurrency = Literal["forbid", "allow"]
ExecutionLogLevel = Literal["OFF", "ERROR", "ALL"]
# Where a job's task may run: the names of the capacity sources (model/capacity.py).
CapacitySource = Literal[tuple(SOURCES)]  # type: ignore[valid-type]


def field_error(field: str, message: str) -> PydanticCustomError:
    """An error for ``field`` of the model being validated, raised from a model validator."""
    return PydanticCustomError("field_error", "{message}", {"field": field, "message": message})


def freeze_list(value: Any) -> Any:
    """TOML has arrays, value objects have tuples: accept a list and freeze it."""
    return tuple(value) if isinstance(value, list) else value


def check_region(region: str) -> str:
    if not REGION_PATTERN.fullmatch(region):
        raise ValueError(f"{region!r} is not an AWS region name (for example 'ap-northeast-1')")
    return region


def check_env_name(name: str) -> str:
    if not ENV_NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"{name!r} is not an environment variable name (allowed: letters, digits, '_', not starting with a digit)"
        )
    return name


def check_retention(days: int) -> int:
    if days not in LOG_RETENTION_DAYS:
        raise ValueError(
            f"{days!r} is not a CloudWatch Logs retention period (allowed: {', '.join(map(str, LOG_RETENTION_DAYS))})"
        )
    return days


# Container secrets: an SSM parameter, or a Secrets Manager secret (with an optional
# `:json-key:version-stage:version-id` suffix, which ECS reads and IAM does not name).
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-ssm-paramstore.html
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html
def arn_head(service: str) -> str:
    """``arn:<partition>:<service>:<region>:<account>:`` as a pattern."""
    return rf"arn:aws(?:-cn|-us-gov)?:{service}:{REGION_PATTERN.pattern}:\d{{12}}:"


SSM_PARAMETER_ARN_PATTERN = re.compile(arn_head("ssm") + r"parameter/[A-Za-z0-9_./-]+")
SECRET_ARN_PATTERN = re.compile(
    "(" + arn_head("secretsmanager") + r"secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6})" r"(?::[^:]*:[^:]*:[^:]*)?"
)
# What a task role statement names: `service:Action`, wildcards inside the action name allowed.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
IAM_ACTION_PATTERN = re.compile(r"[a-z0-9-]+:[A-Za-z0-9*?]+")
IAM_RESOURCE_PATTERN = re.compile(r"\*|arn:aws(?:-cn|-us-gov)?:[a-z0-9-]+:[a-z0-9-]*:(?:\d{12}|aws)?:\S+")
KMS_KEY_ARN_PATTERN = re.compile(arn_head("kms") + r"key/[A-Za-z0-9-]+")
MANAGED_POLICY_ARN_PATTERN = re.compile(r"arn:aws(?:-cn|-us-gov)?:iam::(?:\d{12}|aws):policy/[A-Za-z0-9+=,.@_/-]+")


def secret_sources(values_from: Iterable[str]) -> tuple[list[str], list[str]]:
    """The SSM parameters and the Secrets Manager secrets that container secrets' ``valueFrom``
    name, as IAM names them (a secret without the JSON key / version suffix that only ECS reads),
    each sorted and once."""
    parameters, secrets = set(), set()
    for value_from in values_from:
        match = SECRET_ARN_PATTERN.fullmatch(value_from)
        if match:
            secrets.add(match.group(1))
        else:
            parameters.add(value_from)
    return sorted(parameters), sorted(secrets)


S3_BUCKET_PATTERN = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


SSM_PARAMETER_PATTERN = re.compile(r"(/[A-Za-z0-9_.-]+)+")
SSM_PARAMETER_MAX_LENGTH = 1011
SSM_PARAMETER_MAX_LEVELS = 15


# The shapes of what belongs in SSM, not in jobs.toml: a URL (a chat service's webhook), an API
# token (xox?-... or a long run of letters with digits, such as 32 hexadecimal characters).
SECRET_SHAPES = (
    ("a URL", re.compile(r"(?is)\s*(https?:|[a-z][a-z0-9+.-]*://|hooks\.).*")),
    ("a token", re.compile(r"\s*(xox[a-z]-[A-Za-z0-9-]+|(?=[A-Za-z]*[0-9])[A-Za-z0-9]{24,})\s*")),
)


def check_ssm_parameter_name(name: str | None) -> str | None:
    """A SecureString parameter the user created, named with a leading ``/``. A value shaped like
    the secret itself (a URL, a token) is refused without being repeated, so it stays out of the
    terminal and CI logs."""
    if name is None:
        return name
    for shape, pattern in SECRET_SHAPES:
        if pattern.fullmatch(name):
            raise ValueError(
                f"this looks like {shape} itself, not the name of the SSM parameter that holds it (its value is "
                "not repeated here, to keep it out of logs; allowed: a parameter name such as "
                "'/scheduled-jobs/chat-webhook'). Store the secret with `aws ssm put-parameter --name "
                '/scheduled-jobs/chat-webhook --type SecureString --value "$SECRET"` (docs/alerts.md, "Setting up '
                'each channel"), name the parameter here, and rotate the secret if this file was shared'
            )
    if not SSM_PARAMETER_PATTERN.fullmatch(name):
        raise ValueError(
            f"{name!r} is not an SSM parameter name (allowed: a leading '/', then letters, digits, "
            "'_', '.', '-', with '/' between levels, for example '/scheduled-jobs/chat-webhook')"
        )
    if len(name) > SSM_PARAMETER_MAX_LENGTH:
        raise ValueError(f"{name!r} has {len(name)} characters (allowed: at most {SSM_PARAMETER_MAX_LENGTH})")
    levels = name.count("/")
    if levels > SSM_PARAMETER_MAX_LEVELS:
        raise ValueError(f"{name!r} has {levels} levels (allowed: at most {SSM_PARAMETER_MAX_LEVELS})")
    if name[1:4].lower() in ("aws", "ssm"):
        raise ValueError(f"{name!r} starts with {name[1:4]!r} (allowed: a name not starting with 'aws' or 'ssm')")
    return name


def check_email(address: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"{address!r} is not an e-mail address ({exc})") from None
    return address


EmailAddress = Annotated[str, AfterValidator(check_email)]
