#!/usr/bin/env python3
"""moto's server with the fidelity fixes research-env's tests rely on, then moto's own main().

moto 5.2.5 reports the tag resource type of NAT gateways as "nat-gateway" and of Elastic IPs as
"vpc-elastic-ip"; AWS says "natgateway" and "elastic-ip", and amazon.aws filters describe_tags
by those names. Without the fix every rerun against the emulator "changes" those tags, which
AWS would not. Its UpdateSecurityGroupRuleDescriptions{Ingress,Egress} answers lack the
`Return: true` AWS sends, which amazon.aws.ec2_security_group reads. Its DescribeNatGateways
ignores `tag:` filters, so a teardown filtered by environment would see every environment's NAT
gateways; AWS applies them. Nothing else is altered.
"""

from __future__ import annotations

import sys

from moto.core.responses import ActionResult
from moto.ec2 import utils as ec2_utils
from moto.ec2.models.nat_gateways import NatGatewayBackend
from moto.ec2.responses.security_groups import SecurityGroups
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

if __name__ == "__main__":
    sys.exit(main())
