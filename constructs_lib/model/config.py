"""``jobs.toml``: the typed, validated specification of a stack of scheduled jobs.

Pure Python (pydantic, no cdktf import) so that a bad config is reported in well under a second,
before the AWS provider bindings load. ``load_config`` returns a frozen ``Config`` or raises
``ConfigError`` whose ``problems`` are one line each: ``<field path>: <what is wrong>``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import ipaddress
import json
import re
import tomllib
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from constructs_lib.model.capacity import DEFAULT_CAPACITY, SOURCES, example_order
from constructs_lib.model.fargate import check_cpu, check_fargate_size
from constructs_lib.model.naming import check_job_name, check_stack_name
from constructs_lib.model.retry_policy import RetryPolicy, default_retry_policy
from constructs_lib.model.schedule_expression import Schedule, ScheduleError, format_duration, parse_schedule
from constructs_lib.model.time_zone import ABBREVIATIONS, is_zone, zone_names
from constructs_lib.model.value_object import ValueObject

__all__ = [
    "AlertSpec",
    "BackendSpec",
    "Config",
    "ConfigError",
    "JobSpec",
    "NetworkSpec",
    "StackSpec",
    "TaskRoleStatement",
    "load_config",
    "parse_config",
]

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


def _freeze_list(value: Any) -> Any:
    """TOML has arrays, value objects have tuples: accept a list and freeze it."""
    return tuple(value) if isinstance(value, list) else value


def _check_region(region: str) -> str:
    if not REGION_PATTERN.fullmatch(region):
        raise ValueError(f"{region!r} is not an AWS region name (for example 'ap-northeast-1')")
    return region


def _check_env_name(name: str) -> str:
    if not ENV_NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"{name!r} is not an environment variable name (allowed: letters, digits, '_', not starting with a digit)"
        )
    return name


def _check_retention(days: int) -> int:
    if days not in LOG_RETENTION_DAYS:
        raise ValueError(
            f"{days!r} is not a CloudWatch Logs retention period (allowed: {', '.join(map(str, LOG_RETENTION_DAYS))})"
        )
    return days


# Container secrets: an SSM parameter, or a Secrets Manager secret (with an optional
# `:json-key:version-stage:version-id` suffix, which ECS reads and IAM does not name).
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-ssm-paramstore.html
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html
def _arn_head(service: str) -> str:
    """``arn:<partition>:<service>:<region>:<account>:`` as a pattern."""
    return rf"arn:aws(?:-cn|-us-gov)?:{service}:{REGION_PATTERN.pattern}:\d{{12}}:"


SSM_PARAMETER_ARN_PATTERN = re.compile(_arn_head("ssm") + r"parameter/[A-Za-z0-9_./-]+")
SECRET_ARN_PATTERN = re.compile(
    "(" + _arn_head("secretsmanager") + r"secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6})" r"(?::[^:]*:[^:]*:[^:]*)?"
)
# What a task role statement names: `service:Action`, wildcards inside the action name allowed.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
IAM_ACTION_PATTERN = re.compile(r"[a-z0-9-]+:[A-Za-z0-9*?]+")
IAM_RESOURCE_PATTERN = re.compile(r"\*|arn:aws(?:-cn|-us-gov)?:[a-z0-9-]+:[a-z0-9-]*:(?:\d{12}|aws)?:\S+")
KMS_KEY_ARN_PATTERN = re.compile(_arn_head("kms") + r"key/[A-Za-z0-9-]+")
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


class BackendSpec(ValueObject):
    """``[stack] backend``: where Terraform keeps the state. ``s3`` with S3-native locking
    (``use_lockfile``, Terraform 1.10+; the DynamoDB lock table is deprecated).
    https://developer.hashicorp.com/terraform/language/backend/s3"""

    type: Literal["s3"]
    bucket: str
    key: str
    region: str
    use_lockfile: bool = True

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, bucket: str) -> str:
        # https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
        if not S3_BUCKET_PATTERN.fullmatch(bucket) or ".." in bucket:
            raise ValueError(
                f"{bucket!r} is not an S3 bucket name (allowed: 3-63 lowercase letters, digits, '.' and '-', "
                "starting and ending with a letter or digit)"
            )
        return bucket

    @field_validator("key")
    @classmethod
    def _key(cls, key: str) -> str:
        if not key or key.startswith("/") or key.endswith("/"):
            raise ValueError(
                f"{key!r} is not a state object key (allowed: a path such as 'scheduled-jobs/terraform.tfstate', "
                "no leading or trailing '/')"
            )
        return key

    _region = field_validator("region")(_check_region)


