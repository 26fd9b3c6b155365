#!/usr/bin/python
# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: budget
short_description: Manage an AWS cost budget with its notifications and e-mail subscribers
version_added: 0.1.0
description:
  - Creates, updates or deletes one AWS Budgets cost budget (in US dollars), with the notifications it sends and
    the e-mail addresses they go to, in one task.
  - No maintained module manages AWS Budgets (amazon.aws and community.aws have none).
  - The budget is read once (C(DescribeBudget)), with its notifications (C(DescribeNotificationsForBudget)) and
    their subscribers (C(DescribeSubscribersForNotification)); only what differs is written. A missing budget is
    made with C(CreateBudget), notifications and subscribers included. An existing one gets C(UpdateBudget) only
    when its limit, time unit or cost filters differ (its time period and cost types are kept as AWS has them),
    C(CreateNotification) and C(DeleteNotification) for notifications, and C(CreateSubscriber) and
    C(DeleteSubscriber) for subscribers.
  - Every notification has exactly the O(subscribers) as its e-mail subscribers; other subscribers (an SNS topic
    added elsewhere included) are removed, and notifications not in O(notifications) are deleted.
  - Budget limits are compared as numbers (AWS answers V(100) as V(100.0)).
  - V(absent) deletes the budget; its notifications and subscribers go with it.
  - Check mode is supported; nothing is written and RV(changes) says what would be.
