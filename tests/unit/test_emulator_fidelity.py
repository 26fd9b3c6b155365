"""scripts/moto_server.py: the emulator refuses the deletes AWS refuses (DependencyViolation), with
AWS's messages, and cleans up what AWS cleans up, so it is neither more lenient nor stricter than AWS.

The patches are imported the way the server gets them (`import moto_server` patches moto in place),
then used in-process through moto's mock; one test starts the real server process the playbooks use
and checks a refusal over HTTP. Each case builds the dependency, sees the delete refused, removes the
dependency, and sees the same delete succeed.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import boto3
import docker
import moto_server  # patches moto in place, as the server does
import pytest
from botocore.exceptions import ClientError
from emulator import Emulator
from modules import REPO
from moto import mock_aws

REGION = "us-east-1"


@pytest.fixture
def aws(aws_env) -> Iterator[dict]:
    with mock_aws():
        yield {name: boto3.client(name, region_name=REGION) for name in ("ec2", "efs", "kms", "s3")}


@pytest.fixture
def ec2(aws):
    return aws["ec2"]


@pytest.fixture
def net(ec2) -> dict[str, str]:
    """A VPC with one subnet and one security group, as the tests' starting point."""
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="research", Description="research", VpcId=vpc)["GroupId"]
    return {"vpc": vpc, "subnet": subnet, "group": group}


def refused(call: Callable[[], object], message: str) -> None:
    """The call fails as AWS fails it: HTTP 400, DependencyViolation, AWS's message."""
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    assert error["Error"]["Code"] == "DependencyViolation", error
    assert error["Error"]["Message"] == message
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def vpc_message(vpc: str) -> str:
    return f"The vpc '{vpc}' has dependencies and cannot be deleted."


def subnet_message(subnet: str) -> str:
    return f"The subnet '{subnet}' has dependencies and cannot be deleted."


def group_message(group: str) -> str:
    return f"resource {group} has a dependent object"


def mapped_message(vpc: str) -> str:
    return (
        f"Network {vpc} has some mapped public address(es). "
        "Please unmap those public address(es) before detaching the gateway."
    )


def image(ec2) -> str:
    return ec2.describe_images()["Images"][0]["ImageId"]


def launch(ec2, subnet: str, groups: list[str], **extra) -> str:
    """An instance launched the way a plain RunInstances launches it (no NetworkInterfaces spec)."""
    run = ec2.run_instances(
        ImageId=image(ec2), MinCount=1, MaxCount=1, SubnetId=subnet, SecurityGroupIds=groups, **extra
    )
    return run["Instances"][0]["InstanceId"]


def enis_in(ec2, subnet: str) -> list[str]:
    found = ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [subnet]}])
    return [eni["NetworkInterfaceId"] for eni in found["NetworkInterfaces"]]


def nat_gateway(ec2, subnet: str) -> tuple[str, str]:
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=allocation)["NatGateway"]["NatGatewayId"]
    return nat, allocation


def interface_endpoint(ec2, net: dict[str, str]) -> str:
    return ec2.create_vpc_endpoint(
        VpcId=net["vpc"],
        ServiceName=f"com.amazonaws.{REGION}.ssm",
        VpcEndpointType="Interface",
        SubnetIds=[net["subnet"]],
        SecurityGroupIds=[net["group"]],
    )["VpcEndpoint"]["VpcEndpointId"]


def mount_target(aws, net: dict[str, str]) -> tuple[str, str]:
    fs = aws["efs"].create_file_system(CreationToken="fidelity", Encrypted=True)["FileSystemId"]
    target = aws["efs"].create_mount_target(FileSystemId=fs, SubnetId=net["subnet"], SecurityGroups=[net["group"]])
    return fs, target["MountTargetId"]


# ------------------------------------------------------------------------------------------- DeleteVpc


def _vpc_subnet(ec2, net):
    return lambda: ec2.delete_subnet(SubnetId=net["subnet"])


def _vpc_security_group(ec2, net):
    return lambda: ec2.delete_security_group(GroupId=net["group"])


def _vpc_route_table(ec2, net):
    table = ec2.create_route_table(VpcId=net["vpc"])["RouteTable"]["RouteTableId"]
    return lambda: ec2.delete_route_table(RouteTableId=table)


def _vpc_internet_gateway(ec2, net):
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=net["vpc"])
    return lambda: ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=net["vpc"])


def _vpc_egress_only_internet_gateway(ec2, net):
    eigw = ec2.create_egress_only_internet_gateway(VpcId=net["vpc"])["EgressOnlyInternetGateway"]
    return lambda: ec2.delete_egress_only_internet_gateway(
        EgressOnlyInternetGatewayId=eigw["EgressOnlyInternetGatewayId"]
    )


def _vpc_virtual_private_gateway(ec2, net):
    vgw = ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]["VpnGatewayId"]
    ec2.attach_vpn_gateway(VpnGatewayId=vgw, VpcId=net["vpc"])
    return lambda: ec2.detach_vpn_gateway(VpnGatewayId=vgw, VpcId=net["vpc"])


def _vpc_gateway_endpoint(ec2, net):
    table = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [net["vpc"]]}])["RouteTables"][0]
    endpoint = ec2.create_vpc_endpoint(
        VpcId=net["vpc"],
        ServiceName=f"com.amazonaws.{REGION}.s3",
        VpcEndpointType="Gateway",
        RouteTableIds=[table["RouteTableId"]],
    )["VpcEndpoint"]["VpcEndpointId"]
    return lambda: ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint])


VPC_DEPENDENCIES = {
    "subnet": _vpc_subnet,
    "security group": _vpc_security_group,
    "route table": _vpc_route_table,
    "attached internet gateway": _vpc_internet_gateway,
    "egress-only internet gateway": _vpc_egress_only_internet_gateway,
    "attached virtual private gateway": _vpc_virtual_private_gateway,
    "gateway endpoint": _vpc_gateway_endpoint,
}


@pytest.mark.parametrize("build", VPC_DEPENDENCIES.values(), ids=VPC_DEPENDENCIES.keys())
def test_delete_vpc_refused_while_it_has_dependencies(ec2, net, build):
    """AWS DeleteVpc: DependencyViolation "The vpc 'vpc-…' has dependencies and cannot be deleted."
    while a subnet, a non-default security group, a non-main route table, an attached internet or
    virtual private gateway, an egress-only internet gateway or a VPC endpoint remains. moto checked
    only subnets, attached virtual private gateways and extra route tables (in another wording)."""
    remove = build(ec2, net)
    # Every dependency but the one under test goes first: the subnet and the group stand in the way too.
    if build is not _vpc_subnet:
        ec2.delete_subnet(SubnetId=net["subnet"])
    if build is not _vpc_security_group:
        ec2.delete_security_group(GroupId=net["group"])
    refused(lambda: ec2.delete_vpc(VpcId=net["vpc"]), vpc_message(net["vpc"]))
    remove()
    ec2.delete_vpc(VpcId=net["vpc"])
    assert net["vpc"] not in [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]]


