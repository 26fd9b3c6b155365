#!/usr/bin/python
# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kms_alias
short_description: Create, re-point or delete one KMS alias
version_added: 0.1.0
description:
  - Manages a single KMS alias on its own, apart from the key it names.
  - M(amazon.aws.kms_key) adds an alias to a key but never deletes one nor points an existing one at
    another key (its C(update_alias) only calls C(CreateAlias) for a name that does not exist yet).
    Teardown needs both, so that the environment's alias goes when its key is scheduled for deletion
    and a rebuild makes a new key instead of finding (and cancelling the deletion of) the old one.
  - V(present) calls C(CreateAlias) when the alias does not exist and C(UpdateAlias) when it points at
    another key than O(target_key_id); V(absent) calls C(DeleteAlias) when the alias exists.
  - The alias is looked up with C(ListAliases) (paginated) and O(target_key_id) is resolved with
    C(DescribeKey), so giving the key by id, ARN or another alias is idempotent.
  - Check mode is supported; nothing is changed and the result says what would be.
options:
  name:
    description:
      - The alias, with or without its V(alias/) prefix, for example V(researchenv) or V(alias/researchenv).
      - Names beginning with V(alias/aws/) are reserved for AWS managed keys and are refused.
    type: str
    required: true
    aliases: [alias]
  target_key_id:
    description:
      - The key the alias must point at, by key id, key ARN, alias name or alias ARN.
      - Required when O(state=present); ignored when O(state=absent).
    type: str
  state:
    description:
      - Whether the alias must exist (pointing at O(target_key_id)) or not.
    type: str
    choices: [present, absent]
    default: present
author:
  - research-env contributors (!UNKNOWN)
notes:
  - Deleting an alias does not affect its key; the key and its scheduled deletion are M(amazon.aws.kms_key)'s job.
  - Needs C(kms:ListAliases), C(kms:DescribeKey), and C(kms:CreateAlias), C(kms:UpdateAlias) or C(kms:DeleteAlias)
    on the alias and the keys involved.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Point the environment's alias at its key
  research_env.core.kms_alias:
    name: alias/researchenv
    target_key_id: "{{ env_key.key_arn }}"

- name: Remove the alias when the key is scheduled for deletion (a rebuild then makes a new key)
  research_env.core.kms_alias:
    name: researchenv
    state: absent
  register: alias_removed

- name: Say which key the alias named
  ansible.builtin.debug:
    msg: "alias/researchenv pointed at {{ alias_removed.previous_target_key_id }}"
  when: alias_removed is changed
"""

RETURN = r"""
alias:
  description: The alias as it is (or, in check mode, would be) after the task; null when it does not exist.
  returned: always
  type: dict
  contains:
    name:
      description: The alias name, with its V(alias/) prefix.
      type: str
      sample: alias/researchenv
    arn:
      description: The alias ARN.
      type: str
      sample: arn:aws:kms:eu-west-1:123456789012:alias/researchenv
    target_key_id:
      description: Id of the key the alias points at.
      type: str
      sample: 1234abcd-12ab-34cd-56ef-1234567890ab
  sample: {"name": "alias/researchenv", "arn": "arn:aws:kms:eu-west-1:123456789012:alias/researchenv",
           "target_key_id": "1234abcd-12ab-34cd-56ef-1234567890ab"}
previous_target_key_id:
  description: Id of the key the alias pointed at before the task; null when it did not exist.
  returned: always
  type: str
  sample: 0987dcba-09fe-87dc-65ba-ab0987654321
api_calls:
  description: Number of AWS API operations performed.
  returned: always
  type: int
  sample: 3
