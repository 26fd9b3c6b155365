# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""research_team, the one list of people, as each service sees it. A member has a service (the VPN,
FileGator) while present and while its flag is on (vpn defaults to on, filegator to off); any other
member is absent from that service, so whatever they had there (a profile, an account, a password in
SSM) is taken away. Used by the vpn and filegator filters; preflight_team checks the list itself."""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.research_env.core.plugins.module_utils.values import as_bool

# DESIGN.md: [a-z][a-z0-9._-]{1,31}; a certificate's common name, a profile's and an account's name.
# Applied with fullmatch only.
USERNAME_RE = re.compile(r"[a-z][a-z0-9._-]{1,31}")
# Each service's flag in a research_team entry, and its default.
SERVICE_DEFAULTS = {"vpn": True, "filegator": False}


def member_of(member: dict[str, Any], service: str) -> dict[str, str]:
    """{username, state} of a research_team entry for one service."""
    present = (
        member.get("state", "present") == "present" and as_bool(member.get(service, SERVICE_DEFAULTS[service])) is True
    )
    return {"username": member["username"], "state": "present" if present else "absent"}


def present_usernames(team: list[dict[str, Any]] | None, service: str) -> list[str]:
    """The usernames that have the service now."""
    return [m["username"] for m in (member_of(x, service) for x in team or []) if m["state"] == "present"]


def with_passwords(
    team: list[dict[str, Any]] | None, service: str, passwords: dict[str, str] | None
) -> list[dict[str, str]]:
    """Every member for the service, the present ones with the password kept for them ("" when not known
    yet, which the roles refuse)."""
    entries = []
    for member in team or []:
        entry = member_of(member, service)
        if entry["state"] == "present":
            entry["password"] = (passwords or {}).get(entry["username"], "")
        entries.append(entry)
    return entries


def _shown(entry: Any) -> Any:
    """An entry as a message may show it: never its password."""
    return {k: v for k, v in entry.items() if k != "password"} if isinstance(entry, dict) else entry


def member_list_errors(entries: Any, variable: str) -> list[str]:
    """What is wrong with a role's list of members ({username, state, ...}), each message naming the
    variable and the fix: not a list, a username that breaks the rule, a state that is neither present
    nor absent, a member listed twice. Passwords are never quoted back."""
    if not isinstance(entries, list):
        return [f"{variable}: {_shown(entries)!r} is not a list. List the members as {{username, state}}."]
    errors: list[str] = []
    seen: set[str] = set()
    for entry in entries:
        name = entry.get("username") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not USERNAME_RE.fullmatch(name):
            errors.append(
                f"{variable}: {_shown(entry)!r} needs a username of 2-32 characters: a lowercase letter, then "
                "lowercase letters, digits, '.', '_' or '-'."
            )
            continue
        if entry.get("state", "present") not in ("present", "absent"):
            errors.append(f"{variable}: {name}: state {entry.get('state')!r} is not present or absent.")
        if name in seen:
            errors.append(f"{variable}: {name} is listed more than once. List each member once.")
        seen.add(name)
    return errors
