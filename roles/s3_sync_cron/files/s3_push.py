#!/usr/bin/env python3
"""Push a folder to an S3 prefix so that no local edit is ever missed and no unchanged file is sent again.

Run by the s3_sync_cron role's push jobs (the job script holds the lock, sets the environment and logs), with
the role's virtualenv Python; boto3 only. It replaces `aws s3 sync` for pushes, whose rule (upload when the
size differs or the file's mtime is later than the object's LastModified) misses a same-size edit made during
an upload, within the host's clock skew, or with its mtime set back (`cp -p`, `touch -d`, a restore).

The decision is taken from what this program read and sent, kept in a per-job manifest (JSON, owned by the job
user), one row per relative path:
  identity  [st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns] of the file when its bytes had `sha256`, or null
            when that is unknown (the file changed while being read or uploaded): the next run reads it again
  racy      the identity was taken less than RACY_NS after the file's last change, so the same identity may hide
            a later write in the same timestamp tick (git's "racy git"): the next run reads it again
  sha256    of the bytes sent, which S3 checked (the SHA-256 is sent with the PUT); size of those bytes
  etag, version_id, checksum_sha256  from S3's answer: what `s3_sync_verify manifest=` compares with the listing
For each selected file: same identity (and not racy) -> nothing read, nothing sent. Otherwise it is read once,
hashed, and its identity checked again after the read (an edit during the read: retried, then left for the
next run); the same bytes as the row -> only the identity is updated; other bytes -> PutObject of exactly those
bytes, then the identity is checked once more (an edit during the upload: identity null, pushed next run).
ctime cannot be set from user space, so every write, chmod, rename over the file or `touch -d` changes the identity.

One ListObjectsV2 pass per run (a page per 1000 keys) finds objects missing from the bucket (pushed again, as
`aws s3 sync` would) and, for a file without a row (the first run after `aws s3 sync`), an object of the same
size that already holds its bytes: its ETag is the file's MD5 (plain or SSE-S3 objects) or a HeadObject with
ChecksumMode shows the same SHA-256 or full-object CRC32 (what the AWS CLI sends): adopted, not uploaded again.
Nothing is ever deleted. Output: one "upload: <file> to s3://<bucket>/<key>" line per upload on stdout,
warnings and errors on stderr; exit 0 (all pushed), 2 (some files not pushed, retried by the next run), 1 (fatal).

Single PUTs, not multipart: S3 checks the SHA-256 sent with a PutObject against the bytes it receives, so the
object is provably the bytes hashed; a PUT takes up to 5 GiB, far above any notebook. Files up to
MEMORY_MAX are read into memory and that very buffer is sent; larger ones are streamed again from the file with
the first pass's SHA-256, which S3 refuses (BadDigest) if the file changed in between. Files above 5 GiB go
through boto3's multipart transfer; their bytes are not proven by a checksum, only by the identity being the
same before the hash and after the upload.
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import hashlib
import json
import os
import stat
import sys
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MANIFEST_VERSION = 1
MIB = 1024 * 1024
READ_BLOCK = MIB
# Timestamps closer than this to the moment the file was read are not trusted (coarse or 2 s filesystem clocks).
RACY_NS = 2_000_000_000
# Read into memory and sent from there up to this size; streamed from the file again above it.
MEMORY_MAX = 64 * MIB
# S3's limit for one PutObject.
SINGLE_PUT_MAX = 5 * 1024 * MIB
READ_ATTEMPTS = 3
SAVE_EVERY_SECONDS = 10.0


class Changed(Exception):
    """The file changed while it was being read."""


def identity(info: os.stat_result) -> list[int]:
    return [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]


def is_racy(ident: list[int], read_started_ns: int) -> bool:
    """Whether a write in the same timestamp tick as the last change could leave this identity unchanged."""
    return max(ident[3], ident[4]) >= read_started_ns - RACY_NS


@dataclass(frozen=True)
class Filters:
    """`aws s3 sync` filters: patterns (fnmatch, `*` matches `/`) on the path relative to the folder, applied
    in order, the last one that matches deciding; a path no pattern matches is included."""

    rules: tuple[tuple[str, str], ...] = ()

    def selected(self, rel: str) -> bool:
        keep = True
        for kind, pattern in self.rules:
            if fnmatch.fnmatchcase(rel, pattern):
                keep = kind == "include"
        return keep


def walk(root: str, filters: Filters) -> Iterator[tuple[str, str]]:
    """(relative path with /, full path) of every regular file under root the filters keep, symlinks followed
    (the default of `aws s3 sync`)."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames.sort()
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if filters.selected(rel):
                yield rel, full