"""

import re
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

# KMS's own rule for alias names (CreateAlias), after the mandatory prefix.
_ALIAS_RE = re.compile(r"^alias/[a-zA-Z0-9/_-]+$")
ALIAS_MAX_LENGTH = 256


def canonical_alias_name(name: str | None) -> str:
    """The alias with its `alias/` prefix; ValueError for a name KMS would refuse or reserves for AWS.

    Refused here rather than by KMS so that a typo never reaches an AWS managed key's alias, and so the
    message says why (KMS answers a terse ValidationException or NotAuthorizedException)."""
    name = (name or "").strip()
    if not name.startswith("alias/"):
        name = "alias/" + name
    if name == "alias/aws" or name.startswith("alias/aws/"):
        raise ValueError(f"{name} is reserved for AWS managed keys")
    if len(name) > ALIAS_MAX_LENGTH or not _ALIAS_RE.match(name) or name.endswith("/"):
        raise ValueError(
            f"{name!r} is not a valid alias name (letters, digits, '/', '_' and '-' after 'alias/', "
            f"at most {ALIAS_MAX_LENGTH} characters)"
        )
    return name


def alias_arn(key_arn: str, name: str) -> str:
    """The ARN an alias of this key has: the key's partition, region and account, then the alias name."""
    prefix = key_arn.split(":key/", 1)[0]
    return f"{prefix}:{name}"


def alias_result(entry: dict | None) -> dict | None:
    """A ListAliases entry in the module's snake_case shape."""
    if entry is None:
        return None
    return {"name": entry["AliasName"], "arn": entry.get("AliasArn"), "target_key_id": entry.get("TargetKeyId")}


def plan(existing: dict | None, state: str, target_key_id: str | None) -> str | None:
    """Which call brings the alias to the wanted state: 'create', 'update', 'delete' or None."""
    if state == "absent":
        return "delete" if existing else None
    if existing is None:
        return "create"
    if existing.get("TargetKeyId") != target_key_id:
        return "update"
    return None


def list_aliases(client: Any) -> list[dict]:
    return paginated_query_with_retries(client, "list_aliases").get("Aliases", [])


def find_alias(client: Any, name: str) -> dict | None:
    return next((a for a in list_aliases(client) if a["AliasName"] == name), None)


def ensure(module: AnsibleAWSModule, client: Any) -> dict:
    """The module's work, from validated parameters to its result (without api_calls)."""
    params = module.params
    try:
        name = canonical_alias_name(params["name"])
    except ValueError as e:
        module.fail_json(msg=str(e))

    try:
        existing = find_alias(client, name)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Couldn't list the KMS aliases")

    key = None
    if params["state"] == "present":
        try:
            key = client.describe_key(KeyId=params["target_key_id"], aws_retry=True)["KeyMetadata"]
        except is_boto3_error_code("NotFoundException"):
            module.fail_json(msg=f"The key {params['target_key_id']} does not exist, {name} can't point at it")
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
            module.fail_json_aws(e, msg=f"Couldn't describe the key {params['target_key_id']}")

    action = plan(existing, params["state"], key["KeyId"] if key else None)
    previous = existing.get("TargetKeyId") if existing else None
    if action is None:
        return dict(changed=False, alias=alias_result(existing), previous_target_key_id=previous)

    if action == "delete":
        after = None
    else:
        arn = existing.get("AliasArn") if existing else None
        after = {"AliasName": name, "AliasArn": arn or alias_arn(key["Arn"], name), "TargetKeyId": key["KeyId"]}

    if not module.check_mode:
        try:
            if action == "create":
                client.create_alias(AliasName=name, TargetKeyId=key["KeyId"], aws_retry=True)
            elif action == "update":
                client.update_alias(AliasName=name, TargetKeyId=key["KeyId"], aws_retry=True)
            else:
                client.delete_alias(AliasName=name, aws_retry=True)
        except is_boto3_error_code("NotFoundException"):
            if action != "delete":
                module.fail_json(msg=f"Couldn't {action} {name}: the alias or key vanished meanwhile")
            # Deleted by someone else between the listing and now: the wanted state holds.
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
            module.fail_json_aws(e, msg=f"Couldn't {action} the KMS alias {name}")

    return dict(changed=True, alias=alias_result(after), previous_target_key_id=previous)


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True, aliases=["alias"]),
            target_key_id=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        required_if=[("state", "present", ["target_key_id"])],
        supports_check_mode=True,
    )
    counter = CallCounter()
    client = counter.watch(module.client("kms", retry_decorator=AWSRetry.jittered_backoff()))
    result = ensure(module, client)
    module.exit_json(api_calls=counter.calls, **result)


if __name__ == "__main__":
    main()
