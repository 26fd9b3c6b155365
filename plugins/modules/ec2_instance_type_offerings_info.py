#!/usr/bin/python
# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ec2_instance_type_offerings_info
short_description: List which EC2 instance types are offered in which region, zone or zone id
version_added: 0.1.0
description:
  - Lists the instance types EC2 offers in the module's region, in some of its availability zones or
    zone ids, with one paginated C(DescribeInstanceTypeOfferings).
  - Preflight uses it to refuse an instance type that the chosen zone does not offer before anything
    is created, instead of failing half-way through C(RunInstances) with C(Unsupported).
  - No maintained module does this. Neither amazon.aws (10.x) nor community.aws (10.x) has a module
    that calls C(DescribeInstanceTypeOfferings); M(amazon.aws.ec2_instance) finds out only when it
    launches, and there is no C(ec2_instance_type_info) module.
  - Check mode is supported and behaves the same, the module being read-only.
options:
  location_type:
    description:
      - What the locations are. V(availability-zone) names zones (V(eu-west-1a)), V(availability-zone-id)
        zone ids (V(euw1-az1), the same physical zone in every account), V(region) the region itself.
    type: str
    choices: [region, availability-zone, availability-zone-id]
    default: availability-zone
  locations:
    description:
      - Only these locations (the C(location) filter). Empty for every location of O(location_type) in the region.
    type: list
    elements: str
    default: []
  instance_types:
    description:
      - Only these instance types (the C(instance-type) filter; wildcards such as V(t3.*) are allowed).
        Empty for every instance type.
    type: list
    elements: str
    default: []
author:
  - research-env contributors
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Is the Jupyter instance type offered in the environment's zone?
  ec2_instance_type_offerings_info:
    locations: ["{{ research_env_availability_zone }}"]
    instance_types: ["{{ jupyter_instance_type }}", "{{ voila_instance_type }}"]
  register: offered

- name: Refuse what the zone does not offer
  ansible.builtin.assert:
    that: offered.not_offered | length == 0
    fail_msg: >-
      Not offered: {{ offered.not_offered | map(attribute='instance_type') | join(', ') }}
      in {{ research_env_availability_zone }}

- name: Every zone id that offers g5.xlarge
  ec2_instance_type_offerings_info:
    location_type: availability-zone-id
    instance_types: [g5.xlarge]
  register: gpu_zones
"""

RETURN = r"""
offerings:
  description: The offerings found, sorted by location then instance type.
  returned: always
  type: list
  elements: dict
  contains:
    instance_type:
      description: The instance type.
      type: str
      sample: t3.large
    location:
      description: The region, zone or zone id.
      type: str
      sample: eu-west-1a
    location_type:
      description: The O(location_type) asked for.
      type: str
      sample: availability-zone
  sample: [{"instance_type": "t3.large", "location": "eu-west-1a", "location_type": "availability-zone"}]
instance_types:
  description: The instance types offered in at least one of the locations, sorted, each once.
  returned: always
  type: list
  elements: str
  sample: ["t3.large", "t3.medium"]
not_offered:
  description:
    - The pairs of O(instance_types) and O(locations) for which there is no offering (sorted by location, then
      instance type), empty unless both options are given. Wildcard patterns count as offered when anything
      matches them in the location.
  returned: always
  type: list
  elements: dict
  contains:
    instance_type:
      description: The instance type (or pattern) asked for.
      type: str
      sample: p5.48xlarge
    location:
      description: The location that does not offer it.
      type: str
      sample: eu-west-1c
  sample: [{"instance_type": "p5.48xlarge", "location": "eu-west-1c"}]
api_calls:
  description: Number of AWS API operations performed (one per page).
  returned: always
  type: int
  sample: 1
"""

import fnmatch
from typing import Any

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

from ansible.module_utils.research_env_calls import CallCounter
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


def build_filters(locations: list[str], instance_types: list[str]) -> list[dict]:
    """The DescribeInstanceTypeOfferings filters for the options: only the non-empty ones (an empty
    Values list is refused by EC2)."""
    filters = []
    if locations:
        filters.append({"Name": "location", "Values": list(locations)})
    if instance_types:
        filters.append({"Name": "instance-type", "Values": list(instance_types)})
    return filters


def summarise(raw_offerings: list[dict]) -> tuple[list[dict], list[str]]:
    """snake_case offerings sorted by location then type, and the sorted unique instance type names."""
    offerings = sorted(
        (
            {"instance_type": o["InstanceType"], "location": o["Location"], "location_type": o["LocationType"]}
            for o in raw_offerings
        ),
        key=lambda o: (o["location"], o["instance_type"]),
    )
    return offerings, sorted({o["instance_type"] for o in offerings})


def missing_offerings(offerings: list[dict], locations: list[str], instance_types: list[str]) -> list[dict]:
    """(instance type, location) pairs asked for that have no offering: what preflight refuses.

    Patterns (EC2 accepts `*` and `?` in the instance-type filter) count as offered when any offering of
    the location matches them."""
    if not locations or not instance_types:
        return []
    offered = {}
    for offering in offerings:
        offered.setdefault(offering["location"], set()).add(offering["instance_type"])
    missing = []
    for location in sorted(set(locations)):
        here = offered.get(location, set())
        for wanted in sorted(set(instance_types)):
            if not any(fnmatch.fnmatchcase(t, wanted) for t in here):
                missing.append({"instance_type": wanted, "location": location})
    return missing


@AWSRetry.jittered_backoff()
def describe_offerings(client: Any, location_type: str, filters: list[dict]) -> list[dict]:
    paginator = client.get_paginator("describe_instance_type_offerings")
    params = {"LocationType": location_type}
    if filters:
        params["Filters"] = filters
    return paginator.paginate(**params).build_full_result().get("InstanceTypeOfferings", [])


def offerings_info(client: Any, params: dict) -> dict:
    """The module's result (without api_calls) for validated parameters."""
    filters = build_filters(params["locations"], params["instance_types"])
    raw = describe_offerings(client, params["location_type"], filters)
    offerings, names = summarise(raw)
    return {
        "offerings": offerings,
        "instance_types": names,
        "not_offered": missing_offerings(offerings, params["locations"], params["instance_types"]),
    }


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(
            location_type=dict(
                type="str",
                default="availability-zone",
                choices=["region", "availability-zone", "availability-zone-id"],
            ),
            locations=dict(type="list", elements="str", default=[]),
            instance_types=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    counter = CallCounter()
    client = counter.watch(module.client("ec2", retry_decorator=AWSRetry.jittered_backoff()))
    try:
        result = offerings_info(client, module.params)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Couldn't describe the instance type offerings")
    module.exit_json(changed=False, api_calls=counter.calls, **result)


if __name__ == "__main__":
    main()
