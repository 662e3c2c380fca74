"""What every job of a stack shares, as one value: the constructs a job is wired to, and the
stack-wide switches. A job's constructs take the job, this, and little else."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from constructs_lib.alert_function import AlertFunction
from constructs_lib.alert_topic import AlertTopic
from constructs_lib.aws_environment import AwsEnvironment
from constructs_lib.cluster import Cluster
from constructs_lib.dead_letter_queue import DeadLetterQueue
from constructs_lib.log_key import LogEncryption
from constructs_lib.model.config import ExecutionLogLevel, JobSpec
from constructs_lib.model.tags import job_tags
from constructs_lib.network import JobNetwork
from constructs_lib.scheduler import ScheduleGroup

__all__ = ["StackShared"]


@dataclass(frozen=True)
class StackShared:
    """``schedule_group``: the stack's Scheduler group, needed by a job with a ``timezone``."""

    aws: AwsEnvironment
    network: JobNetwork
    cluster: Cluster
    alert: AlertFunction
    topic: AlertTopic
    dead_letter_queue: DeadLetterQueue
    schedule_group: ScheduleGroup | None = None
    log_key: LogEncryption | None = None
    tracing: bool = False
    execution_log_level: ExecutionLogLevel = "ERROR"
    #: ``[stack] tags``: ``None`` when the stack sets none (each job then tags nothing of its own).
    stack_tags: Mapping[str, str] | None = None

    def job_tags(self, job: JobSpec) -> dict[str, str] | None:
        """What ``job``'s resources and the tasks its runs launch carry besides the stack's default
        tags; ``None`` when the config tags nothing (``model.tags.job_tags``)."""
        return job_tags(job.name, stack_tags=self.stack_tags, tags=job.tags)
