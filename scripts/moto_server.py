#!/usr/bin/env python3
"""moto's server with the fidelity fixes research-env's tests rely on, then moto's own main().

moto 5.2.5 reports the tag resource type of NAT gateways as "nat-gateway" and of Elastic IPs as
"vpc-elastic-ip"; AWS says "natgateway" and "elastic-ip", and amazon.aws filters describe_tags
by those names. Without the fix every rerun against the emulator "changes" those tags, which
AWS would not. Its UpdateSecurityGroupRuleDescriptions{Ingress,Egress} answers lack the
`Return: true` AWS sends, which amazon.aws.ec2_security_group reads. Its DescribeNatGateways
ignores `tag:` filters, so a teardown filtered by environment would see every environment's NAT
gateways; AWS applies them. Its KMS DisableKey/EnableKey/ScheduleKeyDeletion/CancelKeyDeletion
accept only a bare key id, where AWS (and amazon.aws.kms_key) also use the key ARN. Its EFS lacks the
DescribeTags/CreateTags/DeleteTags calls community.aws.efs uses. Its bucket-policy check ignores
Conditions and so applies a conditional statement to every request: the notebooks bucket's
"deny unless aws:SecureTransport" would refuse all access. Here statements with a Condition are
left out of moto's check (the policy is still stored and read back as written); the emulator
speaks plain HTTP on this machine, so TLS-only is not enforced by it. Its ListInstanceProfiles
ignores PathPrefix, so every environment's profiles would look like this one's. Its ImportKeyPair
fingerprints an ED25519 key as hex SHA-256 of the DER key; AWS gives base64 SHA-256 of the OpenSSH
key blob, which compute.yml computes locally to compare.

Deletes AWS refuses with DependencyViolation (HTTP 400) while something still depends on the
resource; moto 5.2.5 lets them succeed, so a teardown in the wrong order would pass here and fail
on AWS. Each is restored with AWS's own message:
- DeleteVpc while the VPC has subnets, security groups other than its default one, route tables
  other than its main one, an attached internet gateway or virtual private gateway, an egress-only
  internet gateway, NAT gateways or VPC endpoints not deleted, or network interfaces: "The vpc
  'vpc-0123' has dependencies and cannot be deleted." (moto checked subnets, attached virtual
  private gateways and extra route tables only, the last two with another wording). As on AWS the
  default security group, main route table and default network ACL go with the VPC (moto left
  the ACL behind); peering connections do not block (AWS deletes them with the VPC, except a
  cross-account request that awaits acceptance, which one account cannot hold here).
- DeleteSubnet while a network interface (an instance's, a NAT gateway's, an EFS mount target's,
  an interface endpoint's, a hand-made one), a NAT gateway not deleted or a Client VPN endpoint's
  association is in the subnet: "The subnet 'subnet-0123' has dependencies and cannot be deleted."
- DeleteSecurityGroup while a network interface, an interface endpoint or a Client VPN endpoint uses the
  group, or a rule of another group (ingress or egress) refers to it: "resource sg-0123 has a dependent object". A
  group's rules that refer to itself do not hold it.
- DetachInternetGateway while the VPC has mapped public addresses (an Elastic IP associated with a
  network interface in it, or an auto-assigned public IP): "Network vpc-0123 has some mapped public
  address(es). Please unmap those public address(es) before detaching the gateway."
With those checks, what moto leaves behind where AWS cleans up would make the emulator stricter
than AWS, so that is restored too: a primary network interface created by RunInstances is deleted
on termination unless DeleteOnTermination=false was asked (moto kept it unless true was asked); an
Elastic IP on an interface deleted with its instance is disassociated, as it is on AWS; terminating
an already terminated instance succeeds again (moto failed on the interface it had deleted);
DeleteNatGateway disassociates the gateway's Elastic IP and deletes its network interface (moto
kept both, so the subnet, the Elastic IP and the internet gateway stayed held).
CreateSnapshot of an encrypted volume answers and describes the snapshot with the volume's
KmsKeyId, as AWS does (moto left it out; CopySnapshot already keeps the KmsKeyId it is given).
GetBucketTagging answers a tag with an empty value with an empty <Value/>, as AWS does (moto left
the element out). A security group rule to a prefix list keeps its description (moto dropped it).
A single-part object stored with SSE-KMS (asked for or the bucket's default) has an ETag that is not the
MD5 of its content, as on AWS: 32 hex digits, random per write (moto gave the MD5 whatever the encryption).
Nothing else is altered.

S3 event records (bucket notifications to Lambda, SQS, SNS) carry the object key URL-encoded the way
AWS does it, form-style ("in/my photo.png" arrives as "in/my+photo.png"); moto also encoded "/" as "%2F".

Lambda functions run for real in Docker, in locally built images (scripts/lambda-image.sh; no
registry is reachable here). moto's contract: the runtime image MOTO_DOCKER_LAMBDA_IMAGE (here
RESEARCH_ENV_LAMBDA_IMAGE, default research-env-lambda, to which moto appends ":python3.13") gets
[handler, event JSON], the code in /var/task and AWS_ENDPOINT_URL=http://host.docker.internal:MOTO_PORT;
MOTO_PORT is set from this server's own -p/--port, so functions call back into this emulator (which must
listen on an address containers reach: the docker0 bridge address or 0.0.0.0). moto fills the code
volume from a hard-coded "busybox" container; that is RESEARCH_ENV_LAMBDA_HELPER_IMAGE (default
research-env-lambda-helper:latest) here, and research-env images are never pulled: a missing one is a
function error that says to build it. Where it finds /.dockerenv (a CI runner that is itself a container)
moto asks the Docker engine for its own container's address; the emulator runs beside the engine it
drives, so functions reach it as host.docker.internal (host-gateway) always. An Invoke
without a payload passes the event {}, as on AWS (moto passed the string "{}").

AWS Client VPN, which moto lacks (every call was NotImplementedError), is added by emulator_client_vpn.py:
endpoints, target network associations with their automatic route, authorization rules, routes, the exported
OpenVPN profile and client certificate revocation lists, with AWS's answers and refusals (its docstring lists
them), tags on cvpn-endpoint-* ids, and state per account and region that moto's reset clears. The same file
makes ACM's GetCertificate return an imported certificate's chain as imported (moto added a fake AWS root CA,
so community.aws.acm_certificate re-imported on every run) and keeps a certificate's tags on a re-import.
AWS Budgets' UpdateBudget and subscriber calls (moto lacks them) and AWS's limits are added by emulator_budgets.py.
S3 gateway VPC endpoints, whose policies moto stores and never evaluates, are modelled by emulator_vpce.py: a
request from a running instance's private address (in the lab, the container at that address) in a subnet
routed to the endpoint goes through it, and the endpoint's policy and the bucket policy's conditional
statements on the keys it knows are evaluated as AWS evaluates them (its docstring says what is not modelled).

The images moto offers are replaced by emulator-amis.json: stand-ins for the Canonical Ubuntu and
Amazon Linux images AWS lists (moto ships only old ones), so the AMI lookup runs as on AWS.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import itertools
import json
import os
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus
from xml.sax.saxutils import escape as xml_escape

# Read by moto when it is imported: set it first.
os.environ.setdefault("MOTO_AMIS_PATH", str(Path(__file__).with_name("emulator-amis.json")))
# The locally built stand-in of AWS's Lambda runtime (scripts/lambda-image.sh); moto appends ":<runtime>".
os.environ.setdefault("MOTO_DOCKER_LAMBDA_IMAGE", os.environ.get("RESEARCH_ENV_LAMBDA_IMAGE", "research-env-lambda"))


import docker.errors
import emulator_budgets
import emulator_client_vpn
import emulator_vpce
from moto import settings as moto_settings
from moto.awslambda.models import LambdaFunction, _DockerDataVolumeContext, _DockerDataVolumeLayerContext
from moto.core.responses import ActionResult
from moto.ec2 import utils as ec2_utils
from moto.ec2.exceptions import DependencyViolationError, EC2ClientError
from moto.ec2.models import EC2Backend
from moto.ec2.models.elastic_block_store import Volume
from moto.ec2.models.instances import Instance
from moto.ec2.models.nat_gateways import NatGatewayBackend
from moto.ec2.models.security_groups import SecurityGroup, SecurityGroupRule
from moto.ec2.models.vpcs import VPCEndPoint
from moto.ec2.responses.security_groups import SecurityGroups
from moto.ec2.responses.vpcs import VPCs
from moto.efs import urls as efs_urls
from moto.efs.responses import EFSResponse
from moto.iam.responses import IamResponse
from moto.kms.models import KmsBackend
from moto.s3 import notifications as s3_notifications
from moto.s3.exceptions import InvalidArgumentError, InvalidFilterRuleName
from moto.s3.models import FakeBucket, FakeKey, Notification
from moto.s3.responses import S3Response
from moto.server import main

# Mutated in place: moto's tag code holds a reference to this very dict.
ec2_utils.EC2_PREFIX_TO_RESOURCE["nat"] = "natgateway"
ec2_utils.EC2_PREFIX_TO_RESOURCE["eipalloc"] = "elastic-ip"

emulator_client_vpn.install()
emulator_budgets.install()
emulator_vpce.install()


def _with_return(update):  # noqa: ANN001, ANN202 - wraps moto's own response method
    def wrapper(self):  # noqa: ANN001, ANN202
        update(self)
        return ActionResult({"Return": True})

    return wrapper


for _name in ("update_security_group_rule_descriptions_ingress", "update_security_group_rule_descriptions_egress"):
    setattr(SecurityGroups, _name, _with_return(getattr(SecurityGroups, _name)))

_describe_nat_gateways = NatGatewayBackend.describe_nat_gateways


def _describe_nat_gateways_with_tags(self, filters, nat_gateway_ids):  # noqa: ANN001, ANN202
    found = _describe_nat_gateways(self, filters, nat_gateway_ids)
    for name, values in (filters or {}).items():
        if ec2_utils.is_tag_filter(name):
            found = [nat for nat in found if ec2_utils.tag_filter_matches(nat, name, values)]
    return found


NatGatewayBackend.describe_nat_gateways = _describe_nat_gateways_with_tags


def _by_key_id(method):  # noqa: ANN001, ANN202
    def wrapper(self, key_id, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        return method(self, self.get_key_id(key_id), *args, **kwargs)

    return wrapper


for _name in ("disable_key", "enable_key", "cancel_key_deletion", "schedule_key_deletion"):
    setattr(KmsBackend, _name, _by_key_id(getattr(KmsBackend, _name)))


# EFS's older tag API (2015-02-01/tags, create-tags, delete-tags), mapped onto moto's tag store.
efs_urls.url_paths.update(
    {
        "{0}/2015-02-01/tags/<file_system_id>/$": efs_urls.response.dispatch,
        "{0}/2015-02-01/create-tags/<file_system_id>$": efs_urls.response.dispatch,
        "{0}/2015-02-01/delete-tags/<file_system_id>$": efs_urls.response.dispatch,
    }
)


def _efs_describe_tags(self):  # noqa: ANN001, ANN202
    tags = self.efs_backend.list_tags_for_resource(self._get_param("FileSystemId"))
    return json.dumps({"Tags": tags}), {"Content-Type": "application/json"}


def _efs_create_tags(self):  # noqa: ANN001, ANN202
    tags = {t["Key"]: t.get("Value") for t in self._get_param("Tags") or []}
    self.efs_backend.tag_resource(self._get_param("FileSystemId"), tags)
    return "", {"Content-Type": "application/json", "status": 204}


def _efs_delete_tags(self):  # noqa: ANN001, ANN202
    self.efs_backend.untag_resource(self._get_param("FileSystemId"), self._get_param("TagKeys") or [])
    return "", {"Content-Type": "application/json", "status": 204}


def _bucket_permission_without_conditions(self, action, resource):  # noqa: ANN001, ANN202
    from moto.iam.access_control import IAMPolicy, PermissionResult

    if self.policy is None:
        return PermissionResult.NEUTRAL
    policy = json.loads(self.policy.decode())
    statements = policy.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    policy["Statement"] = [st for st in statements if "Condition" not in st]
    if not policy["Statement"]:
        return PermissionResult.NEUTRAL
    return IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource)


FakeBucket.get_permission = _bucket_permission_without_conditions


def _list_instance_profiles_by_path(self):  # noqa: ANN001, ANN202
    prefix = self._get_param("PathPrefix") or "/"
    profiles = [p for p in self.backend.get_instance_profiles() if p.path.startswith(prefix)]
    return ActionResult({"InstanceProfiles": profiles})


IamResponse.list_instance_profiles = _list_instance_profiles_by_path

EFSResponse.describe_tags = _efs_describe_tags
EFSResponse.create_tags = _efs_create_tags
EFSResponse.delete_tags = _efs_delete_tags

# --- GetBucketTagging with an empty tag value -------------------------------------------------------
# AWS answers <Value></Value> for a tag whose value is empty; moto's serializer leaves the element out,
# and the amazon.aws modules then fail on a missing "Value" (extra_tags: {Reviewed: ""}).
_get_bucket_tags = S3Response.get_bucket_tags
S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


def _get_bucket_tags_with_empty_values(self: S3Response) -> Any:
    answer = _get_bucket_tags(self)
    tags = self.backend.get_bucket_tagging(self.bucket_name)["Tags"]
    # moto keeps an empty <Value/> of PutBucketTagging as None.
    if not any(tag.get("Value") in ("", None) for tag in tags):
        return answer
    status, headers, _body = answer
    items = "".join(
        f"<Tag><Key>{xml_escape(tag['Key'])}</Key><Value>{xml_escape(tag.get('Value') or '')}</Value></Tag>"
        for tag in tags
    )
    body = f'<?xml version="1.0" encoding="UTF-8"?><Tagging xmlns="{S3_NS}"><TagSet>{items}</TagSet></Tagging>'
    return status, headers, body


S3Response.get_bucket_tags = _get_bucket_tags_with_empty_values


# --- ETags of SSE-KMS objects are not MD5 digests --------------------------------------------------
# AWS (Object.ETag): objects created by PUT, POST or Copy "and are encrypted by SSE-S3 or plaintext, have
# ETags that are an MD5 digest of their object data"; "encrypted by SSE-C or SSE-KMS, have ETags that are
# not an MD5 digest of their object data"; multipart objects' ETags are not MD5 digests whatever the
# encryption. moto 5.2.5 gives every single-part object the MD5 of its bytes, so a tool that trusted an
# SSE-KMS ETag as an MD5 would pass here and fail on AWS. AWS promises nothing more about that ETag (not even
# that two PUTs of the same bytes get the same one), so it is 32 random hex digits per write, fixed once
# made: the form AWS shows (aws-cli PR #1026) and the form moto's CompleteMultipartUpload decodes from a
# part's ETag. SSE-C is not modelled by moto at all. Multipart objects keep moto's "<md5 of part ETags>-N".
_NON_MD5_ETAG_ENCRYPTION = ("aws:kms", "aws:kms:dsse")
_fake_key_etag = FakeKey.etag


def _etag_not_md5_under_kms(self: FakeKey) -> str:
    if self._etag is None and self.multipart is None and getattr(self, "encryption", None) in _NON_MD5_ETAG_ENCRYPTION:
        self._etag = hashlib.md5(os.urandom(16), usedforsecurity=False).hexdigest()
    return _fake_key_etag.fget(self)


FakeKey.etag = property(_etag_not_md5_under_kms)


# --- Deletes AWS refuses while something depends on the resource (DependencyViolation) --------------
# Patched on EC2Backend itself, over whatever mixin moto resolves, so moto's internal calls (its
# DeleteVpc deleting the default group) pass through the same checks.


def _in_vpc(eni: Any, vpc_id: str) -> bool:
    return eni.subnet is not None and eni.subnet.vpc_id == vpc_id


def _vpc_dependencies(backend: EC2Backend, vpc_id: str) -> list[str]:
    """What AWS would name as holding the VPC: what DeleteVpc does not delete by itself."""
    vgws = [
        vgw.id
        for vgw in backend.vpn_gateways.values()
        if vpc_id in vgw.attachments and vgw.attachments[vpc_id].state == "attached"
    ]
    return [
        *(subnet.id for subnet in backend.describe_subnets(filters={"vpc-id": vpc_id})),
        *(group.id for group in backend.groups.get(vpc_id, {}).values() if not group.is_default),
        *(rt.id for rt in backend.describe_route_tables(filters={"vpc-id": vpc_id}) if rt.main_association_id is None),
        *(igw.id for igw in backend.internet_gateways.values() if igw.vpc is not None and igw.vpc.id == vpc_id),
        *(eigw.id for eigw in backend.egress_only_internet_gateways.values() if eigw.vpc_id == vpc_id),
        *vgws,
        *(nat.id for nat in backend.nat_gateways.values() if nat.vpc_id == vpc_id and nat.state != "deleted"),
        *(ep.id for ep in backend.vpc_end_points.values() if ep.vpc_id == vpc_id and ep.state != "deleted"),
        *(eni.id for eni in backend.enis.values() if _in_vpc(eni, vpc_id)),
    ]


_delete_vpc = EC2Backend.delete_vpc


def _delete_vpc_unless_held(self: EC2Backend, vpc_id: str) -> Any:
    self.get_vpc(vpc_id)  # an unknown VPC is InvalidVpcID.NotFound, as on AWS, not a dependency
    if _vpc_dependencies(self, vpc_id):
        raise DependencyViolationError(f"The vpc '{vpc_id}' has dependencies and cannot be deleted.")
    vpc = _delete_vpc(self, vpc_id)
    # moto deletes the default group and the main route table but leaves the default network ACL.
    for acl_id in [acl.id for acl in self.network_acls.values() if acl.vpc_id == vpc_id and acl.default]:
        del self.network_acls[acl_id]
    return vpc


EC2Backend.delete_vpc = _delete_vpc_unless_held

_delete_subnet = EC2Backend.delete_subnet


def _delete_subnet_unless_held(self: EC2Backend, subnet_id: str) -> Any:
    self.get_subnet(subnet_id)
    held = (
        any(eni.subnet is not None and eni.subnet.id == subnet_id for eni in self.enis.values())
        or any(nat.subnet_id == subnet_id and nat.state != "deleted" for nat in self.nat_gateways.values())
        or emulator_client_vpn.holds_subnet(self, subnet_id)
    )
    if held:
        raise DependencyViolationError(f"The subnet '{subnet_id}' has dependencies and cannot be deleted.")
    return _delete_subnet(self, subnet_id)


EC2Backend.delete_subnet = _delete_subnet_unless_held


def _group_is_used(backend: EC2Backend, group_id: str) -> bool:
    """A network interface uses the group, or a rule of another group refers to it.

    moto gives an interface endpoint's network interfaces the VPC's default group instead of the
    endpoint's groups, so the endpoints are asked directly."""
    if any(group_id in {getattr(g, "id", None) for g in eni.group_set} for eni in backend.enis.values()):
        return True
    if any(
        ep.state != "deleted" and group_id in (ep.security_group_ids or []) for ep in backend.vpc_end_points.values()
    ):
        return True
    if emulator_client_vpn.uses_group(backend, group_id):
        return True
    groups = itertools.chain.from_iterable(by_id.values() for by_id in backend.groups.values())
    return any(
        rule.source_group.get("GroupId") == group_id
        for other in groups
        if other.id != group_id
        for rule in (*other.ingress_rules, *other.egress_rules)
    )


