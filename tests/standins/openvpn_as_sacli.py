#!/usr/bin/python3
"""research-env's STAND-IN for OpenVPN Access Server's command line, /usr/local/openvpn_as/scripts/sacli.

NOT OpenVPN Access Server. The Access Server's packages cannot be downloaded on the machine that
runs research-env's tests (OpenVPN's repository is unreachable), so the openvpn_as role and the
research_env.core.openvpn_as_config module are tested against this file instead. It keeps the
configuration and the user properties in a JSON file and answers the sacli commands the module
uses, in sacli's shapes: ConfigQuery prints the configuration as a JSON object of strings,
UserPropGet a JSON object of users and their properties, ConfigPut/ConfigDel/UserPropPut/
UserPropDelAll change them, --value_file reads a value from a file (how certificates are
imported), SetLocalPassword keeps a digest as the user property pvt_password_digest, GetUserlogin
prints a user-locked profile, RevokeUser revokes the user's certificate, start records that the
configuration was applied.

What it does not do: run a VPN, check certificates, authenticate anyone, or behave like the Access
Server in anything beyond the shapes above. A profile it prints says so in its first line.
State file: $SACLI_STANDIN_DB, default /usr/local/openvpn_as/etc/research-env-sacli-standin.json.
Every call is appended to the state's "calls" (command and option names, never values).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import sys

DB = os.environ.get("SACLI_STANDIN_DB", "/usr/local/openvpn_as/etc/research-env-sacli-standin.json")
INITIAL = {
    "config": {
        "host.name": "",
        "vpn.client.routing.reroute_gw": "true",
        "vpn.server.routing.private_access": "nat",
        "vpn.daemon.0.listen.protocol": "udp",
        "vpn.server.port_share.enable": "true",
        "cs.https.port": "943",
        "cs.cert": "-----BEGIN CERTIFICATE-----\nself-signed at install\n-----END CERTIFICATE-----",
        "cs.priv_key": "-----BEGIN PRIVATE KEY-----\nmade at install\n-----END PRIVATE KEY-----",
        "cs.ca_bundle": "",
    },
    "users": {"openvpn": {"prop_superuser": "true", "type": "user_compile", "pvt_password_digest": "install"}},
    "certs": {},
    "revoked": [],
    "starts": 0,
    "calls": [],
}


def load() -> dict:
    try:
        with open(DB, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return json.loads(json.dumps(INITIAL))


def save(state: dict) -> None:
    os.makedirs(os.path.dirname(DB) or ".", exist_ok=True)
    tmp = DB + ".tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
        json.dump(state, handle, indent=1, sort_keys=True)
    os.replace(tmp, DB)


def fail(message: str) -> None:
    print(f"sacli (research-env stand-in): {message}", file=sys.stderr)
    sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser(prog="sacli")
    for option in ("--key", "--value", "--value_file", "--user", "--new_pass", "--pfilt"):
        parser.add_argument(option)
    parser.add_argument("command")
    args = parser.parse_args()
    state = load()
    used = sorted(k for k, v in vars(args).items() if v is not None and k != "command")
    state["calls"].append({"command": args.command, "options": used})
    config, users = state["config"], state["users"]
    if args.command == "ConfigQuery":
        print(json.dumps({k: v for k, v in config.items() if k.startswith(args.pfilt or "")}, indent=2, sort_keys=True))
    elif args.command == "ConfigPut":
        if not args.key or (args.value is None and args.value_file is None):
            fail("ConfigPut needs --key and --value or --value_file")
        if args.value_file is not None:
            with open(args.value_file, encoding="utf-8") as handle:
                config[args.key] = handle.read()
        else:
            config[args.key] = args.value
    elif args.command == "ConfigDel":
        config.pop(args.key or "", None)
    elif args.command == "UserPropGet":
        print(json.dumps({u: p for u, p in users.items() if args.user in (None, u)}, indent=2, sort_keys=True))
    elif args.command == "UserPropPut":
        if not args.user or not args.key or args.value is None:
            fail("UserPropPut needs --user, --key and --value")
        users.setdefault(args.user, {})[args.key] = args.value
    elif args.command == "UserPropDelAll":
        users.pop(args.user or "", None)
    elif args.command == "SetLocalPassword":
        if not args.user or not args.new_pass:
            fail("SetLocalPassword needs --user and --new_pass")
        digest = hashlib.sha256(args.new_pass.encode()).hexdigest()
        users.setdefault(args.user, {})["pvt_password_digest"] = digest
    elif args.command == "GetUserlogin":
        if args.user not in users:
            fail(f"user {args.user!r} not found")
        serial = state["certs"].setdefault(args.user, secrets.token_hex(8))
        print(
            f"# research-env sacli STAND-IN: not an OpenVPN Access Server profile (user {args.user}, "
            f"certificate {serial})\nclient\ndev tun\nremote {config.get('host.name', '')} 1194 udp\n"
            "auth-user-pass\n<ca>\n" + (config.get("cs.ca_bundle") or "stand-in CA") + "\n</ca>"
        )
    elif args.command == "RevokeUser":
        serial = state["certs"].pop(args.user or "", None)
        if serial:
            state["revoked"].append(serial)
    elif args.command == "start":
        state["starts"] += 1
        print(json.dumps({"errors": {}, "last_restarted": str(state["starts"]), "service_status": {"openvpn_0": "on"}}))
    else:
        fail(f"unknown command {args.command!r} (this stand-in knows the commands research-env uses)")
    save(state)


if __name__ == "__main__":
    main()
