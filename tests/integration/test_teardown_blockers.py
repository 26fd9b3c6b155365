"""Teardown plans first: against one environment (network + storage, with data in its bucket), each
test puts something there that teardown must not touch (made by hand, or data under the
environment's key outside its tagged resources) and checks that teardown refuses with nothing
deleted, names the blocker and what to do, and writes a record that says so; then it removes the
thing. The last tests run the teardown that completes, and rebuild the environment after it.

The emulator answers DependencyViolation as AWS does (scripts/moto_server.py), so each of these
would otherwise fail half-way: after the bucket and the key were gone."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from awsstate import all_resources
from emulator import Emulator
from envbuild import BUCKET, env_vars, only_record, vpc_of
from helpers import run_playbook

pytestmark = pytest.mark.integration

ENV = "researchenv"
IMAGE = "ami-0c1a9e0c24a0b1e02"  # scripts/emulator-amis.json


@pytest.fixture(scope="module")
def built(emulator_env, ssh_key, aws):
    """The network and storage of one environment (no NAT gateway: nothing here needs one), with
    notebooks in its bucket: two versions of one, and a delete marker."""
    Emulator.reset_url(emulator_env["AWS_ENDPOINT_URL"])
    extra = env_vars(ssh_key, nat_mode="none")
    run = run_playbook("site.yml", "--tags", "network,storage", extra_vars=extra, env=emulator_env)
    assert run.rc == 0, run.explain()
    s3, bucket = aws["s3"], BUCKET.format(env=ENV)
    versions = [s3.put_object(Bucket=bucket, Key="notebooks/a.ipynb", Body=b)["VersionId"] for b in (b"1", b"22")]
    marker = s3.delete_object(Bucket=bucket, Key="notebooks/a.ipynb")["VersionId"]
    vpc = vpc_of(aws["ec2"], ENV)
    subnets = aws["ec2"].describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    groups = aws["ec2"].describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
    return {
        "vpc": vpc["VpcId"],
        "subnet": {t["Value"]: s["SubnetId"] for s in subnets for t in s.get("Tags", []) if t["Key"] == "Tier"},
        "sg": {
            t["Value"]: g["GroupId"] for g in groups["SecurityGroups"] for t in g.get("Tags", []) if t["Key"] == "Tier"
        },
        "versions": versions,
        "marker": marker,
        "resources": all_resources(aws, ENV),
    }


def teardown(env, records: Path, *args: str, **extra):
    return run_playbook("playbooks/teardown.yml", *args, extra_vars={"records_dir": str(records), **extra}, env=env)


def assert_blocked(run, aws, built, records: Path, kind: str, rid: str, fix: str) -> dict:
    """Refused, nothing deleted, the blocker named with what to do, and a record that says so."""
    assert run.rc != 0, run.explain()
    words = " ".join(run.output.split())  # the YAML callback folds long lines
    assert "Teardown refused; nothing was deleted." in words, run.explain()
    assert f"{kind} {rid}" in words and fix in words, run.explain()
    assert all_resources(aws, ENV) == built["resources"]
    key = aws["kms"].describe_key(KeyId=f"alias/research-env/{ENV}")["KeyMetadata"]
    assert key["KeyState"] == "Enabled"
    record = only_record(records, ENV)
    assert record["outcome"] == "blocked" and record["resources"] == []
    assert [(b["type"], b["id"]) for b in record["blocked_by"]] == [(kind, rid)]
    return record


def test_a_network_interface_made_by_hand(built, emulator_env, aws, tmp_path):
    ec2 = aws["ec2"]
    eni = ec2.create_network_interface(SubnetId=built["subnet"]["research"], Description="made by hand")
    eni_id = eni["NetworkInterface"]["NetworkInterfaceId"]
    try:
        run = teardown(emulator_env, tmp_path, destroy_data=True)
        assert_blocked(run, aws, built, tmp_path, "network_interface", eni_id, "aws ec2 delete-network-interface")
    finally:
        ec2.delete_network_interface(NetworkInterfaceId=eni_id)


def test_a_security_group_made_by_hand_that_refers_to_ours(built, emulator_env, aws, tmp_path):
    ec2 = aws["ec2"]
    sg = ec2.create_security_group(GroupName="hand-made", Description="by hand", VpcId=built["vpc"])["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=sg,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 5432,
                "ToPort": 5432,
                "UserIdGroupPairs": [{"GroupId": built["sg"]["dmz"]}],
            }
        ],
    )
    try:
        run = teardown(emulator_env, tmp_path, destroy_data=True)
        record = assert_blocked(run, aws, built, tmp_path, "security_group", sg, "revoke-security-group-ingress")
        assert built["sg"]["dmz"] in record["blocked_by"][0]["why"]
    finally:
        ec2.delete_security_group(GroupId=sg)


def test_an_instance_launched_by_hand(built, emulator_env, aws, tmp_path):
    ec2 = aws["ec2"]
    (inst,) = ec2.run_instances(ImageId=IMAGE, MinCount=1, MaxCount=1, SubnetId=built["subnet"]["research"])[
        "Instances"
    ]
    try:
        run = teardown(emulator_env, tmp_path, destroy_data=True)
        assert_blocked(run, aws, built, tmp_path, "instance", inst["InstanceId"], "aws ec2 terminate-instances")
    finally:
        ec2.terminate_instances(InstanceIds=[inst["InstanceId"]])


def test_data_under_the_key_in_a_bucket_that_is_not_ours(built, emulator_env, aws, tmp_path):
    s3 = aws["s3"]
    key = aws["kms"].describe_key(KeyId=f"alias/research-env/{ENV}")["KeyMetadata"]["Arn"]
    s3.create_bucket(Bucket="shared-archive-by-hand")
    s3.put_object(
        Bucket="shared-archive-by-hand", Key="copy.csv", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key
    )
    before = dict(built, resources=all_resources(aws, ENV))
    try:
        run = teardown(emulator_env, tmp_path, destroy_data=True)
        record = assert_blocked(run, aws, before, tmp_path, "bucket", "shared-archive-by-hand", "--sse-kms-key-id")
        assert "1 object versions are encrypted with it (copy.csv)" in record["blocked_by"][0]["why"]
    finally:
        s3.delete_object(Bucket="shared-archive-by-hand", Key="copy.csv")
        s3.delete_bucket(Bucket="shared-archive-by-hand")


def test_a_vpc_whose_tags_were_removed_by_hand(built, emulator_env, aws, tmp_path):
    ec2, vpc = aws["ec2"], built["vpc"]
    ec2.delete_tags(Resources=[vpc], Tags=[{"Key": "Environment"}])
    before = dict(built, resources=all_resources(aws, ENV))
    try:
        run = teardown(emulator_env, tmp_path, destroy_data=True)
        assert_blocked(run, aws, before, tmp_path, "vpc", vpc, f"aws ec2 create-tags --resources {vpc}")
    finally:
        ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Environment", "Value": ENV}])


def test_a_key_whose_alias_was_removed_is_found_through_its_bucket(built, emulator_env, aws, tmp_path):
    kms = aws["kms"]
    key = kms.describe_key(KeyId=f"alias/research-env/{ENV}")["KeyMetadata"]["KeyId"]
    kms.delete_alias(AliasName=f"alias/research-env/{ENV}")
    try:
        run = teardown(emulator_env, tmp_path, "--check", destroy_data=True)
        assert run.rc == 0, run.explain()
        words = " ".join(run.output.split())  # the YAML callback folds long lines
        assert f"kms_key {key}" in words and f"KMS key {key} has lost its alias" in words
    finally:
        kms.create_alias(AliasName=f"alias/research-env/{ENV}", TargetKeyId=key)


def test_without_destroy_data_the_bucket_is_refused(built, emulator_env, aws, tmp_path):
    run = teardown(emulator_env, tmp_path)
    assert run.rc != 0 and "Teardown refused; nothing was deleted." in run.output
    held = f"bucket {BUCKET.format(env=ENV)}: 2 object versions (0 current), 1 delete markers"
    assert held in run.output and "-e destroy_data=true" in run.output
    assert all_resources(aws, ENV) == built["resources"]
    record = only_record(tmp_path, ENV)
    assert record["outcome"] == "refused" and record["refused_because"] == [held] and record["resources"] == []


def test_check_mode_prints_the_plan_and_touches_nothing(built, emulator_env, aws, tmp_path):
    run = teardown(emulator_env, tmp_path, "--check", destroy_data=True)
    assert run.rc == 0, run.explain()
    assert "Teardown plan of environment researchenv, in this order:" in run.output
    assert f"vpc {built['vpc']} researchenv-vpc" in run.output
    assert all_resources(aws, ENV) == built["resources"]
    assert list(tmp_path.iterdir()) == []


def test_the_complete_teardown_and_its_record(built, emulator_env, aws, tmp_path):
    key = aws["kms"].describe_key(KeyId=f"alias/research-env/{ENV}")["KeyMetadata"]
    run = teardown(emulator_env, tmp_path, destroy_data=True)
    assert run.rc == 0, run.explain()
    assert all_resources(aws, ENV) == {}
    record = only_record(tmp_path, ENV)
    assert record["outcome"] == "complete" and record["counts"]["failed"] == 0

    # Every object version and delete marker destroyed, by key, version id, size and date.
    (entry,) = [r for r in record["resources"] if r["type"] == "bucket"]
    destroyed = {(d["key"], d["version_id"], d["is_delete_marker"], d["size"]) for d in entry["details"]["destroyed"]}
    assert destroyed == {
        ("notebooks/a.ipynb", built["versions"][0], False, 1),
        ("notebooks/a.ipynb", built["versions"][1], False, 2),
        ("notebooks/a.ipynb", built["marker"], True, 0),
    }
    assert all(d["last_modified"].endswith("Z") for d in entry["details"]["destroyed"])
    assert record["counts"]["object_versions_destroyed"] == 2 and record["counts"]["delete_markers_destroyed"] == 1

    # The key is scheduled, its date in the record, its alias freed for a rebuild.
    (kms,) = [r for r in record["resources"] if r["type"] == "kms_key"]
    assert kms["result"] == "scheduled for deletion" and kms["id"] == key["KeyId"]
    state = aws["kms"].describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert state["KeyState"] == "PendingDeletion"
    assert kms["details"]["deletion_date"][:10] == state["DeletionDate"].strftime("%Y-%m-%d")
    aliases = [a["AliasName"] for a in aws["kms"].list_aliases()["Aliases"]]
    assert f"alias/research-env/{ENV}" not in aliases

    # The Markdown gives the counts and the JSON's SHA-256; the run ends by printing both.
    json_file = next(tmp_path.glob("*.json"))
    digest = hashlib.sha256(json_file.read_bytes()).hexdigest()
    markdown = json_file.with_suffix(".md").read_text()
    assert digest in markdown and "2 object versions, 1 delete markers" in markdown
    assert f"Destruction record: {json_file}" in run.output and f"SHA-256 of the record: {digest}" in run.output
    built["old_key"] = key["KeyId"]


def test_a_rebuild_makes_a_new_key_and_never_cancels_the_deletion(built, emulator_env, ssh_key, aws, tmp_path):
    run = run_playbook("site.yml", "--tags", "storage", extra_vars=env_vars(ssh_key), env=emulator_env)
    assert run.rc == 0, run.explain()
    new = aws["kms"].describe_key(KeyId=f"alias/research-env/{ENV}")["KeyMetadata"]
    assert new["KeyId"] != built["old_key"] and new["KeyState"] == "Enabled"
    assert aws["kms"].describe_key(KeyId=built["old_key"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    run = teardown(emulator_env, tmp_path, destroy_data=True)
    assert run.rc == 0, run.explain()
    assert all_resources(aws, ENV) == {}
