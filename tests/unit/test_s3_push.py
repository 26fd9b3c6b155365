"""roles/s3_sync_cron/files/s3_push.py (the push jobs' program) and s3_sync_verify with its manifest, against moto
in-process on an SSE-KMS, versioned bucket like the notebooks bucket.

moto_server's patches are imported, so single-part SSE-KMS objects get ETags that are not the MD5 of their bytes,
as on AWS: nothing here can pass by treating an ETag as an MD5.
"""

from __future__ import annotations

import builtins
import functools
import hashlib
import importlib.util
import io
import json
import os
import sys
from pathlib import Path

import boto3
import moto_server as _fidelity  # noqa: F401 - patches moto in place, as the server does
import pytest
from modules import REPO, load_module, run_module
from moto import mock_aws

BUCKET = "researchenv-notebooks-123456789012"
PREFIX = "notebooks/"

spec = importlib.util.spec_from_file_location("s3_push", REPO / "roles" / "s3_sync_cron" / "files" / "s3_push.py")
push_program = importlib.util.module_from_spec(spec)
sys.modules["s3_push"] = push_program  # dataclasses look their module up there
spec.loader.exec_module(push_program)
verify_module = load_module("s3_sync_verify")
run_verify = functools.partial(run_module, verify_module, region=None)


# --------------------------------------------------------------------------------------------- helpers


@pytest.fixture
def s3(aws_env):
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        key = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        client.put_bucket_encryption(
            Bucket=BUCKET,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
                        "BucketKeyEnabled": True,
                    }
                ]
            },
        )
        yield client


@pytest.fixture
def trusted_at_once(monkeypatch):
    """Files written by the test a moment ago would be "racy" for 2 s (read again by the next run): tests that
    count reads of unchanged files turn the window off; test_a_racy_file_is_read_again_but_not_sent keeps it."""
    monkeypatch.setattr(push_program, "RACY_NS", 0)


def notebook(n: int) -> bytes:
    cells = [{"cell_type": "code", "source": f"x = {n:04d}", "outputs": [], "metadata": {}}]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def write(root: Path, rel: str, data: bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "notebooks"
    for n in range(5):
        write(root, f"nb{n}.ipynb", notebook(n))
    write(root, "analysis/deep/model.ipynb", notebook(99))
    write(root, ".ipynb_checkpoints/nb0-checkpoint.ipynb", notebook(0))
    return root


EXCLUDE = (("exclude", ".ipynb_checkpoints/*"), ("exclude", "*/.ipynb_checkpoints/*"))


def push(s3, root: Path, manifest: Path | None = None, err: io.StringIO | None = None):
    return push_program.push(
        s3,
        str(root),
        BUCKET,
        PREFIX,
        str(manifest or root.parent / "manifest.json"),
        push_program.Filters(EXCLUDE),
        out=io.StringIO(),
        err=err or io.StringIO(),
    )


def verify(s3, root: Path, manifest: Path | None = None, **overrides) -> dict:
    params = {
        "bucket": BUCKET,
        "prefix": PREFIX,
        "path": str(root),
        "direction": "push",
        "include": [],
        "exclude": [".ipynb_checkpoints/*", "*/.ipynb_checkpoints/*"],
        "follow_symlinks": True,
        "manifest": str(manifest or root.parent / "manifest.json"),
        "compare_etag": "auto",
        "multipart_threshold": "8MB",
        "multipart_chunksize": "8MB",
        "page_size": 1000,
        "max_reported": 100,
        "fail_on_drift": False,
    }
    params.update(overrides)
    return verify_module.verify(s3, params)


def body(s3, rel: str) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=PREFIX + rel)["Body"].read()


def count_calls(client) -> list[str]:
    seen: list[str] = []
    client.meta.events.register("before-call.s3", lambda model, **_kw: seen.append(model.name))
    return seen


def count_opens(monkeypatch, module, root: Path) -> list[str]:
    """Files under root that the module opens from now on."""
    opened: list[str] = []

    def counting_open(file, *args, **kwargs):
        if str(file).startswith(str(root)):
            opened.append(str(file))
        return builtins.open(file, *args, **kwargs)

    monkeypatch.setattr(module, "open", counting_open, raising=False)
    return opened


