"""The discovery helpers (the collection's filter/ids.py): the tier -> id map, the key pair's fingerprint as EC2
computes it, and the "has the module anything to do" checks that let the plays skip a no-op call."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.research_env.core.plugins.filter import ids as f

ENV_TAGS = {"Project": "research-env", "Environment": "lab", "ManagedBy": "research-env"}
SUBNETS = {
    "dmz": {"cidr": "10.0.1.0/24", "public": True},
    "research": {"cidr": "10.0.3.0/24", "public": False},
}


def _keygen(tmp_path: Path, kind: str) -> tuple[str, Path]:
    key = tmp_path / f"id_{kind}"
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(key)], check=True)
    return key.with_suffix(".pub").read_text(), key.with_suffix(".pub")


def test_tier_ids_keeps_the_tiered_items_only():
    items = [
        {"id": "subnet-1", "tags": {"Tier": "dmz"}},
        {"id": "subnet-2", "tags": {"Name": "untiered"}},
        {"group_id": "sg-3", "tags": {"Tier": "research"}},
        {"id": "x", "tags": None},
    ]
    assert f.tier_ids(items) == {"dmz": "subnet-1"}
    assert f.tier_ids(items, "group_id") == {"research": "sg-3"}
    assert f.tier_ids(None) == {}


def test_ed25519_fingerprint_is_openssh_sha256_in_base64(tmp_path):
    public, path = _keygen(tmp_path, "ed25519")
    shown = subprocess.run(["ssh-keygen", "-l", "-f", str(path)], capture_output=True, text=True, check=True).stdout
    openssh = shown.split()[1].removeprefix("SHA256:")
    assert f.key_fingerprint(public).rstrip("=") == openssh
    assert f.key_fingerprint(public).endswith("=")  # AWS shows the padded base64
    assert f.key_fingerprint_matches(openssh, public)


def test_rsa_fingerprint_is_md5_of_the_der_public_key(tmp_path):
    from cryptography.hazmat.primitives import serialization

    public, _ = _keygen(tmp_path, "rsa")
    der = serialization.load_ssh_public_key(public.encode()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.md5(der, usedforsecurity=False).hexdigest()
    assert f.key_fingerprint(public) == ":".join(digest[i : i + 2] for i in range(0, 32, 2))


def test_another_key_does_not_match(tmp_path):
    first, _ = _keygen(tmp_path, "ed25519")
    (tmp_path / "other").mkdir()
    second, _ = _keygen(tmp_path / "other", "ed25519")
    assert not f.key_fingerprint_matches(f.key_fingerprint(first), second)
    assert not f.key_fingerprint_matches(None, second)


@pytest.mark.parametrize("text", ["", "ssh-ed25519", "ssh-ed25519 !!!notbase64", "ecdsa-sha2-nistp256 AAAA"])
def test_not_an_importable_key_is_refused(text):
    with pytest.raises(AnsibleFilterError):
        f.key_fingerprint(text)


def _instance(role: str, **changes):
    base = {
        "instance_id": f"i-{role}",
        "state": {"name": "running"},
        "instance_type": "t3.small",
        "subnet_id": "subnet-dmz",
        "security_groups": [{"group_id": "sg-dmz"}],
        "iam_instance_profile": {"arn": f"arn:aws:iam::1:instance-profile/research-env/lab/lab-{role}"},
        "metadata_options": {"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 1},
        "tags": dict(ENV_TAGS, Name=f"lab-{role}", Role=role),
    }
    return base | changes


IDS = {"subnets": {"dmz": "subnet-dmz"}, "security_groups": {"dmz": "sg-dmz"}}
INSTANCES = {"vpn": {"type": "t3.small", "subnet": "dmz"}}


def test_an_instance_as_it_should_be_needs_no_call():
    assert f.instances_to_launch([_instance("vpn")], INSTANCES, IDS, ENV_TAGS, "lab") == []
    assert f.role_instance_ids([_instance("vpn")]) == {"vpn": "i-vpn"}


@pytest.mark.parametrize(
    "changes",
    [
        {"state": {"name": "stopped"}},
        {"instance_type": "t3.large"},
        {"security_groups": [{"group_id": "sg-dmz"}, {"group_id": "sg-other"}]},
        {"iam_instance_profile": {}},
        {"metadata_options": {"http_endpoint": "enabled", "http_tokens": "optional", "http_put_response_hop_limit": 1}},
        {"tags": dict(ENV_TAGS, Name="lab-vpn", Role="vpn", Extra="x")},
    ],
)
def test_an_instance_that_differs_gets_the_call(changes):
    assert f.instances_to_launch([_instance("vpn", **changes)], INSTANCES, IDS, ENV_TAGS, "lab") == ["vpn"]


def test_a_missing_or_doubled_instance_gets_the_call():
    assert f.instances_to_launch([], INSTANCES, IDS, ENV_TAGS, "lab") == ["vpn"]
    assert f.instances_to_launch([_instance("vpn"), _instance("vpn")], INSTANCES, IDS, ENV_TAGS, "lab") == ["vpn"]


def _table(tier: str, subnet: str, routes: list[dict], **tags):
    local = {"destination_cidr_block": "10.0.0.0/16", "gateway_id": "local", "origin": "CreateRouteTable"}
    endpoint = {"destination_prefix_list_id": "pl-1", "gateway_id": "vpce-1", "origin": "CreateRoute"}
    return {
        "id": f"rtb-{tier}",
        "tags": dict(ENV_TAGS, Name=f"lab-{tier}-rt", Tier=tier) | tags,
        "associations": [{"subnet_id": subnet, "main": False}],
        "routes": [local, endpoint, *routes],
    }


SUBNET_IDS = {"dmz": "subnet-dmz", "research": "subnet-research"}
IGW = {"destination_cidr_block": "0.0.0.0/0", "gateway_id": "igw-1", "origin": "CreateRoute"}
NAT = {"destination_cidr_block": "0.0.0.0/0", "nat_gateway_id": "nat-1", "origin": "CreateRoute"}


def test_route_tables_as_they_should_be_need_no_call():
    tables = [_table("dmz", "subnet-dmz", [IGW]), _table("research", "subnet-research", [])]
    assert f.route_tables_to_fix(tables, SUBNETS, SUBNET_IDS, "igw-1", None, ENV_TAGS, "lab") == []
    tables[1] = _table("research", "subnet-research", [NAT])
    assert f.route_tables_to_fix(tables, SUBNETS, SUBNET_IDS, "igw-1", "nat-1", ENV_TAGS, "lab") == []


def test_route_tables_that_differ_get_the_call():
    tables = [_table("dmz", "subnet-dmz", [IGW]), _table("research", "subnet-research", [NAT])]
    # The NAT window closed: the research route must go.
    assert f.route_tables_to_fix(tables, SUBNETS, SUBNET_IDS, "igw-1", None, ENV_TAGS, "lab") == ["research"]
    # A route added by hand, a retagged table, a table missing.
    extra = {"destination_cidr_block": "192.0.2.0/24", "gateway_id": "igw-1", "origin": "CreateRoute"}
    tables = [_table("dmz", "subnet-dmz", [IGW, extra]), _table("research", "subnet-research", [], Name="x")]
    assert f.route_tables_to_fix(tables, SUBNETS, SUBNET_IDS, "igw-1", None, ENV_TAGS, "lab") == ["dmz", "research"]
    assert f.route_tables_to_fix([], SUBNETS, SUBNET_IDS, "igw-1", None, ENV_TAGS, "lab") == ["dmz", "research"]


def test_subnets_to_fix():
    found = [
        {
            "cidr_block": "10.0.1.0/24",
            "map_public_ip_on_launch": True,
            "tags": dict(ENV_TAGS, Name="lab-dmz", Tier="dmz"),
        },
        {
            "cidr_block": "10.0.3.0/24",
            "map_public_ip_on_launch": True,
            "tags": dict(ENV_TAGS, Name="lab-research", Tier="research"),
        },
    ]
    assert f.subnets_to_fix(found, SUBNETS, ENV_TAGS, "lab") == ["research"]  # research must not map public IPs
    assert f.subnets_to_fix(found[:1], {"dmz": SUBNETS["dmz"]}, ENV_TAGS, "lab") == []
    assert f.subnets_to_fix([], SUBNETS, ENV_TAGS, "lab") == ["dmz", "research"]


def test_iam_policies_todo():
    found = [
        {"role_name": "lab-vpn", "inline_policies": []},
        {"role_name": "lab-filegator", "inline_policies": ["notebooks-bucket"]},
        {"role_name": "lab-jupyter", "inline_policies": ["notebooks-bucket"]},
    ]
    roles = ["vpn", "filegator", "jupyter", "voila"]
    # vpn has none to delete; filegator has one by hand; jupyter's is written; voila's role is not listed.
    assert f.iam_policies_todo(found, roles, ["jupyter", "voila"], "lab") == ["filegator", "jupyter", "voila"]
    assert f.iam_policies_todo(None, roles, [], "lab") == roles


SG_TAGS = dict(ENV_TAGS, Name="lab-research-sg", Tier="research")
SG_RULES = [
    {"proto": "tcp", "ports": [8888, "22"], "group_id": "sg-dmz", "rule_desc": "from dmz"},
    {"proto": "tcp", "ports": [22], "cidr_ip": ["198.51.100.7/32", "203.0.113.0/24"], "rule_desc": "SSH"},
]
SG_EGRESS = [{"proto": "all", "cidr_ip": "0.0.0.0/0", "rule_desc": "All traffic out"}]


def _listed_group(**changes):
    """A group as ec2_security_group_info lists it, with exactly SG_RULES and SG_EGRESS."""
    pair = {"group_id": "sg-dmz", "user_id": "123456789012", "description": "from dmz"}
    group = {
        "group_id": "sg-research",
        "group_name": "lab-research-sg",
        "description": "research",
        "vpc_id": "vpc-1",
        "tags": dict(SG_TAGS),
        "ip_permissions": [
            {
                "ip_protocol": "tcp",
                "from_port": 8888,
                "to_port": 8888,
                "ip_ranges": [],
                "ipv6_ranges": [],
                "prefix_list_ids": [],
                "user_id_group_pairs": [pair],
            },
            {
                "ip_protocol": "tcp",
                "from_port": 22,
                "to_port": 22,
                "ipv6_ranges": [],
                "prefix_list_ids": [],
                "ip_ranges": [
                    {"cidr_ip": "198.51.100.7/32", "description": "SSH"},
                    {"cidr_ip": "203.0.113.0/24", "description": "SSH"},
                ],
                "user_id_group_pairs": [pair],
            },
        ],
        "ip_permissions_egress": [
            {
                "ip_protocol": "-1",
                "ip_ranges": [{"cidr_ip": "0.0.0.0/0", "description": "All traffic out"}],
                "ipv6_ranges": [],
                "prefix_list_ids": [],
                "user_id_group_pairs": [],
            },
        ],
    }
    group.update(changes)
    return group


def _differs(group, rules=SG_RULES, egress=SG_EGRESS, tags=SG_TAGS, description="research"):
    return f.security_group_differs(group, description, rules, egress, tags)


def test_a_group_as_it_should_be_needs_no_call():
    assert _differs(_listed_group()) is False


def test_a_missing_group_gets_the_call():
    assert _differs(None) is True


@pytest.mark.parametrize(
    "change",
    [
        {"tags": dict(SG_TAGS, Owner="someone")},
        {"tags": {k: v for k, v in SG_TAGS.items() if k != "Tier"}},
        {"description": "changed"},
    ],
)
def test_other_tags_or_description_get_the_call(change):
    assert _differs(_listed_group(**change)) is True


def test_a_rule_too_many_too_few_or_with_another_description_gets_the_call():
    group = _listed_group()
    extra = {"ip_protocol": "tcp", "from_port": 80, "to_port": 80, "ip_ranges": [{"cidr_ip": "0.0.0.0/0"}]}
    assert _differs(dict(group, ip_permissions=group["ip_permissions"] + [extra])) is True
    assert _differs(dict(group, ip_permissions=group["ip_permissions"][:1])) is True
    assert _differs(dict(group, ip_permissions_egress=[])) is True
    renamed = [
        dict(p, ip_ranges=[dict(r, description="by hand") for r in p["ip_ranges"]]) for p in group["ip_permissions"]
    ]
    assert _differs(dict(group, ip_permissions=renamed)) is True
    ipv6 = dict(
        group["ip_permissions_egress"][0], ipv6_ranges=[{"cidr_ipv6": "::/0", "description": "All traffic out"}]
    )
    assert _differs(dict(group, ip_permissions_egress=[ipv6])) is True


def test_a_rule_on_another_source_or_port_gets_the_call():
    group = _listed_group()
    other = [
        dict(p, user_id_group_pairs=[dict(u, group_id="sg-other") for u in p["user_id_group_pairs"]])
        for p in group["ip_permissions"]
    ]
    assert _differs(dict(group, ip_permissions=other)) is True
    assert _differs(group, rules=[dict(SG_RULES[0], ports=[8889, 22]), SG_RULES[1]]) is True


@pytest.mark.parametrize(
    "rule",
    [
        {"proto": "icmp", "from_port": 8, "to_port": -1, "cidr_ip": "0.0.0.0/0"},
        {"proto": "tcp", "ports": [22], "cidr_ipv6": "::/0"},
        {"proto": "tcp", "ports": [22], "group_name": "other"},
        {"proto": "tcp", "cidr_ip": "0.0.0.0/0"},
        {"proto": "tcp", "ports": ["ssh"], "cidr_ip": "0.0.0.0/0"},
    ],
)
def test_a_rule_shape_not_understood_is_left_to_the_module(rule):
    assert _differs(_listed_group(), rules=[*SG_RULES, rule]) is True


def test_port_ranges_and_all_traffic_compare_as_the_module_writes_them():
    group = _listed_group(
        ip_permissions=[
            {
                "ip_protocol": "udp",
                "from_port": 1000,
                "to_port": 1010,
                "ip_ranges": [{"cidr_ip": "10.0.0.0/16", "description": "range"}],
            }
        ],
    )
    assert (
        _differs(
            group, rules=[{"proto": "udp", "ports": ["1000-1010"], "cidr_ip": "10.0.0.0/16", "rule_desc": "range"}]
        )
        is False
    )
    assert (
        _differs(
            group, rules=[{"proto": "udp", "ports": ["1000-1011"], "cidr_ip": "10.0.0.0/16", "rule_desc": "range"}]
        )
        is True
    )
    assert (
        _differs(
            group,
            egress=[{"proto": "-1", "cidr_ip": "0.0.0.0/0", "rule_desc": "All traffic out"}],
            rules=[{"proto": "udp", "ports": ["1000-1010"], "cidr_ip": "10.0.0.0/16", "rule_desc": "range"}],
        )
        is False
    )


KEY = "arn:aws:kms:us-east-1:123456789012:key/k-1"
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*"}]}
BUCKET_TAGS = dict(ENV_TAGS, Name="lab-notebooks")


def _listed_bucket(**changes):
    """The notebooks bucket as s3_bucket_info's bucket_facts show it when it is as storage.yml makes it."""
    bucket = {
        "name": "lab-notebooks",
        "bucket_versioning": {"Status": "Enabled"},
        "bucket_encryption": {
            "ServerSideEncryptionConfiguration": {
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY},
                        "BucketKeyEnabled": True,
                    },
                ]
            }
        },
        "public_access_block": {
            "PublicAccessBlockConfiguration": dict.fromkeys(
                ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
            )
        },
        "bucket_ownership_controls": {"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}},
        # As S3 keeps it: the same document, other whitespace.
        "bucket_policy": {"Policy": json.dumps(POLICY, separators=(",", ":"))},
        "bucket_tagging": dict(BUCKET_TAGS),
    }
    bucket.update(changes)
    return bucket