def test_delete_vpc_takes_its_default_group_and_main_route_table(ec2):
    """AWS DeleteVpc deletes the VPC's default security group, default network ACL and main route
    table itself: they never hold it (moto left the default network ACL behind)."""
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    by_vpc = [{"Name": "vpc-id", "Values": [vpc]}]
    assert ec2.describe_security_groups(Filters=by_vpc)["SecurityGroups"]
    assert ec2.describe_route_tables(Filters=by_vpc)["RouteTables"]
    assert ec2.describe_network_acls(Filters=by_vpc)["NetworkAcls"]
    ec2.delete_vpc(VpcId=vpc)
    assert ec2.describe_security_groups(Filters=by_vpc)["SecurityGroups"] == []
    assert ec2.describe_route_tables(Filters=by_vpc)["RouteTables"] == []
    assert ec2.describe_network_acls(Filters=by_vpc)["NetworkAcls"] == []


def test_delete_unknown_vpc_is_not_found(ec2):
    """An unknown VPC stays InvalidVpcID.NotFound, not a dependency."""
    with pytest.raises(ClientError) as caught:
        ec2.delete_vpc(VpcId="vpc-0123456789abcdef0")
    assert caught.value.response["Error"]["Code"] == "InvalidVpcID.NotFound"


# ---------------------------------------------------------------------------------------- DeleteSubnet


# Each puts one network interface in net's subnet (all but the NAT gateway's with net's group) and returns
# what removes it again; the DeleteSecurityGroup cases below use them too.


def _instance(aws, net):
    instance = launch(aws["ec2"], net["subnet"], [net["group"]])
    return lambda: aws["ec2"].terminate_instances(InstanceIds=[instance])


def _nat_gateway(aws, net):
    nat, _ = nat_gateway(aws["ec2"], net["subnet"])
    return lambda: aws["ec2"].delete_nat_gateway(NatGatewayId=nat)


def _mount_target(aws, net):
    _, target = mount_target(aws, net)
    return lambda: aws["efs"].delete_mount_target(MountTargetId=target)


def _interface_endpoint(aws, net):
    endpoint = interface_endpoint(aws["ec2"], net)
    return lambda: aws["ec2"].delete_vpc_endpoints(VpcEndpointIds=[endpoint])


def _network_interface(aws, net):
    eni = aws["ec2"].create_network_interface(SubnetId=net["subnet"], Groups=[net["group"]])
    return lambda: aws["ec2"].delete_network_interface(NetworkInterfaceId=eni["NetworkInterface"]["NetworkInterfaceId"])


SUBNET_DEPENDENCIES = {
    "instance": _instance,
    "NAT gateway": _nat_gateway,
    "EFS mount target": _mount_target,
    "interface endpoint": _interface_endpoint,
    "network interface": _network_interface,
}


@pytest.mark.parametrize("build", SUBNET_DEPENDENCIES.values(), ids=SUBNET_DEPENDENCIES.keys())
def test_delete_subnet_refused_while_a_network_interface_is_in_it(aws, net, build):
    """AWS DeleteSubnet: DependencyViolation "The subnet 'subnet-…' has dependencies and cannot be
    deleted." while a network interface is in it: an instance's, a NAT gateway's, an EFS mount
    target's, an interface endpoint's or a hand-made one. moto deleted the subnet under them."""
    ec2 = aws["ec2"]
    remove = build(aws, net)
    assert enis_in(ec2, net["subnet"])
    refused(lambda: ec2.delete_subnet(SubnetId=net["subnet"]), subnet_message(net["subnet"]))
    remove()
    assert enis_in(ec2, net["subnet"]) == []
    ec2.delete_subnet(SubnetId=net["subnet"])


def test_delete_subnet_refused_while_a_nat_gateway_is_in_it_even_without_its_interface(ec2, net):
    """AWS DeleteSubnet refuses while a NAT gateway not deleted sits in the subnet; the check does not
    rely on moto keeping the gateway's network interface."""
    nat, _ = nat_gateway(ec2, net["subnet"])
    (eni,) = enis_in(ec2, net["subnet"])
    ec2.delete_network_interface(NetworkInterfaceId=eni)  # AWS would refuse this; moto lets it go
    refused(lambda: ec2.delete_subnet(SubnetId=net["subnet"]), subnet_message(net["subnet"]))
    ec2.delete_nat_gateway(NatGatewayId=nat)
    ec2.delete_subnet(SubnetId=net["subnet"])


def test_delete_unknown_subnet_is_not_found(ec2):
    with pytest.raises(ClientError) as caught:
        ec2.delete_subnet(SubnetId="subnet-0123456789abcdef0")
    assert caught.value.response["Error"]["Code"] == "InvalidSubnetID.NotFound"


# ------------------------------------------------------------------------------- DeleteSecurityGroup


def _rule_from(ec2, net, direction: str):
    other = ec2.create_security_group(GroupName="efs", Description="efs", VpcId=net["vpc"])["GroupId"]
    permission = {
        "IpProtocol": "tcp",
        "FromPort": 2049,
        "ToPort": 2049,
        "UserIdGroupPairs": [{"GroupId": net["group"]}],
    }
    authorize = getattr(ec2, f"authorize_security_group_{direction}")
    revoke = getattr(ec2, f"revoke_security_group_{direction}")
    authorize(GroupId=other, IpPermissions=[permission])
    return lambda: revoke(GroupId=other, IpPermissions=[permission])


def _group_ingress_rule(aws, net):
    return _rule_from(aws["ec2"], net, "ingress")


def _group_egress_rule(aws, net):
    return _rule_from(aws["ec2"], net, "egress")


GROUP_DEPENDENCIES = {
    "instance": _instance,
    "network interface": _network_interface,
    "EFS mount target": _mount_target,
    "interface endpoint": _interface_endpoint,
    "ingress rule of another group": _group_ingress_rule,
    "egress rule of another group": _group_egress_rule,
}


@pytest.mark.parametrize("build", GROUP_DEPENDENCIES.values(), ids=GROUP_DEPENDENCIES.keys())
def test_delete_security_group_refused_while_used_or_referenced(aws, net, build):
    """AWS DeleteSecurityGroup: DependencyViolation "resource sg-… has a dependent object" while a
    network interface uses the group (an instance's, a mount target's, an interface endpoint's, a
    hand-made one) or a rule of another group, ingress or egress, refers to it. moto deleted it."""
    ec2 = aws["ec2"]
    remove = build(aws, net)
    refused(lambda: ec2.delete_security_group(GroupId=net["group"]), group_message(net["group"]))
    remove()
    ec2.delete_security_group(GroupId=net["group"])
    assert net["group"] not in [g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]]


