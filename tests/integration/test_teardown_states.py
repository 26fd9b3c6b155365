"""Teardown from the states a real project leaves behind: a network that stopped half-way, compute
half done, storage only, a bucket that still holds research data (under the configured name, a
custom name, or with its tags replaced by hand), EFS, and a key an older teardown scheduled while
data survived. Each ends refused with nothing deleted, or complete with nothing left, and a record
that says which. (Foreign resources inside the VPC: test_teardown_blockers.py.)"""

from __future__ import annotations

import pytest
from awsstate import all_resources
from envbuild import BUCKET, env_vars, only_record
from helpers import run_playbook

pytestmark = pytest.mark.integration


def teardown(aws_env, tmp_path, **extra):
    return run_playbook("playbooks/teardown.yml", extra_vars={"records_dir": str(tmp_path), **extra}, env=aws_env)


def test_half_built_network(aws_env, aws, ssh_key, tmp_path):
    # The research subnet lies outside the VPC: AWS refuses it after dmz and production exist.
    # network.yml run directly skips preflight, which would have caught this.
    subnets = {
        "dmz": {"cidr": "10.0.1.0/24", "public": True},
        "production": {"cidr": "10.0.2.0/24", "public": True},
        "research": {"cidr": "10.9.3.0/24", "public": False},
    }
    run = run_playbook("playbooks/network.yml", extra_vars=env_vars(ssh_key, subnets=subnets), env=aws_env)
    assert run.rc != 0, "the broken subnet should stop the run"
    found = all_resources(aws, "researchenv")
    assert len(found["subnet"]) == 2 and "route_table" not in found, f"expected a half-built network: {found}"

    run = teardown(aws_env, tmp_path)
    assert run.rc == 0, run.explain()
    assert all_resources(aws, "researchenv") == {}
    record = only_record(tmp_path, "researchenv")
    assert sorted(r["type"] for r in record["resources"]) == ["subnet", "subnet", "vpc"]


def test_compute_half_done(aws_env, aws, ssh_key, tmp_path):
    # A mistyped subnet for one host: the hosts before it are launched, then the play stops before
    # the Elastic IP. Playbooks run one by one, as an admin fixing things by hand would.
    for playbook in ("network", "storage", "iam"):
        run = run_playbook(f"playbooks/{playbook}.yml", extra_vars=env_vars(ssh_key), env=aws_env)
        assert run.rc == 0, run.explain()
    instances = {
        "vpn": {"type": "t3.small", "subnet": "dmz", "eip": True, "volume_gb": 20},
        "voila": {"type": "t3.small", "subnet": "production", "eip": False, "volume_gb": 20},
        "jupyter": {"type": "t3.large", "subnet": "nowhere", "eip": False, "volume_gb": 50},
    }
    run = run_playbook("playbooks/compute.yml", extra_vars=env_vars(ssh_key, instances=instances), env=aws_env)
    assert run.rc != 0, "the unknown subnet should stop the run"
    found = all_resources(aws, "researchenv")
    assert len(found["instance"]) == 2 and "elastic_ip" in found, found  # the NAT gateway's address only
    assert len(found["elastic_ip"]) == 1

    run = teardown(aws_env, tmp_path)
    assert run.rc == 0, run.explain()
    assert all_resources(aws, "researchenv") == {}
    record = only_record(tmp_path, "researchenv")
    assert record["outcome"] == "complete"
    assert sorted(r["id"] for r in record["resources"] if r["type"] == "instance") == found["instance"]


def test_storage_only(aws_env, aws, ssh_key, tmp_path):
    run = run_playbook("playbooks/storage.yml", extra_vars=env_vars(ssh_key), env=aws_env)
    assert run.rc == 0, run.explain()
    assert set(all_resources(aws, "researchenv")) == {"bucket", "kms_key"}

    run = teardown(aws_env, tmp_path)
    assert run.rc == 0, run.explain()
    assert all_resources(aws, "researchenv") == {}
    record = only_record(tmp_path, "researchenv")
    assert [r["type"] for r in record["resources"]] == ["bucket", "kms_key"]