def test_a_bucket_as_it_should_be_needs_no_call():
    assert f.bucket_differs(_listed_bucket(), KEY, json.dumps(POLICY, indent=2), BUCKET_TAGS) is False
    assert f.bucket_differs(_listed_bucket(), KEY, POLICY, BUCKET_TAGS) is False


@pytest.mark.parametrize(
    "change",
    [
        {"bucket_versioning": {"Status": "Suspended"}},
        {"bucket_versioning": {}},
        {
            "bucket_encryption": {
                "ServerSideEncryptionConfiguration": {
                    "Rules": [
                        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}
                    ]
                }
            }
        },
        {
            "bucket_encryption": {
                "ServerSideEncryptionConfiguration": {
                    "Rules": [
                        {
                            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY},
                            "BucketKeyEnabled": False,
                        }
                    ]
                }
            }
        },
        {"public_access_block": {"PublicAccessBlockConfiguration": {"BlockPublicAcls": True}}},
        {"public_access_block": {}},
        {"bucket_ownership_controls": {"OwnershipControls": {"Rules": [{"ObjectOwnership": "ObjectWriter"}]}}},
        {"bucket_policy": {}},
        {"bucket_policy": {"Policy": json.dumps(dict(POLICY, Statement=[]))}},
        {"bucket_policy": {"Policy": "not json"}},
        {"bucket_tagging": dict(BUCKET_TAGS, Owner="someone")},
        {"bucket_tagging": {}},
    ],
)
def test_a_bucket_that_differs_gets_the_call(change):
    assert f.bucket_differs(_listed_bucket(**change), KEY, POLICY, BUCKET_TAGS) is True


