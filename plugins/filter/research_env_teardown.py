# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for research-env's teardown: from what discovery found, the plan (what is deleted, in
dependency order), what holds data (refused unless destroy_data), and what blocks the plan
(anything teardown will not touch that would make a deletion fail or destroy data: resources made
by hand inside the environment's VPC, rules of other groups that refer to its groups, data encrypted
with its KMS key outside its tagged resources). Plain functions, unit-tested without Ansible.

The rule that makes teardown safe: it deletes only what carries the environment's tags
(Environment and ManagedBy; IAM roles by the environment's path), and it schedules the KMS key for
deletion only when nothing encrypted with it survives the plan.
"""

from __future__ import annotations

import re
from typing import Any

# Teardown order: what depends on a resource goes before it. Instances first (their network
# interfaces hold subnets and groups, their roles hold profiles); NAT gateways before the Elastic
# IPs they use; rules that make groups refer to each other in a cycle before any group; the bucket
# and the KMS key last, after everything that could still write with them.
TEARDOWN_ORDER = (
    "instance",
    "nat_gateway",
    "elastic_ip",
    "key_pair",
    "instance_profile",
    "iam_role",
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


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    tags = resource.get("tags") or resource.get("tag_set") or {}
    if isinstance(tags, list):  # boto3 shape: [{"Key": .., "Value": ..}]
        return {t.get("Key", t.get("key")): t.get("Value", t.get("value")) for t in tags}
    return tags


def _state(resource: dict[str, Any]) -> str:
    state = resource.get("state")
    if isinstance(state, dict):
        state = state.get("name")
    return str(state or resource.get("life_cycle_state") or "").lower()


def _name(resource: dict[str, Any]) -> str:
    return (
        _tags(resource).get("Name")
        or resource.get("name")
        or resource.get("group_name")
        or resource.get("role_name")
        or resource.get("instance_profile_name")
        or ""
    )


def _id(resource: dict[str, Any], *keys: str) -> str:
    for key in keys:
        if resource.get(key):
            return str(resource[key])
    return str(resource.get("id", ""))


def _reaches(edges: dict[str, set[str]], start: str, goal: str) -> bool:
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


class Analysis:
    """One pass over what discovery found. Keeps the plan, the refusals and the blockers apart so
    that teardown can refuse with every reason at once, before anything is deleted."""

    def __init__(self, found: dict[str, Any], destroy_data: bool) -> None:
        self.found = found
        self.destroy_data = bool(destroy_data)
        self.env_tags = {"Environment": found.get("env_name"), "ManagedBy": found.get("managed_by")}
        self.plan: list[dict[str, Any]] = []
        self.refusals: list[str] = []
        self.blockers: list[dict[str, str]] = []
        self.notes: list[str] = []
        self.vpc_ids = {_id(v, "vpc_id") for v in found.get("vpcs", []) if self.ours(v)}
        # Key users that stay after the plan: the key must then not be scheduled.
        self.key_users_kept: list[str] = []
        # The regions whose environment of this env_name holds the IAM roles found, when not this one.
        self.iam_regions_elsewhere: list[str] = []

    # -- helpers

    def ours(self, resource: dict[str, Any]) -> bool:
        tags = _tags(resource)
        return all(tags.get(k) == v for k, v in self.env_tags.items())

    def in_vpc(self, resource: dict[str, Any]) -> bool:
        return resource.get("vpc_id") in self.vpc_ids

    def add(self, kind: str, rid: str, res: dict[str, Any], **extra: Any) -> None:
        self.plan.append({"type": kind, "id": rid, "name": _name(res), **extra})

    def retag(self, rid: str) -> str:
        """The command that puts the environment's tags back on an EC2 resource."""
        env, managed = self.env_tags["Environment"], self.env_tags["ManagedBy"]
        return f"aws ec2 create-tags --resources {rid} --tags Key=Environment,Value={env} Key=ManagedBy,Value={managed}"

    def block(self, kind: str, rid: str, name: str, why: str, fix: str) -> None:
        if name.startswith(f"{self.env_tags['Environment']}-") and kind in NETWORK_TYPES:
            # Named as research-env names this environment's resources: most likely its own, with its
            # tags removed by hand; deleting it (or what runs in it) would be the wrong fix.
            fix = (
                f"its Name says it is the environment's own: put its tags back ({self.retag(rid)}) and run "
                f"teardown again; if it is not, {fix}"
            )
        self.blockers.append({"type": kind, "id": rid, "name": name, "why": why, "fix": fix})

    # -- the parts

    def instances(self) -> None:
        seen: dict[str, dict[str, Any]] = {}
        for inst in self.found.get("instances", []):
            seen.setdefault(inst["instance_id"], inst)
        usage = self.found.get("key_usage") or {}
        usage_sizes = {v["volume_id"]: v for v in usage.get("volumes", [])}
        key_arn = (usage.get("key") or {}).get("arn")
        self.our_instances = {i: r for i, r in seen.items() if self.ours(r) and _state(r) not in GONE_STATES}
        self.foreign_instances = {
            i: r for i, r in seen.items() if not self.ours(r) and self.in_vpc(r) and _state(r) not in GONE_STATES
        }
        self.volumes_surviving: dict[str, dict[str, Any]] = {}
        self.volumes_with_instances: set[str] = set()
        for iid, inst in sorted(self.our_instances.items()):
            with_it = []
            for bdm in inst.get("block_device_mappings") or []:
                ebs = bdm.get("ebs") or {}
                vid = ebs.get("volume_id")
                if not vid:
                    continue
                if ebs.get("delete_on_termination"):
                    self.volumes_with_instances.add(vid)
                    vol = usage_sizes.get(vid, {})
                    with_it.append(
                        {
                            "volume_id": vid,
                            "device": bdm.get("device_name"),
                            "size_gb": vol.get("size"),
                            # The volumes kms_key_usage_info found are those encrypted with the key.
                            "kms_key": key_arn if vid in usage_sizes else None,
                        }
                    )
                else:
                    self.volumes_surviving[vid] = {
                        "volume_id": vid,
                        "instance_id": iid,
                        "device": bdm.get("device_name"),
                    }
            self.add("instance", iid, inst, details={"ebs_volumes_with_it": with_it})
            if _tags(inst).get("Role") == "jupyter":
                self.notes.append(
                    f"{_name(inst)}'s root volume goes with it: what Jupyter holds is kept only as far as it is in "
                    "the bucket. To keep the last changes, run site.yml --tags sync before the teardown."
                )
        for iid, inst in sorted(self.foreign_instances.items()):
            self.block(
                "instance",
                iid,
                _name(inst),
                f"runs in the environment's subnet {inst.get('subnet_id')} but was not created by research-env "
                "(it lacks the environment's tags), so the subnet, its security groups and the VPC cannot be deleted",
                f"save what it holds, then terminate it (aws ec2 terminate-instances --instance-ids {iid}) "
                "and run teardown again",
            )

    def network_interfaces(self) -> None:
        explained: set[str] = set()
        for inst in self.our_instances.values():
            for eni in inst.get("network_interfaces") or []:
                if (eni.get("attachment") or {}).get("delete_on_termination"):
                    explained.add(eni.get("network_interface_id"))
        for nat in self.our_nat_gateways:
            explained |= {a.get("network_interface_id") for a in nat.get("nat_gateway_addresses") or []}
        for fs in self.found.get("file_systems", []):
            if self.ours(fs):
                explained |= {t.get("network_interface_id") for t in fs.get("mount_targets") or []}
        for endpoint in self.our_endpoints:
            explained |= set(endpoint.get("network_interface_ids") or [])
        for eni in self.found.get("network_interfaces", []):
            eid = _id(eni, "network_interface_id", "id")
            if eid in explained or not self.in_vpc(eni) or _state(eni) in GONE_STATES:
                continue
            attached_to = (eni.get("attachment") or {}).get("instance_id")
            if attached_to in self.foreign_instances:
                continue  # the instance's own blocker names it
            label = eni.get("description") or eni.get("interface_type") or "network interface"
            if attached_to in self.our_instances:
                why = (
                    f"is attached to {attached_to} but would survive its termination (DeleteOnTermination false), "
                    f"and keep subnet {eni.get('subnet_id')} from being deleted"
                )
                fix = (
                    f"detach and delete it (aws ec2 detach-network-interface, then aws ec2 delete-network-interface "
                    f"--network-interface-id {eid}) and run teardown again"
                )
            elif eni.get("requester_managed"):
                why = (
                    f"belongs to a service resource ({label}, requester {eni.get('requester_id', '?')}) in subnet "
                    f"{eni.get('subnet_id')}, which research-env did not create"
                )
                fix = "delete the resource that owns it (the interface goes with it), then run teardown again"
            else:
                why = (
                    f"was made by hand ({label}) in subnet {eni.get('subnet_id')}: "
                    "the subnet cannot be deleted while it exists"
                )
                fix = (
                    "delete it (aws ec2 delete-network-interface --network-interface-id "
                    f"{eid}; detach it first if attached) and run teardown again"
                )
            self.block("network_interface", eid, _name(eni), why, fix)

    def network(self) -> None:
        found = self.found
        lost = {}
        for res in found.get("tagged_subnets", []) + found.get("tagged_security_groups", []):
            if self.ours(res) and res.get("vpc_id") and res["vpc_id"] not in self.vpc_ids:
                lost.setdefault(res["vpc_id"], []).append(_id(res, "subnet_id", "group_id"))
        for vpc_id, held in sorted(lost.items()):
            self.block(
                "vpc",
                vpc_id,
                "",
                f"holds the environment's {', '.join(sorted(held))} but lacks its tags itself (removed by hand?), so "
                "teardown cannot tell the VPC and what else is in it are the environment's",
                f"put its tags back ({self.retag(vpc_id)}) and run teardown again",
            )
        self.our_nat_gateways = []
        for nat in found.get("nat_gateways", []):
            if _state(nat) in GONE_STATES:
                continue
            nid = _id(nat, "nat_gateway_id")
            if self.ours(nat):
                self.our_nat_gateways.append(nat)
                self.add("nat_gateway", nid, nat)
            elif self.in_vpc(nat):
                self.block(
                    "nat_gateway",
                    nid,
                    _name(nat),
                    f"sits in the environment's subnet {nat.get('subnet_id')} but was not created by research-env",
                    f"delete it (aws ec2 delete-nat-gateway --nat-gateway-id {nid}) and run teardown again",
                )
        self.our_endpoints = []
        for endpoint in found.get("vpc_endpoints", []):
            if _state(endpoint) in GONE_STATES:
                continue
            eid = _id(endpoint, "vpc_endpoint_id")
            if self.ours(endpoint):
                self.our_endpoints.append(endpoint)
                self.add("vpc_endpoint", eid, endpoint)
            elif self.in_vpc(endpoint):
                self.block(
                    "vpc_endpoint",
                    eid,
                    _name(endpoint),
                    f"is an endpoint ({endpoint.get('service_name')}) in the environment's VPC "
                    "that research-env did not create",
                    f"delete it (aws ec2 delete-vpc-endpoints --vpc-endpoint-ids {eid}) and run teardown again",
                )
        for subnet in found.get("subnets", []):
            sid = _id(subnet, "subnet_id")
            if self.ours(subnet):
                self.add("subnet", sid, subnet, vpc_id=subnet.get("vpc_id"), cidr=subnet.get("cidr_block"))
            elif self.in_vpc(subnet):
                self.block(
                    "subnet",
                    sid,
                    _name(subnet),
                    f"({subnet.get('cidr_block')}) is in the environment's VPC but was not created by research-env",
                    f"delete what runs in it, then the subnet (aws ec2 delete-subnet --subnet-id {sid}), "
                    "and run teardown again",
                )
        for table in found.get("route_tables", []):
            tid = _id(table, "route_table_id")
            main = any(a.get("main") for a in table.get("associations") or [])
            if self.ours(table):
                self.add("route_table", tid, table, vpc_id=table.get("vpc_id"))
            elif self.in_vpc(table) and not main:
                self.block(
                    "route_table",
                    tid,
                    _name(table),
                    "is a route table in the environment's VPC that research-env did not create",
                    f"delete it (aws ec2 delete-route-table --route-table-id {tid}) and run teardown again",
                )
        for acl in found.get("network_acls", []):
            aid = _id(acl, "nacl_id", "network_acl_id")
            if self.in_vpc(acl) and not acl.get("is_default"):
                self.block(
                    "network_acl",
                    aid,
                    _name(acl),
                    "is a network ACL in the environment's VPC that research-env did not create",
                    f"delete it (aws ec2 delete-network-acl --network-acl-id {aid}) and run teardown again",
                )
        seen_igw = set()
        for igw in found.get("internet_gateways", []):
            gid = _id(igw, "internet_gateway_id")
            if gid in seen_igw:
                continue
            seen_igw.add(gid)
            attached = [a.get("vpc_id") for a in igw.get("attachments") or []]
            if self.ours(igw):
                self.add("internet_gateway", gid, igw)
            elif any(v in self.vpc_ids for v in attached):
                self.block(
                    "internet_gateway",
                    gid,
                    _name(igw),
                    "is attached to the environment's VPC but was not created by research-env",
                    f"detach and delete it (aws ec2 detach-internet-gateway --internet-gateway-id {gid} --vpc-id "
                    f"{attached[0]}; aws ec2 delete-internet-gateway --internet-gateway-id {gid})",
                )
        for peering in found.get("vpc_peering_connections", []):
            pid = _id(peering, "vpc_peering_connection_id")
            status = ((peering.get("status") or {}).get("code") or "").lower()
            sides = {
                (peering.get("requester_vpc_info") or {}).get("vpc_id"),
                (peering.get("accepter_vpc_info") or {}).get("vpc_id"),
            }
            if status not in GONE_STATES and sides & self.vpc_ids:
                self.block(
                    "vpc_peering_connection",
                    pid,
                    _name(peering),
                    f"connects the environment's VPC with another VPC (status {status})",
                    f"delete it (aws ec2 delete-vpc-peering-connection --vpc-peering-connection-id {pid}) "
                    "and run teardown again",
                )
        for vpc in found.get("vpcs", []):
            if self.ours(vpc):
                self.add("vpc", _id(vpc, "vpc_id"), vpc, cidr=vpc.get("cidr_block"))

    def security_groups(self) -> None:
        groups = {g["group_id"]: g for g in self.found.get("security_groups", [])}
        for g in self.found.get("referencing_groups", []):
            groups.setdefault(g["group_id"], g)
        ours = {
            gid: g for gid, g in groups.items() if self.ours(g) and g.get("group_name") != "default" and self.in_vpc(g)
        }
        defaults = {gid: g for gid, g in groups.items() if g.get("group_name") == "default" and self.in_vpc(g)}

        def refs(group: dict[str, Any]) -> dict[str, list[str]]:
            """Group ids a group's rules refer to, with the rules (for people)."""
            out: dict[str, list[str]] = {}
            for direction, key in (("in", "ip_permissions"), ("out", "ip_permissions_egress")):
                for perm in group.get(key) or []:
                    ports = perm.get("from_port"), perm.get("to_port")
                    span = (
                        "all" if perm.get("ip_protocol") == "-1" else f"{perm.get('ip_protocol')} {ports[0]}-{ports[1]}"
                    )
                    for pair in perm.get("user_id_group_pairs") or []:
                        if pair.get("group_id") and pair["group_id"] != group["group_id"]:
                            out.setdefault(pair["group_id"], []).append(f"{direction} {span}")
            return out

        for gid, group in sorted(groups.items()):
            if gid in ours:
                continue
            pointing = {t: r for t, r in refs(group).items() if t in ours}
            if gid in defaults:
                if pointing:  # the default group research-env emptied at deploy: drift it may undo
                    self.add("security_group_rules", gid, group, vpc_id=group.get("vpc_id"), group_name="default")
                continue
            if pointing:
                named = "; ".join(f"{_name(ours[t])} ({t}): {', '.join(r)}" for t, r in sorted(pointing.items()))
                self.block(
                    "security_group",
                    gid,
                    _name(group),
                    f"has rules that refer to the environment's groups, so they cannot be deleted: {named}",
                    f"remove those rules (aws ec2 revoke-security-group-ingress / revoke-security-group-egress "
                    f"--group-id {gid} ...) or delete the group, then run teardown again",
                )
            elif self.in_vpc(group):
                self.block(
                    "security_group",
                    gid,
                    _name(group),
                    "is a security group in the environment's VPC that research-env did not create",
                    f"delete it (aws ec2 delete-security-group --group-id {gid}) and run teardown again",
                )

        # Delete a group only once no other group of ours refers to it; a cycle (the efs and research
        # groups refer to each other) is broken by revoking the rules of one of its members first.
        edges = {gid: {t for t in refs(g) if t in ours} for gid, g in ours.items()}
        order: list[str] = []
        while edges:
            free = sorted(g for g in edges if not any(g in targets for src, targets in edges.items() if src != g))
            if not free:
                breaker = min(g for g in edges if _reaches(edges, g, g))
                self.add("security_group_rules", breaker, ours[breaker], vpc_id=ours[breaker].get("vpc_id"))
                edges[breaker] = set()
                continue
            for gid in free:
                order.append(gid)
                del edges[gid]
        for gid in order:
            self.add("security_group", gid, ours[gid], vpc_id=ours[gid].get("vpc_id"))

    def simple(self) -> None:
        found = self.found
        here = found.get("region")
        elsewhere = {
            r["role_name"]: role_region(r) for r in found.get("iam_roles", []) if role_region(r) not in (None, here)
        }
        self.iam_regions_elsewhere = sorted(set(elsewhere.values()))
        if elsewhere:
            self.notes.append(
                f"IAM roles {', '.join(sorted(elsewhere))} (and their instance profiles) serve this env_name in "
                f"{', '.join(self.iam_regions_elsewhere)}, not in {here}: left alone. Run teardown with "
                f"-e aws_region={self.iam_regions_elsewhere[0]} for that environment."
            )
        for res in found.get("elastic_ips", []):
            if self.ours(res):
                self.add("elastic_ip", res["allocation_id"], res, public_ip=res.get("public_ip"))
        for res in found.get("key_pairs", []):
            if self.ours(res):
                self.add("key_pair", res.get("key_pair_id") or res["key_name"], res, key_name=res["key_name"])
        for res in found.get("instance_profiles", []):
            if res["instance_profile_name"] not in elsewhere:
                self.add("instance_profile", res["instance_profile_name"], res)
        for res in found.get("iam_roles", []):
            if res["role_name"] not in elsewhere:
                self.add("iam_role", res["role_name"], res)

    def data(self) -> None:
        """Buckets, file systems, volumes and snapshots: ours are refused unless destroy_data;
        anything else that the key encrypts blocks the plan (teardown never deletes it, and the
        key cannot go while it exists)."""
        found = self.found
        usage = found.get("key_usage") or {}
        contents = {r.get("name") or r["item"]["name"]: r for r in found.get("bucket_contents", [])}
        self.unscanned: list[str] = []
        for bucket in found.get("buckets", []):
            name = bucket["name"]
            if bucket.get("object_scan") == "limit_reached":
                self.unscanned.append(f"bucket {name}: {bucket.get('versions_not_checked', '?')} object versions")
            if self.ours(bucket):
                held = contents.get(name, {})
                counts = {k: held.get(k, 0) for k in BUCKET_COUNTS}
                has_data = bool(counts["versions"] or counts["delete_markers"])
                if has_data and not self.destroy_data:
                    self.refusals.append(
                        f"bucket {name}: {counts['versions']} object versions ({counts['current_objects']} current), "
                        f"{counts['delete_markers']} delete markers"
                    )
                    self.key_users_kept.append(f"bucket {name}")
                self.add("bucket", name, {"name": name}, details=counts)
                continue
            uses = []
            if bucket.get("default_uses_key"):
                uses.append("its default encryption is the environment's KMS key")
            if bucket.get("objects_with_key_count"):
                sample = ", ".join(o["key"] for o in (bucket.get("objects_with_key") or [])[:3])
                uses.append(f"{bucket['objects_with_key_count']} object versions are encrypted with it ({sample})")
            if uses:
                self.key_users_kept.append(f"bucket {name}")
                self.block(
                    "bucket",
                    name,
                    name,
                    f"{'; '.join(uses)}, but the bucket lacks the environment's tags "
                    f"(Environment={self.env_tags['Environment']}, ManagedBy={self.env_tags['ManagedBy']}), "
                    "so teardown will not destroy it, and the key cannot be scheduled for deletion "
                    "while it holds that data",
                    "if it is the environment's bucket, put its tags back (aws s3api put-bucket-tagging) and run "
                    "teardown again; otherwise copy its objects under another key (aws s3 cp --recursive "
                    "--sse aws:kms --sse-kms-key-id <other key>) and change its default encryption first",
                )
            elif name == found.get("configured_bucket"):
                self.notes.append(
                    f"bucket {name} has the configured name but neither the environment's tags nor its key: left alone"
                )

        for fs in found.get("file_systems", []):
            fid = fs["file_system_id"]
            if self.ours(fs):
                if not self.destroy_data:
                    self.refusals.append(f"EFS file system {fid} ({_name(fs)})")
                    self.key_users_kept.append(f"EFS file system {fid}")
                self.add("efs", fid, fs)
        for fs in usage.get("file_systems", []):
            fid = fs["file_system_id"]
            if not any(e["type"] == "efs" and e["id"] == fid for e in self.plan):
                self.key_users_kept.append(f"EFS file system {fid}")
                self.block(
                    "efs",
                    fid,
                    _name(fs),
                    "is encrypted with the environment's KMS key but lacks the environment's tags",
                    "copy its data elsewhere and delete it, or put the environment's tags on it, "
                    "then run teardown again",
                )

        our_instance_ids = set(self.our_instances)
        for vol in usage.get("volumes", []):
            vid = vol["volume_id"]
            attached = {a.get("instance_id") for a in vol.get("attachments") or []}
            if vid in self.volumes_with_instances:
                continue
            if attached & our_instance_ids or self.ours(vol):
                self.volumes_surviving.setdefault(vid, {"volume_id": vid})
                self.volumes_surviving[vid].update(size_gb=vol.get("size"), tags=_tags(vol))
                continue
            self.key_users_kept.append(f"volume {vid}")
            where = (
                f"attached to {', '.join(sorted(a for a in attached if a))}" if attached - {None} else "not attached"
            )
            self.block(
                "volume",
                vid,
                _name(vol),
                f"is encrypted with the environment's KMS key ({where}) but lacks the environment's tags",
                f"copy what it holds, then delete it (aws ec2 delete-volume --volume-id {vid}), "
                "or put the environment's tags on it, and run teardown again",
            )
        for vid, vol in sorted(self.volumes_surviving.items()):
            if not self.destroy_data:
                self.refusals.append(
                    f"EBS volume {vid}"
                    + (f" of {vol['instance_id']} ({vol.get('device')})" if vol.get("instance_id") else "")
                    + " survives its instance's termination (DeleteOnTermination false)"
                )
                self.key_users_kept.append(f"volume {vid}")
            self.add(
                "volume", vid, vol, details={k: v for k, v in vol.items() if k in ("instance_id", "size_gb", "device")}
            )

        images_by_snapshot: dict[str, list[str]] = {}
        for image in usage.get("images", []):
            for sid in image.get("snapshot_ids") or []:
                images_by_snapshot.setdefault(sid, []).append(image.get("image_id"))
        for snap in usage.get("snapshots", []):
            sid = snap["snapshot_id"]
            images = images_by_snapshot.get(sid, [])
            if self.ours(snap) and not images:
                if not self.destroy_data:
                    self.refusals.append(f"EBS snapshot {sid} ({_name(snap)})")
                    self.key_users_kept.append(f"snapshot {sid}")
                self.add("snapshot", sid, snap)
                continue
            self.key_users_kept.append(f"snapshot {sid}")
            used_by = f", and images {', '.join(images)} are made from it" if images else ""
            self.block(
                "snapshot",
                sid,
                _name(snap),
                f"(of volume {snap.get('volume_id')}) is encrypted with the environment's KMS key{used_by}; "
                "research-env does not make snapshots",
                (f"deregister {', '.join(images)} (aws ec2 deregister-image), then " if images else "")
                + f"copy it under another key (aws ec2 copy-snapshot --kms-key-id ...) or delete it "
                f"(aws ec2 delete-snapshot --snapshot-id {sid}), and run teardown again",
            )

    def key(self) -> None:
        """The environment's key: under its alias, or named by its bucket or EFS when the alias was
        removed; its tags say it is research-env's for this environment, or are gone (removed by hand).
        A key under the alias that carries another owner's tags is not touched."""
        alias = (self.found.get("key_alias") or "").removeprefix("alias/")
        keys = []
        for k in self.found.get("kms_keys", []):
            tags = k.get("tags") or {}
            owner = {t: tags.get(t) for t in ("Environment", "ManagedBy") if t in tags}
            if owner and owner != self.env_tags:
                self.notes.append(
                    f"KMS key {k['key_id']} carries the tags {owner}, not this environment's: left alone."
                )
                continue
            if not owner:
                self.notes.append(
                    f"KMS key {k['key_id']} lost its tags; it is this environment's by its use and alias."
                )
            if alias and alias not in (k.get("aliases") or []):
                self.notes.append(f"KMS key {k['key_id']} has lost its alias alias/{alias}; found by what it encrypts.")
            keys.append(k)
        for key in keys:
            alias = ", ".join(key.get("aliases") or [])
            if key.get("key_state") in ("PendingDeletion", "PendingReplicaDeletion"):
                if self.key_users_kept:
                    self.block(
                        "kms_key",
                        key["key_id"],
                        alias,
                        f"is already scheduled for deletion (on {key.get('deletion_date', '?')}) while data encrypted "
                        f"with it survives ({', '.join(self.key_users_kept)}): that data becomes unreadable then",
                        f"cancel the deletion now (aws kms cancel-key-deletion --key-id {key['key_id']} && "
                        f"aws kms enable-key --key-id {key['key_id']}), then run teardown again",
                    )
                continue
            entry: dict[str, Any] = {"details": {"alias": alias}}
            if self.unscanned:
                entry["keep_because"] = (
                    "these could not all be checked for data encrypted with it (teardown_key_scan_limit): "
                    + "; ".join(self.unscanned)
                )
            self.add("kms_key", key["key_id"], {"name": alias}, alias=(key.get("aliases") or [""])[0], **entry)

    def run(self) -> dict[str, Any]:
        self.network()
        self.instances()
        self.network_interfaces()
        self.security_groups()
        self.simple()
        self.data()
        self.key()
        if self.iam_regions_elsewhere and not self.plan:
            roles = sorted(r["role_name"] for r in self.found.get("iam_roles", []))
            self.block(
                "environment",
                self.env_tags["Environment"],
                "",
                f"has nothing in {self.found.get('region')}: it lives in {', '.join(self.iam_regions_elsewhere)} (the "
                f"region its IAM roles {', '.join(roles)} serve)",
                f"run teardown again with -e aws_region={self.iam_regions_elsewhere[0]}",
            )
        plan = sorted(self.plan, key=lambda entry: TEARDOWN_ORDER.index(entry["type"]))
        return {
            "plan": plan,
            "refusals": self.refusals,
            "blockers": self.blockers,
            "notes": self.notes,
            "key_users_kept": self.key_users_kept,
        }


ROLE_REGION_RE = re.compile(r"research-env \S+ in ([a-z0-9-]+): ")


def role_region(role: dict[str, Any]) -> str | None:
    """The region an IAM role of research-env serves, from its description (iam.yml writes it; roles made
    before it did carry none, and count as this region's)."""
    match = ROLE_REGION_RE.match(role.get("description") or "")
    return match.group(1) if match else None


def teardown_analysis(found: dict[str, Any], destroy_data: Any = False) -> dict[str, Any]:
    """What discovery found -> {plan, refusals, blockers, notes}. `found` holds the info modules'
    answers (see playbooks/tasks/teardown_discover.yml)."""
    # teardown.yml refuses any other value first (research_env_bool_errors); these are the words
    # Ansible's bool filter reads, exactly, so that the record and the plan agree.
    flag = destroy_data if isinstance(destroy_data, bool) else str(destroy_data).lower() in ("true", "yes", "1", "on")
    return Analysis(found, flag).run()


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
    """research-env teardown filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "research_env_teardown_analysis": teardown_analysis,
            "research_env_describe": describe,
            "research_env_describe_blockers": describe_blockers,
            "research_env_failed_data_holders": key_may_go,
            "research_env_record_details": record_details,
            "research_env_role_region": role_region,
        }
