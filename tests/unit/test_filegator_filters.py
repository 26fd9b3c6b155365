"""FileGator's accounts (research_env.core filegator): research_team as accounts, the role's checks,
and users.json brought to what the role manages, with bcrypt hashes PHP's password_verify accepts."""

from __future__ import annotations

import copy
import secrets

import bcrypt
import pytest
from ansible_collections.research_env.core.plugins.filter import filegator

ADMIN_PW = secrets.token_urlsafe(18)
ALICE_PW = secrets.token_urlsafe(18)
BOB_PW = secrets.token_urlsafe(18)
KEY = secrets.token_urlsafe(36)


def php_hash(password: str) -> str:
    """A hash as PHP's password_hash(PASSWORD_BCRYPT) writes it ($2y$, cost 10)."""
    return "$2y$" + bcrypt.hashpw(password.encode(), bcrypt.gensalt(10)).decode()[4:]


def holds(password: str, hashed: str) -> bool:
    return hashed.startswith("$2y$10$") and bcrypt.checkpw(password.encode(), ("$2b$" + hashed[4:]).encode())


def shipped() -> dict:
    """FileGator's users.json.blank, as an install starts (its admin password is not ADMIN_PW)."""
    return {
        "1": {"username": "admin", "name": "Admin", "role": "admin", "homedir": "/",
              "permissions": filegator.ADMIN_PERMISSIONS, "password": php_hash("shipped-default")},
        "2": {"username": "guest", "name": "Guest", "role": "guest", "homedir": "/", "permissions": "read",
              "password": ""},
    }  # fmt: skip


# research_team as accounts


def test_members_with_filegator_are_present_others_absent():
    team = [
        {"username": "alice", "filegator": True},
        {"username": "bob"},
        {"username": "carol", "filegator": True, "state": "absent"},
        {"username": "dave", "filegator": "yes"},
    ]
    assert filegator.filegator_members_present(team) == ["alice", "dave"]
    users = filegator.filegator_team(team, {"alice": ALICE_PW})
    assert users == [
        {"username": "alice", "state": "present", "password": ALICE_PW},
        {"username": "bob", "state": "absent"},
        {"username": "carol", "state": "absent"},
        {"username": "dave", "state": "present", "password": ""},
    ]


# The role's checks


def good(**change):
    args = {
        "users": [{"username": "alice", "password": ALICE_PW}, {"username": "carol", "state": "absent"}],
        "admin_password": ADMIN_PW,
        "csrf_key": KEY,
        "permissions": "read|write|upload",
        "bind_address": "10.0.3.25",
    }
    args.update(change)
    return filegator.filegator_errors(**args)


def test_good_settings_have_no_errors():
    assert good() == []


@pytest.mark.parametrize(
    ("change", "starts"),
    [
        ({"bind_address": "0.0.0.0"}, "filegator_docker_bind_address: '0.0.0.0' is not a host's IPv4 address"),  # noqa: S104
        ({"bind_address": ""}, "filegator_docker_bind_address: ''"),
        ({"bind_address": "10.0.3.0/24"}, "filegator_docker_bind_address: '10.0.3.0/24'"),
        ({"bind_address": "fd00::1"}, "filegator_docker_bind_address: 'fd00::1'"),
        ({"admin_password": ""}, "filegator_docker_admin_password: missing or shorter than 12"),
        ({"admin_password": None}, "filegator_docker_admin_password: missing"),
        ({"csrf_key": "123456"}, "filegator_docker_csrf_key: missing or shorter than 32"),
        ({"permissions": "read|delete"}, "filegator_docker_member_permissions: delete unknown"),
        ({"users": "alice"}, "filegator_docker_users: 'alice' is not a list"),
        (
            {"users": [{"username": "Alice", "password": ALICE_PW}]},
            "filegator_docker_users: {'username': 'Alice'} needs a username",
        ),
        ({"users": [{"username": "admin", "password": ALICE_PW}]}, "filegator_docker_users: admin is FileGator's own"),
        ({"users": [{"username": "guest", "password": ALICE_PW}]}, "filegator_docker_users: guest is FileGator's own"),
        (
            {"users": [{"username": "al", "password": ALICE_PW}] * 2},
            "filegator_docker_users: al is listed more than once",
        ),
        ({"users": [{"username": "al", "state": "gone"}]}, "filegator_docker_users: al: state 'gone'"),
        ({"users": [{"username": "al", "password": ""}]}, "filegator_docker_users: al: password missing"),
        ({"users": [{"username": "al"}]}, "filegator_docker_users: al: password missing"),
    ],
)
def test_bad_settings_name_the_variable(change, starts):
    errors = good(**change)
    assert len(errors) == 1, errors
    assert errors[0].startswith(starts), errors


