#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: s3_sync_verify
short_description: Compare a directory on the host with an S3 bucket prefix, using list calls only
description:
  - Compares the files under O(path) on the host the module runs on with the objects under O(prefix) in O(bucket)
    and reports what differs; it never changes anything on either side.
  - The bucket side is read with C(ListObjectsV2) through a paginator only (about one call per 1000 objects), plus
    one C(GetBucketEncryption) call when O(compare_etag=auto) and no O(manifest) is given; no object is read. Only
    with O(manifest), an object whose ETag is not the one the push recorded is HEADed (see O(manifest)).
  - Each file is matched to the object whose key is O(prefix) followed by the file's path
    relative to O(path), with C(/) as separator (the layout C(aws s3 sync) produces).
  - Reports files that exist on one side only, size differences, and content differences found by comparing the
    object's ETag with the one computed locally from the file, for single-part objects (the MD5 of the content) and
    multipart objects (the MD5 of the parts' MD5s, suffixed with the part count), see O(multipart_chunksize).
  - With O(manifest) (the manifest of an C(s3_sync_cron) push job) the comparison is exact on any bucket, SSE-KMS
    included, without assuming that an ETag is an MD5 (see O(manifest)).
  - Modification times are deliberately not compared. C(aws s3 sync) compares them, so a file saved again with the
    same content (a Jupyter autosave, a restore, a copy) counts as changed there; here only content counts.
  - Check mode is supported and behaves the same, the module being read-only.
version_added: 1.0.0
author:
  - research-env contributors (!UNKNOWN)
options:
  bucket:
    description:
      - Name of the bucket to compare with.
    type: str
    required: true
  prefix:
    description:
      - Key prefix in O(bucket) that corresponds to O(path), for example V(notebooks/).
      - A non-empty prefix without a trailing C(/) gets one, so V(published) never matches V(published-drafts/x).
      - The empty string compares with the whole bucket.
    type: str
    default: ''
  path:
    description:
      - Directory on the host to compare with the bucket prefix. It must exist.
    type: path
    required: true
  direction:
    description:
      - Which differences count as drift (all of them are reported either way).
      - V(both) counts everything.
      - V(push) is for a host that copies O(path) to the bucket without deleting (as C(s3_sync_cron) does), so objects
        found only in the bucket are not drift.
      - V(pull) is for a host that copies the bucket prefix into O(path) without deleting, so files found only on the
        host are not drift.
    type: str
    choices: [both, push, pull]
    default: both
  include:
    description:
      - Shell-style patterns (C(fnmatch)) matched against each file's path relative to O(path), which is also the
        object's key relative to O(prefix). When the list is not empty, only what matches at least one of them is
        compared.
      - As with C(aws s3 sync), C(*) also matches C(/), so V(*.ipynb) matches V(a/b.ipynb).
    type: list
    elements: str
    default: []
  exclude:
    description:
      - Patterns as in O(include); what matches any of them is left out (exclusion wins over O(include)).
      - For example V(.ipynb_checkpoints/*) and V(*/.ipynb_checkpoints/*) leave Jupyter's checkpoints out.
    type: list
    elements: str
    default: []
  follow_symlinks:
    description:
      - Follow symbolic links on the host (the default of C(aws s3 sync)). When V(false), links are ignored, as
        C(aws s3 sync --no-follow-symlinks) ignores them.
    type: bool
    default: true
  manifest:
    description:
      - Path on the host of the manifest an C(s3_sync_cron) push job keeps
        (C(/opt/s3-sync/state/<job>/manifest.json)), which records per file its identity when read (device, inode,
        size, modification and change times in nanoseconds), the SHA-256 of the bytes sent, and the ETag S3 gave
        the object.
      - When set, content is compared exactly on any bucket, SSE-KMS included. An object whose listed ETag and
        size are the ones recorded holds the recorded bytes (AWS, C(Object.ETag) "reflects changes only to the
        contents of an object"). A file whose identity is the recorded one (and was not recorded as racy, i.e.
        changed within 2 s of being read) is not read; any other file is read once and its SHA-256 compared with
        the recorded one, so a same-size edit is always found. An object whose ETag moved (written by someone
        else) or that has no row is HEADed with C(ChecksumMode=ENABLED); the same full-object SHA-256 or CRC32
        as the file is not drift, anything else is (C(etag_differs)).
      - Replaces O(compare_etag), which is then ignored; no C(GetBucketEncryption) call is made. Needs
        C(s3:ListBucket), and for the occasional HEAD C(s3:GetObject) and, on SSE-KMS objects, C(kms:Decrypt).
      - The module fails when the file is missing or unreadable, or was written for another bucket or prefix.
    type: path
  compare_etag:
    description:
      - Whether content is compared through ETags; when it is not, only presence and sizes are. Ignored with
        O(manifest), which compares content exactly.
      - Objects encrypted with SSE-KMS (or SSE-C) have ETags that are not MD5 digests of their content, so they
        cannot be compared with a local file without reading the object.
      - V(auto) compares ETags unless the bucket's default encryption is SSE-KMS (one C(GetBucketEncryption)
        call, which needs C(s3:GetEncryptionConfiguration)). When that call is denied the encryption is unknown, so
        ETags are not compared (an SSE-KMS object's ETag would look different from every file) and a warning says
        so.
      - V(always) and V(never) skip that call. Use V(always) for a bucket whose objects are uploaded with
        SSE-S3 although its default is SSE-KMS.
    type: str
    choices: [auto, always, never]
    default: auto
  multipart_threshold:
    description:
      - Size from which the uploader sends a file as a multipart upload; the AWS CLI's default is V(8MB).
      - A number of bytes, or a number with a unit C(KB), C(MB), C(GB) (binary multiples, as in the AWS CLI's
        C(s3) configuration; C(KiB), C(MiB), C(GiB) are accepted too).
      - Files from this size on are expected to be multipart objects. The ETag's form (a C(-N) part-count suffix)
        decides what is computed in the end, so an object uploaded in one piece still verifies.
    type: str
    default: 8MB
  multipart_chunksize:
    description:
      - Part size of multipart uploads, in the units of O(multipart_threshold); the AWS CLI's default is V(8MB).
      - Adjusted the way the AWS CLI and boto3 (s3transfer) adjust it before uploading, at least 5 MiB and doubled
        until the file fits in 10 000 parts, so give the value the uploader was configured with.
      - When an object's part count does not fit this size, the usual part sizes (5, 8, 15, 16, 32, 64, 100, 128,
        256, 512 MiB and the size the count implies) are tried before the object is reported as different.
    type: str
    default: 8MB
  page_size:
    description:
      - Keys asked for per C(ListObjectsV2) call (at most 1000, the service's maximum).
    type: int
    default: 1000
  max_reported:
    description:
      - At most this many keys are returned in each list of differences; the counts are always complete.
    type: int
    default: 100
  fail_on_drift:
    description:
      - Fail when there is drift (see O(direction)), with the same return values.
    type: bool
    default: false
notes:
  - The module runs on the host whose directory it compares, so that host needs Python with boto3 and botocore.
    Hosts configured by the C(s3_sync_cron) role have them in the role's virtualenv; point
    C(ansible_python_interpreter) at that virtualenv's python for this task.
  - Credentials come from the usual chain (on EC2 the instance profile). Against an S3-compatible endpoint or an
    emulator set O(endpoint_url) or the C(AWS_ENDPOINT_URL) environment variable.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Check that the notebooks reached the bucket (objects only in the bucket are fine)
  research_env.core.s3_sync_verify:
    bucket: researchenv-notebooks-123456789012
    prefix: notebooks/
    path: /srv/jupyter/work/notebooks
    direction: push
    exclude:
      - .ipynb_checkpoints/*
      - "*/.ipynb_checkpoints/*"
    fail_on_drift: true
  vars:
    ansible_python_interpreter: /opt/s3-sync/venv/bin/python

- name: Check a push job exactly against what it sent, on an SSE-KMS bucket (stat only for unchanged files)
  research_env.core.s3_sync_verify:
    bucket: researchenv-notebooks-123456789012
    prefix: notebooks/
    path: /srv/jupyter/work/notebooks
    direction: push
    manifest: /opt/s3-sync/state/notebooks/manifest.json
    exclude:
      - .ipynb_checkpoints/*
      - "*/.ipynb_checkpoints/*"
    fail_on_drift: true
  vars:
    ansible_python_interpreter: /opt/s3-sync/venv/bin/python

- name: Compare only notebooks, both ways, and show what differs
  research_env.core.s3_sync_verify:
    bucket: researchenv-notebooks-123456789012
    prefix: published/
    path: /srv/voila/published
    include:
      - "*.ipynb"
    max_reported: 20
  register: published_drift

- name: Objects uploaded with 16 MiB parts (the console, another tool)
  research_env.core.s3_sync_verify:
    bucket: researchenv-data-123456789012
    path: /data/raw
    multipart_threshold: 16MB
    multipart_chunksize: 16MB
"""

RETURN = r"""
changed:
  description: Always V(false), the module changes nothing.
  returned: always
  type: bool
  sample: false
in_sync:
  description: Whether there is no drift (see O(direction)).
  returned: success
  type: bool
  sample: true
drift:
  description: Number of differences that count as drift for O(direction).
  returned: success
  type: int
  sample: 0
bucket:
  description: The bucket compared.
  returned: success
  type: str
  sample: researchenv-notebooks-123456789012
prefix:
  description: The key prefix compared, as used (with its trailing C(/)).
  returned: success
  type: str
  sample: notebooks/
path:
  description: The directory compared.
  returned: success
  type: str
  sample: /srv/jupyter/work/notebooks
direction:
  description: The O(direction) drift was counted for.
  returned: success
  type: str
  sample: push
counts:
  description: Complete counts of what was compared and of each kind of difference.
  returned: success
  type: dict
  contains:
    local:
      description: Files on the host (after O(include)/O(exclude)).
      type: int
      sample: 120
    remote:
      description: Objects under the prefix (after O(include)/O(exclude); folder markers not counted).
      type: int
      sample: 121
    identical:
      description: Files whose object has the same size and ETag (the same size when ETags are not compared);
        with O(manifest), files whose object holds the same bytes.
      type: int
      sample: 119
    only_local:
      description: Files with no object.
      type: int
      sample: 0
    only_remote:
      description: Objects with no file.
      type: int
      sample: 1
    size_differs:
      description: Pairs whose sizes differ.
      type: int
      sample: 0
    etag_differs:
      description: Pairs of the same size whose ETags differ (with O(manifest), whose content differs).
      type: int
      sample: 1
  sample: {"local": 120, "remote": 121, "identical": 119, "only_local": 0, "only_remote": 1, "size_differs": 0,
           "etag_differs": 1}
only_local:
  description: Relative paths of files that have no object (sorted, at most O(max_reported)).
  returned: success
  type: list
  elements: str
  sample: ["analysis/new.ipynb"]
only_remote:
  description: Keys, relative to the prefix, of objects that have no file (sorted, at most O(max_reported)).
  returned: success
  type: list
  elements: str
  sample: ["old.ipynb"]
size_differs:
  description: Relative paths whose file and object differ in size (sorted, at most O(max_reported)).
  returned: success
  type: list
  elements: str
  sample: []
etag_differs:
  description: Relative paths whose file and object have the same size but different content (sorted, at most
    O(max_reported)). With O(manifest), a file edited since it was pushed, or an object written by someone else
    with other content.
  returned: success
  type: list
  elements: str
  sample: ["report.ipynb"]
truncated:
  description: Whether any of the lists above was cut to O(max_reported).
  returned: success
  type: bool
  sample: false
etag_compared:
  description: Whether content was compared (through ETags, see O(compare_etag); always with O(manifest)).
  returned: success
  type: bool
  sample: true
manifest_used:
  description: Whether the comparison used O(manifest).
  returned: success
  type: bool
  sample: true
files_read:
  description: Files read to hash them, only those whose identity differs from the manifest's (or that have no
    row).
  returned: when O(manifest) is set
  type: int
  sample: 1
head_calls:
  description: Number of C(HeadObject) calls made, for objects the push did not write as recorded.
  returned: when O(manifest) is set
  type: int
  sample: 0
list_calls:
  description: Number of C(ListObjectsV2) calls made.
  returned: success
  type: int
  sample: 1
"""

import base64
import copy
import fnmatch
import hashlib
import json
import math
import os
import re
import stat
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore itself

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

MIB = 1024 * 1024
# What s3transfer (the AWS CLI's and boto3's upload engine) allows for a part, and the most parts S3 accepts.
MIN_PART_SIZE = 5 * MIB
MAX_PART_SIZE = 5 * 1024 * MIB
MAX_PARTS = 10000
# Part sizes other tools use, tried when an object's part count does not fit the configured one.
COMMON_PART_SIZES_MIB = (5, 8, 15, 16, 32, 64, 100, 128, 256, 512)
READ_BLOCK = MIB

_UNITS = {"": 1, "B": 1, "KB": 1024, "MB": MIB, "GB": 1024 * MIB, "TB": 1024 * 1024 * MIB}
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([KMGT]?)(I?B)?\s*$", re.IGNORECASE)


def parse_size(value: int | str) -> int:
    """Bytes from a size the way the AWS CLI's s3 configuration reads it (8MB = 8 MiB)."""
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    else:
        match = _SIZE_RE.match(str(value))
        if not match:
            raise ValueError(f"not a size: {value!r} (use bytes or a number with KB, MB or GB)")
        unit = (match.group(2) or "").upper() + ("B" if match.group(2) else "")
        size = int(match.group(1)) * _UNITS[unit]
    if size <= 0:
        raise ValueError(f"a size must be positive, not {value!r}")
    return size


def adjust_chunksize(chunksize: int, file_size: int) -> int:
    """The part size s3transfer really uses for a file: doubled until 10 000 parts suffice, then clamped."""
    while math.ceil(file_size / chunksize) > MAX_PARTS:
        chunksize *= 2
    return min(max(chunksize, MIN_PART_SIZE), MAX_PART_SIZE)


def part_count(file_size: int, chunksize: int) -> int:
    """How many parts a multipart upload of file_size bytes has (an empty file still has one)."""
    return max(1, math.ceil(file_size / chunksize))


def parse_etag(etag: str) -> tuple[str, int | None]:
    """Split an S3 ETag into its digest and, for a multipart object, its part count."""
    etag = etag.strip().strip('"').lower()
    digest, sep, parts = etag.partition("-")
    if sep and parts.isdigit():
        return digest, int(parts)
    return etag, None


def md5_etag(path: str) -> str:
    """The ETag of a single-part upload: the MD5 of the content."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(READ_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def multipart_etag(path: str, chunksize: int) -> str:
    """The ETag of a multipart upload with this part size: MD5 of the parts' MD5s, then '-<parts>'."""
    digests = []
    with open(path, "rb") as handle:
        while True:
            part = hashlib.md5(usedforsecurity=False)
            remaining = chunksize
            while remaining:
                block = handle.read(min(READ_BLOCK, remaining))
                if not block:
                    break
                part.update(block)
                remaining -= len(block)
            if remaining == chunksize and digests:
                break  # nothing left for another part
            digests.append(part.digest())
            if remaining:
                break  # a short part is the last one
    return f"{hashlib.md5(b''.join(digests), usedforsecurity=False).hexdigest()}-{len(digests)}"


def candidate_chunksizes(file_size: int, parts: int, configured: int) -> list[int]:
    """Part sizes that produce `parts` parts for this file, the configured (adjusted) one first."""
    candidates = [adjust_chunksize(configured, file_size)]
    candidates += [adjust_chunksize(mib * MIB, file_size) for mib in COMMON_PART_SIZES_MIB]
    if parts > 1:
        # Tools that split a file into N parts of a whole number of MiB.
        candidates.append(math.ceil(file_size / parts / MIB) * MIB)
    seen: list[int] = []
    for size in candidates:
        if size not in seen and part_count(file_size, size) == parts:
            seen.append(size)
    return seen


def expected_etag(path: str, file_size: int, threshold: int, chunksize: int) -> str:
    """The ETag an uploader configured with this threshold and part size gives the file."""
    if file_size < threshold:
        return md5_etag(path)
    return multipart_etag(path, adjust_chunksize(chunksize, file_size))


def content_matches(path: str, file_size: int, remote_etag: str, threshold: int, chunksize: int) -> bool:
    """Whether the file's content is the object's, judged from the ETag alone (no GET).

    The configured uploader's ETag is tried first (one pass over the file); when it differs, the
    ETag's own form decides: a plain MD5 for an object put in one piece, or the part sizes that give
    its part count, so objects uploaded by another tool or configuration still verify."""
    digest, parts = parse_etag(remote_etag)
    wanted = digest if parts is None else f"{digest}-{parts}"
    if expected_etag(path, file_size, threshold, chunksize) == wanted:
        return True
    if parts is None:
        return file_size >= threshold and md5_etag(path) == digest
    tried = adjust_chunksize(chunksize, file_size) if file_size >= threshold else None
    return any(
        multipart_etag(path, size) == wanted
        for size in candidate_chunksizes(file_size, parts, chunksize)
        if size != tried
    )


@dataclass(frozen=True)
class Selector:
    """include/exclude patterns applied to paths relative to the compared directory."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def selected(self, relpath: str) -> bool:
        if self.include and not any(fnmatch.fnmatchcase(relpath, p) for p in self.include):
            return False
        return not any(fnmatch.fnmatchcase(relpath, p) for p in self.exclude)


def normalise_prefix(prefix: str) -> str:
    prefix = (prefix or "").lstrip("/")
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def scan_local(root: str, selector: Selector, follow_symlinks: bool = True) -> dict[str, tuple[str, int]]:
    """relative path -> (absolute path, size) of every regular file under root that the selector keeps."""
    return {rel: (full, info.st_size) for rel, (full, info) in stat_local(root, selector, follow_symlinks).items()}


def stat_local(root: str, selector: Selector, follow_symlinks: bool = True) -> dict[str, tuple[str, os.stat_result]]:
    """relative path -> (absolute path, stat) of every regular file under root that the selector keeps."""
    found: dict[str, tuple[str, os.stat_result]] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=follow_symlinks):
        if not follow_symlinks:
            dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
        for name in filenames:
            full = os.path.join(dirpath, name)
            try:
                info = os.stat(full) if follow_symlinks else os.lstat(full)
            except OSError:
                continue  # a dangling link or a file removed while walking
            if not stat.S_ISREG(info.st_mode):
                continue
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if selector.selected(rel):
                found[rel] = (full, info)
    return found


@dataclass
class Listing:
    objects: dict[str, tuple[int, str]] = field(default_factory=dict)  # relative key -> (size, etag)
    calls: int = 0


def list_remote(client: Any, bucket: str, prefix: str, selector: Selector, page_size: int = 1000) -> Listing:
    """Every object under prefix, from ListObjectsV2 pages only."""
    listing = Listing()
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": page_size}):
        listing.calls += 1
        for obj in page.get("Contents", []):
            rel = obj["Key"][len(prefix) :]
            if not rel or rel.endswith("/"):
                continue  # the prefix itself or a console "folder" marker
            if selector.selected(rel):
                listing.objects[rel] = (obj["Size"], obj.get("ETag", ""))
    return listing


@dataclass
class Comparison:
    local: int = 0
    remote: int = 0
    identical: int = 0
    only_local: list[str] = field(default_factory=list)
    only_remote: list[str] = field(default_factory=list)
    size_differs: list[str] = field(default_factory=list)
    etag_differs: list[str] = field(default_factory=list)

    def drift(self, direction: str) -> int:
        count = len(self.size_differs) + len(self.etag_differs)
        if direction in ("both", "push"):
            count += len(self.only_local)
        if direction in ("both", "pull"):
            count += len(self.only_remote)
        return count

    def result(self, direction: str, max_reported: int) -> dict:
        kinds = ("only_local", "only_remote", "size_differs", "etag_differs")
        counts = {"local": self.local, "remote": self.remote, "identical": self.identical}
        result: dict = {"counts": counts, "truncated": False}
        for kind in kinds:
            keys = sorted(getattr(self, kind))
            counts[kind] = len(keys)
            result[kind] = keys[: max(max_reported, 0)]
            result["truncated"] = result["truncated"] or len(keys) > len(result[kind])
        drift = self.drift(direction)
        result.update(drift=drift, in_sync=drift == 0, direction=direction)
        return result


def small_file_digests(local: dict[str, tuple[str, int]], threshold: int) -> dict[str, str]:
    """MD5 of every file below the multipart threshold: worked out while the bucket is being listed."""
    digests = {}
    for rel, (full, size) in local.items():
        if size < threshold:
            try:
                digests[rel] = md5_etag(full)
            except OSError:
                pass  # gone or unreadable now: compared (and reported) later
    return digests


def compare(
    local: dict[str, tuple[str, int]],
    remote: dict[str, tuple[int, str]],
    compare_etag: bool = True,
    threshold: int = 8 * MIB,
    chunksize: int = 8 * MIB,
    digests: dict[str, str] | None = None,
) -> Comparison:
    """Sort every path into identical / only on one side / differing in size / differing in content."""
    result = Comparison(local=len(local), remote=len(remote))
    digests = digests or {}
    for rel, (full, size) in local.items():
        if rel not in remote:
            result.only_local.append(rel)
            continue
        remote_size, etag = remote[rel]
        if size != remote_size:
            result.size_differs.append(rel)
        elif (
            compare_etag
            and digests.get(rel) != etag.strip('"').lower()
            and not content_matches(full, size, etag, threshold, chunksize)
        ):
            result.etag_differs.append(rel)
        else:
            result.identical += 1
    result.only_remote = [rel for rel in remote if rel not in local]
    return result


# Default encryptions whose ETags are not MD5 digests of the content.
NON_MD5_ENCRYPTION = ("aws:kms", "aws:kms:dsse")


def etags_comparable(client: Any, bucket: str, **call_options: Any) -> tuple[bool, str | None]:
    """Whether the bucket's objects have MD5 ETags, judged from its default encryption; and a warning."""
    try:
        rules = client.get_bucket_encryption(Bucket=bucket, **call_options)["ServerSideEncryptionConfiguration"]
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        if code == "ServerSideEncryptionConfigurationNotFoundError":
            return True, None
        if code in ("AccessDenied", "AccessDeniedException"):
            # Unknown encryption: comparing as MD5s would call every SSE-KMS object different (false drift).
            return False, (
                f"couldn't read the default encryption of {bucket} (AccessDenied): only presence and sizes are "
                "compared, as SSE-KMS ETags are not MD5 digests; give the push job's manifest (exact on any bucket), "
                "grant s3:GetEncryptionConfiguration, or set compare_etag=always for a bucket without SSE-KMS"
            )
        raise
    algorithms = {rule.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for rule in rules["Rules"]}
    if algorithms & set(NON_MD5_ENCRYPTION):
        return False, (
            f"{bucket} encrypts with SSE-KMS by default, so its ETags are not MD5 digests: only presence and sizes "
            "are compared (compare_etag=always compares them anyway)"
        )
    return True, None


# ------------------------------------------------------------------------------- with a push job's manifest

MANIFEST_VERSION = 1


def load_manifest(path: str, bucket: str, prefix: str) -> dict[str, dict]:
    """The rows (relative path -> row) of an s3_sync_cron push job's manifest for this bucket and prefix."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION or not isinstance(data.get("files"), dict):
        raise ValueError(f"{path} is not a push manifest (version {MANIFEST_VERSION})")
    if (data.get("bucket"), data.get("prefix")) != (bucket, prefix):
        raise ValueError(f"{path} records s3://{data.get('bucket')}/{data.get('prefix')}, not s3://{bucket}/{prefix}")
    return data["files"]


def identity(info: os.stat_result) -> list[int]:
    """What the push program records of a file: any write, chmod, rename over it or touch changes it (ctime)."""
    return [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]


@dataclass
class LocalContent:
    full: str
    size: int
    sha256: str | None  # hex; None when unreadable
    crc32: int | None = None  # only for files read now
    read: bool = False


def hash_file(path: str) -> tuple[str, int]:
    """SHA-256 (hex) and CRC32 of the file, in one pass."""
    sha = hashlib.sha256()
    crc = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(READ_BLOCK), b""):
            sha.update(block)
            crc = zlib.crc32(block, crc)
    return sha.hexdigest(), crc


def local_contents(local: dict[str, tuple[str, os.stat_result]], rows: dict[str, dict]) -> dict[str, LocalContent]:
    """Each file's SHA-256: the manifest's when its identity is the recorded one (not racy), else read now."""
    contents = {}
    for rel, (full, info) in local.items():
        row = rows.get(rel) or {}
        if row.get("identity") == identity(info) and not row.get("racy") and row.get("sha256"):
            contents[rel] = LocalContent(full, info.st_size, row["sha256"])
            continue
        try:
            sha, crc = hash_file(full)
        except OSError:
            sha, crc = None, None
        contents[rel] = LocalContent(full, info.st_size, sha, crc, read=True)
    return contents


def b64_hex(digest_hex: str) -> str:
    return base64.b64encode(bytes.fromhex(digest_hex)).decode()


def head_matches(head: dict, content: LocalContent) -> bool:
    """Whether a HeadObject answer (ChecksumMode=ENABLED) shows the file's bytes: same full-object checksum."""
    if content.sha256 is None or head.get("ChecksumType", "FULL_OBJECT") != "FULL_OBJECT":
        return False
    if head.get("ChecksumSHA256") and "-" not in head["ChecksumSHA256"]:
        return head["ChecksumSHA256"] == b64_hex(content.sha256)
    if head.get("ChecksumCRC32") and "-" not in head["ChecksumCRC32"] and content.crc32 is not None:
        return head["ChecksumCRC32"] == base64.b64encode(content.crc32.to_bytes(4, "big")).decode()
    return False


@dataclass
class ManifestComparison(Comparison):
    files_read: int = 0
    head_calls: int = 0


def compare_with_manifest(
    client: Any,
    bucket: str,
    prefix: str,
    contents: dict[str, LocalContent],
    remote: dict[str, tuple[int, str]],
    rows: dict[str, dict],
    **call_options: Any,
) -> ManifestComparison:
    """Exact comparison: an object with the recorded ETag and size holds the recorded bytes; others are HEADed."""
    result = ManifestComparison(local=len(contents), remote=len(remote))
    result.files_read = sum(c.read for c in contents.values())
    for rel, content in contents.items():
        if rel not in remote:
            result.only_local.append(rel)
            continue
        size, etag = remote[rel]
        etag = etag.strip('"')
        row = rows.get(rel) or {}
        if size != content.size:
            result.size_differs.append(rel)
            continue
        if etag == row.get("etag") and size == row.get("size"):
            same = content.sha256 is not None and content.sha256 == row.get("sha256")
        else:
            # Not the object the push recorded: someone else wrote it, or it predates the manifest.
            result.head_calls += 1
            try:
                head = client.head_object(Bucket=bucket, Key=prefix + rel, ChecksumMode="ENABLED", **call_options)
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                    raise
                result.only_local.append(rel)  # deleted since the listing
                continue
            if content.crc32 is None and not head.get("ChecksumSHA256") and head.get("ChecksumCRC32"):
                # Only a CRC32 to compare (what the AWS CLI stores) and the file was not read: read it now.
                try:
                    content.sha256, content.crc32 = hash_file(content.full)
                    result.files_read += 1
                except OSError:
                    content.sha256 = None
            # An object written again between the listing and the HEAD is not the one listed: drift.
            same = head["ETag"].strip('"') == etag and head_matches(head, content)
        if same:
            result.identical += 1
        else:
            result.etag_differs.append(rel)
    result.only_remote = [rel for rel in remote if rel not in contents]
    return result


def verify_with_manifest(client: Any, params: dict, list_objects: Callable[..., Listing], call_options: dict) -> dict:
    prefix = normalise_prefix(params["prefix"])
    selector = Selector(tuple(params.get("include") or ()), tuple(params.get("exclude") or ()))
    rows = load_manifest(params["manifest"], params["bucket"], prefix)

    def local_side() -> dict[str, LocalContent]:
        return local_contents(stat_local(params["path"], selector, params["follow_symlinks"]), rows)

    with ThreadPoolExecutor(max_workers=1) as pool:
        local_future = pool.submit(local_side)
        listing = list_objects(client, params["bucket"], prefix, selector, params["page_size"])
        contents = local_future.result()
    comparison = compare_with_manifest(
        client, params["bucket"], prefix, contents, listing.objects, rows, **call_options
    )
    result = comparison.result(params["direction"], params["max_reported"])
    result.update(
        bucket=params["bucket"],
        prefix=prefix,
        path=params["path"],
        list_calls=listing.calls,
        etag_compared=True,
        manifest_used=True,
        files_read=comparison.files_read,
        head_calls=comparison.head_calls,
        warnings=[],
    )
    return result


def verify(
    client: Any,
    params: dict,
    list_objects: Callable[..., Listing] = list_remote,
    call_options: dict | None = None,
) -> dict:
    """The module's work on already-validated parameters: its result (without `changed`) and warnings."""
    if params.get("manifest"):
        return verify_with_manifest(client, params, list_objects, call_options or {})
    prefix = normalise_prefix(params["prefix"])
    selector = Selector(tuple(params.get("include") or ()), tuple(params.get("exclude") or ()))
    warnings = []
    if params["compare_etag"] == "auto":
        etag_compared, warning = etags_comparable(client, params["bucket"], **(call_options or {}))
        if warning:
            warnings.append(warning)
    else:
        etag_compared = params["compare_etag"] == "always"
    threshold = parse_size(params["multipart_threshold"])

    def local_side() -> tuple[dict[str, tuple[str, int]], dict[str, str]]:
        local = scan_local(params["path"], selector, params["follow_symlinks"])
        return local, small_file_digests(local, threshold) if etag_compared else {}

    # The listing mostly waits on the network: walk and hash the host's side meanwhile.
    with ThreadPoolExecutor(max_workers=1) as pool:
        local_future = pool.submit(local_side)
        listing = list_objects(client, params["bucket"], prefix, selector, params["page_size"])
        local, digests = local_future.result()
    comparison = compare(
        local,
        listing.objects,
        compare_etag=etag_compared,
        threshold=threshold,
        chunksize=parse_size(params["multipart_chunksize"]),
        digests=digests,
    )
    result = comparison.result(params["direction"], params["max_reported"])
    result.update(
        bucket=params["bucket"],
        prefix=prefix,
        path=params["path"],
        list_calls=listing.calls,
        etag_compared=etag_compared,
        manifest_used=False,
        warnings=warnings,
    )
    return result


ARGUMENT_SPEC = dict(
    bucket=dict(type="str", required=True),
    prefix=dict(type="str", default=""),
    path=dict(type="path", required=True),
    direction=dict(type="str", default="both", choices=["both", "push", "pull"]),
    include=dict(type="list", elements="str", default=[]),
    exclude=dict(type="list", elements="str", default=[]),
    follow_symlinks=dict(type="bool", default=True),
    manifest=dict(type="path"),
    compare_etag=dict(type="str", default="auto", choices=["auto", "always", "never"]),
    multipart_threshold=dict(type="str", default="8MB"),
    multipart_chunksize=dict(type="str", default="8MB"),
    page_size=dict(type="int", default=1000),
    max_reported=dict(type="int", default=100),
    fail_on_drift=dict(type="bool", default=False),
)


def main() -> None:
    module = AnsibleAWSModule(argument_spec=copy.deepcopy(ARGUMENT_SPEC), supports_check_mode=True)
    params = module.params

    for option in ("multipart_threshold", "multipart_chunksize"):
        try:
            parse_size(params[option])
        except ValueError as e:
            module.fail_json(msg=f"{option}: {e}")
    if not 1 <= params["page_size"] <= 1000:
        module.fail_json(msg=f"page_size must be between 1 and 1000, not {params['page_size']}")
    if not os.path.isdir(params["path"]):
        module.fail_json(msg=f"path {params['path']} is not a directory on this host")
    if params["manifest"]:
        try:
            load_manifest(params["manifest"], params["bucket"], normalise_prefix(params["prefix"]))
        except (OSError, ValueError) as e:
            module.fail_json(msg=f"manifest: {e}")

    client = module.client("s3", retry_decorator=AWSRetry.jittered_backoff())
    # A throttled or dropped listing starts over as a whole: pages of one pass are consistent with each other.
    list_objects = AWSRetry.jittered_backoff()(list_remote)
    try:
        result = verify(client, params, list_objects=list_objects, call_options={"aws_retry": True})
    except is_boto3_error_code("NoSuchBucket"):
        module.fail_json(msg=f"Bucket {params['bucket']} does not exist", changed=False)
    except (BotoCoreError, ClientError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Couldn't list s3://{params['bucket']}/{normalise_prefix(params['prefix'])}")

    for warning in result.pop("warnings"):
        module.warn(warning)
    if params["fail_on_drift"] and not result["in_sync"]:
        module.fail_json(
            msg=(
                f"{result['drift']} difference(s) between {params['path']} and "
                f"s3://{params['bucket']}/{result['prefix']} (direction {params['direction']})"
            ),
            changed=False,
            **result,
        )
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
