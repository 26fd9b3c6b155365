#!/usr/bin/python
# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: s3_bucket_contents_info
short_description: Count what an S3 bucket holds, every object version and delete marker included
version_added: 0.1.0
description:
  - Counts the current objects, the noncurrent object versions and the delete markers of a bucket,
    and their total size, with list calls only (C(ListObjectVersions), paginated; no call per object).
  - Teardown uses it to refuse destroying a bucket that holds data unless asked to, and to record
    how many versions and delete markers were destroyed. No maintained module reports versions.
  - A bucket that does not exist is reported with RV(exists=false) and zero counts.
options:
  name:
    description: The bucket's name.
    type: str
    required: true
  prefix:
    description: Count only keys under this prefix.
    type: str
    default: ""
  sample_size:
    description: How many keys to return in RV(sample_keys), to show what is there.
    type: int
    default: 10
author:
  - research-env contributors (!UNKNOWN)
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Count the notebooks bucket's contents
  research_env.core.s3_bucket_contents_info:
    name: researchenv-notebooks-123456789012
  register: contents

- name: Refuse to destroy data
  ansible.builtin.fail:
    msg: "The bucket holds {{ contents.versions }} object versions"
  when: contents.versions + contents.delete_markers > 0
"""

RETURN = r"""
exists:
  description: Whether the bucket exists.
  returned: always
  type: bool
  sample: true
current_objects:
  description: Objects whose latest version is not a delete marker.
  returned: always
  type: int
  sample: 12
versions:
  description: Object versions of every age (current and noncurrent), not counting delete markers.
  returned: always
  type: int
  sample: 30
noncurrent_versions:
  description: Object versions that are not the latest of their key.
  returned: always
  type: int
  sample: 18
delete_markers:
  description: Delete markers.
  returned: always
  type: int
  sample: 2
bytes:
  description: Total size of every object version.
  returned: always
  type: int
  sample: 1048576
sample_keys:
  description: Up to O(sample_size) keys found, in listing order.
  returned: always
  type: list
  elements: str
  sample: ["notebooks/analysis.ipynb"]
list_calls:
  description: How many list calls the count took.
  returned: always
  type: int
  sample: 1
"""

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


def count_page(page, totals, sample_size):
    """Add one ListObjectVersions page to the running totals."""
    for version in page.get("Versions", []):
        totals["versions"] += 1
        totals["bytes"] += version.get("Size", 0)
        if version.get("IsLatest"):
            totals["current_objects"] += 1
        else:
            totals["noncurrent_versions"] += 1
        if len(totals["sample_keys"]) < sample_size and version["Key"] not in totals["sample_keys"]:
            totals["sample_keys"].append(version["Key"])
    totals["delete_markers"] += len(page.get("DeleteMarkers", []))
    totals["list_calls"] += 1
    return totals


def empty_totals():
    return {
        "exists": True,
        "current_objects": 0,
        "versions": 0,
        "noncurrent_versions": 0,
        "delete_markers": 0,
        "bytes": 0,
        "sample_keys": [],
        "list_calls": 0,
    }


@AWSRetry.jittered_backoff()
def count_versions(client, name, prefix, sample_size):
    """The totals of one whole listing; throttled, it starts over, so the totals are one consistent pass."""
    totals = empty_totals()
    for page in client.get_paginator("list_object_versions").paginate(Bucket=name, Prefix=prefix):
        count_page(page, totals, sample_size)
    return totals


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            prefix=dict(type="str", default=""),
            sample_size=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    client = module.client("s3", retry_decorator=AWSRetry.jittered_backoff())
    try:
        totals = count_versions(client, module.params["name"], module.params["prefix"], module.params["sample_size"])
    except is_boto3_error_code("NoSuchBucket"):
        totals = dict(empty_totals(), exists=False)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Couldn't list the object versions of bucket {module.params['name']}")
    module.exit_json(changed=False, **totals)


if __name__ == "__main__":
    main()
