"""The whole stack for a ``Config``: provider, shared network / cluster / alert topic and function,
one ScheduledJob per job."""

from __future__ import annotations

from constructs import Construct

from constructs_lib.alarm import AlertFunctionAlarms, UndeliverableAlertsAlarm, UndeliveredStartsAlarm, WatchdogAlarms
from constructs_lib.alert_function import AlertFunction
from constructs_lib.alert_queue import AlertQueue
from constructs_lib.alert_topic import AlertTopic
from constructs_lib.aws.provider import AwsProvider
from constructs_lib.aws_environment import AwsEnvironment
from constructs_lib.cdk import LocalBackend, S3Backend, TerraformOutput, TerraformStack
from constructs_lib.cluster import Cluster
from constructs_lib.dead_letter_queue import DeadLetterQueue
from constructs_lib.documents.terraform_text import literal_config
from constructs_lib.flow_logs import FlowLogs
from constructs_lib.log_key import ExistingLogKey, LogEncryption, LogKey
from constructs_lib.model.alert_channels import channel_settings
from constructs_lib.model.capacity import CLUSTER_PROVIDERS, capacity_source
from constructs_lib.model.config import BackendSpec, Config
from constructs_lib.model.naming import (
    alert_queue_name,
    alert_topic_name,
    ended_early_rule_name,
    job_name_prefix,
    schedule_rule_name,
    task_log_group_name,
)
from constructs_lib.model.tags import default_tags
from constructs_lib.network import ExistingNetwork, JobNetwork, Network
from constructs_lib.queue_event_source import QueueEventSource
from constructs_lib.scheduled_job import ScheduledJob
from constructs_lib.scheduler import ScheduleGroup
from constructs_lib.shared import StackShared
from constructs_lib.watchdog import Watchdog

__all__ = ["ScheduledJobsStack"]