@dataclass
class Read:
    sha256: bytes
    ident: list[int]
    started_ns: int
    data: bytes | None = None
    md5: str | None = None
    crc32: int = 0


def read_file(full: str, keep: bool, want_md5: bool = False) -> Read:
    """Hash the file in one pass, keeping its bytes when asked; Changed if its identity moved meanwhile."""
    started = time.time_ns()
    sha = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False) if want_md5 else None
    crc = 0
    chunks: list[bytes] = []
    with open(full, "rb") as handle:
        before = identity(os.fstat(handle.fileno()))
        for block in iter(lambda: handle.read(READ_BLOCK), b""):
            sha.update(block)
            crc = zlib.crc32(block, crc)
            if md5 is not None:
                md5.update(block)
            if keep:
                chunks.append(block)
        after = identity(os.fstat(handle.fileno()))
    at_path = identity(os.stat(full))
    if not before == after == at_path:
        raise Changed(full)
    return Read(sha.digest(), before, started, b"".join(chunks) if keep else None, md5 and md5.hexdigest(), crc)


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def crc32_b64(crc: int) -> str:
    return b64(crc.to_bytes(4, "big"))


# ------------------------------------------------------------------------------------------------ manifest


def load_manifest(path: str, bucket: str, prefix: str) -> tuple[dict[str, dict], str | None]:
    """The rows of the manifest for this destination, and a warning when it had to be dropped."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return {}, None
    except (OSError, ValueError) as e:
        return {}, f"warning: manifest {path} unreadable ({e}); every file is read again"
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        return {}, f"warning: manifest {path} has another format; every file is read again"
    if data.get("bucket") != bucket or data.get("prefix") != prefix:
        return {}, f"warning: manifest {path} was for s3://{data.get('bucket')}/{data.get('prefix')}; started anew"
    files = data.get("files")
    return (files if isinstance(files, dict) else {}), None


def save_manifest(path: str, bucket: str, prefix: str, source: str, rows: dict[str, dict]) -> None:
    """Write the manifest atomically (a temporary file renamed over it), so a reader never sees half of it."""
    data = {"version": MANIFEST_VERSION, "bucket": bucket, "prefix": prefix, "source": source, "files": rows}
    directory = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(data, handle, separators=(",", ":"), sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


# ------------------------------------------------------------------------------------------------------- S3


def list_prefix(client: Any, bucket: str, prefix: str) -> dict[str, tuple[int, str]]:
    """key relative to prefix -> (size, ETag without quotes), from ListObjectsV2 pages."""
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            found[obj["Key"][len(prefix) :]] = (obj["Size"], obj["ETag"].strip('"'))
    return found


def same_content_remote(client: Any, bucket: str, key: str, read: Read, etag: str) -> dict | None:
    """What S3 says of an object holding exactly the bytes read (its ETag, perhaps from a HeadObject), or None."""
    if read.md5 is not None and etag == read.md5:
        return {"ETag": etag}  # a plain or SSE-S3 object: its ETag is the MD5 of its bytes
    head = client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    if head["ETag"].strip('"') != etag or head.get("ChecksumType", "FULL_OBJECT") != "FULL_OBJECT":
        return None
    if head.get("ChecksumSHA256") == b64(read.sha256) or head.get("ChecksumCRC32") == crc32_b64(read.crc32):
        return head
    return None


def put(client: Any, bucket: str, key: str, full: str, read: Read) -> dict:
    """Upload the bytes read; S3's answer (ETag, VersionId, ChecksumSHA256)."""
    size = read.ident[2]
    checked = {"ChecksumAlgorithm": "SHA256", "ChecksumSHA256": b64(read.sha256)}
    if read.data is not None:
        return client.put_object(Bucket=bucket, Key=key, Body=read.data, **checked)
    if size <= SINGLE_PUT_MAX:
        with open(full, "rb") as handle:
            return client.put_object(Bucket=bucket, Key=key, Body=handle, ContentLength=size, **checked)
    from boto3.s3.transfer import TransferConfig

    client.upload_file(full, bucket, key, Config=TransferConfig(multipart_threshold=SINGLE_PUT_MAX))
    return client.head_object(Bucket=bucket, Key=key)