_delete_security_group = EC2Backend.delete_security_group


def _delete_security_group_unless_used(self: EC2Backend, name: str | None = None, group_id: str | None = None) -> Any:
    group = self.get_security_group_from_id(group_id) if group_id else None
    if group is None and not group_id and name:
        group = self.get_security_group_by_name_or_id(name)
    if group is not None and _group_is_used(self, group.id):
        raise DependencyViolationError(f"resource {group.id} has a dependent object")
    return _delete_security_group(self, name=name, group_id=group_id)


EC2Backend.delete_security_group = _delete_security_group_unless_used

_detach_internet_gateway = EC2Backend.detach_internet_gateway


def _detach_internet_gateway_unless_mapped(self: EC2Backend, internet_gateway_id: str, vpc_id: str) -> Any:
    igw = self.get_internet_gateway(internet_gateway_id)
    attached_here = igw.vpc is not None and igw.vpc.id == vpc_id
    # An Elastic IP's association and an auto-assigned public IP both show as the interface's public_ip.
    if attached_here and any(eni.public_ip for eni in self.enis.values() if _in_vpc(eni, vpc_id)):
        raise DependencyViolationError(
            f"Network {vpc_id} has some mapped public address(es). "
            "Please unmap those public address(es) before detaching the gateway."
        )
    return _detach_internet_gateway(self, internet_gateway_id, vpc_id)


