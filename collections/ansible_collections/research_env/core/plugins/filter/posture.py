# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters (research_env.core.<name>) for playbooks/verify.yml: what an auditor checks of a built
environment, one result per check and resource, from what the AWS *_info modules and the hosts
answered. Each result is {check, resource, status, detail} with status pass, fail or skipped
(skipped: the check does not apply to this configuration, or its host was not in the run).

Nothing here calls AWS: the play reads, these filters judge, so every check is unit-tested with its
fault in plain data (tests/unit/test_posture.py).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from ansible_collections.research_env.core.plugins.filter.ids import (
    _current_permissions,
    _wanted_permissions,
)
from ansible_collections.research_env.core.plugins.filter.infra import enabled

CHECKS = (
    "imdsv2_required",
    "ebs_encrypted_with_env_key",
    "bucket_versioning",
    "bucket_public_access_block",
    "bucket_tls_only",
    "bucket_sse_kms",
    "bucket_policy_as_designed",
    "security_group_rules",
    "research_hosts_not_public",
    "no_iam_access_keys",
    "nat_released",
    "endpoint_policy",
    "no_static_aws_keys",
    "voila_answers",
)

_PUBLIC_BLOCK = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def _result(check: str, resource: str, ok: bool | None, detail: str) -> dict[str, str]:
    status = "skipped" if ok is None else "pass" if ok else "fail"
    return {"check": check, "resource": resource, "status": status, "detail": detail}


def _tags(item: dict[str, Any]) -> dict[str, str]:
    tags = item.get("tags") or {}
    if isinstance(tags, list):  # boto3's [{Key, Value}] shape
        return {t.get("Key"): t.get("Value") for t in tags}
    return tags


def _instance_name(instance: dict[str, Any]) -> str:
    role = _tags(instance).get("Role")
    return f"{instance.get('instance_id')} ({role})" if role else str(instance.get("instance_id"))


