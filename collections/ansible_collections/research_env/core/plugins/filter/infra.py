# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for research-env's plays: rules that exist under a condition, addresses, per-name paths."""

from __future__ import annotations

import ipaddress
from typing import Any


def enabled(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep the entries whose `enabled` is not false, without that key: lets a vars file list every
    rule once, each with the condition under which it exists."""
    return [{k: v for k, v in item.items() if k != "enabled"} for item in items if item.get("enabled", True)]


def default_zone(zones: list[dict[str, Any]]) -> str:
    """The zone an environment goes to when availability_zone is empty, from aws_az_info's list: the
    first available zone of type availability-zone (not an opted-in Local or Wavelength Zone, whose
    names can sort first: us-west-2-lax-1a before us-west-2a); else the first available one; '' when
    none is."""
    available = [z for z in zones or [] if z.get("state") == "available"]
    for zone in available:
        if zone.get("zone_type") == "availability-zone":
            return zone.get("zone_name", "")
    return available[0].get("zone_name", "") if available else ""


def async_results(launched: list[dict[str, Any]], waited: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The results of a looped task that ran, each with its loop item as `item` (whatever the
    loop_var), whether it ran in the foreground or was started in the background (async with poll 0:
    its result is then what async_status answered at the end, tasks/async_wait.yml)."""
    by_job = {w.get("ansible_job_id"): w for w in waited or [] if w.get("ansible_job_id")}
    results = []
    for result in launched or []:
        item = result.get(result.get("ansible_loop_var") or "item")
        job = result.get("ansible_job_id")
        if job and job in by_job:
            results.append(dict(by_job[job], item=item))
        elif not result.get("skipped"):
            results.append(dict(result, item=item))
    return results


def nth_host(cidr: str, n: int) -> str:
    """The n-th address of a block (1 = the first usable: AWS's VPC router, Docker's gateway)."""
    return str(ipaddress.ip_network(cidr, strict=False)[n])


def keyed_paths(names: list[str] | None, prefix: str, suffix: str = "") -> dict[str, str]:
    """name -> prefix + name + suffix, for what is kept per member: their VPN profile
    (<dir>/<username>.ovpn), their password's SSM parameter (<secrets>/<service>/<username>)."""
    return {name: f"{prefix}{name}{suffix}" for name in names or []}


# The error codes AWS answers when the credentials may not make a call.
ACCESS_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException")


def aws_access_denied(result: dict[str, Any]) -> bool:
    """Whether a task of an amazon.aws-style module failed because the credentials may not make the call
    (fail_json_aws puts AWS's error, snake_cased, in `error`). Lets a play go on without a feature the admin
    does not use (a budget, a schedule) when the account's policy does not grant its service at all."""
    if not isinstance(result, dict) or not result.get("failed"):
        return False
    code = (result.get("error") or {}).get("code") if isinstance(result.get("error"), dict) else None
    return code in ACCESS_DENIED


class FilterModule:
    """research-env filters: infra."""

    def filters(self) -> dict[str, Any]:
        return {
            "enabled": enabled,
            "default_zone": default_zone,
            "async_results": async_results,
            "nth_host": nth_host,
            "keyed_paths": keyed_paths,
            "aws_access_denied": aws_access_denied,
        }
