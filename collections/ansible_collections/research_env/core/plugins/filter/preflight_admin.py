# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight: admin_cidrs, who may SSH to the vpn host, within the dmz security group's rule quota."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from ansible_collections.research_env.core.plugins.module_utils.values import as_int, is_bool
from ansible_collections.research_env.core.plugins.plugin_utils.checks import parse_cidr

# SSH from more addresses than one /8 is as good as from the whole internet.
WORLD_ADDRESSES = 2**24
ADMIN_EXAMPLE = "198.51.100.7/32"
CHECKIP = "curl https://checkip.amazonaws.com"
IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
# AWS's default "Inbound or outbound rules per security group" quota, counted separately for IPv4
# and IPv6 rules; the quota times security groups per interface cannot exceed 1000.
DEFAULT_SG_RULES_QUOTA = 60
MAX_SG_RULES_QUOTA = 1000
# With vpn_provider openvpn_as the dmz group also holds these IPv4 rules from 0.0.0.0/0 (the VPN itself),
# and the admin UI from each admin block, beside SSH.
OPENVPN_AS_PUBLIC_RULES = ("443/tcp", "1194/udp")
OPENVPN_AS_ADMIN_RULES = ("943/tcp",)
# With vpn_provider openvpn (community OpenVPN) only the VPN's own port is public.
OPENVPN_PUBLIC_RULES = ("1194/udp",)


def _ipv6_admin_error(name: str, text: str, net: ipaddress.IPv6Network) -> str:
    """The VPC never gets an IPv6 block, so no IPv6 source can reach the vpn host; an IPv4 address
    written in IPv6 form is matched as IPv6 by a security group, so it cannot either."""
    embedded = None
    if net.prefixlen >= 96 and net.subnet_of(IPV4_MAPPED):
        embedded = "an IPv4-mapped IPv6 form"
    elif net.prefixlen >= 96 and net.subnet_of(IPV4_COMPATIBLE) and "." in text:
        embedded = "an IPv4-compatible (deprecated) IPv6 form"
    if embedded is not None:
        ipv4 = ipaddress.IPv4Network((int(net.network_address) & 0xFFFFFFFF, net.prefixlen - 96))
        return (
            f"{name}: {text!r} is {embedded} of {ipv4}. A security group matches it as IPv6 and the VPC has no "
            f"IPv6, so it would let no one in. Write the IPv4 block itself: {ipv4}."
        )
    return (
        f"{name}: {text!r} is IPv6, but the VPC is IPv4-only (no IPv6 block is associated), so no IPv6 address "
        f"can ever reach the vpn host. List your IPv4 address instead ({CHECKIP}), e.g. {ADMIN_EXAMPLE}."
    )


def _contained(blocks: dict[int, ipaddress.IPv4Network]) -> Iterator[tuple[int, int]]:
    """(inner, outer) index pairs of blocks that lie inside another listed block.

    CIDR blocks are nested or disjoint, so after sorting by start (widest first) a block is inside
    another exactly when it ends before the furthest-reaching block seen so far: n log n, not n².
    """
    order = sorted(blocks, key=lambda i: (int(blocks[i].network_address), -blocks[i].num_addresses))
    cover: int | None = None
    for index in order:
        if cover is not None and blocks[index].broadcast_address <= blocks[cover].broadcast_address:
            yield index, cover
        else:
            cover = index