class ScheduledJobsStack(TerraformStack):
    """Everything ``jobs.toml`` declares, as one Terraform stack named ``config.stack.name``."""

    def __init__(self, scope: Construct, *, config: Config, local_state_path: str | None = None) -> None:
        """``local_state_path``: where Terraform keeps the state without ``[stack] backend``,
        relative to the synthesized stack's folder (Terraform's working folder). ``None`` leaves
        cdktf's default, an absolute path under the folder the app runs in.

        The config's text reaches Terraform literally (``documents.terraform_text``): a ``${...}``
        in it is escaped here, once, not evaluated at plan time."""
        config = literal_config(config)
        name = config.stack.name
        super().__init__(scope, name)
        AwsProvider(
            self,
            "aws",
            region=config.stack.region,
            default_tags=[{"tags": {**default_tags(name), **(config.stack.tags or {})}}],
        )
        aws = AwsEnvironment(self, "environment")
        log_key: LogEncryption | None = None
        if config.stack.log_kms is True:
            log_key = LogKey(self, "log-key", name=name, aws=aws)
        elif isinstance(config.stack.log_kms, str):
            log_key = ExistingLogKey(arn=config.stack.log_kms)
        spec = config.network
        self.network: JobNetwork
        if spec.existing:
            self.network = ExistingNetwork(
                self,
                "network",
                vpc_id=spec.vpc_id,
                subnet_ids=spec.subnet_ids,
                security_group_ids=spec.security_group_ids,
                assign_public_ip=spec.assign_public_ip,
            )
        else:
            self.network = Network(self, "network", name=name, spec=spec)
            if spec.flow_logs:
                FlowLogs(
                    self,
                    "flow-logs",
                    name=name,
                    aws=aws,
                    vpc_id=self.network.vpc_id,
                    retention_days=spec.flow_logs_retention_days,
                    log_key=log_key,
                )
        # Capacity providers only where a job launches through a strategy (Fargate Spot).
        strategy = any(capacity_source(name).cluster_provider for job in config.jobs for name in job.capacity)
        self.cluster = Cluster(
            self,
            "cluster",
            name=name,
            aws=aws,
            capacity_providers=CLUSTER_PROVIDERS if strategy else (),
            container_insights=config.stack.container_insights,
        )
        self.topic = AlertTopic(self, "alert-topic", name=alert_topic_name(name), aws=aws, emails=config.alert.emails)
        # The rules that may send to it: each UTC job's schedule and every job's ended-early rule.
        rules = [ended_early_rule_name(job_name_prefix(name, job.name)) for job in config.jobs]
        rules += [schedule_rule_name(job_name_prefix(name, job.name)) for job in config.jobs if not job.timezone]
        self.dead_letter_queue = DeadLetterQueue(
            self, "undelivered", name=f"{name}-undelivered", stack_name=name, aws=aws, rule_names=sorted(rules)
        )
        self.alert_queue = AlertQueue(self, "alert-queue", name=alert_queue_name(name))
        self.alert = AlertFunction(
            self,
            "alert",
            name=f"{name}-alert",
            stack_name=name,
            aws=aws,
            topic=self.topic,
            consumed_queue=self.dead_letter_queue,
            alert_queue=self.alert_queue,
            log_retention_days=config.alert.log_retention_days,
            channels=channel_settings(config.alert),
            log_key=log_key,
            tracing=config.stack.tracing,
            zones=sorted({job.timezone for job in config.jobs if job.timezone}),
            task_log_groups=[task_log_group_name(name, job.name) for job in config.jobs],
        )
        self.alert_alarms = AlertFunctionAlarms(self, "alert-alarms", function=self.alert, topic=self.topic)
        self.undelivered_alerts = QueueEventSource(
            self, "undelivered-alerts", queue=self.dead_letter_queue, function=self.alert
        )
        self.undelivered_alarm = UndeliveredStartsAlarm(
            self, "undelivered-alarm", queue=self.dead_letter_queue, topic=self.topic
        )
        self.queued_alerts = QueueEventSource(
            self,
            "queued-alerts",
            queue=self.alert_queue,
            function=self.alert,
            batching_window_seconds=config.alert.group_seconds,
        )
        self.undeliverable_alarm = UndeliverableAlertsAlarm(
            self, "undeliverable-alarm", queue=self.alert_queue, topic=self.topic
        )
        self.schedule_group = (
            ScheduleGroup(self, "schedule-group", name=name) if any(job.timezone for job in config.jobs) else None
        )
        shared = StackShared(
            aws=aws,
            network=self.network,
            cluster=self.cluster,
            alert=self.alert,
            topic=self.topic,
            dead_letter_queue=self.dead_letter_queue,
            schedule_group=self.schedule_group,
            log_key=log_key,
            tracing=config.stack.tracing,
            execution_log_level=config.stack.execution_log_level,
            stack_tags=config.stack.tags,
        )
        self.jobs = [ScheduledJob(self, f"job-{job.name}", prefix=name, job=job, shared=shared) for job in config.jobs]
        self.watchdog = None
        if any(job.enabled for job in config.jobs):
            self.watchdog = Watchdog(
                self,
                "watchdog",
                name=f"{name}-watchdog",
                stack_name=name,
                aws=aws,
                jobs=self.jobs,
                schedule_group=self.schedule_group.name if self.schedule_group else None,
                alert_queue=self.alert_queue,
                channels=[channel for channel in self.alert.channels if channel != "log"],
                undelivered=self.dead_letter_queue,
                recoveries=config.alert.recoveries,
                log_retention_days=config.alert.log_retention_days,
                log_key=log_key,
                tracing=config.stack.tracing,
            )
            WatchdogAlarms(
                self,
                "watchdog-alarms",
                function_name=self.watchdog.function_name,
                name=self.watchdog.name,
                topic=self.topic,
            )
        self._outputs(aws)
        if config.stack.backend is not None:
            self._backend(config.stack.backend)
        elif local_state_path is not None:
            LocalBackend(self, path=local_state_path)

    def _backend(self, backend: BackendSpec) -> None:
        """S3 state, encrypted, locked with an S3 lock file (cdktf 0.21's S3Backend predates
        ``use_lockfile``, hence the override)."""
        S3Backend(self, bucket=backend.bucket, key=backend.key, region=backend.region, encrypt=True)
        if backend.use_lockfile:
            self.add_override("terraform.backend.s3.use_lockfile", True)

    def _outputs(self, aws: AwsEnvironment) -> None:
        """What `make run`, `make test-alert` and people need after a deploy (`terraform output`)."""
        TerraformOutput(self, "region", value=aws.region, description="The stack's region")
        TerraformOutput(self, "cluster_name", value=self.cluster.cluster.name, description="The ECS cluster")
        TerraformOutput(self, "vpc_id", value=self.network.vpc_id, description="The VPC the jobs run in")
        TerraformOutput(self, "subnet_ids", value=self.network.job_subnet_ids, description="The jobs' subnets")
        TerraformOutput(self, "alert_function_name", value=self.alert.function_name, description="The alert Lambda")
        TerraformOutput(
            self,
            "alert_topic_arn",
            value=self.topic.arn,
            description="Alerts and alarms are published here: subscribe e-mail, SMS or HTTPS endpoints to it",
        )
        TerraformOutput(
            self,
            "dead_letter_queue_url",
            value=self.dead_letter_queue.queue.url,
            description="Scheduled runs that could not be started, and why",
        )
        TerraformOutput(
            self,
            "jobs",
            description="Per job: its state machine, schedule, log group, and a command that starts a run now",
            value={job.job.name: job.outputs(aws) for job in self.jobs},
        )
