# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters (research_env.core.<name>) for research-env's discovery of an environment's ids
(playbooks/tasks/env_ids.yml) and the key pair's fingerprint, computed locally the way EC2 computes
it for an imported key.

The tier -> id map of subnets, route tables and security groups is built here only, from whatever
lists the AWS modules return (the *_info modules and the creating modules alike).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from ansible.errors import AnsibleFilterError


def tier_ids(items: list[dict[str, Any]], id_key: str = "id") -> dict[str, str]:
    """{Tier tag: id} of the resources that carry a Tier tag (untagged ones, e.g. a VPC's default
    group or main route table, are left out)."""
    found = {}
    for item in items or []:
        tier = (item.get("tags") or {}).get("Tier")
        if tier and item.get(id_key):
            found[tier] = item[id_key]
    return found


def key_fingerprint(public_key: str) -> str:
    """EC2's KeyFingerprint of an OpenSSH public key once imported (ImportKeyPair).

    AWS documents (KeyPairInfo.KeyFingerprint): ED25519, the base64-encoded SHA-256 digest of the key
    (OpenSSH's default fingerprint, of the key blob); RSA, the MD5 digest of the DER-encoded public key
    (SubjectPublicKeyInfo), colon-separated hex, which is what `ssh-keygen -e -m PEM | openssl rsa
    -RSAPublicKey_in -outform DER | openssl md5 -c` prints in the EC2 user guide.
    """
    fields = str(public_key).split()
    if len(fields) < 2:
        raise AnsibleFilterError("key_fingerprint: not an OpenSSH public key (expected 'type base64 [comment]')")
    kind, blob_b64 = fields[0], fields[1]
    try:
        blob = base64.b64decode(blob_b64, validate=True)
    except (binascii.Error, ValueError) as e:
        raise AnsibleFilterError(f"key_fingerprint: the key's base64 does not decode: {e}") from e
    if kind == "ssh-ed25519":
        return base64.b64encode(hashlib.sha256(blob).digest()).decode()
    if kind == "ssh-rsa":
        from cryptography.hazmat.primitives import serialization

        key = serialization.load_ssh_public_key(f"{kind} {blob_b64}".encode())
        der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        digest = hashlib.md5(der, usedforsecurity=False).hexdigest()
        return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
    raise AnsibleFilterError(f"key_fingerprint: EC2 imports ssh-rsa and ssh-ed25519 keys, not {kind}")


def key_fingerprint_matches(fingerprint: str | None, public_key: str) -> bool:
    """Whether EC2's fingerprint of a key pair is that of this public key (base64 padding aside:
    OpenSSH prints SHA-256 fingerprints without it)."""
    if not fingerprint:
        return False
    return str(fingerprint).rstrip("=") == key_fingerprint(public_key).rstrip("=")