# ------------------------------------------------------------------------------------------------------ run


@dataclass
class Counts:
    files: int = 0
    skipped: int = 0  # same identity: not read
    read: int = 0
    same_bytes: int = 0  # read, same bytes as sent before: not uploaded
    adopted: int = 0  # no row, the object already held the bytes
    uploaded: int = 0
    busy: int = 0  # changed while being read: left for the next run
    failed: int = 0
    dirty_after_upload: int = 0
    problems: list[str] = field(default_factory=list)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def row_from(read: Read, answer: dict, still: list[int] | None) -> dict:
    """The manifest row for bytes `read` that S3 holds as `answer`; `still` is the identity after the upload."""
    trusted = still == read.ident
    return {
        "identity": read.ident if trusted else None,
        "racy": trusted and is_racy(read.ident, read.started_ns),
        "size": read.ident[2],
        "sha256": read.sha256.hex(),
        "etag": answer["ETag"].strip('"'),
        "version_id": answer.get("VersionId"),
        "checksum_sha256": answer.get("ChecksumSHA256"),
        "uploaded_at": now_iso(),
    }


def push(
    client: Any,
    source: str,
    bucket: str,
    prefix: str,
    manifest_path: str,
    filters: Filters = Filters(),
    out: Any = None,
    err: Any = None,
) -> tuple[int, Counts]:
    """One push of source to s3://bucket/prefix; the exit code and what was done."""
    from botocore.exceptions import BotoCoreError, ClientError

    out = out or sys.stdout
    err = err or sys.stderr
    counts = Counts()
    rows, warning = load_manifest(manifest_path, bucket, prefix)
    if warning:
        print(warning, file=err)
    remote = list_prefix(client, bucket, prefix)
    kept: dict[str, dict] = {}
    last_save = time.monotonic()
    display_source = source.lstrip("/")

    def problem(message: str) -> None:
        counts.problems.append(message)
        print(message, file=err)

    complete = False
    try:
        for rel, full in walk(source, filters):
            try:
                info = os.stat(full)
            except OSError:
                continue  # removed while walking, or a dangling link
            if not stat.S_ISREG(info.st_mode):
                continue
            counts.files += 1
            row = rows.get(rel)
            on_s3 = remote.get(rel)
            present = on_s3 is not None and on_s3[0] == (row or {}).get("size")
            if row and row.get("identity") == identity(info) and not row.get("racy") and present:
                kept[rel] = row
                counts.skipped += 1
                continue
            key = prefix + rel
            adopt = row is None and on_s3 is not None and on_s3[0] == info.st_size
            read, why = None, ""
            for _attempt in range(READ_ATTEMPTS):
                try:
                    read = read_file(full, keep=info.st_size <= MEMORY_MAX, want_md5=adopt)
                    break
                except Changed:
                    why = "it changed while being read; the next run pushes it"
                    time.sleep(0.2)
                except FileNotFoundError:
                    why = "gone"  # deleted since the walk: nothing to push, as if it had not been there
                    break
                except OSError as e:
                    why = e.strerror or str(e)
                    break
            if read is None and why == "gone":
                counts.files -= 1
                continue
            if read is None:
                if row:
                    kept[rel] = dict(row, identity=None)  # read it again next run
                counts.busy += why.startswith("it changed")
                problem(f"warning: skipped {full}: {why}")
                continue
            counts.read += 1
            if row and row.get("sha256") == read.sha256.hex() and present:
                kept[rel] = dict(row, identity=read.ident, racy=is_racy(read.ident, read.started_ns))
                counts.same_bytes += 1
                continue
            try:
                answer = same_content_remote(client, bucket, key, read, on_s3[1]) if adopt else None
                if answer is not None:
                    counts.adopted += 1
                else:
                    answer = put(client, bucket, key, full, read)
                    counts.uploaded += 1
                    print(f"upload: {display_source.rstrip('/')}/{rel} to s3://{bucket}/{key}", file=out, flush=True)
            except (BotoCoreError, ClientError) as e:
                if row:
                    kept[rel] = dict(row, identity=None)
                counts.failed += 1
                problem(f"upload failed: {full} to s3://{bucket}/{key} {e}")
                continue
            try:
                still = identity(os.stat(full))
            except OSError:
                still = None
            kept[rel] = row_from(read, answer, still)
            counts.dirty_after_upload += kept[rel]["identity"] is None
            if time.monotonic() - last_save > SAVE_EVERY_SECONDS:
                save_manifest(manifest_path, bucket, prefix, source, {**rows, **kept})
                last_save = time.monotonic()
        complete = True
    finally:
        # After a whole pass, rows of files gone from the folder (or no longer selected) go: their objects stay,
        # as nothing is deleted. A pass cut short keeps the rows of the files it did not reach. A pass that
        # changed nothing leaves the file alone (every 5 minutes, on a host's disk).
        if not (complete and kept == rows and os.path.exists(manifest_path)):
            save_manifest(manifest_path, bucket, prefix, source, kept if complete else {**rows, **kept})
    return (2 if counts.problems else 0), counts


