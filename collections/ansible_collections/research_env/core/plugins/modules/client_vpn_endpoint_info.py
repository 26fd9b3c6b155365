#!/usr/bin/python
# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: client_vpn_endpoint_info
short_description: List AWS Client VPN endpoints with their networks, authorization rules and routes
version_added: 0.1.0
description:
  - Lists the Client VPN endpoints that match O(filters) (DescribeClientVpnEndpoints), each with its target
    network associations, authorization rules and routes (one call each per endpoint), as
    M(research_env.core.client_vpn_endpoint) returns them.
  - Endpoints whose status is C(deleted) are left out.
options:
  filters:
    description:
      - "DescribeClientVpnEndpoints filters, for example C({\"tag:Environment\": \"researchenv\"})."
      - A list value matches any of its items.
    type: dict
    default: {}
  client_vpn_endpoint_ids:
    description: Only these endpoints.
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
- name: The environment's Client VPN endpoints
  research_env.core.client_vpn_endpoint_info:
    filters:
      "tag:Environment": researchenv
      "tag:ManagedBy": research-env
  register: found
"""

RETURN = r"""
client_vpn_endpoints:
  description: The endpoints (snake_case, tags as a dict), each with target_networks, authorization_rules and routes.
  returned: always
  type: list
  elements: dict
api_calls:
  description: Number of AWS API operations performed.
  returned: always
  type: int
"""

from typing import Any

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.research_env.core.plugins.module_utils.calls import CallCounter
from ansible_collections.research_env.core.plugins.module_utils.client_vpn import endpoint_parts, paged, snake


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec={
            "filters": {"type": "dict", "default": {}},
            "client_vpn_endpoint_ids": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    counter = CallCounter()
    ec2 = counter.watch(module.client("ec2", retry_decorator=AWSRetry.jittered_backoff()))
    filters = [
        {"Name": k, "Values": [str(x) for x in v] if isinstance(v, list) else [str(v)]}
        for k, v in (module.params["filters"] or {}).items()
    ]
    kwargs: dict[str, Any] = {"Filters": filters}
    if module.params["client_vpn_endpoint_ids"]:
        kwargs["ClientVpnEndpointIds"] = module.params["client_vpn_endpoint_ids"]
    try:
        endpoints = [
            e
            for e in paged(ec2, "describe_client_vpn_endpoints", "ClientVpnEndpoints", **kwargs)
            if (e.get("Status") or {}).get("Code") != "deleted"
        ]
        found = []
        for endpoint in endpoints:
            parts = endpoint_parts(ec2, endpoint["ClientVpnEndpointId"])
            item = snake(endpoint)
            item["target_networks"] = [snake(n) for n in parts["networks"]]
            item["authorization_rules"] = [snake(r) for r in parts["rules"]]
            item["routes"] = [snake(r) for r in parts["routes"]]
            found.append(item)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Could not list the Client VPN endpoints")
    module.exit_json(changed=False, client_vpn_endpoints=found, api_calls=counter.calls)


if __name__ == "__main__":
    main()