def test_no_message_quotes_a_secret():
    short = [secrets.token_hex(3) for _ in range(3)]  # too short to be accepted, random to be found
    errors = good(admin_password=short[0], csrf_key=short[1], users=[{"username": "al", "password": short[2]}])
    assert len(errors) == 3
    assert not any(s in e for e in errors for s in short)


# users.json


def test_a_shipped_install_gets_the_admin_password_a_disabled_guest_and_the_members():
    result = filegator.filegator_users(shipped(), ADMIN_PW, [{"username": "alice", "password": ALICE_PW}])
    assert set(result) == {"1", "2", "3"}
    admin, guest, alice = result["1"], result["2"], result["3"]
    assert admin["username"] == "admin" and admin["role"] == "admin"
    assert holds(ADMIN_PW, admin["password"]) and not holds("shipped-default", admin["password"])
    assert guest == {"username": "guest", "name": "Guest", "role": "guest", "homedir": "/", "permissions": "",
                     "password": ""}  # fmt: skip
    assert alice["role"] == "user" and alice["homedir"] == "/" and alice["name"] == "alice"
    assert alice["permissions"] == "read|write|upload|download|batchdownload|zip"
    assert holds(ALICE_PW, alice["password"])


def test_no_file_yet_gives_admin_and_guest_first():
    result = filegator.filegator_users(None, ADMIN_PW, [])
    assert [result[k]["username"] for k in sorted(result)] == ["admin", "guest"]


def test_a_second_pass_changes_nothing():
    users = [{"username": "alice", "password": ALICE_PW}, {"username": "bob", "password": BOB_PW}]
    first = filegator.filegator_users(shipped(), ADMIN_PW, users)
    again = filegator.filegator_users(copy.deepcopy(first), ADMIN_PW, users)
    assert again == first


def test_only_the_hash_that_does_not_hold_the_password_is_replaced():
    users = [{"username": "alice", "password": ALICE_PW}, {"username": "bob", "password": BOB_PW}]
    first = filegator.filegator_users(shipped(), ADMIN_PW, users)
    changed = copy.deepcopy(first)
    changed["3"]["password"] = php_hash("set-in-the-ui")  # alice changed hers in FileGator
    result = filegator.filegator_users(changed, ADMIN_PW, users)
    assert holds(ALICE_PW, result["3"]["password"])
    assert result["1"]["password"] == first["1"]["password"]
    assert result["4"]["password"] == first["4"]["password"]


def test_absent_members_are_removed_and_unknown_accounts_kept():
    current = shipped()
    current["3"] = {"username": "carol", "name": "Carol", "role": "user", "homedir": "/", "permissions": "read",
                    "password": php_hash("x" * 12)}  # fmt: skip
    current["7"] = {"username": "dave", "name": "Dave", "role": "user", "homedir": "/d", "permissions": "read",
                    "password": php_hash("y" * 12)}  # fmt: skip
    users = [{"username": "carol", "state": "absent"}, {"username": "erin", "password": BOB_PW}]
    result = filegator.filegator_users(current, ADMIN_PW, users)
    names = {k: v["username"] for k, v in result.items()}
    assert "carol" not in names.values()
    assert result["7"] == current["7"], "an account the role does not manage was changed"
    assert names["8"] == "erin", "a new account takes the next number"


def test_a_member_s_role_and_permissions_are_put_back():
    users = [{"username": "alice", "password": ALICE_PW}]
    first = filegator.filegator_users(None, ADMIN_PW, users)
    key = next(k for k, v in first.items() if v["username"] == "alice")
    drifted = copy.deepcopy(first)
    drifted[key].update({"role": "admin", "permissions": "read|chmod", "name": "Alice A."})
    result = filegator.filegator_users(drifted, ADMIN_PW, users, "read|upload", "/team")
    assert result[key]["role"] == "user" and result[key]["permissions"] == "read|upload"
    assert result[key]["homedir"] == "/team"
    assert result[key]["name"] == "Alice A.", "the display name is the user's to choose"


def test_a_php_array_file_is_read():
    as_list = list(shipped().values())
    result = filegator.filegator_users(as_list, ADMIN_PW, [])
    assert {v["username"] for v in result.values()} == {"admin", "guest"}


@pytest.mark.parametrize("bad", ["not json", ["x"], {"1": "admin"}])
def test_a_file_that_is_not_accounts_is_refused(bad):
    with pytest.raises(Exception, match=r"users\.json is not FileGator's object of accounts"):
        filegator.filegator_users(bad, ADMIN_PW, [])
