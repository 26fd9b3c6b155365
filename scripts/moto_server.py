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
ignores PathPrefix, so every environment's profiles would look like this one's. Nothing else is
altered.

The images moto offers are replaced by emulator-amis.json: stand-ins for the Canonical Ubuntu and
Amazon Linux images AWS lists (moto ships only old ones), so the AMI lookup runs as on AWS.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

# Read by moto when it is imported: set it first.
os.environ.setdefault("MOTO_AMIS_PATH", str(Path(__file__).with_name("emulator-amis.json")))


from moto.core.responses import ActionResult
from moto.ec2 import utils as ec2_utils
from moto.ec2.models.nat_gateways import NatGatewayBackend
from moto.ec2.responses.security_groups import SecurityGroups
from moto.efs import urls as efs_urls
from moto.efs.responses import EFSResponse
from moto.iam.responses import IamResponse
from moto.kms.models import KmsBackend
from moto.s3.models import FakeBucket
from moto.server import main

# Mutated in place: moto's tag code holds a reference to this very dict.
ec2_utils.EC2_PREFIX_TO_RESOURCE["nat"] = "natgateway"
ec2_utils.EC2_PREFIX_TO_RESOURCE["eipalloc"] = "elastic-ip"


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

if __name__ == "__main__":
    sys.exit(main())
