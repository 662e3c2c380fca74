"""``[network]``: a VPC the stack creates, or one that exists."""

from __future__ import annotations

import ipaddress
import re

from pydantic import Field, ValidationInfo, field_validator, model_validator

from constructs_lib.model.checks import ZONE_PATTERN, check_retention, field_error, freeze_list
from constructs_lib.model.value_object import ValueObject

VPC_ID_PATTERN = re.compile(r"vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})")
SUBNET_ID_PATTERN = re.compile(r"subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})")
SECURITY_GROUP_ID_PATTERN = re.compile(r"sg-(?:[0-9a-f]{8}|[0-9a-f]{17})")
CREATED_NETWORK_KEYS = (
    "cidr",
    "max_azs",
    "nat_gateways",
    "availability_zones",
    "flow_logs",
    "flow_logs_retention_days",
)
EXISTING_NETWORK_KEYS = ("vpc_id", "subnet_ids", "security_group_ids", "assign_public_ip")


def check_ids(ids: tuple[str, ...], pattern: re.Pattern[str], kind: str, example: str) -> tuple[str, ...]:
    for value in ids:
        if not pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not a {kind} id (allowed: {example}, with 8 or 17 hex digits)")
    if len(set(ids)) != len(ids):
        raise ValueError(f"{list(ids)!r} names an id twice (allowed: each once)")
    return ids


class NetworkSpec(ValueObject):
    """``[network]``: the VPC that all jobs share: one the stack creates (``cidr``, ``max_azs``,
    ``nat_gateways``, ``availability_zones``) or an existing one (``vpc_id``, ``subnet_ids``,
    ``security_group_ids``, ``assign_public_ip``), not a mix."""

    cidr: str = "10.0.0.0/16"
    #: Availability zones used; each gets a public and a private subnet.
    max_azs: int = Field(default=2, ge=1, le=6)
    #: 0 runs jobs in public subnets with a public IP (no NAT cost); at most one per AZ.
    nat_gateways: int = Field(default=1, ge=0)
    #: Zone names to use, as many as max_azs. Without them the subnets take the first max_azs
    #: zones the region reports as available at plan time: should one of them become unavailable,
    #: the list shifts and Terraform plans to replace subnets. Pin them for production.
    availability_zones: tuple[str, ...] | None = None
    #: VPC flow logs (accepted and rejected traffic) to a CloudWatch log group: an audit trail of
    #: where the jobs connect, charged per GB logged. Off by default.
    flow_logs: bool = False
    flow_logs_retention_days: int = 30
    #: An existing VPC: the stack creates no VPC, subnets, NAT or gateways.
    vpc_id: str | None = None
    #: The existing subnets the jobs run in (at least one; several zones ride out a zone's shortage).
    subnet_ids: tuple[str, ...] | None = None
    #: Security groups the tasks join besides their own (which allows all egress, no ingress).
    security_group_ids: tuple[str, ...] = ()
    #: Give the tasks a public IP: for public subnets, where there is no NAT to pull images through.
    assign_public_ip: bool = False

    _id_lists = field_validator("subnet_ids", "security_group_ids", mode="before")(freeze_list)
    _flow_logs_retention = field_validator("flow_logs_retention_days")(check_retention)

    @field_validator("vpc_id")
    @classmethod
    def _vpc_id(cls, vpc_id: str | None) -> str | None:
        if vpc_id is not None and not VPC_ID_PATTERN.fullmatch(vpc_id):
            raise ValueError(f"{vpc_id!r} is not a VPC id (allowed: vpc-..., with 8 or 17 hex digits)")
        return vpc_id

    @field_validator("subnet_ids")
    @classmethod
    def _subnet_ids(cls, ids: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if ids is None:
            return ids
        if not ids:
            raise ValueError("[] names no subnet (allowed: one or more subnet ids, in several zones if you can)")
        return check_ids(ids, SUBNET_ID_PATTERN, "subnet", "subnet-...")

    @field_validator("security_group_ids")
    @classmethod
    def _security_group_ids(cls, ids: tuple[str, ...]) -> tuple[str, ...]:
        return check_ids(ids, SECURITY_GROUP_ID_PATTERN, "security group", "sg-...")

    @model_validator(mode="after")
    def _created_or_existing(self) -> NetworkSpec:
        existing = self.vpc_id is not None or self.subnet_ids is not None
        given = self.model_fields_set
        if existing:
            for key in CREATED_NETWORK_KEYS:
                if key in given:
                    raise field_error(
                        key,
                        "is for a network the stack creates, and vpc_id / subnet_ids name an existing one "
                        f"(allowed with an existing network: {', '.join(EXISTING_NETWORK_KEYS)})",
                    )
            for key, value in (("vpc_id", self.vpc_id), ("subnet_ids", self.subnet_ids)):
                if value is None:
                    raise field_error(key, "required with an existing network (allowed: give vpc_id and subnet_ids)")
        else:
            for key in ("security_group_ids", "assign_public_ip"):
                if key in given:
                    raise field_error(
                        key, "is for an existing network (allowed with it: vpc_id and subnet_ids, which name it)"
                    )
        return self

    @property
    def existing(self) -> bool:
        return self.vpc_id is not None

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, cidr: str) -> str:
        try:
            network = ipaddress.IPv4Network(cidr)
        except ValueError as exc:
            raise ValueError(f"{cidr!r} is not an IPv4 CIDR block ({exc})") from None
        # VPC sizes: https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html
        if not 16 <= network.prefixlen <= 24:
            raise ValueError(
                f"{cidr!r} has prefix /{network.prefixlen} (allowed: /16 to /24, so each AZ's subnets fit)"
            )
        return cidr

    @field_validator("nat_gateways")
    @classmethod
    def _nat_fits(cls, nat_gateways: int, info: ValidationInfo) -> int:
        max_azs = info.data.get("max_azs")  # absent when max_azs itself is invalid
        if max_azs is not None and nat_gateways > max_azs:
            raise ValueError(
                f"{nat_gateways} is more than max_azs {max_azs} (allowed: 0 to {max_azs}, at most one per AZ)"
            )
        return nat_gateways

    _zones_list = field_validator("availability_zones", mode="before")(freeze_list)

    @field_validator("availability_zones")
    @classmethod
    def _zones(cls, zones: tuple[str, ...] | None, info: ValidationInfo) -> tuple[str, ...] | None:
        if zones is None:
            return zones
        for zone in zones:
            if not ZONE_PATTERN.fullmatch(zone):
                raise ValueError(f"{zone!r} is not an availability zone name (for example 'ap-northeast-1a')")
        if len(set(zones)) != len(zones):
            raise ValueError(f"{list(zones)!r} names a zone twice (allowed: distinct zone names)")
        max_azs = info.data.get("max_azs")
        if max_azs is not None and len(zones) != max_azs:
            raise ValueError(
                f"{list(zones)!r} names {len(zones)} zones but max_azs is {max_azs} "
                "(allowed: exactly max_azs zone names)"
            )
        return zones


# SSM parameter names: letters, digits, `_.-` and `/` between levels; at most 15 levels; not
# starting with "aws" or "ssm"; 1011 characters at most.
# https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html
