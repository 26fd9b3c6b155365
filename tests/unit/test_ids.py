"""The discovery helpers (the collection's filter/ids.py): the tier -> id map, the key pair's fingerprint as EC2
computes it, and the "has the module anything to do" checks that let the plays skip a no-op call."""

from __future__ import annotations

import hashlib
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
