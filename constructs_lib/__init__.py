"""Constructs for scheduled Fargate jobs that retry launches and alert when they give up.

Three layers, and data flows one way: ``constructs_lib.model`` (``jobs.toml``'s value objects,
schedules, retry policies, Fargate sizes, names), ``constructs_lib.documents`` (the ASL, IAM,
run input, event patterns and review page, built from the model), then the construct modules
here, which turn both into Terraform. The first two import no cdktf code and load in
milliseconds. The constructs import the AWS provider bindings (seconds), so they are loaded on
first use: ``from constructs_lib import ScheduledJob`` imports ``constructs_lib.scheduled_job``
only then. Call ``use_lean_provider_import()`` before that to load only the provider modules in
use (about 20 s less per process; ``constructs_lib._provider``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from constructs_lib._provider import install_aliases, use_lean_provider_import

install_aliases()  # constructs_lib.cdk and constructs_lib.aws: the flavour's packages, on first use

_EXPORTS = {
    "AlertFunction": "constructs_lib.alert_function",
    "AlertFunctionAlarms": "constructs_lib.alarm",
    "AlertTopic": "constructs_lib.alert_topic",
    "AwsEnvironment": "constructs_lib.aws_environment",
    "Cluster": "constructs_lib.cluster",
    "Config": "constructs_lib.model.config",
    "DeadLetterQueue": "constructs_lib.dead_letter_queue",
    "EndedEarlyAlerts": "constructs_lib.ended_early_alerts",
    "ExistingNetwork": "constructs_lib.network",
    "ConfigError": "constructs_lib.model.config",
    "FargateTask": "constructs_lib.fargate_task",
    "JobNetwork": "constructs_lib.network",
    "JobSpec": "constructs_lib.model.config",
    "JobStateMachine": "constructs_lib.state_machine",
    "Network": "constructs_lib.network",
    "RunAlarms": "constructs_lib.alarm",
    "RetryPolicy": "constructs_lib.model.retry_policy",
    "Schedule": "constructs_lib.schedule",
    "ScheduleGroup": "constructs_lib.scheduler",
    "ScheduledJob": "constructs_lib.scheduled_job",
    "ScheduledJobsStack": "constructs_lib.stack",
    "ServiceRole": "constructs_lib.service_role",
    "TimeZoneSchedule": "constructs_lib.scheduler",
    "UndeliveredStartsAlarm": "constructs_lib.alarm",
    "load_config": "constructs_lib.model.config",
    "use_lean_provider_import": "constructs_lib._provider",
}
__all__ = [
    "AlertFunction",
    "AlertFunctionAlarms",
    "AlertTopic",
    "AwsEnvironment",
    "Cluster",
    "Config",
    "ConfigError",
    "DeadLetterQueue",
    "EndedEarlyAlerts",
    "ExistingNetwork",
    "FargateTask",
    "JobNetwork",
    "JobSpec",
    "JobStateMachine",
    "Network",
    "RetryPolicy",
    "RunAlarms",
    "Schedule",
    "ScheduleGroup",
    "ScheduledJob",
    "ScheduledJobsStack",
    "ServiceRole",
    "TimeZoneSchedule",
    "UndeliveredStartsAlarm",
    "load_config",
    "use_lean_provider_import",
]

if TYPE_CHECKING:
    from constructs_lib.alarm import AlertFunctionAlarms, RunAlarms, UndeliveredStartsAlarm
    from constructs_lib.alert_function import AlertFunction
    from constructs_lib.alert_topic import AlertTopic
    from constructs_lib.aws_environment import AwsEnvironment
    from constructs_lib.cluster import Cluster
    from constructs_lib.dead_letter_queue import DeadLetterQueue
    from constructs_lib.ended_early_alerts import EndedEarlyAlerts
    from constructs_lib.fargate_task import FargateTask
    from constructs_lib.model.config import Config, ConfigError, JobSpec, load_config
    from constructs_lib.model.retry_policy import RetryPolicy
    from constructs_lib.network import ExistingNetwork, JobNetwork, Network
    from constructs_lib.schedule import Schedule
    from constructs_lib.scheduled_job import ScheduledJob
    from constructs_lib.scheduler import ScheduleGroup, TimeZoneSchedule
    from constructs_lib.service_role import ServiceRole
    from constructs_lib.stack import ScheduledJobsStack
    from constructs_lib.state_machine import JobStateMachine


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'constructs_lib' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
