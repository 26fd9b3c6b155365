# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for research-env's preflight: every check of an environment's configuration.

The checks are plain functions so they can be unit-tested without Ansible; each returns a list
of messages of the form "<variable>: <what is wrong>. <what to do>", empty when all is well,
so that preflight can report every problem of a configuration in one run. One bad value gives
one message: a check that depends on a value another check refused stays silent.

Every pattern is applied with `fullmatch`: `re.match(r"^...$")` accepts a trailing newline
("lab\n"), which AWS (or the name it ends up in) would not.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
import struct
import unicodedata
from collections.abc import Iterator
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Applied with fullmatch only (see the module docstring). [0-9], not \d: \d also matches other
# scripts' digits, which no AWS name takes.
ENV_NAME_RE = re.compile(r"[a-z][a-z0-9-]{1,19}")
REGION_RE = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]")
INSTANCE_TYPE_RE = re.compile(r"[a-z][a-z0-9-]*\.[a-z0-9]+")
AMI_RE = re.compile(r"ami-([0-9a-f]{8}|[0-9a-f]{17})")
AMI_OWNER_RE = re.compile(r"[0-9]{12}|amazon|self|aws-marketplace")
BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# How AWS writes an IPv4 block: dotted quad and a prefix length (no netmask, no leading zeros).
IPV4_CIDR_RE = re.compile(r"[0-9]{1,3}(\.[0-9]{1,3}){3}/(0|[1-9][0-9]?)")
DIGITS_RE = re.compile(r"[0-9]+")
URL_RE = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%/-]*)?/")

TIERS = ("dmz", "production", "research")
HOST_ROLES = ("vpn", "voila", "jupyter", "filegator")
INSTANCE_KEYS = ("type", "subnet", "eip", "volume_gb", "ami_id")
# Hosts that hold research data: never in a public subnet.
PRIVATE_ROLES = ("jupyter", "filegator")
NAT_MODES = ("during_deploy", "always", "none")
VPN_PROVIDERS = ("openvpn_as", "client_vpn", "none")
SSH_KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
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
# With vpn_provider openvpn_as the dmz group also holds these IPv4 rules from 0.0.0.0/0.
OPENVPN_AS_PUBLIC_RULES = ("443/tcp", "943/tcp", "1194/udp")

# Tags research-env sets itself on some resource; IAM role tag keys are case-insensitive, so a
# user key equal to one of these but for case would replace it there.
RESERVED_TAGS = ("Project", "Environment", "ManagedBy", "Name", "Role", "Tier")
MAX_TAGS_PER_RESOURCE = 50
MAX_EXTRA_TAGS = MAX_TAGS_PER_RESOURCE - len(RESERVED_TAGS)
# What EC2, S3, IAM and KMS all take in tag keys and values: letters, numbers, spaces and these.
TAG_SYMBOLS = "_.:/=+-@"
TAG_CHARACTERS_HINT = "Use letters, digits, spaces and _ . : / = + - @"

# Settings read with `| bool` by the playbooks. Nested booleans (subnets.*.public, instances.*.eip)
# are read as they are, where the string "false" would count as true: those stay real booleans.
BOOL_SETTINGS = ("allow_world_ssh", "destroy_data", "efs_enabled")
# The words Ansible 2.19's bool filter reads (any case, nothing around them).
BOOL_WORDS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _as_bool(value: Any) -> Any:
    """`-e destroy_data=true` arrives as a string: read it the way the playbooks' `| bool` will."""
    if isinstance(value, str) and value.lower() in BOOL_WORDS:
        return BOOL_WORDS[value.lower()]
    return value


