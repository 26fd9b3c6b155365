# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the VPN roles: the OpenVPN server's settings checked, and networks written the way
OpenVPN's configuration wants them (address and netmask)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from ansible_collections.research_env.core.plugins.plugin_utils.team import (
    member_list_errors,
    member_of,
    present_usernames,
    with_passwords,
)


def _network(value: Any) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(str(value), strict=True) if isinstance(value, str) else None
    except ValueError:
        return None


def _route_errors(routes: Any, variable: str) -> tuple[list[str], list[ipaddress.IPv4Network]]:
    """The routes' errors under the variable's name, and the routes that are networks."""
    if not isinstance(routes, list):
        return [f"{variable}: {routes!r} is not a list. List the networks to route, e.g. [10.0.3.0/24]."], []
    errors, nets = [], []
    for route in routes:
        net = _network(route)
        if net is None:
            errors.append(f"{variable}: {route!r} is not an IPv4 network (host bits clear). Use e.g. 10.0.3.0/24.")
        else:
            nets.append(net)
    return errors, nets


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
    route_errors, nets = _route_errors(routes, "openvpn_routes")
    errors += route_errors
    for net in nets:
        if tunnel is not None and net.overlaps(tunnel):
            errors.append(
                f"openvpn_network: {network} overlaps the routed network {net}; clients could not tell them "
                "apart. Pick a range outside every routed network (e.g. 10.8.0.0/24)."
            )
    return errors + member_list_errors(clients, "openvpn_clients")


def openvpn_as_errors(hostname: Any, routes: Any, users: Any) -> list[str]:
    """What is wrong with the openvpn_as role's host name, routes and users (each present user needs a
    password: the Access Server's user-locked profiles ask for it)."""
    errors = _route_errors(routes, "openvpn_as_routes")[0] + member_list_errors(users, "openvpn_as_users")
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
