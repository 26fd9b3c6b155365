# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the summary: what people need of each host."""

from __future__ import annotations

from typing import Any


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


class FilterModule:
    """research-env filters: summary."""

    def filters(self) -> dict[str, Any]:
        return {
            "hosts_summary": hosts_summary,
        }
