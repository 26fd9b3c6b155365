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

from ansible_collections.research_env.core.plugins.module_utils.values import as_bool
from ansible_collections.research_env.core.plugins.plugin_utils.teardown_data import DataChecks
from ansible_collections.research_env.core.plugins.plugin_utils.teardown_network import NetworkChecks
from ansible_collections.research_env.core.plugins.plugin_utils.teardown_resources import (
    GONE_STATES,
    NETWORK_TYPES,
    TEARDOWN_ORDER,
    id_of,
    name_of,
    state_of,
    tags_of,
)


class Analysis(NetworkChecks, DataChecks):
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
        self.vpc_ids = {id_of(v, "vpc_id") for v in found.get("vpcs", []) if self.ours(v)}
        # Key users that stay after the plan: the key must then not be scheduled.
        self.key_users_kept: list[str] = []
        # The regions whose environment of this env_name holds the IAM roles found, when not this one.
        self.iam_regions_elsewhere: list[str] = []

    # -- helpers

    def ours(self, resource: dict[str, Any]) -> bool:
        tags = tags_of(resource)
        return all(tags.get(k) == v for k, v in self.env_tags.items())

    def in_vpc(self, resource: dict[str, Any]) -> bool:
        return resource.get("vpc_id") in self.vpc_ids

    def add(self, kind: str, rid: str, res: dict[str, Any], **extra: Any) -> None:
        self.plan.append({"type": kind, "id": rid, "name": name_of(res), **extra})

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
        self.our_instances = {i: r for i, r in seen.items() if self.ours(r) and state_of(r) not in GONE_STATES}
        self.foreign_instances = {
            i: r for i, r in seen.items() if not self.ours(r) and self.in_vpc(r) and state_of(r) not in GONE_STATES
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
            if tags_of(inst).get("Role") == "jupyter":
                self.notes.append(
                    f"{name_of(inst)}'s root volume goes with it: what Jupyter holds is kept only as far as it is in "
                    "the bucket. To keep the last changes, run site.yml --tags sync before the teardown."
                )
        for iid, inst in sorted(self.foreign_instances.items()):
            self.block(
                "instance",
                iid,
                name_of(inst),
                f"runs in the environment's subnet {inst.get('subnet_id')} but was not created by research-env "
                "(it lacks the environment's tags), so the subnet, its security groups and the VPC cannot be deleted",
                f"save what it holds, then terminate it (aws ec2 terminate-instances --instance-ids {iid}) "
                "and run teardown again",
            )

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
        self.pipeline()
        self.client_vpn()
        self.schedule_and_budget()
        # The generated secrets (SSM SecureString parameters) under the environment's path: that path
        # is research-env's own, as the IAM path is.
        prefix = f"/research-env/{self.env_tags['Environment']}/"
        for name in sorted(found.get("ssm_parameters", [])):
            if isinstance(name, str) and name.startswith(prefix):
                self.plan.append({"type": "ssm_parameter", "id": name, "name": name[len(prefix) :]})

    def pipeline(self) -> None:
        """The image pipeline (lambda_pipeline): its function by its tags; its log group by its tags or
        its name (Lambda itself makes the group, untagged, when it is missing; the function's name is
        research-env's own); the trigger on the input bucket when that bucket is the environment's (it
        goes first, so that nothing starts the function while the rest is deleted)."""
        found = self.found
        for fn in found.get("lambda_functions", []):
            # amazon.aws.lambda_info snake-cases the tag keys (Environment -> environment, ManagedBy -> managed_by).
            tags = fn.get("tags") or {}
            tags = {"Environment": tags.get("environment"), "ManagedBy": tags.get("managed_by"), **tags}
            if self.ours({"tags": tags}):
                self.add("lambda_function", fn["function_name"], fn, details={"runtime": fn.get("runtime")})
        for group in found.get("log_groups", []):
            name = group.get("log_group_name")
            if name and (self.ours(group) or name == found.get("lambda_log_group")):
                self.add(
                    "log_group",
                    name,
                    {"name": name},
                    details={
                        "stored_bytes": group.get("stored_bytes"),
                        "retention_days": group.get("retention_in_days"),
                    },
                )
        bucket = found.get("pipeline_input_bucket")
        if bucket and any(self.ours(b) and b.get("name") == bucket for b in found.get("buckets", [])):
            self.plan.append({"type": "bucket_notification", "id": bucket, "name": found.get("lambda_function", "")})

    def schedule_and_budget(self) -> None:
        """The idle-stop schedule's EventBridge rules (first: nothing starts or stops a host while the rest goes)
        and the budget (last: it watches the spending until everything else is gone; a teardown that refuses
        keeps it). Both by their names, research-env's own (the rules cannot be tagged by their module; budget
        names are per account and carry the project's prefix, the environment and the region). The schedule's
        role goes with the other IAM roles under the environment's path."""
        found = self.found
        for rule in found.get("schedule_rules", []):
            details = {"schedule": rule.get("schedule_expression"), "state": rule.get("state"),
                       "targets": [t.get("arn") for t in rule.get("targets") or []]}  # fmt: skip
            self.plan.append({"type": "event_rule", "id": rule["name"], "name": rule["name"], "details": details})
        for budget in found.get("budgets", []):
            limit = budget.get("budget_limit") or {}
            details = {"limit": f"{limit.get('amount')} {limit.get('unit')}", "time_unit": budget.get("time_unit")}
            name = budget["budget_name"]
            self.plan.append({"type": "budget", "id": name, "name": name, "details": details})

    def client_vpn(self) -> None:
        """vpn_provider client_vpn: the endpoint by its tags (the module removes its routes, authorization rules
        and associations first, in that order; the record lists them), then its certificates in ACM by their
        tags."""
        for ep in self.found.get("client_vpn_endpoints", []):
            if not self.ours(ep):
                continue
            details = {
                "associations": [
                    f"{n.get('association_id')} ({n.get('target_network_id')})" for n in ep.get("target_networks") or []
                ],
                "authorization_rules": [r.get("destination_cidr") for r in ep.get("authorization_rules") or []],
                "routes": [
                    f"{r.get('destination_cidr')} via {r.get('target_subnet')} ({r.get('origin')})"
                    for r in ep.get("routes") or []
                ],
                "dns_name": ep.get("dns_name"),
            }
            self.add("client_vpn_endpoint", ep["client_vpn_endpoint_id"], ep, details=details)
        for cert in self.found.get("acm_certificates", []):
            if self.ours(cert):
                self.add(
                    "acm_certificate",
                    cert["certificate_arn"],
                    cert,
                    details={"domain_name": cert.get("domain_name"), "not_after": str(cert.get("not_after") or "")},
                )

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
    # teardown.yml refuses any other value first (research_env.core.bool_errors); these are the words
    # Ansible's bool filter reads, exactly, so that the record and the plan agree.
    flag = as_bool(str(destroy_data)) is True
    return Analysis(found, flag).run()


class FilterModule:
    """research-env teardown filters: the analysis."""

    def filters(self) -> dict[str, Any]:
        return {
            "teardown_analysis": teardown_analysis,
            "role_region": role_region,
        }
