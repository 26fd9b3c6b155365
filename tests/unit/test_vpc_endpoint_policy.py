"""plugins/modules/vpc_endpoint_policy.py: the policy comparison with plain pytest, the module against moto
in-process: an endpoint's policy set in place (same id), a rerun without a call that changes, check mode."""

from __future__ import annotations

import functools
import json

import boto3
import pytest
from modules import REGION, load_module, run_module
from moto import mock_aws

m = load_module("vpc_endpoint_policy")
run_main = functools.partial(run_module, m)

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "EnvironmentBuckets",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
            "Condition": {"StringEquals": {"aws:ResourceAccount": "123456789012"}},
        }
    ],
}


def test_equivalent_spellings_are_equal():
    """IAM treats a lone statement or value like a list of one, and values in any order, alike."""
    spelled = {
        "Version": "2012-10-17",
        "Statement": {
            "Sid": "EnvironmentBuckets",
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:*"],
            "Resource": ["arn:aws:s3:::b/*", "arn:aws:s3:::b"],
            "Condition": {"StringEquals": {"aws:ResourceAccount": ["123456789012"]}},
        },
    }
    assert m.policies_equal(json.dumps(spelled), POLICY)
    other = json.loads(json.dumps(POLICY))
    other["Statement"][0]["Resource"].append("arn:aws:s3:::c/*")
    assert not m.policies_equal(other, POLICY)
    assert not m.policies_equal(None, POLICY)


@pytest.fixture
def endpoint(aws_env):
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        made = ec2.create_vpc_endpoint(
            VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.s3", VpcEndpointType="Gateway", RouteTableIds=[table]
        )["VpcEndpoint"]
        yield ec2, made["VpcEndpointId"]


def policy_of(ec2, endpoint_id: str) -> dict | None:
    (found,) = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"]
    return json.loads(found["PolicyDocument"]) if found.get("PolicyDocument") else None


def test_sets_the_policy_in_place_then_changes_nothing(endpoint, capsys):
    ec2, endpoint_id = endpoint
    before = policy_of(ec2, endpoint_id)
    rc, out = run_main({"vpc_endpoint_id": endpoint_id, "policy": json.dumps(POLICY)}, capsys)
    assert rc == 0 and out["changed"] is True
    assert out["previous_policy"] == before and out["policy"] == POLICY
    assert policy_of(ec2, endpoint_id) == POLICY
    assert out["api_calls"] == 2  # describe, modify
    rc, out = run_main({"vpc_endpoint_id": endpoint_id, "policy": json.dumps(POLICY)}, capsys)
    assert rc == 0 and out["changed"] is False and out["api_calls"] == 1
    assert [e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]] == [endpoint_id]


def test_check_mode_changes_nothing(endpoint, capsys):
    ec2, endpoint_id = endpoint
    before = policy_of(ec2, endpoint_id)
    rc, out = run_main({"vpc_endpoint_id": endpoint_id, "policy": POLICY, "_ansible_check_mode": True}, capsys)
    assert rc == 0 and out["changed"] is True and out["policy"] == POLICY
    assert policy_of(ec2, endpoint_id) == before


def test_a_missing_endpoint_or_a_policy_that_is_not_one_fails_clearly(endpoint, capsys):
    _ec2, endpoint_id = endpoint
    rc, out = run_main({"vpc_endpoint_id": "vpce-0123456789abcdef0", "policy": POLICY}, capsys)
    assert rc == 1 and "vpce-0123456789abcdef0 does not exist" in out["msg"]
    rc, out = run_main({"vpc_endpoint_id": endpoint_id, "policy": {"Version": "2012-10-17"}}, capsys)
    assert rc == 1 and "must be a policy document" in out["msg"]
