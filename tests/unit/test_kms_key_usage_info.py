"""plugins/modules/kms_key_usage_info.py: its pure logic with plain pytest, its AWS behaviour against moto in-process
(through the module's main(), as Ansible runs it), and one run of it and of s3_bucket_destroy through Ansible itself
against a moto server, the way teardown uses them: find what the key encrypts, then destroy the bucket."""

from __future__ import annotations

import functools
import importlib
from datetime import UTC, datetime

import boto3
import moto.ec2.models  # noqa: F401 - loaded before moto_server may set MOTO_AMIS_PATH (see import_moto_server)
import pytest
from botocore.exceptions import ClientError
from modules import ACCOUNT, REGION, REPO, ansible_adhoc, ansible_doc, load_module, run_module
from moto import mock_aws

m = load_module("kms_key_usage_info")
run_main = functools.partial(run_module, m)


class Env:
    """Clients on the in-process emulator and the environment's key (with alias/researchenv)."""

    def __init__(self):
        self.s3 = boto3.client("s3", region_name=REGION)
        self.kms = boto3.client("kms", region_name=REGION)
        self.ec2 = boto3.client("ec2", region_name=REGION)
        self.efs = boto3.client("efs", region_name=REGION)
        self.key = self.kms.create_key(Description="research-env")["KeyMetadata"]
        self.kms.create_alias(AliasName="alias/researchenv", TargetKeyId=self.key["KeyId"])
        self.other = self.kms.create_key(Description="someone else's")["KeyMetadata"]
        self.kms.create_alias(AliasName="alias/other", TargetKeyId=self.other["KeyId"])

    def bucket(self, name, kms_key=None, sse_s3=False, versioned=False, tags=None, region=REGION):
        create = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        self.s3.create_bucket(Bucket=name, **create)
        if versioned:
            self.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        if kms_key or sse_s3:
            rule = {"SSEAlgorithm": "AES256"} if sse_s3 else {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_key}
            self.s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": rule}]},
            )
        if tags:
            self.s3.put_bucket_tagging(
                Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}
            )
        return name


@pytest.fixture
def env(aws_env):
    with mock_aws():
        yield Env()


def by_name(result: dict) -> dict[str, dict]:
    return {b["name"]: b for b in result["buckets"]}


# ----------------------------------------------------------------------------------------------- pure logic

KEY = {"KeyId": "k-1", "Arn": "arn:aws:kms:eu-west-1:111122223333:key/k-1"}
ALIASES = [
    {"AliasName": "alias/env", "AliasArn": "arn:aws:kms:eu-west-1:111122223333:alias/env", "TargetKeyId": "k-1"},
    {
        "AliasName": "alias/old-env",
        "AliasArn": "arn:aws:kms:eu-west-1:111122223333:alias/old-env",
        "TargetKeyId": "k-1",
    },
    {"AliasName": "alias/other", "AliasArn": "arn:aws:kms:eu-west-1:111122223333:alias/other", "TargetKeyId": "k-2"},
    {"AliasName": "alias/dangling", "AliasArn": "arn:aws:kms:eu-west-1:111122223333:alias/dangling"},
]


@pytest.mark.parametrize(
    ("reference", "ours"),
    [
        ("k-1", True),
        ("arn:aws:kms:eu-west-1:111122223333:key/k-1", True),
        ("alias/env", True),
        ("arn:aws:kms:eu-west-1:111122223333:alias/env", True),
        ("alias/old-env", True),
        ("alias/other", False),
        ("arn:aws:kms:eu-west-1:111122223333:alias/other", False),
        ("k-2", False),
        ("arn:aws:kms:us-east-1:111122223333:key/k-1", False),  # the same id in another region is another key
        ("alias/dangling", False),
        (None, False),
    ],
)
def test_key_identifiers(reference, ours):
    assert (reference in m.key_identifiers(KEY, ALIASES)) is ours


