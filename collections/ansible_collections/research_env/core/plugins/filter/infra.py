# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for research-env's infra plays: rules that exist under a condition, addresses."""

from __future__ import annotations

import ipaddress
from typing import Any


def enabled(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep the entries whose `enabled` is not false, without that key: lets a vars file list every
    rule once, each with the condition under which it exists."""
    return [{k: v for k, v in item.items() if k != "enabled"} for item in items if item.get("enabled", True)]


def nth_host(cidr: str, n: int) -> str:
    """The n-th address of a block (1 = the first usable: AWS's VPC router, Docker's gateway)."""
    return str(ipaddress.ip_network(cidr, strict=False)[n])


class FilterModule:
    """research-env filters: infra."""

    def filters(self) -> dict[str, Any]:
        return {
            "enabled": enabled,
            "nth_host": nth_host,
        }
