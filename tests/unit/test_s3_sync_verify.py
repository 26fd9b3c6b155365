"""plugins/modules/s3_sync_verify.py: its pure logic with plain pytest, its AWS behaviour against moto
(in-process for the comparisons and the call counting, a moto server on 127.0.0.1 for the run through
Ansible itself).

Objects are uploaded with boto3's own transfer engine (s3transfer, the AWS CLI's engine too), so the
multipart ETags the module must reproduce are the ones a real upload produces, not ones the test made up.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

import boto3
import moto_server as _fidelity  # noqa: F401 - patches moto in place as the server does (SSE-KMS ETags not MD5s)
import pytest
from boto3.s3.transfer import TransferConfig
from modules import ansible_adhoc, ansible_doc, load_module, run_module
from moto import mock_aws

MIB = 1024 * 1024
BUCKET = "researchenv-notebooks-123456789012"

m = load_module("s3_sync_verify")
run_main = functools.partial(run_module, m, region=None)


# --------------------------------------------------------------------------------------------- helpers


@pytest.fixture
def s3(aws_env):
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def params(path: Path, **overrides) -> dict:
    base = {
        "bucket": BUCKET,
        "prefix": "notebooks/",
        "path": str(path),
        "direction": "both",
        "include": [],
        "exclude": [],
        "follow_symlinks": True,
        "compare_etag": "auto",
        "multipart_threshold": "8MB",
        "multipart_chunksize": "8MB",
        "page_size": 1000,
        "max_reported": 100,
        "fail_on_drift": False,
    }
    base.update(overrides)
    return base


def write(root: Path, rel: str, data: bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def notebook(n: int) -> bytes:
    cells = [{"cell_type": "code", "source": f"x = {n}\nprint(x * {n})", "outputs": [], "metadata": {}}]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def upload_tree(client, root: Path, prefix: str, config: TransferConfig | None = None) -> None:
    """What `aws s3 sync root s3://bucket/prefix` leaves behind, done with the same transfer engine."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        key = prefix + path.relative_to(root).as_posix()
        client.upload_file(str(path), BUCKET, key, Config=config or TransferConfig())


def count_calls(client) -> list[str]:
    """Names of every S3 operation the client performs from now on."""
    seen: list[str] = []

    def hook(model, **_kwargs):
        seen.append(model.name)

    client.meta.events.register("before-call.s3", hook)
    return seen


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "notebooks"
    for n in range(5):
        write(root, f"nb{n}.ipynb", notebook(n))
    write(root, "analysis/deep/model.ipynb", notebook(99))
    write(root, "analysis/data.csv", b"a,b\n1,2\n")
    write(root, "empty.txt", b"")
    return root


# ---------------------------------------------------------------------------------------- documentation


def test_documentation_describes_exactly_the_argument_spec():
    """What ansible-test's validate-modules checks, for a module that lives outside a collection."""
    import yaml

    doc = yaml.safe_load(m.DOCUMENTATION)
    options = doc["options"]
    assert set(options) == set(m.ARGUMENT_SPEC)
    for name, spec in m.ARGUMENT_SPEC.items():
        documented = options[name]
        assert documented.get("type", "str") == spec.get("type", "str"), name
        assert documented.get("required", False) == spec.get("required", False), name
        assert documented.get("default") == spec.get("default"), name
        assert documented.get("choices") == spec.get("choices"), name
        assert documented.get("elements") == spec.get("elements"), name
        assert documented.get("description"), name
    assert doc["extends_documentation_fragment"] == [
        "amazon.aws.common.modules",
        "amazon.aws.region.modules",
        "amazon.aws.boto3",
    ]
    returned = yaml.safe_load(m.RETURN)
    assert all({"description", "returned", "type"} <= set(v) for v in returned.values())
    assert all(task["research_env.core.s3_sync_verify"]["bucket"] for task in yaml.safe_load(m.EXAMPLES))


def test_ansible_doc_renders_the_module():
    doc = ansible_doc("s3_sync_verify")["doc"]
    assert {"bucket", "path", "endpoint_url", "region", "access_key"} <= set(doc["options"])
    assert any(r.startswith("boto3") for r in doc["requirements"])


