# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for teardown's output: the plan and the blockers for people, what failed, the record's details."""

from __future__ import annotations

from typing import Any

from ansible_collections.research_env.core.plugins.plugin_utils.teardown_resources import DATA_TYPES


def describe(resources: list[dict[str, Any]]) -> list[str]:
    """One line per resource for people: type, id, name, and the result when there is one."""
    lines = []
    for res in resources:
        words = [res.get("type", ""), res.get("id", ""), res.get("name", ""), res.get("result", "")]
        if res.get("keep_because"):
            words.append("(kept: " + res["keep_because"] + ")")
        lines.append(" ".join(str(w) for w in words if w))
    return lines


def describe_blockers(blockers: list[dict[str, str]]) -> list[str]:
    """One line per blocker: what, why, and what to do."""
    return [
        f"{b['type']} {b['id']}{' (' + b['name'] + ')' if b.get('name') and b['name'] != b['id'] else ''} {b['why']}. "
        f"What to do: {b['fix']}."
        for b in blockers
    ]


def key_may_go(log: list[dict[str, Any]]) -> list[str]:
    """Data holders of the plan whose deletion failed: while any is left, the key stays."""
    return [
        f"{e['type']} {e['id']}"
        for e in log
        if e.get("type") in DATA_TYPES and str(e.get("result", "")).startswith("failed")
    ]


def record_details(details: dict[str, Any]) -> str:
    """A record entry's details on one Markdown line: lists are summarised (the JSON has them all)."""
    parts = []
    for key, value in (details or {}).items():
        if key == "ebs_volumes_with_it":
            vols = [f"{v.get('volume_id')}" + (f" ({v['size_gb']} GiB)" if v.get("size_gb") else "") for v in value]
            value = ", ".join(vols) or "none"
        elif isinstance(value, list):
            value = f"{len(value)} listed in the JSON"
        elif isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        parts.append(f"{key}: {value}")
    return ", ".join(parts).replace("|", "/")


class FilterModule:
    """research-env teardown filters: the record."""

    def filters(self) -> dict[str, Any]:
        return {
            "describe": describe,
            "describe_blockers": describe_blockers,
            "failed_data_holders": key_may_go,
            "record_details": record_details,
        }
