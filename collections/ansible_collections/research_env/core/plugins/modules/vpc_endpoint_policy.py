#!/usr/bin/python
# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: vpc_endpoint_policy
short_description: Set the policy of an existing VPC endpoint in place
version_added: 0.1.0
description:
  - Gives an existing VPC endpoint exactly the policy O(policy), in place (C(ModifyVpcEndpoint)).
  - M(amazon.aws.ec2_vpc_endpoint) sets a policy only when it creates an endpoint; an endpoint it finds
    (by VPC, service and route tables) gets its tags corrected and nothing else. Replacing the endpoint
    to change its policy would cut the subnets' S3 traffic and change the endpoint id that bucket
    policies name in C(aws:SourceVpce).
  - The policy is read with one C(DescribeVpcEndpoints) call and compared as JSON, with AWS's
    equivalent spellings made equal (a single statement or value given alone or in a list, the
    order of the values of C(Action), C(Resource) and condition keys); C(ModifyVpcEndpoint) is called
    only on a difference.
  - Check mode is supported; nothing is changed and the result says what would be.
options:
  vpc_endpoint_id:
    description:
      - The endpoint, for example V(vpce-0123456789abcdef0).
    type: str
    required: true
  policy:
    description:
      - The policy document, as a dict or a JSON string.
    type: json
    required: true
author:
  - research-env contributors (!UNKNOWN)
notes:
  - Needs C(ec2:DescribeVpcEndpoints) and, on a difference, C(ec2:ModifyVpcEndpoint).
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Allow only the environment's buckets through its S3 endpoint
  research_env.core.vpc_endpoint_policy:
    vpc_endpoint_id: "{{ s3_endpoint.result.vpc_endpoint_id }}"
    policy: "{{ lookup('ansible.builtin.template', 'endpoint_policy.json.j2') }}"
"""

RETURN = r"""
policy:
  description: The endpoint's policy after the task (or, in check mode, as it would be).
  returned: always
  type: dict
  sample: {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*",
           "Resource": ["arn:aws:s3:::researchenv-notebooks-123456789012/*"]}]}
previous_policy:
  description: The endpoint's policy before the task; null when AWS answered none.
  returned: always
  type: dict
api_calls:
  description: Number of AWS API operations performed.
  returned: always
  type: int
  sample: 1
"""

import json
from typing import Any

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.research_env.core.plugins.module_utils.calls import CallCounter

# Elements whose value may be one string or a list of them, in any order (IAM policy grammar).
_SETS = {"Action", "NotAction", "Resource", "NotResource"}


def _as_set(value: Any) -> Any:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(sorted(set(value)))
    return value


def canonical_policy(policy: str | dict | None) -> Any:
    """A policy in a form where AWS's equivalent spellings are equal: Statement always a list, the
    string-or-list elements and principal and condition values as sorted tuples. None stays None."""
    if policy is None:
        return None
    doc = json.loads(policy) if isinstance(policy, str) else policy
    statements = doc.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else list(statements)
    canonical = []
    for st in statements:
        item: dict[str, Any] = {}
        for key, value in st.items():
            if key in _SETS:
                item[key] = _as_set(value)
            elif key in ("Principal", "NotPrincipal") and isinstance(value, dict):
                item[key] = {k: _as_set(v) for k, v in value.items()}
            elif key == "Condition" and isinstance(value, dict):
                item[key] = {op: {k: _as_set(v) for k, v in keys.items()} for op, keys in value.items()}
            else:
                item[key] = value
        canonical.append(item)
    rest = {k: v for k, v in doc.items() if k != "Statement"}
    return {**rest, "Statement": canonical}


def policies_equal(current: str | dict | None, wanted: str | dict) -> bool:
    return canonical_policy(current) == canonical_policy(wanted)


def ensure(module: AnsibleAWSModule, client: Any) -> dict:
    endpoint_id = module.params["vpc_endpoint_id"]
    wanted = module.params["policy"]
    try:
        wanted_doc = json.loads(wanted) if isinstance(wanted, str) else wanted
    except ValueError as e:
        module.fail_json(msg=f"policy is not valid JSON: {e}")
    if not isinstance(wanted_doc, dict) or "Statement" not in wanted_doc:
        module.fail_json(msg="policy must be a policy document (an object with a Statement)")

    try:
        found = client.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id], aws_retry=True)["VpcEndpoints"]
    except is_boto3_error_code(["InvalidVpcEndpointId.NotFound", "InvalidVpcEndpointId.Malformed"]):
        module.fail_json(msg=f"The VPC endpoint {endpoint_id} does not exist")
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Couldn't describe the VPC endpoint {endpoint_id}")
    if not found:
        module.fail_json(msg=f"The VPC endpoint {endpoint_id} does not exist")

    current = found[0].get("PolicyDocument")
    previous = json.loads(current) if current else None
    if policies_equal(current, wanted_doc):
        return dict(changed=False, policy=previous, previous_policy=previous)

    if not module.check_mode:
        try:
            client.modify_vpc_endpoint(VpcEndpointId=endpoint_id, PolicyDocument=json.dumps(wanted_doc), aws_retry=True)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg=f"Couldn't set the policy of the VPC endpoint {endpoint_id}")
    return dict(changed=True, policy=wanted_doc, previous_policy=previous)


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(
            vpc_endpoint_id=dict(type="str", required=True),
            policy=dict(type="json", required=True),
        ),
        supports_check_mode=True,
    )
    counter = CallCounter()
    client = counter.watch(module.client("ec2", retry_decorator=AWSRetry.jittered_backoff()))
    result = ensure(module, client)
    module.exit_json(api_calls=counter.calls, **result)


if __name__ == "__main__":
    main()