def test_a_self_referencing_group_can_be_deleted(ec2, net):
    """A group whose own rule refers to itself is not held by it (AWS deletes it)."""
    self_rule = {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": net["group"]}]}
    ec2.authorize_security_group_ingress(GroupId=net["group"], IpPermissions=[self_rule])
    ec2.delete_security_group(GroupId=net["group"])


def test_a_group_referenced_only_by_its_own_rules_can_be_deleted_and_frees_what_it_referenced(ec2, net):
    """Its own ingress and egress rules, to itself and to another group, do not hold it; once it is
    gone, the group it referred to is free too. The other way round AWS refuses."""
    dmz = ec2.create_security_group(GroupName="dmz", Description="dmz", VpcId=net["vpc"])["GroupId"]
    for target in (net["group"], dmz):
        pair = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupId": target}]}
        ec2.authorize_security_group_ingress(GroupId=net["group"], IpPermissions=[pair])
        ec2.authorize_security_group_egress(GroupId=net["group"], IpPermissions=[pair])
    refused(lambda: ec2.delete_security_group(GroupId=dmz), group_message(dmz))
    ec2.delete_security_group(GroupId=net["group"])
    ec2.delete_security_group(GroupId=dmz)


def test_groups_that_refer_to_each_other_go_once_one_rule_is_revoked(ec2, net):
    """Two groups referring to each other hold each other on AWS: neither goes first until a rule is
    revoked (the research and EFS groups are such a pair)."""
    efs = ec2.create_security_group(GroupName="efs", Description="efs", VpcId=net["vpc"])["GroupId"]
    nfs_from_research = {
        "IpProtocol": "tcp",
        "FromPort": 2049,
        "ToPort": 2049,
        "UserIdGroupPairs": [{"GroupId": net["group"]}],
    }
    nfs_to_efs = {"IpProtocol": "tcp", "FromPort": 2049, "ToPort": 2049, "UserIdGroupPairs": [{"GroupId": efs}]}
    ec2.authorize_security_group_ingress(GroupId=efs, IpPermissions=[nfs_from_research])
    ec2.authorize_security_group_egress(GroupId=net["group"], IpPermissions=[nfs_to_efs])
    refused(lambda: ec2.delete_security_group(GroupId=efs), group_message(efs))
    refused(lambda: ec2.delete_security_group(GroupId=net["group"]), group_message(net["group"]))
    ec2.revoke_security_group_egress(GroupId=net["group"], IpPermissions=[nfs_to_efs])
    ec2.delete_security_group(GroupId=efs)
    ec2.delete_security_group(GroupId=net["group"])


def test_delete_security_group_by_name_is_checked_too(ec2):
    """DeleteSecurityGroup by GroupName (default VPC) goes through the same check."""
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    group = ec2.create_security_group(GroupName="by-name", Description="by name", VpcId=vpc)["GroupId"]
    subnet = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"][0]["SubnetId"]
    eni = ec2.create_network_interface(SubnetId=subnet, Groups=[group])["NetworkInterface"]["NetworkInterfaceId"]
    refused(lambda: ec2.delete_security_group(GroupName="by-name"), group_message(group))
    ec2.delete_network_interface(NetworkInterfaceId=eni)
    ec2.delete_security_group(GroupName="by-name")


# ----------------------------------------------------------------------------- DetachInternetGateway


@pytest.fixture
def igw(ec2, net) -> str:
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=net["vpc"])
    return gateway


def test_detach_internet_gateway_refused_while_an_elastic_ip_is_associated(ec2, net, igw):
    """AWS DetachInternetGateway: DependencyViolation "Network vpc-… has some mapped public
    address(es). Please unmap those public address(es) before detaching the gateway." while an
    Elastic IP is associated with an instance in the VPC. moto detached the gateway."""
    instance = launch(ec2, net["subnet"], [net["group"]])
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    association = ec2.associate_address(AllocationId=allocation, InstanceId=instance)["AssociationId"]
    refused(lambda: ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=net["vpc"]), mapped_message(net["vpc"]))
    ec2.disassociate_address(AssociationId=association)
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=net["vpc"])


def test_detach_internet_gateway_refused_while_an_interface_has_an_elastic_ip(ec2, net, igw):
    """The same for an Elastic IP on a hand-made network interface."""
    eni = ec2.create_network_interface(SubnetId=net["subnet"])["NetworkInterface"]["NetworkInterfaceId"]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=allocation, NetworkInterfaceId=eni)
    refused(lambda: ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=net["vpc"]), mapped_message(net["vpc"]))
    ec2.release_address(AllocationId=allocation)
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=net["vpc"])


def test_detach_internet_gateway_refused_while_an_instance_has_an_auto_assigned_public_ip(ec2, net, igw):
    """The same for an instance's auto-assigned public IP; terminating the instance unmaps it."""
    spec = {"DeviceIndex": 0, "SubnetId": net["subnet"], "AssociatePublicIpAddress": True}
    run = ec2.run_instances(ImageId=image(ec2), MinCount=1, MaxCount=1, NetworkInterfaces=[spec])
    instance = run["Instances"][0]
    assert instance.get("PublicIpAddress")
    refused(lambda: ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=net["vpc"]), mapped_message(net["vpc"]))
    ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=net["vpc"])


def test_detach_internet_gateway_refused_while_a_nat_gateway_holds_its_elastic_ip(ec2, net, igw):
    """A public NAT gateway's Elastic IP is a mapped address too; deleting the gateway unmaps it (the
    address stays allocated, as on AWS)."""
    nat, allocation = nat_gateway(ec2, net["subnet"])
    refused(lambda: ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=net["vpc"]), mapped_message(net["vpc"]))
    ec2.delete_nat_gateway(NatGatewayId=nat)
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=net["vpc"])
    (address,) = ec2.describe_addresses(AllocationIds=[allocation])["Addresses"]
    assert "AssociationId" not in address and not address.get("NetworkInterfaceId")


def test_detach_internet_gateway_with_private_hosts_only(ec2, net, igw):
    """Private addresses are not mapped public addresses: the gateway detaches."""
    launch(ec2, net["subnet"], [net["group"]])
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=net["vpc"])


# ------------------------------------------------------------- what AWS cleans up (never stricter)