EC2Backend.detach_internet_gateway = _detach_internet_gateway_unless_mapped


# --- DescribeVolumes: every volume has a SnapshotId, "" when it was not made from a snapshot (as AWS answers;
# moto left the key out, and amazon.aws.ec2_vol_info, which reads it unconditionally, failed) ---------------

_volume_init = Volume.__init__


def _volume_init_with_snapshot_id(self: Volume, *args: Any, **kwargs: Any) -> None:
    _volume_init(self, *args, **kwargs)
    if self.snapshot_id is None:
        self.snapshot_id = ""


Volume.__init__ = _volume_init_with_snapshot_id


# --- ModifyVpcEndpoint ResetPolicy=true puts back the default policy, full access to the service (AWS API
# reference, ModifyVpcEndpoint: "Specify true to reset the policy document to the default policy"); moto
# ignored the parameter and kept whatever policy the endpoint had --------------------------------------

_modify_vpc_endpoint = VPCs.modify_vpc_endpoint


def _modify_vpc_endpoint_with_reset(self: VPCs) -> Any:
    answer = _modify_vpc_endpoint(self)
    if str(self._get_param("ResetPolicy") or "").lower() == "true":
        (endpoint,) = self.ec2_backend.describe_vpc_endpoints(vpc_end_point_ids=[self._get_param("VpcEndpointId")])
        endpoint.policy_document = json.dumps(VPCEndPoint.DEFAULT_POLICY)
    return answer


