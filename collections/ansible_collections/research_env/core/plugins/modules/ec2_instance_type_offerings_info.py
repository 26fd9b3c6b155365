#!/usr/bin/python
# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ec2_instance_type_offerings_info
short_description: List which EC2 instance types are offered in which region, zone or zone id, and their architectures
version_added: 0.1.0
description:
  - Lists the instance types EC2 offers in the module's region, in some of its availability zones or
    zone ids, with one paginated C(DescribeInstanceTypeOfferings).
  - Preflight uses it to refuse an instance type that the chosen zone does not offer before anything
    is created, instead of failing half-way through C(RunInstances) with C(Unsupported).
  - For the O(instance_types) offered in at least one of the locations it also returns the CPU architectures
    each one supports (RV(architectures)), from one paginated C(DescribeInstanceTypes) with C(InstanceTypes)
    set to them (one page per 100 types, the most that call accepts). The image lookup takes the architecture
    from there rather than guessing it from the type's name. Only offered types are described, because
    C(DescribeInstanceTypes) fails the whole request (C(InvalidInstanceType)) when one of them does not exist.
    Without O(instance_types), or when one of them is a wildcard pattern, C(DescribeInstanceTypes) is not
    called and RV(architectures) is empty.
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
      - RV(architectures) is filled only when they are all names, without wildcards.
    type: list
    elements: str
    default: []
author:
  - research-env contributors (!UNKNOWN)
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Is the Jupyter instance type offered in the environment's zone?
  research_env.core.ec2_instance_type_offerings_info:
    locations: ["{{ research_env_availability_zone }}"]
    instance_types: ["{{ jupyter_instance_type }}", "{{ voila_instance_type }}"]
  register: offered

- name: Refuse what the zone does not offer
  ansible.builtin.assert:
    that: offered.not_offered | length == 0
    fail_msg: >-
      Not offered: {{ offered.not_offered | map(attribute='instance_type') | join(', ') }}
      in {{ research_env_availability_zone }}

- name: The architecture of each host's instance type, for the image lookup
  research_env.core.ec2_instance_type_offerings_info:
    location_type: region
    instance_types: [t3.small, t4g.small, a1.medium]
  register: types

- name: Show them (t3.small runs x86_64, t4g.small and a1.medium arm64)
  ansible.builtin.debug:
    msg: "{{ item }}: {{ types.architectures[item] | join(', ') }}"
  loop: "{{ types.instance_types }}"

- name: Every zone id that offers g5.xlarge
  research_env.core.ec2_instance_type_offerings_info:
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
architectures:
  description:
    - The CPU architectures each instance type of O(instance_types) that is offered in at least one of the
      locations supports (C(ProcessorInfo.SupportedArchitectures) of C(DescribeInstanceTypes)), in AWS's
      order; a type runs an image of any of them (V(i386), V(x86_64), V(arm64), V(x86_64_mac), V(arm64_mac)).
    - Types not offered are left out (they are in RV(not_offered)). Empty when O(instance_types) is empty or
      contains a wildcard pattern.
  returned: always
  type: dict
  sample: {"a1.medium": ["arm64"], "t2.micro": ["i386", "x86_64"], "t3.small": ["x86_64"]}
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

from ansible_collections.amazon.aws.plugins.module_utils.botocore import paginated_query_with_retries
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.transformation import ansible_dict_to_boto3_filter_list
from ansible_collections.research_env.core.plugins.module_utils.calls import CallCounter


def build_filters(locations: list[str], instance_types: list[str]) -> list[dict]:
    """The DescribeInstanceTypeOfferings filters for the options: only the non-empty ones (an empty
    Values list is refused by EC2)."""
    wanted = {"location": list(locations), "instance-type": list(instance_types)}
    return ansible_dict_to_boto3_filter_list({name: values for name, values in wanted.items() if values})


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


def is_pattern(instance_type: str) -> bool:
    """EC2's instance-type filter takes `*` and `?`; DescribeInstanceTypes' InstanceTypes takes names only."""
    return any(c in instance_type for c in "*?")


def types_to_describe(instance_types: list[str], offered: list[str]) -> list[str]:
    """The types whose architectures are looked up: those asked for and offered in a location (so known to
    exist: DescribeInstanceTypes refuses the whole request for one that does not); none when nothing was asked
    for or a pattern was (its matches are not the types the caller named)."""
    if not instance_types or any(is_pattern(t) for t in instance_types):
        return []
    return sorted(set(instance_types) & set(offered))


def architectures_by_type(raw_types: list[dict]) -> dict[str, list[str]]:
    """Instance type -> ProcessorInfo.SupportedArchitectures, from DescribeInstanceTypes' answer."""
    return {t["InstanceType"]: list(t.get("ProcessorInfo", {}).get("SupportedArchitectures", [])) for t in raw_types}


def describe_offerings(client: Any, location_type: str, filters: list[dict]) -> list[dict]:
    params = {"LocationType": location_type}
    if filters:
        params["Filters"] = filters
    return paginated_query_with_retries(client, "describe_instance_type_offerings", **params).get(
        "InstanceTypeOfferings", []
    )


# DescribeInstanceTypes takes at most 100 names in InstanceTypes: more are asked for 100 at a time.
DESCRIBE_TYPES_LIMIT = 100


def describe_instance_types(client: Any, instance_types: list[str]) -> list[dict]:
    found = []
    for start in range(0, len(instance_types), DESCRIBE_TYPES_LIMIT):
        chunk = instance_types[start : start + DESCRIBE_TYPES_LIMIT]
        found += paginated_query_with_retries(client, "describe_instance_types", InstanceTypes=chunk).get(
            "InstanceTypes", []
        )
    return found


def offerings_info(client: Any, params: dict) -> dict:
    """The module's result (without api_calls) for validated parameters."""
    filters = build_filters(params["locations"], params["instance_types"])
    raw = describe_offerings(client, params["location_type"], filters)
    offerings, names = summarise(raw)
    described = types_to_describe(params["instance_types"], names)
    return {
        "offerings": offerings,
        "instance_types": names,
        "not_offered": missing_offerings(offerings, params["locations"], params["instance_types"]),
        "architectures": architectures_by_type(describe_instance_types(client, described)) if described else {},
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
        module.fail_json_aws(e, msg="Couldn't describe the instance type offerings or the instance types")
    module.exit_json(changed=False, api_calls=counter.calls, **result)


if __name__ == "__main__":
    main()