def check_admin_access(config: dict[str, Any]) -> list[str]:
    """Who may SSH to the vpn host: each entry one IPv4 block the dmz security group can hold."""
    errors: list[str] = []
    allow_world = config.get("allow_world_ssh")
    if not is_bool(allow_world):
        errors.append(f"allow_world_ssh: {allow_world!r} is not true or false. Set it to a boolean.")
    quota = as_int(config.get("security_group_rules_quota", DEFAULT_SG_RULES_QUOTA))
    if quota is None or not 1 <= quota <= MAX_SG_RULES_QUOTA:
        errors.append(
            f"security_group_rules_quota: {config.get('security_group_rules_quota')!r} is not a whole number from 1 "
            f"to {MAX_SG_RULES_QUOTA}. Set it to your account's 'Inbound or outbound rules per security group' quota "
            f"({DEFAULT_SG_RULES_QUOTA} unless raised)."
        )
        quota = None
    cidrs = config.get("admin_cidrs")
    if isinstance(cidrs, str):
        errors.append(
            f"admin_cidrs: {cidrs!r} is a string, not a list. Write a list, e.g. [{ADMIN_EXAMPLE}] "
            f'(on the command line: -e \'{{"admin_cidrs": ["{ADMIN_EXAMPLE}"]}}\').'
        )
        return errors
    if not isinstance(cidrs, list) or not cidrs:
        errors.append(
            "admin_cidrs: must list at least one address block allowed to SSH to the vpn host, "
            f"e.g. [{ADMIN_EXAMPLE}] (your public address: {CHECKIP})."
        )
        return errors

    blocks: dict[int, ipaddress.IPv4Network] = {}
    first_index: dict[ipaddress.IPv4Network, int] = {}
    for index, cidr in enumerate(cidrs):
        name = f"admin_cidrs[{index}]"
        net = parse_cidr(cidr, name, errors, example=ADMIN_EXAMPLE)
        if net is None:
            continue
        if isinstance(net, ipaddress.IPv6Network):
            errors.append(_ipv6_admin_error(name, cidr, net))
        elif net in first_index:
            errors.append(
                f"{name}: {net} is listed twice (also admin_cidrs[{first_index[net]}]). AWS refuses a duplicate "
                "security group rule (InvalidPermission.Duplicate); remove one."
            )
        else:
            first_index[net] = index
            blocks[index] = net

    enforce = allow_world is not True
    too_wide = {i for i, net in blocks.items() if net.num_addresses > WORLD_ADDRESSES} if enforce else set()
    for index in sorted(too_wide):
        errors.append(
            f"admin_cidrs[{index}]: {blocks[index]} opens SSH to (nearly) the whole internet. List your own "
            "addresses, or set allow_world_ssh: true if you really mean it."
        )
    for inner, outer in sorted(_contained(blocks)):
        if outer not in too_wide:
            errors.append(
                f"admin_cidrs[{inner}]: {blocks[inner]} is inside admin_cidrs[{outer}] {blocks[outer]}, so its rule "
                f"would let no one new in. Remove it (or narrow admin_cidrs[{outer}] if it is wider than you meant)."
            )
    world = bool(too_wide)
    if enforce and not too_wide:
        covered = sum(net.num_addresses for net in ipaddress.collapse_addresses(blocks.values()))
        world = covered > WORLD_ADDRESSES
        if world:
            errors.append(
                f"admin_cidrs: together the blocks cover {covered:,} addresses, more than a /8 ({WORLD_ADDRESSES:,}): "
                "SSH open to (nearly) the whole internet in pieces. List your own addresses, or set "
                "allow_world_ssh: true if you really mean it."
            )
    if quota is not None and not world:  # listing one's own addresses instead fixes both
        openvpn_as = config.get("vpn_provider") == "openvpn_as"
        provider = config.get("vpn_provider")
        public = (
            {"openvpn_as": len(OPENVPN_AS_PUBLIC_RULES), "openvpn": len(OPENVPN_PUBLIC_RULES)}.get(provider, 0)
            if isinstance(provider, str)
            else 0
        )
        per_block = 1 + (len(OPENVPN_AS_ADMIN_RULES) if openvpn_as else 0)
        if len(blocks) * per_block + public > quota:
            held = (
                f", and with vpn_provider openvpn_as each block takes {per_block} (22/tcp SSH and "
                f"{', '.join(OPENVPN_AS_ADMIN_RULES)}, the admin UI) beside {', '.join(OPENVPN_AS_PUBLIC_RULES)} from "
                "anywhere"
                if openvpn_as
                else f", beside {', '.join(OPENVPN_PUBLIC_RULES)} from anywhere (vpn_provider openvpn)"
                if public
                else ""
            )
            errors.append(
                f"admin_cidrs: {len(blocks)} IPv4 blocks, but the dmz security group holds at most {quota} inbound "
                f"IPv4 rules (security_group_rules_quota){held}: at most {max((quota - public) // per_block, 0)} "
                "fit. Merge neighbouring blocks into wider ones, or raise 'Inbound or outbound rules per security "
                "group' in Service Quotas and set security_group_rules_quota."
            )
    return errors


class FilterModule:
    """research-env preflight: admin access."""

    def filters(self) -> dict[str, Any]:
        return {
            "admin_access_errors": check_admin_access,
        }
