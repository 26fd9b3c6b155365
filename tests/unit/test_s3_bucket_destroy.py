"""plugins/modules/s3_bucket_destroy.py: its pure logic with plain pytest, its AWS behaviour against moto in-process
(the module's main() for the results Ansible sees, its destroy_bucket() with the test's own client where the calls
themselves are counted or inspected). The run through Ansible is in test_kms_key_usage_info.py."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta, timezone

import boto3
import pytest
from modules import ACCOUNT, REGION, ansible_doc, load_module, run_module
from moto import mock_aws

BUCKET = "researchenv-notebooks-123456789012"

m = load_module("s3_bucket_destroy")
run_main = functools.partial(run_module, m)


@pytest.fixture
def s3(aws_env):
    with mock_aws():
        yield boto3.client("s3", region_name=REGION)


def versioned_bucket(client, name: str = BUCKET, **create) -> None:
    client.create_bucket(Bucket=name, **create)
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


def put_directly(bucket: str, key: str, body: bytes):
    """Store an object version in moto's backend without an API call (thousands through the SDK are slow)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    return s3_backends[DEFAULT_ACCOUNT_ID]["aws"].put_object(bucket, key, body)


def wrapped(client):
    """The test's client as the module's clients are: calls take aws_retry."""
    from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper

    return RetryingBotoClientWrapper(client, AWSRetry.jittered_backoff())


def record_calls(client) -> list[tuple[str, dict]]:
    """(operation, API parameters as the caller gave them) of every call the client performs from now on."""
    seen: list[tuple[str, dict]] = []

    def hook(model, params, **_kwargs):
        seen.append((model.name, dict(params)))

    client.meta.events.register("before-parameter-build.s3", hook)
    return seen


def bucket_exists(client, name: str = BUCKET) -> bool:
    return any(b["Name"] == name for b in client.list_buckets()["Buckets"])


def all_versions(client, name: str = BUCKET) -> set[tuple[str, str]]:
    listing = client.list_object_versions(Bucket=name)
    return {(v["Key"], v["VersionId"]) for v in listing.get("Versions", []) + listing.get("DeleteMarkers", [])}


# ----------------------------------------------------------------------------------------------- pure logic


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2024, 5, 2, 9, 14, 3, tzinfo=UTC), "2024-05-02T09:14:03Z"),
        (datetime(2024, 5, 2, 11, 14, 3, 500000, tzinfo=timezone(timedelta(hours=2))), "2024-05-02T09:14:03.500000Z"),
        (datetime(2024, 5, 2, 9, 14, 3), "2024-05-02T09:14:03Z"),  # naive: taken as UTC
        ("2024-05-02T09:14:03Z", "2024-05-02T09:14:03Z"),
        (None, None),
    ],
)
def test_iso_utc(value, expected):
    assert m.iso_utc(value) == expected


def test_listing_entries_merge_versions_and_markers_key_then_newest_first():
    t = datetime(2024, 1, 1, tzinfo=UTC)
    listing = {
        "Versions": [
            {"Key": "b", "VersionId": "b1", "IsLatest": True, "Size": 3, "LastModified": t, "ETag": '"e1"'},
            {"Key": "a", "VersionId": "a1", "IsLatest": False, "Size": 5, "LastModified": t, "ETag": '"e2"'},
        ],
        "DeleteMarkers": [{"Key": "a", "VersionId": "a2", "IsLatest": True, "LastModified": t + timedelta(hours=1)}],
    }
    assert m.listing_entries(listing) == [
        {
            "key": "a",
            "version_id": "a2",
            "is_delete_marker": True,
            "is_latest": True,
            "size": 0,
            "last_modified": "2024-01-01T01:00:00Z",
            "etag": None,
        },
        {
            "key": "a",
            "version_id": "a1",
            "is_delete_marker": False,
            "is_latest": False,
            "size": 5,
            "last_modified": "2024-01-01T00:00:00Z",
            "etag": "e2",
        },
        {
            "key": "b",
            "version_id": "b1",
            "is_delete_marker": False,
            "is_latest": True,
            "size": 3,
            "last_modified": "2024-01-01T00:00:00Z",
            "etag": "e1",
        },
    ]


