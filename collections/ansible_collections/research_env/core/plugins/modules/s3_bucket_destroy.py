#!/usr/bin/python
# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: s3_bucket_destroy
short_description: Delete every object version and delete marker of an S3 bucket, then the bucket, and say what went
version_added: 0.1.0
description:
  - Lists every object version and delete marker of the bucket (C(ListObjectVersions), paginated), deletes them by
    version id with C(DeleteObjects) in batches of 1000 (C(Quiet=false), so that every deletion and every error is
    answered), lists the bucket again and, when nothing is left, deletes it (C(DeleteBucket)).
  - Returns exactly what was destroyed (key, version id, size, modification time, ETag), for the project's
    destruction record. M(amazon.aws.s3_bucket) with C(force=true) deletes the same but reports none of it.
  - When anything is left after the deletions (an object written meanwhile, a version protected by Object Lock or
    MFA delete, an C(AccessDenied)), the bucket is kept and the module fails naming what is left and the errors;
    the failure result still lists what was destroyed so far in RV(destroyed) and RV(counts).
  - A bucket that does not exist is not an error; the module returns RV(existed=false) and changes nothing.
  - In check mode nothing is deleted; RV(destroyed) lists what would be, and the task reports a change when the
    bucket exists.
options:
  name:
    description: The bucket's name.
    type: str
    required: true
  expected_owner:
    description:
      - Account id the bucket must belong to, passed as C(ExpectedBucketOwner) on every call, so that a bucket of
        the same name in another account (after this one's was deleted and the name taken) is never emptied.
      - S3 answers C(AccessDenied) when the owner differs; the module then fails without deleting anything.
    type: str
author:
  - research-env contributors (!UNKNOWN)
notes:
  - Object Lock retention and legal holds are not bypassed; such versions are reported as left and the bucket kept.
  - Needs C(s3:ListBucketVersions), C(s3:DeleteObjectVersion) and C(s3:DeleteBucket).
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Destroy the notebooks bucket and keep the record
  research_env.core.s3_bucket_destroy:
    name: researchenv-notebooks-123456789012
    expected_owner: "123456789012"
  register: destroyed_bucket

- name: Write the destruction record
  ansible.builtin.copy:
    dest: "records/{{ research_env_name }}/notebooks-bucket.json"
    content: "{{ destroyed_bucket | ansible.builtin.to_nice_json }}"
    mode: "0640"
  delegate_to: localhost

- name: What would go (check mode only)
  research_env.core.s3_bucket_destroy:
    name: researchenv-published-123456789012
  check_mode: true
  register: would_destroy
"""

RETURN = r"""
existed:
  description: Whether the bucket existed when the task started.
  returned: always
  type: bool
  sample: true
bucket_deleted:
  description: Whether this task deleted the bucket (always V(false) in check mode and on failure).
  returned: always
  type: bool
  sample: true
destroyed:
  description:
    - Every object version and delete marker this task deleted (in check mode, would delete), sorted by key then
      newest first. On failure, those deleted before the failure.
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description: The object key.
      type: str
      sample: notebooks/analysis.ipynb
    version_id:
      description: The version id (V(null) for an object written while versioning was never enabled or suspended).
      type: str
      sample: 3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY
    is_delete_marker:
      description: Whether this was a delete marker (which holds no data) rather than an object version.
      type: bool
      sample: false
    is_latest:
      description: Whether it was the key's current version or delete marker.
      type: bool
      sample: true
    size:
      description: Size in bytes (0 for a delete marker).
      type: int
      sample: 52311
    last_modified:
      description: When the version or delete marker was written, ISO 8601 in UTC.
      type: str
      sample: "2024-05-02T09:14:03Z"
    etag:
      description: The version's ETag without its quotes; null for a delete marker.
      type: str
      sample: 9b2cf535f27731c974343645a3985328
counts:
  description: Totals over RV(destroyed).
  returned: always
  type: dict
  contains:
    versions:
      description: Object versions.
      type: int
      sample: 30
    delete_markers:
      description: Delete markers.
      type: int
      sample: 2
    bytes:
      description: Total size of the object versions.
      type: int
      sample: 1048576
  sample: {"versions": 30, "delete_markers": 2, "bytes": 1048576}
remaining:
  description: What the bucket still held after the deletions (at most 1000 entries, in the shape of RV(destroyed)).
  returned: failure
  type: list
  elements: dict
  sample: [{"key": "locked.csv", "version_id": "abc", "is_delete_marker": false}]
remaining_count:
  description: How many versions and delete markers the bucket still held.
  returned: failure
  type: int
  sample: 1
errors:
  description: The errors C(DeleteObjects) answered, one per version or delete marker it did not delete.
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description: The object key.
      type: str
      sample: locked.csv
    version_id:
      description: The version id (null when S3 did not say).
      type: str
      sample: abc
    code:
      description: The error code.
      type: str
      sample: AccessDenied
    message:
      description: The error message.
      type: str
      sample: Access Denied because object protected by object lock.
  sample: []
api_calls:
  description: Number of AWS API operations performed.
  returned: always
  type: int
  sample: 4
"""

from collections.abc import Iterator
from datetime import datetime
from typing import Any

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import (
    is_boto3_error_code,
    paginated_query_with_retries,
)
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.research_env.core.plugins.module_utils.calls import CallCounter
from ansible_collections.research_env.core.plugins.module_utils.values import iso_utc

DELETE_BATCH = 1000  # the most DeleteObjects takes in one call
MAX_REPORTED_REMAINING = 1000
MAX_NAMED_IN_MESSAGE = 10


def _sort_key(entry: dict) -> tuple[str, float]:
    """Key order, then newest first: the order ListObjectVersions itself uses within a key."""
    stamp = entry["_when"].timestamp() if isinstance(entry["_when"], datetime) else 0
    return (entry["key"], -stamp)


def listing_entries(listing: dict) -> list[dict]:
    """Versions and delete markers of a ListObjectVersions result as record entries, in one list."""
    entries = []
    for version in listing.get("Versions", []):
        entries.append(
            {
                "key": version["Key"],
                "version_id": version.get("VersionId", "null"),
                "is_delete_marker": False,
                "is_latest": bool(version.get("IsLatest")),
                "size": version.get("Size", 0),
                "last_modified": iso_utc(version.get("LastModified")),
                "etag": (version.get("ETag") or "").strip('"') or None,
                "_when": version.get("LastModified"),
            }
        )
    for marker in listing.get("DeleteMarkers", []):
        entries.append(
            {
                "key": marker["Key"],
                "version_id": marker.get("VersionId", "null"),
                "is_delete_marker": True,
                "is_latest": bool(marker.get("IsLatest")),
                "size": 0,
                "last_modified": iso_utc(marker.get("LastModified")),
                "etag": None,
                "_when": marker.get("LastModified"),
            }
        )
    entries.sort(key=_sort_key)
    for entry in entries:
        del entry["_when"]
    return entries


def batches(entries: list, size: int = DELETE_BATCH) -> Iterator[list]:
    """Consecutive slices of at most `size` entries."""
    for start in range(0, len(entries), size):
        yield entries[start : start + size]


def delete_request(batch: list[dict]) -> dict:
    return {"Objects": [{"Key": e["key"], "VersionId": e["version_id"]} for e in batch], "Quiet": False}


def match_response(batch: list[dict], response: dict) -> tuple[list[dict], list[dict]]:
    """Which entries of the batch the DeleteObjects answer confirms as deleted, and its errors as entries.

    Matched on (key, version id). Delete markers deleted by version id come back with that id as VersionId
    (and, on AWS, as DeleteMarkerVersionId too); an answer without a version id (some S3-compatible stores,
    and moto's Errors) is matched on the key when the batch holds that key once."""
    by_version = {(e["key"], e["version_id"]): e for e in batch}
    by_key = {}
    for entry in batch:
        by_key.setdefault(entry["key"], []).append(entry)

    def find(item: dict) -> dict | None:
        version = item.get("VersionId") or item.get("DeleteMarkerVersionId")
        if version is not None:
            return by_version.get((item["Key"], version))
        candidates = by_key.get(item["Key"], [])
        return candidates[0] if len(candidates) == 1 else None

    deleted, seen = [], set()
    for item in response.get("Deleted", []):
        entry = find(item)
        if entry is None:
            # Not something listed (should not happen): recorded with what the answer says.
            entry = {
                "key": item["Key"],
                "version_id": item.get("VersionId") or item.get("DeleteMarkerVersionId"),
                "is_delete_marker": bool(item.get("DeleteMarker")),
                "is_latest": None,
                "size": None,
                "last_modified": None,
                "etag": None,
            }
        marker = (entry["key"], entry["version_id"])
        if marker not in seen:
            seen.add(marker)
            deleted.append(entry)
    errors = []
    for item in response.get("Errors", []):
        entry = find(item)
        errors.append(
            {
                "key": item.get("Key"),
                "version_id": item.get("VersionId") or (entry["version_id"] if entry else None),
                "code": item.get("Code"),
                "message": item.get("Message"),
            }
        )
    return deleted, errors


def totals(entries: list[dict]) -> dict:
    versions = [e for e in entries if not e["is_delete_marker"]]
    return {
        "versions": len(versions),
        "delete_markers": len(entries) - len(versions),
        "bytes": sum(e["size"] or 0 for e in versions),
    }


def describe(entry: dict) -> str:
    kind = "delete marker" if entry["is_delete_marker"] else "version"
    return f"{entry['key']} ({kind} {entry['version_id']})"


def failure_message(name: str, remaining: list[dict], errors: list[dict]) -> str:
    """Why the bucket was kept: what is left (the first few) and the errors S3 gave."""
    named = ", ".join(describe(e) for e in remaining[:MAX_NAMED_IN_MESSAGE])
    more = len(remaining) - MAX_NAMED_IN_MESSAGE
    msg = f"Bucket {name} was not deleted: it still holds {len(remaining)} version(s)/delete marker(s): {named}"
    if more > 0:
        msg += f" and {more} more"
    if errors:
        codes = sorted({e["code"] or "unknown" for e in errors})
        first = errors[0]
        msg += (
            f". DeleteObjects refused {len(errors)} ({', '.join(codes)}), e.g. {first['key']} "
            f"version {first['version_id']}: {first['message']}"
        )
    return msg


class Destruction:
    """What the task did so far, so that a failure at any point still reports what was destroyed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.existed = False
        self.bucket_deleted = False
        self.destroyed = []
        self.errors = []
        self.remaining = None

    @property
    def changed(self) -> bool:
        return bool(self.destroyed) or self.bucket_deleted

    def result(self) -> dict:
        result = {
            "existed": self.existed,
            "bucket_deleted": self.bucket_deleted,
            "destroyed": self.destroyed,
            "counts": totals(self.destroyed),
            "errors": self.errors,
        }
        if self.remaining:
            result["remaining"] = self.remaining[:MAX_REPORTED_REMAINING]
            result["remaining_count"] = len(self.remaining)
        return result


def list_entries(client: Any, name: str, owner: dict) -> list[dict]:
    """Every version and delete marker; a throttled listing starts over, so one listing is one consistent pass."""
    return listing_entries(paginated_query_with_retries(client, "list_object_versions", Bucket=name, **owner))


def destroy_bucket(
    client: Any, state: Destruction, expected_owner: str | None = None, check_mode: bool = False
) -> str | None:
    """Empty and delete the bucket, recording into `state` as it goes (AWS errors propagate; NoSuchBucket at the
    first listing means the bucket does not exist). Returns the failure message when the bucket is kept."""
    name = state.name
    owner = {"ExpectedBucketOwner": expected_owner} if expected_owner else {}
    try:
        entries = list_entries(client, name, owner)
    except is_boto3_error_code("NoSuchBucket"):
        return None
    state.existed = True
    if check_mode:
        state.destroyed = entries
        return None

    for batch in batches(entries):
        response = client.delete_objects(Bucket=name, Delete=delete_request(batch), aws_retry=True, **owner)
        deleted, errors = match_response(batch, response)
        state.destroyed.extend(deleted)
        state.errors.extend(errors)

    state.remaining = list_entries(client, name, owner)
    if state.remaining:
        return failure_message(name, state.remaining, state.errors)
    try:
        client.delete_bucket(Bucket=name, aws_retry=True, **owner)
    except is_boto3_error_code("BucketNotEmpty"):
        # Written after the second listing: say what.
        state.remaining = list_entries(client, name, owner)
        return failure_message(name, state.remaining, state.errors)
    except is_boto3_error_code("NoSuchBucket"):  # pylint: disable=duplicate-except
        return None  # deleted by someone else meanwhile: gone, though not by this task
    state.bucket_deleted = True
    return None


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            expected_owner=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    counter = CallCounter()
    client = counter.watch(module.client("s3", retry_decorator=AWSRetry.jittered_backoff()))
    state = Destruction(module.params["name"])
    try:
        failure = destroy_bucket(client, state, module.params["expected_owner"], module.check_mode)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(
            e,
            msg=f"Couldn't destroy bucket {state.name} (deleted {len(state.destroyed)} version(s)/marker(s) before)",
            changed=state.changed,
            api_calls=counter.calls,
            **state.result(),
        )
    if failure:
        module.fail_json(msg=failure, changed=state.changed, api_calls=counter.calls, **state.result())
    changed = state.existed if module.check_mode else state.changed
    module.exit_json(changed=changed, api_calls=counter.calls, **state.result())


if __name__ == "__main__":
    main()
