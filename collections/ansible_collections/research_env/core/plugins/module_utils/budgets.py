# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What research_env.core.budget must change to bring an AWS cost budget, its notifications and their e-mail
subscribers to the wanted state: plain functions over the shapes AWS Budgets answers (DescribeBudget,
DescribeNotificationsForBudget, DescribeSubscribersForNotification), unit-tested without AWS. They return the
calls to make, never make one."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

PERCENTAGE = "PERCENTAGE"
EMAIL = "EMAIL"
# AWS's limits: a budget has up to 10 notifications, a notification up to 10 e-mail subscribers.
MAX_NOTIFICATIONS = 10
MAX_EMAIL_SUBSCRIBERS = 10


def notification_key(notification: dict[str, Any]) -> tuple[str, str, float, str]:
    """What identifies a notification to AWS. DescribeNotificationsForBudget leaves ThresholdType out when it
    is PERCENTAGE, and NotificationState is AWS's own (OK or ALARM), so neither may count as a difference."""
    return (
        notification["NotificationType"],
        notification["ComparisonOperator"],
        float(notification["Threshold"]),
        notification.get("ThresholdType") or PERCENTAGE,
    )


def canonical_notification(notification: dict[str, Any]) -> dict[str, Any]:
    """A notification as the module sends it: the identifying fields only, the threshold type explicit."""
    kind, operator, threshold, threshold_type = notification_key(notification)
    return {
        "NotificationType": kind,
        "ComparisonOperator": operator,
        "Threshold": threshold,
        "ThresholdType": threshold_type,
    }


