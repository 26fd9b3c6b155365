#!/usr/bin/python
# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kms_key_usage_info
short_description: Find what a KMS key encrypts in its region (S3 buckets and objects, EBS, AMIs, EFS)
version_added: 0.1.0
description:
  - Teardown must never schedule the environment's key for deletion while anything it encrypts survives, since
    once the key is gone that data cannot be read again. This module finds, in the module's region, what uses
    the key.
  - The key is read with C(DescribeKey) and its aliases with one C(ListAliases) (paginated).
  - Every bucket of the region is listed (C(ListBuckets) with C(BucketRegion), paginated), with its tags
    (C(GetBucketTagging)) and default encryption (C(GetBucketEncryption)), whatever its name, so that the caller
    can pick the environment's buckets by tag. A default encryption may name the key by key id, key ARN, alias
    name or alias ARN; each is recognised.
  - A bucket whose default is SSE-S3 may still hold objects put with the key, and a default changed later leaves
    older versions encrypted with the old key. So the object versions of every bucket not in O(skip_object_scan)
    are listed (C(ListObjectVersions), paginated) and checked one by one with C(HeadObject) (in
    O(object_scan_workers) threads), at most O(object_scan_limit) of them in all; each bucket says whether its
    scan is complete. Delete markers hold no data and are not checked.
  - Also reported when their C(KmsKeyId) is the key - EBS volumes (C(DescribeVolumes)), EBS snapshots owned by
    the account (C(DescribeSnapshots)) and EFS file systems (C(DescribeFileSystems)) - and the account's AMIs
    whose block device mappings use one of those snapshots (C(DescribeImages)); all paginated.
  - When O(key_id) is omitted or names no key, RV(key) is null and only the buckets are listed, with their tags
    and default encryption (no object is checked, nothing else is described).
  - An information module; it runs fully in check mode.
