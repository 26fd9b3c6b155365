# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight: the VPC's block, the three subnets (inside it, apart, the right ones public) and the zone."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from ansible_collections.research_env.core.plugins.module_utils.values import is_bool
from ansible_collections.research_env.core.plugins.plugin_utils.checks import (
    REGION_RE,
    TIERS,
    Network,
    label,
    parse_cidr,
    region_ok,
)

# IPv4 ranges a VPC cannot use. AWS's VPC user guide ("IPv4 CIDR block association restrictions")
# says link-local cannot be assigned to VPCs, and asks not to use 172.17.0.0/16; the others are
# not unicast addresses a host can have (RFC 6890), so nothing in such a VPC could work.
VPC_UNUSABLE_RANGES = (
    (ipaddress.IPv4Network("0.0.0.0/8"), '"this network" (RFC 6890), not addresses a host can have'),
    (ipaddress.IPv4Network("127.0.0.0/8"), "loopback, which every host keeps for itself"),
    (
        ipaddress.IPv4Network("169.254.0.0/16"),
        "link-local, which AWS does not assign to VPCs (the instance metadata service and Amazon DNS use it)",
    ),
    (
        ipaddress.IPv4Network("172.17.0.0/16"),
        "which AWS asks you not to use for a VPC: AWS services and Docker's default bridge use it, so hosts "
        "and VPN clients running Docker could not reach the environment",
    ),
    (ipaddress.IPv4Network("224.0.0.0/4"), "multicast, not addresses a host can have"),
    (ipaddress.IPv4Network("240.0.0.0/4"), "reserved (with the broadcast address 255.255.255.255), not for hosts"),
)


def _unusable_range(net: ipaddress.IPv4Network) -> tuple[ipaddress.IPv4Network, str] | None:
    for block, reason in VPC_UNUSABLE_RANGES:
        if net.overlaps(block):
            return block, reason
    return None


def _size_ok(net: Network) -> bool:
    return 16 <= net.prefixlen <= 28