options:
  name:
    description: The budget's name, unique in the account.
    type: str
    required: true
  state:
    description: Whether the budget must exist.
    type: str
    choices: [present, absent]
    default: present
  limit_usd:
    description:
      - The budgeted cost per O(time_unit), in US dollars; greater than 0.
      - Required when O(state=present).
    type: float
  time_unit:
    description: The period after which the budget's actual and forecasted cost start again from zero.
    type: str
    choices: [MONTHLY, QUARTERLY, ANNUALLY]
    default: MONTHLY
  cost_filters:
    description:
      - The costs the budget counts, as AWS's C(CostFilters), a filter name with its values.
      - For example the filter C(TagKeyValue) with the value C(user:Environment$researchenv) counts the costs of
        resources tagged C(Environment=researchenv); the tag must be activated as a cost allocation tag.
      - Empty counts every cost of the account.
    type: dict
    default: {}
  notifications:
    description:
      - The notifications the budget sends (at most 10, AWS's limit). Other notifications are deleted.
    type: list
    elements: dict
    default: []
    suboptions:
      notification_type:
        description: Whether the actual or the forecasted cost is compared with the threshold.
        type: str
        choices: [ACTUAL, FORECASTED]
        required: true
      threshold:
        description:
          - The threshold, a percentage of O(limit_usd) or an amount in US dollars
            (see O(notifications[].threshold_type)).
        type: float
        required: true
      comparison_operator:
        description: How the cost is compared with the threshold.
        type: str
        choices: [GREATER_THAN, LESS_THAN, EQUAL_TO]
        default: GREATER_THAN
      threshold_type:
        description: Whether O(notifications[].threshold) is a percentage of the limit or an absolute amount.
        type: str
        choices: [PERCENTAGE, ABSOLUTE_VALUE]
        default: PERCENTAGE
  subscribers:
    description:
      - The e-mail addresses every notification is sent to (at most 10, AWS's limit).
      - Required, not empty, when there are O(notifications).
    type: list
    elements: str
    default: []
  account_id:
    description: The account the budget belongs to; by default the caller's own (from C(GetCallerIdentity)).
    type: str
author:
  - research-env contributors (!UNKNOWN)
notes:
  - AWS Budgets is a global service; its endpoint is in us-east-1.
  - Needs C(budgets:ViewBudget) and C(budgets:ModifyBudget), and C(sts:GetCallerIdentity) without O(account_id).
  - The first two budgets of an account are free; AWS charges for more.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: A monthly budget for the environment's costs, with alerts at 80% actual and 100% forecasted
  research_env.core.budget:
    name: researchenv-monthly
    limit_usd: 200
    cost_filters:
      TagKeyValue: ["user:Environment$researchenv"]
    notifications:
      - notification_type: ACTUAL
        threshold: 80
      - notification_type: FORECASTED
        threshold: 100
    subscribers:
      - research-admins@example.org
  register: budget

- name: Remove the budget with the environment
  research_env.core.budget:
    name: researchenv-monthly
    state: absent
"""

RETURN = r"""
budget:
  description:
    - The budget as C(DescribeBudget) answers it (snake_case; the cost filters' names as AWS spells them), null when
      it does not exist. In check mode, what it would be.
    - With O(state=absent), the budget that was deleted (in check mode, that would be), null when there was none.
  returned: always
  type: dict
  contains:
    budget_name:
      description: The budget's name.
      type: str
      sample: researchenv-monthly
    budget_limit:
      description: The limit, its amount as AWS answers it (text).
      type: dict
      sample: {"amount": "200.0", "unit": "USD"}
    time_unit:
      description: The budget's period.
      type: str
      sample: MONTHLY
    budget_type:
      description: Always V(COST).
      type: str
      sample: COST
    cost_filters:
      description: The cost filters, a filter name with its values.
      type: dict
      sample: {"TagKeyValue": ["user:Environment$researchenv"]}
    time_period:
      description: The start and end of the budget (ISO 8601).
      type: dict
      sample: {"start": "2025-01-01T00:00:00+00:00", "end": "2087-06-15T00:00:00+00:00"}
    cost_types:
      description: Which kinds of cost the budget counts (credits, refunds, taxes, ...).
      type: dict
    calculated_spend:
      description: The actual and forecasted spend AWS has calculated.
      type: dict
  sample: {"budget_name": "researchenv-monthly", "budget_limit": {"amount": "200.0", "unit": "USD"},
           "time_unit": "MONTHLY", "budget_type": "COST", "cost_filters": {}}
notifications:
  description: The budget's notifications, each with its subscribers; in check mode, what they would be.
  returned: always
  type: list
  elements: dict
  contains:
    notification_type:
      description: V(ACTUAL) or V(FORECASTED).
      type: str
      sample: ACTUAL
    comparison_operator:
      description: How the cost is compared with the threshold.
      type: str
      sample: GREATER_THAN
    threshold:
      description: The threshold.
      type: float
      sample: 80.0
    threshold_type:
      description: V(PERCENTAGE) or V(ABSOLUTE_VALUE).
      type: str
      sample: PERCENTAGE
    subscribers:
      description: Who is notified, each with its C(subscription_type) (V(EMAIL) or V(SNS)) and C(address).
      type: list
      elements: dict
      sample: [{"subscription_type": "EMAIL", "address": "research-admins@example.org"}]
changes:
  description: What was (or, in check mode, would be) done, one line each.
  returned: always
  type: list
  elements: str
  sample: ["update budget (limit 100.0 USD -> 150.0 USD)", "create notification FORECASTED GREATER_THAN 100%"]
account_id:
  description: The account the budget belongs to.
  returned: always
  type: str
  sample: "123456789012"
api_calls:
  description: Number of AWS API operations performed.
  returned: always
  type: int
  sample: 4
"""

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
from ansible_collections.research_env.core.plugins.module_utils.budgets import (
    budget_definition,
    budget_result,
    canonical_notification,
    definition_changes,
    email_subscribers,
    input_errors,
    notification_label,
    notification_plan,
    notification_result,
    plan_changes,
    predicted_budget,
    unique,
    wanted_notifications,
)
from ansible_collections.research_env.core.plugins.module_utils.calls import CallCounter


class Budget:
    """One budget of one account: read once, every write skipped in check mode."""

    def __init__(self, module: AnsibleAWSModule, client: Any, account_id: str) -> None:
        self.module = module
        self.client = client
        self.account_id = account_id
        self.name = module.params["name"]

    def describe(self) -> dict | None:
        """The budget, None when it does not exist."""
        try:
            answer = self.client.describe_budget(AccountId=self.account_id, BudgetName=self.name, aws_retry=True)
        except is_boto3_error_code("NotFoundException"):
            return None
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
            self.module.fail_json_aws(e, msg=f"Couldn't describe the budget {self.name}")
        return answer["Budget"]

    def notifications(self) -> list[tuple[dict, list[dict]]]:
        """The budget's (notification, subscribers) pairs."""
        pairs = []
        for notification in self.paged("describe_notifications_for_budget", "Notifications"):
            subscribers = self.paged(
                "describe_subscribers_for_notification",
                "Subscribers",
                Notification=canonical_notification(notification),
            )
            pairs.append((notification, subscribers))
        return pairs

    def paged(self, method: str, key: str, **params: Any) -> list[dict]:
        try:
            answer = paginated_query_with_retries(
                self.client, method, AccountId=self.account_id, BudgetName=self.name, **params
            )
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            self.module.fail_json_aws(e, msg=f"Couldn't {method.replace('_', ' ')} {self.name}")
        return answer.get(key, [])

    def write(self, what: str, method: str, **params: Any) -> None:
        if self.module.check_mode:
            return
        try:
            getattr(self.client, method)(AccountId=self.account_id, aws_retry=True, **params)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            self.module.fail_json_aws(e, msg=f"Couldn't {what} (budget {self.name})")


def create(budget: Budget, wanted: list[dict], subscribers: list[dict]) -> dict:
    params = budget.module.params
    definition = budget_definition(params["name"], params["limit_usd"], params["time_unit"], params["cost_filters"])
    entries = [{"Notification": n, "Subscribers": subscribers} for n in wanted]
    budget.write("create the budget", "create_budget", Budget=definition, NotificationsWithSubscribers=entries)
    changes = ["create budget"] + [f"create notification {notification_label(n)}" for n in wanted]
    after = definition if budget.module.check_mode else budget.describe()
    return dict(changed=True, changes=changes, budget=budget_result(after))


def update(budget: Budget, existing: dict, pairs: list, wanted: list[dict], addresses: list[str]) -> dict:
    params = budget.module.params
    name, subscribers = params["name"], email_subscribers(addresses)
    changes = []
    after = existing
    differences = definition_changes(existing, params["limit_usd"], params["time_unit"], params["cost_filters"])
    if differences:
        definition = budget_definition(name, params["limit_usd"], params["time_unit"], params["cost_filters"], existing)
        budget.write("update the budget", "update_budget", NewBudget=definition)
        changes.append(f"update budget ({', '.join(differences)})")
        after = predicted_budget(existing, definition)

    plan = notification_plan(pairs, wanted, addresses)
    for notification in plan["delete"]:
        what = f"delete the notification {notification_label(notification)}"
        budget.write(what, "delete_notification", BudgetName=name, Notification=notification)
    for notification in plan["create"]:
        what = f"create the notification {notification_label(notification)}"
        budget.write(what, "create_notification", BudgetName=name, Notification=notification, Subscribers=subscribers)
    for notification, step, subscriber in plan["subscribers"]:
        method = "create_subscriber" if step == "subscribe" else "delete_subscriber"
        what = f"{step} {subscriber['Address']} ({notification_label(notification)})"
        budget.write(what, method, BudgetName=name, Notification=notification, Subscriber=subscriber)
    changes += plan_changes(plan)

    if differences and not budget.module.check_mode:
        after = budget.describe()
    return dict(changed=bool(changes), changes=changes, budget=budget_result(after))


def ensure(module: AnsibleAWSModule, budget: Budget) -> dict:
    """The module's work, from validated parameters to its result (without api_calls)."""
    existing = budget.describe()
    if module.params["state"] == "absent":
        if existing is None:
            return dict(changed=False, changes=[], budget=None, notifications=[])
        budget.write("delete the budget", "delete_budget", BudgetName=budget.name)
        # What was deleted (or would be, in check mode): teardown finds and records the budget this way.
        return dict(changed=True, changes=["delete budget"], budget=budget_result(existing), notifications=[])

    wanted = wanted_notifications(module.params["notifications"])
    addresses = unique(module.params["subscribers"])
    if existing is None:
        result = create(budget, wanted, email_subscribers(addresses))
    else:
        pairs = budget.notifications()
        result = update(budget, existing, pairs, wanted, addresses)
        if not result["changed"]:
            return dict(result, notifications=[notification_result(n, subs) for n, subs in pairs])
    return dict(result, notifications=[notification_result(n, email_subscribers(addresses)) for n in wanted])


def account_of_caller(module: AnsibleAWSModule, counter: CallCounter) -> str:
    sts = counter.watch(module.client("sts", retry_decorator=AWSRetry.jittered_backoff()))
    try:
        return sts.get_caller_identity(aws_retry=True)["Account"]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Couldn't find the caller's account (give account_id)")


def main() -> None:
    notification_spec = dict(
        notification_type=dict(type="str", required=True, choices=["ACTUAL", "FORECASTED"]),
        threshold=dict(type="float", required=True),
        comparison_operator=dict(type="str", default="GREATER_THAN", choices=["GREATER_THAN", "LESS_THAN", "EQUAL_TO"]),
        threshold_type=dict(type="str", default="PERCENTAGE", choices=["PERCENTAGE", "ABSOLUTE_VALUE"]),
    )
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            limit_usd=dict(type="float"),
            time_unit=dict(type="str", default="MONTHLY", choices=["MONTHLY", "QUARTERLY", "ANNUALLY"]),
            cost_filters=dict(type="dict", default={}),
            notifications=dict(type="list", elements="dict", default=[], options=notification_spec),
            subscribers=dict(type="list", elements="str", default=[]),
            account_id=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    if module.params["state"] == "present":
        errors = input_errors(module.params)
        if errors:
            module.fail_json(msg="; ".join(errors))

    counter = CallCounter()
    account_id = module.params["account_id"] or account_of_caller(module, counter)
    client = counter.watch(module.client("budgets", retry_decorator=AWSRetry.jittered_backoff()))
    result = ensure(module, Budget(module, client, account_id))
    module.exit_json(api_calls=counter.calls, account_id=account_id, **result)


if __name__ == "__main__":
    main()