VPCs.modify_vpc_endpoint = _modify_vpc_endpoint_with_reset


# --- DetachVolume names the instance only for a Multi-Attach volume (AWS API reference: InstanceId is
# optional); moto looked the instance up unconditionally and answered 500 without it -----------------

_detach_volume = EC2Backend.detach_volume


def _detach_volume_of_its_instance(
    self: EC2Backend, volume_id: str, instance_id: str | None, device_path: str | None
) -> Any:
    if not instance_id:
        attachment = self.get_volume(volume_id).attachment
        if attachment is None:
            raise EC2ClientError("IncorrectState", f"Volume '{volume_id}' is in the 'available' state.")
        instance_id = attachment.instance.id
    return _detach_volume(self, volume_id, instance_id, device_path)


EC2Backend.detach_volume = _detach_volume_of_its_instance


# --- Security group rules to a prefix list keep their description, as on AWS (moto dropped it: a rule
# "HTTPS to S3" read back without it, so every run found the research group changed) ----------------

_rule_init = SecurityGroupRule.__init__


def _rule_init_with_prefix_list_description(self: SecurityGroupRule, *args: Any, **kwargs: Any) -> None:
    _rule_init(self, *args, **kwargs)
    prefix_list = kwargs.get("prefix_list_id", args[7] if len(args) > 7 else None)
    self.prefix_list_description = (prefix_list or {}).get("Description")