def test_bucket_with_data_is_refused_then_destroyed_on_purpose(aws_env, aws, ssh_key, tmp_path):
    run = run_playbook("playbooks/storage.yml", extra_vars=env_vars(ssh_key), env=aws_env)
    assert run.rc == 0, run.explain()
    s3, bucket = aws["s3"], BUCKET.format(env="researchenv")
    for body in (b"v1", b"v2", b"v3"):
        s3.put_object(Bucket=bucket, Key="notebooks/analysis.ipynb", Body=body)
    s3.put_object(Bucket=bucket, Key="published/dashboard.ipynb", Body=b"d")
    s3.delete_object(Bucket=bucket, Key="published/dashboard.ipynb")  # leaves a delete marker
    before = all_resources(aws, "researchenv")

    refused = tmp_path / "refused"
    run = teardown(aws_env, refused)
    assert run.rc != 0
    assert "Teardown refused; nothing was deleted" in run.output
    assert f"bucket {bucket}: 4 object versions (1 current), 1 delete markers" in run.output
    assert all_resources(aws, "researchenv") == before
    assert len(s3.list_object_versions(Bucket=bucket)["Versions"]) == 4
    record = only_record(refused, "researchenv")
    assert record["outcome"] == "refused" and record["resources"] == []
    assert record["refused_because"] == [f"bucket {bucket}: 4 object versions (1 current), 1 delete markers"]

    destroyed = tmp_path / "destroyed"
    run = teardown(aws_env, destroyed, destroy_data=True)
    assert run.rc == 0, run.explain()
    assert all_resources(aws, "researchenv") == {}
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    record = only_record(destroyed, "researchenv")
    entry = next(r for r in record["resources"] if r["type"] == "bucket")
    assert entry["result"] == "deleted"
    assert {k: v for k, v in entry["details"].items() if k not in ("destroyed", "destroyed_counts")} == {
        "current_objects": 1,
        "versions": 4,
        "noncurrent_versions": 3,
        "delete_markers": 1,
        "bytes": 7,
    }
    assert entry["details"]["destroyed_counts"] == {"versions": 4, "delete_markers": 1, "bytes": 7}
    assert sorted(d["key"] for d in entry["details"]["destroyed"]) == [
        "notebooks/analysis.ipynb",
        "notebooks/analysis.ipynb",
        "notebooks/analysis.ipynb",
        "published/dashboard.ipynb",
        "published/dashboard.ipynb",
    ]


def test_efs_is_data_too(aws_env, aws, ssh_key, tmp_path):
    run = run_playbook(
        "site.yml", "--tags", "network,storage", extra_vars=env_vars(ssh_key, efs_enabled=True), env=aws_env
    )
    assert run.rc == 0, run.explain()
    (fs,) = aws["efs"].describe_file_systems()["FileSystems"]
    assert fs["Encrypted"] is True
    assert fs["KmsKeyId"] == aws["kms"].describe_key(KeyId="alias/research-env/researchenv")["KeyMetadata"]["Arn"]
    (target,) = aws["efs"].describe_mount_targets(FileSystemId=fs["FileSystemId"])["MountTargets"]
    subnet = aws["ec2"].describe_subnets(SubnetIds=[target["SubnetId"]])["Subnets"][0]
    assert subnet["CidrBlock"] == "10.0.3.0/24"

    run = teardown(aws_env, tmp_path / "refused")
    assert run.rc != 0 and f"EFS file system {fs['FileSystemId']}" in run.output
    run = teardown(aws_env, tmp_path / "destroyed", destroy_data=True)
    assert run.rc == 0, run.explain()
    assert all_resources(aws, "researchenv") == {}


