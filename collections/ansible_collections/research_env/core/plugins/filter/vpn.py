# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the VPN roles: the OpenVPN server's settings checked, and networks written the way
OpenVPN's configuration wants them (address and netmask)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from ansible_collections.research_env.core.plugins.plugin_utils.team import (
    USERNAME_RE,
    member_of,
    present_usernames,
    with_passwords,
)


def _network(value: Any) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(str(value), strict=True) if isinstance(value, str) else None
    except ValueError:
        return None


def openvpn_errors(network: Any, routes: Any, clients: Any) -> list[str]:
    """What is wrong with the openvpn role's network, routes and members, each message naming the
    variable and the fix; empty when all is well."""
    errors: list[str] = []
    tunnel = _network(network)
    if tunnel is None or tunnel.prefixlen > 29:
        errors.append(
            f"openvpn_network: {network!r} is not an IPv4 network of /29 or larger (host bits clear). "
            "Use e.g. 10.8.0.0/24."
        )
    if not isinstance(routes, list):
        errors.append(f"openvpn_routes: {routes!r} is not a list. List the networks to route, e.g. [10.0.3.0/24].")
        routes = []
    for route in routes:
        net = _network(route)
        if net is None:
            errors.append(f"openvpn_routes: {route!r} is not an IPv4 network (host bits clear). Use e.g. 10.0.3.0/24.")
        elif tunnel is not None and net.overlaps(tunnel):
            errors.append(
                f"openvpn_network: {network} overlaps the routed network {route}; clients could not tell them "
                "apart. Pick a range outside every routed network (e.g. 10.8.0.0/24)."
            )
    if not isinstance(clients, list):
        return [*errors, f"openvpn_clients: {clients!r} is not a list. List the members as {{username, state}}."]
    seen: set[str] = set()
    for client in clients:
        name = client.get("username") if isinstance(client, dict) else None
        if not isinstance(name, str) or not USERNAME_RE.fullmatch(name):
            errors.append(
                f"openvpn_clients: {client!r} needs a username of 2-32 characters: a lowercase letter, then "
                "lowercase letters, digits, '.', '_' or '-'."
            )
            continue
        if client.get("state", "present") not in ("present", "absent"):
            errors.append(f"openvpn_clients: {name}: state {client.get('state')!r} is not present or absent.")
        if name in seen:
            errors.append(f"openvpn_clients: {name} is listed more than once. List each member once.")
        seen.add(name)
    return errors


def _without_passwords(users: Any) -> Any:
    """The users as a message may show them."""
    if not isinstance(users, list):
        return users
    return [{k: v for k, v in u.items() if k != "password"} if isinstance(u, dict) else u for u in users]


def openvpn_as_errors(hostname: Any, routes: Any, users: Any) -> list[str]:
    """What is wrong with the openvpn_as role's host name, routes and users (each present user needs a
    password: the Access Server's user-locked profiles ask for it)."""
    errors = [
        e.replace("openvpn_routes", "openvpn_as_routes").replace("openvpn_clients", "openvpn_as_users")
        for e in openvpn_errors("10.255.255.0/24", routes, _without_passwords(users))
        if not e.startswith("openvpn_network")
    ]
    if not isinstance(hostname, str) or not hostname:
        errors.append("openvpn_as_hostname: empty. Name the vpn host (its Elastic IP or DNS name).")
    for user in users if isinstance(users, list) else []:
        if isinstance(user, dict) and user.get("state", "present") == "present" and not user.get("password"):
            errors.append(f"openvpn_as_users: {user.get('username')} has no password. Give each present member one.")
    return errors


def openvpn_net(cidr: str) -> str:
    """'10.8.0.0/24' -> '10.8.0.0 255.255.255.0', as `server` and `route` take it."""
    net = ipaddress.IPv4Network(cidr, strict=True)
    return f"{net.network_address} {net.netmask}"


def static_key(hex_digits: str) -> str:
    """An OpenVPN static key file (tls-crypt) from 512 random hex digits: the 2048-bit key as
    OpenVPN's `--genkey secret` writes it, 16 lines of 32 digits between its markers."""
    digits = hex_digits.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{512}", digits):
        raise ValueError("static_key needs exactly 512 hex digits")
    lines = [digits[i : i + 32] for i in range(0, 512, 32)]
    return "\n".join(["-----BEGIN OpenVPN Static key V1-----", *lines, "-----END OpenVPN Static key V1-----", ""])


def vpn_member(member: dict[str, Any]) -> dict[str, str]:
    """A research_team entry as the openvpn role's client: present only while the member is present
    and has vpn (default true); otherwise absent, so a profile once issued is revoked."""
    return member_of(member, "vpn")


def openvpn_as_user(member: dict[str, Any]) -> dict[str, Any]:
    """An openvpn_as_users entry as research_env.core.openvpn_as_config takes a user: a VPN user
    (type user_connect) with its password, or absent."""
    user: dict[str, Any] = {"name": member["username"], "state": member.get("state", "present")}
    if user["state"] == "present":
        user["props"] = {"type": "user_connect"}
        if member.get("password"):
            user["password"] = member["password"]
    return user


def vpn_members_present(team: list[dict[str, Any]]) -> list[str]:
    """The usernames of research_team that have the VPN now."""
    return present_usernames(team, "vpn")


def openvpn_as_team(team: list[dict[str, Any]], passwords: dict[str, str]) -> list[dict[str, Any]]:
    """research_team as the openvpn_as role's users: a member with the VPN gets the password kept for them
    (playbooks/tasks/ssm_secrets.yml; "" when it is not known yet, which the role refuses), any other is
    absent (revoked and deleted if they were a user)."""
    return with_passwords(team, "vpn", passwords)


class FilterModule:
    """research-env filters: VPN."""

    def filters(self) -> dict[str, Any]:
        return {
            "openvpn_errors": openvpn_errors,
            "openvpn_as_errors": openvpn_as_errors,
            "openvpn_net": openvpn_net,
            "static_key": static_key,
            "vpn_member": vpn_member,
            "openvpn_as_user": openvpn_as_user,
            "openvpn_as_team": openvpn_as_team,
            "vpn_members_present": vpn_members_present,
        }