def test_key_result():
    metadata = {
        **KEY,
        "KeyState": "PendingDeletion",
        "KeyManager": "CUSTOMER",
        "DeletionDate": datetime(2024, 6, 1, 12, tzinfo=UTC),
    }
    assert m.key_result(metadata, ALIASES) == {
        "arn": KEY["Arn"],
        "key_id": "k-1",
        "key_state": "PendingDeletion",
        "key_manager": "CUSTOMER",
        "deletion_date": "2024-06-01T12:00:00Z",
        "aliases": ["alias/env", "alias/old-env"],
    }
    assert m.key_result(None, ALIASES) is None


def rules(*defaults):
    return {"Rules": [{"ApplyServerSideEncryptionByDefault": d} for d in defaults]}


@pytest.mark.parametrize(
    ("configuration", "summary", "named"),
    [
        (None, None, []),
        ({"Rules": []}, None, []),
        (rules({"SSEAlgorithm": "AES256"}), {"sse_algorithm": "AES256", "kms_master_key_id": None}, []),
        (rules({"SSEAlgorithm": "aws:kms"}), {"sse_algorithm": "aws:kms", "kms_master_key_id": None}, []),
        (
            rules({"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/env"}),
            {"sse_algorithm": "aws:kms", "kms_master_key_id": "alias/env"},
            ["alias/env"],
        ),
        (
            rules({"SSEAlgorithm": "aws:kms:dsse", "KMSMasterKeyID": "k-1"}),
            {"sse_algorithm": "aws:kms:dsse", "kms_master_key_id": "k-1"},
            ["k-1"],
        ),
        ({"Rules": [{"BucketKeyEnabled": True}]}, None, []),
    ],
)
def test_default_encryption(configuration, summary, named):
    assert m.default_encryption(configuration) == (summary, named)


@pytest.mark.parametrize(
    ("counts", "limit", "allocated"),
    [
        ([2, 4], 100, [2, 4]),
        ([2, 4], 3, [2, 1]),
        ([2, 4], 2, [2, 0]),
        ([0, 5, 5], 6, [0, 5, 1]),
        ([3, 3], 0, [0, 0]),
        ([], 10, []),
    ],
)
def test_allocate_checks(counts, limit, allocated):
    assert m.allocate_checks(counts, limit) == allocated


@pytest.mark.parametrize(
    ("skipped", "checked", "total", "status"),
    [(True, 0, 5, "skipped"), (False, 5, 5, "complete"), (False, 0, 0, "complete"), (False, 2, 5, "limit_reached")],
)
def test_scan_status(skipped, checked, total, status):
    assert m.scan_status(skipped, checked, total) == status


@pytest.mark.parametrize(
    ("version", "params"),
    [
        ({"Key": "a", "VersionId": "v1", "IsLatest": True}, {"Bucket": "b", "Key": "a", "VersionId": "v1"}),
        ({"Key": "a", "VersionId": "null", "IsLatest": True}, {"Bucket": "b", "Key": "a"}),
        ({"Key": "a", "VersionId": "null", "IsLatest": False}, {"Bucket": "b", "Key": "a", "VersionId": "null"}),
        ({"Key": "a"}, {"Bucket": "b", "Key": "a"}),
    ],
)
def test_head_params(version, params):
    assert m.head_params("b", version) == params


def test_images_using():
    images = [
        {
            "ImageId": "ami-2",
            "Name": "two",
            "BlockDeviceMappings": [
                {"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": "snap-a"}},
                {"DeviceName": "/dev/sdb", "Ebs": {"SnapshotId": "snap-b"}},
                {"DeviceName": "/dev/sdc", "VirtualName": "ephemeral0"},
            ],
        },
        {"ImageId": "ami-1", "Name": "one", "BlockDeviceMappings": [{"Ebs": {"SnapshotId": "snap-a"}}]},
        {"ImageId": "ami-3", "Name": "other", "BlockDeviceMappings": [{"Ebs": {"SnapshotId": "snap-z"}}]},
        {"ImageId": "ami-4", "Name": "instance-store"},
    ]
    assert m.images_using(images, {"snap-a", "snap-b"}) == [
        {"image_id": "ami-1", "name": "one", "snapshot_ids": ["snap-a"]},
        {"image_id": "ami-2", "name": "two", "snapshot_ids": ["snap-a", "snap-b"]},
    ]