def wanted_notifications(options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The module's notifications option in AWS's shape, each once (in the order given)."""
    wanted: dict[tuple, dict[str, Any]] = {}
    for option in options:
        notification = canonical_notification(
            {
                "NotificationType": option["notification_type"],
                "ComparisonOperator": option["comparison_operator"],
                "Threshold": option["threshold"],
                "ThresholdType": option["threshold_type"],
            }
        )
        wanted.setdefault(notification_key(notification), notification)
    return list(wanted.values())


def unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def input_errors(params: dict[str, Any]) -> list[str]:
    """What AWS would refuse (or the module cannot do) in the present-state parameters, said plainly."""
    errors = []
    if params.get("limit_usd") is None:
        errors.append("limit_usd is required when state=present")
    elif params["limit_usd"] <= 0:
        errors.append(f"limit_usd must be greater than 0 (got {params['limit_usd']})")
    notifications = wanted_notifications(params.get("notifications") or [])
    addresses = unique(params.get("subscribers") or [])
    if notifications and not addresses:
        errors.append("subscribers must name at least one e-mail address when there are notifications")
    if len(notifications) > MAX_NOTIFICATIONS:
        errors.append(f"a budget can have at most {MAX_NOTIFICATIONS} notifications (got {len(notifications)})")
    if len(addresses) > MAX_EMAIL_SUBSCRIBERS:
        errors.append(
            f"a notification can have at most {MAX_EMAIL_SUBSCRIBERS} e-mail subscribers (got {len(addresses)})"
        )
    if any(not address.strip() for address in addresses):
        errors.append("subscribers must not contain an empty address")
    for key, values in (params.get("cost_filters") or {}).items():
        if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
            errors.append(f"cost_filters.{key} must be a list of strings")
    for option in params.get("notifications") or []:
        if option["threshold"] < 0:
            errors.append(f"a notification threshold must not be negative (got {option['threshold']})")
    return errors


def amount_text(amount: float) -> str:
    """An amount as AWS's Spend.Amount takes it: a plain decimal, never an exponent (1e+16)."""
    return format(Decimal(str(amount)), "f")


def same_amount(left: Any, right: Any) -> bool:
    """AWS answers "100" as "100.0": amounts are compared as numbers."""
    try:
        return Decimal(str(left)) == Decimal(str(right))
    except (InvalidOperation, ValueError):
        return str(left) == str(right)


def normalized_filters(cost_filters: dict[str, list[str]] | None) -> dict[str, list[str]]:
    return {key: sorted(values or []) for key, values in (cost_filters or {}).items()}


def definition_changes(budget: dict[str, Any], limit_usd: float, time_unit: str, cost_filters: dict) -> list[str]:
    """What differs between the budget AWS has and the wanted limit, time unit and cost filters."""
    changes = []
    limit = budget.get("BudgetLimit") or {}
    if not same_amount(limit.get("Amount"), limit_usd) or limit.get("Unit") != "USD":
        changes.append(f"limit {limit.get('Amount')} {limit.get('Unit')} -> {amount_text(limit_usd)} USD")
    if budget.get("TimeUnit") != time_unit:
        changes.append(f"time unit {budget.get('TimeUnit')} -> {time_unit}")
    if normalized_filters(budget.get("CostFilters")) != normalized_filters(cost_filters):
        changes.append("cost filters")
    return changes


def budget_definition(
    name: str, limit_usd: float, time_unit: str, cost_filters: dict, existing: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The Budget of CreateBudget, or the NewBudget of UpdateBudget: UpdateBudget replaces the whole definition,
    so the existing budget's time period and cost types go along unchanged."""
    definition: dict[str, Any] = {
        "BudgetName": name,
        "BudgetType": "COST",
        "BudgetLimit": {"Amount": amount_text(limit_usd), "Unit": "USD"},
        "TimeUnit": time_unit,
    }
    if cost_filters:
        definition["CostFilters"] = {key: list(values) for key, values in cost_filters.items()}
    for kept in ("TimePeriod", "CostTypes"):
        if existing and existing.get(kept):
            definition[kept] = existing[kept]
    return definition


def predicted_budget(existing: dict[str, Any], definition: dict[str, Any]) -> dict[str, Any]:
    """The budget an UpdateBudget with this NewBudget leaves (for check mode): the definition replaces its own."""
    predicted = {**existing, **definition}
    if "CostFilters" not in definition:
        predicted.pop("CostFilters", None)
    return predicted


def email_subscribers(addresses: list[str]) -> list[dict[str, str]]:
    return [{"SubscriptionType": EMAIL, "Address": address} for address in addresses]


def subscriber_key(subscriber: dict[str, Any]) -> tuple[str, str]:
    return subscriber["SubscriptionType"], subscriber["Address"]


def subscriber_steps(current: list[dict[str, Any]], wanted: list[dict[str, Any]]) -> list[tuple[str, dict]]:
    """("subscribe" | "unsubscribe", subscriber) in an order AWS accepts.

    AWS deletes a notification with its last subscriber, so one subscriber always stays until a wanted one is
    there; and a notification takes at most 10 e-mail subscribers, so an unwanted one goes before the 11th."""
    wanted_keys = {subscriber_key(s) for s in wanted}
    current_keys = {subscriber_key(s) for s in current}
    extra = [s for s in current if subscriber_key(s) not in wanted_keys]
    missing = [s for s in wanted if subscriber_key(s) not in current_keys]
    remaining = [subscriber_key(s) for s in current]
    steps: list[tuple[str, dict]] = []

    def unsubscribe(subscriber: dict) -> None:
        steps.append(("unsubscribe", subscriber))
        remaining.remove(subscriber_key(subscriber))

    for subscriber in extra:
        if len(remaining) > 1:
            unsubscribe(subscriber)
    for subscriber in missing:
        if sum(1 for key in remaining if key[0] == EMAIL) >= MAX_EMAIL_SUBSCRIBERS:
            unsubscribe(next(s for s in extra if subscriber_key(s) in remaining and s["SubscriptionType"] == EMAIL))
        steps.append(("subscribe", subscriber))
        remaining.append(subscriber_key(subscriber))
    for subscriber in extra:
        if subscriber_key(subscriber) in remaining:
            unsubscribe(subscriber)
    return steps


def notification_plan(
    existing: list[tuple[dict[str, Any], list[dict[str, Any]]]], wanted: list[dict[str, Any]], addresses: list[str]
) -> dict[str, list]:
    """The notification calls that bring a budget's (notification, subscribers) pairs to the wanted notifications,
    each with exactly the wanted e-mail subscribers: notifications to delete (first, to make room), to create, and
    (notification, step, subscriber) subscriber changes of the notifications that stay."""
    wanted_keys = {notification_key(n) for n in wanted}
    existing_by_key = {notification_key(n): (n, subs) for n, subs in existing}
    subscribers = email_subscribers(addresses)
    plan: dict[str, list] = {"delete": [], "create": [], "subscribers": []}
    for notification, _subs in existing:
        if notification_key(notification) not in wanted_keys:
            plan["delete"].append(canonical_notification(notification))
    for notification in wanted:
        found = existing_by_key.get(notification_key(notification))
        if found is None:
            plan["create"].append(notification)
            continue
        for step, subscriber in subscriber_steps(found[1], subscribers):
            plan["subscribers"].append((notification, step, subscriber))
    return plan


def notification_label(notification: dict[str, Any]) -> str:
    kind, operator, threshold, threshold_type = notification_key(notification)
    unit = "%" if threshold_type == PERCENTAGE else " USD"
    return f"{kind} {operator} {threshold:g}{unit}"


def plan_changes(plan: dict[str, list]) -> list[str]:
    """One short line per call of the plan, for the module's `changes`."""
    lines = [f"delete notification {notification_label(n)}" for n in plan["delete"]]
    lines += [f"create notification {notification_label(n)}" for n in plan["create"]]
    lines += [f"{step} {s['Address']} ({notification_label(n)})" for n, step, s in plan["subscribers"]]
    return lines


def _plain(value: Any) -> Any:
    """Timestamps as ISO 8601 text, as Ansible results carry them."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def budget_result(budget: dict[str, Any] | None) -> dict[str, Any] | None:
    """A Budget in snake_case; the cost filters' own keys (TagKeyValue, Service, ...) are kept as AWS spells them."""
    if budget is None:
        return None
    result = camel_dict_to_snake_dict(_plain(budget), ignore_list=["CostFilters"])
    result.setdefault("cost_filters", {})
    return result


def notification_result(notification: dict[str, Any], subscribers: list[dict[str, Any]]) -> dict[str, Any]:
    result = camel_dict_to_snake_dict(canonical_notification(notification))
    result["subscribers"] = [camel_dict_to_snake_dict(s) for s in subscribers]
    return result