class StackSpec(ValueObject):
    """``[stack]``: where the Terraform stack goes."""

    #: The cdktf stack name; the Terraform lands in ``cdktf.out/stacks/<name>``.
    name: str = "scheduled-jobs"
    region: str
    #: Remote state; without it, the state is a local file next to the stack.
    backend: BackendSpec | None = None
    #: What each state machine logs to its log group: ERROR (failed states), ALL, or OFF. The
    #: execution's data (inputs, outputs, the job's environment) is never logged.
    execution_log_level: ExecutionLogLevel = "ERROR"
    #: X-Ray tracing of the state machines and the alert Lambda (charged per trace recorded).
    tracing: bool = False
    #: Container Insights on the cluster: per-task CPU, memory and network metrics (charged as
    #: CloudWatch custom metrics and log ingestion).
    container_insights: bool = False
    #: Encrypt every log group with a KMS key: true creates one for the stack, or name your key's
    #: ARN (its policy must let CloudWatch Logs use it). False: CloudWatch Logs' own encryption.
    log_kms: bool | str = False

    _name = field_validator("name")(check_stack_name)

    @field_validator("log_kms")
    @classmethod
    def _log_kms(cls, value: bool | str) -> bool | str:
        if isinstance(value, str) and not KMS_KEY_ARN_PATTERN.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a KMS key ARN (allowed: true, false, or "
                "'arn:aws:kms:<region>:<account>:key/<key id>'; CloudWatch Logs takes no alias)"
            )
        return value

    @model_validator(mode="after")
    def _log_key_in_region(self) -> StackSpec:
        key_region = self.log_kms.split(":")[3] if isinstance(self.log_kms, str) else self.region
        if key_region != self.region:
            raise field_error(
                "log_kms",
                f"{self.log_kms!r} is a key in {key_region} (allowed: a key in the stack's "
                f"region {self.region}, as CloudWatch Logs requires)",
            )
        return self

    _region = field_validator("region")(_check_region)


VPC_ID_PATTERN = re.compile(r"vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})")
SUBNET_ID_PATTERN = re.compile(r"subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})")
SECURITY_GROUP_ID_PATTERN = re.compile(r"sg-(?:[0-9a-f]{8}|[0-9a-f]{17})")
CREATED_NETWORK_KEYS = (
    "cidr",
    "max_azs",
    "nat_gateways",
    "availability_zones",
    "flow_logs",
    "flow_logs_retention_days",
)
EXISTING_NETWORK_KEYS = ("vpc_id", "subnet_ids", "security_group_ids", "assign_public_ip")


def _check_ids(ids: tuple[str, ...], pattern: re.Pattern[str], kind: str, example: str) -> tuple[str, ...]:
    for value in ids:
        if not pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not a {kind} id (allowed: {example}, with 8 or 17 hex digits)")
    if len(set(ids)) != len(ids):
        raise ValueError(f"{list(ids)!r} names an id twice (allowed: each once)")
    return ids


class NetworkSpec(ValueObject):
    """``[network]``: the VPC that all jobs share: one the stack creates (``cidr``, ``max_azs``,
    ``nat_gateways``, ``availability_zones``) or an existing one (``vpc_id``, ``subnet_ids``,
    ``security_group_ids``, ``assign_public_ip``), not a mix."""

    cidr: str = "10.0.0.0/16"
    #: Availability zones used; each gets a public and a private subnet.
    max_azs: int = Field(default=2, ge=1, le=6)
    #: 0 runs jobs in public subnets with a public IP (no NAT cost); at most one per AZ.
    nat_gateways: int = Field(default=1, ge=0)
    #: Zone names to use, as many as max_azs. Without them the subnets take the first max_azs
    #: zones the region reports as available at plan time: should one of them become unavailable,
    #: the list shifts and Terraform plans to replace subnets. Pin them for production.
    availability_zones: tuple[str, ...] | None = None
    #: VPC flow logs (accepted and rejected traffic) to a CloudWatch log group: an audit trail of
    #: where the jobs connect, charged per GB logged. Off by default.
    flow_logs: bool = False
    flow_logs_retention_days: int = 30
    #: An existing VPC: the stack creates no VPC, subnets, NAT or gateways.
    vpc_id: str | None = None
    #: The existing subnets the jobs run in (at least one; several zones ride out a zone's shortage).
    subnet_ids: tuple[str, ...] | None = None
    #: Security groups the tasks join besides their own (which allows all egress, no ingress).
    security_group_ids: tuple[str, ...] = ()
    #: Give the tasks a public IP: for public subnets, where there is no NAT to pull images through.
    assign_public_ip: bool = False

    _id_lists = field_validator("subnet_ids", "security_group_ids", mode="before")(_freeze_list)
    _flow_logs_retention = field_validator("flow_logs_retention_days")(_check_retention)

    @field_validator("vpc_id")
    @classmethod
    def _vpc_id(cls, vpc_id: str | None) -> str | None:
        if vpc_id is not None and not VPC_ID_PATTERN.fullmatch(vpc_id):
            raise ValueError(f"{vpc_id!r} is not a VPC id (allowed: vpc-..., with 8 or 17 hex digits)")
        return vpc_id

    @field_validator("subnet_ids")
    @classmethod
    def _subnet_ids(cls, ids: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if ids is None:
            return ids
        if not ids:
            raise ValueError("[] names no subnet (allowed: one or more subnet ids, in several zones if you can)")
        return _check_ids(ids, SUBNET_ID_PATTERN, "subnet", "subnet-...")

    @field_validator("security_group_ids")
    @classmethod
    def _security_group_ids(cls, ids: tuple[str, ...]) -> tuple[str, ...]:
        return _check_ids(ids, SECURITY_GROUP_ID_PATTERN, "security group", "sg-...")

    @model_validator(mode="after")
    def _created_or_existing(self) -> NetworkSpec:
        existing = self.vpc_id is not None or self.subnet_ids is not None
        given = self.model_fields_set
        if existing:
            for key in CREATED_NETWORK_KEYS:
                if key in given:
                    raise field_error(
                        key,
                        "is for a network the stack creates, and vpc_id / subnet_ids name an existing one "
                        f"(allowed with an existing network: {', '.join(EXISTING_NETWORK_KEYS)})",
                    )
            for key, value in (("vpc_id", self.vpc_id), ("subnet_ids", self.subnet_ids)):
                if value is None:
                    raise field_error(key, "required with an existing network (allowed: give vpc_id and subnet_ids)")
        else:
            for key in ("security_group_ids", "assign_public_ip"):
                if key in given:
                    raise field_error(
                        key, "is for an existing network (allowed with it: vpc_id and subnet_ids, which name it)"
                    )
        return self

    @property
    def existing(self) -> bool:
        return self.vpc_id is not None

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, cidr: str) -> str:
        try:
            network = ipaddress.IPv4Network(cidr)
        except ValueError as exc:
            raise ValueError(f"{cidr!r} is not an IPv4 CIDR block ({exc})") from None
        # VPC sizes: https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html
        if not 16 <= network.prefixlen <= 24:
            raise ValueError(
                f"{cidr!r} has prefix /{network.prefixlen} (allowed: /16 to /24, so each AZ's subnets fit)"
            )
        return cidr

    @field_validator("nat_gateways")
    @classmethod
    def _nat_fits(cls, nat_gateways: int, info: ValidationInfo) -> int:
        max_azs = info.data.get("max_azs")  # absent when max_azs itself is invalid
        if max_azs is not None and nat_gateways > max_azs:
            raise ValueError(
                f"{nat_gateways} is more than max_azs {max_azs} (allowed: 0 to {max_azs}, at most one per AZ)"
            )
        return nat_gateways

    _zones_list = field_validator("availability_zones", mode="before")(_freeze_list)

    @field_validator("availability_zones")
    @classmethod
    def _zones(cls, zones: tuple[str, ...] | None, info: ValidationInfo) -> tuple[str, ...] | None:
        if zones is None:
            return zones
        for zone in zones:
            if not ZONE_PATTERN.fullmatch(zone):
                raise ValueError(f"{zone!r} is not an availability zone name (for example 'ap-northeast-1a')")
        if len(set(zones)) != len(zones):
            raise ValueError(f"{list(zones)!r} names a zone twice (allowed: distinct zone names)")
        max_azs = info.data.get("max_azs")
        if max_azs is not None and len(zones) != max_azs:
            raise ValueError(
                f"{list(zones)!r} names {len(zones)} zones but max_azs is {max_azs} "
                "(allowed: exactly max_azs zone names)"
            )
        return zones


