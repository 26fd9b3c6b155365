"""The posture checks of playbooks/verify.yml (the collection's filter/posture.py): an environment as
research-env builds it passes every check; each fault an auditor looks for, injected alone into what
the AWS modules and the hosts answered, fails exactly its check and names the resource."""

from __future__ import annotations

import base64
import copy
import json

import pytest
from ansible_collections.research_env.core.plugins.filter import posture as f

KEY = "arn:aws:kms:us-east-1:123456789012:key/k-1"
BUCKET = "researchenv-notebooks-123456789012"
TLS = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
POLICY = {"Version": "2012-10-17", "Statement": [TLS]}
ENDPOINT_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": [f"arn:aws:s3:::{BUCKET}"]}],
}


def instance(role: str, n: int, public: str | None = None) -> dict:
    return {
        "instance_id": f"i-{n}",
        "state": {"name": "running"},
        "metadata_options": {"http_tokens": "required"},
        "public_ip_address": public,
        "tags": {"Name": f"researchenv-{role}", "Role": role},
    }


def group(tier: str, inbound: list, outbound: list) -> dict:
    return {
        "group_id": f"sg-{tier}",
        "tags": {"Tier": tier},
        "ip_permissions": inbound,
        "ip_permissions_egress": outbound,
    }


def perm(proto: str, port: int | None, **source) -> dict:
    found = {"ip_protocol": proto, "from_port": port, "to_port": port}
    if "cidr" in source:
        found["ip_ranges"] = [{"cidr_ip": source["cidr"]}]
    if "group" in source:
        found["user_id_group_pairs"] = [{"group_id": source["group"]}]
    return found


def healthy() -> dict:
    """What verify.yml reads of a default environment after a deploy (nat_mode during_deploy)."""
    return {
        "kms_key_arn": KEY,
        "instances": [
            instance("vpn", 1, "203.0.113.5"),
            instance("voila", 2, "203.0.113.6"),
            instance("jupyter", 3),
            instance("filegator", 4),
        ],
        "volumes": [
            {"id": f"vol-{n}", "encrypted": True, "attachment_set": [{"instance_id": f"i-{n}"}]} for n in range(1, 5)
        ],
        "key_volume_ids": [f"vol-{n}" for n in range(1, 5)],
        "buckets": {
            BUCKET: {
                "bucket_versioning": {"Status": "Enabled"},
                "public_access_block": {"PublicAccessBlockConfiguration": dict.fromkeys(f._PUBLIC_BLOCK, True)},
                "bucket_policy": {"Policy": json.dumps(POLICY)},
                "bucket_encryption": {
                    "ServerSideEncryptionConfiguration": {
                        "Rules": [
                            {
                                "ApplyServerSideEncryptionByDefault": {
                                    "SSEAlgorithm": "aws:kms",
                                    "KMSMasterKeyID": KEY,
                                },
                                "BucketKeyEnabled": True,
                            }
                        ]
                    }
                },
            }
        },
        "bucket_policies": {BUCKET: POLICY},
        "security_groups": [
            group("dmz", [perm("tcp", 22, cidr="198.51.100.7/32")], [perm("-1", None, cidr="0.0.0.0/0")]),
            group("research", [perm("tcp", 8888, group="sg-dmz")], [perm("tcp", 443, cidr="10.0.0.0/16")]),
        ],
        "wanted_security_groups": {
            "dmz": {
                "rules": [{"proto": "tcp", "ports": [22], "cidr_ip": ["198.51.100.7/32"], "rule_desc": "SSH"}],
                "rules_egress": [{"proto": "all", "cidr_ip": "0.0.0.0/0", "rule_desc": "out"}],
            },
            "research": {
                "rules": [{"proto": "tcp", "ports": [8888], "group_id": "sg-dmz", "rule_desc": "Jupyter"}],
                "rules_egress": [
                    {"proto": "tcp", "ports": [443], "cidr_ip": "10.0.0.0/16", "rule_desc": "VPC"},
                    {"proto": "tcp", "ports": [80], "cidr_ip": "0.0.0.0/0", "rule_desc": "NAT", "enabled": False},
                ],
            },
        },
        "route_tables": [
            {
                "id": "rtb-research",
                "associations": [{"subnet_id": "subnet-research"}],
                "routes": [{"destination_cidr_block": "10.0.0.0/16", "gateway_id": "local"}],
            },
            {
                "id": "rtb-dmz",
                "associations": [{"subnet_id": "subnet-dmz"}],
                "routes": [{"destination_cidr_block": "0.0.0.0/0", "gateway_id": "igw-1"}],
            },
        ],
        "research_subnet": "subnet-research",
        "research_roles": ["filegator", "jupyter"],
        "iam_path": "/research-env/researchenv/",
        "iam_users": [],
        "iam_keys": {},
        "nat_mode": "during_deploy",
        "nat_gateways": [],
        "endpoint": {"vpc_endpoint_id": "vpce-1", "policy_document": json.dumps(ENDPOINT_POLICY)},
        "endpoint_policy": json.dumps(ENDPOINT_POLICY),
        "hosts": {
            "researchenv-vpn": {"static_keys": []},
            "researchenv-voila": {"static_keys": [], "voila": {"url": "http://203.0.113.6/", "status": 200}},
            "researchenv-jupyter": {"static_keys": []},
            "researchenv-filegator": {"static_keys": []},
        },
    }


