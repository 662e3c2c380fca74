"""A job's Step Functions state machine: runs the task, retries launches, alerts, fails visibly."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from constructs import Construct

from constructs_lib.aws.sfn_state_machine import SfnStateMachine
from constructs_lib.documents.asl import render_definition
from constructs_lib.documents.asl_alert import AlertJob
from constructs_lib.documents.iam import render_statements
from constructs_lib.fargate_task import FargateTask
from constructs_lib.log_key import log_group
from constructs_lib.model.capacity import capacity_source
from constructs_lib.model.config import JobSpec
from constructs_lib.model.naming import aws_name
from constructs_lib.service_role import ServiceRole

if TYPE_CHECKING:  # the shared pieces name the scheduler, which names this
    from constructs_lib.shared import StackShared

__all__ = ["SYNC_RULE_NAME", "JobStateMachine"]

# The managed rule through which `.sync` integrations learn that an ECS task stopped.
# https://docs.aws.amazon.com/step-functions/latest/dg/ecs-iam.html
SYNC_RULE_NAME = "StepFunctionsGetEventsForECSTaskRule"


class JobStateMachine(Construct):
    """The state machine for one job (definition: ``constructs_lib.documents.asl``) and its role.

    The role may run this task definition's revisions (the family) in this cluster, pass exactly the task's two
    roles to ECS, track tasks in this cluster, manage the `.sync` rule, invoke the alert function
    and, with ``concurrency="forbid"``, list its own running executions. Its alert step invokes
    the function once per channel it is configured for (``alert.channels``). Exposes ``arn``,
    ``name`` and ``alert_job`` (what alerts say about the job). The job's settings come from ``job``
    and the stack's from ``shared``: unless its execution log level is ``OFF``, it logs to its own
    log group (failed states with ``ERROR``, the default), without execution data, encrypted with
    the stack's log key where there is one; ``tracing`` turns X-Ray on.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        stack_name: str,
        job: JobSpec,
        task: FargateTask,
        shared: StackShared,
    ) -> None:
        aws, cluster, network, alert = shared.aws, shared.cluster, shared.network, shared.alert
        log_level, log_key, tracing = shared.execution_log_level, shared.log_key, shared.tracing
        job_name, retry, timeout_seconds = job.name, job.retry_policy, job.timeout_seconds
        concurrency, capacity, log_retention_days = job.concurrency, job.capacity, job.log_retention_days
        schedule_expression, timezone = job.schedule, job.timezone
        super().__init__(scope, id_)
        self.name = aws_name(name, kind="state_machine")
        statements = (
            render_statements(
                "ecs:runTask.sync",
                task_definition=task.revision_arns,
                cluster=cluster.arn,
                cluster_tasks=cluster.task_arns,
                task_roles=task.pass_role_arns,
                sync_rule=aws.arn("events", f"rule/{SYNC_RULE_NAME}"),
            )
            + alert.invoke_statements()
        )
        # A job whose resources are tagged launches tasks that carry the tags.
        propagate_tags = shared.job_tags(job) is not None
        if propagate_tags:
            statements += render_statements("ecs:tagTask", cluster_tasks=cluster.task_arns)
        # Built from the name, not the resource: the role must exist before the state machine.
        own_arn = aws.arn("states", f"stateMachine:{self.name}")
        if concurrency == "forbid":
            statements += render_statements("sfn:listExecutions", state_machine=own_arn)
        logging = None
        if log_level != "OFF":
            # /aws/vendedlogs/: AWS's advice, so that log delivery's resource policy stays small.
            # https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html
            self.log_group = log_group(
                self, name=f"/aws/vendedlogs/states/{self.name}", retention_days=log_retention_days, key=log_key
            )
            statements += render_statements("logs:vendedDelivery")
            logging = {
                "level": log_level,
                "include_execution_data": False,  # inputs and outputs can hold the job's environment
                "log_destination": f"{self.log_group.arn}:*",
            }
        if tracing:
            statements += render_statements("xray:write")
        self.role = ServiceRole(
            self,
            "role",
            name=aws_name(name, "sfn", kind="iam_role"),
            service="states.amazonaws.com",
            description=f"Step Functions runs job {job_name}",
            statements=statements,
            source_account=aws.account_id,
            source_arn=own_arn,
        )
        self.alert_job = AlertJob.of(
            stack_name=stack_name,
            job_name=job_name,
            retry=retry,
            timeout_seconds=timeout_seconds,
            log_group_name=task.log_group_name,
            capacity=capacity,
            schedule=schedule_expression,
            timezone=timezone,
        )
        needed = {capacity_source(name).cluster_provider for name in capacity} - {None}
        missing = needed - set(cluster.capacity_providers)
        if missing:
            raise ValueError(f"{name}: cluster {cluster.name} has no capacity provider {sorted(missing)}")
        self.definition = render_definition(
            job=self.alert_job,
            partition=aws.partition,
            cluster_arn=cluster.arn,
            task_definition_arn=task.arn,
            subnet_ids=network.job_subnet_ids,
            security_group_ids=[task.security_group_id, *network.security_group_ids],
            assign_public_ip=network.assign_public_ip,
            alert_function_arn=alert.arn,
            alert_channels=alert.channels,
            retry=retry,
            concurrency=concurrency,
            propagate_tags=propagate_tags,
        )
        self.state_machine = SfnStateMachine(
            self,
            "state-machine",
            name=self.name,
            role_arn=self.role.arn,
            type="STANDARD",
            definition=json.dumps(self.definition, indent=2, sort_keys=True),
            logging_configuration=logging,
            tracing_configuration={"enabled": True} if tracing else None,
            depends_on=[self.role.policy] if self.role.policy else None,
        )
        self.arn: str = self.state_machine.arn
