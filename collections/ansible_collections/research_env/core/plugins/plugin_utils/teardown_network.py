# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Part of teardown's analysis (filter/teardown.py): the VPC and what is in it, network interfaces and
security groups: what is the environment's (planned) and what blocks the plan."""

from __future__ import annotations

from typing import Any

from ansible_collections.research_env.core.plugins.plugin_utils.teardown_resources import (
    GONE_STATES,
    id_of,
    name_of,
    reaches,
    state_of,
)


class NetworkChecks:
    """The network parts of Analysis; they use its ours/in_vpc/add/block helpers and its found."""

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
        # A Client VPN endpoint's interfaces (requester-managed, in its associated subnets) go with it.
        cvpn_subnets = {
            n.get("target_network_id")
            for ep in self.found.get("client_vpn_endpoints", [])
            if self.ours(ep)
            for n in ep.get("target_networks") or []
        }
        for eni in self.found.get("network_interfaces", []):
            if (
                eni.get("requester_managed")
                and eni.get("subnet_id") in cvpn_subnets
                and "clientvpn" in (eni.get("description") or "").replace(" ", "").lower()
            ):
                explained.add(id_of(eni, "network_interface_id", "id"))
        for eni in self.found.get("network_interfaces", []):
            eid = id_of(eni, "network_interface_id", "id")
            if eid in explained or not self.in_vpc(eni) or state_of(eni) in GONE_STATES:
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
            self.block("network_interface", eid, name_of(eni), why, fix)

    def network(self) -> None:
        found = self.found
        lost = {}
        for res in found.get("tagged_subnets", []) + found.get("tagged_security_groups", []):
            if self.ours(res) and res.get("vpc_id") and res["vpc_id"] not in self.vpc_ids:
                lost.setdefault(res["vpc_id"], []).append(id_of(res, "subnet_id", "group_id"))
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
            if state_of(nat) in GONE_STATES:
                continue
            nid = id_of(nat, "nat_gateway_id")
            if self.ours(nat):
                self.our_nat_gateways.append(nat)
                self.add("nat_gateway", nid, nat)
            elif self.in_vpc(nat):
                self.block(
                    "nat_gateway",
                    nid,
                    name_of(nat),
                    f"sits in the environment's subnet {nat.get('subnet_id')} but was not created by research-env",
                    f"delete it (aws ec2 delete-nat-gateway --nat-gateway-id {nid}) and run teardown again",
                )
        self.our_endpoints = []
        for endpoint in found.get("vpc_endpoints", []):
            if state_of(endpoint) in GONE_STATES:
                continue
            eid = id_of(endpoint, "vpc_endpoint_id")
            if self.ours(endpoint):
                self.our_endpoints.append(endpoint)
                self.add("vpc_endpoint", eid, endpoint)
            elif self.in_vpc(endpoint):
                self.block(
                    "vpc_endpoint",
                    eid,
                    name_of(endpoint),
                    f"is an endpoint ({endpoint.get('service_name')}) in the environment's VPC "
                    "that research-env did not create",
                    f"delete it (aws ec2 delete-vpc-endpoints --vpc-endpoint-ids {eid}) and run teardown again",
                )
        for subnet in found.get("subnets", []):
            sid = id_of(subnet, "subnet_id")
            if self.ours(subnet):
                self.add("subnet", sid, subnet, vpc_id=subnet.get("vpc_id"), cidr=subnet.get("cidr_block"))
            elif self.in_vpc(subnet):
                self.block(
                    "subnet",
                    sid,
                    name_of(subnet),
                    f"({subnet.get('cidr_block')}) is in the environment's VPC but was not created by research-env",
                    f"delete what runs in it, then the subnet (aws ec2 delete-subnet --subnet-id {sid}), "
                    "and run teardown again",
                )
        for table in found.get("route_tables", []):
            tid = id_of(table, "route_table_id")
            main = any(a.get("main") for a in table.get("associations") or [])
            if self.ours(table):
                self.add("route_table", tid, table, vpc_id=table.get("vpc_id"))
            elif self.in_vpc(table) and not main:
                self.block(
                    "route_table",
                    tid,
                    name_of(table),
                    "is a route table in the environment's VPC that research-env did not create",
                    f"delete it (aws ec2 delete-route-table --route-table-id {tid}) and run teardown again",
                )
        for acl in found.get("network_acls", []):
            aid = id_of(acl, "nacl_id", "network_acl_id")
            if self.in_vpc(acl) and not acl.get("is_default"):
                self.block(
                    "network_acl",
                    aid,
                    name_of(acl),
                    "is a network ACL in the environment's VPC that research-env did not create",
                    f"delete it (aws ec2 delete-network-acl --network-acl-id {aid}) and run teardown again",
                )
        seen_igw = set()
        for igw in found.get("internet_gateways", []):
            gid = id_of(igw, "internet_gateway_id")
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
                    name_of(igw),
                    "is attached to the environment's VPC but was not created by research-env",
                    f"detach and delete it (aws ec2 detach-internet-gateway --internet-gateway-id {gid} --vpc-id "
                    f"{attached[0]}; aws ec2 delete-internet-gateway --internet-gateway-id {gid})",
                )
        for peering in found.get("vpc_peering_connections", []):
            pid = id_of(peering, "vpc_peering_connection_id")
            status = ((peering.get("status") or {}).get("code") or "").lower()
            sides = {
                (peering.get("requester_vpc_info") or {}).get("vpc_id"),
                (peering.get("accepter_vpc_info") or {}).get("vpc_id"),
            }
            if status not in GONE_STATES and sides & self.vpc_ids:
                self.block(
                    "vpc_peering_connection",
                    pid,
                    name_of(peering),
                    f"connects the environment's VPC with another VPC (status {status})",
                    f"delete it (aws ec2 delete-vpc-peering-connection --vpc-peering-connection-id {pid}) "
                    "and run teardown again",
                )
        for vpc in found.get("vpcs", []):
            if self.ours(vpc):
                self.add("vpc", id_of(vpc, "vpc_id"), vpc, cidr=vpc.get("cidr_block"))

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
                named = "; ".join(f"{name_of(ours[t])} ({t}): {', '.join(r)}" for t, r in sorted(pointing.items()))
                self.block(
                    "security_group",
                    gid,
                    name_of(group),
                    f"has rules that refer to the environment's groups, so they cannot be deleted: {named}",
                    f"remove those rules (aws ec2 revoke-security-group-ingress / revoke-security-group-egress "
                    f"--group-id {gid} ...) or delete the group, then run teardown again",
                )
            elif self.in_vpc(group):
                self.block(
                    "security_group",
                    gid,
                    name_of(group),
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
                breaker = min(g for g in edges if reaches(edges, g, g))
                self.add("security_group_rules", breaker, ours[breaker], vpc_id=ours[breaker].get("vpc_id"))
                edges[breaker] = set()
                continue
            for gid in free:
                order.append(gid)
                del edges[gid]
        for gid in order:
            self.add("security_group", gid, ours[gid], vpc_id=ours[gid].get("vpc_id"))
