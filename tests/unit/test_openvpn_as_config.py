"""plugins/modules/openvpn_as_config.py: its pure logic with plain pytest, the module itself in-process against
research-env's stand-in of the Access Server's sacli (tests/standins/openvpn_as_sacli.py: the real Access Server
cannot be downloaded here; the stand-in keeps configuration and users in a JSON file, in sacli's shapes)."""

from __future__ import annotations

import functools
import json
import os
import secrets
from pathlib import Path

import pytest
from modules import ansible_doc, load_module, run_module

m = load_module("openvpn_as_config")
run_main = functools.partial(run_module, m, region=None)
STANDIN = Path(__file__).resolve().parents[1] / "standins" / "openvpn_as_sacli.py"
# Made up per run: what must never appear in the module's output.
SECRET = secrets.token_urlsafe(24)
KEY_MATERIAL = secrets.token_hex(32)
KEY = f"-----BEGIN PRIVATE KEY-----\n{KEY_MATERIAL}\n-----END PRIVATE KEY-----"


@pytest.fixture
def sacli(tmp_path, monkeypatch):
    """The stand-in, with its state in tmp_path; returns a reader of that state."""
    db = tmp_path / "sacli.json"
    monkeypatch.setenv("SACLI_STANDIN_DB", str(db))

    def state() -> dict:
        return json.loads(db.read_text())

    return state


def run(capsys, **args):
    return run_main({"sacli": str(STANDIN), **args}, capsys)


@pytest.mark.parametrize(
    ("current", "wanted", "diff"),
    [
        ({"a": "true"}, {"a": True}, {}),
        ({"a": "false"}, {"a": True}, {"a": "true"}),
        ({}, {"b": 943}, {"b": "943"}),
        ({"c": "x", "d": "y"}, {"c": "x"}, {}),
    ],
)
def test_config_diff_compares_as_sacli_stores(current, wanted, diff):
    assert m.config_diff(current, wanted) == diff


def test_reads_then_writes_only_what_differs(sacli, capsys):
    config = {
        "host.name": "203.0.113.25",
        "vpn.client.routing.reroute_gw": False,
        "vpn.server.routing.private_access": "nat",
        "vpn.server.routing.private_network.0": "10.0.3.0/24",
    }
    rc, out = run(capsys, config=config)
    assert rc == 0 and out["changed"], out
    # private_access was already nat: not written.
    assert out["config_changed"] == [
        "host.name",
        "vpn.client.routing.reroute_gw",
        "vpn.server.routing.private_network.0",
    ]
    assert out["applied"] is True
    state = sacli()
    assert state["config"]["vpn.client.routing.reroute_gw"] == "false"
    assert state["starts"] == 1
    puts = [c for c in state["calls"] if c["command"] == "ConfigPut"]
    assert len(puts) == 3
    # The same again: one read, no write, no restart.
    rc, out = run(capsys, config=config)
    assert rc == 0 and not out["changed"] and out["config_changed"] == [] and not out["applied"], out
    calls = sacli()["calls"][len(state["calls"]) :]
    assert [c["command"] for c in calls] == ["ConfigQuery", "UserPropGet"]


def test_a_shrinking_list_loses_its_stale_keys(sacli, capsys):
    two = {"vpn.server.routing.private_network.0": "10.0.3.0/24", "vpn.server.routing.private_network.1": "10.0.4.0/24"}
    prefixes = ["vpn.server.routing.private_network."]
    run(capsys, config=two, config_purge_prefixes=prefixes)
    one = {"vpn.server.routing.private_network.0": "10.0.3.0/24"}
    _, out = run(capsys, config=one, config_purge_prefixes=prefixes)
    assert out["config_deleted"] == ["vpn.server.routing.private_network.1"] and out["applied"], out
    assert "vpn.server.routing.private_network.1" not in sacli()["config"]
    _, out = run(capsys, config=one, config_purge_prefixes=prefixes)
    assert not out["changed"], out


def test_users_added_updated_removed_with_profiles(sacli, capsys, tmp_path):
    profiles = tmp_path / "profiles"
    users = [{"name": "openvpn", "props": {"prop_superuser": True}, "password": SECRET},
             {"name": "alice", "props": {"type": "user_connect"}, "password": SECRET + "a"},
             {"name": "bob", "props": {"type": "user_connect"}, "password": SECRET + "b"}]  # fmt: skip
    rc, out = run(capsys, users=users, profile_dir=str(profiles))
    assert rc == 0 and out["changed"], out
    assert out["users_added"] == ["alice", "bob"] and out["users_updated"] == []
    assert out["passwords_set"] == ["openvpn", "alice", "bob"]  # the admin's install-time password is replaced
    assert sorted(p.name for p in profiles.iterdir()) == ["alice.ovpn", "bob.ovpn", "openvpn.ovpn"]
    assert oct(profiles.stat().st_mode & 0o777) == "0o700"
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in profiles.iterdir())
    assert "STAND-IN" in (profiles / "alice.ovpn").read_text()
    assert not out["applied"], "user changes need no restart"
    # Nothing to do the second time: the passwords are recognised by their digest, the profiles are the same.
    rc, again = run(capsys, users=users, profile_dir=str(profiles))
    assert rc == 0 and not again["changed"], again
    # bob leaves: his certificate is revoked, he and his profile are gone, the configuration is applied.
    bob_serial = sacli()["certs"]["bob"]
    users[2] = {"name": "bob", "state": "absent"}
    rc, out = run(capsys, users=users, profile_dir=str(profiles))
    assert out["users_removed"] == ["bob"] and out["profiles_written"] == ["bob"] and out["applied"], out
    state = sacli()
    assert "bob" not in state["users"] and bob_serial in state["revoked"]
    assert not (profiles / "bob.ovpn").exists()
    assert [c["command"] for c in state["calls"]].count("RevokeUser") == 1