# ----------------------------------------------------------------------------------------- pure logic


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8MB", 8 * MIB),
        ("8MiB", 8 * MIB),
        ("8mb", 8 * MIB),
        ("16 MB", 16 * MIB),
        ("5242880", 5 * MIB),
        (1024, 1024),
        ("64KB", 64 * 1024),
        ("1GB", 1024 * MIB),
        ("1G", 1024 * MIB),
    ],
)
def test_parse_size_reads_sizes_as_the_aws_cli_does(value, expected):
    assert m.parse_size(value) == expected


@pytest.mark.parametrize("value", ["", "8XB", "-1", "0", "eight", "8.5MB", True])
def test_parse_size_refuses_what_is_not_a_size(value):
    with pytest.raises(ValueError, match="size"):
        m.parse_size(value)


@pytest.mark.parametrize(
    ("chunksize", "file_size", "expected"),
    [
        (8 * MIB, 1024 * MIB, 8 * MIB),  # 128 parts: as configured
        (1 * MIB, 10 * MIB, 5 * MIB),  # below S3's minimum part size: raised to 5 MiB
        (8 * MIB, 80000 * MIB, 8 * MIB),  # exactly 10 000 parts still fits
        (8 * MIB, 80001 * MIB, 16 * MIB),  # one MiB more needs a doubled part size
        (8 * MIB, 100 * 1024 * MIB, 16 * MIB),  # 100 GiB: 12 800 parts at 8 MiB, 6 400 at 16 MiB
        (10 * 1024 * MIB, 20 * 1024 * MIB, 5 * 1024 * MIB),  # above the 5 GiB maximum: lowered
    ],
)
def test_adjust_chunksize_follows_s3transfer(chunksize, file_size, expected):
    assert m.adjust_chunksize(chunksize, file_size) == expected


def test_adjust_chunksize_agrees_with_s3transfer_itself():
    from s3transfer.utils import ChunksizeAdjuster

    adjuster = ChunksizeAdjuster()
    for chunk, size in [(MIB, 3 * MIB), (8 * MIB, 200 * 1024 * MIB), (8 * MIB, 8 * MIB), (64 * MIB, 10 * MIB)]:
        assert m.adjust_chunksize(chunk, size) == adjuster.adjust_chunksize(chunk, size)


@pytest.mark.parametrize(
    ("etag", "expected"),
    [
        ('"d41d8cd98f00b204e9800998ecf8427e"', ("d41d8cd98f00b204e9800998ecf8427e", None)),
        ('"0D4E4E0E6A5E8C2B7B6D4C3F2A1B0C9D-12"', ("0d4e4e0e6a5e8c2b7b6d4c3f2a1b0c9d", 12)),
        ("abc-1", ("abc", 1)),
        ("plain", ("plain", None)),
        ("odd-etag-x", ("odd-etag-x", None)),
    ],
)
def test_parse_etag(etag, expected):
    assert m.parse_etag(etag) == expected


def md5(data: bytes):
    return hashlib.md5(data, usedforsecurity=False)


def reference_multipart_etag(data: bytes, chunk: int) -> str:
    """Multipart ETag computed independently of the module, from the documented definition."""
    parts = [data[i : i + chunk] for i in range(0, len(data), chunk)] or [b""]
    joined = b"".join(md5(p).digest() for p in parts)
    return f"{md5(joined).hexdigest()}-{len(parts)}"


@pytest.mark.parametrize("size", [0, 1, 999, 1000, 1001, 2999, 3000, 3001, 10_000])
def test_multipart_etag_matches_the_definition(tmp_path, size):
    data = os.urandom(size)
    path = write(tmp_path, "f", data)
    assert m.multipart_etag(str(path), 1000) == reference_multipart_etag(data, 1000)
    assert m.md5_etag(str(path)) == md5(data).hexdigest()


@pytest.mark.parametrize(
    ("file_size", "parts", "configured", "expected_first"),
    [
        (12 * MIB, 2, 8 * MIB, 8 * MIB),  # the configured size fits: tried first
        (12 * MIB, 3, 8 * MIB, 5 * MIB),  # 3 parts: 5 MiB parts
        (40 * MIB, 3, 8 * MIB, 15 * MIB),  # 3 parts of a 40 MiB file: 15 or 16 MiB (14 MiB from the count)
    ],
)
def test_candidate_chunksizes_give_the_part_count(file_size, parts, configured, expected_first):
    candidates = m.candidate_chunksizes(file_size, parts, configured)
    assert candidates[0] == expected_first
    assert all(m.part_count(file_size, c) == parts for c in candidates)
    assert len(candidates) == len(set(candidates))


