"""Where the stack runs: partition, region and account, from data sources, and ARNs built from them."""

from __future__ import annotations

from constructs import Construct

from constructs_lib.aws.data_aws_caller_identity import DataAwsCallerIdentity
from constructs_lib.aws.data_aws_partition import DataAwsPartition
from constructs_lib.aws.data_aws_region import DataAwsRegion

__all__ = ["AwsEnvironment"]


class AwsEnvironment(Construct):
    """The partition, region and account of the provider, as Terraform references.

    ARNs are built with ``arn()`` so that the stack works in every partition (aws, aws-cn,
    aws-us-gov) without an ``arn:aws:`` literal.
    """

    def __init__(self, scope: Construct, id_: str) -> None:
        super().__init__(scope, id_)
        self.partition: str = DataAwsPartition(self, "partition").partition
        self.region: str = DataAwsRegion(self, "region").region
        self.account_id: str = DataAwsCallerIdentity(self, "account").account_id

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        """``arn:<partition>:<service>:<region>:<account>:<resource>`` (no region if not ``regional``)."""
        region = self.region if regional else ""
        return f"arn:{self.partition}:{service}:{region}:{self.account_id}:{resource}"