class FailingHead:
    """A client whose HeadObject fails as S3 does (moto grants everything and has no SSE-C check on HEAD)."""

    def __init__(self, code):
        self.code = code

    def head_object(self, **_kwargs):
        raise ClientError({"Error": {"Code": self.code, "Message": "x"}}, "HeadObject")


def test_object_key_id_gone_is_none_and_other_errors_name_the_object():
    version = {"Key": "a.csv", "VersionId": "v1", "IsLatest": True}
    for code in ("404", "NoSuchKey", "NoSuchVersion"):
        assert m.object_key_id(FailingHead(code), "bkt", version) is None
    for code in ("403", "400", "AccessDenied"):
        with pytest.raises(m.ScanError) as raised:
            m.object_key_id(FailingHead(code), "bkt", version)
        assert raised.value.what == "the metadata of s3://bkt/a.csv (version v1)"


# ------------------------------------------------------------------------------------- against moto: S3


def test_buckets_using_the_key_by_default_whatever_names_it(env, capsys):
    env.bucket("by-arn", kms_key=env.key["Arn"])
    env.bucket("by-id", kms_key=env.key["KeyId"])
    env.bucket("by-alias", kms_key="alias/researchenv")
    env.bucket("by-alias-arn", kms_key=f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/researchenv")
    env.bucket("other-key", kms_key="alias/other")
    env.bucket("aws-managed", kms_key=None, sse_s3=False)
    env.bucket("sse-s3", sse_s3=True, tags={"research-env": "demo"})
    rc, out = run_main({"key_id": "alias/researchenv"}, capsys)
    assert rc == 0 and out["changed"] is False
    assert out["key"]["arn"] == env.key["Arn"] and out["key"]["aliases"] == ["alias/researchenv"]
    assert out["key"]["key_state"] == "Enabled" and out["key"]["deletion_date"] is None
    buckets = by_name(out)
    assert [b["name"] for b in out["buckets"]] == sorted(buckets)
    assert {n for n, b in buckets.items() if b["default_uses_key"]} == {"by-arn", "by-id", "by-alias", "by-alias-arn"}
    assert buckets["by-alias"]["default_encryption"] == {
        "sse_algorithm": "aws:kms",
        "kms_master_key_id": "alias/researchenv",
    }
    assert buckets["sse-s3"]["default_encryption"] == {"sse_algorithm": "AES256", "kms_master_key_id": None}
    assert buckets["aws-managed"]["default_encryption"] is None
    assert buckets["sse-s3"]["tags"] == {"research-env": "demo"} and buckets["by-id"]["tags"] == {}
    assert all(b["object_scan"] == "complete" and b["versions_not_checked"] == 0 for b in out["buckets"])
    assert out["region"] == REGION


def test_objects_with_the_key_are_found_one_by_one(env, capsys):
    env.bucket("sse-s3", sse_s3=True)
    env.s3.put_object(Bucket="sse-s3", Key="plain.csv", Body=b"1")
    env.s3.put_object(
        Bucket="sse-s3", Key="secret.csv", Body=b"22", ServerSideEncryption="aws:kms", SSEKMSKeyId=env.key["Arn"]
    )
    env.s3.put_object(
        Bucket="sse-s3", Key="theirs.csv", Body=b"3", ServerSideEncryption="aws:kms", SSEKMSKeyId=env.other["Arn"]
    )

    env.bucket("versioned", sse_s3=True, versioned=True)
    old = env.s3.put_object(
        Bucket="versioned", Key="nb.ipynb", Body=b"old", ServerSideEncryption="aws:kms", SSEKMSKeyId=env.key["Arn"]
    )["VersionId"]
    env.s3.put_object(Bucket="versioned", Key="nb.ipynb", Body=b"new")  # SSE-S3 now, the old version keeps the key
    env.s3.delete_object(Bucket="versioned", Key="gone.ipynb")  # a delete marker: nothing to check

    rc, out = run_main({"key_id": env.key["KeyId"]}, capsys)
    assert rc == 0
    buckets = by_name(out)
    found = buckets["sse-s3"]
    assert found["default_uses_key"] is False
    assert [(o["key"], o["version_id"], o["size"], o["is_latest"]) for o in found["objects_with_key"]] == [
        ("secret.csv", "null", 2, True)
    ]
    assert found["objects_with_key_count"] == 1 and found["object_scan"] == "complete"
    assert (found["versions_checked"], found["versions_not_checked"]) == (3, 0)
    assert found["objects_with_key"][0]["last_modified"].endswith("Z")

    noncurrent = buckets["versioned"]
    assert [(o["key"], o["version_id"], o["is_latest"]) for o in noncurrent["objects_with_key"]] == [
        ("nb.ipynb", old, False)
    ]
    assert (noncurrent["versions_checked"], noncurrent["versions_not_checked"]) == (2, 0)  # not the delete marker


def test_skip_object_scan_and_the_limit(env, capsys):
    for name, count in (("a-first", 2), ("b-second", 4), ("c-skipped", 3)):
        env.bucket(name)
        for n in range(count):
            env.s3.put_object(
                Bucket=name, Key=f"k{n}", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=env.key["Arn"]
            )
    env.bucket("d-empty")
    args = {"key_id": env.key["Arn"], "skip_object_scan": ["c-skipped"], "object_scan_limit": 3}
    rc, out = run_main(args, capsys)
    assert rc == 0
    scans = {
        b["name"]: (b["object_scan"], b["versions_checked"], b["versions_not_checked"], b["objects_with_key_count"])
        for b in out["buckets"]
    }
    assert scans == {
        "a-first": ("complete", 2, 0, 2),
        "b-second": ("limit_reached", 1, 3, 1),
        "c-skipped": ("skipped", 0, None, 0),  # not even listed
        "d-empty": ("complete", 0, 0, 0),
    }

    rc, out = run_main({**args, "object_scan_limit": 0}, capsys)
    scans = {b["name"]: (b["object_scan"], b["versions_checked"], b["versions_not_checked"]) for b in out["buckets"]}
    assert scans["a-first"] == ("limit_reached", 0, 2) and scans["d-empty"] == ("complete", 0, 0)


def test_buckets_with_the_skip_tags_are_not_scanned_whatever_their_name(env, capsys):
    ours = {"Environment": "e", "ManagedBy": "research-env"}
    env.bucket("any-name-at-all", tags=ours)
    env.bucket("looks-alike", tags={"Environment": "e"})  # one tag is not all of them
    for name in ("any-name-at-all", "looks-alike"):
        env.s3.put_object(Bucket=name, Key="k", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=env.key["Arn"])
    rc, out = run_main({"key_id": env.key["Arn"], "skip_object_scan_tags": ours}, capsys)
    assert rc == 0
    buckets = by_name(out)
    assert buckets["any-name-at-all"]["object_scan"] == "skipped" and buckets["any-name-at-all"]["tags"] == ours
    assert buckets["looks-alike"]["objects_with_key_count"] == 1


def test_the_reported_objects_are_capped_but_not_their_count(env, capsys, monkeypatch):
    monkeypatch.setattr(m, "MAX_OBJECTS_REPORTED", 2)
    env.bucket("many", kms_key=env.key["Arn"])
    for n in range(5):
        env.s3.put_object(Bucket="many", Key=f"k{n}", Body=b"x")  # the default puts them under the key
    rc, out = run_main({"key_id": env.key["Arn"], "object_scan_workers": 3}, capsys)
    assert rc == 0
    bucket = by_name(out)["many"]
    assert bucket["objects_with_key_count"] == 5 and len(bucket["objects_with_key"]) == 2


def test_an_unreadable_object_fails_the_module_naming_it(env, capsys, monkeypatch):
    env.bucket("bkt-a")
    for n in range(4):
        env.s3.put_object(Bucket="bkt-a", Key=f"k{n}", Body=b"x")
    original = m.object_key_id

    def denied_for_k2(s3, bucket, version):
        if version["Key"] == "k2":
            error = ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")
            raise m.ScanError(f"the metadata of s3://{bucket}/k2 (version null)", error)
        return original(s3, bucket, version)

    monkeypatch.setattr(m, "object_key_id", denied_for_k2)
    rc, out = run_main({"key_id": env.key["Arn"], "object_scan_workers": 1}, capsys)
    assert rc == 1 and out["failed"] is True
    assert out["msg"].startswith("Couldn't read the metadata of s3://bkt-a/k2 (version null)")
    assert isinstance(out["api_calls"], int)


def test_a_bucket_deleted_while_listing_is_left_out(env, capsys, monkeypatch):
    env.bucket("bkt-kept")
    env.bucket("bkt-gone")
    original = m.bucket_details

    def deleted_meanwhile(s3, name):
        if name == "bkt-gone":
            env.s3.delete_bucket(Bucket=name)
        return original(s3, name)

    monkeypatch.setattr(m, "bucket_details", deleted_meanwhile)
    rc, out = run_main({"key_id": env.key["Arn"]}, capsys)
    assert rc == 0 and [b["name"] for b in out["buckets"]] == ["bkt-kept"]


def test_buckets_of_another_region_are_not_listed(env, capsys):
    env.bucket("here")
    env.bucket("elsewhere", kms_key=env.key["Arn"], region="eu-west-1")
    rc, out = run_main({"key_id": env.key["Arn"]}, capsys)
    assert rc == 0 and [b["name"] for b in out["buckets"]] == ["here"]


def test_without_a_key_buckets_are_listed_with_their_tags_only(env, capsys):
    env.bucket("tagged", kms_key=env.key["Arn"], tags={"research-env": "demo", "Name": "notebooks"})
    env.bucket("untagged")
    env.s3.put_object(Bucket="untagged", Key="k", Body=b"x")
    vol = env.ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=1, Encrypted=True, KmsKeyId=env.key["Arn"])
    assert vol["KmsKeyId"] == env.key["Arn"]
    for args in ({}, {"key_id": "alias/no-such-alias"}, {"key_id": "00000000-0000-0000-0000-000000000000"}):
        rc, out = run_main(args, capsys)
        assert rc == 0 and out["key"] is None, args
        assert by_name(out)["tagged"]["tags"] == {"research-env": "demo", "Name": "notebooks"}
        assert all(b["default_uses_key"] is False and b["object_scan"] == "skipped" for b in out["buckets"])
        assert all(b["versions_not_checked"] is None and b["objects_with_key"] == [] for b in out["buckets"])
        assert (out["volumes"], out["snapshots"], out["images"], out["file_systems"]) == ([], [], [], [])
        # (DescribeKey), ListBuckets, then GetBucketTagging + GetBucketEncryption per bucket
        assert out["api_calls"] == (1 if args else 0) + 1 + 2 * 2