def test_a_missing_bucket_or_another_key_gets_the_call():
    assert f.bucket_differs(None, KEY, POLICY, BUCKET_TAGS) is True
    assert f.bucket_differs(_listed_bucket(), KEY.replace("k-1", "k-2"), POLICY, BUCKET_TAGS) is True


def owner_result(var: str, name: str, bucket: dict | None) -> dict:
    """One result of tasks/bucket_owner.yml's loop (s3_bucket_info with a name)."""
    return {"item": {"key": var, "value": name}, "buckets": [bucket] if bucket else []}


def test_whose_each_bucket_is():
    ours = {"name": "e-in", "bucket_tagging": {"Environment": "e", "ManagedBy": "research-env"}}
    theirs = {"name": "e-out", "bucket_tagging": {"Environment": "other", "ManagedBy": "research-env"}}
    elsewhere = dict(ours, name="e-nb", bucket_location={"LocationConstraint": "eu-west-1"})
    results = [
        owner_result("lambda_pipeline_input_bucket", "e-in", ours),
        owner_result("lambda_pipeline_output_bucket", "e-out", theirs),
        owner_result("notebooks_bucket", "e-nb", elsewhere),
        owner_result("spare", "e-free", None),
    ]
    assert f.buckets_found(results) == {"e-in": ours, "e-out": theirs, "e-nb": elsewhere, "e-free": None}
    assert f.bucket_owner_errors(results, "e", "research-env", "us-east-1") == [
        "lambda_pipeline_output_bucket: e-out already exists and is not this environment's (tags Environment=other, "
        "ManagedBy=research-env). research-env never takes over a bucket: pick another lambda_pipeline_output_bucket.",
        "notebooks_bucket: e-nb is this environment's but lives in eu-west-1, not in aws_region us-east-1. "
        "Set aws_region: eu-west-1.",
    ]