def same_size_edit(path: Path, old: bytes, new: bytes, keep_mtime: bool = True) -> None:
    """Write other bytes of the same size, then put the modification time back to the very nanosecond."""
    assert len(old) == len(new) and old != new
    before = path.stat()
    path.write_bytes(new)
    if keep_mtime:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size


# ------------------------------------------------------------------------------------------- the push


def test_the_emulator_is_honest_about_sse_kms_etags(s3, tree, trusted_at_once):
    push(s3, tree)
    listed = s3.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert len(listed) == 6
    for obj in listed:
        md5 = hashlib.md5(body(s3, obj["Key"][len(PREFIX) :]), usedforsecurity=False).hexdigest()
        assert obj["ETag"].strip('"') != md5


def test_a_first_push_sends_every_selected_file_with_its_checksum(s3, tree, trusted_at_once):
    calls = count_calls(s3)
    rc, counts = push(s3, tree)
    assert rc == 0 and counts.uploaded == 6 and counts.problems == []
    assert calls == ["ListObjectsV2"] + ["PutObject"] * 6
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert keys == [PREFIX + k for k in ["analysis/deep/model.ipynb"] + [f"nb{n}.ipynb" for n in range(5)]]
    head = s3.head_object(Bucket=BUCKET, Key=PREFIX + "nb1.ipynb", ChecksumMode="ENABLED")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["ChecksumSHA256"] == push_program.b64(hashlib.sha256(notebook(1)).digest())
    rows = json.loads((tree.parent / "manifest.json").read_text())["files"]
    assert rows["nb1.ipynb"]["etag"] == head["ETag"].strip('"')
    assert rows["nb1.ipynb"]["version_id"] == head["VersionId"]
    assert rows["nb1.ipynb"]["sha256"] == hashlib.sha256(notebook(1)).hexdigest()


def test_unchanged_files_are_neither_read_nor_uploaded(s3, tree, trusted_at_once, monkeypatch):
    push(s3, tree)
    opened = count_opens(monkeypatch, push_program, tree)
    calls = count_calls(s3)
    rc, counts = push(s3, tree)
    assert rc == 0 and opened == [] and counts.read == 0 and counts.skipped == 6
    assert calls == ["ListObjectsV2"]  # no PutObject, no HEAD
    manifest = tree.parent / "manifest.json"
    written = manifest.stat().st_mtime_ns
    push(s3, tree)
    assert manifest.stat().st_mtime_ns == written  # nothing changed: the manifest is not rewritten


def test_same_bytes_saved_again_are_read_once_but_not_uploaded(s3, tree, trusted_at_once):
    push(s3, tree)
    (tree / "nb2.ipynb").write_bytes(notebook(2))  # an autosave of the same content: new mtime and ctime
    calls = count_calls(s3)
    rc, counts = push(s3, tree)
    assert rc == 0 and counts.read == 1 and counts.same_bytes == 1 and counts.uploaded == 0
    assert calls == ["ListObjectsV2"]
    assert push(s3, tree)[1].read == 0  # its new identity is recorded


def test_a_same_size_edit_in_the_same_nanosecond_is_pushed_and_verified(s3, tree, trusted_at_once):
    push(s3, tree)
    path = tree / "nb3.ipynb"
    same_size_edit(path, notebook(3), notebook(7))
    # aws s3 sync would skip it: same size, and the object is newer than the file's (unchanged) mtime.
    result = verify(s3, tree)
    assert result["etag_differs"] == ["nb3.ipynb"] and result["drift"] == 1 and result["files_read"] == 1
    rc, counts = push(s3, tree)
    assert rc == 0 and counts.uploaded == 1
    assert body(s3, "nb3.ipynb") == notebook(7)
    result = verify(s3, tree)
    assert result["in_sync"] is True and result["counts"]["identical"] == 6


def test_a_file_with_its_mtime_set_back_is_pushed(s3, tree, trusted_at_once):
    push(s3, tree)
    path = tree / "nb4.ipynb"
    path.write_bytes(notebook(8))  # same size
    os.utime(path, ns=(0, 1_000_000_000))  # "touch -d 1970", "cp -p" of an old file: older than any object
    rc, counts = push(s3, tree)
    assert rc == 0 and counts.uploaded == 1 and body(s3, "nb4.ipynb") == notebook(8)
    assert verify(s3, tree)["in_sync"] is True


