"""Filters for research-env's preflight: every check of an environment's configuration.

The checks are plain functions so they can be unit-tested without Ansible; each returns a list
of messages of the form "<variable>: <what is wrong>. <what to do>", empty when all is well,
so that preflight can report every problem of a configuration in one run.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
import struct
from typing import Any

ENV_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,19}$")
REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
INSTANCE_TYPE_RE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
AMI_RE = re.compile(r"^ami-[0-9a-f]{8,17}$")
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
TAG_KEY_RE = re.compile(r"^[\w .:/=+\-@]{1,128}$")

TIERS = ("dmz", "production", "research")
HOST_ROLES = ("vpn", "voila", "jupyter", "filegator")
# Hosts that hold research data: never in a public subnet.
PRIVATE_ROLES = ("jupyter", "filegator")
NAT_MODES = ("during_deploy", "always", "none")
VPN_PROVIDERS = ("openvpn_as", "client_vpn", "none")
RESERVED_TAGS = ("Project", "Environment", "ManagedBy", "Name", "Role", "Tier")
SSH_KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
# A source shorter than this is as good as the whole internet for SSH exposure.
WORLD_PREFIX = {4: 8, 6: 16}


BOOL_WORDS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}
BOOL_SETTINGS = ("allow_world_ssh", "destroy_data", "efs_enabled")


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _as_bool(value: Any) -> Any:
    """`-e destroy_data=true` arrives as a string: read the words Ansible's bool filter reads."""
    if isinstance(value, str) and value.strip().lower() in BOOL_WORDS:
        return BOOL_WORDS[value.strip().lower()]
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_network(value: Any, name: str, errors: list[str]) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """A CIDR block written exactly (no host bits), or None with an error added."""
    if not isinstance(value, str) or "/" not in value:
        errors.append(f"{name}: {value!r} is not a CIDR block. Write it as address/prefix, e.g. 10.0.1.0/24.")
        return None
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError:
        pass
    try:
        loose = ipaddress.ip_network(value, strict=False)
    except ValueError:
        errors.append(f"{name}: {value!r} is not a valid CIDR block. Write it as address/prefix, e.g. 10.0.1.0/24.")
        return None
    errors.append(f"{name}: {value!r} has host bits set. Use the network address: {loose}.")
    return None


def check_env_name(value: Any) -> list[str]:
    if not isinstance(value, str) or not ENV_NAME_RE.match(value) or value.endswith("-") or "--" in value:
        return [
            f"env_name: {value!r} is not a valid environment name. Use 2-20 characters: a lowercase letter, "
            "then lowercase letters, digits or single hyphens, not ending in a hyphen (e.g. 'genomics-lab')."
        ]
    return []