# What amazon.aws.ec2_instance corrects on an instance that exists (compute.yml's launch task): its
# state, tags (purged), metadata options, type, instance profile and security groups. The rest of its
# settings (image, key pair, subnet, volumes) it never changes on an existing instance.
WANTED_METADATA = {"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 1}


def _instance_matches(instance: dict[str, Any], want: dict[str, Any]) -> bool:
    metadata = instance.get("metadata_options") or {}
    profile_arn = (instance.get("iam_instance_profile") or {}).get("arn", "")
    return (
        (instance.get("state") or {}).get("name") == "running"
        and instance.get("instance_type") == want["type"]
        and instance.get("subnet_id") == want["subnet_id"]
        and sorted(g.get("group_id") for g in instance.get("security_groups") or []) == [want["group_id"]]
        and profile_arn.rsplit("/", 1)[-1] == want["profile"]
        and all(metadata.get(k) == v for k, v in WANTED_METADATA.items())
        and (instance.get("tags") or {}) == want["tags"]
    )


def instances_to_launch(
    existing: list[dict[str, Any]],
    instances: dict[str, dict[str, Any]],
    env_ids: dict[str, Any],
    env_tags: dict[str, str],
    env_name: str,
) -> list[str]:
    """The host roles whose instance ec2_instance has something to do for: none exists (pending,
    running, stopping or stopped, by its Name tag), more than one does, or the one there differs in
    what the module would correct. The others need no call at all (ec2_instance asks about 10 per
    instance to find that out)."""
    todo = []
    for role, spec in instances.items():
        name = f"{env_name}-{role}"
        found = [i for i in existing if (i.get("tags") or {}).get("Name") == name]
        want = {
            "type": spec.get("type"),
            "subnet_id": env_ids.get("subnets", {}).get(spec.get("subnet")),
            "group_id": env_ids.get("security_groups", {}).get(spec.get("subnet")),
            "profile": name,
            "tags": dict(env_tags, Name=name, Role=role),
        }
        if len(found) != 1 or not _instance_matches(found[0], want):
            todo.append(role)
    return todo


def role_instance_ids(existing: list[dict[str, Any]]) -> dict[str, str]:
    """{Role tag: instance id} of ec2_instance_info's instances."""
    return {i["tags"]["Role"]: i["instance_id"] for i in existing if (i.get("tags") or {}).get("Role")}


def _table_routes(table: dict[str, Any]) -> set[tuple[str, str]]:
    """(destination, target) of the routes ec2_vpc_route_table's purge_routes manages: not the local
    route, not a gateway endpoint's (vpce-) or a propagated one."""
    found = set()
    for route in table.get("routes") or []:
        target = route.get("gateway_id") or route.get("nat_gateway_id") or route.get("instance_id") or ""
        if route.get("origin") in ("CreateRouteTable", "EnableVgwRoutePropagation") or target.startswith("vpce-"):
            continue
        found.add((route.get("destination_cidr_block") or route.get("destination_prefix_list_id") or "", target))
    return found


def s3_prefix_list(tables: list[dict[str, Any]]) -> str:
    """The prefix list id of S3 as a gateway endpoint's route names it in these route tables (as
    ec2_vpc_route_table_info lists them), or "" when none has such a route. AWS adds that route to
    each table of the endpoint; no amazon.aws module lists prefix lists."""
    for table in tables or []:
        for route in table.get("routes") or []:
            if str(route.get("gateway_id") or "").startswith("vpce-") and route.get("destination_prefix_list_id"):
                return str(route["destination_prefix_list_id"])
    return ""


def route_table_routes(tier: dict[str, Any], igw_id: str, nat_id: str | None) -> list[dict[str, str]]:
    """The routes of a tier's route table (network.yml): a public tier's default route to the internet
    gateway; the private one's to the NAT gateway while there is one (nat_id), else none."""
    if tier.get("public"):
        return [{"dest": "0.0.0.0/0", "gateway_id": igw_id}]
    return [{"dest": "0.0.0.0/0", "nat_gateway_id": nat_id}] if nat_id else []


def route_table_tags(env_tags: dict[str, str], env_name: str, tier: str) -> dict[str, str]:
    return dict(env_tags, Name=f"{env_name}-{tier}-rt", Tier=tier)


def route_tables_to_fix(
    tables: list[dict[str, Any]],
    subnets: dict[str, dict[str, Any]],
    subnet_ids: dict[str, str],
    igw_id: str,
    nat_id: str | None,
    env_tags: dict[str, str],
    env_name: str,
) -> list[str]:
    """The tiers whose route table ec2_vpc_route_table has something to do for (network.yml): no table
    of that tier (or several), or one whose tags, subnet associations or routes are not exactly the
    wanted ones. The others need no call (the module asks about 7 per table to find that out)."""
    by_tier: dict[str, list[dict[str, Any]]] = {}
    for table in tables or []:
        tier = (table.get("tags") or {}).get("Tier")
        if tier:
            by_tier.setdefault(tier, []).append(table)
    todo = []
    for tier, spec in subnets.items():
        found = by_tier.get(tier, [])
        if len(found) != 1:
            todo.append(tier)
            continue
        table = found[0]
        associated = sorted(a.get("subnet_id") for a in table.get("associations") or [] if a.get("subnet_id"))
        routes = {
            (r["dest"], r.get("gateway_id") or r.get("nat_gateway_id") or "")
            for r in route_table_routes(spec, igw_id, nat_id)
        }
        if (
            (table.get("tags") or {}) != route_table_tags(env_tags, env_name, tier)
            or associated != [subnet_ids.get(tier)]
            or _table_routes(table) != routes
        ):
            todo.append(tier)
    return todo


def subnets_to_fix(
    existing: list[dict[str, Any]], subnets: dict[str, dict[str, Any]], env_tags: dict[str, str], env_name: str
) -> list[str]:
    """The tiers whose subnet ec2_vpc_subnet has something to do for (network.yml): none of that
    CIDR in the VPC, or one whose tags or public-address mapping differ (what the module corrects; its
    zone it never changes). The others need no call (the module asks about 4 per subnet)."""
    by_cidr = {s.get("cidr_block"): s for s in existing or []}
    todo = []
    for tier, spec in subnets.items():
        found = by_cidr.get(spec.get("cidr"))
        if (
            found is None
            or (found.get("tags") or {}) != dict(env_tags, Name=f"{env_name}-{tier}", Tier=tier)
            or bool(found.get("map_public_ip_on_launch")) != bool(spec.get("public"))
        ):
            todo.append(tier)
    return todo


def iam_policies_todo(
    found: list[dict[str, Any]] | None, roles: list[str], policy_roles: list[str], env_name: str
) -> list[str]:
    """The host roles iam.yml's iam_policy has something to do for, from preflight's iam_role_info (the
    roles under the environment's path with their inline policy names; None when not looked up: all):
    a role with a policy to write (always asked, the document is not in the listing), and a role whose
    policy must go only when it has one of that name. (iam_role and iam_instance_profile are always
    called: the listings do not return tags, so drift there cannot be seen without their own calls.)"""
    if found is None:
        return list(roles)
    by_name = {r.get("role_name"): r for r in found}
    todo = []
    for role in roles:
        have = by_name.get(f"{env_name}-{role}")
        if role in policy_roles or have is None or "notebooks-bucket" in (have.get("inline_policies") or []):
            todo.append(role)
    return todo


# The rule keys security_group_differs understands; a rule with any other (icmp types, IPv6, group
# names) is left to ec2_security_group itself. ip_prefix is a prefix list id (pl-...).
_RULE_KEYS = {"proto", "ports", "cidr_ip", "group_id", "ip_prefix", "rule_desc"}
# A rule's source key -> the kind _current_permissions names it by.
_RULE_KINDS = {"cidr_ip": "cidr_ip", "group_id": "group_id", "ip_prefix": "prefix_list"}


def _wanted_permissions(rules: list[dict[str, Any]]) -> set[tuple[Any, ...]] | None:
    """(protocol, from, to, kind, source, description) of rules as ec2_security_group takes them
    (vars/network.yml), one per port and source; None for a rule shape not understood here."""
    found = set()
    for rule in rules or []:
        if set(rule) - _RULE_KEYS:
            return None
        proto = str(rule.get("proto", "")).lower()
        if proto in ("all", "-1"):
            if rule.get("ports"):
                return None
            ranges = [(None, None)]
            proto = "-1"
        elif proto in ("tcp", "udp"):
            ranges = []
            for port in rule.get("ports") or []:
                low, _sep, high = str(port).partition("-")
                if not low.strip().isdigit() or (high and not high.strip().isdigit()):
                    return None
                ranges.append((int(low), int(high or low)))
            if not ranges:
                return None
        else:
            return None
        sources = []
        for key, kind in _RULE_KINDS.items():
            value = rule.get(key)
            for source in [value] if isinstance(value, str) else value or []:
                sources.append((kind, str(source)))
        if not sources:
            return None
        for low, high in ranges:
            for kind, source in sources:
                found.add((proto, low, high, kind, source, rule.get("rule_desc")))
    return found


def _current_permissions(permissions: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    """The same tuples of a group as ec2_security_group_info returns it; IPv6 ranges (which the wanted
    rules never have) as a kind of their own, so that they count as a difference."""
    found = set()
    for perm in permissions or []:
        proto = str(perm.get("ip_protocol"))
        low, high = (None, None) if proto == "-1" else (perm.get("from_port"), perm.get("to_port"))
        for kind, key, field in (
            ("cidr_ip", "ip_ranges", "cidr_ip"),
            ("group_id", "user_id_group_pairs", "group_id"),
            ("cidr_ipv6", "ipv6_ranges", "cidr_ipv6"),
            ("prefix_list", "prefix_list_ids", "prefix_list_id"),
        ):
            for source in perm.get(key) or []:
                found.add((proto, low, high, kind, str(source.get(field)), source.get("description")))
    return found


def security_group_differs(
    group: dict[str, Any] | None,
    description: str,
    rules: list[dict[str, Any]],
    rules_egress: list[dict[str, Any]],
    tags: dict[str, str],
) -> bool:
    """Whether ec2_security_group (rules and tags purged) has something to do for a group, as
    ec2_security_group_info listed it (None: there is none): its tags, or its rules in or out with
    their descriptions, are not exactly the wanted ones, or its description differs (the module
    cannot change that, but warns). A rule shape not understood here counts as a difference, so the
    module is asked. The module itself asks about 3 calls to find a group as it should be."""
    if not group:
        return True
    wanted_in, wanted_out = _wanted_permissions(rules), _wanted_permissions(rules_egress)
    return (
        wanted_in is None
        or wanted_out is None
        or group.get("description") != description
        or (group.get("tags") or {}) != tags
        or _current_permissions(group.get("ip_permissions")) != wanted_in
        or _current_permissions(group.get("ip_permissions_egress")) != wanted_out
    )


def bucket_differs(
    bucket: dict[str, Any] | None, key_arn: str, policy: str | dict[str, Any], tags: dict[str, str]
) -> bool:
    """Whether s3_bucket (storage.yml) has something to do for the notebooks bucket, as s3_bucket_info
    found it with bucket_facts (versioning, encryption, public_access_block, ownership controls,
    policy, tagging; None: there is none): not versioned, not SSE-KMS with this key and a bucket key,
    public access not blocked in all four ways, ACLs not disabled (BucketOwnerEnforced), another
    policy (compared as JSON) or other tags. The module itself asks about 15 calls to find that out."""
    if not bucket:
        return True
    rules = ((bucket.get("bucket_encryption") or {}).get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []
    encryption = [(r.get("ApplyServerSideEncryptionByDefault") or {}, r.get("BucketKeyEnabled")) for r in rules]
    block = (bucket.get("public_access_block") or {}).get("PublicAccessBlockConfiguration") or {}
    ownership = ((bucket.get("bucket_ownership_controls") or {}).get("OwnershipControls") or {}).get("Rules") or []
    found_policy = (bucket.get("bucket_policy") or {}).get("Policy")
    try:
        policies_equal = found_policy is not None and json.loads(found_policy) == (
            json.loads(policy) if isinstance(policy, str) else policy
        )
    except ValueError:
        policies_equal = False
    return not (
        (bucket.get("bucket_versioning") or {}).get("Status") == "Enabled"
        and encryption == [({"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}, True)]
        and all(
            block.get(k) is True
            for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
        )
        and [r.get("ObjectOwnership") for r in ownership] == ["BucketOwnerEnforced"]
        and policies_equal
        and (bucket.get("bucket_tagging") or {}) == tags
    )


def buckets_found(results: list[dict[str, Any]]) -> dict[str, dict[str, Any] | None]:
    """{bucket name: what s3_bucket_info found of it, or None} from tasks/bucket_owner.yml's loop (one
    s3_bucket_info per name of env_buckets; item = {key: the variable, value: the name})."""
    found: dict[str, dict[str, Any] | None] = {}
    for result in results:
        name = result["item"]["value"]
        found[name] = next((b for b in result.get("buckets") or [] if b.get("name") == name), None)
    return found


def bucket_owner_errors(results: list[dict[str, Any]], env_name: str, managed_by: str, region: str) -> list[str]:
    """research-env never takes over a bucket: one error per bucket of env_buckets that exists in this
    account but is not this environment's (its Environment and ManagedBy tags), or is but lives in
    another region. `results`: tasks/bucket_owner.yml's loop, as for buckets_found."""
    errors = []
    for result in results:
        var, name = result["item"]["key"], result["item"]["value"]
        bucket = buckets_found([result])[name]
        if bucket is None:
            continue
        tags = bucket.get("bucket_tagging") or {}
        if tags.get("Environment") != env_name or tags.get("ManagedBy") != managed_by:
            errors.append(
                f"{var}: {name} already exists and is not this environment's (tags Environment="
                f"{tags.get('Environment', 'none')}, ManagedBy={tags.get('ManagedBy', 'none')}). research-env never "
                f"takes over a bucket: pick another {var}."
            )
            continue
        # GetBucketLocation answers an empty constraint (or none) for us-east-1.
        where = (bucket.get("bucket_location") or {}).get("LocationConstraint") or "us-east-1"
        if where != region:
            errors.append(
                f"{var}: {name} is this environment's but lives in {where}, not in aws_region {region}. "
                f"Set aws_region: {where}."
            )
    return errors


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "tier_ids": tier_ids,
            "key_fingerprint": key_fingerprint,
            "key_fingerprint_matches": key_fingerprint_matches,
            "instances_to_launch": instances_to_launch,
            "role_instance_ids": role_instance_ids,
            "route_tables_to_fix": route_tables_to_fix,
            "subnets_to_fix": subnets_to_fix,
            "iam_policies_todo": iam_policies_todo,
            "security_group_differs": security_group_differs,
            "bucket_differs": bucket_differs,
            "buckets_found": buckets_found,
            "bucket_owner_errors": bucket_owner_errors,
            "route_table_routes": route_table_routes,
            "s3_prefix_list": s3_prefix_list,
            "route_table_tags": route_table_tags,
        }