def test_an_edit_during_the_upload_is_recorded_dirty_and_pushed_by_the_next_run(s3, tree, trusted_at_once, monkeypatch):
    push(s3, tree)
    path = tree / "nb1.ipynb"
    path.write_bytes(notebook(5))
    real_put = push_program.put

    def put_then_edit(client, bucket, key, full, read):
        answer = real_put(client, bucket, key, full, read)
        if key.endswith("nb1.ipynb"):
            path.write_bytes(notebook(6))  # saved again (same size) while the PUT was finishing
        return answer

    monkeypatch.setattr(push_program, "put", put_then_edit)
    rc, counts = push(s3, tree)
    assert rc == 0 and counts.uploaded == 1 and counts.dirty_after_upload == 1
    assert body(s3, "nb1.ipynb") == notebook(5)  # what was read is what was sent
    row = json.loads((tree.parent / "manifest.json").read_text())["files"]["nb1.ipynb"]
    assert row["identity"] is None and row["sha256"] == hashlib.sha256(notebook(5)).hexdigest()
    assert verify(s3, tree)["etag_differs"] == ["nb1.ipynb"]  # the later edit is not in the bucket yet

    monkeypatch.setattr(push_program, "put", real_put)
    rc, counts = push(s3, tree)
    assert rc == 0 and counts.uploaded == 1 and body(s3, "nb1.ipynb") == notebook(6)
    assert verify(s3, tree)["in_sync"] is True


def test_an_edit_during_the_read_is_not_sent_and_is_pushed_later(s3, tree, trusted_at_once, monkeypatch):
    push(s3, tree)
    path = tree / "nb2.ipynb"
    path.write_bytes(notebook(4))
    real_read = push_program.read_file

    def always_changing(full, keep, want_md5=False):
        if full.endswith("nb2.ipynb"):
            raise push_program.Changed(full)
        return real_read(full, keep, want_md5)

    monkeypatch.setattr(push_program, "read_file", always_changing)
    monkeypatch.setattr(push_program.time, "sleep", lambda _s: None)
    rc, counts = push(s3, tree)
    assert rc == 2 and counts.busy == 1 and counts.uploaded == 0
    assert "changed while being read" in counts.problems[0]
    assert body(s3, "nb2.ipynb") == notebook(2)
    monkeypatch.setattr(push_program, "read_file", real_read)
    rc, counts = push(s3, tree)
    assert rc == 0 and counts.uploaded == 1 and body(s3, "nb2.ipynb") == notebook(4)


def test_read_file_notices_a_write_while_reading(tmp_path, monkeypatch):
    path = write(tmp_path, "a.ipynb", notebook(1))
    real_fstat = os.fstat
    calls = []

    def fstat_then_write(fd):
        calls.append(fd)
        if len(calls) == 2:  # after the bytes were read, before the identity is taken again
            with builtins.open(path, "r+b") as handle:
                handle.write(b"{")
        return real_fstat(fd)

    monkeypatch.setattr(push_program.os, "fstat", fstat_then_write)
    with pytest.raises(push_program.Changed):
        push_program.read_file(str(path), keep=True)


def test_a_racy_file_is_read_again_but_not_sent(s3, tree):
    """Changed within 2 s of being read: a later write in the same timestamp tick could keep its identity."""
    rc, counts = push(s3, tree)
    rows = json.loads((tree.parent / "manifest.json").read_text())["files"]
    assert all(row["racy"] for row in rows.values())  # all written by the fixture a moment ago
    calls = count_calls(s3)
    rc, counts = push(s3, tree)
    assert rc == 0 and counts.read == 6 and counts.uploaded == 0 and calls == ["ListObjectsV2"]


@pytest.mark.parametrize(
    ("mtime_ns", "ctime_ns", "started_ns", "racy"),
    [
        (10**18, 10**18, 10**18 + 3 * 10**9, False),
        (10**18, 10**18 + 2 * 10**9, 10**18 + 3 * 10**9, True),
        (10**18 + 10**9, 10**18, 10**18 + 3 * 10**9, True),
        (10**18, 10**18, 10**18, True),
    ],
)
def test_is_racy(mtime_ns, ctime_ns, started_ns, racy):
    assert push_program.is_racy([0, 0, 1, mtime_ns, ctime_ns], started_ns) is racy


