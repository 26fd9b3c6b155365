"""plugins/modules/kms_alias.py: its pure logic with plain pytest, the module itself against moto in-process."""

from __future__ import annotations

import functools

import boto3
import pytest
from modules import REGION, ansible_doc, load_module, run_module
from moto import mock_aws

m = load_module("kms_alias")
run_main = functools.partial(run_module, m)


@pytest.fixture
def kms(aws_env):
    with mock_aws():
        yield boto3.client("kms", region_name=REGION)


def aliases(kms) -> dict[str, str]:
    """alias name -> target key id, the customer's aliases only."""
    return {
        a["AliasName"]: a.get("TargetKeyId")
        for a in kms.list_aliases()["Aliases"]
        if not a["AliasName"].startswith("alias/aws/")
    }


# ----------------------------------------------------------------------------------------------- pure logic


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("researchenv", "alias/researchenv"),
        ("alias/researchenv", "alias/researchenv"),
        ("  alias/env-1_a/b ", "alias/env-1_a/b"),
        ("awsome", "alias/awsome"),  # only alias/aws/ is reserved, not every name starting with aws
        ("alias/aws-env", "alias/aws-env"),
    ],
)
def test_canonical_alias_name(name, expected):
    assert m.canonical_alias_name(name) == expected


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("alias/aws/s3", "reserved"),
        ("aws/ebs", "reserved"),
        ("alias/aws", "reserved"),
        ("", "not a valid alias"),
        ("alias/", "not a valid alias"),
        ("alias/with space", "not a valid alias"),
        ("alias/trailing/", "not a valid alias"),
        ("alias/" + "x" * 251, "not a valid alias"),
    ],
)
def test_canonical_alias_name_refuses(name, message):
    with pytest.raises(ValueError, match=message):
        m.canonical_alias_name(name)


@pytest.mark.parametrize(
    ("existing", "state", "target", "action"),
    [
        (None, "present", "k1", "create"),
        ({"TargetKeyId": "k1"}, "present", "k1", None),
        ({"TargetKeyId": "k1"}, "present", "k2", "update"),
        ({}, "present", "k2", "update"),  # an alias without a target (its key deleted)
        ({"TargetKeyId": "k1"}, "absent", None, "delete"),
        (None, "absent", None, None),
    ],
)
def test_plan(existing, state, target, action):
    assert m.plan(existing, state, target) == action


def test_alias_arn_takes_the_keys_partition_region_and_account():
    key_arn = "arn:aws-cn:kms:cn-north-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    assert m.alias_arn(key_arn, "alias/env") == "arn:aws-cn:kms:cn-north-1:123456789012:alias/env"


# ------------------------------------------------------------------------------------- against moto


def test_create_then_idempotent_whatever_names_the_key(kms, capsys):
    key = kms.create_key()["KeyMetadata"]
    rc, out = run_main({"name": "researchenv", "target_key_id": key["KeyId"]}, capsys)
    assert rc == 0 and out["changed"] is True
    assert out["alias"] == {
        "name": "alias/researchenv",
        "arn": f"arn:aws:kms:{REGION}:123456789012:alias/researchenv",
        "target_key_id": key["KeyId"],
    }
    assert out["previous_target_key_id"] is None
    assert aliases(kms) == {"alias/researchenv": key["KeyId"]}

    for target in (key["KeyId"], key["Arn"], "alias/researchenv"):
        rc, out = run_main({"name": "alias/researchenv", "target_key_id": target}, capsys)
        assert rc == 0 and out["changed"] is False, target
        assert out["alias"]["target_key_id"] == key["KeyId"] and out["previous_target_key_id"] == key["KeyId"]
        assert out["alias"]["arn"] == f"arn:aws:kms:{REGION}:123456789012:alias/researchenv"
    assert out["api_calls"] == 2  # ListAliases, DescribeKey


def test_update_repoints_the_alias(kms, capsys):
    old = kms.create_key()["KeyMetadata"]
    new = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/researchenv", TargetKeyId=old["KeyId"])
    rc, out = run_main({"name": "researchenv", "target_key_id": new["Arn"]}, capsys)
    assert rc == 0 and out["changed"] is True
    assert out["previous_target_key_id"] == old["KeyId"] and out["alias"]["target_key_id"] == new["KeyId"]
    assert aliases(kms) == {"alias/researchenv": new["KeyId"]}
    rc, out = run_main({"name": "researchenv", "target_key_id": new["Arn"]}, capsys)
    assert rc == 0 and out["changed"] is False


def test_absent_deletes_and_then_does_nothing(kms, capsys):
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/researchenv", TargetKeyId=key["KeyId"])
    kms.create_alias(AliasName="alias/other", TargetKeyId=key["KeyId"])
    rc, out = run_main({"name": "researchenv", "state": "absent"}, capsys)
    assert rc == 0 and out["changed"] is True
    assert out["alias"] is None and out["previous_target_key_id"] == key["KeyId"]
    assert aliases(kms) == {"alias/other": key["KeyId"]}
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"  # the key is untouched
    rc, out = run_main({"name": "researchenv", "state": "absent"}, capsys)
    assert rc == 0 and out["changed"] is False and out["previous_target_key_id"] is None


def test_check_mode_changes_nothing(kms, capsys):
    old = kms.create_key()["KeyMetadata"]
    new = kms.create_key()["KeyMetadata"]
    check = {"_ansible_check_mode": True}

    rc, out = run_main({"name": "fresh", "target_key_id": old["KeyId"], **check}, capsys)
    assert rc == 0 and out["changed"] is True and out["alias"]["name"] == "alias/fresh"
    assert aliases(kms) == {}

    kms.create_alias(AliasName="alias/researchenv", TargetKeyId=old["KeyId"])
    rc, out = run_main({"name": "researchenv", "target_key_id": new["KeyId"], **check}, capsys)
    assert rc == 0 and out["changed"] is True and out["alias"]["target_key_id"] == new["KeyId"]
    rc, out = run_main({"name": "researchenv", "state": "absent", **check}, capsys)
    assert rc == 0 and out["changed"] is True and out["alias"] is None
    assert aliases(kms) == {"alias/researchenv": old["KeyId"]}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"name": "aws/s3", "target_key_id": "x"}, "reserved for AWS managed keys"),
        ({"name": "env", "target_key_id": "alias/nowhere"}, "does not exist"),
        ({"name": "env", "target_key_id": "00000000-0000-0000-0000-000000000000"}, "does not exist"),
        ({"name": "env"}, "target_key_id"),  # present without a target
    ],
)
def test_refusals(kms, capsys, args, message):
    rc, out = run_main(args, capsys)
    assert rc == 1 and message in out["msg"]
    assert aliases(kms) == {}


def test_ansible_doc_renders_the_module():
    doc = ansible_doc("kms_alias")
    assert {"name", "target_key_id", "state", "region", "endpoint_url"} <= set(doc["doc"]["options"])
    assert {"alias", "previous_target_key_id"} <= set(doc["return"])