@pytest.mark.parametrize(
    ("count", "sizes"), [(0, []), (1, [1]), (1000, [1000]), (1001, [1000, 1]), (2500, [1000, 1000, 500])]
)
def test_batches_hold_at_most_1000(count, sizes):
    assert [len(b) for b in m.batches(list(range(count)))] == sizes


def entry(key, version, marker=False, size=1):
    return {
        "key": key,
        "version_id": version,
        "is_delete_marker": marker,
        "is_latest": True,
        "size": size,
        "last_modified": None,
        "etag": None,
    }


@pytest.mark.parametrize(
    ("response", "deleted", "errors"),
    [
        # AWS: a delete marker deleted by version id comes back with DeleteMarker and DeleteMarkerVersionId.
        (
            {
                "Deleted": [
                    {"Key": "a", "VersionId": "1"},
                    {"Key": "a", "VersionId": "2", "DeleteMarker": True, "DeleteMarkerVersionId": "2"},
                ]
            },
            [("a", "1"), ("a", "2")],
            [],
        ),
        # moto: no DeleteMarker flag, errors without VersionId (matched on the key when it is unique in the batch).
        (
            {
                "Deleted": [{"Key": "a", "VersionId": "1"}],
                "Errors": [{"Key": "b", "Code": "AccessDenied", "Message": "x"}],
            },
            [("a", "1")],
            [("b", "3", "AccessDenied")],
        ),
        # an error for a key listed twice without a version id: the version stays unknown
        ({"Errors": [{"Key": "a", "Code": "AccessDenied", "Message": "x"}]}, [], [("a", None, "AccessDenied")]),
        # the same deletion answered twice (a retried call) is recorded once
        ({"Deleted": [{"Key": "b", "VersionId": "3"}, {"Key": "b", "VersionId": "3"}]}, [("b", "3")], []),
        ({}, [], []),
    ],
)
def test_match_response(response, deleted, errors):
    batch = [entry("a", "1"), entry("a", "2", marker=True), entry("b", "3")]
    got_deleted, got_errors = m.match_response(batch, response)
    assert [(d["key"], d["version_id"]) for d in got_deleted] == deleted
    assert [(e["key"], e["version_id"], e["code"]) for e in got_errors] == errors
    # Deleted entries are the listed ones, with their size and kind.
    assert all(d in batch for d in got_deleted)


def test_match_response_records_an_unlisted_deletion_with_what_it_says():
    deleted, _ = m.match_response([], {"Deleted": [{"Key": "x", "DeleteMarker": True, "DeleteMarkerVersionId": "9"}]})
    assert deleted == [
        {
            "key": "x",
            "version_id": "9",
            "is_delete_marker": True,
            "is_latest": None,
            "size": None,
            "last_modified": None,
            "etag": None,
        }
    ]


def test_totals_and_failure_message():
    entries = [entry("a", "1", size=10), entry("a", "2", marker=True, size=0), entry("b", "3", size=5)]
    assert m.totals(entries) == {"versions": 2, "delete_markers": 1, "bytes": 15}
    many = [entry(f"k{i}", str(i)) for i in range(12)]
    errors = [{"key": "k0", "version_id": "0", "code": "AccessDenied", "message": "locked"}]
    msg = m.failure_message("bkt", many, errors)
    assert "still holds 12 version(s)/delete marker(s)" in msg and "k0 (version 0)" in msg and "and 2 more" in msg
    assert "k11" not in msg and "refused 1 (AccessDenied)" in msg and "locked" in msg


# ------------------------------------------------------------------------------------- against moto