@pytest.mark.parametrize(
    ("rel", "include", "exclude", "selected"),
    [
        ("a.ipynb", [], [], True),
        ("a.ipynb", ["*.ipynb"], [], True),
        ("dir/a.ipynb", ["*.ipynb"], [], True),  # * crosses /, as in aws s3 sync
        ("a.py", ["*.ipynb"], [], False),
        (".ipynb_checkpoints/a-checkpoint.ipynb", [], [".ipynb_checkpoints/*", "*/.ipynb_checkpoints/*"], False),
        ("d/.ipynb_checkpoints/a-checkpoint.ipynb", [], [".ipynb_checkpoints/*", "*/.ipynb_checkpoints/*"], False),
        ("d/a.ipynb", [], [".ipynb_checkpoints/*", "*/.ipynb_checkpoints/*"], True),
        ("secret.ipynb", ["*.ipynb"], ["secret*"], False),  # exclusion wins
        ("A.IPYNB", ["*.ipynb"], [], False),  # case matters, as in S3 keys
    ],
)
def test_selector(rel, include, exclude, selected):
    assert m.Selector(tuple(include), tuple(exclude)).selected(rel) is selected


@pytest.mark.parametrize(
    ("prefix", "expected"), [("", ""), ("notebooks", "notebooks/"), ("notebooks/", "notebooks/"), ("/a/b", "a/b/")]
)
def test_normalise_prefix(prefix, expected):
    assert m.normalise_prefix(prefix) == expected


def test_compare_sorts_every_path_and_counts_drift_by_direction(tmp_path):
    local = {
        "same": (str(write(tmp_path, "same", b"abc")), 3),
        "new": (str(write(tmp_path, "new", b"n")), 1),
        "grown": (str(write(tmp_path, "grown", b"abcd")), 4),
        "edited": (str(write(tmp_path, "edited", b"xyz")), 3),
    }
    remote = {
        "same": (3, f'"{md5(b"abc").hexdigest()}"'),
        "gone": (5, '"0"'),
        "grown": (3, '"1"'),
        "edited": (3, f'"{md5(b"xy!").hexdigest()}"'),
    }
    result = m.compare(local, remote)
    assert (result.identical, result.only_local, result.only_remote) == (1, ["new"], ["gone"])
    assert (result.size_differs, result.etag_differs) == (["grown"], ["edited"])
    assert (result.drift("both"), result.drift("push"), result.drift("pull")) == (4, 3, 3)
    # Without ETags, only sizes count: the edited file of the same size passes.
    assert m.compare(local, remote, compare_etag=False).etag_differs == []


def test_result_caps_the_lists_but_not_the_counts():
    comparison = m.Comparison(local=5, remote=0, only_local=[f"f{i}" for i in range(5, 0, -1)])
    result = comparison.result("push", max_reported=2)
    assert result["only_local"] == ["f1", "f2"]
    assert result["counts"]["only_local"] == 5
    assert result["truncated"] is True
    assert (result["drift"], result["in_sync"]) == (5, False)
    assert comparison.result("pull", max_reported=2)["in_sync"] is True


# ------------------------------------------------------------------------------- against moto, in-process


def test_equal_trees_have_no_drift(s3, tree):
    upload_tree(s3, tree, "notebooks/")
    calls = count_calls(s3)
    result = m.verify(s3, params(tree))
    assert result["in_sync"] is True
    assert result["drift"] == 0
    assert result["counts"] == {
        "local": 8,
        "remote": 8,
        "identical": 8,
        "only_local": 0,
        "only_remote": 0,
        "size_differs": 0,
        "etag_differs": 0,
    }
    assert calls == ["GetBucketEncryption", "ListObjectsV2"]  # nothing per object
    assert result["list_calls"] == 1 and result["etag_compared"] is True


