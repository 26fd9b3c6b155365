"""AWS Budgets calls moto lacks, and the refusals it skips, as strict as AWS and never more lenient.

moto 5.2.5 has CreateBudget, DescribeBudget(s), DeleteBudget, CreateNotification, DeleteNotification and
DescribeNotificationsForBudget, but no UpdateBudget and nothing for subscribers, and it accepts what AWS refuses.
research_env.core.budget needs the whole cycle, so `install()` adds the calls to moto's BudgetsResponse (moto
dispatches an X-Amz-Target action to the method named as its snake_case) and replaces the ones whose answers or
checks differ. The state stays in moto's own BudgetsBackend (budgets per account, each with its notifications and
their subscribers), so moto's reset clears it.

What AWS does, per the Budgets API reference and botocore's model, and is modelled here:
- UpdateBudget replaces the definition of the budget NewBudget names (NotFoundException when there is none); the
  notifications and their subscribers stay. A TimePeriod left out keeps the budget's own.
- CreateBudget/UpdateBudget take a BudgetLimit or PlannedBudgetLimits, not both (InvalidParameterException), and
  an Amount of the model's pattern ([0-9]*.)?[0-9]+. AWS answers an amount as a decimal ("100" is read back as
  "100.0"). Without a start date the budget starts at the start of its period (day, month, quarter, year, UTC);
  without an end date it ends on 2087-06-15 (moto took the month's start in local time for every unit).
- A budget name is unique in its account (DuplicateRecordException, moto already did so).
- A budget has at most 10 notifications (the Notification shape's documentation and the model's
  NotificationWithSubscribersList max 10): the 11th is CreationLimitExceededException.
- A notification has at least one subscriber, at most 1 SNS and 10 EMAIL subscribers
  (CreationLimitExceededException, with AWS's "one notification can only have 1 subscribers with type of SNS").
- A notification is identified by its type, comparison operator, threshold and threshold type (PERCENTAGE when
  left out); NotificationState is AWS's to set. An existing one given again is DuplicateRecordException; one
  that does not exist is NotFoundException for DeleteNotification and the subscriber calls (moto deleted nothing
  and succeeded; its DescribeNotificationsForBudget of a missing budget was an internal error).
- Subscribers given with CreateBudget's NotificationsWithSubscribers or CreateNotification are kept and answered by
  DescribeSubscribersForNotification; CreateSubscriber of an existing one is DuplicateRecordException; DeleteSubscriber
  of the last one deletes the notification (the API reference says so); DeleteNotification drops its subscribers.
- DescribeNotificationsForBudget answers NotificationState (OK: the emulator has no spend) and leaves ThresholdType
  out when it is PERCENTAGE, as AWS does (terraform-provider-aws and aws-cli issue 7145 note it); a module must read
  a missing ThresholdType as PERCENTAGE.
- MaxResults is 1 to 100; NextToken pages through the answer (InvalidNextTokenException for a token it did not give).

Not modelled (unsure what AWS answers): the budget name's pattern, the e-mail and SNS address formats, changing a
budget's type with UpdateBudget, two equal subscribers in one request, the threshold's upper bound, UpdateNotification.
The error codes of a malformed amount or time period are the API reference's generic InvalidParameterException.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from moto.budgets.exceptions import BudgetMissingLimit, DuplicateRecordException, NotFoundException
from moto.budgets.models import Budget, Notification
from moto.budgets.responses import BudgetsResponse
from moto.core.exceptions import JsonRESTError
from moto.core.utils import unix_time

MAX_NOTIFICATIONS = 10
MAX_SUBSCRIBERS = {"SNS": 1, "EMAIL": 10}
DEFAULT_END = 3706473600  # 2087-06-15T00:00:00Z, AWS's end date when none is given
PAGE_SIZES = range(1, 101)
AMOUNT = re.compile(r"^([0-9]*\.)?[0-9]+$")
PERCENTAGE = "PERCENTAGE"


def error(code: str, message: str) -> JsonRESTError:
    return JsonRESTError(code, message)


def invalid(message: str) -> JsonRESTError:
    return error("InvalidParameterException", message)


def over_limit(message: str) -> JsonRESTError:
    return error("CreationLimitExceededException", message)


# --- Notifications and subscribers ------------------------------------------------------------------------


def notification_key(notification: dict[str, Any]) -> tuple[str, str, float, str]:
    return (
        notification.get("NotificationType"),
        notification.get("ComparisonOperator"),
        float(notification.get("Threshold") or 0),
        notification.get("ThresholdType") or PERCENTAGE,
    )


def stored_notification(notification: dict[str, Any]) -> dict[str, Any]:
    """The notification as kept: its identifying fields, with the threshold type made explicit."""
    kind, operator, threshold, threshold_type = notification_key(notification)
    return {
        "NotificationType": kind,
        "ComparisonOperator": operator,
        "Threshold": threshold,
        "ThresholdType": threshold_type,
    }


def answered_notification(notification: dict[str, Any]) -> dict[str, Any]:
    """As DescribeNotificationsForBudget answers it: no ThresholdType when PERCENTAGE, a NotificationState."""
    answer = {key: value for key, value in notification.items() if key != "ThresholdType"}
    if notification["ThresholdType"] != PERCENTAGE:
        answer["ThresholdType"] = notification["ThresholdType"]
    answer["NotificationState"] = "OK"
    return answer


def subscriber_key(subscriber: dict[str, Any]) -> tuple[str, str]:
    return subscriber.get("SubscriptionType"), subscriber.get("Address")


def check_subscriber_limits(subscribers: list[dict[str, Any]]) -> None:
    if not subscribers:
        raise invalid("A notification must have at least one subscriber")
    for kind, limit in MAX_SUBSCRIBERS.items():
        if sum(1 for s in subscribers if s.get("SubscriptionType") == kind) > limit:
            raise over_limit(f"one notification can only have {limit} subscribers with type of {kind}")


def find_notification(budget: Budget, notification: dict[str, Any], action: str) -> Notification:
    key = notification_key(notification or {})
    for found in budget.notifications:
        if notification_key(found.details) == key:
            return found
    raise NotFoundException(f"Unable to {action} - the notification doesn't exist.")


# --- Budgets ------------------------------------------------------------------------------------------------


def get_budget(response: BudgetsResponse, action: str, name: str | None = None) -> Budget:
    name = name if name is not None else response._get_param("BudgetName")
    budget = response.backend.budgets[response._get_param("AccountId")].get(name)
    if budget is None:
        raise NotFoundException(f"Unable to {action}: {name} - the budget doesn't exist.")
    return budget


def period_start(time_unit: str | None, now: datetime) -> datetime:
    """The start AWS gives a budget without one: the start of the current day, month, quarter or year (UTC)."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if time_unit == "MONTHLY":
        return day.replace(day=1)
    if time_unit == "QUARTERLY":
        return day.replace(day=1, month=(day.month - 1) // 3 * 3 + 1)
    if time_unit == "ANNUALLY":
        return day.replace(day=1, month=1)
    return day


def decimal_amount(spend: dict[str, Any], where: str) -> dict[str, Any]:
    amount = str(spend.get("Amount", ""))
    if not AMOUNT.match(amount):
        raise invalid(f"{where}: {amount!r} is not a valid amount")
    return {**spend, "Amount": str(float(Decimal(amount)))}


def checked_definition(budget: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """The definition AWS keeps for a CreateBudget's Budget or an UpdateBudget's NewBudget."""
    definition = dict(budget)
    if "BudgetLimit" not in definition and "PlannedBudgetLimits" not in definition:
        raise BudgetMissingLimit()
    if "BudgetLimit" in definition and "PlannedBudgetLimits" in definition:
        raise invalid("Only one of BudgetLimit or PlannedBudgetLimits can be present")
    if "BudgetLimit" in definition:
        definition["BudgetLimit"] = decimal_amount(definition["BudgetLimit"], "BudgetLimit")
    if "TimePeriod" not in definition and previous is not None:
        definition["TimePeriod"] = previous["TimePeriod"]
    period = dict(definition.get("TimePeriod") or {})
    if period.get("Start") is None:
        period["Start"] = unix_time(period_start(definition.get("TimeUnit"), datetime.now(UTC)).replace(tzinfo=None))
    if period.get("End") is None:
        period["End"] = DEFAULT_END
    if float(period["Start"]) >= float(period["End"]):
        raise invalid("The start date must come before the end date")
    definition["TimePeriod"] = period
    if previous is not None and "CalculatedSpend" in previous:
        definition.setdefault("CalculatedSpend", previous["CalculatedSpend"])
    return definition


def checked_notifications(entries: list[dict[str, Any]], existing: list[Notification]) -> list[dict[str, Any]]:
    """NotificationsWithSubscribers (or one CreateNotification) checked against the budget's notifications."""
    if len(existing) + len(entries) > MAX_NOTIFICATIONS:
        raise over_limit(f"A budget can have at most {MAX_NOTIFICATIONS} notifications")
    seen = {notification_key(n.details) for n in existing}
    checked = []
    for entry in entries:
        notification = stored_notification(entry.get("Notification") or {})
        if notification_key(notification) in seen:
            label = " ".join(str(part) for part in notification_key(notification))
            raise DuplicateRecordException(record_type="notification", record_name=label)
        seen.add(notification_key(notification))
        subscribers = [dict(s) for s in entry.get("Subscribers") or []]
        check_subscriber_limits(subscribers)
        checked.append({"Notification": notification, "Subscribers": subscribers})
    return checked


def page(items: list[Any], max_results: int | None, token: str | None) -> tuple[list[Any], str | None]:
    if max_results is not None and max_results not in PAGE_SIZES:
        raise invalid(f"MaxResults must be between {PAGE_SIZES.start} and {PAGE_SIZES.stop - 1}")
    start = 0
    if token:
        if not token.isdigit() or int(token) > len(items):
            raise error("InvalidNextTokenException", "The pagination token is invalid.")
        start = int(token)
    end = start + (max_results or PAGE_SIZES.stop - 1)
    return items[start:end], (str(end) if end < len(items) else None)


def answer(**fields: Any) -> str:
    return json.dumps({key: value for key, value in fields.items() if value is not None})


# --- The calls -----------------------------------------------------------------------------------------------


def create_budget(self: BudgetsResponse) -> str:
    account_id = self._get_param("AccountId")
    budget = self._get_param("Budget") or {}
    name = budget.get("BudgetName")
    if name in self.backend.budgets[account_id]:
        raise DuplicateRecordException(record_type="budget", record_name=name)
    notifications = checked_notifications(self._get_param("NotificationsWithSubscribers") or [], [])
    self.backend.budgets[account_id][name] = Budget(checked_definition(budget, None), notifications)
    return answer()


def update_budget(self: BudgetsResponse) -> str:
    new = self._get_param("NewBudget") or {}
    budget = get_budget(self, "update budget", new.get("BudgetName"))
    budget.budget = checked_definition(new, budget.budget)
    budget.budget["LastUpdatedTime"] = unix_time()
    return answer()


def describe_budgets(self: BudgetsResponse) -> str:
    budgets = self.backend.describe_budgets(account_id=self._get_param("AccountId"))
    shown, token = page(list(budgets), self._get_param("MaxResults"), self._get_param("NextToken"))
    return answer(Budgets=shown, NextToken=token)


def describe_notifications_for_budget(self: BudgetsResponse) -> str:
    budget = get_budget(self, "describe notifications")
    notifications = [answered_notification(n.details) for n in budget.notifications]
    shown, token = page(notifications, self._get_param("MaxResults"), self._get_param("NextToken"))
    return answer(Notifications=shown, NextToken=token)


def create_notification(self: BudgetsResponse) -> str:
    budget = get_budget(self, "create notification")
    entry = {"Notification": self._get_param("Notification"), "Subscribers": self._get_param("Subscribers")}
    (checked,) = checked_notifications([entry], budget.notifications)
    budget.add_notification(checked["Notification"], checked["Subscribers"])
    return answer()


def delete_notification(self: BudgetsResponse) -> str:
    budget = get_budget(self, "delete notification")
    found = find_notification(budget, self._get_param("Notification"), "delete notification")
    budget.notifications.remove(found)  # its subscribers go with it
    return answer()


def describe_subscribers_for_notification(self: BudgetsResponse) -> str:
    budget = get_budget(self, "describe subscribers")
    found = find_notification(budget, self._get_param("Notification"), "describe subscribers")
    shown, token = page(list(found.subscribers), self._get_param("MaxResults"), self._get_param("NextToken"))
    return answer(Subscribers=shown, NextToken=token)


def create_subscriber(self: BudgetsResponse) -> str:
    budget = get_budget(self, "create subscriber")
    found = find_notification(budget, self._get_param("Notification"), "create subscriber")
    subscriber = dict(self._get_param("Subscriber") or {})
    if any(subscriber_key(s) == subscriber_key(subscriber) for s in found.subscribers):
        raise DuplicateRecordException(record_type="subscriber", record_name=str(subscriber.get("Address")))
    check_subscriber_limits([*found.subscribers, subscriber])
    found.subscribers.append(subscriber)
    return answer()


def delete_subscriber(self: BudgetsResponse) -> str:
    budget = get_budget(self, "delete subscriber")
    found = find_notification(budget, self._get_param("Notification"), "delete subscriber")
    key = subscriber_key(self._get_param("Subscriber") or {})
    remaining = [s for s in found.subscribers if subscriber_key(s) != key]
    if len(remaining) == len(found.subscribers):
        raise NotFoundException("Unable to delete subscriber - the subscriber doesn't exist.")
    found.subscribers = remaining
    if not remaining:  # AWS deletes a notification with its last subscriber
        budget.notifications.remove(found)
    return answer()


def update_subscriber(self: BudgetsResponse) -> str:
    budget = get_budget(self, "update subscriber")
    found = find_notification(budget, self._get_param("Notification"), "update subscriber")
    old, new = self._get_param("OldSubscriber") or {}, dict(self._get_param("NewSubscriber") or {})
    keys = [subscriber_key(s) for s in found.subscribers]
    if subscriber_key(old) not in keys:
        raise NotFoundException("Unable to update subscriber - the subscriber doesn't exist.")
    if subscriber_key(new) != subscriber_key(old) and subscriber_key(new) in keys:
        raise DuplicateRecordException(record_type="subscriber", record_name=str(new.get("Address")))
    updated = [new if subscriber_key(s) == subscriber_key(old) else s for s in found.subscribers]
    check_subscriber_limits(updated)
    found.subscribers = updated
    return answer()


CALLS = (
    create_budget,
    update_budget,
    describe_budgets,
    describe_notifications_for_budget,
    create_notification,
    delete_notification,
    describe_subscribers_for_notification,
    create_subscriber,
    delete_subscriber,
    update_subscriber,
)


def install() -> None:
    """Add the Budgets calls moto lacks and AWS's checks to the ones it has; calling it again changes nothing."""
    for call in CALLS:
        setattr(BudgetsResponse, call.__name__, call)