def _flattened_rules_with_prefix_list_descriptions(self: SecurityGroup, rules: list[SecurityGroupRule]) -> Any:
    views = _flattened_rules(self, rules)
    for view in views:
        for entry in view.prefix_list_ids:
            described = [
                r.prefix_list_description
                for r in rules
                if r.prefix_list_id == entry["PrefixListId"]
                and (r.ip_protocol, r.from_port, r.to_port) == (view.ip_protocol, view.from_port, view.to_port)
                and getattr(r, "prefix_list_description", None)
            ]
            if described:
                entry["Description"] = described[0]
    return views


def _sg_update_description_of_prefix_lists(self: EC2Backend, security_rule: Any, rule: Any) -> None:
    _sg_update_description(self, security_rule, rule)
    description = getattr(security_rule, "prefix_list_description", None)
    if description is not None and security_rule.prefix_list_id and security_rule.prefix_list_id == rule.prefix_list_id:
        rule.prefix_list_description = description


_flattened_rules = SecurityGroup._flattened_rules
_sg_update_description = EC2Backend._sg_update_description
SecurityGroupRule.__init__ = _rule_init_with_prefix_list_description
SecurityGroup._flattened_rules = _flattened_rules_with_prefix_list_descriptions
EC2Backend._sg_update_description = _sg_update_description_of_prefix_lists


