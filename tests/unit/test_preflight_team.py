"""Preflight's checks of the research team list and of the name VPN profiles connect to."""

from __future__ import annotations

import pytest
from ansible_collections.research_env.core.plugins.filter.preflight_team import check_team, check_vpn_hostname


def team(*members: object) -> list[str]:
    return check_team({"research_team": list(members)})


def test_a_team_as_designed_is_clean():
    assert (
        team(
            {"username": "alice", "vpn": True, "filegator": True, "state": "present"},
            {"username": "j.smith"},
            {"username": "bob_2", "vpn": False, "state": "absent"},
            {"username": "a" + "b" * 31},
        )
        == []
    )
    assert check_team({"research_team": []}) == []
    assert check_team({"research_team": None}) == []  # `research_team:` with nothing after it
    assert check_team({}) == []


@pytest.mark.parametrize(
    "username",
    ["Alice", "a", "1alice", "-alice", "alice smith", "al/ice", "alice\n", "a" * 33, "", None, 42, ["alice"], "élise"],
)
def test_a_username_outside_the_pattern_is_refused(username):
    (error,) = team({"username": username})
    assert error.startswith("research_team[0].username: ") and "2-32 characters" in error


def test_a_missing_username_is_refused():
    (error,) = team({"vpn": True})
    assert error.startswith("research_team[0].username: None is not a valid username")


@pytest.mark.parametrize("username", ["openvpn", "admin"])
def test_the_servers_own_administrators_are_not_members(username):
    (error,) = team({"username": username})
    assert error.startswith(f"research_team[0].username: {username} is ") and "administrator" in error


def test_filegators_guest_account_is_not_a_member():
    (error,) = team({"username": "guest"})
    assert error.startswith("research_team[0].username: guest is FileGator's guest account")


def test_a_person_listed_twice_is_refused_once_naming_both_entries():
    errors = team({"username": "alice"}, {"username": "bob"}, {"username": "alice", "state": "absent"})
    assert errors == [
        "research_team[2].username: alice is listed twice (also research_team[0]). List each person once; to "
        "revoke one, set state: absent on that entry."
    ]


def test_a_duplicate_is_found_even_when_the_entry_has_another_problem():
    errors = team({"username": "alice"}, {"username": "alice", "vpn": "yes"})
    assert [e.split(":")[0] for e in errors] == ["research_team[1].vpn", "research_team[1].username"]


@pytest.mark.parametrize(
    ("member", "where"),
    [
        ({"username": "alice", "vpn": "yes"}, "research_team[0].vpn: 'yes' is not true or false"),
        ({"username": "alice", "filegator": 1}, "research_team[0].filegator: 1 is not true or false"),
        ({"username": "alice", "state": "removed"}, "research_team[0].state: 'removed' is not present or absent"),
        ({"username": "alice", "usrname": "x"}, "research_team[0].usrname: unknown setting"),
        ({"username": "alice", "VPN": True}, "research_team[0].VPN: unknown setting"),
        ("alice", "research_team[0]: 'alice' is not a member"),
        (None, "research_team[0]: None is not a member"),
    ],
)
def test_each_member_problem_names_the_entry_and_the_fix(member, where):
    (error,) = team(member)
    assert error.startswith(where), error


@pytest.mark.parametrize("value", ["alice", {"alice": {"vpn": True}}, 3, True])
def test_the_team_must_be_a_list(value):
    (error,) = check_team({"research_team": value})
    assert error.startswith("research_team: ") and "is not a list of members" in error


@pytest.mark.parametrize(
    "value", ["", None, "vpn.example.org", "vpn.example.org.", "VPN-1.Example.org", "vpn", "54.147.17.131", "10.0.1.5"]
)
def test_a_host_name_or_ipv4_address_is_accepted(value):
    assert check_vpn_hostname({"vpn_public_hostname": value}) == []
    assert check_vpn_hostname({}) == []


@pytest.mark.parametrize(
    "value",
    [
        "https://vpn.example.org",
        "vpn.example.org:443",
        "vpn.example.org/",
        "vpn example.org",
        "-vpn.example.org",
        "vpn..example.org",
        "vpn_1.example.org",
        "1.2.3",
        "256.1.1.1",
        "vpn.example.org\n",
        "a" * 64 + ".example.org",
        ".".join(["a" * 60] * 5),
        42,
        ["vpn.example.org"],
    ],
)
def test_anything_else_is_refused_with_the_fix(value):
    (error,) = check_vpn_hostname({"vpn_public_hostname": value})
    assert error.startswith("vpn_public_hostname: ") and "Elastic IP" in error


def test_an_ipv6_address_is_refused_as_such():
    (error,) = check_vpn_hostname({"vpn_public_hostname": "2001:db8::1"})
    assert error.startswith("vpn_public_hostname: 2001:db8::1 is IPv6")