def test_an_instance_terminated_frees_its_subnet_and_group(ec2, net):
    """AWS deletes the primary network interface RunInstances created when the instance terminates
    (DeleteOnTermination=true), so a terminated instance, still listed, holds neither its subnet nor
    its group; its Elastic IP is disassociated. moto kept the interface (DeleteOnTermination=false)
    and the association, and failed a second TerminateInstances."""
    instance = launch(ec2, net["subnet"], [net["group"]])
    described = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert described["NetworkInterfaces"][0]["Attachment"]["DeleteOnTermination"] is True
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=allocation, InstanceId=instance)

    ec2.terminate_instances(InstanceIds=[instance])
    ec2.terminate_instances(InstanceIds=[instance])  # AWS answers again
    state = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]["State"]["Name"]
    assert state == "terminated"
    assert enis_in(ec2, net["subnet"]) == []
    (address,) = ec2.describe_addresses(AllocationIds=[allocation])["Addresses"]
    assert "AssociationId" not in address and not address.get("InstanceId")
    ec2.release_address(AllocationId=allocation)
    ec2.delete_security_group(GroupId=net["group"])
    ec2.delete_subnet(SubnetId=net["subnet"])


def test_an_interface_kept_on_termination_still_holds_its_subnet_and_group(ec2, net):
    """Never more lenient than AWS: an interface launched with DeleteOnTermination=false outlives the
    instance, and holds the subnet and the group until it is deleted."""
    spec = {"DeviceIndex": 0, "SubnetId": net["subnet"], "Groups": [net["group"]], "DeleteOnTermination": False}
    run = ec2.run_instances(ImageId=image(ec2), MinCount=1, MaxCount=1, NetworkInterfaces=[spec])
    ec2.terminate_instances(InstanceIds=[run["Instances"][0]["InstanceId"]])
    (eni,) = enis_in(ec2, net["subnet"])
    refused(lambda: ec2.delete_subnet(SubnetId=net["subnet"]), subnet_message(net["subnet"]))
    refused(lambda: ec2.delete_security_group(GroupId=net["group"]), group_message(net["group"]))
    ec2.delete_network_interface(NetworkInterfaceId=eni)
    ec2.delete_security_group(GroupId=net["group"])
    ec2.delete_subnet(SubnetId=net["subnet"])


def test_a_deleted_nat_gateway_releases_its_interface_and_elastic_ip(ec2, net):
    """AWS DeleteNatGateway deletes the gateway's network interface and disassociates its Elastic IP,
    which can then be released. moto kept both."""
    nat, allocation = nat_gateway(ec2, net["subnet"])
    assert len(enis_in(ec2, net["subnet"])) == 1
    ec2.delete_nat_gateway(NatGatewayId=nat)
    assert ec2.describe_nat_gateways(NatGatewayIds=[nat])["NatGateways"][0]["State"] == "deleted"
    assert enis_in(ec2, net["subnet"]) == []
    ec2.release_address(AllocationId=allocation)
    ec2.delete_subnet(SubnetId=net["subnet"])


def test_efs_mount_targets_and_endpoints_release_their_interfaces(aws, net):
    """Measured moto behaviour the checks rely on: a mount target's interface goes with it, an
    interface endpoint's with the endpoint, and a gateway endpoint has none."""
    ec2 = aws["ec2"]
    fs, target = mount_target(aws, net)
    endpoint = interface_endpoint(ec2, net)
    table = ec2.create_route_table(VpcId=net["vpc"])["RouteTable"]["RouteTableId"]
    gateway = ec2.create_vpc_endpoint(
        VpcId=net["vpc"], ServiceName=f"com.amazonaws.{REGION}.s3", VpcEndpointType="Gateway", RouteTableIds=[table]
    )["VpcEndpoint"]
    assert gateway.get("NetworkInterfaceIds", []) == []
    assert len(enis_in(ec2, net["subnet"])) == 2
    aws["efs"].delete_mount_target(MountTargetId=target)
    aws["efs"].delete_file_system(FileSystemId=fs)
    ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint, gateway["VpcEndpointId"]])
    assert enis_in(ec2, net["subnet"]) == []


# ----------------------------------------------------------------------------- encrypted snapshots


def test_snapshot_of_an_encrypted_volume_carries_its_key(aws):
    """AWS CreateSnapshot of a volume encrypted with a KMS key: the snapshot is Encrypted with the
    volume's KmsKeyId, in the answer and in DescribeSnapshots. moto left KmsKeyId out."""
    ec2 = aws["ec2"]
    key = aws["kms"].create_key(Description="ebs")["KeyMetadata"]["Arn"]
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8, Encrypted=True, KmsKeyId=key)
    assert volume["KmsKeyId"] == key
    created = ec2.create_snapshot(VolumeId=volume["VolumeId"])
    assert (created["Encrypted"], created["KmsKeyId"]) == (True, key)
    (described,) = ec2.describe_snapshots(SnapshotIds=[created["SnapshotId"]])["Snapshots"]
    assert (described["Encrypted"], described["KmsKeyId"]) == (True, key)

    other = aws["kms"].create_key(Description="copy")["KeyMetadata"]["Arn"]
    copied = ec2.copy_snapshot(
        SourceSnapshotId=created["SnapshotId"], SourceRegion=REGION, Encrypted=True, KmsKeyId=other
    )
    (copy,) = ec2.describe_snapshots(SnapshotIds=[copied["SnapshotId"]])["Snapshots"]
    assert (copy["Encrypted"], copy["KmsKeyId"]) == (True, other)


def test_snapshot_of_a_plain_volume_stays_unencrypted(ec2):
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8)
    snapshot = ec2.create_snapshot(VolumeId=volume["VolumeId"])
    assert snapshot["Encrypted"] is False and "KmsKeyId" not in snapshot


# ------------------------------------------------------------------------- the whole teardown order