def _as_int(value: Any) -> int | None:
    """An integer setting as an int, or None when it is not one.

    `-e jupyter_port=9999` arrives as the string "9999": plain decimal digits mean that number, as
    they do to the consumers (`| int`, modules' int options). Signs, spaces, "1e3", "0x10",
    "8888.0", floats and booleans are not numbers here.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and DIGITS_RE.fullmatch(value):
        try:
            return int(value)
        except ValueError:  # more digits than Python converts: not a sane setting either
            return None
    return None


def _key(value: Any) -> str:
    """A mapping key for a message: as written when it is a plain word, quoted otherwise."""
    return value if isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_-]+", value) else repr(value)


def _parse_cidr(
    value: Any, name: str, errors: list[str], example: str = "10.0.1.0/24", one_address: str = "32"
) -> Network | None:
    """A CIDR block written the way AWS takes it (address/prefix, no host bits, nothing around it),
    or None with one error added. IPv6 blocks are returned: each caller says why they cannot serve."""
    problem = _cidr_text_problem(value, example, one_address)
    if problem is None:
        try:
            return ipaddress.IPv6Network(value, strict=False) if ":" in value else ipaddress.IPv4Network(value)
        except ValueError:
            try:
                problem = f"has host bits set. Use the network address: {ipaddress.IPv4Network(value, strict=False)}."
            except ValueError:
                problem = f"is not a valid CIDR block. Write it as address/prefix, e.g. {example}."
    errors.append(f"{name}: {value!r} {problem}")
    return None


def _cidr_text_problem(value: Any, example: str, one_address: str) -> str | None:
    """What is wrong with how a block is written, before its numbers are read."""
    if not isinstance(value, str):
        return f"is not a string. Write the block in quotes, e.g. '{example}'."
    if not value:
        return f"is empty. Write a block, e.g. {example}."
    if any(ch.isspace() for ch in value):
        alone = value.strip()
        hint = f"Write it alone: {alone}." if alone and not any(ch.isspace() for ch in alone) else f"E.g. {example}."
        return f"has spaces or a line break in it. {hint}"
    if ":" in value:
        return None
    if "/" not in value:
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            return f"is not a CIDR block. Write it as address/prefix, e.g. {example}."
        return f"has no prefix length. Write it as address/prefix, e.g. {value}/{one_address}."
    if not IPV4_CIDR_RE.fullmatch(value):
        return f"is not a valid CIDR block. Write it as address/prefix, e.g. {example}."
    return None


def _unusable_range(net: ipaddress.IPv4Network) -> tuple[ipaddress.IPv4Network, str] | None:
    for block, reason in VPC_UNUSABLE_RANGES:
        if net.overlaps(block):
            return block, reason
    return None


def _size_ok(net: Network) -> bool:
    return 16 <= net.prefixlen <= 28


def check_env_name(value: Any) -> list[str]:
    if not isinstance(value, str) or not ENV_NAME_RE.fullmatch(value) or value.endswith("-") or "--" in value:
        return [
            f"env_name: {value!r} is not a valid environment name. Use 2-20 characters: a lowercase letter, "
            "then lowercase letters, digits or single hyphens, not ending in a hyphen (e.g. 'genomics-lab')."
        ]
    return []


def _region_ok(region: Any) -> bool:
    return isinstance(region, str) and REGION_RE.fullmatch(region) is not None


def check_network(config: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    vpc = _parse_cidr(config.get("vpc_cidr"), "vpc_cidr", errors, example="10.0.0.0/16", one_address="16")
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
        errors.append(f"subnets.{_key(tier)}: unknown tier. The tiers are {', '.join(TIERS)}; remove or rename it.")
    parsed: dict[str, ipaddress.IPv4Network] = {}
    for tier in TIERS:
        entry = subnets.get(tier)
        if not isinstance(entry, dict):
            errors.append(f"subnets.{tier}: missing. Give it a cidr and public: true/false.")
            continue
        for key in sorted(set(entry) - {"cidr", "public"}, key=str):
            errors.append(f"subnets.{tier}.{_key(key)}: unknown setting. The settings of a subnet are cidr, public.")
        net = _parse_cidr(entry.get("cidr"), f"subnets.{tier}.cidr", errors, one_address="24")
        if not _is_bool(entry.get("public")):
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
    return errors


def _availability_zone_errors(az: Any, region: Any) -> list[str]:
    """A zone is its region's name and one letter; a bad region is reported by itself, once."""
    if az in ("", None):
        return []
    if _region_ok(region):
        if isinstance(az, str) and re.fullmatch(re.escape(region) + "[a-z]", az):
            return []
        return [f"availability_zone: {az!r} is not a zone of aws_region {region!r}. Use e.g. {region}a, or ''."]
    if isinstance(az, str) and re.fullmatch(REGION_RE.pattern + "[a-z]", az):
        return []
    return [f"availability_zone: {az!r} is not a zone name (a region and a letter, e.g. us-east-1a). Fix it, or ''."]


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
    if not _is_bool(allow_world):
        errors.append(f"allow_world_ssh: {allow_world!r} is not true or false. Set it to a boolean.")
    quota = _as_int(config.get("security_group_rules_quota", DEFAULT_SG_RULES_QUOTA))
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
        net = _parse_cidr(cidr, name, errors, example=ADMIN_EXAMPLE)
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
        public = len(OPENVPN_AS_PUBLIC_RULES) if config.get("vpn_provider") == "openvpn_as" else 0
        if len(blocks) > quota - public:
            held = (
                f", and vpn_provider openvpn_as holds {public} of them ({', '.join(OPENVPN_AS_PUBLIC_RULES)} from "
                "anywhere)"
                if public
                else ""
            )
            errors.append(
                f"admin_cidrs: {len(blocks)} IPv4 blocks, but the dmz security group holds at most {quota} inbound "
                f"IPv4 rules (security_group_rules_quota){held}: at most {max(quota - public, 0)} fit. Merge "
                "neighbouring blocks into wider ones, or raise 'Inbound or outbound rules per security group' in "
                "Service Quotas and set security_group_rules_quota."
            )
    return errors