def check_network(config: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    vpc = parse_network(config.get("vpc_cidr"), "vpc_cidr", errors)
    if vpc is not None:
        if vpc.version != 4:
            errors.append(f"vpc_cidr: {vpc} is IPv6. The VPC's primary block must be IPv4, e.g. 10.0.0.0/16.")
            vpc = None
        elif not 16 <= vpc.prefixlen <= 28:
            errors.append(f"vpc_cidr: /{vpc.prefixlen} is outside what AWS allows. Use a size from /16 to /28.")

    subnets = config.get("subnets")
    if not isinstance(subnets, dict):
        errors.append("subnets: must be a mapping with dmz, production and research entries (see group_vars/all).")
        return errors
    for tier in sorted(set(subnets) - set(TIERS)):
        errors.append(f"subnets.{tier}: unknown tier. The tiers are {', '.join(TIERS)}; remove or rename it.")
    parsed: dict[str, ipaddress.IPv4Network] = {}
    for tier in TIERS:
        entry = subnets.get(tier)
        if not isinstance(entry, dict):
            errors.append(f"subnets.{tier}: missing. Give it a cidr and public: true/false.")
            continue
        net = parse_network(entry.get("cidr"), f"subnets.{tier}.cidr", errors)
        if not _is_bool(entry.get("public")):
            errors.append(f"subnets.{tier}.public: {entry.get('public')!r} is not true or false. Set it to a boolean.")
        if net is None:
            continue
        if net.version != 4:
            errors.append(f"subnets.{tier}.cidr: {net} is IPv6. Subnets here are IPv4, e.g. 10.0.1.0/24.")
            continue
        if not 16 <= net.prefixlen <= 28:
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

    az = config.get("availability_zone")
    region = config.get("aws_region")
    if az not in ("", None) and not (isinstance(az, str) and isinstance(region, str) and az.startswith(region)):
        errors.append(f"availability_zone: {az!r} is not a zone of aws_region {region!r}. Use e.g. {region}a, or ''.")
    return errors


def split_cidrs(cidrs: list[str]) -> dict[str, list[str]]:
    """Separate IPv4 and IPv6 blocks: a security-group rule takes one family at a time."""
    out: dict[str, list[str]] = {"ipv4": [], "ipv6": []}
    for cidr in cidrs or []:
        net = ipaddress.ip_network(cidr, strict=False)
        out["ipv4" if net.version == 4 else "ipv6"].append(str(net))
    return out


def check_admin_access(config: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    allow_world = config.get("allow_world_ssh")
    if not _is_bool(allow_world):
        errors.append(f"allow_world_ssh: {allow_world!r} is not true or false. Set it to a boolean.")
    cidrs = config.get("admin_cidrs")
    if not isinstance(cidrs, list) or not cidrs:
        errors.append(
            "admin_cidrs: must list at least one address block allowed to SSH to the vpn host, "
            "e.g. [198.51.100.7/32] (your public address: curl https://checkip.amazonaws.com)."
        )
        return errors
    for index, cidr in enumerate(cidrs):
        net = parse_network(cidr, f"admin_cidrs[{index}]", errors)
        if net is not None and net.prefixlen < WORLD_PREFIX[net.version] and allow_world is not True:
            errors.append(
                f"admin_cidrs[{index}]: {net} opens SSH to (nearly) the whole internet. List your own "
                "addresses, or set allow_world_ssh: true if you really mean it."
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
    if not isinstance(region, str) or not REGION_RE.match(region):
        errors.append(f"aws_region: {region!r} is not an AWS region name. Use e.g. us-east-1 or eu-west-1.")
    project = config.get("project_name")
    if not isinstance(project, str) or not TAG_KEY_RE.match(project):
        errors.append(f"project_name: {project!r} cannot be a tag value. Use letters, digits, spaces and .:/=+-@_.")
    return errors


def check_ports(config: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    ports = {name: config.get(name) for name in ("jupyter_port", "filegator_port") if name in config}
    for name, port in ports.items():
        if not _is_int(port) or not 1024 <= port <= 65535:
            errors.append(f"{name}: {port!r} is not a port number from 1024 to 65535. Pick an unprivileged port.")
    values = [p for p in ports.values() if _is_int(p)]
    if len(values) != len(set(values)):
        errors.append("filegator_port: equals jupyter_port. Give the two services different ports.")
    return errors


def check_tags(config: dict[str, Any]) -> list[str]:
    tags = config.get("extra_tags")
    if tags in (None, {}):
        return []
    if not isinstance(tags, dict):
        return [f"extra_tags: {tags!r} is not a mapping. Write it as {{CostCenter: '1234'}}."]
    errors = []
    for key, value in tags.items():
        if key in RESERVED_TAGS:
            errors.append(f"extra_tags.{key}: set by research-env itself. Remove it from extra_tags.")
        elif not isinstance(key, str) or key.lower().startswith("aws:") or not TAG_KEY_RE.match(key):
            errors.append(f"extra_tags: {key!r} is not a valid tag key (1-128 characters, no 'aws:' prefix).")
        if not isinstance(value, str) or len(value) > 256:
            errors.append(f"extra_tags.{key}: the value must be a string of at most 256 characters. Quote it.")
    return errors


def check_instances(config: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    instances = config.get("instances")
    if not isinstance(instances, dict) or not instances:
        return ["instances: must map host roles (vpn, voila, jupyter, filegator) to their settings."]
    subnets = config.get("subnets") if isinstance(config.get("subnets"), dict) else {}
    for role, spec in instances.items():
        where = f"instances.{role}"
        if role not in HOST_ROLES:
            errors.append(f"{where}: unknown host role. The roles are {', '.join(HOST_ROLES)}.")
            continue
        if not isinstance(spec, dict):
            errors.append(f"{where}: must be a mapping with type, subnet, eip and volume_gb.")
            continue
        itype = spec.get("type")
        if not isinstance(itype, str) or not INSTANCE_TYPE_RE.match(itype):
            errors.append(f"{where}.type: {itype!r} is not an EC2 instance type. Use e.g. t3.small.")
        tier = spec.get("subnet")
        if tier not in TIERS:
            errors.append(f"{where}.subnet: {tier!r} is not a tier. Use one of {', '.join(TIERS)}.")
        public = isinstance(subnets.get(tier), dict) and subnets[tier].get("public") is True
        if role in PRIVATE_ROLES and tier in TIERS and (public or tier != "research"):
            errors.append(f"{where}.subnet: {role} holds research data and must sit in the research subnet.")
        if not _is_bool(spec.get("eip", False)):
            errors.append(f"{where}.eip: {spec.get('eip')!r} is not true or false. Set it to a boolean.")
        elif spec.get("eip") is True and tier in TIERS and not public:
            errors.append(f"{where}.eip: an Elastic IP on a host in a private subnet would expose it. Set eip: false.")
        size = spec.get("volume_gb")
        if not _is_int(size) or not 8 <= size <= 16384:
            errors.append(f"{where}.volume_gb: {size!r} is not a root volume size from 8 to 16384 GiB.")
        ami = spec.get("ami_id")
        if ami not in (None, "") and not (isinstance(ami, str) and AMI_RE.match(ami)):
            errors.append(f"{where}.ami_id: {ami!r} is not an AMI id (ami-0123456789abcdef0). Fix it or remove it.")
    if config.get("vpn_provider") == "openvpn_as":
        if "vpn" not in instances:
            errors.append("instances.vpn: vpn_provider openvpn_as needs a vpn host. Add it, or set vpn_provider.")
        elif isinstance(instances["vpn"], dict) and instances["vpn"].get("subnet") != "dmz":
            errors.append("instances.vpn.subnet: the VPN server belongs in the dmz. Set subnet: dmz.")
    return errors


def check_storage_and_images(config: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    if "efs_enabled" in config and not _is_bool(config["efs_enabled"]):
        errors.append(f"efs_enabled: {config['efs_enabled']!r} is not true or false. Set it to a boolean.")
    window = config.get("kms_deletion_window_days", 30)
    if not _is_int(window) or not 7 <= window <= 30:
        errors.append(f"kms_deletion_window_days: {window!r} is outside what AWS allows. Use 7 to 30 days.")
    owner = config.get("ami_owner", "099720109477")
    if not isinstance(owner, str) or not re.match(r"^(\d{12}|amazon|self|aws-marketplace)$", owner):
        errors.append(f"ami_owner: {owner!r} is not an account id (12 digits, quoted) or amazon/self. Quote it.")
    if not isinstance(config.get("ami_name_filter", "x"), str) or not config.get("ami_name_filter", "x"):
        errors.append("ami_name_filter: empty. Give an image name pattern, e.g. ubuntu/images/*noble-24.04*.")
    return errors


def check_inventory(config: dict[str, Any]) -> list[str]:
    """The EC2 inventory is read before any variable exists, so it takes the environment and the
    region from the shell (RESEARCH_ENV_NAME, AWS_REGION): they must match env_name/aws_region, or
    the configure step would find no hosts, or another environment's."""
    errors = []
    seen_env = config.get("inventory_env_name")
    name_ok = not check_env_name(config.get("env_name"))  # a bad name is reported once, by itself
    if seen_env is not None and name_ok and seen_env != config.get("env_name"):
        errors.append(
            f"env_name: is {config.get('env_name')!r} but the EC2 inventory looks for {seen_env!r} "
            f"(RESEARCH_ENV_NAME). Run: export RESEARCH_ENV_NAME={config.get('env_name')}"
        )
    seen_region = config.get("inventory_region")
    if seen_region is not None and seen_region != config.get("aws_region"):
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
    """S3 naming rules, plus no dots: the bucket is TLS-only and dotted names break its certificate."""
    if not isinstance(value, str) or not BUCKET_RE.match(value):
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
    return [f"{name}: {value!r} {problem}. Choose another name." for problem in problems]


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
            "research_env_split_cidrs": split_cidrs,
        }