def test_check_mode_runs_fully(env, capsys):
    env.bucket("bkt-b", kms_key="alias/researchenv")
    env.s3.put_object(Bucket="bkt-b", Key="k", Body=b"x")
    rc, normal = run_main({"key_id": "alias/researchenv"}, capsys)
    rc, checked = run_main({"key_id": "alias/researchenv", "_ansible_check_mode": True}, capsys)
    assert rc == 0 and checked["changed"] is False
    assert checked["buckets"] == normal["buckets"] and by_name(checked)["bkt-b"]["objects_with_key_count"] == 1
    assert checked["api_calls"] == normal["api_calls"]


# ------------------------------------------------------------------------------- against moto: EC2, EFS


def test_volumes_snapshots_images_and_file_systems_with_the_key(env, capsys):
    from moto.ec2.models import ec2_backends

    zone = f"{REGION}a"
    image_id = env.ec2.register_image(Name="jupyter-golden")["ImageId"]
    # moto registers every AMI on a fresh unencrypted snapshot of its own: make it one of ours.
    snapshot = ec2_backends[ACCOUNT][REGION].amis[image_id].ebs_snapshot
    snapshot.encrypted, snapshot.kms_key_id = True, env.key["Arn"]
    instance = env.ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, Placement={"AvailabilityZone": zone})
    instance_id = instance["Instances"][0]["InstanceId"]

    home = env.ec2.create_volume(
        AvailabilityZone=zone,
        Size=30,
        Encrypted=True,
        KmsKeyId=env.key["Arn"],
        TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "jupyter-home"}]}],
    )
    env.ec2.attach_volume(VolumeId=home["VolumeId"], InstanceId=instance_id, Device="/dev/sdf")
    loose = env.ec2.create_volume(AvailabilityZone=zone, Size=2, Encrypted=True, KmsKeyId=env.key["KeyId"])
    env.ec2.create_volume(AvailabilityZone=zone, Size=3, Encrypted=True, KmsKeyId=env.other["Arn"])
    unencrypted = env.ec2.create_volume(AvailabilityZone=zone, Size=4)

    plain = env.ec2.create_snapshot(VolumeId=unencrypted["VolumeId"])["SnapshotId"]
    copied = env.ec2.copy_snapshot(
        SourceSnapshotId=plain, SourceRegion=REGION, Encrypted=True, KmsKeyId=env.key["Arn"]
    )["SnapshotId"]
    env.ec2.copy_snapshot(SourceSnapshotId=plain, SourceRegion=REGION, Encrypted=True, KmsKeyId=env.other["Arn"])

    ours = env.efs.create_file_system(
        CreationToken="home", Encrypted=True, KmsKeyId=env.key["Arn"], Tags=[{"Key": "Name", "Value": "home"}]
    )["FileSystemId"]
    env.efs.create_file_system(CreationToken="theirs", Encrypted=True, KmsKeyId=env.other["Arn"])
    env.efs.create_file_system(CreationToken="plain")

    rc, out = run_main({"key_id": "alias/researchenv"}, capsys)
    assert rc == 0, out
    volumes = {v["volume_id"]: v for v in out["volumes"]}
    assert set(volumes) == {home["VolumeId"], loose["VolumeId"]}
    attached = volumes[home["VolumeId"]]
    assert attached["size"] == 30 and attached["tags"] == {"Name": "jupyter-home"} and attached["state"] == "in-use"
    assert [(a["instance_id"], a["device"]) for a in attached["attachments"]] == [(instance_id, "/dev/sdf")]
    # AWS gives DeleteOnTermination on every attachment; moto 5.2.5 leaves it out for AttachVolume.
    assert attached["attachments"][0]["delete_on_termination"] in (False, None)

    assert {s["snapshot_id"] for s in out["snapshots"]} == {copied, snapshot.id}
    assert all(s["start_time"].endswith("Z") and s["tags"] == {} for s in out["snapshots"])
    assert out["images"] == [{"image_id": image_id, "name": "jupyter-golden", "snapshot_ids": [snapshot.id]}]
    assert [(f["file_system_id"], f["name"], f["tags"]) for f in out["file_systems"]] == [
        (ours, "home", {"Name": "home"})
    ]
    assert isinstance(out["file_systems"][0]["size_in_bytes"], int)