def check_network(config: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    vpc = parse_cidr(config.get("vpc_cidr"), "vpc_cidr", errors, example="10.0.0.0/16", one_address="16")
    if vpc is not None and vpc.version != 4:
        errors.append(f"vpc_cidr: {vpc} is IPv6. The VPC's primary block must be IPv4, e.g. 10.0.0.0/16.")
        vpc = None
    refused_vpc: Network | None = None
    if vpc is not None:
        unusable = _unusable_range(vpc)
        if unusable is not None:
            block, reason = unusable
            size = "" if _size_ok(vpc) else " of /16 to /28"
            errors.append(
                f"vpc_cidr: {vpc} is in {block}, {reason}. Use a private (RFC 1918) block{size}, "
                f"e.g. 10.0.0.0/{min(max(vpc.prefixlen, 16), 28)}."
            )
            # The subnets are judged on their own, not against a VPC that cannot be; those inside it
            # move with it, so its message speaks for them.
            refused_vpc, vpc = vpc, None
        elif not _size_ok(vpc):
            errors.append(f"vpc_cidr: /{vpc.prefixlen} is outside what AWS allows. Use a size from /16 to /28.")

    subnets = config.get("subnets")
    if not isinstance(subnets, dict):
        errors.append("subnets: must be a mapping with dmz, production and research entries (see group_vars/all).")
        return errors
    for tier in sorted(set(subnets) - set(TIERS), key=str):
        errors.append(f"subnets.{label(tier)}: unknown tier. The tiers are {', '.join(TIERS)}; remove or rename it.")
    parsed: dict[str, ipaddress.IPv4Network] = {}
    for tier in TIERS:
        entry = subnets.get(tier)
        if not isinstance(entry, dict):
            errors.append(f"subnets.{tier}: missing. Give it a cidr and public: true/false.")
            continue
        for key in sorted(set(entry) - {"cidr", "public"}, key=str):
            errors.append(f"subnets.{tier}.{label(key)}: unknown setting. The settings of a subnet are cidr, public.")
        net = parse_cidr(entry.get("cidr"), f"subnets.{tier}.cidr", errors, one_address="24")
        if not is_bool(entry.get("public")):
            errors.append(f"subnets.{tier}.public: {entry.get('public')!r} is not true or false. Set it to a boolean.")
        if net is None:
            continue
        if net.version != 4:
            errors.append(f"subnets.{tier}.cidr: {net} is IPv6. Subnets here are IPv4, e.g. 10.0.1.0/24.")
            continue
        inside_refused = refused_vpc is not None and net.subnet_of(refused_vpc)
        if vpc is None and not inside_refused and (unusable := _unusable_range(net)) is not None:
            errors.append(
                f"subnets.{tier}.cidr: {net} is in {unusable[0]}, {unusable[1]}. Use a block inside a private "
                "(RFC 1918) vpc_cidr, e.g. 10.0.1.0/24."
            )
            continue
        if not _size_ok(net):
            errors.append(f"subnets.{tier}.cidr: /{net.prefixlen} is outside what AWS allows. Use /16 to /28.")
        if vpc is not None and not net.subnet_of(vpc):
            errors.append(f"subnets.{tier}.cidr: {net} is not inside vpc_cidr {vpc}. Pick a block inside the VPC.")
        parsed[tier] = net
    tiers = list(parsed)
    for i, first in enumerate(tiers):
        for second in tiers[i + 1 :]:
            if parsed[first].overlaps(parsed[second]):
                errors.append(
                    f"subnets.{second}.cidr: {parsed[second]} overlaps subnets.{first}.cidr {parsed[first]}. "
                    "Give each tier its own block."
                )
    research = subnets.get("research")
    if isinstance(research, dict) and research.get("public") is True:
        errors.append(
            "subnets.research.public: the research subnet holds private data and must not be public. "
            "Set it to false; researchers reach it through the VPN."
        )
    dmz = subnets.get("dmz")
    if isinstance(dmz, dict) and dmz.get("public") is False:
        errors.append("subnets.dmz.public: the dmz holds the only way in (VPN/bastion) and must be public. Set true.")
    errors += _availability_zone_errors(config.get("availability_zone"), config.get("aws_region"))
    errors += _vpn_client_cidr_errors(config.get("client_vpn_cidr"), config.get("vpn_provider"), vpc)
    return errors


# The addresses VPN clients get: AWS Client VPN takes a /12 to /22 (its "client CIDR range"); the
# openvpn role's server takes any block of /29 or larger. Both must stay outside the VPC, or a client
# could not tell its tunnel addresses from the hosts it reaches.
VPN_CLIENT_PREFIXES = {"client_vpn": (12, 22), "openvpn": (12, 29)}


def _vpn_client_cidr_errors(value: Any, provider: Any, vpc: Network | None) -> list[str]:
    if not isinstance(provider, str) or provider not in VPN_CLIENT_PREFIXES:
        return []
    low, high = VPN_CLIENT_PREFIXES[provider]
    try:
        net = ipaddress.IPv4Network(value, strict=True) if isinstance(value, str) else None
    except ValueError:
        net = None
    if net is None:
        return [
            f"client_vpn_cidr: {value!r} is not an IPv4 network with its host bits clear. Use e.g. 10.100.0.0/22 "
            "(the addresses VPN clients get)."
        ]
    if not low <= net.prefixlen <= high:
        return [f"client_vpn_cidr: /{net.prefixlen} does not suit vpn_provider {provider}. Use /{low} to /{high}."]
    if vpc is not None and net.overlaps(vpc):
        return [
            f"client_vpn_cidr: {net} overlaps vpc_cidr {vpc}; clients could not tell their tunnel addresses from "
            "the environment's hosts. Pick a block outside the VPC (e.g. 10.100.0.0/22)."
        ]
    return []


def _availability_zone_errors(az: Any, region: Any) -> list[str]:
    """A zone is its region's name and one letter; a bad region is reported by itself, once."""
    if az in ("", None):
        return []
    if region_ok(region):
        if isinstance(az, str) and re.fullmatch(re.escape(region) + "[a-z]", az):
            return []
        return [f"availability_zone: {az!r} is not a zone of aws_region {region!r}. Use e.g. {region}a, or ''."]
    if isinstance(az, str) and re.fullmatch(REGION_RE.pattern + "[a-z]", az):
        return []
    return [f"availability_zone: {az!r} is not a zone name (a region and a letter, e.g. us-east-1a). Fix it, or ''."]


class FilterModule:
    """research-env preflight: the network."""

    def filters(self) -> dict[str, Any]:
        return {
            "network_errors": check_network,
        }
