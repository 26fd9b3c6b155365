# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight: the hosts (instances), each in the right tier, with a sane type, address and volume."""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.research_env.core.plugins.module_utils.values import as_int, is_bool
from ansible_collections.research_env.core.plugins.plugin_utils.checks import (
    TIERS,
    label,
)

# Applied with fullmatch only (see plugin_utils/checks.py).
INSTANCE_TYPE_RE = re.compile(r"[a-z][a-z0-9-]*\.[a-z0-9]+")
AMI_RE = re.compile(r"ami-([0-9a-f]{8}|[0-9a-f]{17})")
HOST_ROLES = ("vpn", "voila", "jupyter", "filegator")
INSTANCE_KEYS = ("type", "subnet", "eip", "volume_gb", "ami_id")
# Hosts that hold research data: never in a public subnet.
PRIVATE_ROLES = ("jupyter", "filegator")


def check_instances(config: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    instances = config.get("instances")
    if not isinstance(instances, dict) or not instances:
        return ["instances: must map host roles (vpn, voila, jupyter, filegator) to their settings."]
    subnets = config.get("subnets") if isinstance(config.get("subnets"), dict) else {}
    for role, spec in instances.items():
        where = f"instances.{label(role)}"
        if role not in HOST_ROLES:
            errors.append(f"{where}: unknown host role. The roles are {', '.join(HOST_ROLES)}.")
            continue
        if not isinstance(spec, dict):
            errors.append(f"{where}: must be a mapping with type, subnet, eip and volume_gb.")
            continue
        # A misspelt key (ami: for ami_id:, volume_size: for volume_gb:) would be ignored, and the host
        # launched with the default it meant to replace.
        for key in sorted(set(spec) - set(INSTANCE_KEYS), key=str):
            errors.append(f"{where}.{label(key)}: unknown setting. A host's settings are {', '.join(INSTANCE_KEYS)}.")
        itype = spec.get("type")
        if not isinstance(itype, str) or not INSTANCE_TYPE_RE.fullmatch(itype):
            errors.append(f"{where}.type: {itype!r} is not an EC2 instance type. Use e.g. t3.small.")
        tier = spec.get("subnet")
        known_tier = isinstance(tier, str) and tier in TIERS
        if not known_tier:
            errors.append(f"{where}.subnet: {tier!r} is not a tier. Use one of {', '.join(TIERS)}.")
        tier_spec = subnets.get(tier) if known_tier else None
        # Whether the tier is public is known only when subnets says so with a boolean (else it is
        # reported there, once).
        public_known = isinstance(tier_spec, dict) and is_bool(tier_spec.get("public"))
        public = public_known and tier_spec.get("public") is True
        if role in PRIVATE_ROLES and known_tier and (public or tier != "research"):
            errors.append(f"{where}.subnet: {role} holds research data and must sit in the research subnet.")
        # compute.yml selects hosts by `selectattr('value.eip')`: the string "false" would get an address.
        if not is_bool(spec.get("eip", False)):
            errors.append(f"{where}.eip: {spec.get('eip')!r} is not true or false. Set it to a boolean.")
        elif spec.get("eip") is True and public_known and not public:
            errors.append(f"{where}.eip: an Elastic IP on a host in a private subnet would expose it. Set eip: false.")
        size = as_int(spec.get("volume_gb"))
        if size is None or not 8 <= size <= 16384:
            errors.append(
                f"{where}.volume_gb: {spec.get('volume_gb')!r} is not a root volume size from 8 to 16384 GiB."
            )
        ami = spec.get("ami_id")
        if ami not in (None, "") and not (isinstance(ami, str) and AMI_RE.fullmatch(ami)):
            errors.append(f"{where}.ami_id: {ami!r} is not an AMI id (ami-0123456789abcdef0). Fix it or remove it.")
    provider = config.get("vpn_provider")
    if provider in ("openvpn_as", "openvpn"):
        if "vpn" not in instances:
            errors.append(f"instances.vpn: vpn_provider {provider} needs a vpn host. Add it, or set vpn_provider.")
        elif isinstance(instances["vpn"], dict) and instances["vpn"].get("subnet") in ("production", "research"):
            errors.append("instances.vpn.subnet: the VPN server belongs in the dmz. Set subnet: dmz.")
    return errors


class FilterModule:
    """research-env preflight: the hosts."""

    def filters(self) -> dict[str, Any]:
        return {
            "instances_errors": check_instances,
        }