def import_moto_server(monkeypatch):
    """scripts/moto_server.py's fidelity patches, in this process. Importing it sets MOTO_AMIS_PATH for moto (by
    setdefault): set here, through monkeypatch, the same value, so it is unset again after the test."""
    monkeypatch.setenv("MOTO_AMIS_PATH", str(REPO / "scripts" / "emulator-amis.json"))
    return importlib.import_module("moto_server")


def test_a_snapshot_of_an_encrypted_volume_is_found(env, capsys, monkeypatch):
    import_moto_server(monkeypatch)
    volume = env.ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=5, Encrypted=True, KmsKeyId=env.key["Arn"])
    snapshot_id = env.ec2.create_snapshot(VolumeId=volume["VolumeId"])["SnapshotId"]
    # moto 5.2.5 itself leaves KmsKeyId out here; moto_server.py gives the snapshot its volume's key, as AWS does.
    assert env.ec2.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"][0].get("KmsKeyId") == env.key["Arn"]
    rc, out = run_main({"key_id": env.key["KeyId"]}, capsys)
    assert rc == 0
    assert [(s["snapshot_id"], s["volume_id"], s["volume_size"]) for s in out["snapshots"]] == [
        (snapshot_id, volume["VolumeId"], 5)
    ]


def test_ansible_doc_renders_the_module():
    doc = ansible_doc("kms_key_usage_info")
    assert {"key_id", "object_scan_limit", "skip_object_scan", "object_scan_workers", "region"} <= set(
        doc["doc"]["options"]
    )
    assert {"key", "buckets", "volumes", "snapshots", "images", "file_systems", "api_calls"} <= set(doc["return"])