def failed(data: dict) -> list[tuple[str, str]]:
    return [(r["check"], r["resource"]) for r in f.posture_checks(data) if r["status"] == "fail"]


def test_the_environment_as_built_passes_every_check():
    results = f.posture_checks(healthy())
    assert [r for r in results if r["status"] != "pass"] == []
    # Every check of the list answered at least once.
    assert {r["check"] for r in results} == set(f.CHECKS)
    assert f.posture_failures(results) == []


def with_fault(change) -> dict:
    data = copy.deepcopy(healthy())
    change(data)
    return data


def _set(path: list, value):
    def change(data):
        target = data
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


def _bucket(**changes):
    def change(data):
        data["buckets"][BUCKET].update(changes)

    return change


def _add_rule(data):
    data["security_groups"][1]["ip_permissions"].append(perm("tcp", 22, cidr="0.0.0.0/0"))


def _igw_route(data):
    data["route_tables"][0]["routes"].append({"destination_cidr_block": "0.0.0.0/0", "gateway_id": "igw-1"})


def _user_with_key(data):
    data["iam_users"] = [{"user_name": "researchenv-sync"}]
    data["iam_keys"] = {"researchenv-sync": [{"access_key_id": "AKIAEXAMPLE000000001", "status": "Active"}]}


def _key_on_host(data):
    data["hosts"]["researchenv-jupyter"]["static_keys"] = [
        {"path": "/root/.aws/credentials", "key": "…0001", "declared": False}
    ]


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (_set(["instances", 2, "metadata_options", "http_tokens"], "optional"), [("imdsv2_required", "i-3 (jupyter)")]),
        (_set(["volumes", 2, "encrypted"], False), [("ebs_encrypted_with_env_key", "vol-3 on i-3 (jupyter)")]),
        (
            _set(["key_volume_ids"], ["vol-1", "vol-2", "vol-4"]),
            [("ebs_encrypted_with_env_key", "vol-3 on i-3 (jupyter)")],
        ),
        (_bucket(bucket_versioning={"Status": "Suspended"}), [("bucket_versioning", BUCKET)]),
        (
            _bucket(public_access_block={"PublicAccessBlockConfiguration": {"BlockPublicAcls": True}}),
            [("bucket_public_access_block", BUCKET)],
        ),
        (_bucket(bucket_policy={}), [("bucket_tls_only", BUCKET), ("bucket_policy_as_designed", BUCKET)]),
        (
            _bucket(
                bucket_encryption={
                    "ServerSideEncryptionConfiguration": {
                        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                    }
                }
            ),
            [("bucket_sse_kms", BUCKET)],
        ),
        (_add_rule, [("security_group_rules", "sg-research (research)")]),
        (_set(["instances", 2, "public_ip_address"], "198.51.100.9"), [("research_hosts_not_public", "i-3 (jupyter)")]),
        (
            _igw_route,
            [("research_hosts_not_public", "i-3 (jupyter)"), ("research_hosts_not_public", "i-4 (filegator)")],
        ),
        (_user_with_key, [("no_iam_access_keys", "researchenv-sync (AKIAEXAMPLE000000001)")]),
        (_set(["nat_gateways"], [{"nat_gateway_id": "nat-1", "state": "available"}]), [("nat_released", "nat-1")]),
        (
            _set(
                ["endpoint", "policy_document"],
                json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}),
            ),
            [("endpoint_policy", "vpce-1")],
        ),
        (_set(["endpoint"], None), [("endpoint_policy", "the research subnet's S3 endpoint")]),
        (_key_on_host, [("no_static_aws_keys", "researchenv-jupyter")]),
        (
            _set(["hosts", "researchenv-voila", "voila"], {"url": "http://203.0.113.6/", "status": 502}),
            [("voila_answers", "researchenv-voila http://203.0.113.6/")],
        ),
    ],
)
def test_each_fault_fails_its_check_and_names_the_resource(fault, expected):
    data = with_fault(fault)
    assert failed(data) == expected
    lines = f.posture_failures(f.posture_checks(data))
    assert [line.split(" failed on ")[0] for line in lines] == [check for check, _ in expected]
    assert all(resource in line for (_, resource), line in zip(expected, lines, strict=True))