def test_dependency_ordered_teardown_succeeds_step_by_step(aws):
    """An environment like the one site.yml builds (three tiers, an internet gateway, a NAT gateway,
    hosts with an Elastic IP, groups referring to each other, EFS, endpoints) comes down in AWS's
    dependency order with every step accepted; out of order, the first steps are refused."""
    ec2, efs = aws["ec2"], aws["efs"]
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = {
        tier: ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
        for tier, cidr in (("dmz", "10.0.1.0/24"), ("production", "10.0.2.0/24"), ("research", "10.0.3.0/24"))
    }
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    public = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    private = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    associations = [
        ec2.associate_route_table(RouteTableId=public, SubnetId=subnets["dmz"])["AssociationId"],
        ec2.associate_route_table(RouteTableId=public, SubnetId=subnets["production"])["AssociationId"],
        ec2.associate_route_table(RouteTableId=private, SubnetId=subnets["research"])["AssociationId"],
    ]
    groups = {
        tier: ec2.create_security_group(GroupName=tier, Description=tier, VpcId=vpc)["GroupId"]
        for tier in ("dmz", "production", "research", "efs")
    }

    def pair(port: int, group: str) -> dict:
        return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "UserIdGroupPairs": [{"GroupId": group}]}

    references = [  # (group, direction, permission): who refers to whom
        (groups["production"], "ingress", pair(22, groups["dmz"])),
        (groups["research"], "ingress", pair(22, groups["dmz"])),
        (groups["efs"], "ingress", pair(2049, groups["research"])),
        (groups["research"], "egress", pair(2049, groups["efs"])),
    ]
    for group, direction, permission in references:
        getattr(ec2, f"authorize_security_group_{direction}")(GroupId=group, IpPermissions=[permission])

    instances = [launch(ec2, subnets[tier], [groups[tier]]) for tier in ("dmz", "production", "research", "research")]
    vpn_eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=vpn_eip, InstanceId=instances[0])
    nat, nat_eip = nat_gateway(ec2, subnets["dmz"])
    fs = efs.create_file_system(CreationToken="researchenv-efs", Encrypted=True)["FileSystemId"]
    target = efs.create_mount_target(FileSystemId=fs, SubnetId=subnets["research"], SecurityGroups=[groups["efs"]])
    s3_endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.s3", VpcEndpointType="Gateway", RouteTableIds=[private]
    )["VpcEndpoint"]["VpcEndpointId"]

    # Out of order, AWS refuses.
    refused(lambda: ec2.delete_vpc(VpcId=vpc), vpc_message(vpc))
    refused(lambda: ec2.delete_subnet(SubnetId=subnets["research"]), subnet_message(subnets["research"]))
    refused(lambda: ec2.delete_security_group(GroupId=groups["dmz"]), group_message(groups["dmz"]))
    refused(lambda: ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc), mapped_message(vpc))

    # In order, every step is accepted.
    ec2.terminate_instances(InstanceIds=instances)
    ec2.get_waiter("instance_terminated").wait(InstanceIds=instances, WaiterConfig={"Delay": 0, "MaxAttempts": 2})
    ec2.delete_nat_gateway(NatGatewayId=nat)
    for allocation in (vpn_eip, nat_eip):
        ec2.release_address(AllocationId=allocation)
    efs.delete_mount_target(MountTargetId=target["MountTargetId"])
    efs.delete_file_system(FileSystemId=fs)
    ec2.delete_vpc_endpoints(VpcEndpointIds=[s3_endpoint])
    for group, direction, permission in references:
        getattr(ec2, f"revoke_security_group_{direction}")(GroupId=group, IpPermissions=[permission])
    for group in groups.values():
        ec2.delete_security_group(GroupId=group)
    for association in associations:
        ec2.disassociate_route_table(AssociationId=association)
    for table in (public, private):
        ec2.delete_route_table(RouteTableId=table)
    for subnet in subnets.values():
        ec2.delete_subnet(SubnetId=subnet)
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    ec2.delete_internet_gateway(InternetGatewayId=igw)
    ec2.delete_vpc(VpcId=vpc)
    assert vpc not in [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]]


# -------------------------------------------------------------------------- the server process itself


def test_the_server_process_refuses_over_http(aws_env, tmp_path):
    """scripts/emulator.py starts scripts/moto_server.py, the server the playbooks use: its DeleteVpc
    answers HTTP 400 DependencyViolation while a subnet remains, then deletes the VPC."""
    emu = Emulator(tmp_path / "emulator")
    info = emu.start(host="127.0.0.1", port=0, client_host=None, wait=60)
    try:
        ec2 = boto3.client("ec2", endpoint_url=info["url"], region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName="held", Description="held", VpcId=vpc)["GroupId"]
        eni = ec2.create_network_interface(SubnetId=subnet, Groups=[group])["NetworkInterface"]["NetworkInterfaceId"]
        refused(lambda: ec2.delete_security_group(GroupId=group), group_message(group))
        refused(lambda: ec2.delete_subnet(SubnetId=subnet), subnet_message(subnet))
        refused(lambda: ec2.delete_vpc(VpcId=vpc), vpc_message(vpc))
        ec2.delete_network_interface(NetworkInterfaceId=eni)
        ec2.delete_security_group(GroupId=group)
        ec2.delete_subnet(SubnetId=subnet)
        ec2.delete_vpc(VpcId=vpc)
    finally:
        assert emu.stop()


def test_a_tag_with_an_empty_value_comes_back_with_it(aws):
    """AWS: GetBucketTagging lists every tag with its Value, "" included (moto left the Value out)."""
    s3 = aws["s3"]
    s3.create_bucket(Bucket="tagged-bucket")
    tag_set = [{"Key": "Reviewed", "Value": ""}, {"Key": "Team", "Value": "a&b <c>"}]
    s3.put_bucket_tagging(Bucket="tagged-bucket", Tagging={"TagSet": tag_set})
    assert s3.get_bucket_tagging(Bucket="tagged-bucket")["TagSet"] == tag_set


def test_an_imported_ed25519_key_has_aws_fingerprint(ec2, tmp_path):
    """AWS: the base64-encoded SHA-256 of the OpenSSH key blob (moto gave hex SHA-256 of the DER key)."""
    import subprocess

    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    public = key.with_suffix(".pub").read_text()
    # ssh-keygen's own fingerprint, `SHA256:<base64 without padding>`; AWS shows the base64 with its padding.
    listed = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(key.with_suffix(".pub"))],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[1]
    want = listed.removeprefix("SHA256:") + "="
    answer = ec2.import_key_pair(KeyName="k", PublicKeyMaterial=public.encode())
    assert answer["KeyFingerprint"] == want
    assert ec2.describe_key_pairs(KeyNames=["k"])["KeyPairs"][0]["KeyFingerprint"] == want


# S3 notification filters: AWS takes a FilterRule's Name in any case and answers with "Prefix" and
# "Suffix" (GetBucketNotificationConfiguration); it refuses other names and a second rule of one kind.


@pytest.fixture
def notified(aws_env) -> Iterator[dict]:
    """A bucket and the SQS queue its notifications go to."""
    with mock_aws():
        s3, sqs = boto3.client("s3", region_name=REGION), boto3.client("sqs", region_name=REGION)
        s3.create_bucket(Bucket="input")
        url = sqs.create_queue(QueueName="uploads")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        yield {"s3": s3, "sqs": sqs, "url": url, "arn": arn}


def notify(n: dict, *rules: tuple[str, str]) -> None:
    n["s3"].put_bucket_notification_configuration(
        Bucket="input",
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "uploads",
                    "QueueArn": n["arn"],
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": k, "Value": v} for k, v in rules]}},
                }
            ]
        },
    )