def _instances(instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The instances that count: not terminated (nor going)."""
    return [i for i in instances or [] if (i.get("state") or {}).get("name") not in ("terminated", "shutting-down")]


def check_imdsv2(instances: list[dict[str, Any]]) -> list[dict[str, str]]:
    out = []
    for instance in _instances(instances):
        tokens = (instance.get("metadata_options") or {}).get("http_tokens")
        out.append(
            _result(
                "imdsv2_required",
                _instance_name(instance),
                tokens == "required",
                "the metadata service asks for a session token (IMDSv2)"
                if tokens == "required"
                else f"http_tokens is {tokens or 'unset'}: IMDSv1 answers without a token. "
                "Fix: site.yml --tags compute (or aws ec2 modify-instance-metadata-options --http-tokens required)",
            )
        )
    return out


def check_ebs(
    instances: list[dict[str, Any]], volumes: list[dict[str, Any]], key_volume_ids: list[str], key_arn: str
) -> list[dict[str, str]]:
    """Every volume attached to one of the instances (ec2_vol_info): encrypted with the environment's
    key, i.e. among the volumes kms_key_usage_info (services: ebs) found encrypted with it
    (ec2_vol_info does not say which key encrypts a volume)."""
    ids = {i.get("instance_id"): _instance_name(i) for i in _instances(instances)}
    with_key = set(key_volume_ids or [])
    out = []
    for volume in volumes or []:
        attachments = volume.get("attachment_set") or volume.get("attachments") or []
        if isinstance(attachments, dict):
            attachments = [attachments]
        attached = [a.get("instance_id") for a in attachments if a and a.get("instance_id") in ids]
        if not attached:
            continue
        volume_id = volume.get("id") or volume.get("volume_id")
        resource = f"{volume_id} on {ids[attached[0]]}"
        if not volume.get("encrypted"):
            out.append(_result("ebs_encrypted_with_env_key", resource, False, "the volume is not encrypted"))
        elif volume_id not in with_key:
            out.append(
                _result(
                    "ebs_encrypted_with_env_key",
                    resource,
                    False,
                    f"encrypted with another key than the environment's ({key_arn})",
                )
            )
        else:
            out.append(_result("ebs_encrypted_with_env_key", resource, True, "encrypted with the environment's key"))
    return out


def _policy(text: Any) -> dict[str, Any] | None:
    if isinstance(text, dict):
        return text
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def _denies_plain_http(policy: dict[str, Any] | None, bucket: str) -> bool:
    """A Deny of s3:* to everyone, on the bucket and its objects, when aws:SecureTransport is false."""
    for statement in _listed((policy or {}).get("Statement")):
        principal = statement.get("Principal")
        everyone = principal == "*" or (isinstance(principal, dict) and _listed(principal.get("AWS")) == ["*"])
        resources = {r.split(":::", 1)[-1] for r in _listed(statement.get("Resource"))}
        condition = (statement.get("Condition") or {}).get("Bool") or {}
        if (
            statement.get("Effect") == "Deny"
            and everyone
            and _listed(statement.get("Action")) in (["s3:*"], ["*"])
            and {bucket, f"{bucket}/*"} <= resources
            and str(condition.get("aws:SecureTransport")).lower() == "false"
            and not statement.get("NotAction")
            and not statement.get("NotResource")
        ):
            return True
    return False


def check_buckets(
    buckets: dict[str, dict[str, Any] | None], key_arn: str, wanted_policies: dict[str, Any]
) -> list[dict[str, str]]:
    """{name: what s3_bucket_info found (bucket_facts), None if missing}: versioned, public access
    blocked in all four ways, TLS only, SSE-KMS with the environment's key, the policy as designed."""
    out = []
    for name, bucket in sorted((buckets or {}).items()):
        if bucket is None:
            for check in ("bucket_versioning", "bucket_public_access_block", "bucket_tls_only", "bucket_sse_kms"):
                out.append(_result(check, name, False, "the bucket does not exist. Fix: site.yml --tags storage"))
            continue
        versioning = (bucket.get("bucket_versioning") or {}).get("Status")
        out.append(
            _result(
                "bucket_versioning",
                name,
                versioning == "Enabled",
                "versioning is on" if versioning == "Enabled" else f"versioning is {versioning or 'off'}",
            )
        )
        block = (bucket.get("public_access_block") or {}).get("PublicAccessBlockConfiguration") or {}
        off = [k for k in _PUBLIC_BLOCK if block.get(k) is not True]
        out.append(
            _result(
                "bucket_public_access_block",
                name,
                not off,
                "public access blocked in all four ways" if not off else "not blocked: " + ", ".join(off),
            )
        )
        policy = _policy((bucket.get("bucket_policy") or {}).get("Policy"))
        tls = _denies_plain_http(policy, name)
        out.append(
            _result(
                "bucket_tls_only",
                name,
                tls,
                "the policy refuses requests without TLS"
                if tls
                else "no statement refuses requests without TLS (aws:SecureTransport false)",
            )
        )
        rules = ((bucket.get("bucket_encryption") or {}).get("ServerSideEncryptionConfiguration") or {}).get(
            "Rules"
        ) or []
        defaults = [r.get("ApplyServerSideEncryptionByDefault") or {} for r in rules]
        kms = [d for d in defaults if d.get("SSEAlgorithm") == "aws:kms" and d.get("KMSMasterKeyID") == key_arn]
        out.append(
            _result(
                "bucket_sse_kms",
                name,
                bool(kms) and len(defaults) == 1,
                "SSE-KMS with the environment's key"
                if kms and len(defaults) == 1
                else "default encryption is "
                + (
                    ", ".join(f"{d.get('SSEAlgorithm')} {d.get('KMSMasterKeyID', '')}".strip() for d in defaults)
                    or "unset"
                )
                + f", not aws:kms with {key_arn}",
            )
        )
        if name in (wanted_policies or {}):
            same = policy == _policy(wanted_policies[name])
            out.append(
                _result(
                    "bucket_policy_as_designed",
                    name,
                    same,
                    "the policy is the one research-env writes (TLS only; research roles through the endpoint only)"
                    if same
                    else "the policy differs from the one research-env writes. Fix: site.yml --tags storage",
                )
            )
    return out


def _rule_text(rule: tuple[Any, ...]) -> str:
    proto, low, high, _kind, source, _desc = rule
    ports = "all" if proto == "-1" else str(low) if low == high else f"{low}-{high}"
    return f"{'all' if proto == '-1' else proto} {ports} {source}"


def check_security_groups(groups: list[dict[str, Any]], wanted: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    """Each tier's group has exactly its rules of vars/network.yml, in and out (descriptions aside:
    a description does not let traffic through). `wanted`: {tier: {rules, rules_egress}} as
    vars/network.yml writes them (a rule whose `enabled` is false does not exist)."""
    by_tier = {_tags(g).get("Tier"): g for g in groups or [] if _tags(g).get("Tier")}
    out = []
    for tier, spec in sorted((wanted or {}).items()):
        group = by_tier.get(tier)
        if group is None:
            out.append(_result("security_group_rules", tier, False, "the group does not exist"))
            continue
        resource = f"{group.get('group_id')} ({tier})"
        problems = []
        for way, want_key, have_key in (
            ("in", "rules", "ip_permissions"),
            ("out", "rules_egress", "ip_permissions_egress"),
        ):
            want = _wanted_permissions(enabled(spec.get(want_key) or []))
            if want is None:
                problems.append(f"{way}: a wanted rule is not understood here")
                continue
            want = {r[:5] for r in want}
            have = {r[:5] for r in _current_permissions(group.get(have_key))}
            problems += [f"{way}: extra {_rule_text((*r, None))}" for r in sorted(have - want, key=str)]
            problems += [f"{way}: missing {_rule_text((*r, None))}" for r in sorted(want - have, key=str)]
        out.append(
            _result(
                "security_group_rules",
                resource,
                not problems,
                "exactly the designed rules"
                if not problems
                else "; ".join(problems) + ". Fix: site.yml --tags network",
            )
        )
    return out


def _subnet_tables(tables: list[dict[str, Any]], subnet_id: str) -> list[dict[str, Any]]:
    """The route table a subnet uses: the one associated with it, else the VPC's main table."""
    tables = tables or []
    own = [t for t in tables if any(a.get("subnet_id") == subnet_id for a in t.get("associations") or [])]
    return own or [t for t in tables if any(a.get("main") for a in t.get("associations") or [])]


def check_research_hosts(
    instances: list[dict[str, Any]], research_roles: list[str], route_tables: list[dict[str, Any]], subnet_id: str
) -> list[dict[str, str]]:
    """The research subnet's hosts cannot be reached from outside: no public address, and their
    subnet's route table (of the VPC's, as ec2_vpc_route_table_info lists them) sends nothing to an
    internet gateway."""
    igw_routes = []
    for table in _subnet_tables(route_tables, subnet_id):
        for route in table.get("routes") or []:
            if str(route.get("gateway_id") or "").startswith("igw-"):
                igw_routes.append(
                    f"{table.get('id') or table.get('route_table_id')} routes "
                    f"{route.get('destination_cidr_block') or route.get('destination_prefix_list_id')} "
                    f"to {route['gateway_id']}"
                )
    out = []
    for instance in _instances(instances):
        if _tags(instance).get("Role") not in (research_roles or []):
            continue
        problems = list(igw_routes)
        if instance.get("public_ip_address"):
            problems.insert(0, f"public address {instance['public_ip_address']}")
        out.append(
            _result(
                "research_hosts_not_public",
                _instance_name(instance),
                not problems,
                "no public address, no route from the internet" if not problems else "; ".join(problems),
            )
        )
    return out


def check_iam_keys(
    path: str, users: list[dict[str, Any]], keys: dict[str, list[dict[str, Any]]]
) -> list[dict[str, str]]:
    """No long-term access key for a principal under the environment's IAM path (research-env makes
    roles only; a user with keys there is a static credential made for the environment)."""
    out = []
    for user in users or []:
        name = user.get("user_name") or user.get("UserName")
        for key in (keys or {}).get(name) or []:
            out.append(
                _result(
                    "no_iam_access_keys",
                    f"{name} ({key.get('access_key_id')})",
                    False,
                    f"an {str(key.get('status', '')).lower() or 'active'} access key under {path}: "
                    "hosts use instance profiles. Fix: aws iam delete-access-key",
                )
            )
    if not out:
        out.append(_result("no_iam_access_keys", path, True, f"{len(users or [])} users under the path, no access key"))
    return out


def check_nat(nat_mode: str, gateways: list[dict[str, Any]]) -> list[dict[str, str]]:
    live = [g for g in gateways or [] if g.get("state") in ("pending", "available")]
    if nat_mode == "always":
        return [_result("nat_released", "nat_mode always", None, "kept on purpose (nat_mode always)")]
    if not live:
        return [_result("nat_released", f"nat_mode {nat_mode}", True, "no NAT gateway")]
    return [
        _result(
            "nat_released",
            g.get("nat_gateway_id"),
            False,
            f"{g.get('state')} under nat_mode {nat_mode}: the research hosts have a way out. "
            "Fix: site.yml --tags nat_release is run by site.yml; or --tags network",
        )
        for g in live
    ]


def check_endpoint(endpoint: dict[str, Any] | None, wanted_policy: Any) -> list[dict[str, str]]:
    if not endpoint:
        return [_result("endpoint_policy", "the research subnet's S3 endpoint", False, "no S3 gateway endpoint")]
    have = _policy(endpoint.get("policy_document"))
    same = have == _policy(wanted_policy)
    return [
        _result(
            "endpoint_policy",
            str(endpoint.get("vpc_endpoint_id")),
            same,
            "lets through only the environment's buckets (and those it lists)"
            if same
            else "the policy is not research-env's: copies to other buckets may pass. Fix: site.yml --tags network",
        )
    ]


# AWS_ACCESS_KEY_ID=..., aws_access_key_id = ..., "aws_access_key_id": "..." (env files, credentials
# files, JSON); and a bare access key id (AKIA/ASIA + 16).
_KEY_LINE = re.compile(r"""(?i)["']?aws_access_key_id["']?\s*[=:]\s*["']?([A-Za-z0-9/+=_-]*)""")
_KEY_ID = re.compile(r"\b((?:AKIA|ASIA)[A-Z0-9]{16})\b")


def _mask(key_id: str) -> str:
    return key_id if len(key_id) <= 8 else "…" + key_id[-4:]


def static_key_findings(files: list[dict[str, Any]], declared: list[str]) -> list[dict[str, str]]:
    """The AWS access key ids written in files (slurp results: {source, content (base64)}), each
    {path, key (masked), declared}: declared ones are the lab's emulator keys, and nothing else."""
    found = []
    for item in files or []:
        path = item.get("source") or item.get("path") or "?"
        try:
            text = base64.b64decode(item.get("content") or "").decode("utf-8", "replace")
        except ValueError:
            continue
        ids = {m.group(1) for m in _KEY_LINE.finditer(text) if m.group(1)} | set(_KEY_ID.findall(text))
        for key_id in sorted(ids):
            found.append({"path": path, "key": _mask(key_id), "declared": key_id in (declared or [])})
    return found


def check_hosts(hosts: dict[str, dict[str, Any]], instances: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Host checks from verify.yml's host play ({inventory name: posture_host}), for each running
    instance (its Name tag is its inventory name, inventory/aws_ec2.yml); one that was not in the run
    (--limit) is reported as skipped."""
    out = []
    running = [i for i in instances or [] if (i.get("state") or {}).get("name") == "running"]
    for name, role in sorted(
        (_tags(i).get("Name") or str(i.get("instance_id")), _tags(i).get("Role")) for i in running
    ):
        facts = (hosts or {}).get(name)
        if facts is None:
            out.append(_result("no_static_aws_keys", name, None, "the host was not in this run"))
            if role == "voila":
                out.append(_result("voila_answers", name, None, "the host was not in this run"))
            continue
        undeclared = [f for f in facts.get("static_keys") or [] if not f.get("declared")]
        declared = [f for f in facts.get("static_keys") or [] if f.get("declared")]
        if undeclared:
            detail = "; ".join(f"{f['path']}: {f['key']}" for f in undeclared) + (
                ". Hosts use their instance profile: remove the key and rotate it"
            )
        elif declared:
            paths = ", ".join(sorted({f["path"] for f in declared}))
            detail = f"lab: the emulator's dummy keys, declared ({paths})"
        else:
            detail = "no AWS key in a file"
        out.append(_result("no_static_aws_keys", name, not undeclared, detail))
        if "voila" in facts:
            answer = facts["voila"]
            ok = answer.get("status") == 200
            out.append(
                _result(
                    "voila_answers",
                    f"{name} {answer.get('url')}",
                    ok,
                    "answers 200 from the controller"
                    if ok
                    else f"answered {answer.get('status')} {answer.get('msg', '')}".strip(),
                )
            )
    return out


def posture_checks(data: dict[str, Any]) -> list[dict[str, str]]:
    """Every check of verify.yml, in CHECKS order. `data`: what the play read (see verify.yml)."""
    key_arn = data.get("kms_key_arn") or ""
    results = (
        check_imdsv2(data.get("instances"))
        + check_ebs(data.get("instances"), data.get("volumes"), data.get("key_volume_ids"), key_arn)
        + check_buckets(data.get("buckets"), key_arn, data.get("bucket_policies"))
        + check_security_groups(data.get("security_groups"), data.get("wanted_security_groups"))
        + check_research_hosts(
            data.get("instances"), data.get("research_roles"), data.get("route_tables"), data.get("research_subnet")
        )
        + check_iam_keys(data.get("iam_path", ""), data.get("iam_users"), data.get("iam_keys"))
        + check_nat(data.get("nat_mode", ""), data.get("nat_gateways"))
        + check_endpoint(data.get("endpoint"), data.get("endpoint_policy"))
        + check_hosts(data.get("hosts"), data.get("instances"))
    )
    order = {name: n for n, name in enumerate(CHECKS)}
    return sorted(results, key=lambda r: order.get(r["check"], len(order)))


def posture_failures(results: list[dict[str, str]]) -> list[str]:
    """One line per failed check: the check, the resource, what is wrong."""
    return [f"{r['check']} failed on {r['resource']}: {r['detail']}" for r in results or [] if r["status"] == "fail"]


def posture_json(results: list[dict[str, str]], header: dict[str, Any]) -> str:
    """posture.json: a JSON document whose checks are one per line (diff- and grep-friendly)."""
    lines = ",\n".join("    " + json.dumps(r, sort_keys=True) for r in results or [])
    head = json.dumps(header, sort_keys=True)[1:-1]
    return "{" + head + (", " if head else "") + '"checks": [\n' + lines + "\n]}\n"


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "posture_checks": posture_checks,
            "posture_failures": posture_failures,
            "posture_json": posture_json,
            "static_key_findings": static_key_findings,
        }