options:
  key_id:
    description:
      - The key, by key id, key ARN, alias name (V(alias/...)) or alias ARN.
      - Omitted, or naming no key of the region, RV(key) is null and only the bucket listing is done.
    type: str
  object_scan_limit:
    description:
      - At most this many object versions are checked one by one (one C(HeadObject) each), across all the
        scanned buckets in name order. Buckets whose versions were not all checked report
        RV(buckets[].object_scan=limit_reached).
      - V(0) checks no object one by one.
    type: int
    default: 100000
  skip_object_scan:
    description:
      - Names of buckets whose objects are not checked one by one (nor listed), because the caller destroys or
        keeps them as a whole. They are still listed with their tags and default encryption.
    type: list
    elements: str
    default: []
  skip_object_scan_tags:
    description:
      - Buckets carrying all of these tags are not checked one by one either. Teardown passes the environment's
        tags, so that its own buckets (destroyed or refused as a whole, whatever their name) cost no C(HeadObject).
    type: dict
    default: {}
  object_scan_workers:
    description:
      - Threads that send C(HeadObject) (and read the buckets' tags and encryption) in parallel.
    type: int
    default: 8
  services:
    description:
      - Where to look. V(s3) the buckets and their objects, V(ebs) volumes, snapshots and the AMIs that use those
        snapshots, V(efs) file systems. A service left out is not called and its lists come back empty.
      - The posture check of EBS encryption (playbooks/verify.yml) asks for V(ebs) alone, so that no bucket of the
        region is listed for it.
    type: list
    elements: str
    choices: [s3, ebs, efs]
    default: [s3, ebs, efs]
    version_added: 1.1.0
author:
  - research-env contributors (!UNKNOWN)
notes:
  - Only the services above are looked at. Anything else that may use the key (RDS, Secrets Manager, SSM
    parameters, CloudWatch Logs, other accounts through a grant) is not.
  - A C(HeadObject) that fails otherwise than with 404 (for instance on an SSE-C object, which needs its customer
    key, or an C(AccessDenied)) fails the module, naming the object; list such a bucket in O(skip_object_scan).
  - The current version of an object written while versioning was off (version id V(null)) is read without a
    version id, as some S3-compatible stores refuse C(VersionId=null); a noncurrent one is read with it.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: What does the environment's key still encrypt?
  research_env.core.kms_key_usage_info:
    key_id: alias/researchenv
    skip_object_scan: "{{ buckets_destroyed_whole }}"
  register: key_usage

- name: Refuse to schedule the key's deletion while something uses it
  ansible.builtin.assert:
    that:
      - key_usage.buckets | selectattr('default_uses_key') | list | length == 0
      - key_usage.buckets | map(attribute='objects_with_key_count') | sum == 0
      - key_usage.buckets | selectattr('object_scan', 'eq', 'limit_reached') | list | length == 0
      - key_usage.volumes + key_usage.snapshots + key_usage.images + key_usage.file_systems | length == 0
    fail_msg: "The key still encrypts data; see key_usage"

- name: Which volumes does the key encrypt (no bucket listed)?
  research_env.core.kms_key_usage_info:
    key_id: alias/researchenv
    services: [ebs]
  register: key_volumes

- name: Find the environment's buckets by tag, whatever their names (no key needed)
  research_env.core.kms_key_usage_info:
  register: region_buckets

- name: Show them
  ansible.builtin.debug:
    msg: "{{ region_buckets.buckets | selectattr('tags.research-env', 'defined') | map(attribute='name') }}"
"""

RETURN = r"""
key:
  description: The key, or null when O(key_id) is omitted or names no key.
  returned: always
  type: dict
  contains:
    arn:
      description: The key ARN.
      type: str
      sample: arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    key_id:
      description: The key id.
      type: str
      sample: 1234abcd-12ab-34cd-56ef-1234567890ab
    key_state:
      description: The key state (V(Enabled), V(Disabled), V(PendingDeletion), ...).
      type: str
      sample: Enabled
    key_manager:
      description: V(CUSTOMER) or V(AWS).
      type: str
      sample: CUSTOMER
    deletion_date:
      description: When a key pending deletion is deleted (ISO 8601, UTC), null otherwise.
      type: str
      sample: null
    aliases:
      description: The key's aliases, with their V(alias/) prefix.
      type: list
      elements: str
      sample: ["alias/researchenv"]
buckets:
  description: Every bucket of the region, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The bucket name.
      type: str
      sample: researchenv-notebooks-123456789012
    tags:
      description: The bucket's tags as a dict (empty when it has none).
      type: dict
      sample: {"research-env": "demo"}
    default_encryption:
      description: The bucket's default encryption, null when it has none configured.
      type: dict
      contains:
        sse_algorithm:
          description: V(AES256), V(aws:kms) or V(aws:kms:dsse).
          type: str
        kms_master_key_id:
          description: The key as the configuration names it (null for SSE-S3 or the AWS managed key).
          type: str
      sample: {"sse_algorithm": "aws:kms", "kms_master_key_id": "alias/researchenv"}
    default_uses_key:
      description: Whether the default encryption uses the key (false when RV(key) is null).
      type: bool
      sample: true
    objects_with_key:
      description:
        - Object versions found encrypted with the key (at most 1000; see RV(buckets[].objects_with_key_count)).
      type: list
      elements: dict
      contains:
        key:
          description: The object key.
          type: str
        version_id:
          description: The version id.
          type: str
        is_latest:
          description: Whether it is the key's current version.
          type: bool
        size:
          description: Size in bytes.
          type: int
        last_modified:
          description: ISO 8601, UTC.
          type: str
      sample: [{"key": "data/a.csv", "version_id": "null", "is_latest": true, "size": 12,
                "last_modified": "2024-05-02T09:14:03Z"}]
    objects_with_key_count:
      description: How many checked object versions are encrypted with the key.
      type: int
      sample: 1
    object_scan:
      description:
        - V(complete) when every object version was checked, V(limit_reached) when O(object_scan_limit) stopped the
          checks before the last one, V(skipped) when the bucket is in O(skip_object_scan) or RV(key) is null.
      type: str
      sample: complete
    versions_checked:
      description: Object versions checked one by one.
      type: int
      sample: 120
    versions_not_checked:
      description: Object versions listed but not checked; null when the versions were not listed (skipped).
      type: int
      sample: 0
volumes:
  description: EBS volumes encrypted with the key.
  returned: always
  type: list
  elements: dict
  contains:
    volume_id:
      description: The volume id.
      type: str
    state:
      description: The volume state.
      type: str
    size:
      description: Size in GiB.
      type: int
    attachments:
      description: Instances it is attached to, with C(instance_id), C(device), C(state), C(delete_on_termination).
      type: list
      elements: dict
    tags:
      description: Tags as a dict.
      type: dict
  sample: [{"volume_id": "vol-0abc", "state": "in-use", "size": 30, "tags": {"Name": "jupyter-home"},
            "attachments": [{"instance_id": "i-0abc", "device": "/dev/sdf", "state": "attached",
                             "delete_on_termination": false}]}]
snapshots:
  description: EBS snapshots of the account encrypted with the key.
  returned: always
  type: list
  elements: dict
  contains:
    snapshot_id:
      description: The snapshot id.
      type: str
    volume_id:
      description: The volume it was taken of.
      type: str
    volume_size:
      description: Size in GiB.
      type: int
    state:
      description: The snapshot state.
      type: str
    start_time:
      description: When it was started (ISO 8601, UTC).
      type: str
    tags:
      description: Tags as a dict.
      type: dict
  sample: [{"snapshot_id": "snap-0abc", "volume_id": "vol-0abc", "volume_size": 30, "state": "completed",
            "start_time": "2024-05-02T09:14:03Z", "tags": {}}]
images:
  description: AMIs of the account whose block device mappings use one of RV(snapshots).
  returned: always
  type: list
  elements: dict
  contains:
    image_id:
      description: The AMI id.
      type: str
    name:
      description: The AMI name.
      type: str
    snapshot_ids:
      description: Its snapshots that are encrypted with the key.
      type: list
      elements: str
  sample: [{"image_id": "ami-0abc", "name": "jupyter-golden", "snapshot_ids": ["snap-0abc"]}]
file_systems:
  description: EFS file systems encrypted with the key.
  returned: always
  type: list
  elements: dict
  contains:
    file_system_id:
      description: The file system id.
      type: str
    name:
      description: Its name (the C(Name) tag), null when it has none.
      type: str
    size_in_bytes:
      description: Its metered size.
      type: int
    life_cycle_state:
      description: Its state.
      type: str
    tags:
      description: Tags as a dict.
      type: dict
  sample: [{"file_system_id": "fs-0abc", "name": "home", "size_in_bytes": 6144, "life_cycle_state": "available",
            "tags": {"Name": "home"}}]
region:
  description: The region looked at.
  returned: always
  type: str
  sample: eu-west-1
api_calls:
  description: Number of AWS API operations performed (one per page of a listing).
  returned: always
  type: int
  sample: 14
"""

from concurrent.futures import ThreadPoolExecutor
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
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.transformation import ansible_dict_to_boto3_filter_list
from ansible_collections.research_env.core.plugins.module_utils.calls import CallCounter
from ansible_collections.research_env.core.plugins.module_utils.values import iso_utc

MAX_OBJECTS_REPORTED = 1000
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
GONE = ("404", "NoSuchKey", "NoSuchVersion")


class Clients:
    """The module's clients, each made when first used: making one costs more than most of the calls it sends
    (botocore loads the service's model), and without a key only S3 is needed."""

    def __init__(self, module: AnsibleAWSModule, counter: CallCounter, extra: dict | None = None) -> None:
        self._module = module
        self._counter = counter
        self._extra = extra or {}
        self._made = {}

    def __getitem__(self, service: str) -> Any:
        if service not in self._made:
            client = self._module.client(
                service, retry_decorator=AWSRetry.jittered_backoff(), **self._extra.get(service, {})
            )
            self._made[service] = self._counter.watch(client)
        return self._made[service]


class ScanError(Exception):
    """An AWS error on one object or bucket, with what it was about (the pool re-raises it in the main thread)."""

    def __init__(self, what: str, error: Exception) -> None:
        super().__init__(what)
        self.what = what
        self.error = error


# ------------------------------------------------------------------------------------------------ pure logic


def key_aliases(metadata: dict, aliases: list[dict]) -> list[dict]:
    """The ListAliases entries that point at this key."""
    return [a for a in aliases if a.get("TargetKeyId") == metadata["KeyId"]]


def key_identifiers(metadata: dict, aliases: list[dict]) -> set[str]:
    """Every string that names this key: key id, key ARN, and each of its aliases by name and by ARN.

    A bucket's default encryption keeps the key as it was written (any of these), and an S3-compatible store or
    an emulator may report an object's or volume's key the same way, where AWS reports the key ARN."""
    identifiers = {metadata["KeyId"], metadata["Arn"]}
    for alias in key_aliases(metadata, aliases):
        identifiers.add(alias["AliasName"])
        if alias.get("AliasArn"):
            identifiers.add(alias["AliasArn"])
    return identifiers


def key_result(metadata: dict | None, aliases: list[dict]) -> dict | None:
    if metadata is None:
        return None
    return {
        "arn": metadata["Arn"],
        "key_id": metadata["KeyId"],
        "key_state": metadata.get("KeyState"),
        "key_manager": metadata.get("KeyManager"),
        "deletion_date": iso_utc(metadata.get("DeletionDate")),
        "aliases": sorted(a["AliasName"] for a in key_aliases(metadata, aliases)),
    }


def default_encryption(configuration: dict | None) -> tuple[dict | None, list[str]]:
    """(default_encryption for the result, every key id the rules name) from GetBucketEncryption's
    ServerSideEncryptionConfiguration (None when the bucket has none)."""
    if not configuration:
        return None, []
    rules = [r.get("ApplyServerSideEncryptionByDefault") or {} for r in configuration.get("Rules", [])]
    rules = [r for r in rules if r]
    if not rules:
        return None, []
    first = rules[0]
    summary = {"sse_algorithm": first.get("SSEAlgorithm"), "kms_master_key_id": first.get("KMSMasterKeyID")}
    named = [r["KMSMasterKeyID"] for r in rules if r.get("SSEAlgorithm") in KMS_ALGORITHMS and r.get("KMSMasterKeyID")]
    return summary, named


def allocate_checks(version_counts: list[int], limit: int) -> list[int]:
    """How many versions of each bucket are checked, in order, so that at most `limit` are checked in all."""
    remaining = max(limit, 0)
    allocated = []
    for count in version_counts:
        take = min(count, remaining)
        allocated.append(take)
        remaining -= take
    return allocated


def scan_status(skipped: bool, checked: int, total: int) -> str:
    if skipped:
        return "skipped"
    return "complete" if checked >= total else "limit_reached"


def version_entry(version: dict) -> dict:
    return {
        "key": version["Key"],
        "version_id": version.get("VersionId", "null"),
        "is_latest": bool(version.get("IsLatest")),
        "size": version.get("Size", 0),
        "last_modified": iso_utc(version.get("LastModified")),
    }


def head_params(bucket: str, version: dict) -> dict:
    """HeadObject arguments for one listed version. The null version, when current, is read without a version
    id (the same object on AWS; moto and some S3-compatible stores refuse VersionId=null)."""
    params = {"Bucket": bucket, "Key": version["Key"]}
    version_id = version.get("VersionId")
    if version_id and not (version_id == "null" and version.get("IsLatest")):
        params["VersionId"] = version_id
    return params


def volume_entry(volume: dict) -> dict:
    return {
        "volume_id": volume["VolumeId"],
        "state": volume.get("State"),
        "size": volume.get("Size"),
        "attachments": [
            {
                "instance_id": a.get("InstanceId"),
                "device": a.get("Device"),
                "state": a.get("State"),
                "delete_on_termination": a.get("DeleteOnTermination"),
            }
            for a in volume.get("Attachments", [])
        ],
        "tags": boto3_tag_list_to_ansible_dict(volume.get("Tags", [])),
    }


def snapshot_entry(snapshot: dict) -> dict:
    return {
        "snapshot_id": snapshot["SnapshotId"],
        "volume_id": snapshot.get("VolumeId"),
        "volume_size": snapshot.get("VolumeSize"),
        "state": snapshot.get("State"),
        "start_time": iso_utc(snapshot.get("StartTime")),
        "tags": boto3_tag_list_to_ansible_dict(snapshot.get("Tags", [])),
    }


def images_using(images: list[dict], snapshot_ids: set[str]) -> list[dict]:
    """The AMIs whose EBS block device mappings use one of these snapshots."""
    found = []
    for image in images:
        used = [
            m["Ebs"]["SnapshotId"]
            for m in image.get("BlockDeviceMappings", [])
            if (m.get("Ebs") or {}).get("SnapshotId") in snapshot_ids
        ]
        if used:
            found.append({"image_id": image["ImageId"], "name": image.get("Name"), "snapshot_ids": sorted(set(used))})
    return sorted(found, key=lambda i: i["image_id"])


def file_system_entry(file_system: dict) -> dict:
    return {
        "file_system_id": file_system["FileSystemId"],
        "name": file_system.get("Name"),
        "size_in_bytes": (file_system.get("SizeInBytes") or {}).get("Value"),
        "life_cycle_state": file_system.get("LifeCycleState"),
        "tags": boto3_tag_list_to_ansible_dict(file_system.get("Tags", [])),
    }


# --------------------------------------------------------------------------------------------- AWS calls


def describe_key(kms: Any, key_id: str) -> dict | None:
    try:
        return kms.describe_key(KeyId=key_id, aws_retry=True)["KeyMetadata"]
    except is_boto3_error_code("NotFoundException"):
        return None


def bucket_details(s3: Any, name: str) -> tuple[dict, dict | None] | None:
    """(tags, default encryption configuration) of one bucket; None when it vanished since the listing."""
    try:
        try:
            tag_set = s3.get_bucket_tagging(Bucket=name, aws_retry=True)["TagSet"]
            # A tag's value may be empty ("Value": ""); some stores leave the key out then.
            tags = {t["Key"]: t.get("Value", "") for t in tag_set}
        except is_boto3_error_code(["NoSuchTagSet", "NoSuchTagSetError"]):
            tags = {}
        try:
            answer = s3.get_bucket_encryption(Bucket=name, aws_retry=True)
            configuration = answer.get("ServerSideEncryptionConfiguration")
        except is_boto3_error_code("ServerSideEncryptionConfigurationNotFoundError"):
            configuration = None
    except is_boto3_error_code("NoSuchBucket"):
        return None
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
        raise ScanError(f"the tags or default encryption of bucket {name}", e) from e
    return tags, configuration


def list_versions(s3: Any, name: str) -> list[dict] | None:
    """Object versions of a bucket (delete markers hold no data); None when the bucket vanished."""
    try:
        return paginated_query_with_retries(s3, "list_object_versions", Bucket=name).get("Versions", [])
    except is_boto3_error_code("NoSuchBucket"):
        return None
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
        raise ScanError(f"the object versions of bucket {name}", e) from e


def object_key_id(s3: Any, bucket: str, version: dict) -> str | None:
    """The KMS key an object version is encrypted with (None for SSE-S3, or when it is gone meanwhile)."""
    params = head_params(bucket, version)
    what = f"s3://{bucket}/{version['Key']} (version {version.get('VersionId')})"
    try:
        answer = s3.head_object(aws_retry=True, **params)
        if "VersionId" not in params and answer.get("VersionId") not in (None, "null"):
            # The null version became noncurrent since the listing: read that one.
            answer = s3.head_object(VersionId="null", aws_retry=True, **params)
    except is_boto3_error_code(GONE):
        return None
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
        raise ScanError(f"the metadata of {what}", e) from e
    return answer.get("SSEKMSKeyId")


def scan_buckets(
    s3: Any, names: list[str], identifiers: set[str], params: dict, pool: ThreadPoolExecutor
) -> list[dict]:
    """Bucket entries for the result, the objects checked one by one when there is a key."""
    details = list(pool.map(lambda n: bucket_details(s3, n), names))
    buckets = []
    for name, detail in zip(names, details, strict=True):
        if detail is None:
            continue  # deleted since the listing
        tags, configuration = detail
        summary, named_keys = default_encryption(configuration)
        buckets.append(
            {
                "name": name,
                "tags": tags,
                "default_encryption": summary,
                "default_uses_key": bool(identifiers) and any(k in identifiers for k in named_keys),
                "objects_with_key": [],
                "objects_with_key_count": 0,
                "object_scan": "skipped",
                "versions_checked": 0,
                "versions_not_checked": None,
            }
        )
    if not identifiers:
        return buckets

    skip = set(params["skip_object_scan"])
    skip_tags = params.get("skip_object_scan_tags") or {}
    scanned = [
        b
        for b in buckets
        if b["name"] not in skip and not (skip_tags and all(b["tags"].get(k) == v for k, v in skip_tags.items()))
    ]
    listings = list(pool.map(lambda b: list_versions(s3, b["name"]), scanned))
    kept = [(b, v) for b, v in zip(scanned, listings, strict=True) if v is not None]
    gone = {b["name"] for b, v in zip(scanned, listings, strict=True) if v is None}
    buckets = [b for b in buckets if b["name"] not in gone]

    allocation = allocate_checks([len(versions) for _bucket, versions in kept], params["object_scan_limit"])
    work = [(b, version) for (b, versions), n in zip(kept, allocation, strict=True) for version in versions[:n]]
    key_ids = pool.map(lambda item: object_key_id(s3, item[0]["name"], item[1]), work)
    for (bucket, version), key_id in zip(work, key_ids, strict=True):
        if key_id in identifiers:
            bucket["objects_with_key_count"] += 1
            if len(bucket["objects_with_key"]) < MAX_OBJECTS_REPORTED:
                bucket["objects_with_key"].append(version_entry(version))
    for (bucket, versions), checked in zip(kept, allocation, strict=True):
        bucket["versions_checked"] = checked
        bucket["versions_not_checked"] = len(versions) - checked
        bucket["object_scan"] = scan_status(False, checked, len(versions))
    return buckets


def key_usage(clients: Clients, params: dict, region: str) -> dict:
    """The module's result (without api_calls); AWS errors other than not-found propagate."""
    metadata = describe_key(clients["kms"], params["key_id"]) if params["key_id"] else None
    aliases = paginated_query_with_retries(clients["kms"], "list_aliases").get("Aliases", []) if metadata else []
    identifiers = key_identifiers(metadata, aliases) if metadata else set()
    s3 = clients["s3"]

    services = set(params.get("services") or ["s3", "ebs", "efs"])
    names = (
        sorted(
            b["Name"] for b in paginated_query_with_retries(s3, "list_buckets", BucketRegion=region).get("Buckets", [])
        )
        if "s3" in services
        else []
    )
    pool = ThreadPoolExecutor(max_workers=params["object_scan_workers"])
    try:
        buckets = scan_buckets(s3, names, identifiers, params, pool)
    finally:
        # After an error, the HeadObject calls still queued are dropped rather than all sent before failing.
        pool.shutdown(wait=True, cancel_futures=True)

    result = {
        "key": key_result(metadata, aliases),
        "buckets": buckets,
        "volumes": [],
        "snapshots": [],
        "images": [],
        "file_systems": [],
        "region": region,
    }
    if not metadata:
        return result

    encrypted = ansible_dict_to_boto3_filter_list({"encrypted": "true"})
    if "ebs" in services:
        _ebs_usage(clients["ec2"], encrypted, identifiers, result)
    if "efs" in services:
        file_systems = paginated_query_with_retries(clients["efs"], "describe_file_systems").get("FileSystems", [])
        result["file_systems"] = sorted(
            (file_system_entry(f) for f in file_systems if f.get("KmsKeyId") in identifiers),
            key=lambda f: f["file_system_id"],
        )
    return result


def _ebs_usage(ec2: Any, encrypted: list, identifiers: set[str], result: dict) -> None:
    """The volumes and snapshots encrypted with the key, and the AMIs that use those snapshots, into result."""
    volumes = paginated_query_with_retries(ec2, "describe_volumes", Filters=encrypted).get("Volumes", [])
    result["volumes"] = sorted(
        (volume_entry(v) for v in volumes if v.get("KmsKeyId") in identifiers), key=lambda v: v["volume_id"]
    )
    snapshots = paginated_query_with_retries(ec2, "describe_snapshots", OwnerIds=["self"], Filters=encrypted).get(
        "Snapshots", []
    )
    result["snapshots"] = sorted(
        (snapshot_entry(s) for s in snapshots if s.get("KmsKeyId") in identifiers), key=lambda s: s["snapshot_id"]
    )
    if result["snapshots"]:
        images = paginated_query_with_retries(ec2, "describe_images", Owners=["self"]).get("Images", [])
        result["images"] = images_using(images, {s["snapshot_id"] for s in result["snapshots"]})


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(
            key_id=dict(type="str"),
            object_scan_limit=dict(type="int", default=100000),
            skip_object_scan=dict(type="list", elements="str", default=[]),
            skip_object_scan_tags=dict(type="dict", default={}),
            object_scan_workers=dict(type="int", default=8),
            services=dict(type="list", elements="str", choices=["s3", "ebs", "efs"], default=["s3", "ebs", "efs"]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params["object_scan_limit"] < 0:
        module.fail_json(msg=f"object_scan_limit must be 0 or more, not {params['object_scan_limit']}")
    if params["object_scan_workers"] < 1:
        module.fail_json(msg=f"object_scan_workers must be 1 or more, not {params['object_scan_workers']}")
    region = module.region
    if not region:
        module.fail_json(msg="A region is required: the key and the buckets are looked for in one region")

    counter = CallCounter()
    # Enough pooled connections for the HeadObject threads (botocore keeps 10 by default).
    extra = {"s3": {"config": {"max_pool_connections": max(10, params["object_scan_workers"] + 2)}}}
    clients = Clients(module, counter, extra)
    try:
        result = key_usage(clients, params, region)
    except ScanError as e:
        module.fail_json_aws(e.error, msg=f"Couldn't read {e.what}", api_calls=counter.calls)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Couldn't find what KMS key {params['key_id']} encrypts", api_calls=counter.calls)
    module.exit_json(changed=False, api_calls=counter.calls, **result)


if __name__ == "__main__":
    main()
