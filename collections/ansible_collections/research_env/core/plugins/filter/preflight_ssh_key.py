# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight: the SSH public key file holds one OpenSSH public key whose blob matches its type."""

from __future__ import annotations

import base64
import binascii
import os
import struct
from typing import Any

SSH_KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)


def ssh_public_key_errors(path: Any) -> list[str]:
    """The key file must exist and hold one OpenSSH public key whose blob matches its type."""
    name = "ssh_public_key_file"
    if not isinstance(path, str) or not path:
        return [f"{name}: not set. Point it at your SSH public key, e.g. ~/.ssh/id_ed25519.pub."]
    full = os.path.expanduser(path)
    if not os.path.isfile(full):
        return [f"{name}: {path} does not exist. Create a key with 'ssh-keygen -t ed25519' or point to yours."]
    try:
        with open(full, encoding="ascii") as handle:
            text = handle.read().strip()
    except (OSError, UnicodeDecodeError):
        return [f"{name}: {path} cannot be read as a text public key. Point it at the .pub file."]
    if "PRIVATE KEY" in text:
        return [f"{name}: {path} is a PRIVATE key. Point it at the matching .pub file instead."]
    parts = text.split()
    if len(text.splitlines()) != 1 or len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
        return [f"{name}: {path} is not one OpenSSH public key line ('ssh-ed25519 AAAA... comment')."]
    try:
        blob = base64.b64decode(parts[1], validate=True)
        (length,) = struct.unpack(">I", blob[:4])
        embedded = blob[4 : 4 + length].decode("ascii")
    except (binascii.Error, struct.error, UnicodeDecodeError):
        return [f"{name}: {path} has a damaged key body. Copy the .pub file again or regenerate the key."]
    if embedded != parts[0]:
        return [f"{name}: {path} says {parts[0]} but holds a {embedded} key. Regenerate or recopy the .pub file."]
    if parts[0] == "ssh-rsa" and len(blob) < 256 + 20:
        return [f"{name}: {path} is an RSA key shorter than 2048 bits. Use ed25519 or RSA of 3072 bits."]
    return []


class FilterModule:
    """research-env preflight: the SSH key."""

    def filters(self) -> dict[str, Any]:
        return {
            "ssh_public_key_errors": ssh_public_key_errors,
        }