def parse_destination(url: str) -> tuple[str, str]:
    if not url.startswith("s3://"):
        raise ValueError(f"not an s3:// URL: {url}")
    bucket, _, prefix = url[5:].partition("/")
    prefix = prefix.lstrip("/")
    return bucket, (prefix if not prefix or prefix.endswith("/") else prefix + "/")


class OrderedFilter(argparse.Action):
    """Keep --include and --exclude in the order given, as `aws s3 sync` applies them."""

    def __call__(self, parser: Any, namespace: Any, value: Any, option_string: str | None = None) -> None:
        rules = list(getattr(namespace, "filters", None) or [])
        rules.append((self.dest, value))
        namespace.filters = rules


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("source", help="folder to push")
    parser.add_argument("destination", help="s3://bucket/prefix/")
    parser.add_argument("--manifest", required=True, help="this job's manifest (JSON), created when missing")
    parser.add_argument("--region", default=None)
    parser.add_argument("--exclude", action=OrderedFilter, dest="exclude", default=None)
    parser.add_argument("--include", action=OrderedFilter, dest="include", default=None)
    args = parser.parse_args(argv)
    try:
        bucket, prefix = parse_destination(args.destination)
    except ValueError as e:
        print(f"fatal error: {e}", file=sys.stderr)
        return 1
    if not os.path.isdir(args.source):
        print(f"fatal error: {args.source} is not a folder", file=sys.stderr)
        return 1
    os.makedirs(os.path.dirname(os.path.abspath(args.manifest)), mode=0o700, exist_ok=True)

    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client("s3", region_name=args.region, config=Config(retries={"mode": "standard"}))
    try:
        rc, _counts = push(
            client, args.source, bucket, prefix, args.manifest, Filters(tuple(getattr(args, "filters", None) or ()))
        )
    except (BotoCoreError, ClientError, OSError) as e:
        print(f"fatal error: {e}", file=sys.stderr)
        return 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