def test_an_old_teardown_left_the_alias_on_a_pending_key_that_still_encrypts_data(aws_env, ssh_key, aws, tmp_path):
    """Before this fix teardown kept the alias and scheduled the key while a bucket survived. The
    rebuild must not cancel the deletion silently, nor make a new key while data needs the old one."""
    kms, s3 = aws["kms"], aws["s3"]
    key = kms.create_key(
        Tags=[{"TagKey": "Environment", "TagValue": "researchenv"}, {"TagKey": "ManagedBy", "TagValue": "research-env"}]
    )
    key_id = key["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/research-env/researchenv", TargetKeyId=key_id)
    s3.create_bucket(Bucket="survivor-bucket")
    s3.put_object(
        Bucket="survivor-bucket", Key="n.ipynb", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_id
    )
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=30)

    run = run_playbook("site.yml", "--tags", "storage", extra_vars=env_vars(ssh_key), env=aws_env)
    assert run.rc != 0
    assert f"aws kms cancel-key-deletion --key-id {key_id}" in run.output and "survivor-bucket" in run.output
    assert "nothing was created" in run.output
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert all(v.get("IsDefault") for v in aws["ec2"].describe_vpcs()["Vpcs"])

    # Once the data is gone (or moved), the rebuild frees the alias and makes a new key.
    s3.delete_object(Bucket="survivor-bucket", Key="n.ipynb")
    run = run_playbook("site.yml", "--tags", "storage", extra_vars=env_vars(ssh_key), env=aws_env)
    assert run.rc == 0, run.explain()
    assert kms.describe_key(KeyId="alias/research-env/researchenv")["KeyMetadata"]["KeyId"] != key_id
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"


def test_a_bucket_with_a_custom_name_is_found_by_its_tags(aws_env, aws, ssh_key, tmp_path):
    """Deployed with -e notebooks_bucket=<custom>, torn down without it: the bucket is still found,
    its data refused without destroy_data, and the key is not touched; with destroy_data, every
    version goes, listed in the record, and then the key."""
    custom = "genomics-project-data-0042"
    run = run_playbook("playbooks/storage.yml", extra_vars=env_vars(ssh_key, notebooks_bucket=custom), env=aws_env)
    assert run.rc == 0, run.explain()
    s3, kms = aws["s3"], aws["kms"]
    put = [s3.put_object(Bucket=custom, Key="notebooks/cohort.ipynb", Body=b)["VersionId"] for b in (b"a", b"bb")]
    key_id = kms.describe_key(KeyId="alias/research-env/researchenv")["KeyMetadata"]["KeyId"]
    before = all_resources(aws, "researchenv")

    run = teardown(aws_env, tmp_path / "refused")
    assert run.rc != 0 and "Teardown refused; nothing was deleted" in run.output
    assert f"bucket {custom}: 2 object versions (1 current), 0 delete markers" in run.output
    assert all_resources(aws, "researchenv") == before
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    record = only_record(tmp_path / "refused", "researchenv")
    assert record["outcome"] == "refused" and record["resources"] == []

    run = teardown(aws_env, tmp_path / "destroyed", destroy_data=True)
    assert run.rc == 0, run.explain()
    assert all_resources(aws, "researchenv") == {}
    record = only_record(tmp_path / "destroyed", "researchenv")
    (bucket,) = [r for r in record["resources"] if r["type"] == "bucket"]
    assert bucket["id"] == custom and sorted(d["version_id"] for d in bucket["details"]["destroyed"]) == sorted(put)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"


