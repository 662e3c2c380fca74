"""``jobs.toml``: the typed, validated specification of a stack of scheduled jobs.

Pure Python (pydantic, no cdktf import) so that a bad config is reported in well under a second,
before the AWS provider bindings load. ``load_config`` returns a frozen ``Config`` or raises
``ConfigError`` whose ``problems`` are one line each: ``<field path>: <what is wrong>``.

Each section has its module (``network_spec``, ``alert_spec``, ``job_spec``), the checks they
share are ``checks``, and ``problems`` words the errors; this module is the whole and its loader."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError, field_validator, model_validator

from constructs_lib.model.alert_spec import AlertSpec
from constructs_lib.model.checks import (
    KMS_KEY_ARN_PATTERN,
    S3_BUCKET_PATTERN,
    Concurrency,
    ExecutionLogLevel,
    check_region,
    check_ssm_parameter_name,
    field_error,
    freeze_list,
    secret_sources,
)
from constructs_lib.model.job_spec import JobSpec, TaskRoleStatement, job_default_retry, merged_retry
from constructs_lib.model.naming import check_stack_name
from constructs_lib.model.network_spec import NetworkSpec
from constructs_lib.model.problems import ConfigError, named_problem, problem_line
from constructs_lib.model.tags import check_tag_count, check_tags
from constructs_lib.model.value_object import ValueObject

__all__ = [
    "AlertSpec",
    "BackendSpec",
    "Concurrency",
    "Config",
    "ConfigError",
    "ExecutionLogLevel",
    "JobSpec",
    "NetworkSpec",
    "StackSpec",
    "TaskRoleStatement",
    "check_ssm_parameter_name",
    "job_default_retry",
    "load_config",
    "merged_retry",
    "parse_config",
    "secret_sources",
]


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

    _region = field_validator("region")(check_region)


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
    #: Tags for every resource of the stack (the AWS provider's default_tags), and for the tasks
    #: the jobs' runs launch: for cost allocation. Setting it, even to {}, also tags each job's
    #: resources and tasks with scheduled-job = <job name>.
    tags: dict[str, str] | None = None

    _name = field_validator("name")(check_stack_name)
    _tags = field_validator("tags")(check_tags)

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

    _region = field_validator("region")(check_region)


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
        return freeze_list(jobs)

    @model_validator(mode="after")
    def _unique_names(self) -> Config:
        for field, message in duplicate_names([job.name for job in self.jobs]):
            raise field_error(field, message)
        return self

    @model_validator(mode="after")
    def _tags_per_resource(self) -> Config:
        for index, job in enumerate(self.jobs):
            try:
                check_tag_count(self.stack.tags, job.tags)
            except ValueError as error:
                raise field_error(f"jobs[{index}].tags", str(error)) from None
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
        problems = [problem_line(error, Config) for error in exc.errors()]
        # Uniqueness is checked once every job is valid; say it now too, to report all at once.
        jobs = data.get("jobs")
        if isinstance(jobs, list):
            names = [job.get("name") if isinstance(job, dict) else None for job in jobs]
            problems += [
                line for field, message in duplicate_names(names) if (line := f"{field}: {message}") not in problems
            ]
        raise ConfigError(source, [named_problem(problem, jobs) for problem in problems]) from None