def check_choices(config: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    for name, choices in (("nat_mode", NAT_MODES), ("vpn_provider", VPN_PROVIDERS)):
        if config.get(name) not in choices:
            errors.append(f"{name}: {config.get(name)!r} is not one of {', '.join(choices)}. Pick one of them.")
    for name in ("destroy_data",):
        if name in config and not _is_bool(config[name]):
            errors.append(f"{name}: {config[name]!r} is not true or false. Set it to a boolean.")
    region = config.get("aws_region")
    if not _region_ok(region):
        errors.append(f"aws_region: {region!r} is not an AWS region name. Use e.g. us-east-1 or eu-west-1.")
    project = config.get("project_name")
    if project == "":
        errors.append("project_name: empty. It is the Project tag on every resource; name the project.")
    else:
        errors += _tag_value_errors(project, "project_name")
    return errors


def check_ports(config: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    ports: dict[str, int] = {}
    for name in ("jupyter_port", "filegator_port"):
        if name not in config:
            continue
        port = _as_int(config[name])
        if port is None or not 1024 <= port <= 65535:
            errors.append(
                f"{name}: {config[name]!r} is not a port number from 1024 to 65535. Pick an unprivileged port."
            )
        else:
            ports[name] = port
    if len(ports) == 2 and ports["jupyter_port"] == ports["filegator_port"]:
        errors.append("filegator_port: equals jupyter_port. Give the two services different ports.")
    return errors


def _tag_text_problem(text: str) -> str | None:
    r"""The first character EC2, S3, IAM or KMS would refuse in a tag, or None.

    IAM's pattern is [\p{L}\p{Z}\p{N}_.:/=+\-@]; Python's re has no \p{...}, so the Unicode
    categories are read directly. Of the separators only spaces (Zs) pass: EC2 and S3 name
    "spaces", and a line separator in a tag is no one's intent."""
    for ch in text:
        category = unicodedata.category(ch)
        if category[0] not in "LN" and category != "Zs" and ch not in TAG_SYMBOLS:
            return f"{ch!r} (U+{ord(ch):04X})"
    return None


def _tag_value_errors(value: Any, name: str) -> list[str]:
    """A tag value: 0-256 characters AWS takes, not starting with aws: (IAM refuses that)."""
    if not isinstance(value, str):
        return [f"{name}: {value!r} is not a string. Tag values are text: quote it."]
    if len(value) > 256:
        return [f"{name}: {len(value)} characters, but AWS takes at most 256 in a tag value. Shorten it."]
    bad = _tag_text_problem(value)
    if bad is not None:
        return [f"{name}: {value!r} contains {bad}, which AWS refuses in a tag value. {TAG_CHARACTERS_HINT}."]
    if value.lower().startswith("aws:"):
        return [f"{name}: {value!r} starts with 'aws:', which AWS keeps for its own tags. Choose another value."]
    return []


def _tag_key_problem(key: Any) -> str | None:
    if not isinstance(key, str):
        return "is not a string"
    if not 1 <= len(key) <= 128:
        return f"has {len(key)} characters; AWS takes 1 to 128 in a tag key"
    bad = _tag_text_problem(key)
    if bad is not None:
        return f"contains {bad}, which AWS refuses in a tag key. {TAG_CHARACTERS_HINT}"
    if key.lower().startswith("aws:"):
        return "starts with 'aws:', which AWS keeps for its own tags"
    return None


def check_tags(config: dict[str, Any]) -> list[str]:
    """extra_tags go on every resource beside research-env's own tags (see RESERVED_TAGS)."""
    tags = config.get("extra_tags")
    if tags in (None, {}):
        return []
    if not isinstance(tags, dict):
        return [f"extra_tags: {tags!r} is not a mapping. Write it as {{CostCenter: '1234'}}."]
    errors = []
    if len(tags) > MAX_EXTRA_TAGS:
        errors.append(
            f"extra_tags: {len(tags)} tags, but AWS takes at most {MAX_TAGS_PER_RESOURCE} on a resource and "
            f"research-env adds up to {len(RESERVED_TAGS)} of its own ({', '.join(RESERVED_TAGS)}). "
            f"Keep at most {MAX_EXTRA_TAGS}."
        )
    reserved = {key.lower(): key for key in RESERVED_TAGS}
    seen: dict[str, str] = {}
    for key, value in tags.items():
        problem = _tag_key_problem(key)
        if problem is not None:
            errors.append(f"extra_tags: {key!r} {problem}. Rename the key.")
            continue
        label = f"extra_tags.{_key(key)}"
        if key in RESERVED_TAGS:
            errors.append(f"{label}: set by research-env itself. Remove it from extra_tags.")
        elif key.lower() in reserved:
            errors.append(
                f"{label}: the same key as research-env's own {reserved[key.lower()]} but for case; IAM treats tag "
                "keys case-insensitively, so it would replace that tag. Remove it from extra_tags."
            )
        elif key.lower() in seen:
            errors.append(
                f"{label}: the same key as extra_tags.{_key(seen[key.lower()])} but for case; IAM treats tag keys "
                "case-insensitively, so one would replace the other. Keep one."
            )
        else:
            seen[key.lower()] = key
            errors += _tag_value_errors(value, label)
    return errors


def check_instances(config: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    instances = config.get("instances")
    if not isinstance(instances, dict) or not instances:
        return ["instances: must map host roles (vpn, voila, jupyter, filegator) to their settings."]
    subnets = config.get("subnets") if isinstance(config.get("subnets"), dict) else {}
    for role, spec in instances.items():
        where = f"instances.{_key(role)}"
        if role not in HOST_ROLES:
            errors.append(f"{where}: unknown host role. The roles are {', '.join(HOST_ROLES)}.")
            continue
        if not isinstance(spec, dict):
            errors.append(f"{where}: must be a mapping with type, subnet, eip and volume_gb.")
            continue
        # A misspelt key (ami: for ami_id:, volume_size: for volume_gb:) would be ignored, and the host
        # launched with the default it meant to replace.
        for key in sorted(set(spec) - set(INSTANCE_KEYS), key=str):
            errors.append(f"{where}.{_key(key)}: unknown setting. A host's settings are {', '.join(INSTANCE_KEYS)}.")
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
        public_known = isinstance(tier_spec, dict) and _is_bool(tier_spec.get("public"))
        public = public_known and tier_spec.get("public") is True
        if role in PRIVATE_ROLES and known_tier and (public or tier != "research"):
            errors.append(f"{where}.subnet: {role} holds research data and must sit in the research subnet.")
        # compute.yml selects hosts by `selectattr('value.eip')`: the string "false" would get an address.
        if not _is_bool(spec.get("eip", False)):
            errors.append(f"{where}.eip: {spec.get('eip')!r} is not true or false. Set it to a boolean.")
        elif spec.get("eip") is True and public_known and not public:
            errors.append(f"{where}.eip: an Elastic IP on a host in a private subnet would expose it. Set eip: false.")
        size = _as_int(spec.get("volume_gb"))
        if size is None or not 8 <= size <= 16384:
            errors.append(
                f"{where}.volume_gb: {spec.get('volume_gb')!r} is not a root volume size from 8 to 16384 GiB."
            )
        ami = spec.get("ami_id")
        if ami not in (None, "") and not (isinstance(ami, str) and AMI_RE.fullmatch(ami)):
            errors.append(f"{where}.ami_id: {ami!r} is not an AMI id (ami-0123456789abcdef0). Fix it or remove it.")
    if config.get("vpn_provider") == "openvpn_as":
        if "vpn" not in instances:
            errors.append("instances.vpn: vpn_provider openvpn_as needs a vpn host. Add it, or set vpn_provider.")
        elif isinstance(instances["vpn"], dict) and instances["vpn"].get("subnet") in ("production", "research"):
            errors.append("instances.vpn.subnet: the VPN server belongs in the dmz. Set subnet: dmz.")
    return errors


def check_storage_and_images(config: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    if "efs_enabled" in config and not _is_bool(config["efs_enabled"]):
        errors.append(f"efs_enabled: {config['efs_enabled']!r} is not true or false. Set it to a boolean.")
    raw_window = config.get("kms_deletion_window_days", 30)
    window = _as_int(raw_window)
    if window is None or not 7 <= window <= 30:
        errors.append(
            f"kms_deletion_window_days: {raw_window!r} is not a whole number of days from 7 to 30, the range AWS "
            "allows. Set it within that range."
        )
    owner = config.get("ami_owner", "099720109477")
    if not isinstance(owner, str) or not AMI_OWNER_RE.fullmatch(owner):
        errors.append(f"ami_owner: {owner!r} is not an account id (12 digits, quoted) or amazon/self. Quote it.")
    name_filter = config.get("ami_name_filter", "x")
    if not isinstance(name_filter, str) or not name_filter.strip():
        errors.append("ami_name_filter: empty. Give an image name pattern, e.g. ubuntu/images/*noble-24.04*.")
    elif name_filter != name_filter.strip() or not name_filter.isprintable():
        # No AMI name has a line break or spaces at its ends: such a filter matches no image, and
        # compute would fail after the network exists.
        errors.append(
            f"ami_name_filter: {name_filter!r} has a line break, a control character or spaces at its ends, so no "
            "image would match. Write the pattern alone."
        )
    return errors


def _price_errors(name: str, prices: Any) -> list[str]:
    if not isinstance(prices, dict) or not prices:
        return [f"{name}: {prices!r} is not a mapping of prices, e.g. {{t3.small: 0.0208}}. Write it as one."]
    bad = sorted(
        str(k)
        for k, v in prices.items()
        if not isinstance(k, str) or isinstance(v, bool) or not isinstance(v, int | float) or v < 0
    )
    if bad:
        return [f"{name}: the prices of {', '.join(bad)} are not numbers of USD (0 or more). Write them as numbers."]
    return []


def check_run_settings(config: dict[str, Any]) -> list[str]:
    """Settings read after the infra exists (configure, summary, teardown): refused here, not there."""
    errors: list[str] = []
    timeout = _as_int(config.get("configure_connect_timeout", 600))
    if timeout is None or not 1 <= timeout <= 7200:
        errors.append(
            f"configure_connect_timeout: {config.get('configure_connect_timeout')!r} is not a number of seconds from 1 "
            "to 7200. Set one (600 waits ten minutes for a new instance's SSH)."
        )
    url = config.get("voila_public_url", "")
    if not isinstance(url, str) or (url and not URL_RE.fullmatch(url)):
        errors.append(
            f"voila_public_url: {url!r} is not an http:// or https:// URL ending in /. Set e.g. "
            "https://dashboards.example.org/, or '' for the voila host's public address."
        )
    scan = _as_int(config.get("teardown_key_scan_limit", 100000))
    if scan is None or scan < 0:
        errors.append(
            f"teardown_key_scan_limit: {config.get('teardown_key_scan_limit')!r} is not a whole number of object "
            "versions (0 or more). Set one, e.g. 100000."
        )
    errors += _price_errors("cost_hourly_usd", config.get("cost_hourly_usd", {"t3.small": 0.0208}))
    errors += _price_errors("cost_gb_month_usd", config.get("cost_gb_month_usd", {"gp3": 0.08}))
    return errors


def bool_errors(value: Any, name: str) -> list[str]:
    """A setting read with `| bool`: a boolean, or one of the words that filter reads exactly (so that
    what is checked and what is done cannot differ, as with ' true')."""
    if _is_bool(_as_bool(value)):
        return []
    return [f"{name}: {value!r} is not true or false. Set it to true or false."]


def check_inventory(config: dict[str, Any]) -> list[str]:
    """The EC2 inventory is read before any variable exists, so it takes the region from the shell
    (AWS_REGION): it must match aws_region, or the configure step would find no hosts. It reads
    every environment of that region and the plays pick env_name's hosts (playbooks/select.yml),
    so the environment needs nothing from the shell."""
    errors = []
    seen_region = config.get("inventory_region")
    region_ok = _region_ok(config.get("aws_region"))  # a bad region is reported once, by itself
    if seen_region is not None and region_ok and seen_region != config.get("aws_region"):
        errors.append(
            f"aws_region: is {config.get('aws_region')!r} but the EC2 inventory reads {seen_region!r} "
            f"(AWS_REGION / AWS_DEFAULT_REGION). Run: export AWS_REGION={config.get('aws_region')}"
        )
    return errors


def ssh_public_key_errors(path: Any) -> list[str]:
    """The key file must exist and hold one OpenSSH public key whose blob matches its type."""
    name = "ssh_public_key_file"
    if not isinstance(path, str) or not path:
        return [f"{name}: not set. Point it at your SSH public key, e.g. ~/.ssh/id_ed25519.pub."]
    full = os.path.expanduser(path)
    if not os.path.isfile(full):
        return [f"{name}: {path} does not exist. Create a key with 'ssh-keygen -t ed25519' or point to yours."]
    try:
        with open(full, encoding="ascii") as handle:
            text = handle.read().strip()
    except (OSError, UnicodeDecodeError):
        return [f"{name}: {path} cannot be read as a text public key. Point it at the .pub file."]
    if "PRIVATE KEY" in text:
        return [f"{name}: {path} is a PRIVATE key. Point it at the matching .pub file instead."]
    parts = text.split()
    if len(text.splitlines()) != 1 or len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
        return [f"{name}: {path} is not one OpenSSH public key line ('ssh-ed25519 AAAA... comment')."]
    try:
        blob = base64.b64decode(parts[1], validate=True)
        (length,) = struct.unpack(">I", blob[:4])
        embedded = blob[4 : 4 + length].decode("ascii")
    except (binascii.Error, struct.error, UnicodeDecodeError):
        return [f"{name}: {path} has a damaged key body. Copy the .pub file again or regenerate the key."]
    if embedded != parts[0]:
        return [f"{name}: {path} says {parts[0]} but holds a {embedded} key. Regenerate or recopy the .pub file."]
    if parts[0] == "ssh-rsa" and len(blob) < 256 + 20:
        return [f"{name}: {path} is an RSA key shorter than 2048 bits. Use ed25519 or RSA of 3072 bits."]
    return []


def bucket_name_errors(value: Any, name: str = "notebooks_bucket") -> list[str]:
    """S3 naming rules, plus no dots: the bucket is TLS-only and dotted names break its certificate.
    Every problem of the name goes in one message."""
    if not isinstance(value, str) or not BUCKET_RE.fullmatch(value):
        return [
            f"{name}: {value!r} is not a legal bucket name. Use 3-63 characters: lowercase letters, digits and "
            "hyphens, starting and ending with a letter or digit."
        ]
    problems = []
    if "." in value:
        problems.append("contains dots, which break HTTPS to a TLS-only bucket; use hyphens")
    for prefix in ("xn--", "sthree-", "amzn-s3-demo-"):
        if value.startswith(prefix):
            problems.append(f"starts with the reserved prefix '{prefix}'")
    for suffix in ("-s3alias", "--ol-s3", "--x-s3", "--table-s3", ".mrap"):
        if value.endswith(suffix):
            problems.append(f"ends with the reserved suffix '{suffix}'")
    try:
        ipaddress.ip_address(value)
        problems.append("looks like an IP address")
    except ValueError:
        pass
    return [f"{name}: {value!r} {'; '.join(problems)}. Choose another name."] if problems else []


def config_errors(config: dict[str, Any]) -> list[str]:
    """Every problem of an environment's configuration that can be found without AWS."""
    config = {k: (_as_bool(v) if k in BOOL_SETTINGS else v) for k, v in config.items()}
    errors: list[str] = []
    errors += check_env_name(config.get("env_name"))
    errors += check_choices(config)
    errors += check_network(config)
    errors += check_admin_access(config)
    errors += check_ports(config)
    errors += check_tags(config)
    errors += check_instances(config)
    errors += check_storage_and_images(config)
    errors += check_run_settings(config)
    errors += check_inventory(config)
    errors += ssh_public_key_errors(config.get("ssh_public_key_file"))
    return errors


class FilterModule:
    """research-env preflight filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "research_env_config_errors": config_errors,
            "research_env_env_name_errors": check_env_name,
            "research_env_bucket_name_errors": bucket_name_errors,
            "research_env_bool_errors": bool_errors,
        }
