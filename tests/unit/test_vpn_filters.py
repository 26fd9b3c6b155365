"""The openvpn role's checks and the forms OpenVPN's configuration wants (research_env.core vpn)."""

from __future__ import annotations

import re
import secrets

import pytest
from ansible_collections.research_env.core.plugins.filter import vpn

ROUTES = ["10.0.3.0/24"]


def test_good_settings_have_no_errors():
    clients = [{"username": "alice"}, {"username": "bob", "state": "absent"}, {"username": "c.d_e-f"}]
    assert vpn.openvpn_errors("10.8.0.0/24", ROUTES, clients) == []


@pytest.mark.parametrize(
    ("network", "routes", "clients", "starts"),
    [
        ("10.8.0.1/24", ROUTES, [], "openvpn_network: '10.8.0.1/24'"),
        ("10.8.0.0/30", ROUTES, [], "openvpn_network: '10.8.0.0/30'"),
        ("fd00::/64", ROUTES, [], "openvpn_network:"),
        (None, ROUTES, [], "openvpn_network: None"),
        ("10.0.0.0/16", ROUTES, [], "openvpn_network: 10.0.0.0/16 overlaps the routed network 10.0.3.0/24"),
        ("10.8.0.0/24", "10.0.3.0/24", [], "openvpn_routes: '10.0.3.0/24' is not a list"),
        ("10.8.0.0/24", ["10.0.3.1/24"], [], "openvpn_routes: '10.0.3.1/24'"),
        ("10.8.0.0/24", ROUTES, {"alice": {}}, "openvpn_clients: {'alice': {}} is not a list"),
        ("10.8.0.0/24", ROUTES, [{"username": "Alice"}], "openvpn_clients: {'username': 'Alice'}"),
        ("10.8.0.0/24", ROUTES, [{"username": "_server"}], "openvpn_clients: {'username': '_server'}"),
        ("10.8.0.0/24", ROUTES, ["alice"], "openvpn_clients: 'alice'"),
        ("10.8.0.0/24", ROUTES, [{"username": "alice", "state": "gone"}], "openvpn_clients: alice: state 'gone'"),
        ("10.8.0.0/24", ROUTES, [{"username": "al"}, {"username": "al"}], "openvpn_clients: al is listed more"),
    ],
)
def test_bad_settings_name_the_variable(network, routes, clients, starts):
    errors = vpn.openvpn_errors(network, routes, clients)
    assert len(errors) == 1, errors
    assert errors[0].startswith(starts), errors


@pytest.mark.parametrize(
    ("cidr", "line"),
    [("10.8.0.0/24", "10.8.0.0 255.255.255.0"), ("10.100.0.0/22", "10.100.0.0 255.255.252.0"),
     ("172.16.0.0/12", "172.16.0.0 255.240.0.0")],
)  # fmt: skip
def test_networks_as_openvpn_writes_them(cidr, line):
    assert vpn.openvpn_net(cidr) == line


def test_static_key_has_openvpns_layout():
    digits = secrets.token_hex(256)
    key = vpn.static_key(digits.upper())
    lines = key.splitlines()
    assert lines[0] == "-----BEGIN OpenVPN Static key V1-----"
    assert lines[-1] == "-----END OpenVPN Static key V1-----"
    assert len(lines) == 18 and all(re.fullmatch("[0-9a-f]{32}", line) for line in lines[1:-1])
    assert "".join(lines[1:-1]) == digits
    assert key.endswith("\n")


@pytest.mark.parametrize("digits", ["", "0" * 511, "0" * 513, "g" * 512])
def test_static_key_refuses_anything_but_2048_bits(digits):
    with pytest.raises(ValueError, match="512 hex digits"):
        vpn.static_key(digits)


@pytest.mark.parametrize(
    ("member", "state"),
    [
        ({"username": "alice"}, "present"),
        ({"username": "alice", "vpn": True, "state": "present"}, "present"),
        ({"username": "alice", "vpn": "yes"}, "present"),
        # No VPN any more, or gone: a profile once issued is revoked.
        ({"username": "alice", "vpn": False}, "absent"),
        ({"username": "alice", "vpn": "false"}, "absent"),
        ({"username": "alice", "state": "absent"}, "absent"),
        ({"username": "alice", "vpn": True, "state": "absent"}, "absent"),
    ],
)
def test_team_members_as_vpn_clients(member, state):
    assert vpn.vpn_member(member) == {"username": "alice", "state": state}


def test_access_server_settings():
    users = [{"username": "alice", "password": "x"}, {"username": "bob", "state": "absent"}]
    assert vpn.openvpn_as_errors("203.0.113.25", ROUTES, users) == []
    errors = vpn.openvpn_as_errors("", ["10.0.3.1/24"], [{"username": "alice"}, {"username": "alice", "password": "y"}])
    assert [e.split(":")[0] for e in errors] == [
        "openvpn_as_routes",
        "openvpn_as_users",
        "openvpn_as_hostname",
        "openvpn_as_users",
    ], errors
    assert "alice has no password" in errors[-1]


def test_access_server_messages_never_show_a_password():
    errors = vpn.openvpn_as_errors("vpn.example.org", [], [{"username": "Alice", "password": "hunter2-secret"}])
    assert errors and "hunter2-secret" not in " ".join(errors)


def test_access_server_users_as_the_module_takes_them():
    assert vpn.openvpn_as_user({"username": "alice", "password": "p"}) == {
        "name": "alice",
        "state": "present",
        "props": {"type": "user_connect"},
        "password": "p",
    }
    assert vpn.openvpn_as_user({"username": "bob", "state": "absent", "password": "p"}) == {
        "name": "bob",
        "state": "absent",
    }


def test_the_team_as_access_server_users():
    team = [{"username": "alice"}, {"username": "bob", "vpn": False}, {"username": "carol", "state": "absent"}]
    assert vpn.openvpn_as_team(team, {"alice": "pa"}) == [
        {"username": "alice", "state": "present", "password": "pa"},
        {"username": "bob", "state": "absent"},
        {"username": "carol", "state": "absent"},
    ]
