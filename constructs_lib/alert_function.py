"""The alert Lambda that all jobs' state machines call when a run gives up."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import tzdata
from constructs import Construct

from constructs_lib.alert_queue import AlertQueue
from constructs_lib.alert_topic import AlertTopic
from constructs_lib.aws.lambda_function import LambdaFunction
from constructs_lib.aws_environment import AwsEnvironment
from constructs_lib.cdk import AssetType, TerraformAsset
from constructs_lib.dead_letter_queue import DeadLetterQueue
from constructs_lib.documents.iam import render_statements
from constructs_lib.log_key import LogEncryption, log_group
from constructs_lib.model.alert_channels import CHANNELS, ChannelSetting
from constructs_lib.model.config import check_ssm_parameter_name
from constructs_lib.model.naming import aws_name
from constructs_lib.service_role import ServiceRole
from lambda_src.contract import (
    ALERT_DEAD_LETTER_URL_VARIABLE,
    ALERT_QUEUE_URL_VARIABLE,
    SNS_TOPIC_VARIABLE,
    STACK_NAME_VARIABLE,
)

__all__ = ["HANDLER", "LAMBDA_SOURCE", "RUNTIME", "AlertFunction", "lambda_role", "python_function", "staged_source"]

LAMBDA_SOURCE = Path(__file__).resolve().parent.parent / "lambda_src"
HANDLER = f"{LAMBDA_SOURCE.name}.alert.handler"
# Supported Python runtimes: https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
RUNTIME = "python3.13"
# One invocation per channel takes an SSM read and one request (10 s each at most); a person's
# invocation without a channel visits every channel in turn. The handler keeps each request
# within what is left of this.
TIMEOUT_SECONDS = 60
# Reserved concurrency: capacity the alerts always have, and all they may take from the account's
# pool (1,000 by default). A run that fails sends one invocation per channel (4 at most), so 20
# serves 5 failed runs at once; throttled invocations are retried by the state machine
# (Lambda.TooManyRequestsException) and counted by the Throttles alarm.
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
RESERVED_CONCURRENCY = 20


# The schedule model, shipped with the function so that an alert names the job's next run with the
# same code that validated the schedule (one source): these modules import only the standard
# library, each other, lambda_src and tzdata.
MODEL_SOURCE = Path(__file__).resolve().parent / "model"
SHARED_MODEL_MODULES = ("__init__.py", "durations.py", "schedule_expression.py", "time_zone.py")


def staged_source(source: Path, zones: Sequence[str] = (), *, files: Mapping[str, str] | None = None) -> str:
    """The function's package in a folder of its own: the ``.py`` files of ``source`` under its own
    name (``lambda_src/*.py``, so caches and editor files stay out of the zip and out of the asset
    hash), the shared schedule model (``constructs_lib/model/``), and the part of the pinned tz
    database its zones need (``tzdata/``: the name list, and each zone's file), so that times in a
    job's zone read the same in the alert as in the preview, whatever the runtime's own zone files.
    ``files``: more files for the package's own folder, by name (the watchdog's list of jobs)."""
    staging = Path(tempfile.mkdtemp(prefix="alert-lambda-"))
    atexit.register(shutil.rmtree, staging, ignore_errors=True)  # synth has copied it by then
    package = staging / source.name
    package.mkdir()
    for path in sorted(source.glob("*.py")):
        shutil.copy2(path, package / path.name)
    for name, text in sorted((files or {}).items()):
        (package / name).write_text(text)
    model = staging / "constructs_lib" / "model"
    model.mkdir(parents=True)
    (model.parent / "__init__.py").write_text('"""Only the schedule model, shipped with the alert Lambda."""\n')
    for module in SHARED_MODEL_MODULES:
        shutil.copy2(MODEL_SOURCE / module, model / module)
    tzdata_source = Path(tzdata.__file__).parent
    tzdata_target = staging / "tzdata"
    (tzdata_target / "zoneinfo").mkdir(parents=True)
    for name in ("__init__.py", "zones", "zoneinfo/__init__.py"):
        shutil.copy2(tzdata_source / name, tzdata_target / name)
    for zone in sorted({"UTC", *zones}):
        parts = zone.split("/")
        for depth in range(1, len(parts)):  # each folder on the way is a package (importlib.resources)
            folder = Path("zoneinfo", *parts[:depth])
            (tzdata_target / folder).mkdir(exist_ok=True)
            shutil.copy2(tzdata_source / folder / "__init__.py", tzdata_target / folder / "__init__.py")
        shutil.copy2(tzdata_source / "zoneinfo" / zone, tzdata_target / "zoneinfo" / zone)
    return str(staging)


def lambda_role(
    scope: Construct,
    *,
    name: str,
    description: str,
    log_group: Any,
    statements: list[dict[str, Any]],
    tracing: bool,
) -> ServiceRole:
    """The role of one of this project's Lambdas: writing to its own log group, ``statements``,
    and X-Ray's when ``tracing``."""
    every = render_statements("logs:write", log_streams=f"{log_group.arn}:*") + statements
    if tracing:
        every += render_statements("xray:write")
    return ServiceRole(
        scope,
        "role",
        name=aws_name(name, kind="iam_role"),
        service="lambda.amazonaws.com",
        description=description,
        statements=every,
    )


def python_function(
    scope: Construct,
    *,
    name: str,
    description: str,
    role: ServiceRole,
    log_group: Any,
    handler: str,
    package: str,
    timeout: int,
    reserved_concurrency: int,
    environment: dict[str, str],
    tracing: bool,
    dead_letter_arn: str | None = None,
) -> LambdaFunction:
    """A Python Lambda of this project's code (``package``, from ``staged_source``): arm64, 128 MB,
    created after its log group and its role's policy (so its first log lines and calls work)."""
    asset = TerraformAsset(scope, "code", path=package, type=AssetType.ARCHIVE)
    return LambdaFunction(
        scope,
        "function",
        function_name=name,
        description=description,
        role=role.arn,
        runtime=RUNTIME,
        architectures=["arm64"],
        handler=handler,
        filename=asset.path,
        source_code_hash=asset.asset_hash,
        memory_size=128,
        timeout=timeout,
        reserved_concurrent_executions=reserved_concurrency,
        environment={"variables": environment},
        tracing_config={"mode": "Active"} if tracing else None,
        dead_letter_config={"target_arn": dead_letter_arn} if dead_letter_arn is not None else None,
        depends_on=[log_group, role.policy] if role.policy else [log_group],
    )


class AlertFunction(Construct):
    """A Python Lambda (``lambda_src``, handler ``lambda_src.alert.handler``) packaged with
    ``TerraformAsset``. It logs each alert, publishes it to ``topic`` and posts it to the chat
    channels that are configured.

    The chat secrets stay in SSM Parameter Store: the function's environment names the
    parameters, and its role may read exactly those (and decrypt them through SSM only). It logs to
    its own log group with a retention period (encrypted with ``log_key`` where given);
    ``tracing`` turns X-Ray on. With ``consumed_queue`` its role may read that queue
    (``QueueEventSource`` wires the reading), and it is the function's own dead-letter queue.
    With ``alert_queue`` a failed run's alert for a chat or e-mail channel waits there, and the
    function delivers it from there, grouped (``lambda_src.delivery``); without one it posts at once.
    ``zones``: the jobs' time zones, whose rules the package carries. ``task_log_groups``: the
    jobs' log groups, whose last lines an alert quotes (its role may read their streams, no
    other). Exposes ``arn``, ``name``, ``channels`` (the
    channels each alert goes to), ``function_name`` and ``invoke_statements()``.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        stack_name: str,
        aws: AwsEnvironment,
        topic: AlertTopic,
        consumed_queue: DeadLetterQueue | None = None,
        alert_queue: AlertQueue | None = None,
        log_retention_days: int = 30,
        channels: Sequence[ChannelSetting] = (),
        source: Path = LAMBDA_SOURCE,
        log_key: LogEncryption | None = None,
        tracing: bool = False,
        zones: Sequence[str] = (),
        task_log_groups: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, id_)
        for setting in channels:
            if setting.name not in CHANNELS or setting.name in ("log", "email"):
                raise ValueError(f"{name}: {setting.name!r} is not a chat channel (allowed: {', '.join(CHANNELS[2:])})")
            for parameter in setting.parameters:
                check_ssm_parameter_name(parameter)
        self.name = aws_name(name, kind="lambda_function")
        self.log_group = log_group(
            self, name=f"/aws/lambda/{self.name}", retention_days=log_retention_days, key=log_key
        )

        environment = {SNS_TOPIC_VARIABLE: topic.arn, STACK_NAME_VARIABLE: stack_name}
        if alert_queue is not None:
            environment[ALERT_QUEUE_URL_VARIABLE] = alert_queue.url
            environment[ALERT_DEAD_LETTER_URL_VARIABLE] = alert_queue.dead_letter_url
        for setting in channels:
            environment.update(setting.environment)
        configured = {"log", "email", *(setting.name for setting in channels)}
        self.channels: tuple[str, ...] = tuple(channel for channel in CHANNELS if channel in configured)

        statements = topic.publish_statements()
        if consumed_queue is not None:
            statements += consumed_queue.consume_statements()
            statements += consumed_queue.send_statements()  # it is the function's dead-letter queue too
        if alert_queue is not None:
            statements += alert_queue.statements()
        if task_log_groups:
            statements += render_statements(
                "logs:readTaskLogs",
                log_streams=[aws.arn("logs", f"log-group:{group}:log-stream:*") for group in task_log_groups],
            )
        parameters = [parameter for setting in channels for parameter in setting.parameters]
        if parameters:
            statements += render_statements(
                "ssm:read",
                # A name with a leading '/' follows "parameter" directly: parameter/team/webhook.
                parameters=[aws.arn("ssm", f"parameter{p}") for p in parameters],
                account_keys=aws.arn("kms", "key/*"),
                ssm_service=f"ssm.{aws.region}.amazonaws.com",
            )
        self.role = lambda_role(
            self,
            name=name,
            description="The scheduled jobs' alert Lambda: logs, publishes and posts alerts",
            log_group=self.log_group,
            statements=statements,
            tracing=tracing,
        )
        self.function = python_function(
            self,
            name=self.name,
            description="Alerts when a scheduled job's run gives up",
            role=self.role,
            log_group=self.log_group,
            handler=HANDLER,
            package=staged_source(source, zones),
            timeout=TIMEOUT_SECONDS,
            reserved_concurrency=RESERVED_CONCURRENCY,
            environment=environment,
            tracing=tracing,
            # Asynchronous invocations (the ended-early rules') that still fail after Lambda's two
            # retries land in the queue the function reads: the alert is tried again from there.
            dead_letter_arn=consumed_queue.arn if consumed_queue is not None else None,
        )
        self.arn: str = self.function.arn
        self.function_name: str = self.function.function_name

    def invoke_statements(self) -> list[dict[str, Any]]:
        """What a role needs to invoke this function (and its versions and aliases, ``:*``)."""
        return render_statements("lambda:invoke", function=[self.arn, f"{self.arn}:*"])