def test_missing_extra_and_changed_files_are_reported(s3, tree):
    upload_tree(s3, tree, "notebooks/")
    (tree / "nb0.ipynb").unlink()  # in the bucket only
    write(tree, "analysis/new.ipynb", notebook(7))  # on the host only
    original = (tree / "nb1.ipynb").read_bytes()
    (tree / "nb1.ipynb").write_bytes(original.replace(b"x = 1", b"x = 2"))  # same size, other content
    write(tree, "nb2.ipynb", notebook(2) + b"\n")  # grown
    s3.put_object(Bucket=BUCKET, Key="notebooks/", Body=b"")  # a console folder marker: not an object to compare

    result = m.verify(s3, params(tree))
    assert result["only_remote"] == ["nb0.ipynb"]
    assert result["only_local"] == ["analysis/new.ipynb"]
    assert result["etag_differs"] == ["nb1.ipynb"]
    assert result["size_differs"] == ["nb2.ipynb"]
    assert result["counts"]["identical"] == 5
    assert (result["drift"], result["in_sync"]) == (4, False)
    assert m.verify(s3, params(tree, direction="push"))["drift"] == 3  # the bucket may keep what the host deleted
    assert m.verify(s3, params(tree, direction="pull"))["drift"] == 3  # the host may keep its own files
    sizes_only = m.verify(s3, params(tree, compare_etag="never"))
    assert sizes_only["etag_differs"] == [] and sizes_only["counts"]["identical"] == 6


def test_another_prefix_is_not_mixed_in(s3, tmp_path):
    root = tmp_path / "published"
    write(root, "a.ipynb", notebook(1))
    upload_tree(s3, root, "published/")
    s3.put_object(Bucket=BUCKET, Key="published-drafts/b.ipynb", Body=notebook(2))
    s3.put_object(Bucket=BUCKET, Key="notebooks/c.ipynb", Body=notebook(3))
    result = m.verify(s3, params(root, prefix="published"))
    assert result["prefix"] == "published/"
    assert result["in_sync"] is True and result["counts"]["remote"] == 1


@pytest.mark.parametrize(
    ("uploaded_with", "verified_with"),
    [
        ((8 * MIB, 8 * MIB), ("8MB", "8MB")),  # the AWS CLI's defaults on both sides
        ((5 * MIB, 5 * MIB), ("5MB", "5MB")),  # a small part size, configured on both sides
        ((5 * MIB, 5 * MIB), ("8MB", "8MB")),  # uploaded with 5 MiB parts, verified with defaults: inferred
        ((16 * MIB, 16 * MIB), ("8MB", "8MB")),  # a large file sent in one piece by a high threshold
    ],
    ids=["defaults", "small-parts", "inferred-part-size", "single-part-large-file"],
)
def test_multipart_objects_verify(s3, tmp_path, uploaded_with, verified_with):
    root = tmp_path / "data"
    sizes = {"exact-threshold.bin": 8 * MIB, "two-parts.bin": 12 * MIB, "three-parts.bin": 16 * MIB + 3, "s.txt": 10}
    for name, size in sizes.items():
        write(root, name, os.urandom(size))
    threshold, chunk = uploaded_with
    upload_tree(s3, root, "data/", TransferConfig(multipart_threshold=threshold, multipart_chunksize=chunk))
    etags = {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="data/")["Contents"]}
    multipart = {k for k, v in etags.items() if "-" in v}
    expected_multipart = {f"data/{n}" for n, size in sizes.items() if size >= threshold}
    assert multipart == expected_multipart  # the test really made multipart objects where it meant to

    result = m.verify(s3, params(root, prefix="data/", multipart_threshold=verified_with[0],
                                 multipart_chunksize=verified_with[1]))  # fmt: skip
    assert result["in_sync"] is True, result
    assert result["counts"]["identical"] == 4

    # One byte changed inside the second part: same size, the multipart ETag must tell.
    path = root / "three-parts.bin"
    data = bytearray(path.read_bytes())
    data[9 * MIB] ^= 0xFF
    path.write_bytes(bytes(data))
    result = m.verify(s3, params(root, prefix="data/", multipart_threshold=verified_with[0],
                                 multipart_chunksize=verified_with[1]))  # fmt: skip
    assert result["etag_differs"] == ["three-parts.bin"]