# -------------------------------------------------------------- through Ansible, against a moto server


def test_key_usage_then_bucket_destroy_through_ansible_against_a_moto_server(moto_server):
    kms = boto3.client("kms", endpoint_url=moto_server, region_name=REGION)
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name=REGION)
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/researchenv", TargetKeyId=key["KeyId"])
    bucket = "researchenv-notebooks-123456789012"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "research-env", "Value": "demo"}]})
    version = s3.put_object(
        Bucket=bucket, Key="nb/a.ipynb", Body=b"{}", ServerSideEncryption="aws:kms", SSEKMSKeyId=key["Arn"]
    )["VersionId"]
    marker = s3.delete_object(Bucket=bucket, Key="nb/a.ipynb")["VersionId"]

    rc, usage = ansible_adhoc("kms_key_usage_info", {"key_id": "alias/researchenv"}, moto_server, "--check")
    assert rc == 0 and usage["changed"] is False, usage
    assert usage["key"]["key_id"] == key["KeyId"]
    [found] = usage["buckets"]
    assert found["tags"] == {"research-env": "demo"} and found["object_scan"] == "complete"
    assert [(o["key"], o["version_id"]) for o in found["objects_with_key"]] == [("nb/a.ipynb", version)]

    rc, destroyed = ansible_adhoc("s3_bucket_destroy", {"name": bucket}, moto_server)
    assert rc == 0 and destroyed["changed"] is True and destroyed["bucket_deleted"] is True, destroyed
    assert {(d["version_id"], d["is_delete_marker"]) for d in destroyed["destroyed"]} == {
        (version, False),
        (marker, True),
    }
    assert destroyed["counts"] == {"versions": 1, "delete_markers": 1, "bytes": 2}
    assert bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}