@pytest.mark.parametrize("names", [("Prefix", "Suffix"), ("prefix", "suffix"), ("PREFIX", "suffix")])
def test_filter_rule_names_are_taken_in_any_case_and_given_back_capitalised(notified, names):
    notify(notified, (names[0], "images/"), (names[1], ".png"))
    config = notified["s3"].get_bucket_notification_configuration(Bucket="input")["QueueConfigurations"][0]
    assert config["Filter"]["Key"]["FilterRules"] == [
        {"Name": "Prefix", "Value": "images/"},
        {"Name": "Suffix", "Value": ".png"},
    ]


def test_only_keys_matching_every_rule_are_notified(notified):
    notify(notified, ("Prefix", "images/"), ("Suffix", ".png"))
    sqs, url = notified["sqs"], notified["url"]
    sqs.purge_queue(QueueUrl=url)  # the test event S3 sends when the configuration is put
    for key in ("images/cell.png", "images/cell.txt", "other/cell.png"):
        notified["s3"].put_object(Bucket="input", Key=key, Body=b"x")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    records = [r for m in messages for r in json.loads(m["Body"]).get("Records", [])]
    assert [r["s3"]["object"]["key"] for r in records] == ["images/cell.png"]


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ((("Extension", ".png"),), "filter rule name must be either prefix or suffix"),
        ((("Suffix", ".png"), ("suffix", ".jpg")), "Cannot specify more than one suffix rule in a filter."),
        ((("prefix", "a/"), ("Prefix", "b/")), "Cannot specify more than one prefix rule in a filter."),
    ],
)
def test_other_names_and_a_second_rule_of_a_kind_are_refused(notified, rules, message):
    with pytest.raises(ClientError) as caught:
        notify(notified, *rules)
    error = caught.value.response
    assert error["Error"]["Code"] == "InvalidArgument", error
    assert error["Error"]["Message"] == message
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_an_empty_rule_value_is_taken_and_given_back_empty(notified):
    """AWS takes an empty Value (every key matches it) and gives it back; community.aws.s3_bucket_notification
    always sends both rules, "" for the one not asked for (moto asserted a non-empty one: HTTP 500)."""
    notify(notified, ("Prefix", ""), ("Suffix", ".png"))
    config = notified["s3"].get_bucket_notification_configuration(Bucket="input")["QueueConfigurations"][0]
    assert config["Filter"]["Key"]["FilterRules"] == [
        {"Name": "Prefix", "Value": ""},
        {"Name": "Suffix", "Value": ".png"},
    ]
    notified["sqs"].purge_queue(QueueUrl=notified["url"])
    for key in ("a/cell.png", "cell.png", "cell.txt"):
        notified["s3"].put_object(Bucket="input", Key=key, Body=b"x")
    assert sorted(r["s3"]["object"]["key"] for r in records_of(notified)) == ["a/cell.png", "cell.png"]


def records_of(n: dict) -> list[dict]:
    messages = n["sqs"].receive_message(QueueUrl=n["url"], MaxNumberOfMessages=10).get("Messages", [])
    return [r for m in messages for r in json.loads(m["Body"]).get("Records", [])]


@pytest.mark.parametrize(
    ("key", "encoded"),
    [
        ("in/my photo.png", "in/my+photo.png"),
        ("in/a+b/c&d=e.png", "in/a%2Bb/c%26d%3De.png"),
        ("in/café/ü.png", "in/caf%C3%A9/%C3%BC.png"),
    ],
)
def test_event_keys_are_url_encoded_as_aws_encodes_them(notified, key, encoded):
    """AWS: the key form-encoded (space -> "+", UTF-8 percent-escapes) with "/" left as it is (moto: "%2F")."""
    notify(notified, ("prefix", "in/"), ("suffix", ".png"))
    notified["sqs"].purge_queue(QueueUrl=notified["url"])
    notified["s3"].put_object(Bucket="input", Key=key, Body=b"x")
    assert [r["s3"]["object"]["key"] for r in records_of(notified)] == [encoded]


# Lambda functions run in Docker, in locally built images. Without Docker: what moto asks of the engine
# is recorded by a stand-in engine, which holds the images it is given.

RUNTIME_IMAGE = "research-env-lambda:python3.13"


class FakeEngine:
    """The calls moto's Lambda makes on docker-py's client; the containers "print" `stdout`."""

    def __init__(self, images: set[str], stdout: bytes = b'{"done": true}\n') -> None:
        self.local = images
        self.stdout = stdout
        self.pulled: list[str] = []
        self.runs: list[tuple[str, object, dict]] = []
        self.volumes_made: list[str] = []
        self.api = SimpleNamespace(get_adapter=lambda *_args, **_kwargs: None)
        self.images = SimpleNamespace(get=self._get, pull=self.pulled.append)
        self.volumes = SimpleNamespace(list=lambda: [], create=self._volume)
        self.containers = SimpleNamespace(run=self._run)

    def _get(self, name: str) -> object:
        if name.removeprefix("docker.io/library/") not in self.local:
            raise docker.errors.ImageNotFound(name)
        return object()

    def _volume(self, name: str) -> SimpleNamespace:
        self.volumes_made.append(name)
        return SimpleNamespace(name=name, remove=lambda: None)

    def _run(self, image: str, command: object, **kwargs: object) -> SimpleNamespace:
        self.runs.append((image, command, kwargs))
        logs = {(False, True): b"START\n", (True, False): self.stdout}
        return SimpleNamespace(
            put_archive=lambda *_args: True,
            remove=lambda **_kwargs: None,
            wait=lambda **_kwargs: {"StatusCode": 0},
            logs=lambda stdout, stderr: logs[(stdout, stderr)],
        )


@pytest.fixture
def lambda_fn(aws_env, monkeypatch) -> Iterator[dict]:
    """A python3.13 function in moto's in-process mock, and a way to give it a stand-in engine."""
    monkeypatch.setenv("MOTO_PORT", "4567")
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        client = boto3.client("lambda", region_name=REGION)
        client.create_function(
            FunctionName="fn", Runtime="python3.13", Role=role, Handler="app.handler", Code={"ZipFile": code.getvalue()}
        )

        def engine(images: set[str]) -> FakeEngine:
            fake = FakeEngine(images)
            monkeypatch.setattr(docker, "from_env", lambda: fake)
            return fake

        yield {"client": client, "engine": engine}


def test_a_function_runs_in_the_local_runtime_image_filled_by_the_local_helper(lambda_fn):
    engine = lambda_fn["engine"]({RUNTIME_IMAGE, moto_server.LAMBDA_HELPER_IMAGE})
    answer = lambda_fn["client"].invoke(FunctionName="fn", Payload=b'{"a": 1}')
    assert answer["Payload"].read() == b'{"done": true}'
    assert "FunctionError" not in answer
    (helper, helper_command, _), (runtime, command, kwargs) = engine.runs
    assert (helper, helper_command) == (moto_server.LAMBDA_HELPER_IMAGE, "sleep 100")
    assert (runtime, command) == (RUNTIME_IMAGE, ["app.handler", '{"a": 1}'])
    assert kwargs["environment"]["AWS_ENDPOINT_URL"] == "http://host.docker.internal:4567"
    assert kwargs["extra_hosts"] == {"host.docker.internal": "host-gateway"}
    assert engine.pulled == []