def test_a_bucket_gone_fails_its_four_checks():
    data = with_fault(_set(["buckets", BUCKET], None))
    assert {c for c, r in failed(data) if r == BUCKET} == {
        "bucket_versioning",
        "bucket_public_access_block",
        "bucket_tls_only",
        "bucket_sse_kms",
    }


def test_a_tls_statement_that_does_not_cover_the_objects_is_not_tls_only():
    partial = dict(TLS, Resource=[f"arn:aws:s3:::{BUCKET}"])
    assert not f._denies_plain_http({"Statement": [partial]}, BUCKET)
    allow = dict(TLS, Effect="Allow")
    assert not f._denies_plain_http({"Statement": [allow]}, BUCKET)
    assert f._denies_plain_http({"Statement": TLS}, BUCKET)  # one statement, not in a list


def test_nat_mode_always_keeps_the_gateway_on_purpose():
    data = with_fault(_set(["nat_gateways"], [{"nat_gateway_id": "nat-1", "state": "available"}]))
    data["nat_mode"] = "always"
    results = [r for r in f.posture_checks(data) if r["check"] == "nat_released"]
    assert [r["status"] for r in results] == ["skipped"]
    # A gateway being deleted is no way out.
    data = with_fault(_set(["nat_gateways"], [{"nat_gateway_id": "nat-1", "state": "deleting"}]))
    assert failed(data) == []


def test_a_missing_rule_is_named_as_missing():
    data = with_fault(_set(["security_groups", 1, "ip_permissions_egress"], []))
    [line] = f.posture_failures(f.posture_checks(data))
    assert "out: missing tcp 443 10.0.0.0/16" in line


def test_hosts_not_in_the_run_are_skipped_not_passed():
    data = healthy()
    data["hosts"] = {}
    skipped = [(r["check"], r["resource"]) for r in f.posture_checks(data) if r["status"] == "skipped"]
    assert ("no_static_aws_keys", "researchenv-jupyter") in skipped
    assert ("voila_answers", "researchenv-voila") in skipped
    assert failed(data) == []


def test_terminated_instances_do_not_count():
    data = healthy()
    gone = instance("jupyter", 9, "198.51.100.9")
    gone["state"]["name"] = "terminated"
    gone["metadata_options"]["http_tokens"] = "optional"
    data["instances"].append(gone)
    assert failed(data) == []


def slurped(path: str, text: str) -> dict:
    return {"source": path, "content": base64.b64encode(text.encode()).decode()}


def test_static_keys_are_found_masked_and_the_lab_key_is_declared():
    files = [
        slurped("/opt/s3-sync/jobs/push.env", "AWS_ENDPOINT_URL=http://172.17.0.1:5000\nAWS_ACCESS_KEY_ID=testing\n"),
        slurped(
            "/root/.aws/credentials", "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = x\n"
        ),
        slurped("/etc/app.json", '{"aws_access_key_id": "ASIAY34FZKBOKMUTVV7A"}'),
        slurped("/etc/motd", "nothing here"),
    ]
    found = f.static_key_findings(files, ["testing"])
    assert found == [
        {"path": "/opt/s3-sync/jobs/push.env", "key": "testing", "declared": True},
        {"path": "/root/.aws/credentials", "key": "…MPLE", "declared": False},
        {"path": "/etc/app.json", "key": "…VV7A", "declared": False},
    ]
    # The secret never comes back, only the masked key id.
    assert "AKIAIOSFODNN7EXAMPLE" not in json.dumps(found)
    # Without the lab's declaration the emulator key is a key like any other.
    assert f.static_key_findings(files[:1], [])[0]["declared"] is False


def test_declared_lab_keys_pass_and_say_so():
    data = healthy()
    data["hosts"]["researchenv-jupyter"]["static_keys"] = [
        {"path": "/etc/jupyter/environment", "key": "testing", "declared": True}
    ]
    [result] = [r for r in f.posture_checks(data) if r["resource"] == "researchenv-jupyter"]
    assert result["status"] == "pass" and "declared" in result["detail"]


def test_posture_json_is_json_with_one_check_per_line():
    results = f.posture_checks(with_fault(_add_rule))
    text = f.posture_json(results, {"environment": "researchenv", "passed": False})
    document = json.loads(text)
    assert document["environment"] == "researchenv" and document["passed"] is False
    assert document["checks"] == results
    check_lines = [line for line in text.splitlines() if line.strip().startswith('{"check"')]
    assert len(check_lines) == len(results)