# --- What AWS cleans up and moto leaves behind (it would hold subnets, groups and gateways) ---------

_prep_nics = Instance.prep_nics


def _prep_nics_primary_deleted_on_termination(
    self: Instance, nic_spec: list[dict[str, Any]], *args: Any, **kwargs: Any
) -> None:
    """The primary interface RunInstances creates is deleted on termination unless asked otherwise."""
    primary = next((nic for nic in nic_spec if int(nic.get("DeviceIndex", -1)) == 0), {})
    asked = "DeleteOnTermination" in primary or "NetworkInterfaceId" in primary
    _prep_nics(self, nic_spec, *args, **kwargs)
    if not asked and 0 in self.nics:
        self.nics[0].delete_on_termination = True


Instance.prep_nics = _prep_nics_primary_deleted_on_termination

_terminate = Instance.terminate


def _terminate_and_release_interfaces(self: Instance) -> Any:
    if self._state.name == "terminated":  # AWS answers again; moto would delete the interfaces twice
        return copy.copy(self._state)
    doomed = {nic.id for nic in self.nics.values() if nic.delete_on_termination}
    previous = _terminate(self)
    for address in self.ec2_backend.addresses:
        if address.eni is not None and address.eni.id in doomed:
            self.ec2_backend.disassociate_address(address=address.public_ip)
    return previous


Instance.terminate = _terminate_and_release_interfaces

_delete_nat_gateway = EC2Backend.delete_nat_gateway


def _delete_nat_gateway_and_interface(self: EC2Backend, nat_gateway_id: str) -> Any:
    nat = _delete_nat_gateway(self, nat_gateway_id)
    eni = nat._eni
    if eni.id in self.enis:
        for address in self.addresses:
            if address.eni is eni:
                self.disassociate_address(address=address.public_ip)
        eni.delete()
    return nat


EC2Backend.delete_nat_gateway = _delete_nat_gateway_and_interface

_create_snapshot = EC2Backend.create_snapshot


def _create_snapshot_with_volume_key(self: EC2Backend, volume_id: str, *args: Any, **kwargs: Any) -> Any:
    snapshot = _create_snapshot(self, volume_id, *args, **kwargs)
    if snapshot.encrypted and snapshot.kms_key_id is None:
        snapshot.kms_key_id = snapshot.volume.kms_key_id
    return snapshot


