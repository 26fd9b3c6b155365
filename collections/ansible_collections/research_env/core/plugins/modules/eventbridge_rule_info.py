#!/usr/bin/python
# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: eventbridge_rule_info
short_description: Find EventBridge rules of the default event bus by name, with their targets
version_added: 0.1.0
description:
  - Lists the rules of the default event bus whose names start with O(name_prefix) (C(ListRules), paginated)
    and, for each, its targets (C(ListTargetsByRule)).
  - amazon.aws.cloudwatchevent_rule manages one rule but cannot tell whether it exists without changing it,
    and no maintained info module exists; teardown uses this one to find the idle-stop schedule's rules.
options:
  name_prefix:
    description: The beginning of the rules' names; an empty prefix lists every rule of the bus.
    type: str
    required: true
  names:
    description: Keep only rules with exactly these names (after the prefix search); none keeps all.
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
- name: Find the idle-stop rules of researchenv
  research_env.core.eventbridge_rule_info:
    name_prefix: researchenv-
    names: [researchenv-stop-hosts, researchenv-start-hosts]
  register: rules
"""

RETURN = r"""
rules:
  description: The rules found, sorted by name, snake_cased, each with its targets.
  returned: always
  type: list
  elements: dict
  sample:
    - name: researchenv-stop-hosts
      arn: arn:aws:events:us-east-1:123456789012:rule/researchenv-stop-hosts
      state: ENABLED
      schedule_expression: cron(0 20 * * ? *)
      targets:
        - id: stop-hosts
          arn: arn:aws:ssm:us-east-1:123456789012:automation-definition/AWS-StopEC2Instance:$DEFAULT
api_calls:
  description: How many AWS calls the module made.
  returned: always
  type: int
  sample: 3
"""

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.research_env.core.plugins.module_utils.calls import CallCounter


def list_all(client, method: str, key: str, **kwargs) -> list[dict]:
    """Every page of a ListRules / ListTargetsByRule answer (EventBridge pages with NextToken)."""
    items: list[dict] = []
    token = None
    while True:
        page = getattr(client, method)(aws_retry=True, **kwargs, **({"NextToken": token} if token else {}))
        items += page.get(key, [])
        token = page.get("NextToken")
        if not token:
            return items


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(
            name_prefix=dict(type="str", required=True),
            names=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    counter = CallCounter()
    client = counter.watch(module.client("events", retry_decorator=AWSRetry.jittered_backoff()))
    prefix = module.params["name_prefix"]
    names = set(module.params["names"])
    try:
        rules = list_all(client, "list_rules", "Rules", **({"NamePrefix": prefix} if prefix else {}))
        rules = [r for r in rules if not names or r["Name"] in names]
        found = []
        for rule in sorted(rules, key=lambda r: r["Name"]):
            try:
                targets = list_all(client, "list_targets_by_rule", "Targets", Rule=rule["Name"])
            except is_boto3_error_code("ResourceNotFoundException"):
                continue  # deleted between the two calls
            found.append({**camel_dict_to_snake_dict(rule), "targets": [camel_dict_to_snake_dict(t) for t in targets]})
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg="Couldn't list the EventBridge rules")
    module.exit_json(changed=False, rules=found, api_calls=counter.calls)


if __name__ == "__main__":
    main()
