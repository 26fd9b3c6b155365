# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight: the people of the environment (research_team) and the name their VPN profiles connect
to (vpn_public_hostname).

A username becomes a VPN account and certificate name, a profile's file name
(artifacts/<env>/vpn/<username>.ovpn) and a FileGator account, so it is checked once here for all of
them. Offboarding is `state: absent` on the member, not removing the entry: a member who is simply
left out is not known to be someone to revoke.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from ansible_collections.research_env.core.plugins.module_utils.values import is_bool
from ansible_collections.research_env.core.plugins.plugin_utils.team import USERNAME_RE

MEMBER_KEYS = ("username", "vpn", "filegator", "state")
MEMBER_STATES = ("present", "absent")
# Accounts the servers have of their own: a member of that name would be that account.
RESERVED_USERNAMES = {
    "openvpn": "the OpenVPN Access Server's administrator account",
    "admin": "FileGator's administrator account",
    "guest": "FileGator's guest account (kept, disabled)",
}
HOSTNAME_LABEL_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _member_errors(member: Any, where: str) -> list[str]:
    if not isinstance(member, dict):
        return [f"{where}: {member!r} is not a member. Write each as a mapping, e.g. {{username: alice, vpn: true}}."]
    errors = [
        f"{where}.{key}: unknown setting (a member has {', '.join(MEMBER_KEYS)}). Correct the name."
        for key in sorted(str(k) for k in member if k not in MEMBER_KEYS)
    ]
    name = member.get("username")
    if not isinstance(name, str) or not USERNAME_RE.fullmatch(name):
        errors.append(
            f"{where}.username: {name!r} is not a valid username. Use 2-32 characters: a lowercase letter, then "
            "lowercase letters, digits, '.', '_' or '-' (e.g. 'alice' or 'j.smith')."
        )
    elif name in RESERVED_USERNAMES:
        errors.append(f"{where}.username: {name} is {RESERVED_USERNAMES[name]}. Give the member another username.")
    for key in ("vpn", "filegator"):
        if key in member and not is_bool(member[key]):
            errors.append(f"{where}.{key}: {member[key]!r} is not true or false. Set it to a boolean.")
    state = member.get("state", "present")
    if state not in MEMBER_STATES:
        errors.append(
            f"{where}.state: {state!r} is not present or absent. Use absent to revoke a member's access "
            "(keep the entry until every run has revoked it)."
        )
    return errors


def check_team(config: dict[str, Any]) -> list[str]:
    team = config.get("research_team")
    if team is None:  # `research_team:` with nothing after it: nobody
        return []
    if not isinstance(team, list):
        return [
            f"research_team: {team!r} is not a list of members. Write it as one, "
            "e.g. [{username: alice, vpn: true}, {username: bob, state: absent}]."
        ]
    errors: list[str] = []
    first_seen: dict[str, int] = {}
    for index, member in enumerate(team):
        where = f"research_team[{index}]"
        errors += _member_errors(member, where)
        name = member.get("username") if isinstance(member, dict) else None
        if not isinstance(name, str) or not USERNAME_RE.fullmatch(name):
            continue
        if name in first_seen:
            errors.append(
                f"{where}.username: {name} is listed twice (also research_team[{first_seen[name]}]). List each "
                "person once; to revoke one, set state: absent on that entry."
            )
        else:
            first_seen[name] = index
    return errors


def check_vpn_hostname(config: dict[str, Any]) -> list[str]:
    """The name VPN profiles connect to (their `remote`): "" for the vpn host's Elastic IP, else a DNS
    name or an IPv4 address, alone (no scheme, port or path: a profile would carry them verbatim)."""
    value = config.get("vpn_public_hostname", "")
    if value is None or value == "":
        return []
    fix = 'Write a DNS name (vpn.example.org) or an IPv4 address alone, or "" for the vpn host\'s Elastic IP.'
    if not isinstance(value, str):
        return [f"vpn_public_hostname: {value!r} is not a host name. {fix}"]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        address = None
    if address is not None:
        return [] if address.version == 4 else [f"vpn_public_hostname: {value} is IPv6; the VPC has none. {fix}"]
    name = value[:-1] if value.endswith(".") else value
    labels = name.split(".")
    if (
        len(name) > 253
        or not all(HOSTNAME_LABEL_RE.fullmatch(label) for label in labels)
        or all(label.isdigit() for label in labels)
    ):
        return [f"vpn_public_hostname: {value!r} is not a host name or IPv4 address. {fix}"]
    return []


class FilterModule:
    """research-env preflight: the research team and the VPN host name."""

    def filters(self) -> dict[str, Any]:
        return {
            "team_errors": check_team,
            "vpn_hostname_errors": check_vpn_hostname,
        }