def test_versions_and_delete_markers_are_destroyed_and_listed_exactly(s3, capsys):
    versioned_bucket(s3)
    put = {}
    for key, body in [("nb/a.ipynb", b"one"), ("nb/a.ipynb", b"two!"), ("nb/b.ipynb", b"x" * 10), ("c.csv", b"1,2")]:
        answer = s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        put[(key, answer["VersionId"])] = (False, len(body), answer["ETag"].strip('"'))
    for key in ("nb/a.ipynb", "c.csv", "c.csv"):  # c.csv gets two delete markers on top of each other
        answer = s3.delete_object(Bucket=BUCKET, Key=key)
        assert answer["DeleteMarker"] is True
        put[(key, answer["VersionId"])] = (True, 0, None)

    rc, out = run_main({"name": BUCKET}, capsys)
    assert rc == 0 and out["changed"] is True, out
    assert out["existed"] is True and out["bucket_deleted"] is True and not bucket_exists(s3)
    destroyed = {(d["key"], d["version_id"]): (d["is_delete_marker"], d["size"], d["etag"]) for d in out["destroyed"]}
    assert destroyed == put and len(out["destroyed"]) == len(put)
    assert out["counts"] == {"versions": 4, "delete_markers": 3, "bytes": 3 + 4 + 10 + 3}
    assert out["errors"] == [] and "remaining" not in out
    assert [d["key"] for d in out["destroyed"]] == sorted(d["key"] for d in out["destroyed"])
    assert all(d["last_modified"].endswith("Z") for d in out["destroyed"])
    latest = {(d["key"], d["is_delete_marker"]) for d in out["destroyed"] if d["is_latest"]}
    assert latest == {("nb/a.ipynb", True), ("nb/b.ipynb", False), ("c.csv", True)}
    # ListObjectVersions, DeleteObjects, ListObjectVersions, DeleteBucket
    assert out["api_calls"] == 4

    rc, out = run_main({"name": BUCKET}, capsys)  # idempotent: the bucket is gone now
    assert rc == 0 and out["changed"] is False and out["existed"] is False
    assert out["destroyed"] == [] and out["counts"] == {"versions": 0, "delete_markers": 0, "bytes": 0}


def test_an_unversioned_bucket_and_an_empty_one(s3, capsys):
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="k", Body=b"abc")
    s3.create_bucket(Bucket="researchenv-empty")
    rc, out = run_main({"name": BUCKET}, capsys)
    assert rc == 0 and out["bucket_deleted"] is True
    assert [(d["key"], d["version_id"], d["size"]) for d in out["destroyed"]] == [("k", "null", 3)]
    rc, out = run_main({"name": "researchenv-empty"}, capsys)
    assert rc == 0 and out["changed"] is True and out["bucket_deleted"] is True and out["destroyed"] == []
    assert not bucket_exists(s3) and not bucket_exists(s3, "researchenv-empty")


def test_a_bucket_that_does_not_exist(s3, capsys):
    for check_mode in (False, True):
        rc, out = run_main({"name": "no-such-bucket-here", "_ansible_check_mode": check_mode}, capsys)
        assert rc == 0 and out["changed"] is False
        assert (out["existed"], out["bucket_deleted"], out["destroyed"]) == (False, False, [])


def test_check_mode_lists_what_would_go_and_deletes_nothing(s3, capsys):
    versioned_bucket(s3)
    s3.put_object(Bucket=BUCKET, Key="a", Body=b"1")
    s3.put_object(Bucket=BUCKET, Key="a", Body=b"22")
    s3.delete_object(Bucket=BUCKET, Key="a")
    before = all_versions(s3)
    rc, out = run_main({"name": BUCKET, "_ansible_check_mode": True}, capsys)
    assert rc == 0 and out["changed"] is True and out["existed"] is True and out["bucket_deleted"] is False
    assert {(d["key"], d["version_id"]) for d in out["destroyed"]} == before
    assert out["counts"] == {"versions": 2, "delete_markers": 1, "bytes": 3}
    assert bucket_exists(s3) and all_versions(s3) == before
    assert out["api_calls"] == 1  # the listing only