def test_an_invoke_without_payload_passes_an_empty_object(lambda_fn):
    engine = lambda_fn["engine"]({RUNTIME_IMAGE, moto_server.LAMBDA_HELPER_IMAGE})
    lambda_fn["client"].invoke(FunctionName="fn")
    assert engine.runs[-1][1] == ["app.handler", "{}"]


@pytest.mark.parametrize("missing", [RUNTIME_IMAGE, moto_server.LAMBDA_HELPER_IMAGE])
def test_a_missing_local_image_is_a_function_error_that_says_how_to_build_it(lambda_fn, missing):
    engine = lambda_fn["engine"]({RUNTIME_IMAGE, moto_server.LAMBDA_HELPER_IMAGE} - {missing})
    answer = lambda_fn["client"].invoke(FunctionName="fn", Payload=b"{}")
    assert answer["FunctionError"]
    payload = answer["Payload"].read().decode()
    assert missing in payload and "scripts/lambda-image.sh" in payload, payload
    assert engine.pulled == []
    assert all(image != "busybox" for image, _, _ in engine.runs)


@pytest.mark.parametrize(
    ("name", "expected"), [("busybox", moto_server.LAMBDA_HELPER_IMAGE), (RUNTIME_IMAGE, RUNTIME_IMAGE)]
)
def test_only_moto_s_busybox_is_mapped_to_the_helper(name, expected):
    assert moto_server.lambda_helper_image(name) == expected


@pytest.mark.parametrize(
    ("name", "local"),
    [
        (RUNTIME_IMAGE, True),
        ("docker.io/library/research-env-lambda:python3.13", True),
        (moto_server.LAMBDA_HELPER_IMAGE, True),
        ("ghcr.io/shogo82148/lambda-python:3.13", False),
        ("lambci/lambda:python3.8", False),
    ],
)
def test_research_env_images_are_local_only(name, local):
    assert moto_server.is_local_image(name) is local


@pytest.mark.parametrize(
    ("argv", "port"),
    [
        (["-H", "172.17.0.1", "-p", "5123"], "5123"),
        (["--port", "5123", "-H", "172.17.0.1"], "5123"),
        (["--port=5123"], "5123"),
        (["-p5123"], "5123"),
        (["-H", "127.0.0.1"], None),
    ],
)
def test_the_functions_endpoint_port_is_the_server_s_own(argv, port):
    assert moto_server.port_argument(argv) == port


@pytest.mark.parametrize(
    ("env", "image", "helper"),
    [
        ({}, "research-env-lambda", "research-env-lambda-helper:latest"),
        (
            {"RESEARCH_ENV_LAMBDA_IMAGE": "my-lambda", "RESEARCH_ENV_LAMBDA_HELPER_IMAGE": "my-helper:1"},
            "my-lambda",
            "my-helper:1",
        ),
        ({"MOTO_DOCKER_LAMBDA_IMAGE": "other", "RESEARCH_ENV_LAMBDA_IMAGE": "my-lambda"}, "other", None),
    ],
)
def test_the_lambda_images_default_to_the_local_ones(env, image, helper):
    """Read when moto_server is imported, as the server process does (a fresh interpreter)."""
    names = ("MOTO_DOCKER_LAMBDA_IMAGE", "RESEARCH_ENV_LAMBDA_IMAGE", "RESEARCH_ENV_LAMBDA_HELPER_IMAGE")
    clean = {k: v for k, v in os.environ.items() if k not in names}
    code = "import moto_server, moto.settings as s; print(s.moto_lambda_image(), moto_server.LAMBDA_HELPER_IMAGE)"
    shown = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env, "PYTHONPATH": str(REPO / "scripts")},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    assert shown[0] == image
    if helper:
        assert shown[1] == helper


def test_every_volume_has_a_snapshot_id_empty_when_made_without_one(ec2):
    """AWS's DescribeVolumes gives SnapshotId "" for a volume not made from a snapshot (moto left the key out,
    and amazon.aws.ec2_vol_info failed on it); a volume made from a snapshot names it."""
    empty = ec2.create_volume(AvailabilityZone="us-east-1a", Size=8)
    assert empty["SnapshotId"] == ""
    snap = ec2.create_snapshot(VolumeId=empty["VolumeId"])["SnapshotId"]
    copy = ec2.create_volume(AvailabilityZone="us-east-1a", SnapshotId=snap)
    found = {v["VolumeId"]: v["SnapshotId"] for v in ec2.describe_volumes()["Volumes"]}
    assert found == {empty["VolumeId"]: "", copy["VolumeId"]: snap}


def test_a_rule_to_a_prefix_list_keeps_its_description(ec2, net):
    """AWS keeps a prefix-list rule's description (PrefixListIds[].Description) as it does a CIDR's, and
    UpdateSecurityGroupRuleDescriptionsEgress changes it; moto dropped it, so the research group's
    "HTTPS to S3" rule read back without it and every run found the group changed."""
    (s3_list,) = ec2.describe_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": ["com.amazonaws.us-east-1.s3"]}]
    )["PrefixLists"]
    group = ec2.create_security_group(GroupName="pl", Description="pl", VpcId=net["vpc"])["GroupId"]
    rule = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}

    def described() -> list[dict]:
        perms = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["IpPermissionsEgress"]
        return [p for perm in perms for p in perm["PrefixListIds"]]

    pl = s3_list["PrefixListId"]
    ec2.authorize_security_group_egress(
        GroupId=group, IpPermissions=[rule | {"PrefixListIds": [{"PrefixListId": pl, "Description": "HTTPS to S3"}]}]
    )
    assert described() == [{"PrefixListId": pl, "Description": "HTTPS to S3"}]
    ec2.update_security_group_rule_descriptions_egress(
        GroupId=group, IpPermissions=[rule | {"PrefixListIds": [{"PrefixListId": pl, "Description": "S3 only"}]}]
    )
    assert described() == [{"PrefixListId": pl, "Description": "S3 only"}]