def test_an_object_deleted_from_the_bucket_is_pushed_again(s3, tree, trusted_at_once):
    push(s3, tree)
    s3.delete_object(Bucket=BUCKET, Key=PREFIX + "nb0.ipynb")
    rc, counts = push(s3, tree)
    assert rc == 0 and counts.uploaded == 1 and body(s3, "nb0.ipynb") == notebook(0)


def test_objects_aws_s3_sync_pushed_are_adopted_not_uploaded_again(s3, tree, trusted_at_once):
    """The first run after the switch from aws s3 sync: same bytes found by the CRC32 the AWS CLI stored."""
    for path in sorted(p for p in tree.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts):
        s3.upload_file(str(path), BUCKET, PREFIX + path.relative_to(tree).as_posix())  # s3transfer, CRC32
    same_size_edit(tree / "nb1.ipynb", notebook(1), notebook(9))
    calls = count_calls(s3)
    rc, counts = push(s3, tree)
    assert rc == 0 and counts.adopted == 5 and counts.uploaded == 1
    assert calls.count("PutObject") == 1 and calls.count("HeadObject") == 6
    assert body(s3, "nb1.ipynb") == notebook(9)
    assert verify(s3, tree)["in_sync"] is True


def test_nothing_is_deleted_and_rows_of_removed_files_go(s3, tree, trusted_at_once):
    push(s3, tree)
    (tree / "nb0.ipynb").unlink()
    rc, counts = push(s3, tree)
    assert rc == 0 and counts.uploaded == 0
    assert body(s3, "nb0.ipynb") == notebook(0)
    assert "nb0.ipynb" not in json.loads((tree.parent / "manifest.json").read_text())["files"]
    result = verify(s3, tree)
    assert result["in_sync"] is True and result["only_remote"] == ["nb0.ipynb"]  # push: not drift


def test_filters_apply_in_order_the_last_match_deciding():
    filters = push_program.Filters((("exclude", "*"), ("include", "*.ipynb"), ("exclude", "*/.ipynb_checkpoints/*")))
    assert filters.selected("a.ipynb") and filters.selected("d/a.ipynb")
    assert not filters.selected("a.csv") and not filters.selected("d/.ipynb_checkpoints/a.ipynb")
    assert push_program.Filters().selected("anything")


def test_a_manifest_for_another_destination_is_not_trusted(s3, tree, trusted_at_once):
    manifest = tree.parent / "manifest.json"
    push(s3, tree, manifest)
    data = json.loads(manifest.read_text())
    data["prefix"] = "published/"
    manifest.write_text(json.dumps(data))
    err = io.StringIO()
    rc, counts = push(s3, tree, manifest, err)
    assert rc == 0 and "started anew" in err.getvalue()
    assert counts.read == 6 and counts.skipped == 0  # read again; its objects are adopted, not sent again
    assert counts.uploaded == 0 and counts.adopted == 6


def test_the_command_line_logs_one_line_per_upload(s3, tree, trusted_at_once, capsys):
    argv = [str(tree), f"s3://{BUCKET}/notebooks", "--manifest", str(tree.parent / "state" / "m.json")]
    argv += ["--region", "us-east-1"]  # the manifest's folder is made when missing
    argv += ["--exclude", ".ipynb_checkpoints/*", "--exclude", "*/.ipynb_checkpoints/*"]
    assert push_program.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6
    shown = str(tree).lstrip("/")
    assert f"upload: {shown}/nb0.ipynb to s3://{BUCKET}/notebooks/nb0.ipynb" in lines
    assert push_program.main(argv) == 0 and capsys.readouterr().out == ""
    assert push_program.main([str(tree), "bucket/x", "--manifest", "m.json"]) == 1
    assert "not an s3:// URL" in capsys.readouterr().err


# -------------------------------------------------------------------------------- verify with the manifest


def test_verify_reads_no_unchanged_file_and_lists_only(s3, tree, trusted_at_once, monkeypatch):
    push(s3, tree)
    opened = count_opens(monkeypatch, verify_module, tree)
    calls = count_calls(s3)
    result = verify(s3, tree)
    assert result["in_sync"] is True and result["counts"]["identical"] == 6
    assert result["files_read"] == 0 and result["head_calls"] == 0 and opened == []
    assert calls == ["ListObjectsV2"]  # no GetBucketEncryption, no HEAD, no GET