EC2Backend.create_snapshot = _create_snapshot_with_volume_key


# --- ImportKeyPair's fingerprint of an ED25519 key ---------------------------------------------------
# AWS gives the base64-encoded SHA-256 digest of the OpenSSH key blob (what `ssh-keygen -l` prints);
# moto gives the colon-separated hex SHA-256 of the DER public key. compute.yml compares the key pair's
# fingerprint with the one computed locally instead of importing a temporary key, so it must be AWS's.
_import_key_pair = EC2Backend.import_key_pair


def _import_key_pair_with_aws_fingerprint(self: EC2Backend, key_name: str, public_key_material: Any, tags: Any) -> Any:
    keypair = _import_key_pair(self, key_name, public_key_material, tags)
    if keypair.key_type == "ed25519":
        text = public_key_material.decode() if isinstance(public_key_material, bytes) else str(public_key_material)
        blob = base64.b64decode(text.split()[1])
        keypair.key_fingerprint = base64.b64encode(hashlib.sha256(blob).digest()).decode()
    return keypair


EC2Backend.import_key_pair = _import_key_pair_with_aws_fingerprint

# --- S3 notification filter rule names ---------------------------------------------------------------
# AWS takes a FilterRule's Name in any case (prefix, Prefix), answers GetBucketNotificationConfiguration
# with "Prefix" and "Suffix", and refuses another name or a second rule of one kind with InvalidArgument.
# It takes an empty Value (a rule that every key matches); moto asserted a non-empty one (HTTP 500).
# moto asserts lowercase names (HTTP 500 for the "Prefix"/"Suffix" community.aws.s3_bucket_notification
# sends), stores them as given and matches keys by lowercase names only.
_notification_config_from_body = S3Response._notification_config_from_body
_FILTER_NAMES = {"prefix": "Prefix", "suffix": "Suffix"}
_FILTER_NAME_RE = re.compile(r"<Name>\s*([^<]*?)\s*</Name>")
_NOTIFICATION_KINDS = ("TopicConfiguration", "QueueConfiguration", "CloudFunctionConfiguration")
_EMPTY_VALUE_RE = re.compile(r"<Value>\s*</Value>|<Value\s*/>")
_EMPTY_VALUE = "research-env-empty-filter-value"


def _filter_name_lowercase(match: re.Match) -> str:
    if match.group(1).lower() not in _FILTER_NAMES:
        raise InvalidFilterRuleName(match.group(1))
    return f"<Name>{match.group(1).lower()}</Name>"


def _notification_config_with_aws_filter_names(self: S3Response) -> Any:
    body = self.body.decode() if isinstance(self.body, bytes) else self.body
    body = _FILTER_NAME_RE.sub(_filter_name_lowercase, body or "")
    # moto asserts a non-empty Value; AWS takes an empty one (community.aws.s3_bucket_notification
    # always sends both rules, "" for the one not asked for) and gives it back empty.
    self.body = _EMPTY_VALUE_RE.sub(f"<Value>{_EMPTY_VALUE}</Value>", body)
    config = _notification_config_from_body(self)
    for kind in _NOTIFICATION_KINDS:
        for notification in config.get(kind) or []:
            rules = ((notification.get("Filter") or {}).get("S3Key") or {}).get("FilterRule") or []
            for name in _FILTER_NAMES:
                if sum(rule["Name"] == name for rule in rules) > 1:
                    raise InvalidArgumentError(
                        f"Cannot specify more than one {name} rule in a filter.", "FilterRule.Name", name
                    )
            for rule in rules:
                rule["Name"] = _FILTER_NAMES[rule["Name"]]
                if rule["Value"] == _EMPTY_VALUE:
                    rule["Value"] = ""
    return config


def _key_matches_any_case(self: Notification, key_name: str) -> bool:
    if "S3Key" not in self.filters:
        return True
    rules = {rule["Name"].lower(): rule["Value"] for rule in self.filters["S3Key"]["FilterRule"]}
    return key_name.startswith(rules.get("prefix", "")) and key_name.endswith(rules.get("suffix", ""))


S3Response._notification_config_from_body = _notification_config_with_aws_filter_names
Notification._key_matches = _key_matches_any_case

# --- S3 event records: the key URL-encoded as AWS encodes it ------------------------------------------
# AWS encodes the key form-style (space -> "+") but leaves "/" as it is; moto's quote_plus made it "%2F".
_get_s3_event = s3_notifications._get_s3_event


