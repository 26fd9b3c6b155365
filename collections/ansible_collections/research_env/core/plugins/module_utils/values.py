# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared by research-env's filters and modules: values read the way Ansible reads them, and times
written the way the records write them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

# The words Ansible 2.19's bool filter reads (any case, nothing around them).
BOOL_WORDS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}
DIGITS_RE = re.compile(r"[0-9]+")


def is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def as_bool(value: Any) -> Any:
    """`-e destroy_data=true` arrives as a string: read it the way the playbooks' `| bool` will."""
    if isinstance(value, str) and value.lower() in BOOL_WORDS:
        return BOOL_WORDS[value.lower()]
    return value


def as_int(value: Any) -> int | None:
    """An integer setting as an int, or None when it is not one.

    `-e jupyter_port=9999` arrives as the string "9999": plain decimal digits mean that number, as
    they do to the consumers (`| int`, modules' int options). Signs, spaces, "1e3", "0x10",
    "8888.0", floats and booleans are not numbers here.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and DIGITS_RE.fullmatch(value):
        try:
            return int(value)
        except ValueError:  # more digits than Python converts: not a sane setting either
            return None
    return None


def iso_utc(value: datetime | str | None) -> str | None:
    """ISO 8601 in UTC with a Z, the form the destruction record uses; strings pass unchanged."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
