"""The composite: one scheduled job, wired from its parts (the original's
``ScheduledStepFunctionsFargateTask``)."""

from __future__ import annotations

from typing import Any

from constructs import Construct

from constructs_lib.alarm import RunAlarms
from constructs_lib.aws_environment import AwsEnvironment
from constructs_lib.cdk import TerraformResource
from constructs_lib.documents.run_input import manual_input
from constructs_lib.ended_early_alerts import EndedEarlyAlerts
from constructs_lib.fargate_task import FargateTask
from constructs_lib.model.config import JobSpec
from constructs_lib.model.naming import job_name_prefix
from constructs_lib.schedule import Schedule
from constructs_lib.scheduler import TimeZoneSchedule
from constructs_lib.shared import StackShared
from constructs_lib.state_machine import JobStateMachine

__all__ = ["ScheduledJob", "tag_resources"]


class ScheduledJob(Construct):
    """A Fargate task, the state machine that runs it, its schedule, the alerts for runs that end
    without reaching the alert step, and its run alarms.

    ``job`` is a validated ``JobSpec``; ``shared`` holds what the stack's jobs share (the network,
    cluster, alert function and topic, dead-letter queue, the schedule group for a job with a
    ``timezone``, the log key and the switches). Its schedule is an EventBridge rule (UTC) or a
    Scheduler schedule (``timezone``).
    ``prefix`` is the stack's name; resource names start with ``<prefix>-<job name>``.
    """

    def __init__(self, scope: Construct, id_: str, *, prefix: str, job: JobSpec, shared: StackShared) -> None:
        super().__init__(scope, id_)
        name = job_name_prefix(prefix, job.name)
        aws = shared.aws
        self.job = job
        self.task = FargateTask(
            self, "task", name=name, job=job, aws=aws, network=shared.network, log_key=shared.log_key
        )
        self.state_machine = JobStateMachine(
            self, "state-machine", name=name, stack_name=prefix, job=job, task=self.task, shared=shared
        )
        self.schedule: Schedule | TimeZoneSchedule
        timing = {
            "name": name,
            "job_name": job.name,
            "schedule": job.parsed_schedule,
            "aws": aws,
            "state_machine": self.state_machine,
            "dead_letter_queue": shared.dead_letter_queue,
            "enabled": job.enabled,
            "description": f"Starts job {job.name}",
        }
        if job.timezone is None:
            self.schedule = Schedule(self, "schedule", **timing)
        else:
            if shared.schedule_group is None:
                raise ValueError(f"{name}: a job with a timezone needs the stack's schedule_group")
            self.schedule = TimeZoneSchedule(
                self,
                "schedule",
                **timing,
                timezone=job.timezone,
                group=shared.schedule_group,
                flexible_window_minutes=job.flexible_window_minutes,
            )
        self.ended_early = EndedEarlyAlerts(
            self,
            "ended-early",
            name=name,
            aws=aws,
            state_machine=self.state_machine,
            alert=shared.alert,
            dead_letter_queue=shared.dead_letter_queue,
        )
        self.alarms = RunAlarms(
            self, "alarms", name=name, job_name=job.name, state_machine=self.state_machine, topic=shared.topic
        )
        tags = shared.job_tags(job)
        if tags is not None:
            tag_resources(self, tags)

    def outputs(self, aws: AwsEnvironment) -> dict[str, Any]:
        """What `terraform output jobs` says of this job."""
        return {
            "state_machine_arn": self.state_machine.arn,
            "schedule_name": self.schedule.schedule_name,
            "log_group": self.task.log_group_name,
            # The watchdog's grace for this job (lambda_src.watchdog); none when it is not watched.
            "missed_run_grace_seconds": self.job.grace_seconds if self.job.enabled else None,
            **({"warn_after_seconds": self.job.warn_after_seconds} if self.job.warn_after_seconds else {}),
            # What an EFS mount target's security group lets in (NFS, TCP 2049): docs/configuration.md.
            **({"security_group_id": self.task.security_group_id} if self.job.volumes else {}),
            "start_execution": f"aws stepfunctions start-execution --region {aws.region} "
            f"--state-machine-arn {self.state_machine.arn} --input '{manual_input(self.job.name)}'",
        }


def tag_resources(scope: Construct, tags: dict[str, str]) -> None:
    """Add ``tags`` to every resource under ``scope`` that takes tags (over the provider's
    default tags, and over the resource's own tags of the same key)."""
    for node in scope.node.find_all():
        if isinstance(node, TerraformResource) and isinstance(getattr(type(node), "tags", None), property):
            node.tags = {**(node.tags_input or {}), **tags}  # type: ignore[attr-defined]
