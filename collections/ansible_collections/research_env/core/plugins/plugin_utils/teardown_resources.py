# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared by teardown's analysis: the order of deletion, the kinds of resources, and how the info
modules' answers are read (tags, state, name, id)."""

from __future__ import annotations

from typing import Any

# Teardown order: what depends on a resource goes before it. Instances first (their network
# interfaces hold subnets and groups, their roles hold profiles); NAT gateways before the Elastic
# IPs they use; the Client VPN endpoint (its routes, rules and associations with it) before its
# certificate in ACM and before the subnet and group it uses; the image pipeline's trigger before
# its function, the function before its log group and role; rules that make groups refer to each
# other in a cycle before any group; the buckets and the KMS key last, after everything that could
# still write with them.
TEARDOWN_ORDER = (
    "event_rule",
    "instance",
    "client_vpn_endpoint",
    "acm_certificate",
    "bucket_notification",
    "lambda_function",
    "log_group",
    "nat_gateway",
    "elastic_ip",
    "key_pair",
    "instance_profile",
    "iam_role",
    "ssm_parameter",
    "volume",
    "snapshot",
    "efs",
    "vpc_endpoint",
    "security_group_rules",
    "security_group",
    "route_table",
    "subnet",
    "internet_gateway",
    "vpc",
    "bucket",
    "kms_key",
    "budget",
)
# Resources of the VPC a blocker may be the environment's own with its tags removed.
NETWORK_TYPES = (
    "instance",
    "network_interface",
    "security_group",
    "subnet",
    "route_table",
    "vpc_endpoint",
    "nat_gateway",
    "internet_gateway",
    "vpc",
)
# Plan entries whose deletion destroys data encrypted with the key: if one of them fails, the key
# is kept (what failed still holds data only the key can read).
DATA_TYPES = ("instance", "volume", "snapshot", "efs", "bucket")

# What s3_bucket_contents_info counts, kept in the record of a destroyed bucket.
BUCKET_COUNTS = ("current_objects", "versions", "noncurrent_versions", "delete_markers", "bytes")
# States in which a resource no longer exists (or is on its way out by itself).
GONE_STATES = {"terminated", "shutting-down", "deleted", "deleting", "rejected", "failed", "expired"}


def tags_of(resource: dict[str, Any]) -> dict[str, str]:
    tags = resource.get("tags") or resource.get("tag_set") or {}
    if isinstance(tags, list):  # boto3 shape: [{"Key": .., "Value": ..}]
        return {t.get("Key", t.get("key")): t.get("Value", t.get("value")) for t in tags}
    return tags


def state_of(resource: dict[str, Any]) -> str:
    state = resource.get("state")
    if isinstance(state, dict):
        state = state.get("name")
    return str(state or resource.get("life_cycle_state") or "").lower()


def name_of(resource: dict[str, Any]) -> str:
    return (
        tags_of(resource).get("Name")
        or resource.get("name")
        or resource.get("group_name")
        or resource.get("role_name")
        or resource.get("instance_profile_name")
        or ""
    )


def id_of(resource: dict[str, Any], *keys: str) -> str:
    for key in keys:
        if resource.get(key):
            return str(resource[key])
    return str(resource.get("id", ""))


def reaches(edges: dict[str, set[str]], start: str, goal: str) -> bool:
    """Whether `goal` can be reached from `start` along at least one edge (a cycle when equal)."""
    seen: set[str] = set()
    todo = list(edges.get(start, ()))
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            todo.extend(edges.get(node, ()))
    return False