# SSM parameter names: letters, digits, `_.-` and `/` between levels; at most 15 levels; not
# starting with "aws" or "ssm"; 1011 characters at most.
# https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html
SSM_PARAMETER_PATTERN = re.compile(r"(/[A-Za-z0-9_.-]+)+")
SSM_PARAMETER_MAX_LENGTH = 1011
SSM_PARAMETER_MAX_LEVELS = 15


# The shapes of what belongs in SSM, not in jobs.toml: a URL (a Slack or Teams webhook), a Chatwork
# API token (32 hexadecimal characters), a Slack token (xoxb-...), a long run of letters and digits.
_SECRET_SHAPES = (
    ("a URL", re.compile(r"(?is)\s*(https?:|[a-z][a-z0-9+.-]*://|hooks\.).*")),
    ("a token", re.compile(r"\s*(xox[a-z]-[A-Za-z0-9-]+|(?=[A-Za-z]*[0-9])[A-Za-z0-9]{24,})\s*")),
)


def check_ssm_parameter_name(name: str | None) -> str | None:
    """A SecureString parameter the user created, named with a leading ``/``. A value shaped like
    the secret itself (a URL, a token) is refused without being repeated, so it stays out of the
    terminal and CI logs."""
    if name is None:
        return name
    for shape, pattern in _SECRET_SHAPES:
        if pattern.fullmatch(name):
            raise ValueError(
                f"this looks like {shape} itself, not the name of the SSM parameter that holds it (its value is "
                "not repeated here, to keep it out of logs; allowed: a parameter name such as "
                "'/scheduled-jobs/slack-webhook'). Store the secret with `aws ssm put-parameter --name "
                '/scheduled-jobs/slack-webhook --type SecureString --value "$SECRET"` (docs/alerts.md, "Setting up '
                'each channel"), name the parameter here, and rotate the secret if this file was shared'
            )
    if not SSM_PARAMETER_PATTERN.fullmatch(name):
        raise ValueError(
            f"{name!r} is not an SSM parameter name (allowed: a leading '/', then letters, digits, "
            "'_', '.', '-', with '/' between levels, for example '/scheduled-jobs/slack-webhook')"
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


class AlertSpec(ValueObject):
    """``[alert]``: where the alert Lambda that all jobs share tells people about a failed run.

    Every channel is optional; the log and the stack's SNS topic are always there. Secrets (the
    webhook URL, the Chatwork token) stay in SSM Parameter Store: the config names the parameters
    and the Lambda reads them at run time, so they never reach the Terraform plan or state.
    """

    log_retention_days: int = 30
    #: A SecureString parameter holding a Slack-compatible incoming webhook URL.
    webhook_ssm_parameter: str | None = None
    #: The Chatwork room to post to, and the SecureString parameter holding the API token.
    chatwork_room_id: str | None = None
    chatwork_token_ssm_parameter: str | None = None
    #: A SecureString parameter holding a Microsoft Teams Workflows webhook URL.
    teams_webhook_ssm_parameter: str | None = None
    #: A SecureString parameter holding a PagerDuty Events API v2 integration (routing) key.
    pagerduty_routing_key_ssm_parameter: str | None = None
    #: Addresses subscribed to the stack's alert topic (each confirms once, from the mail AWS sends).
    emails: tuple[EmailAddress, ...] = ()
    #: Alerts for one channel that arrive within this many seconds go out as one message (the
    #: alert queue's batching window; 0 sends each batch of up to 10 at once). 30 s, Alertmanager's
    #: group_wait: the runs that one capacity outage fails give up within seconds of each other.
    group_seconds: int = Field(default=30, ge=0, le=300)
    #: The first successful run after a failed, timed-out, aborted or missed one says so, once.
    recoveries: bool = True

    _retention = field_validator("log_retention_days")(_check_retention)
    _parameters = field_validator(
        "webhook_ssm_parameter",
        "chatwork_token_ssm_parameter",
        "teams_webhook_ssm_parameter",
        "pagerduty_routing_key_ssm_parameter",
    )(check_ssm_parameter_name)
    _emails_list = field_validator("emails", mode="before")(_freeze_list)

    @model_validator(mode="before")
    @classmethod
    def _replaced_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and "webhook_url" in data:
            raise field_error(
                "webhook_url",
                "replaced by webhook_ssm_parameter; a webhook URL is a secret and would land in the Terraform "
                "plan and state, so this key is refused and its value is not shown (allowed: store it in an "
                "SSM SecureString parameter and name it with webhook_ssm_parameter, "
                'for example webhook_ssm_parameter = "/scheduled-jobs/slack-webhook")',
            )
        return data

    @field_validator("chatwork_room_id", mode="before")
    @classmethod
    def _room_id(cls, room: Any) -> Any:
        if isinstance(room, int) and not isinstance(room, bool):
            room = str(room)
        if isinstance(room, str) and not re.fullmatch(r"[1-9][0-9]{0,19}", room):
            raise ValueError(
                f"{room!r} is not a Chatwork room id (allowed: its digits, as in the room's URL #!rid123456)"
            )
        return room

    @field_validator("emails")
    @classmethod
    def _emails(cls, emails: tuple[str, ...]) -> tuple[str, ...]:
        seen = [address.lower() for address in emails]
        for index, address in enumerate(seen):
            if address in seen[:index]:
                raise ValueError(f"{emails[index]!r} is listed twice (allowed: each address once)")
        return emails

    @model_validator(mode="after")
    def _chatwork_pair(self) -> AlertSpec:
        if self.chatwork_room_id is not None and self.chatwork_token_ssm_parameter is None:
            raise field_error(
                "chatwork_token_ssm_parameter",
                "required with chatwork_room_id (allowed: the SSM SecureString parameter that holds the API token)",
            )
        if self.chatwork_token_ssm_parameter is not None and self.chatwork_room_id is None:
            raise field_error("chatwork_room_id", "required with chatwork_token_ssm_parameter (allowed: the room's id)")
        return self

    @property
    def chat_channels(self) -> tuple[str, ...]:
        """The chat channels configured, in the order alerts list them."""
        from constructs_lib.model.alert_channels import channel_settings

        return tuple(setting.name for setting in channel_settings(self))


class TaskRoleStatement(ValueObject):
    """``[[jobs.task_role_statements]]``: one Allow statement of the task role's inline policy."""

    actions: tuple[str, ...]
    resources: tuple[str, ...]

    _lists = field_validator("actions", "resources", mode="before")(_freeze_list)

    @field_validator("actions")
    @classmethod
    def _actions(cls, actions: tuple[str, ...]) -> tuple[str, ...]:
        if not actions:
            raise ValueError("[] names no action (allowed: one or more actions such as 's3:PutObject')")
        for action in actions:
            if not IAM_ACTION_PATTERN.fullmatch(action):
                raise ValueError(
                    f"{action!r} is not an IAM action of one service (allowed: 'service:Action', "
                    "for example 's3:PutObject' or 's3:Get*'; a bare '*' is refused)"
                )
        return actions

    @field_validator("resources")
    @classmethod
    def _resources(cls, resources: tuple[str, ...]) -> tuple[str, ...]:
        if not resources:
            raise ValueError("[] names no resource (allowed: ARNs, or '*' for actions that take none)")
        for resource in resources:
            if not IAM_RESOURCE_PATTERN.fullmatch(resource):
                raise ValueError(
                    f"{resource!r} is not a resource ARN (allowed: 'arn:aws:service:region:account:resource', "
                    "or '*' for actions that take no resource)"
                )
        return resources


# The watchdog's grace before a run that has not started is reported missed: EventBridge starts a
# run within a minute of its time and retries a failed start for minutes, so ten minutes tell a
# run that was not attempted from one that is slow to start.
DEFAULT_GRACE_MINUTES = 10


class JobSpec(ValueObject):
    """``[[jobs]]``: one scheduled Fargate job."""

    name: str
    #: EventBridge ``cron(...)`` or ``rate(...)`` expression: in UTC, or in ``timezone``.
    schedule: str
    #: An IANA time zone (``Asia/Tokyo``): the job is scheduled by EventBridge Scheduler in that
    #: zone, daylight saving included. Without it, an EventBridge rule runs it in UTC.
    timezone: str | None = None
    #: Let Scheduler start the run up to this many minutes after its time (off by default).
    flexible_window_minutes: int | None = Field(default=None, ge=1, le=1440)
    image: str
    command: tuple[str, ...]
    #: Fargate cpu units and memory MiB; the pair must be a Fargate size.
    cpu: int
    memory: int
    enabled: bool = True
    #: Alert when a scheduled run has not started this many minutes after its time (the watchdog).
    #: Default: 10 minutes plus the flexible window, at most half the time between runs.
    grace_minutes: int | None = Field(default=None, ge=1, le=1440)
    #: Plain environment variables. Their values are in the task definition, so in the Terraform
    #: plan and state: put anything secret in ``secrets``.
    environment: dict[str, str] = Field(default_factory=dict)
    #: Environment variables read at launch from SSM Parameter Store or Secrets Manager:
    #: ``NAME = "<parameter or secret ARN>"``. The execution role may read exactly these.
    secrets: dict[str, str] = Field(default_factory=dict)
    #: Policies attached to the task role, the container's identity (it has none otherwise):
    #: managed policy ARNs, and inline Allow statements.
    task_role_policy_arns: tuple[str, ...] = ()
    task_role_statements: tuple[TaskRoleStatement, ...] = ()
    #: The container cannot write outside /tmp (a writable scratch volume); false lifts that.
    readonly_root_filesystem: bool = True
    log_retention_days: int = 7
    #: The task's time limit; Step Functions stops the task when it is exceeded.
    timeout_seconds: int = Field(default=3600, ge=60, le=7 * 86400)
    #: Capacity to launch on, in order: when launches on one still find no capacity after the
    #: retry policy, the run moves on to the next, which gets the policy again.
    capacity: tuple[CapacitySource, ...] = DEFAULT_CAPACITY
    #: ``forbid``: a run that finds the previous one still running launches nothing, alerts and
    #: fails (``Job.PreviousRunStillRunning``). ``allow``: runs may overlap.
    concurrency: Concurrency = "forbid"
    #: The keys given in ``[jobs.retry]``; every key left out takes the default policy's value
    #: (``job_default_retry``: the default scaled to the schedule). ``None``: the default throughout.
    retry: RetryPolicy | None = None

    _name = field_validator("name")(check_job_name)
    _cpu = field_validator("cpu")(check_cpu)
    _retention = field_validator("log_retention_days")(_check_retention)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, expression: str) -> str:
        try:
            parse_schedule(expression)
        except ScheduleError as exc:
            raise ValueError(str(exc)) from None
        return expression

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, zone: str | None) -> str | None:
        if zone is None or is_zone(zone):
            return zone
        meant = ABBREVIATIONS.get(zone.upper())
        if meant is not None:
            other = ", and in the tz database it names a different zone" if zone in zone_names() else ""
            raise ValueError(
                f"{zone!r} is an abbreviation, not a time zone{other} (did you mean {meant!r}? allowed: IANA "
                "names such as 'Asia/Tokyo', 'Europe/Berlin', 'America/New_York' or 'UTC', which follow "
                "daylight saving where the place does)"
            )
        close = difflib.get_close_matches(zone, sorted(zone_names()), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(
            f"{zone!r} is not an IANA time zone name ({hint}allowed: names such as 'Asia/Tokyo', "
            "'Europe/Berlin', 'America/New_York' or 'UTC')"
        )

    @field_validator("flexible_window_minutes")
    @classmethod
    def _flexible_window(cls, minutes: int | None, info: ValidationInfo) -> int | None:
        if minutes is None:
            return minutes
        if info.data.get("timezone") is None and "timezone" in info.data:
            raise ValueError(
                f"{minutes} needs timezone (a flexible window is an EventBridge Scheduler feature; "
                'allowed with a timezone, for example timezone = "UTC")'
            )
        schedule = info.data.get("schedule")
        zone = info.data.get("timezone") or "UTC"
        # The shortest real gap between two runs, daylight saving counted: a daily 08:00 in New York
        # is 23 h after the previous run on the day clocks spring forward.
        period = parse_schedule(schedule).shortest_gap_seconds(zone=zone) if schedule else None
        if period is not None and minutes * 60 >= period:
            shift = " in " + zone + ", daylight saving counted" if zone != "UTC" else ""
            raise ValueError(
                f"{minutes} minutes is not shorter than the time between runs of {schedule}{shift} "
                f"({format_duration(period)}) (allowed: 1 to {period // 60 - 1})"
            )
        return minutes

    @field_validator("grace_minutes")
    @classmethod
    def _grace(cls, minutes: int | None, info: ValidationInfo) -> int | None:
        """Longer than the flexible window (a run may start that late and still be on time), and
        shorter than the time between runs (the next run's start must not pass for this one's)."""
        if minutes is None or "schedule" not in info.data:
            return minutes
        flexible = info.data.get("flexible_window_minutes") or 0
        if minutes <= flexible:
            raise ValueError(
                f"{minutes} minutes is not longer than flexible_window_minutes {flexible}: a run may start that "
                f"late and still be on time (allowed: {flexible + 1} or more)"
            )
        schedule, zone = info.data["schedule"], info.data.get("timezone") or "UTC"
        period = parse_schedule(schedule).shortest_gap_seconds(zone=zone)
        if period is not None and minutes * 60 >= period:
            shift = " in " + zone + ", daylight saving counted" if zone != "UTC" else ""
            raise ValueError(
                f"{minutes} minutes is not shorter than the time between runs of {schedule}{shift} "
                f"({format_duration(period)}) (allowed: {flexible + 1} to {(period - 1) // 60})"
            )
        return minutes

    @field_validator("image")
    @classmethod
    def _image(cls, image: str) -> str:
        if not image.strip() or image != image.strip():
            raise ValueError(f"{image!r} is not an image reference (empty or surrounded by spaces)")
        return image

    _command_list = field_validator("command", mode="before")(_freeze_list)

    @field_validator("command")
    @classmethod
    def _command(cls, command: tuple[str, ...]) -> tuple[str, ...]:
        if not command or not command[0].strip():
            raise ValueError(f"{list(command)!r} is empty (allowed: a list whose first item is the program)")
        for index, item in enumerate(command):
            if "\x00" in item:
                raise ValueError(
                    f"item {index} holds a NUL character (allowed: text without NUL, which no program gets)"
                )
        return command

    @field_validator("environment")
    @classmethod
    def _environment(cls, environment: dict[str, str]) -> dict[str, str]:
        for key, value in environment.items():
            _check_env_name(key)
            if "\x00" in value:
                raise ValueError(f"{key} holds a NUL character (allowed: text without NUL, which no program gets)")
        return environment

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, secrets: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        plain = info.data.get("environment", {})
        for key, value_from in secrets.items():
            _check_env_name(key)
            if key in plain:
                raise ValueError(f"{key!r} is also in environment (allowed: each name in one of them)")
            if not (SSM_PARAMETER_ARN_PATTERN.fullmatch(value_from) or SECRET_ARN_PATTERN.fullmatch(value_from)):
                raise ValueError(
                    f"{key} = {value_from!r} is not the ARN of an SSM parameter or a Secrets Manager secret "
                    "(allowed: 'arn:aws:ssm:<region>:<account>:parameter/<name>' or "
                    "'arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>')"
                )
        return secrets

    _policy_lists = field_validator("task_role_policy_arns", "task_role_statements", mode="before")(_freeze_list)

    @field_validator("task_role_policy_arns")
    @classmethod
    def _policy_arns(cls, arns: tuple[str, ...]) -> tuple[str, ...]:
        for arn in arns:
            if not MANAGED_POLICY_ARN_PATTERN.fullmatch(arn):
                raise ValueError(
                    f"{arn!r} is not a managed policy ARN (allowed: 'arn:aws:iam::<account>:policy/<name>' "
                    "or 'arn:aws:iam::aws:policy/<name>')"
                )
        if len(set(arns)) != len(arns):
            raise ValueError(f"{list(arns)!r} names a policy twice (allowed: each once)")
        # An IAM role takes at most 20 managed policies (the default quota is 10).
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
        if len(arns) > 10:
            raise ValueError(f"{len(arns)} policies (allowed: at most 10, IAM's default quota per role)")
        return arns

    # Cross-field checks are field validators reading the fields declared before them, so that
    # they run (and report) even when an unrelated field is invalid.

    @field_validator("memory")
    @classmethod
    def _memory_fits_cpu(cls, memory: int, info: ValidationInfo) -> int:
        if "cpu" in info.data:
            check_fargate_size(info.data["cpu"], memory)
        return memory

    _capacity_list = field_validator("capacity", mode="before")(_freeze_list)

    @field_validator("capacity")
    @classmethod
    def _capacity(cls, capacity: tuple[str, ...]) -> tuple[str, ...]:
        if not capacity or len(set(capacity)) != len(capacity):
            raise ValueError(
                f"{list(capacity)!r} is not an order of capacity sources (allowed: each of "
                f"{' and '.join(SOURCES)} at most once, at least one, for example {example_order()})"
            )
        return capacity

    @field_validator("retry")
    @classmethod
    def _retry_ends_before_next_run(cls, retry: RetryPolicy | None, info: ValidationInfo) -> RetryPolicy | None:
        if retry is None or "schedule" not in info.data:
            return retry
        schedule = info.data["schedule"]
        period = parse_schedule(schedule).shortest_gap_seconds(
            zone=info.data.get("timezone") or "UTC",
            flexible_window_minutes=info.data.get("flexible_window_minutes") or 0,
        )
        sources = len(info.data.get("capacity", DEFAULT_CAPACITY))
        default = job_default_retry(
            gap_seconds=period,
            sources=sources,
            timeout_seconds=info.data.get("timeout_seconds", 0),
            forbid=info.data.get("concurrency", "forbid") == "forbid",
        )
        window = merged_retry(default, retry).window_seconds * sources
        if period is not None and window >= period:
            each = f" ({sources} capacity sources, each with these retries)" if sources > 1 else ""
            raise ValueError(
                f"retries wait up to {format_duration(int(window))} in all{each}, "
                f"which runs into the next scheduled run ({schedule} runs every "
                f"{format_duration(period)}); allowed: a total wait below {format_duration(period)} "
                "(fewer max_attempts, a smaller interval_seconds or a max_delay_seconds)"
            )
        return retry

    @model_validator(mode="after")
    def _runs_again(self) -> JobSpec:
        """An expression whose runs are all past (its years are) never runs: refused like one that
        never matches a date."""
        parsed = self.parsed_schedule
        now = dt.datetime.now(dt.UTC)
        if parsed.rate_seconds is None and not parsed.next_runs(now, count=1, zone=self.timezone or "UTC"):
            raise field_error(
                "schedule",
                f"{self.schedule!r} has no run after {now:%Y-%m-%d %H:%M} UTC: its years are past (allowed: a "
                f"year field that reaches {now.year} or later, or *)",
            )
        return self

    @property
    def parsed_schedule(self) -> Schedule:
        return parse_schedule(self.schedule)

    @property
    def grace_seconds(self) -> int:
        """How long after its time a run may start before the watchdog reports it missed: the
        job's ``grace_minutes``, or 10 minutes plus the flexible window, at most half the time
        between runs (whole minutes, at least one past the flexible window)."""
        if self.grace_minutes is not None:
            return self.grace_minutes * 60
        flexible = self.flexible_window_minutes or 0
        minutes = DEFAULT_GRACE_MINUTES + flexible
        period = self.parsed_schedule.shortest_gap_seconds(zone=self.timezone or "UTC")
        if period is not None:
            minutes = min(minutes, max(flexible + 1, period // 120))
        return minutes * 60

    @property
    def shortest_gap_seconds(self) -> int | None:
        """The shortest real time between two runs (daylight saving and flexible window counted)."""
        return self.parsed_schedule.shortest_gap_seconds(
            zone=self.timezone or "UTC", flexible_window_minutes=self.flexible_window_minutes or 0
        )

    @property
    def longest_run_seconds(self) -> int:
        """How long one run can last at worst: every retry wait, plus the task running to its
        timeout once (launches that were never placed or never started take no time), again for
        each opt-in re-run, and for each launch retry when exit codes can be retried."""
        retry = self.retry_policy
        runs = 1 + retry.rerun_attempts + (retry.max_attempts if retry.retry_exit_codes else 0)
        # A run moves to the next capacity source only when no task was placed, so only one
        # source's launches ever run the task.
        return int(self.retry_window_seconds) + runs * self.timeout_seconds

    @property
    def retry_window_seconds(self) -> float:
        """The longest total wait between launches, over every capacity source."""
        return self.retry_policy.window_seconds * len(self.capacity)

    @property
    def default_retry(self) -> RetryPolicy:
        """The policy the job gets for every key ``[jobs.retry]`` leaves out."""
        return job_default_retry(
            gap_seconds=self.shortest_gap_seconds,
            sources=len(self.capacity),
            timeout_seconds=self.timeout_seconds,
            forbid=self.concurrency == "forbid",
        )

    @property
    def retry_policy(self) -> RetryPolicy:
        """The policy in effect: the keys of ``[jobs.retry]`` over the job's default policy."""
        return merged_retry(self.default_retry, self.retry)


def job_default_retry(*, gap_seconds: int | None, sources: int, timeout_seconds: int, forbid: bool) -> RetryPolicy:
    """``DEFAULT_RETRY`` with as many retries as fit, on every capacity source, before the next
    scheduled run (``gap_seconds`` away at the closest); with ``concurrency = "forbid"``, before
    the next run less one timeout, so that a run that waited out every retry and then ran to its
    timeout still ends before the next run is due (which would otherwise launch nothing)."""
    if gap_seconds is None:
        return default_retry_policy(None)
    room = max(gap_seconds - timeout_seconds, 0) if forbid else gap_seconds
    return default_retry_policy(room // sources)


def merged_retry(default: RetryPolicy, given: RetryPolicy | None) -> RetryPolicy:
    """``default`` with the keys that ``given`` set (``model_fields_set``: the keys written in
    ``[jobs.retry]``, or passed to ``RetryPolicy``) taken from ``given``.

    One exception: the default's cap on each wait (``max_delay_seconds``) is not kept under a
    given ``interval_seconds`` longer than the cap, which it would silently shorten."""
    if given is None:
        return default
    update = {key: getattr(given, key) for key in given.model_fields_set}
    cap = update.get("max_delay_seconds", default.max_delay_seconds)
    if "max_delay_seconds" not in update and cap is not None and update.get("interval_seconds", 0) > cap:
        update["max_delay_seconds"] = None
    return default.model_copy(update=update)


class Config(ValueObject):
    """The whole ``jobs.toml``."""

    stack: StackSpec
    network: NetworkSpec = NetworkSpec()
    alert: AlertSpec = AlertSpec()
    jobs: tuple[JobSpec, ...]

    @field_validator("jobs", mode="before")
    @classmethod
    def _jobs_list(cls, jobs: Any) -> Any:
        if isinstance(jobs, (list, tuple)) and not jobs:
            raise ValueError("no jobs (allowed: one or more [[jobs]] tables)")
        return _freeze_list(jobs)

    @model_validator(mode="after")
    def _unique_names(self) -> Config:
        for field, message in duplicate_names([job.name for job in self.jobs]):
            raise field_error(field, message)
        return self

    @model_validator(mode="after")
    def _zones_in_region(self) -> Config:
        region = self.stack.region
        for zone in self.network.availability_zones or ():
            if zone[: len(region)] != region or len(zone) != len(region) + 1:
                raise field_error(
                    "network.availability_zones",
                    f"{zone!r} is not in region {region!r} (allowed: {region}a, {region}b, ...)",
                )
        return self


def duplicate_names(names: list[Any]) -> list[tuple[str, str]]:
    """``(field, message)`` for each job whose name an earlier job already has."""
    seen: dict[Any, int] = {}
    problems = []
    for index, name in enumerate(names):
        if name in seen:
            problems.append(
                (
                    f"jobs[{index}].name",
                    f"{name!r} is already the name of jobs[{seen[name]}] (allowed: a name no other job has)",
                )
            )
        elif isinstance(name, str):
            seen[name] = index
    return problems


class ConfigError(Exception):
    """An invalid config: ``problems`` holds one line per problem, each naming its field."""

    def __init__(self, source: str, problems: list[str]):
        super().__init__(f"{source}: " + "; ".join(problems))
        self.source = source
        self.problems = problems


# A jobs.toml of 200 jobs is about 40 KiB: 1 MiB is room for any real one, and keeps a runaway file
# (a 200 MB string) from holding `make synth` for minutes.
MAX_CONFIG_BYTES = 1024 * 1024


def load_config(path: str | Path) -> Config:
    """Read and validate a ``jobs.toml``; raise ``ConfigError`` on any problem."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(
                str(path), [f"{path}: {size:,} bytes (allowed: at most {MAX_CONFIG_BYTES:,}; a jobs.toml is a few KiB)"]
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), [f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [f"{path}: cannot be read ({exc})"]) from None
    return parse_config(text, source=str(path))


def parse_config(text: str, *, source: str = "<config>") -> Config:
    """Validate TOML ``text``; raise ``ConfigError`` on any problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [f"{source}: not valid TOML: {exc}"]) from None
    except RecursionError:
        raise ConfigError(source, [f"{source}: not valid here: arrays or tables nested too deeply"]) from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(error) for error in exc.errors()]
        # Uniqueness is checked once every job is valid; say it now too, to report all at once.
        jobs = data.get("jobs")
        if isinstance(jobs, list):
            names = [job.get("name") if isinstance(job, dict) else None for job in jobs]
            problems += [
                line for field, message in duplicate_names(names) if (line := f"{field}: {message}") not in problems
            ]
        raise ConfigError(source, [_named(problem, jobs) for problem in problems]) from None


_JOB_AT = re.compile(r"jobs\[(\d+)\]")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _named(problem: str, jobs: Any) -> str:
    """``jobs[0].schedule: ...`` -> ``jobs[0] (daily-report).schedule: ...`` when that job has a
    name that can be printed as it is (a bad name is reported on its own line)."""
    match = _JOB_AT.match(problem)
    if not match or not isinstance(jobs, list) or int(match[1]) >= len(jobs) or problem[match.end() :][:6] == ".name:":
        return problem
    job = jobs[int(match[1])]
    name = job.get("name") if isinstance(job, dict) else None
    if not isinstance(name, str) or not _PLAIN_NAME.fullmatch(name):
        return problem
    return f"{match[0]} ({name}){problem[match.end() :]}"


def _path(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _show(value: Any) -> str:
    if isinstance(value, (dt.date, dt.time)):  # TOML dates and times, as they are written
        return value.isoformat()
    try:
        return json.dumps(value, ensure_ascii=False)
    except TypeError:
        return repr(value)


# What a list field holds, for "is not a list": by the field's name, or the generic example.
_LIST_OF = {
    "emails": 'a list of e-mail addresses, for example ["ops@example.com"]',
    "command": 'a list: the program, then its arguments, for example ["python", "job.py"]',
    "capacity": f"a list of capacity sources, for example {example_order()}",
    "retry_exit_codes": "a list of exit codes, for example [75]",
}
# Each pydantic error type that names a Python type, in the words of a TOML file.
_NOT_A = {
    **dict.fromkeys(("tuple_type", "list_type", "set_type", "frozen_set_type"), ("a list", None)),
    **dict.fromkeys(
        ("dict_type", "model_type", "model_attributes_type"),
        ("a table", 'a table: a [section], or inline as { key = "value" }'),
    ),
    **dict.fromkeys(
        ("int_type", "int_parsing", "int_from_float"),
        ("a whole number", "a whole number without quotes, for example 256"),
    ),
    **dict.fromkeys(("float_type", "float_parsing"), ("a number", "a number without quotes, for example 2.0")),
    **dict.fromkeys(("bool_type", "bool_parsing"), ("true or false", "true or false, without quotes")),
    **dict.fromkeys(("string_type",), ("text", 'text in quotes, for example "value"')),
}
_BOUNDS = {
    "greater_than_equal": "at least {ge}",
    "less_than_equal": "at most {le}",
    "greater_than": "more than {gt}",
    "less_than": "less than {lt}",
}


def _problem(error: dict[str, Any]) -> str:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "field_error":
        field = error["ctx"]["field"]
        return f"{_path(loc) + '.' if loc else ''}{field}: {error['msg']}"
    path = _path(loc) or "(top level)"
    if kind == "missing":
        return f"{path}: required but missing"
    if kind == "extra_forbidden":
        allowed = ", ".join(_fields_at(loc[:-1]))
        return f"{path}: unknown key (allowed: {allowed})"
    if kind == "value_error":
        return f"{path}: {error['ctx']['error']}"
    got = _show(error["input"])
    if kind in _NOT_A:
        noun, allowed = _NOT_A[kind]
        if noun == "a list":
            key = next((part for part in reversed(loc) if isinstance(part, str)), "")
            allowed = _LIST_OF.get(key, 'a list, for example ["a", "b"]')
        return f"{path}: {got} is not {noun} (allowed: {allowed})"
    if kind in _BOUNDS:
        return f"{path}: {got} is out of range (allowed: {_BOUNDS[kind].format(**error['ctx'])})"
    if kind == "literal_error":
        return f"{path}: {got} is not an allowed value (allowed: {error['ctx']['expected']})"
    return f"{path}: {error['msg'][0].lower()}{error['msg'][1:]} (got {got})"


def _fields_at(loc: tuple[str | int, ...]) -> list[str]:
    """The keys the model at ``loc`` accepts, for the 'unknown key' message."""
    model: Any = Config
    for part in loc:
        if isinstance(part, int):
            continue
        model = _model_in(model.model_fields[part].annotation)
    return list(model.model_fields)


def _model_in(annotation: Any) -> Any:
    """The ValueObject class inside ``X``, ``X | None`` or ``tuple[X, ...]``."""
    if isinstance(annotation, type) and issubclass(annotation, ValueObject):
        return annotation
    for arg in typing.get_args(annotation):  # None and ... hold no model: they give None
        found = _model_in(arg)
        if found is not None:
            return found
    return None
