"""VPC flow logs: the VPC's accepted and rejected traffic, to a CloudWatch log group."""

from __future__ import annotations

from constructs import Construct

from constructs_lib.aws.flow_log import FlowLog
from constructs_lib.aws_environment import AwsEnvironment
from constructs_lib.documents.iam import render_statements
from constructs_lib.log_key import LogEncryption, log_group
from constructs_lib.model.naming import aws_name
from constructs_lib.service_role import ServiceRole

__all__ = ["FlowLogs"]


class FlowLogs(Construct):
    """Flow logs of ``vpc_id`` (all traffic) to the log group ``/vpc/<name>/flow-logs``, delivered
    by a role that ``vpc-flow-logs.amazonaws.com`` may assume for this account's flow logs only,
    and that may write to that one log group. Exposes ``log_group_name``."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        aws: AwsEnvironment,
        vpc_id: str,
        retention_days: int = 30,
        log_key: LogEncryption | None = None,
    ) -> None:
        super().__init__(scope, id_)
        self.log_group = log_group(self, name=f"/vpc/{name}/flow-logs", retention_days=retention_days, key=log_key)
        self.log_group_name: str = self.log_group.name
        self.role = ServiceRole(
            self,
            "role",
            name=aws_name(name, "flow-logs", kind="iam_role"),
            service="vpc-flow-logs.amazonaws.com",
            description=f"VPC flow logs of stack {name} write to their log group",
            statements=render_statements(
                "logs:flowLogs",
                log_streams=f"{self.log_group.arn}:*",
            ),
            # https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html
            source_account=aws.account_id,
            source_arn=aws.arn("ec2", "vpc-flow-log/*"),
        )
        self.flow_log = FlowLog(
            self,
            "flow-log",
            vpc_id=vpc_id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=self.log_group.arn,
            iam_role_arn=self.role.arn,
            max_aggregation_interval=600,
        )