def test_a_password_that_begins_with_a_dash_is_set(sacli, capsys):
    """Generated passwords (token_urlsafe) begin with "-" one time in 64: sacli must not read it as an option."""
    rc, out = run(capsys, users=[{"name": "alice", "password": "-" + SECRET}])
    assert rc == 0 and out["passwords_set"] == ["alice"], out
    assert SECRET not in json.dumps(out)


def test_a_changed_password_is_set_again(sacli, capsys):
    users = [{"name": "alice", "password": SECRET}]
    run(capsys, users=users)
    first = sacli()["users"]["alice"]["pvt_password_digest"]
    _, out = run(capsys, users=[{"name": "alice", "password": SECRET + "x"}])
    assert out["passwords_set"] == ["alice"] and out["users_added"] == []
    assert sacli()["users"]["alice"]["pvt_password_digest"] != first


def test_certificate_is_imported_when_it_differs(sacli, capsys):
    cert = {"cert": "-----BEGIN CERTIFICATE-----\nserver\n-----END CERTIFICATE-----", "priv_key": KEY,
            "ca_bundle": "-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----"}  # fmt: skip
    rc, out = run(capsys, certificate=cert)
    assert rc == 0 and out["certificate_imported"] and out["applied"], out
    state = sacli()
    assert state["config"]["cs.priv_key"].strip() == KEY
    puts = [c for c in state["calls"] if c["command"] == "ConfigPut"]
    # Through files (--value_file), so the key is never on a command line.
    assert len(puts) == 3 and all(c["options"] == ["key", "value_file"] for c in puts)
    rc, out = run(capsys, certificate=cert)
    assert not out["changed"] and not out["certificate_imported"], out


def test_no_secret_in_the_result(sacli, capsys):
    cert = {"cert": "c", "priv_key": KEY, "ca_bundle": "b"}
    _, out = run(capsys, users=[{"name": "alice", "password": SECRET}], certificate=cert)
    text = json.dumps(out)
    assert SECRET not in text and KEY_MATERIAL not in text


def test_check_mode_reports_and_writes_nothing(sacli, capsys, tmp_path):
    users = [{"name": "alice", "password": SECRET}]
    rc, out = run(capsys, config={"host.name": "vpn.example.org"}, users=users, profile_dir=str(tmp_path / "p"),
                  _ansible_check_mode=True)  # fmt: skip
    assert rc == 0 and out["changed"] and out["users_added"] == ["alice"] and out["config_changed"] == ["host.name"]
    assert not (tmp_path / "p").exists()
    state = sacli()
    assert "alice" not in state["users"] and state["config"]["host.name"] == ""
    assert {c["command"] for c in state["calls"]} == {"ConfigQuery", "UserPropGet"}


def test_a_failing_sacli_names_the_command_not_the_value(sacli, capsys, tmp_path):
    broken = tmp_path / "sacli"
    broken.write_text("#!/bin/sh\necho 'database locked' >&2\nexit 3\n")
    broken.chmod(0o755)
    rc, out = run_main({"sacli": str(broken), "users": [{"name": "alice", "password": SECRET}]}, capsys)
    assert rc == 1 and "sacli ConfigQuery failed (rc 3): database locked" in out["msg"]
    assert SECRET not in json.dumps(out)


def test_missing_access_server_is_a_clear_error(capsys, tmp_path):
    rc, out = run_main({"sacli": str(tmp_path / "nope")}, capsys)
    assert rc == 1 and "install OpenVPN Access Server first" in out["msg"]


def test_documentation_renders():
    doc = ansible_doc("openvpn_as_config")
    assert set(doc["doc"]["options"]) == {
        "sacli",
        "config",
        "config_purge_prefixes",
        "users",
        "certificate",
        "profile_dir",
        "apply",
    }
    assert "applied" in doc["return"]


def test_the_standin_says_what_it_is():
    text = STANDIN.read_text()
    assert "STAND-IN" in text and "NOT OpenVPN Access Server" in text
    assert os.access(STANDIN, os.X_OK)
