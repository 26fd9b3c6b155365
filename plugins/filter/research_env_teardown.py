"""Filters for research-env's teardown: what was found, in the order it is deleted, and what of it
holds data. Plain functions, unit-tested without Ansible."""

from __future__ import annotations

from typing import Any

# Teardown order: what depends on a resource goes before it. Instances first (their ENIs hold
# subnets and groups, their roles hold profiles); NAT gateways before the Elastic IPs they use;
# the bucket and the KMS key last, after everything that could still write with them.
TEARDOWN_ORDER = (
    "instance",
    "nat_gateway",
    "elastic_ip",
    "key_pair",
    "instance_profile",
    "iam_role",
    "efs",
    "vpc_endpoint",
    "security_group",
    "route_table",
    "subnet",
    "internet_gateway",
    "vpc",
    "bucket",
    "kms_key",
)
# Security groups that others refer to go after them: efs refers to research; research and
# production refer to dmz, which goes last.
SG_TIER_ORDER = {"efs": 0, "research": 1, "production": 1, "dmz": 3}


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    tags = resource.get("tags") or {}
    if isinstance(tags, list):  # boto3 shape: [{"Key": .., "Value": ..}]
        return {t.get("Key", t.get("key")): t.get("Value", t.get("value")) for t in tags}
    return tags


# What s3_bucket_contents_info counts, kept in the record of a destroyed bucket.
BUCKET_COUNTS = ("current_objects", "versions", "noncurrent_versions", "delete_markers", "bytes")


def _bucket_name(res: dict[str, Any]) -> str:
    """A bucket's name from s3_bucket_contents_info's looped result (item.name) or a plain entry."""
    return res.get("name") or res["item"]["name"]


def data_holders(found: dict[str, list[dict[str, Any]]]) -> list[str]:
    """What would destroy research data if deleted: buckets holding any object version or delete
    marker, and every EFS file system (its metered size lags by up to an hour, so an empty-looking
    one may not be)."""
    held = []
    for res in found.get("buckets", []):
        if res.get("exists", True) and (res.get("versions", 0) or res.get("delete_markers", 0)):
            held.append(
                f"bucket {_bucket_name(res)}: {res.get('versions', 0)} object versions "
                f"({res.get('current_objects', 0)} current), {res.get('delete_markers', 0)} delete markers"
            )
    for res in found.get("file_systems", []):
        held.append(f"EFS file system {res['file_system_id']} ({_tags(res).get('Name', '')})")
    return held


def teardown_plan(found: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Turn the info modules' answers into one ordered list of resources to delete.

    Each entry has type, id and name (the Name tag), plus what its delete task needs."""
    plan: list[dict[str, Any]] = []

    def add(kind: str, rid: str, res: dict[str, Any], **extra: Any) -> None:
        name = _tags(res).get("Name") or res.get("name") or res.get("role_name") or ""
        plan.append({"type": kind, "id": rid, "name": name, **extra})

    for res in found.get("instances", []):
        add("instance", res["instance_id"], res)
    for res in found.get("nat_gateways", []):
        add("nat_gateway", res["nat_gateway_id"], res)
    for res in found.get("elastic_ips", []):
        add("elastic_ip", res["allocation_id"], res, public_ip=res.get("public_ip"))
    for res in found.get("key_pairs", []):
        add("key_pair", res.get("key_pair_id") or res["key_name"], res, key_name=res["key_name"])
    for res in found.get("instance_profiles", []):
        add("instance_profile", res["instance_profile_name"], res)
    for res in found.get("iam_roles", []):
        add("iam_role", res["role_name"], res)
    for res in found.get("file_systems", []):
        add("efs", res["file_system_id"], res)
    for res in found.get("vpc_endpoints", []):
        add("vpc_endpoint", res["vpc_endpoint_id"], res)
    groups = [g for g in found.get("security_groups", []) if g.get("group_name") != "default"]
    for res in sorted(groups, key=lambda g: (SG_TIER_ORDER.get(_tags(g).get("Tier", ""), 2), g["group_id"])):
        add("security_group", res["group_id"], res, vpc_id=res.get("vpc_id"))
    for res in found.get("route_tables", []):
        rid = res.get("route_table_id") or res["id"]
        add("route_table", rid, res, vpc_id=res.get("vpc_id"))
    for res in found.get("subnets", []):
        add("subnet", res.get("subnet_id") or res["id"], res, vpc_id=res.get("vpc_id"), cidr=res.get("cidr_block"))
    for res in found.get("internet_gateways", []):
        add("internet_gateway", res["internet_gateway_id"], res)
    for res in found.get("vpcs", []):
        add("vpc", res.get("vpc_id") or res["id"], res, cidr=res.get("cidr_block"))
    for res in found.get("buckets", []):
        if res.get("exists", True):
            add(
                "bucket",
                _bucket_name(res),
                {"name": _bucket_name(res)},
                details={k: res.get(k, 0) for k in BUCKET_COUNTS},
            )
    for res in found.get("kms_keys", []):
        add("kms_key", res["key_id"], res, details={"alias": ", ".join(res.get("aliases", []))})
    return sorted(plan, key=lambda entry: TEARDOWN_ORDER.index(entry["type"]))


def describe(resources: list[dict[str, Any]]) -> list[str]:
    """One line per resource for people: type, id, name, and the result when there is one."""
    lines = []
    for res in resources:
        words = [res.get("type", ""), res.get("id", ""), res.get("name", ""), res.get("result", "")]
        lines.append(" ".join(str(w) for w in words if w))
    return lines


class FilterModule:
    """research-env teardown filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "research_env_teardown_plan": teardown_plan,
            "research_env_data_holders": data_holders,
            "research_env_describe": describe,
        }