def put_directly(bucket: str, key: str, body: bytes) -> None:
    """Store an object in moto's backend without an API call (moto computes its ETag as S3 does);
    10 000 put_object calls through the SDK would take most of a minute in-process."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    s3_backends[DEFAULT_ACCOUNT_ID]["aws"].put_object(bucket, key, body)


def test_ten_thousand_objects_take_ten_list_calls_and_no_other_call(s3, tmp_path):
    root = tmp_path / "many"
    for n in range(10_000):
        rel = f"d{n % 20:02d}/nb{n:05d}.ipynb"
        data = notebook(n)
        write(root, rel, data)
        if n % 1000:
            put_directly(BUCKET, "notebooks/" + rel, data)
        else:
            s3.put_object(Bucket=BUCKET, Key="notebooks/" + rel, Body=data)
    calls = count_calls(s3)
    result = m.verify(s3, params(root))
    assert calls == ["GetBucketEncryption"] + ["ListObjectsV2"] * 10  # no HEAD, no GET
    assert m.verify(s3, params(root, compare_etag="always"))["in_sync"] is True
    assert calls[11:] == ["ListObjectsV2"] * 10  # "always" needs no GetBucketEncryption
    assert result["list_calls"] == 10
    assert result["counts"]["identical"] == 10_000 and result["in_sync"] is True

    write(root, "d00/nb00000.ipynb", notebook(0).replace(b"x = 0", b"x = 9"))
    result = m.verify(s3, params(root, max_reported=5))
    assert result["etag_differs"] == ["d00/nb00000.ipynb"] and result["drift"] == 1


def test_sse_kms_buckets_are_compared_by_size_unless_told_otherwise(s3, tree):
    s3.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/x"}}]
        },
    )
    upload_tree(s3, tree, "notebooks/")
    write(tree, "nb1.ipynb", notebook(1).replace(b"x = 1", b"x = 2"))  # same size, other content
    result = m.verify(s3, params(tree))
    assert result["etag_compared"] is False and result["in_sync"] is True
    assert any("SSE-KMS" in w for w in result["warnings"])
    # As on AWS (the emulator's fidelity fix), single-part SSE-KMS ETags are not MD5 digests: compared as MD5s
    # anyway ("always"), every file of the same size looks different, which is why "auto" does not compare them.
    every_file = ["analysis/data.csv", "analysis/deep/model.ipynb", "empty.txt"] + [f"nb{n}.ipynb" for n in range(5)]
    assert m.verify(s3, params(tree, compare_etag="always"))["etag_differs"] == every_file


def test_sse_s3_buckets_have_their_etags_compared(s3, tree):
    s3.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    upload_tree(s3, tree, "notebooks/")
    write(tree, "nb1.ipynb", notebook(1).replace(b"x = 1", b"x = 2"))
    result = m.verify(s3, params(tree))
    assert result["etag_compared"] is True and result["warnings"] == []
    assert result["etag_differs"] == ["nb1.ipynb"]


class DeniedClient:
    """Stands in for a client whose credentials lack s3:GetEncryptionConfiguration (moto grants everything)."""

    def __init__(self, code: str):
        self.code = code

    def get_bucket_encryption(self, **_kwargs):
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": self.code, "Message": "denied"}}, "GetBucketEncryption")


def test_an_unreadable_default_encryption_means_sizes_only_with_a_warning():
    """On AWS the jupyter profile may not read the bucket's encryption: comparing its SSE-KMS ETags as MD5s then
    called every object different (false drift), so an unknown encryption compares presence and sizes only."""
    comparable, warning = m.etags_comparable(DeniedClient("AccessDenied"), BUCKET)
    assert comparable is False and "s3:GetEncryptionConfiguration" in warning and "manifest" in warning
    assert m.etags_comparable(DeniedClient("ServerSideEncryptionConfigurationNotFoundError"), BUCKET) == (True, None)
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError):
        m.etags_comparable(DeniedClient("NoSuchBucket"), BUCKET)


def test_include_and_exclude(s3, tree):
    upload_tree(s3, tree, "notebooks/")
    write(tree, ".ipynb_checkpoints/nb0-checkpoint.ipynb", notebook(0))
    write(tree, "analysis/.ipynb_checkpoints/model-checkpoint.ipynb", notebook(99))
    checkpoints = [".ipynb_checkpoints/*", "*/.ipynb_checkpoints/*"]

    assert m.verify(s3, params(tree))["only_local"] == [
        ".ipynb_checkpoints/nb0-checkpoint.ipynb",
        "analysis/.ipynb_checkpoints/model-checkpoint.ipynb",
    ]
    assert m.verify(s3, params(tree, exclude=checkpoints))["in_sync"] is True

    only_notebooks = m.verify(s3, params(tree, include=["*.ipynb"], exclude=checkpoints))
    assert only_notebooks["counts"]["local"] == only_notebooks["counts"]["remote"] == 6
    s3.put_object(Bucket=BUCKET, Key="notebooks/stray.csv", Body=b"1")
    assert m.verify(s3, params(tree, include=["*.ipynb"], exclude=checkpoints))["in_sync"] is True
    assert m.verify(s3, params(tree, exclude=checkpoints))["only_remote"] == ["stray.csv"]


def test_symlinks_are_followed_unless_told_otherwise(s3, tree, tmp_path):
    upload_tree(s3, tree, "notebooks/")
    outside = write(tmp_path, "elsewhere/linked.ipynb", notebook(42))
    (tree / "linked.ipynb").symlink_to(outside)
    (tree / "dangling.ipynb").symlink_to(tmp_path / "nowhere")
    assert m.verify(s3, params(tree))["only_local"] == ["linked.ipynb"]
    assert m.verify(s3, params(tree, follow_symlinks=False))["in_sync"] is True


# ----------------------------------------------------------------------- the module's main(), in-process


def test_main_reports_and_changes_nothing_even_in_check_mode(s3, tree, capsys):
    upload_tree(s3, tree, "notebooks/")
    args = {"bucket": BUCKET, "prefix": "notebooks", "path": str(tree), "region": "us-east-1"}
    rc, out = run_main(args, capsys)
    assert rc == 0 and out["changed"] is False and out["in_sync"] is True and out["prefix"] == "notebooks/"
    rc, out = run_main({**args, "_ansible_check_mode": True}, capsys)
    assert rc == 0 and out["changed"] is False and out["counts"]["identical"] == 8


def test_main_fails_on_drift_only_when_asked(s3, tree, capsys):
    upload_tree(s3, tree, "notebooks/")
    (tree / "empty.txt").unlink()
    args = {"bucket": BUCKET, "prefix": "notebooks/", "path": str(tree), "region": "us-east-1"}
    rc, out = run_main(args, capsys)
    assert rc == 0 and out["only_remote"] == ["empty.txt"]
    rc, out = run_main({**args, "fail_on_drift": True}, capsys)
    assert rc == 1 and out["failed"] is True
    assert "1 difference(s)" in out["msg"] and out["only_remote"] == ["empty.txt"]
    rc, out = run_main({**args, "fail_on_drift": True, "direction": "push"}, capsys)
    assert rc == 0 and out["in_sync"] is True


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"bucket": "no-such-bucket"}, "Bucket no-such-bucket does not exist"),
        ({"path": "/nonexistent/dir"}, "is not a directory"),
        ({"multipart_chunksize": "8XB"}, "multipart_chunksize: not a size"),
        ({"page_size": 5000}, "page_size must be between 1 and 1000"),
    ],
)
def test_main_fails_clearly_on_bad_input(s3, tree, capsys, override, message):
    args = {"bucket": BUCKET, "prefix": "notebooks/", "path": str(tree), "region": "us-east-1", **override}
    rc, out = run_main(args, capsys)
    assert rc == 1 and message in out["msg"]


# -------------------------------------------------------------- through Ansible, against a moto server


def test_through_ansible_against_a_moto_server(moto_server, tree):
    client = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    upload_tree(client, tree, "notebooks/", TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB))
    write(tree, "big/weights.bin", os.urandom(11 * MIB))  # becomes a 3-part object below
    upload_tree(client, tree / "big", "notebooks/big/", TransferConfig(multipart_threshold=5 * MIB))
    args = {"bucket": BUCKET, "prefix": "notebooks/", "path": str(tree), "fail_on_drift": True}

    rc, result = ansible_adhoc("s3_sync_verify", args, moto_server)
    assert rc == 0, result
    assert result["changed"] is False and result["in_sync"] is True
    assert result["counts"]["identical"] == 9 and result["list_calls"] == 1

    rc, result = ansible_adhoc("s3_sync_verify", args, moto_server, "--check")
    assert rc == 0 and result["in_sync"] is True

    write(tree, "nb3.ipynb", notebook(3).replace(b"x = 3", b"x = 4"))
    rc, result = ansible_adhoc("s3_sync_verify", args, moto_server)
    assert rc == 2 and result["failed"] is True
    assert result["etag_differs"] == ["nb3.ipynb"] and "1 difference(s)" in result["msg"]
