# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for research-env: small helpers of the infra plays (rules that exist under a condition,
image lookup by architecture, addresses) and the summary's host and cost figures.

Preflight's checks are in research_env_preflight.py, teardown's plan in research_env_teardown.py.
"""

from __future__ import annotations

import ipaddress
from typing import Any


def enabled(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep the entries whose `enabled` is not false, without that key: lets a vars file list every
    rule once, each with the condition under which it exists."""
    return [{k: v for k, v in item.items() if k != "enabled"} for item in items if item.get("enabled", True)]


def image_architecture(supported: list[str] | None) -> str | None:
    """The architecture of the image to launch on a type, from the architectures AWS says it supports
    (ec2_instance_type_offerings_info's `architectures`; None when the type is not offered).

    x86_64 wins over i386: the older families that list both (t2, m3, c1, ...) are 64-bit machines that
    also boot 32-bit images, and a 64-bit image is the one wanted (Ubuntu 24.04, the default image, has
    no i386 build at all). DescribeInstanceTypes lists i386 first, so its first entry is the wrong pick.
    Every other type runs one architecture (arm64, or a mac one)."""
    if not supported:
        return None
    return "x86_64" if "x86_64" in supported else supported[0]


def latest_image(images: list[dict[str, Any]], architecture: str) -> dict[str, Any] | None:
    """The newest available image of an architecture, from ec2_ami_info's answer."""
    fitting = [
        i for i in images if i.get("architecture") == architecture and i.get("state", "available") == "available"
    ]
    return max(fitting, key=lambda i: i.get("creation_date", ""), default=None)


def instance_type_errors(instances: dict[str, Any], offered: list[str], zone: str) -> list[str]:
    """Preflight: every host's instance type must be offered in the environment's zone (a typo, a
    retired type and a type the zone lacks all fail here, before anything exists)."""
    return [
        f"instances.{role}.type: {spec.get('type')!r} is not an instance type offered in {zone} (a typo, or a type "
        "this zone lacks). Pick one that is: aws ec2 describe-instance-type-offerings --location-type "
        f"availability-zone --filters Name=location,Values={zone}."
        for role, spec in sorted(instances.items())
        if isinstance(spec, dict) and spec.get("type") not in set(offered)
    ]


def image_errors(
    instances: dict[str, Any],
    architectures: dict[str, list[str]],
    given: list[dict[str, Any]],
    matching: list[dict[str, Any]],
    region: str,
    owner: str,
    name_filter: str,
) -> list[str]:
    """Preflight: each host's image exists and fits its type. `architectures` is
    ec2_instance_type_offerings_info's answer (type -> the architectures AWS says it supports), `given`
    ec2_ami_info's answer for the ami_id overrides (by image-id filter, so a missing id is simply absent),
    `matching` its answer for the name filter compute.yml uses. A type with no architecture is not offered
    in the zone: instance_type_errors names it, and whether an image fits it is not known, so not judged."""
    errors = []
    available = {i.get("image_id"): i for i in given if i.get("state", "available") == "available"}
    for role, spec in sorted(instances.items()):
        if not isinstance(spec, dict):
            continue
        supported = architectures.get(spec.get("type") or "") or []
        arch = image_architecture(supported)
        ami = spec.get("ami_id") or ""
        if ami:
            image = available.get(ami)
            if image is None:
                errors.append(
                    f"instances.{role}.ami_id: {ami} is not an available image in {region} that this account can "
                    "launch. Check the id and the region, or remove ami_id to use the newest image matching "
                    "ami_name_filter."
                )
            elif supported and image.get("architecture") not in supported:
                errors.append(
                    f"instances.{role}.ami_id: {ami} is an {image.get('architecture')} image, but {spec.get('type')} "
                    f"runs {' or '.join(supported)}. Pick an image of that architecture."
                )
        elif arch is not None and latest_image(matching, arch) is None:
            errors.append(
                f"ami_name_filter: no available image of owner {owner} matches {name_filter!r} for {arch} (needed by "
                f"instances.{role}, type {spec.get('type')}). Fix ami_name_filter or ami_owner, or set "
                f"instances.{role}.ami_id."
            )
    return errors


def nth_host(cidr: str, n: int) -> str:
    """The n-th address of a block (1 = the first usable: AWS's VPC router, Docker's gateway)."""
    return str(ipaddress.ip_network(cidr, strict=False)[n])


def hosts_summary(instances: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Role -> what people need of that host (name, id, type, state, addresses), from
    ec2_instance_info's answer; terminated instances and untagged ones are left out."""
    hosts: dict[str, dict[str, Any]] = {}
    for inst in sorted(instances, key=lambda i: i.get("launch_time", "")):
        tags = inst.get("tags") or {}
        state = (inst.get("state") or {}).get("name")
        if "Role" not in tags or state in ("terminated", "shutting-down"):
            continue
        hosts[tags["Role"]] = {
            "name": tags.get("Name", inst.get("instance_id")),
            "instance_id": inst.get("instance_id"),
            "instance_type": inst.get("instance_type"),
            "state": state,
            "private_ip": inst.get("private_ip_address"),
            "public_ip": inst.get("public_ip_address") or None,
        }
    return hosts


def cost_estimate(
    hosts: dict[str, dict[str, Any]],
    nat_gateways: int,
    hourly: dict[str, float],
    volume_gb: int = 0,
    gb_month: float = 0.0,
) -> dict[str, Any]:
    """What the environment costs while it runs, from list prices: instances (running ones), NAT
    gateways, public IPv4 addresses (AWS bills each one), and EBS volumes a month. Types without
    a price are named in `unpriced` rather than counted as free."""
    items: dict[str, int] = {}
    per_hour = 0.0
    unpriced: list[str] = []
    public_ips = nat_gateways
    for host in hosts.values():
        if host.get("state") not in ("running", "pending"):
            continue
        kind = host.get("instance_type") or "unknown"
        items[kind] = items.get(kind, 0) + 1
        if kind in hourly:
            per_hour += float(hourly[kind])
        elif kind not in unpriced:
            unpriced.append(kind)
        public_ips += 1 if host.get("public_ip") else 0
    if nat_gateways:
        items["nat_gateway"] = nat_gateways
        per_hour += nat_gateways * float(hourly.get("nat_gateway", 0))
    if public_ips:
        items["public_ipv4"] = public_ips
        per_hour += public_ips * float(hourly.get("public_ipv4", 0))
    monthly = per_hour * 730 + volume_gb * gb_month
    return {
        "hourly_usd": round(per_hour, 4),
        "monthly_usd": round(monthly, 2),
        "items": items,
        "unpriced": unpriced,
    }


class FilterModule:
    """research-env filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "research_env_enabled": enabled,
            "research_env_image_arch": image_architecture,
            "research_env_nth_host": nth_host,
            "research_env_latest_image": latest_image,
            "research_env_instance_type_errors": instance_type_errors,
            "research_env_image_errors": image_errors,
            "research_env_hosts_summary": hosts_summary,
            "research_env_cost_estimate": cost_estimate,
        }
