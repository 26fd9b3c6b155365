# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight: extra_tags and tag values, as EC2, S3, IAM and KMS all take them."""

from __future__ import annotations

import unicodedata
from typing import Any

from ansible_collections.research_env.core.plugins.plugin_utils.checks import label

# Tags research-env sets itself on some resource; IAM role tag keys are case-insensitive, so a
# user key equal to one of these but for case would replace it there.
RESERVED_TAGS = ("Project", "Environment", "ManagedBy", "Name", "Role", "Tier")
MAX_TAGS_PER_RESOURCE = 50
MAX_EXTRA_TAGS = MAX_TAGS_PER_RESOURCE - len(RESERVED_TAGS)
# What EC2, S3, IAM and KMS all take in tag keys and values: letters, numbers, spaces and these.
TAG_SYMBOLS = "_.:/=+-@"
TAG_CHARACTERS_HINT = "Use letters, digits, spaces and _ . : / = + - @"


def _tag_text_problem(text: str) -> str | None:
    r"""The first character EC2, S3, IAM or KMS would refuse in a tag, or None.

    IAM's pattern is [\p{L}\p{Z}\p{N}_.:/=+\-@]; Python's re has no \p{...}, so the Unicode
    categories are read directly. Of the separators only spaces (Zs) pass: EC2 and S3 name
    "spaces", and a line separator in a tag is no one's intent."""
    for ch in text:
        category = unicodedata.category(ch)
        if category[0] not in "LN" and category != "Zs" and ch not in TAG_SYMBOLS:
            return f"{ch!r} (U+{ord(ch):04X})"
    return None


def tag_value_errors(value: Any, name: str) -> list[str]:
    """A tag value: 0-256 characters AWS takes, not starting with aws: (IAM refuses that)."""
    if not isinstance(value, str):
        return [f"{name}: {value!r} is not a string. Tag values are text: quote it."]
    if len(value) > 256:
        return [f"{name}: {len(value)} characters, but AWS takes at most 256 in a tag value. Shorten it."]
    bad = _tag_text_problem(value)
    if bad is not None:
        return [f"{name}: {value!r} contains {bad}, which AWS refuses in a tag value. {TAG_CHARACTERS_HINT}."]
    if value.lower().startswith("aws:"):
        return [f"{name}: {value!r} starts with 'aws:', which AWS keeps for its own tags. Choose another value."]
    return []


def _tag_key_problem(key: Any) -> str | None:
    if not isinstance(key, str):
        return "is not a string"
    if not 1 <= len(key) <= 128:
        return f"has {len(key)} characters; AWS takes 1 to 128 in a tag key"
    bad = _tag_text_problem(key)
    if bad is not None:
        return f"contains {bad}, which AWS refuses in a tag key. {TAG_CHARACTERS_HINT}"
    if key.lower().startswith("aws:"):
        return "starts with 'aws:', which AWS keeps for its own tags"
    return None


def check_tags(config: dict[str, Any]) -> list[str]:
    """extra_tags go on every resource beside research-env's own tags (see RESERVED_TAGS)."""
    tags = config.get("extra_tags")
    if tags in (None, {}):
        return []
    if not isinstance(tags, dict):
        return [f"extra_tags: {tags!r} is not a mapping. Write it as {{CostCenter: '1234'}}."]
    errors = []
    if len(tags) > MAX_EXTRA_TAGS:
        errors.append(
            f"extra_tags: {len(tags)} tags, but AWS takes at most {MAX_TAGS_PER_RESOURCE} on a resource and "
            f"research-env adds up to {len(RESERVED_TAGS)} of its own ({', '.join(RESERVED_TAGS)}). "
            f"Keep at most {MAX_EXTRA_TAGS}."
        )
    reserved = {key.lower(): key for key in RESERVED_TAGS}
    seen: dict[str, str] = {}
    for key, value in tags.items():
        problem = _tag_key_problem(key)
        if problem is not None:
            errors.append(f"extra_tags: {key!r} {problem}. Rename the key.")
            continue
        setting = f"extra_tags.{label(key)}"
        if key in RESERVED_TAGS:
            errors.append(f"{setting}: set by research-env itself. Remove it from extra_tags.")
        elif key.lower() in reserved:
            errors.append(
                f"{setting}: the same key as research-env's own {reserved[key.lower()]} but for case; IAM treats tag "
                "keys case-insensitively, so it would replace that tag. Remove it from extra_tags."
            )
        elif key.lower() in seen:
            errors.append(
                f"{setting}: the same key as extra_tags.{label(seen[key.lower()])} but for case; IAM treats tag keys "
                "case-insensitively, so one would replace the other. Keep one."
            )
        else:
            seen[key.lower()] = key
            errors += tag_value_errors(value, setting)
    return errors


class FilterModule:
    """research-env preflight: tags."""

    def filters(self) -> dict[str, Any]:
        return {
            "tag_errors": check_tags,
        }