def test_more_than_1000_versions_are_deleted_in_batches(s3):
    versioned_bucket(s3)
    for n in range(1500):
        put_directly(BUCKET, f"data/{n % 600:04d}.csv", b"%d" % n)  # 600 keys, 2 or 3 versions each
    client = wrapped(s3)
    calls = record_calls(s3)
    state = m.Destruction(BUCKET)
    assert m.destroy_bucket(client, state) is None
    names = [name for name, _ in calls]
    assert names.count("DeleteObjects") == 2
    assert [len(p["Delete"]["Objects"]) for n, p in calls if n == "DeleteObjects"] == [1000, 500]
    assert all(p["Delete"]["Quiet"] is False for n, p in calls if n == "DeleteObjects")
    assert names[-1] == "DeleteBucket" and state.bucket_deleted is True
    assert state.result()["counts"]["versions"] == 1500
    assert len({(d["key"], d["version_id"]) for d in state.destroyed}) == 1500
    assert not bucket_exists(s3)


def test_expected_owner_is_sent_on_every_call(s3):
    versioned_bucket(s3)
    s3.put_object(Bucket=BUCKET, Key="a", Body=b"1")
    calls = record_calls(s3)
    state = m.Destruction(BUCKET)
    assert m.destroy_bucket(wrapped(s3), state, expected_owner=ACCOUNT) is None
    assert [n for n, _ in calls] == ["ListObjectVersions", "DeleteObjects", "ListObjectVersions", "DeleteBucket"]
    assert all(p.get("ExpectedBucketOwner") == ACCOUNT for _, p in calls)


def test_an_object_written_meanwhile_keeps_the_bucket_and_the_record_says_what_went(s3, capsys, monkeypatch):
    versioned_bucket(s3)
    first = s3.put_object(Bucket=BUCKET, Key="a", Body=b"1")["VersionId"]
    second = s3.put_object(Bucket=BUCKET, Key="b", Body=b"22")["VersionId"]
    original = m.match_response

    def and_a_sync_writes_meanwhile(batch, response):
        put_directly(BUCKET, "late.ipynb", b"saved while tearing down")
        return original(batch, response)

    monkeypatch.setattr(m, "match_response", and_a_sync_writes_meanwhile)
    rc, out = run_main({"name": BUCKET}, capsys)
    assert rc == 1 and out["failed"] is True and out["changed"] is True
    assert "was not deleted" in out["msg"] and "late.ipynb" in out["msg"]
    assert out["bucket_deleted"] is False and bucket_exists(s3)
    assert {(d["key"], d["version_id"]) for d in out["destroyed"]} == {("a", first), ("b", second)}
    assert out["counts"] == {"versions": 2, "delete_markers": 0, "bytes": 3}
    assert [r["key"] for r in out["remaining"]] == ["late.ipynb"] and out["remaining_count"] == 1
    assert out["api_calls"] == 3  # no DeleteBucket


def test_an_object_lock_refusal_keeps_the_bucket_and_the_record_says_what_went(s3, capsys):
    s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    free = s3.put_object(Bucket=BUCKET, Key="free.csv", Body=b"1")["VersionId"]
    until = datetime.now(UTC) + timedelta(days=1)
    locked = s3.put_object(
        Bucket=BUCKET, Key="locked.csv", Body=b"22", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until
    )["VersionId"]
    rc, out = run_main({"name": BUCKET}, capsys)
    assert rc == 1 and out["bucket_deleted"] is False and bucket_exists(s3)
    assert [(d["key"], d["version_id"]) for d in out["destroyed"]] == [("free.csv", free)]
    assert out["errors"] == [
        {
            "key": "locked.csv",
            "version_id": locked,  # moto's error has no VersionId: matched from the batch
            "code": "AccessDenied",
            "message": "Access Denied because object protected by object lock.",
        }
    ]
    assert [(r["key"], r["version_id"]) for r in out["remaining"]] == [("locked.csv", locked)]
    assert "AccessDenied" in out["msg"] and "locked.csv" in out["msg"]


def test_ansible_doc_renders_the_module():
    doc = ansible_doc("s3_bucket_destroy")
    assert {"name", "expected_owner", "region", "endpoint_url"} <= set(doc["doc"]["options"])
    assert {"existed", "bucket_deleted", "destroyed", "counts", "api_calls"} <= set(doc["return"])