def _get_s3_event_with_aws_key(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
    event = _get_s3_event(event_name, bucket, key, notification_id)
    for record in event["Records"]:
        record["s3"]["object"]["key"] = quote_plus(key.name, safe="/")
    return event


s3_notifications._get_s3_event = _get_s3_event_with_aws_key


# --- Lambda functions in Docker, in locally built images (scripts/lambda-image.sh) --------------------
# moto fills a function's code volume from a "busybox" container and would pull any image it lacks;
# no registry answers here. The helper stands in for busybox, and research-env images are only ever
# looked up locally, so a missing one says how to build it instead of waiting on a registry.
LAMBDA_HELPER_IMAGE = os.environ.get("RESEARCH_ENV_LAMBDA_HELPER_IMAGE", "research-env-lambda-helper:latest")
LOCAL_IMAGE_PREFIX = "research-env-"


def lambda_helper_image(name: str) -> str:
    """The image moto's code-volume step gets for the one it names ("busybox" is the local helper)."""
    return LAMBDA_HELPER_IMAGE if name == "busybox" else name


def is_local_image(name: str) -> bool:
    """An image built on this machine (never pulled): research-env-*, the helper included."""
    return name == LAMBDA_HELPER_IMAGE or name.rsplit("/", 1)[-1].startswith(LOCAL_IMAGE_PREFIX)


def require_local_image(client: Any, name: str) -> None:
    try:
        client.images.get(name)
    except docker.errors.ImageNotFound:
        # Not a NotFound: moto would then try (pull) the next image it knows of.
        raise docker.errors.DockerException(
            f"image {name} is not on this machine and is never pulled; build it with scripts/lambda-image.sh"
        ) from None


class _HelperContainers:
    def __init__(self, containers: Any) -> None:
        self._containers = containers

    def __getattr__(self, name: str) -> Any:
        return getattr(self._containers, name)

    def run(self, image: str, *args: Any, **kwargs: Any) -> Any:
        return self._containers.run(lambda_helper_image(image), *args, **kwargs)


class _HelperClient:
    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    @property
    def containers(self) -> _HelperContainers:
        return _HelperContainers(self._client.containers)


class _HelperFunction:
    """The function as moto's code-volume contexts see it: "busybox" means the local helper image."""

    def __init__(self, function: LambdaFunction) -> None:
        self._function = function

    def __getattr__(self, name: str) -> Any:
        return getattr(self._function, name)

    @property
    def docker_client(self) -> _HelperClient:
        return _HelperClient(self._function.docker_client)

    def ensure_image_exists(self, name: str) -> None:
        require_local_image(self._function.docker_client, lambda_helper_image(name))


def _with_helper_image(enter: Any) -> Any:
    def wrapper(self: Any) -> Any:
        function = self._lambda_func
        # Checked before moto creates the volume: a failed __enter__ would leave it behind, counted as in use.
        require_local_image(function.docker_client, LAMBDA_HELPER_IMAGE)
        self._lambda_func = _HelperFunction(function)
        try:
            return enter(self)
        finally:
            self._lambda_func = function

    return wrapper


for _context in (_DockerDataVolumeContext, _DockerDataVolumeLayerContext):
    _context.__enter__ = _with_helper_image(_context.__enter__)

_ensure_image_exists = LambdaFunction.ensure_image_exists


def _ensure_image_exists_locally_built(self: LambdaFunction, name: str) -> None:
    if is_local_image(name):
        require_local_image(self.docker_client, name)
    else:
        _ensure_image_exists(self, name)


LambdaFunction.ensure_image_exists = _ensure_image_exists_locally_built


def _emulator_as_seen_from_containers() -> str:
    """Functions reach the emulator through the host gateway, whatever moto guesses from /.dockerenv."""
    return "http://host.docker.internal"


moto_settings.moto_server_host = _emulator_as_seen_from_containers

_lambda_invoke = LambdaFunction.invoke


def _invoke_empty_payload_as_empty_object(
    self: LambdaFunction, body: str, request_headers: Any, response_headers: Any
) -> Any:
    return _lambda_invoke(self, body or "{}", request_headers, response_headers)


LambdaFunction.invoke = _invoke_empty_payload_as_empty_object


def port_argument(argv: list[str]) -> str | None:
    """The port moto's main() is given (-p/--port): functions' AWS_ENDPOINT_URL must name it."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-p", "--port")
    return parser.parse_known_args(argv)[0].port


if __name__ == "__main__":
    if (_port := port_argument(sys.argv[1:])) is not None:
        os.environ["MOTO_PORT"] = _port
    sys.exit(main())
