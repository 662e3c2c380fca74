"""``[[jobs]]``: one scheduled Fargate job, and the retry policy it gets by default."""

from __future__ import annotations

import datetime as dt
import difflib

from pydantic import Field, ValidationInfo, field_validator, model_validator

from constructs_lib.model.capacity import DEFAULT_CAPACITY, SOURCES, capacity_source, example_order
from constructs_lib.model.checks import (
    MANAGED_POLICY_ARN_PATTERN,
    SECRET_ARN_PATTERN,
    SSM_PARAMETER_ARN_PATTERN,
    CapacitySource,
    Concurrency,
    check_env_name,
    check_retention,
    field_error,
    freeze_list,
)
from constructs_lib.model.fargate import check_cpu, check_fargate_size
from constructs_lib.model.naming import check_job_name
from constructs_lib.model.retry_policy import RetryPolicy, default_retry_policy
from constructs_lib.model.schedule_expression import Schedule, ScheduleError, format_duration, parse_schedule
from constructs_lib.model.tags import check_tags
from constructs_lib.model.task_definition_size import check_task_definition_size
from constructs_lib.model.task_options import Architecture, EfsVolume, TaskRoleStatement, check_environment_files
from constructs_lib.model.time_zone import ABBREVIATIONS, is_zone, zone_names
from constructs_lib.model.value_object import ValueObject

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
    #: Say so, once per run, when a run is still running this long after it started (the watchdog):
    #: a heads-up before the timeout stops it. Off by default.
    warn_after_seconds: int | None = Field(default=None, ge=300, le=7 * 86400)
    #: Capacity to launch on, in order: when launches on one still find no capacity after the
    #: retry policy, the run moves on to the next, which gets the policy again.
    capacity: tuple[CapacitySource, ...] = DEFAULT_CAPACITY
    #: ``forbid``: a run that finds the previous one still running launches nothing, alerts and
    #: fails (``Job.PreviousRunStillRunning``). ``allow``: runs may overlap.
    concurrency: Concurrency = "forbid"
    #: The CPU architecture the image is built for. ARM64 runs on Graviton, about 20% cheaper on
    #: Fargate. Absent: the task definition names none, and Fargate runs X86_64.
    architecture: Architecture | None = None
    #: The task's disk in GiB, 21 to 200 (Fargate's range); absent, Fargate's 20 GiB.
    ephemeral_storage_gib: int | None = Field(default=None, ge=21, le=200)
    #: Seconds between SIGTERM and SIGKILL when the task is stopped (its timeout, a Spot
    #: interruption, a person): at most Fargate's 120; absent, ECS's 30.
    stop_timeout_seconds: int | None = Field(default=None, ge=1, le=120)
    #: S3 objects (``.env`` files) whose variables ECS sets in the container at launch; the
    #: execution role may read exactly these objects.
    environment_files: tuple[str, ...] = ()
    #: Amazon EFS file systems mounted in the container (``[[jobs.volumes]]``).
    volumes: tuple[EfsVolume, ...] = ()
    #: Tags for the job's resources and for the tasks its runs launch, besides ``[stack] tags``.
    tags: dict[str, str] | None = None
    #: The keys given in ``[jobs.retry]``; every key left out takes the default policy's value
    #: (``job_default_retry``: the default scaled to the schedule). ``None``: the default throughout.
    retry: RetryPolicy | None = None

    _name = field_validator("name")(check_job_name)
    _cpu = field_validator("cpu")(check_cpu)
    _retention = field_validator("log_retention_days")(check_retention)

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
        if "schedule" in info.data:
            _check_shorter_than_runs(minutes, info.data["schedule"], info.data.get("timezone"), lowest=1)
        return minutes

    @field_validator("warn_after_seconds")
    @classmethod
    def _warn_after(cls, seconds: int | None, info: ValidationInfo) -> int | None:
        timeout = info.data.get("timeout_seconds")
        if seconds is not None and timeout is not None and seconds >= timeout:
            raise ValueError(
                f"{seconds} is not shorter than timeout_seconds {timeout}: the timeout stops the run first "
                f"(allowed: 300 to {timeout - 1})"
            )
        return seconds

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
        _check_shorter_than_runs(minutes, info.data["schedule"], info.data.get("timezone"), lowest=flexible + 1)
        return minutes

    @field_validator("image")
    @classmethod
    def _image(cls, image: str) -> str:
        if not image.strip() or image != image.strip():
            raise ValueError(f"{image!r} is not an image reference (empty or surrounded by spaces)")
        return image

    _command_list = field_validator("command", mode="before")(freeze_list)

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
            check_env_name(key)
            if "\x00" in value:
                raise ValueError(f"{key} holds a NUL character (allowed: text without NUL, which no program gets)")
        return environment

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, secrets: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        plain = info.data.get("environment", {})
        for key, value_from in secrets.items():
            check_env_name(key)
            if key in plain:
                raise ValueError(f"{key!r} is also in environment (allowed: each name in one of them)")
            if not (SSM_PARAMETER_ARN_PATTERN.fullmatch(value_from) or SECRET_ARN_PATTERN.fullmatch(value_from)):
                raise ValueError(
                    f"{key} = {value_from!r} is not the ARN of an SSM parameter or a Secrets Manager secret "
                    "(allowed: 'arn:aws:ssm:<region>:<account>:parameter/<name>' or "
                    "'arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>')"
                )
        return secrets

    _policy_lists = field_validator("task_role_policy_arns", "task_role_statements", mode="before")(freeze_list)
    _option_lists = field_validator("environment_files", "volumes", mode="before")(freeze_list)
    _environment_files = field_validator("environment_files")(check_environment_files)
    _tags = field_validator("tags")(check_tags)

    @field_validator("architecture")
    @classmethod
    def _architecture(cls, architecture: str | None, info: ValidationInfo) -> str | None:
        for source in map(capacity_source, info.data.get("capacity", ())):
            if architecture is None or architecture in source.architectures:
                continue
            raise ValueError(
                f"{architecture!r} cannot run on {source.name}: {source.label} runs "
                f"{' and '.join(source.architectures)} tasks only (allowed: {' or '.join(source.architectures)} "
                f"with {source.name}, or a capacity without it) "
                "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html"
            )
        return architecture

    @field_validator("volumes")
    @classmethod
    def _volumes(cls, volumes: tuple[EfsVolume, ...]) -> tuple[EfsVolume, ...]:
        paths = [volume.container_path for volume in volumes]
        for index, path in enumerate(paths):
            if path in paths[:index]:
                raise ValueError(f"{path!r} is the container_path of two volumes (allowed: each path once)")
        return volumes

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

    _capacity_list = field_validator("capacity", mode="before")(freeze_list)

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
    def _fits_ecs(self) -> JobSpec:
        check_task_definition_size(self)
        return self

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


def _check_shorter_than_runs(minutes: int, schedule: str, zone: str | None, *, lowest: int) -> None:
    """Refuse ``minutes`` unless shorter than the shortest real gap between two runs of
    ``schedule``, daylight saving counted: a daily 08:00 in New York is 23 h after the previous
    run on the day clocks spring forward. ``lowest``: the least the field allows, for the message."""
    zone = zone or "UTC"
    period = parse_schedule(schedule).shortest_gap_seconds(zone=zone)
    if period is not None and minutes * 60 >= period:
        shift = " in " + zone + ", daylight saving counted" if zone != "UTC" else ""
        raise ValueError(
            f"{minutes} minutes is not shorter than the time between runs of {schedule}{shift} "
            f"({format_duration(period)}) (allowed: {lowest} to {(period - 1) // 60})"
        )


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
