"""The network all jobs share: a VPC the stack creates (public and private subnets in each AZ, an
internet gateway, NAT gateways), or an existing one. Constructs take either as a ``JobNetwork``."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Sequence
from typing import Protocol

from constructs import Construct

from constructs_lib.aws.data_aws_availability_zones import DataAwsAvailabilityZones
from constructs_lib.aws.default_security_group import DefaultSecurityGroup
from constructs_lib.aws.eip import Eip
from constructs_lib.aws.internet_gateway import InternetGateway
from constructs_lib.aws.nat_gateway import NatGateway
from constructs_lib.aws.route import Route
from constructs_lib.aws.route_table import RouteTable
from constructs_lib.aws.route_table_association import RouteTableAssociation
from constructs_lib.aws.subnet import Subnet
from constructs_lib.aws.vpc import Vpc
from constructs_lib.cdk import Fn
from constructs_lib.model.config import NetworkSpec

__all__ = ["ExistingNetwork", "JobNetwork", "Network", "subnet_cidrs"]


class JobNetwork(Protocol):
    """What a job needs of its network: the VPC its security group lives in, the subnets its task
    runs in, whether the task gets a public IP, and security groups it joins besides its own."""

    vpc_id: str
    job_subnet_ids: list[str]
    assign_public_ip: bool
    security_group_ids: list[str]


def subnet_cidrs(cidr: str, max_azs: int) -> tuple[list[str], list[str]]:
    """Split ``cidr`` evenly into ``max_azs`` public then ``max_azs`` private subnets.

    >>> subnet_cidrs("10.0.0.0/16", 2)
    (['10.0.0.0/18', '10.0.64.0/18'], ['10.0.128.0/18', '10.0.192.0/18'])
    """
    network = ipaddress.IPv4Network(cidr)
    prefix = network.prefixlen + math.ceil(math.log2(2 * max_azs))
    blocks = [str(block) for block in network.subnets(new_prefix=prefix)][: 2 * max_azs]
    return blocks[:max_azs], blocks[max_azs:]


class Network(Construct):
    """A VPC like AWS CDK's ``ec2.Vpc(natGateways=n, maxAzs=m)``.

    Jobs run in the private subnets behind NAT gateways; with ``nat_gateways = 0`` there are no
    private subnets and jobs run in the public subnets with a public IP (no inbound rule lets
    anything in). Exposes ``vpc_id``, ``job_subnet_ids`` and ``assign_public_ip``.
    """

    def __init__(self, scope: Construct, id_: str, *, name: str, spec: NetworkSpec) -> None:
        super().__init__(scope, id_)
        if spec.availability_zones:
            zone_names = list(spec.availability_zones)
        else:
            zones = DataAwsAvailabilityZones(self, "zones", state="available")
            zone_names = [Fn.element(zones.names, index) for index in range(spec.max_azs)]
        self.vpc = Vpc(
            self,
            "vpc",
            cidr_block=spec.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": name},
        )
        self.vpc_id: str = self.vpc.id
        # The default security group allows all traffic between its members; nothing uses it.
        DefaultSecurityGroup(self, "default-sg", vpc_id=self.vpc.id, tags={"Name": f"{name}-default-unused"})
        gateway = InternetGateway(self, "igw", vpc_id=self.vpc.id, tags={"Name": name})

        public_table = RouteTable(self, "public-routes", vpc_id=self.vpc.id, tags={"Name": f"{name}-public"})
        Route(
            self,
            "public-default-route",
            route_table_id=public_table.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=gateway.id,
        )
        public_cidrs, private_cidrs = subnet_cidrs(spec.cidr, spec.max_azs)
        self.public_subnets: list[Subnet] = []
        for index, block in enumerate(public_cidrs):
            subnet = Subnet(
                self,
                f"public-{index}",
                vpc_id=self.vpc.id,
                cidr_block=block,
                availability_zone=zone_names[index],
                map_public_ip_on_launch=False,
                tags={"Name": f"{name}-public-{index}"},
            )
            RouteTableAssociation(self, f"public-{index}-routes", subnet_id=subnet.id, route_table_id=public_table.id)
            self.public_subnets.append(subnet)

        nat_ids = []
        for index in range(spec.nat_gateways):
            address = Eip(self, f"nat-{index}-ip", domain="vpc", tags={"Name": f"{name}-nat-{index}"})
            nat = NatGateway(
                self,
                f"nat-{index}",
                allocation_id=address.allocation_id,
                subnet_id=self.public_subnets[index].id,
                tags={"Name": f"{name}-nat-{index}"},
                depends_on=[gateway],
            )
            nat_ids.append(nat.id)

        self.private_subnets: list[Subnet] = []
        if nat_ids:
            for index, block in enumerate(private_cidrs):
                subnet = Subnet(
                    self,
                    f"private-{index}",
                    vpc_id=self.vpc.id,
                    cidr_block=block,
                    availability_zone=zone_names[index],
                    tags={"Name": f"{name}-private-{index}"},
                )
                table = RouteTable(
                    self, f"private-{index}-routes", vpc_id=self.vpc.id, tags={"Name": f"{name}-private-{index}"}
                )
                Route(
                    self,
                    f"private-{index}-default-route",
                    route_table_id=table.id,
                    destination_cidr_block="0.0.0.0/0",
                    # AZs beyond the NAT count share one, as AWS CDK does.
                    nat_gateway_id=nat_ids[index % len(nat_ids)],
                )
                RouteTableAssociation(
                    self, f"private-{index}-association", subnet_id=subnet.id, route_table_id=table.id
                )
                self.private_subnets.append(subnet)

        job_subnets = self.private_subnets or self.public_subnets
        self.job_subnet_ids: list[str] = [subnet.id for subnet in job_subnets]
        self.assign_public_ip: bool = not self.private_subnets
        self.security_group_ids: list[str] = []


class ExistingNetwork(Construct):
    """A VPC and subnets that exist already: the stack creates nothing for them. The tasks run in
    ``subnet_ids`` (routes to the internet or to VPC endpoints for ECR, CloudWatch Logs and the
    job's own calls are the network owner's), join ``security_group_ids`` besides their own, and
    get a public IP only with ``assign_public_ip``.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        vpc_id: str,
        subnet_ids: Sequence[str],
        security_group_ids: Sequence[str] = (),
        assign_public_ip: bool = False,
    ) -> None:
        super().__init__(scope, id_)
        if not subnet_ids:
            raise ValueError(f"{vpc_id}: an existing network needs at least one subnet")
        self.vpc_id = vpc_id
        self.job_subnet_ids = list(subnet_ids)
        self.security_group_ids = list(security_group_ids)
        self.assign_public_ip = assign_public_ip