def test_a_bucket_retagged_by_hand_blocks_teardown_until_its_tags_are_back(aws_env, aws, ssh_key, tmp_path):
    """Its tags replaced by hand, the bucket is still found by its encryption with the key: teardown
    refuses (even with destroy_data) rather than leave it behind with its key scheduled for deletion."""
    run = run_playbook("playbooks/storage.yml", extra_vars=env_vars(ssh_key), env=aws_env)
    assert run.rc == 0, run.explain()
    s3, kms, bucket = aws["s3"], aws["kms"], BUCKET.format(env="researchenv")
    s3.put_object(Bucket=bucket, Key="notebooks/cohort.ipynb", Body=b"a")
    original = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "Owner", "Value": "someone"}]})
    key_id = kms.describe_key(KeyId="alias/research-env/researchenv")["KeyMetadata"]["KeyId"]

    run = teardown(aws_env, tmp_path / "blocked", destroy_data=True)
    assert run.rc != 0 and "Teardown refused; nothing was deleted" in run.output
    assert f"bucket {bucket}" in run.output and "put-bucket-tagging" in run.output
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    assert len(s3.list_object_versions(Bucket=bucket)["Versions"]) == 1
    record = only_record(tmp_path / "blocked", "researchenv")
    assert record["outcome"] == "blocked" and record["resources"] == []
    assert [(b["type"], b["id"]) for b in record["blocked_by"]] == [("bucket", bucket)]

    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": original})
    run = teardown(aws_env, tmp_path / "destroyed", destroy_data=True)
    assert run.rc == 0, run.explain()
    assert all_resources(aws, "researchenv") == {}
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"


def test_a_deletion_that_fails_is_recorded_and_keeps_the_key(aws_env, aws, ssh_key, tmp_path):
    """An object under Object Lock (COMPLIANCE) cannot be deleted: the bucket deletion fails part-way.
    Teardown goes on with the rest, records what it destroyed before the failure and what is left,
    keeps the key (the locked object is readable only with it), and fails at the end."""
    run = run_playbook("playbooks/storage.yml", extra_vars=env_vars(ssh_key), env=aws_env)
    assert run.rc == 0, run.explain()
    s3, kms, bucket = aws["s3"], aws["kms"], BUCKET.format(env="researchenv")
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
    free = s3.put_object(Bucket=bucket, Key="notebooks/free.ipynb", Body=b"f")["VersionId"]
    s3.put_object(
        Bucket=bucket,
        Key="notebooks/locked.ipynb",
        Body=b"l",
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate="2030-01-01T00:00:00Z",
    )
    key_id = kms.describe_key(KeyId="alias/research-env/researchenv")["KeyMetadata"]["KeyId"]

    run = teardown(aws_env, tmp_path, destroy_data=True)
    assert run.rc != 0
    assert "Teardown is incomplete" in run.output
    record = only_record(tmp_path, "researchenv")
    assert record["outcome"] == "incomplete"
    entries = {r["type"]: r for r in record["resources"]}
    assert entries["bucket"]["result"].startswith("failed:")
    assert [d["version_id"] for d in entries["bucket"]["details"]["destroyed"]] == [free]
    assert entries["bucket"]["details"]["remaining_count"] == 1
    assert entries["kms_key"]["result"].startswith("kept:") and f"bucket {bucket}" in entries["kms_key"]["result"]
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    assert [v["Key"] for v in s3.list_object_versions(Bucket=bucket)["Versions"]] == ["notebooks/locked.ipynb"]


def test_a_teardown_in_the_wrong_region_deletes_nothing(aws_env, aws, tmp_path):
    """IAM is global: a teardown run without the environment's region must not delete its roles."""
    aws["iam"].create_role(
        RoleName="researchenv-vpn",
        Path="/research-env/researchenv/",
        Description="research-env researchenv in eu-west-1: the vpn host",
        AssumeRolePolicyDocument="{}",
    )
    run = teardown(aws_env, tmp_path)
    assert run.rc != 0
    words = " ".join(run.output.split())
    assert "lives in eu-west-1" in words and "-e aws_region=eu-west-1" in words
    assert aws["iam"].get_role(RoleName="researchenv-vpn")["Role"]["RoleName"] == "researchenv-vpn"
    assert only_record(tmp_path, "researchenv")["outcome"] == "blocked"