def test_services_ebs_alone_lists_no_bucket_and_no_file_system(env, capsys):
    """The posture check of EBS encryption asks for services [ebs]: the volumes come back, and neither
    S3 nor EFS is called (their lists are empty, the call counts show no call to them)."""
    zone = f"{REGION}a"
    env.bucket("bkt-c", kms_key="alias/researchenv")
    env.efs.create_file_system(CreationToken="home", Encrypted=True, KmsKeyId=env.key["Arn"])
    ours = env.ec2.create_volume(AvailabilityZone=zone, Size=2, Encrypted=True, KmsKeyId=env.key["Arn"])
    rc, out = run_main({"key_id": "alias/researchenv", "services": ["ebs"]}, capsys)
    assert rc == 0, out
    assert [v["volume_id"] for v in out["volumes"]] == [ours["VolumeId"]]
    assert out["buckets"] == [] and out["file_systems"] == []
    # DescribeKey, ListAliases, DescribeVolumes, DescribeSnapshots: no ListBuckets, no DescribeFileSystems.
    assert out["api_calls"] == 4, out["api_calls"]
    rc, everything = run_main({"key_id": "alias/researchenv"}, capsys)
    assert [b["name"] for b in everything["buckets"]] == ["bkt-c"] and len(everything["file_systems"]) == 1
