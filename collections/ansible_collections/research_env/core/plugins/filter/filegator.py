# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the filegator_docker role: research_team as FileGator accounts, and FileGator's
users.json brought to what the role manages (the admin, a disabled guest, one account per member)
with bcrypt hashes that change only when the password they hold is not the one wanted."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.research_env.core.plugins.plugin_utils.team import (
    member_list_errors,
    member_of,
    present_usernames,
    with_passwords,
)

try:
    import bcrypt

    HAS_BCRYPT = True
except ImportError:  # pragma: no cover - the requirements pin it; the error below says so
    HAS_BCRYPT = False

# Accounts FileGator itself needs: its administrator and the guest it falls back to before a login.
ADMIN = "admin"
GUEST = "guest"
ADMIN_PERMISSIONS = "read|write|upload|download|batchdownload|zip|chmod"
PERMISSIONS = ("read", "write", "upload", "download", "batchdownload", "zip", "chmod")
# PHP's password_hash() writes $2y$; bcrypt for Python writes $2b$. The algorithm is the same.
BCRYPT_COST = 10


def filegator_member(member: dict[str, Any]) -> dict[str, str]:
    """A research_team entry as a FileGator account: present only while the member is present and has
    filegator (default false); otherwise absent, so an account once made is removed."""
    return member_of(member, "filegator")


def filegator_members_present(team: list[dict[str, Any]]) -> list[str]:
    """The usernames of research_team that have a FileGator account now."""
    return present_usernames(team, "filegator")


def filegator_team(team: list[dict[str, Any]], passwords: dict[str, str]) -> list[dict[str, str]]:
    """research_team as the role's filegator_docker_users: a member with filegator gets the password kept
    for them in SSM ("" when not known yet, which the role refuses), any other is absent."""
    return with_passwords(team, "filegator", passwords)


def filegator_errors(users: Any, admin_password: Any, csrf_key: Any, permissions: Any, bind_address: Any) -> list[str]:
    """What is wrong with the role's address, accounts and secrets, each message naming the variable and the
    fix; empty when all is well. Passwords are never quoted back."""
    errors: list[str] = []
    try:
        address = ipaddress.IPv4Address(str(bind_address))
    except ValueError:
        address = None
    if address is None or address.is_unspecified or address.is_multicast or str(address) == "255.255.255.255":
        errors.append(
            f"filegator_docker_bind_address: {bind_address!r} is not a host's IPv4 address. Give the host's private "
            "address (never 0.0.0.0: FileGator must not answer on any other address)."
        )
    if not isinstance(admin_password, str) or len(admin_password) < 12:
        errors.append(
            "filegator_docker_admin_password: missing or shorter than 12 characters. site.yml generates it into "
            "SSM; pass a long random one when you run the role alone."
        )
    if not isinstance(csrf_key, str) or len(csrf_key) < 32:
        errors.append(
            "filegator_docker_csrf_key: missing or shorter than 32 characters. site.yml generates it into SSM; "
            "pass a long random one when you run the role alone."
        )
    wanted = str(permissions).split("|") if permissions else []
    unknown = [p for p in wanted if p not in PERMISSIONS]
    if unknown:
        errors.append(
            f"filegator_docker_member_permissions: {'|'.join(unknown)} unknown. Join some of "
            f"{'|'.join(PERMISSIONS)} with '|'."
        )
    errors += member_list_errors(users, "filegator_docker_users")
    for user in users if isinstance(users, list) else []:
        name = user.get("username") if isinstance(user, dict) else None
        if name in (ADMIN, GUEST):
            errors.append(f"filegator_docker_users: {name} is FileGator's own {name} account. Pick another username.")
        elif (
            isinstance(name, str)
            and user.get("state", "present") == "present"
            and (not isinstance(user.get("password"), str) or len(user["password"]) < 12)
        ):
            errors.append(
                f"filegator_docker_users: {name}: password missing or shorter than 12 characters. site.yml "
                "generates one per member into SSM."
            )
    return errors


def _holds(password: str, hashed: Any) -> bool:
    """Whether a FileGator (PHP) bcrypt hash is the hash of password."""
    if not isinstance(hashed, str) or not re.fullmatch(r"\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}", hashed):
        return False
    return bcrypt.checkpw(password.encode(), ("$2b$" + hashed[4:]).encode())


def _hash(password: str) -> str:
    return "$2y$" + bcrypt.hashpw(password.encode(), bcrypt.gensalt(BCRYPT_COST)).decode()[4:]


def filegator_users(
    current: Any,
    admin_password: str,
    users: list[dict[str, Any]],
    permissions: str = "read|write|upload|download|batchdownload|zip",
    homedir: str = "/",
) -> dict[str, dict[str, str]]:
    """FileGator's users.json (its parsed content: a JSON object or array of accounts, or None when the
    file does not exist yet) as the role wants it:

    - `admin`: role admin, every permission, the password admin_password;
    - `guest`: kept (FileGator needs the account) but disabled: no permissions, no password;
    - each present user: role user, the given permissions and home, the given password;
    - each absent user: removed; accounts the role does not know (made in FileGator's UI) are kept.

    A hash is replaced only when it does not hold the wanted password, so the result equals the input
    when nothing has to change (the role writes the file only then). Keys are FileGator's own (the
    position numbers PHP gives an array); new accounts get the next number."""
    if not HAS_BCRYPT:
        raise AnsibleFilterError(
            "filegator_users needs the Python package bcrypt on the controller (requirements.txt)."
        )
    if current is None or current == "":
        current = {}
    if isinstance(current, list):
        current = {str(i): u for i, u in enumerate(current)}
    if not isinstance(current, dict) or not all(isinstance(u, dict) for u in current.values()):
        raise AnsibleFilterError("filegator_users: users.json is not FileGator's object of accounts.")
    result = {str(k): dict(v) for k, v in current.items()}
    by_name = {u.get("username"): k for k, u in result.items()}

    def put(name: str, fields: dict[str, str], password: str | None) -> None:
        key = by_name.get(name)
        if key is None:
            key = str(max((int(k) for k in result if k.isdigit()), default=0) + 1)
            by_name[name] = key
            result[key] = {"username": name}
        account = result[key]
        account.update(fields)
        if password is None:
            account["password"] = ""
        elif not _holds(password, account.get("password")):
            account["password"] = _hash(password)

    known = result.get(by_name.get(ADMIN, ""), {})
    admin = {"name": known.get("name", "Admin"), "role": "admin", "homedir": "/", "permissions": ADMIN_PERMISSIONS}
    put(ADMIN, admin, admin_password)
    known = result.get(by_name.get(GUEST, ""), {})
    put(GUEST, {"name": known.get("name", "Guest"), "role": "guest", "homedir": "/", "permissions": ""}, None)
    for user in users or []:
        name = user["username"]
        if user.get("state", "present") == "absent":
            if name in by_name:
                del result[by_name.pop(name)]
            continue
        known = result.get(by_name.get(name, ""), {})
        fields = {"name": known.get("name", name), "role": "user", "homedir": homedir, "permissions": permissions}
        put(name, fields, user["password"])
    return result


class FilterModule:
    """research-env filters: FileGator."""

    def filters(self) -> dict[str, Any]:
        return {
            "filegator_errors": filegator_errors,
            "filegator_member": filegator_member,
            "filegator_members_present": filegator_members_present,
            "filegator_team": filegator_team,
            "filegator_users": filegator_users,
        }
