#!/usr/bin/python
# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: openvpn_as_config
short_description: Configure OpenVPN Access Server through sacli, writing only what differs
version_added: 0.1.0
description:
  - Reads the Access Server's configuration (C(sacli ConfigQuery)) and every user's properties (C(sacli UserPropGet))
    once, then writes only the keys, properties and users that differ (C(ConfigPut), C(UserPropPut),
    C(UserPropDelAll)), so a second run with the same arguments changes nothing.
  - Imports a web/VPN server certificate (C(cs.cert), C(cs.priv_key), C(cs.ca_bundle)) with C(ConfigPut --value_file)
    when the admin gives one and it differs from the installed one.
  - Sets a user's local password (C(SetLocalPassword)) when the user is created, or when the password differs from
    the one this module last set (it keeps a salted SHA-256 of it as the user property
    C(research_env_password_sha256); the Access Server's own digest cannot be compared).
  - Revokes an absent user's certificates (C(RevokeUser)) before deleting the user.
  - Writes each present user's user-locked profile (C(GetUserlogin)) to O(profile_dir)/<user>.ovpn (0600) when it
    differs, and deletes absent users' profiles.
  - Applies the configuration (C(sacli start)) when a configuration key, the certificate or a revocation changed.
  - Passwords and private keys never appear in the result or in error messages.
options:
  sacli:
    description: Path of the Access Server's command line.
    type: path
    default: /usr/local/openvpn_as/scripts/sacli
  config:
    description:
      - Configuration keys and their values, for example C(host.name) set to a DNS name. Booleans are written as
        V(true)/V(false), other values as strings. Keys not listed are left as they are.
    type: dict
    default: {}
  config_purge_prefixes:
    description:
      - Configuration keys starting with one of these prefixes and not in O(config) are deleted (C(ConfigDel)), for
        numbered lists such as V(vpn.server.routing.private_network.) that shrink.
    type: list
    elements: str
    default: []
  users:
    description: The users this module manages. Users not listed are left as they are.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The user name.
        type: str
        required: true
      state:
        description: V(absent) revokes the user's certificates, deletes the user and their profile.
        type: str
        choices: [present, absent]
        default: present
      props:
        description: User properties, for example C(type) V(user_connect) or C(prop_superuser) V(false).
        type: dict
        default: {}
      password:
        description: The user's local password, set when it differs from the one this module last set.
        type: str
  certificate:
    description:
      - A server certificate to import. All three parts, PEM text.
    type: dict
    suboptions:
      cert:
        description: The certificate (C(cs.cert)).
        type: str
        required: true
      priv_key:
        description: Its private key (C(cs.priv_key)).
        type: str
        required: true
      ca_bundle:
        description: The chain of the issuing CA (C(cs.ca_bundle)).
        type: str
        required: true
  profile_dir:
    description: Directory on the host for the users' profiles (created 0700). Omit to write none.
    type: path
  apply:
    description: Run C(sacli start) when a configuration key, the certificate or a revocation changed.
    type: bool
    default: true
author:
  - research-env contributors (!UNKNOWN)
notes:
  - Runs on the Access Server host, as root.
  - Check mode reads everything and reports what would change; nothing is written.
"""

EXAMPLES = r"""
- name: Host name, routed subnet, no client internet through the VPN, one member
  research_env.core.openvpn_as_config:
    config:
      host.name: 203.0.113.25
      vpn.server.routing.private_network.0: 10.0.3.0/24
      vpn.client.routing.reroute_gw: false
      vpn.server.routing.private_access: nat
    users:
      - name: openvpn
        props: {prop_superuser: true}
        password: "{{ vpn_admin_password }}"
      - name: alice
        props: {type: user_connect}
        password: "{{ alice_password }}"
      - name: bob
        state: absent
    profile_dir: /root/vpn-profiles
  no_log: false

- name: Import a certificate for the web UI and the VPN
  research_env.core.openvpn_as_config:
    certificate:
      cert: "{{ lookup('ansible.builtin.file', 'vpn.crt') }}"
      priv_key: "{{ lookup('ansible.builtin.file', 'vpn.key') }}"
      ca_bundle: "{{ lookup('ansible.builtin.file', 'chain.pem') }}"
"""

RETURN = r"""
config_deleted:
  description: The configuration keys deleted (under O(config_purge_prefixes)).
  type: list
  elements: str
  returned: always
  sample: [vpn.server.routing.private_network.1]
config_changed:
  description: The configuration keys written (names only).
  type: list
  elements: str
  returned: always
  sample: [host.name, vpn.client.routing.reroute_gw]
certificate_imported:
  description: Whether the certificate was (or would be) imported.
  type: bool
  returned: always
users_added:
  description: Users created.
  type: list
  elements: str
  returned: always
users_updated:
  description: Existing users whose properties changed.
  type: list
  elements: str
  returned: always
users_removed:
  description: Users revoked and deleted.
  type: list
  elements: str
  returned: always
passwords_set:
  description: Users whose password was set (names only).
  type: list
  elements: str
  returned: always
profiles:
  description: Each present user's profile path on the host (with O(profile_dir)).
  type: dict
  returned: always
  sample: {alice: /root/vpn-profiles/alice.ovpn}
profiles_written:
  description: The users whose profile file was written.
  type: list
  elements: str
  returned: always
applied:
  description: Whether C(sacli start) ran.
  type: bool
  returned: always
"""

import hashlib
import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

PASSWORD_PROP = "research_env_password_sha256"  # noqa: S105 (a property name, not a password)
CERT_KEYS = (("cert", "cs.cert"), ("priv_key", "cs.priv_key"), ("ca_bundle", "cs.ca_bundle"))


def as_value(value: object) -> str:
    """How sacli stores every value: a string, booleans as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def config_diff(current: dict, wanted: dict) -> dict:
    """The keys of `wanted` whose value differs from `current`, as strings."""
    return {k: as_value(v) for k, v in sorted(wanted.items()) if current.get(k) != as_value(v)}


def password_digest(user: str, password: str) -> str:
    return hashlib.sha256(f"research-env:{user}:{password}".encode()).hexdigest()


def same_pem(a: str | None, b: str | None) -> bool:
    return (a or "").strip() == (b or "").strip()


class Sacli:
    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.path = module.params["sacli"]
        if not os.access(self.path, os.X_OK):
            module.fail_json(msg=f"sacli: {self.path} is not there: install OpenVPN Access Server first.")

    def run(
        self,
        command: str,
        *,
        user: str | None = None,
        key: str | None = None,
        value: str | None = None,
        value_file: str | None = None,
        new_pass: str | None = None,
    ) -> str:
        args = [self.path]
        for name, val in (
            ("--user", user),
            ("--key", key),
            ("--value", value),
            ("--value_file", value_file),
            ("--new_pass", new_pass),
        ):
            # --name=value: a value that begins with "-" (a generated password may) is then not read as an option.
            if val is not None:
                args.append(f"{name}={val}")
        rc, out, err = self.module.run_command([*args, command])
        if rc != 0:
            # The command's name and the user or key, never a value: values can be secrets.
            what = " ".join(x for x in (command, user and f"user {user}", key and f"key {key}") if x)
            self.module.fail_json(msg=f"sacli {what} failed (rc {rc}): {(err or out).strip()[-500:]}")
        return out

    def json(self, command: str, **kw: str) -> dict:
        out = self.run(command, **kw)
        try:
            return json.loads(out) or {}
        except ValueError:
            self.module.fail_json(msg=f"sacli {command} did not answer JSON: {out[:200]!r}")
            raise


def write_profile(module: AnsibleModule, path: str, text: str) -> bool:
    try:
        with open(path, encoding="utf-8") as handle:
            if handle.read() == text:
                return False
    except FileNotFoundError:
        pass
    if not module.check_mode:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".profile-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    return True


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "sacli": {"type": "path", "default": "/usr/local/openvpn_as/scripts/sacli"},
            "config": {"type": "dict", "default": {}},
            "config_purge_prefixes": {"type": "list", "elements": "str", "default": []},
            "users": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "name": {"type": "str", "required": True},
                    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
                    "props": {"type": "dict", "default": {}},
                    "password": {"type": "str", "no_log": True},
                },
            },
            "certificate": {
                "type": "dict",
                "options": {
                    "cert": {"type": "str", "required": True},
                    "priv_key": {"type": "str", "required": True, "no_log": True},
                    "ca_bundle": {"type": "str", "required": True},
                },
            },
            "profile_dir": {"type": "path"},
            "apply": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    p = module.params
    sacli = Sacli(module)
    check = module.check_mode
    result = {
        "changed": False,
        "config_changed": [],
        "config_deleted": [],
        "certificate_imported": False,
        "users_added": [],
        "users_updated": [],
        "users_removed": [],
        "passwords_set": [],
        "profiles": {},
        "profiles_written": [],
        "applied": False,
    }

    current = sacli.json("ConfigQuery")
    changes = config_diff(current, p["config"])
    for key, value in changes.items():
        if not check:
            sacli.run("ConfigPut", key=key, value=value)
    result["config_changed"] = list(changes)
    prefixes = tuple(p["config_purge_prefixes"])
    stale = sorted(k for k in current if prefixes and k.startswith(prefixes) and k not in p["config"])
    for key in stale:
        if not check:
            sacli.run("ConfigDel", key=key)
    result["config_deleted"] = stale

    cert = p["certificate"]
    if cert and not all(same_pem(current.get(key), cert[part]) for part, key in CERT_KEYS):
        result["certificate_imported"] = True
        if not check:
            with tempfile.TemporaryDirectory(dir=module.tmpdir) as tmp:
                for part, key in CERT_KEYS:
                    path = os.path.join(tmp, part)
                    with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w", encoding="utf-8") as handle:
                        handle.write(cert[part].strip() + "\n")
                    sacli.run("ConfigPut", key=key, value_file=path)

    users = sacli.json("UserPropGet")
    for user in p["users"]:
        name = user["name"]
        if user["state"] == "absent":
            if name in users:
                result["users_removed"].append(name)
                if not check:
                    sacli.run("RevokeUser", user=name)
                    sacli.run("UserPropDelAll", user=name)
            continue
        props = users.get(name)
        wanted = config_diff(props or {}, user["props"])
        password = user["password"]
        digest = password_digest(name, password) if password else None
        if props is None:
            result["users_added"].append(name)
            wanted = {**{k: as_value(v) for k, v in user["props"].items()}, **wanted}
            if not wanted and not password:
                wanted = {"type": "user_connect"}  # a user exists once it has a property
        elif wanted:
            result["users_updated"].append(name)
        if digest and (props or {}).get(PASSWORD_PROP) != digest:
            result["passwords_set"].append(name)
            wanted[PASSWORD_PROP] = digest
        if not check:
            for key, value in wanted.items():
                if key != PASSWORD_PROP:
                    sacli.run("UserPropPut", user=name, key=key, value=value)
            if PASSWORD_PROP in wanted:
                sacli.run("SetLocalPassword", user=name, new_pass=password)
                sacli.run("UserPropPut", user=name, key=PASSWORD_PROP, value=digest)

    if p["profile_dir"]:
        directory = p["profile_dir"]
        if not os.path.isdir(directory):
            result["changed"] = True
            if not check:
                os.makedirs(directory, mode=0o700)
        for user in p["users"]:
            path = os.path.join(directory, f"{user['name']}.ovpn")
            if user["state"] == "absent":
                if os.path.exists(path):
                    result["profiles_written"].append(user["name"])
                    if not check:
                        os.unlink(path)
                continue
            result["profiles"][user["name"]] = path
            if check and user["name"] in result["users_added"]:
                result["profiles_written"].append(user["name"])  # the user does not exist yet to ask
                continue
            if write_profile(module, path, sacli.run("GetUserlogin", user=user["name"])):
                result["profiles_written"].append(user["name"])

    if p["apply"] and (
        result["config_changed"]
        or result["config_deleted"]
        or result["certificate_imported"]
        or result["users_removed"]
    ):
        result["applied"] = True
        if not check:
            sacli.run("start")

    result["changed"] = result["changed"] or any(
        result[k]
        for k in (
            "config_changed",
            "config_deleted",
            "certificate_imported",
            "users_added",
            "users_updated",
            "users_removed",
            "passwords_set",
            "profiles_written",
        )
    )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