def test_a_rule_to_a_prefix_list_is_understood():
    """The research group's HTTPS rule to S3's prefix list (ip_prefix) is compared like any other: as it
    should be, no call; its description or prefix list changed, the call."""
    pl_rule = {"proto": "tcp", "ports": [443], "ip_prefix": "pl-63a5400a", "rule_desc": "HTTPS to S3"}
    listed = {
        "ip_protocol": "tcp",
        "from_port": 443,
        "to_port": 443,
        "ip_ranges": [],
        "ipv6_ranges": [],
        "prefix_list_ids": [{"prefix_list_id": "pl-63a5400a", "description": "HTTPS to S3"}],
        "user_id_group_pairs": [],
    }
    group = _listed_group()
    group["ip_permissions_egress"] = [*group["ip_permissions_egress"], listed]
    assert _differs(group, egress=[*SG_EGRESS, pl_rule]) is False
    assert _differs(group, egress=[*SG_EGRESS, pl_rule | {"rule_desc": "other"}]) is True
    assert _differs(group, egress=[*SG_EGRESS, pl_rule | {"ip_prefix": "pl-00000000"}]) is True
    assert _differs(group) is True  # the prefix-list rule is one too many


def test_s3_prefix_list_is_read_from_the_endpoint_route():
    tables = [
        {"routes": [{"destination_cidr_block": "10.0.0.0/16", "gateway_id": "local"}]},
        {
            "routes": [
                {"destination_cidr_block": "0.0.0.0/0", "nat_gateway_id": "nat-1"},
                {"destination_prefix_list_id": "pl-63a5400a", "gateway_id": "vpce-0123"},
            ]
        },
    ]
    assert f.s3_prefix_list(tables) == "pl-63a5400a"
    assert f.s3_prefix_list(tables[:1]) == ""
    assert f.s3_prefix_list([]) == ""