def test_reset_policy_puts_back_the_gateway_endpoints_default_policy(ec2, net):
    """ModifyVpcEndpoint ResetPolicy=true resets a gateway endpoint's policy to the default, full access
    to the service (AWS API reference); moto ignored it and kept the endpoint's policy."""
    table = ec2.create_route_table(VpcId=net["vpc"])["RouteTable"]["RouteTableId"]
    narrow = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/*"}
        ],
    }
    endpoint = ec2.create_vpc_endpoint(
        VpcId=net["vpc"],
        ServiceName=f"com.amazonaws.{REGION}.s3",
        RouteTableIds=[table],
        PolicyDocument=json.dumps(narrow),
    )["VpcEndpoint"]["VpcEndpointId"]

    def policy() -> dict:
        return json.loads(ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint])["VpcEndpoints"][0]["PolicyDocument"])

    assert policy() == narrow
    ec2.modify_vpc_endpoint(VpcEndpointId=endpoint, ResetPolicy=True)
    (statement,) = policy()["Statement"]
    assert (statement["Effect"], statement["Principal"], statement["Action"], statement["Resource"]) == (
        "Allow",
        "*",
        "*",
        "*",
    )
    ec2.modify_vpc_endpoint(VpcEndpointId=endpoint, PolicyDocument=json.dumps(narrow))
    assert policy() == narrow


def test_detach_volume_needs_no_instance_id(ec2, net):
    """DetachVolume's InstanceId is optional (needed only for a Multi-Attach volume, AWS API reference);
    moto answered 500 without it. A volume attached to nothing is refused as AWS refuses it."""
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=net["subnet"])
    instance_id = instance["Instances"][0]["InstanceId"]
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=1)["VolumeId"]
    ec2.attach_volume(VolumeId=volume, InstanceId=instance_id, Device="/dev/sdz")
    detached = ec2.detach_volume(VolumeId=volume)
    assert (detached["InstanceId"], detached["Device"]) == (instance_id, "/dev/sdz")
    assert ec2.describe_volumes(VolumeIds=[volume])["Volumes"][0]["State"] == "available"
    with pytest.raises(ClientError) as caught:
        ec2.detach_volume(VolumeId=volume)
    assert caught.value.response["Error"]["Code"] == "IncorrectState"
    assert caught.value.response["Error"]["Message"] == f"Volume '{volume}' is in the 'available' state."


# --- ETags of SSE-KMS objects ---------------------------------------------------------------------------
# AWS, Object.ETag (API reference; the same text in botocore's model): "Objects created by the PUT Object, POST
# Object, or Copy operation, or through the Amazon Web Services Management Console, and are encrypted by SSE-S3 or
# plaintext, have ETags that are an MD5 digest of their object data. [...] encrypted by SSE-C or SSE-KMS, have
# ETags that are not an MD5 digest of their object data. If an object is created by either the Multipart Upload or
# Part Copy operation, the ETag is not an MD5 digest, regardless of the method of encryption."
# Nothing more is promised for SSE-KMS: the ETag is opaque and may differ between two PUTs of the same bytes.

ETAG_BUCKET = "etag-fidelity"
BODY = b'{"cells": [], "nbformat": 4}'


def _md5(data: bytes) -> str:
    import hashlib

    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _bucket(aws: dict, default: dict | None) -> None:
    aws["s3"].create_bucket(Bucket=ETAG_BUCKET)
    if default:
        aws["s3"].put_bucket_encryption(
            Bucket=ETAG_BUCKET,
            ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": default}]},
        )


def _kms_default(aws: dict) -> dict:
    key = aws["kms"].create_key()["KeyMetadata"]["KeyId"]
    return {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}


@pytest.mark.parametrize("how", ["bucket default", "asked for on the PUT"])
def test_a_single_part_sse_kms_object_has_an_etag_that_is_not_its_md5(aws, how):
    s3 = aws["s3"]
    _bucket(aws, _kms_default(aws) if how == "bucket default" else None)
    extra = {"ServerSideEncryption": "aws:kms"} if how == "asked for on the PUT" else {}
    put = s3.put_object(Bucket=ETAG_BUCKET, Key="a.ipynb", Body=BODY, **extra)
    etag = put["ETag"].strip('"')
    assert put["ServerSideEncryption"] == "aws:kms"
    assert len(etag) == 32 and all(c in "0123456789abcdef" for c in etag)
    assert etag != _md5(BODY)
    # The same ETag in every answer about this object: listing, HEAD, GET.
    listed = s3.list_objects_v2(Bucket=ETAG_BUCKET)["Contents"][0]["ETag"].strip('"')
    assert listed == etag == s3.head_object(Bucket=ETAG_BUCKET, Key="a.ipynb")["ETag"].strip('"')
    assert s3.get_object(Bucket=ETAG_BUCKET, Key="a.ipynb")["ETag"].strip('"') == etag
    # The same bytes written again: AWS promises no equal ETag, the emulator gives another one.
    again = s3.put_object(Bucket=ETAG_BUCKET, Key="a.ipynb", Body=BODY, **extra)["ETag"].strip('"')
    assert again != etag and again != _md5(BODY)


@pytest.mark.parametrize("default", [None, {"SSEAlgorithm": "AES256"}], ids=["plaintext", "SSE-S3"])
def test_plain_and_sse_s3_objects_keep_md5_etags(aws, default):
    s3 = aws["s3"]
    _bucket(aws, default)
    assert s3.put_object(Bucket=ETAG_BUCKET, Key="a.ipynb", Body=BODY)["ETag"] == f'"{_md5(BODY)}"'
    # Asked for SSE-S3 on the PUT in a bucket without default encryption: MD5 too.
    put = s3.put_object(Bucket=ETAG_BUCKET, Key="b.ipynb", Body=BODY, ServerSideEncryption="AES256")
    assert put["ETag"] == f'"{_md5(BODY)}"'


@pytest.mark.parametrize("kms", [False, True], ids=["plaintext", "SSE-KMS"])
def test_multipart_objects_keep_their_part_count_suffix(aws, kms):
    s3 = aws["s3"]
    _bucket(aws, _kms_default(aws) if kms else None)
    parts = [b"a" * (5 * 1024 * 1024), b"b" * 1024]
    upload = s3.create_multipart_upload(Bucket=ETAG_BUCKET, Key="big.bin")["UploadId"]
    done = []
    for number, data in enumerate(parts, start=1):
        etag = s3.upload_part(Bucket=ETAG_BUCKET, Key="big.bin", UploadId=upload, PartNumber=number, Body=data)["ETag"]
        done.append({"PartNumber": number, "ETag": etag})
    etag = s3.complete_multipart_upload(
        Bucket=ETAG_BUCKET, Key="big.bin", UploadId=upload, MultipartUpload={"Parts": done}
    )["ETag"].strip('"')
    digest, _, count = etag.partition("-")
    assert count == "2" and len(digest) == 32
    assert digest != _md5(b"".join(parts))
    assert s3.head_object(Bucket=ETAG_BUCKET, Key="big.bin")["ETag"].strip('"') == etag