def test_a_remote_overwrite_is_drift_unless_it_holds_the_same_bytes(s3, tree, trusted_at_once):
    push(s3, tree)
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "nb2.ipynb", Body=notebook(3))  # someone else, same size
    result = verify(s3, tree)
    assert result["etag_differs"] == ["nb2.ipynb"] and result["head_calls"] == 1 and result["in_sync"] is False
    # Written again with the file's own bytes (another tool, a restore): a new ETag, but the same content.
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "nb2.ipynb", Body=notebook(2), ChecksumAlgorithm="SHA256")
    result = verify(s3, tree)
    assert result["in_sync"] is True and result["head_calls"] == 1 and result["counts"]["identical"] == 6


def test_zero_false_drift_on_an_sse_kms_bucket(s3, tmp_path, trusted_at_once):
    root = tmp_path / "many"
    for n in range(300):
        write(root, f"d{n % 7}/nb{n:04d}.ipynb", notebook(n))
    assert push(s3, root)[0] == 0
    result = verify(s3, root)
    assert result["in_sync"] is True and result["drift"] == 0 and result["counts"]["identical"] == 300
    assert result["files_read"] == 0
    # Without the manifest, what an SSE-KMS bucket allows: presence and sizes only (its ETags are not MD5s).
    plain = verify_module.verify(s3, _params_without_manifest(root))
    assert plain["etag_compared"] is False and plain["in_sync"] is True


def _params_without_manifest(root: Path) -> dict:
    return {
        "bucket": BUCKET,
        "prefix": PREFIX,
        "path": str(root),
        "direction": "push",
        "include": [],
        "exclude": [],
        "follow_symlinks": True,
        "manifest": None,
        "compare_etag": "auto",
        "multipart_threshold": "8MB",
        "multipart_chunksize": "8MB",
        "page_size": 1000,
        "max_reported": 100,
        "fail_on_drift": False,
    }


def test_files_without_a_row_are_hashed_and_their_objects_headed(s3, tree, trusted_at_once):
    push(s3, tree)
    write(tree, "new.ipynb", notebook(42))
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "new.ipynb", Body=notebook(42), ChecksumAlgorithm="SHA256")
    result = verify(s3, tree)
    assert result["in_sync"] is True and result["files_read"] == 1 and result["head_calls"] == 1


def test_main_with_a_manifest_for_another_prefix_fails_clearly(s3, tree, trusted_at_once, capsys):
    push(s3, tree)
    args = {"bucket": BUCKET, "prefix": "published/", "path": str(tree), "manifest": str(tree.parent / "manifest.json")}
    rc, out = run_verify(args | {"region": "us-east-1"}, capsys)
    assert rc == 1 and "manifest" in out["msg"] and "published/" in out["msg"]
    rc, out = run_verify(args | {"prefix": PREFIX, "region": "us-east-1", "_ansible_check_mode": True}, capsys)
    assert rc == 0 and out["manifest_used"] is True and out["changed"] is False


def test_a_file_deleted_during_the_run_is_no_problem(s3, tree, trusted_at_once, monkeypatch):
    push(s3, tree)
    (tree / "nb3.ipynb").write_bytes(notebook(6))
    real_read = push_program.read_file

    def deleted_first(full, keep, want_md5=False):
        if full.endswith("nb3.ipynb"):
            os.unlink(full)
        return real_read(full, keep, want_md5)

    monkeypatch.setattr(push_program, "read_file", deleted_first)
    rc, counts = push(s3, tree)
    assert rc == 0 and counts.problems == [] and counts.files == 5 and counts.uploaded == 0
    assert body(s3, "nb3.ipynb") == notebook(3)  # nothing is deleted from the bucket


def test_a_foreign_write_with_only_a_crc32_is_compared_by_reading_the_file(s3, tree, trusted_at_once):
    push(s3, tree)
    s3.upload_file(str(tree / "nb4.ipynb"), BUCKET, PREFIX + "nb4.ipynb")  # the AWS CLI's way: CRC32, same bytes
    result = verify(s3, tree)
    assert result["in_sync"] is True and result["head_calls"] == 1 and result["files_read"] == 1
    (tree / "nb4.ipynb").write_bytes(notebook(5))  # and now the file differs from that object
    s3.upload_file(str(tree / "nb0.ipynb"), BUCKET, PREFIX + "nb0.ipynb")
    result = verify(s3, tree)
    assert result["etag_differs"] == ["nb4.ipynb"] and result["head_calls"] == 2
