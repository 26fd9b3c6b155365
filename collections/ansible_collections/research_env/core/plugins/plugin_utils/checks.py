# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared by the preflight filters: how a setting is named in a message, whether a region name is
one, and how a CIDR block is read.

Every pattern is applied with `fullmatch`: `re.match(r"^...$")` accepts a trailing newline
("lab\n"), which AWS (or the name it ends up in) would not."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

REGION_RE = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]")
# How AWS writes an IPv4 block: dotted quad and a prefix length (no netmask, no leading zeros).
IPV4_CIDR_RE = re.compile(r"[0-9]{1,3}(\.[0-9]{1,3}){3}/(0|[1-9][0-9]?)")

TIERS = ("dmz", "production", "research")


def label(value: Any) -> str:
    """A mapping key for a message: as written when it is a plain word, quoted otherwise."""
    return value if isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_-]+", value) else repr(value)


def region_ok(region: Any) -> bool:
    return isinstance(region, str) and REGION_RE.fullmatch(region) is not None


def parse_cidr(
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
