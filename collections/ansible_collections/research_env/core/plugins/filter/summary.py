# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the summary: what people need of each host, and what the environment costs while it runs."""

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


def cost_estimate(
    hosts: dict[str, dict[str, Any]],
    nat_gateways: int,
    hourly: dict[str, float],
    volume_gb: int = 0,
    gb_month: float = 0.0,
    client_vpn_associations: int = 0,
    client_vpn_connections: int = 0,
) -> dict[str, Any]:
    """What the environment costs while it runs, from list prices: instances (running ones), NAT
    gateways, public IPv4 addresses (AWS bills each one), Client VPN associations and connections
    (AWS bills each association-hour and each connection-hour; `client_vpn_connections` is how many
    members are connected at once, all of them by default), and EBS volumes a month. Types without
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
    for name, count in (
        ("client_vpn_association", client_vpn_associations),
        ("client_vpn_connection", client_vpn_connections),
    ):
        if count:
            items[name] = count
            if name in hourly:
                per_hour += count * float(hourly[name])
            else:
                unpriced.append(name)
    monthly = per_hour * 730 + volume_gb * gb_month
    return {
        "hourly_usd": round(per_hour, 4),
        "monthly_usd": round(monthly, 2),
        "items": items,
        "unpriced": unpriced,
    }


class FilterModule:
    """research-env filters: summary."""

    def filters(self) -> dict[str, Any]:
        return {
            "hosts_summary": hosts_summary,
            "cost_estimate": cost_estimate,
        }
