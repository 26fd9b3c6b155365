"""scripts/emulator_budgets.py: AWS Budgets in the emulator answers with botocore's shapes, keeps notifications'
subscribers, updates a budget in place and refuses what AWS refuses.

The patches are installed the way the server gets them (`import moto_server`), then used in-process through moto's
mock. Every successful answer's raw JSON is checked against botocore's output shape (boto3's parser would silently
drop a member the model does not know), and its parsed answer against the shape's enums.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import moto_server  # noqa: F401 - patches moto in place, as the server does
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

ACCOUNT = "123456789012"
NAME = "research"
EMAIL = {"SubscriptionType": "EMAIL", "Address": "ops@example.org"}
ACTUAL_80 = {"NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN", "Threshold": 80.0}


def _json_matches_shape(value: Any, shape: Any, where: str) -> None:
    if shape.type_name == "structure":
        assert isinstance(value, dict), where
        for key, item in value.items():
            assert key in shape.members, f"{where}: {key} is not a member of {shape.name}"
            _json_matches_shape(item, shape.members[key], f"{where}.{key}")
    elif shape.type_name == "list":
        for item in value:
            _json_matches_shape(item, shape.member, f"{where}[]")
    elif shape.type_name == "map":
        for key, item in value.items():
            _json_matches_shape(item, shape.value, f"{where}[{key}]")
    elif getattr(shape, "enum", None):
        assert value in shape.enum, f"{where}: {value!r} not in {shape.enum}"


def check_answer(http_response: Any, model: Any, **_: Any) -> None:
    """botocore's after-call hook: a successful answer's JSON has only the members of its output shape."""
    if http_response.status_code != 200:
        return
    body = json.loads(http_response.content or b"{}")
    if model.output_shape is None:
        assert body == {}
        return
    _json_matches_shape(body, model.output_shape, model.name)


@pytest.fixture
def budgets(aws_env) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("budgets", region_name="us-east-1")
        client.meta.events.register("after-call.budgets", check_answer)
        yield client


def definition(**overrides: Any) -> dict[str, Any]:
    return {
        "BudgetName": NAME,
        "BudgetLimit": {"Amount": "100", "Unit": "USD"},
        "TimeUnit": "MONTHLY",
        "BudgetType": "COST",
        **overrides,
    }


def notification(threshold: float, **overrides: Any) -> dict[str, Any]:
    return {**ACTUAL_80, "Threshold": threshold, **overrides}


def email(n: int) -> dict[str, str]:
    return {"SubscriptionType": "EMAIL", "Address": f"user{n}@example.org"}


@pytest.fixture
def budget(budgets) -> str:
    budgets.create_budget(
        AccountId=ACCOUNT,
        Budget=definition(),
        NotificationsWithSubscribers=[{"Notification": ACTUAL_80, "Subscribers": [EMAIL]}],
    )
    return NAME


def refused(call: Callable[[], object], code: str) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    assert caught.value.response["Error"]["Code"] == code, caught.value.response
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return caught.value.response["Error"]["Message"]


def describe(budgets) -> dict[str, Any]:
    return budgets.describe_budget(AccountId=ACCOUNT, BudgetName=NAME)["Budget"]


def notifications(budgets) -> list[dict[str, Any]]:
    return budgets.describe_notifications_for_budget(AccountId=ACCOUNT, BudgetName=NAME)["Notifications"]


def subscribers(budgets, notification: dict[str, Any]) -> list[dict[str, str]]:
    answer = budgets.describe_subscribers_for_notification(
        AccountId=ACCOUNT, BudgetName=NAME, Notification=notification
    )
    return answer["Subscribers"]


# ------------------------------------------------------------------------------------------------ budgets


def test_an_amount_is_answered_as_a_decimal(budgets, budget):
    """AWS reads "100" back as "100.0"; a module comparing strings would update on every run."""
    assert describe(budgets)["BudgetLimit"] == {"Amount": "100.0", "Unit": "USD"}


@pytest.mark.parametrize(
    ("time_unit", "start"),
    [
        ("DAILY", lambda now: now.replace(hour=0, minute=0, second=0, microsecond=0)),
        ("MONTHLY", lambda now: datetime(now.year, now.month, 1, tzinfo=UTC)),
        ("QUARTERLY", lambda now: datetime(now.year, (now.month - 1) // 3 * 3 + 1, 1, tzinfo=UTC)),
        ("ANNUALLY", lambda now: datetime(now.year, 1, 1, tzinfo=UTC)),
    ],
)
def test_a_budget_without_a_time_period_starts_with_its_period_and_ends_in_2087(budgets, time_unit, start):
    """AWS's defaults: the start of the current day/month/quarter/year (UTC), the end 2087-06-15."""
    budgets.create_budget(AccountId=ACCOUNT, Budget=definition(TimeUnit=time_unit))
    period = describe(budgets)["TimePeriod"]
    assert period["Start"] == start(datetime.now(UTC))
    assert period["End"] == datetime(2087, 6, 15, tzinfo=UTC)


def test_a_budget_name_is_unique_in_its_account(budgets, budget):
    refused(lambda: budgets.create_budget(AccountId=ACCOUNT, Budget=definition()), "DuplicateRecordException")


def test_a_budget_has_a_limit_or_planned_limits_not_both(budgets):
    """CreateBudget wants one of BudgetLimit and PlannedBudgetLimits (InvalidParameterException otherwise)."""
    no_limit = {k: v for k, v in definition().items() if k != "BudgetLimit"}
    refused(lambda: budgets.create_budget(AccountId=ACCOUNT, Budget=no_limit), "InvalidParameterException")
    both = definition(PlannedBudgetLimits={"1700000000": {"Amount": "10", "Unit": "USD"}})
    refused(lambda: budgets.create_budget(AccountId=ACCOUNT, Budget=both), "InvalidParameterException")


def test_an_amount_must_be_a_plain_decimal(budgets):
    """The model's pattern for an amount is ([0-9]*.)?[0-9]+: no sign, no exponent."""
    for amount in ("-5", "1e3", "ten"):
        bad = definition(BudgetLimit={"Amount": amount, "Unit": "USD"})
        refused(lambda bad=bad: budgets.create_budget(AccountId=ACCOUNT, Budget=bad), "InvalidParameterException")


def test_update_replaces_the_definition_and_keeps_notifications_and_time_period(budgets, budget):
    before = describe(budgets)
    new = definition(
        BudgetLimit={"Amount": "150.5", "Unit": "USD"},
        CostFilters={"TagKeyValue": ["user:Environment$researchenv"]},
    )
    budgets.update_budget(AccountId=ACCOUNT, NewBudget=new)
    after = describe(budgets)
    assert after["BudgetLimit"] == {"Amount": "150.5", "Unit": "USD"}
    assert after["CostFilters"] == {"TagKeyValue": ["user:Environment$researchenv"]}
    assert after["TimePeriod"] == before["TimePeriod"]
    assert after["LastUpdatedTime"] >= before["LastUpdatedTime"]
    assert len(notifications(budgets)) == 1
    assert subscribers(budgets, ACTUAL_80) == [EMAIL]
    # NewBudget replaces: filters left out are gone.
    budgets.update_budget(AccountId=ACCOUNT, NewBudget=definition())
    assert describe(budgets).get("CostFilters", {}) == {}


def test_update_of_a_missing_budget_is_not_found(budgets):
    refused(lambda: budgets.update_budget(AccountId=ACCOUNT, NewBudget=definition()), "NotFoundException")


def test_update_without_a_limit_is_refused(budgets, budget):
    no_limit = {k: v for k, v in definition().items() if k != "BudgetLimit"}
    refused(lambda: budgets.update_budget(AccountId=ACCOUNT, NewBudget=no_limit), "InvalidParameterException")


def test_delete_budget_takes_its_notifications(budgets, budget):
    budgets.delete_budget(AccountId=ACCOUNT, BudgetName=NAME)
    refused(lambda: notifications(budgets), "NotFoundException")
    budgets.create_budget(AccountId=ACCOUNT, Budget=definition())
    assert notifications(budgets) == []


def test_describe_budgets_pages(budgets):
    for n in range(3):
        budgets.create_budget(AccountId=ACCOUNT, Budget=definition(BudgetName=f"b{n}"))
    first = budgets.describe_budgets(AccountId=ACCOUNT, MaxResults=2)
    assert len(first["Budgets"]) == 2 and first["NextToken"]
    rest = budgets.describe_budgets(AccountId=ACCOUNT, MaxResults=2, NextToken=first["NextToken"])
    assert [b["BudgetName"] for b in rest["Budgets"]] == ["b2"] and "NextToken" not in rest


# ------------------------------------------------------------------------------------------------ notifications


def test_notifications_answer_a_state_and_leave_a_percentage_threshold_type_out(budgets, budget):
    """As AWS does: NotificationState is given, ThresholdType only when it is not PERCENTAGE."""
    absolute = notification(500, ThresholdType="ABSOLUTE_VALUE", NotificationType="FORECASTED")
    budgets.create_notification(AccountId=ACCOUNT, BudgetName=NAME, Notification=absolute, Subscribers=[EMAIL])
    assert notifications(budgets) == [
        {**ACTUAL_80, "NotificationState": "OK"},
        {**absolute, "Threshold": 500.0, "NotificationState": "OK"},
    ]


def test_a_notification_is_the_same_with_or_without_its_percentage_threshold_type(budgets, budget):
    """Its identity is type, operator, threshold and threshold type (PERCENTAGE when left out)."""
    explicit = {**ACTUAL_80, "ThresholdType": "PERCENTAGE"}
    assert subscribers(budgets, explicit) == [EMAIL]
    refused(
        lambda: budgets.create_notification(
            AccountId=ACCOUNT, BudgetName=NAME, Notification=explicit, Subscribers=[EMAIL]
        ),
        "DuplicateRecordException",
    )


def test_a_budget_has_at_most_ten_notifications(budgets, budget):
    """The Notification shape's documentation: a budget can have up to ten notifications."""
    for threshold in range(1, 10):
        budgets.create_notification(
            AccountId=ACCOUNT, BudgetName=NAME, Notification=notification(threshold), Subscribers=[EMAIL]
        )
    assert len(notifications(budgets)) == 10
    refused(
        lambda: budgets.create_notification(
            AccountId=ACCOUNT, BudgetName=NAME, Notification=notification(99), Subscribers=[EMAIL]
        ),
        "CreationLimitExceededException",
    )


def test_create_budget_with_eleven_notifications_is_refused(budgets):
    entries = [{"Notification": notification(n), "Subscribers": [EMAIL]} for n in range(11)]
    refused(
        lambda: budgets.create_budget(AccountId=ACCOUNT, Budget=definition(), NotificationsWithSubscribers=entries),
        "CreationLimitExceededException",
    )
    refused(lambda: describe(budgets), "NotFoundException")


def test_create_budget_with_the_same_notification_twice_is_refused(budgets):
    entries = [{"Notification": ACTUAL_80, "Subscribers": [EMAIL]}] * 2
    refused(
        lambda: budgets.create_budget(AccountId=ACCOUNT, Budget=definition(), NotificationsWithSubscribers=entries),
        "DuplicateRecordException",
    )


def test_a_notification_of_a_missing_budget_is_not_found(budgets):
    refused(lambda: notifications(budgets), "NotFoundException")
    refused(
        lambda: budgets.create_notification(
            AccountId=ACCOUNT, BudgetName=NAME, Notification=ACTUAL_80, Subscribers=[EMAIL]
        ),
        "NotFoundException",
    )


def test_delete_notification_drops_its_subscribers_and_a_missing_one_is_not_found(budgets, budget):
    budgets.delete_notification(AccountId=ACCOUNT, BudgetName=NAME, Notification=ACTUAL_80)
    assert notifications(budgets) == []
    refused(lambda: subscribers(budgets, ACTUAL_80), "NotFoundException")
    refused(
        lambda: budgets.delete_notification(AccountId=ACCOUNT, BudgetName=NAME, Notification=ACTUAL_80),
        "NotFoundException",
    )
    # Made again, it has only the subscribers it is made with.
    other = {"SubscriptionType": "EMAIL", "Address": "other@example.org"}
    budgets.create_notification(AccountId=ACCOUNT, BudgetName=NAME, Notification=ACTUAL_80, Subscribers=[other])
    assert subscribers(budgets, ACTUAL_80) == [other]


# ------------------------------------------------------------------------------------------------ subscribers


def test_subscribers_given_with_the_budget_or_the_notification_are_described(budgets, budget):
    assert subscribers(budgets, ACTUAL_80) == [EMAIL]
    sns = {"SubscriptionType": "SNS", "Address": "arn:aws:sns:us-east-1:123456789012:budget"}
    budgets.create_notification(
        AccountId=ACCOUNT, BudgetName=NAME, Notification=notification(100), Subscribers=[EMAIL, sns]
    )
    assert subscribers(budgets, notification(100)) == [EMAIL, sns]


def test_a_notification_has_at_most_ten_email_and_one_sns_subscriber(budgets, budget):
    """AWS: one SNS subscriber and up to 10 email subscribers (CreationLimitExceededException)."""
    eleven = [email(n) for n in range(11)]
    refused(
        lambda: budgets.create_notification(
            AccountId=ACCOUNT, BudgetName=NAME, Notification=notification(90), Subscribers=eleven
        ),
        "CreationLimitExceededException",
    )
    topics = [{"SubscriptionType": "SNS", "Address": f"arn:aws:sns:us-east-1:{ACCOUNT}:t{n}"} for n in range(2)]
    message = refused(
        lambda: budgets.create_notification(
            AccountId=ACCOUNT, BudgetName=NAME, Notification=notification(90), Subscribers=topics
        ),
        "CreationLimitExceededException",
    )
    assert message == "one notification can only have 1 subscribers with type of SNS"
    for n in range(1, 10):
        budgets.create_subscriber(AccountId=ACCOUNT, BudgetName=NAME, Notification=ACTUAL_80, Subscriber=email(n))
    assert len(subscribers(budgets, ACTUAL_80)) == 10
    refused(
        lambda: budgets.create_subscriber(
            AccountId=ACCOUNT, BudgetName=NAME, Notification=ACTUAL_80, Subscriber=email(10)
        ),
        "CreationLimitExceededException",
    )
    budgets.create_subscriber(AccountId=ACCOUNT, BudgetName=NAME, Notification=ACTUAL_80, Subscriber=topics[0])
    assert len(subscribers(budgets, ACTUAL_80)) == 11


def test_create_subscriber_twice_is_a_duplicate(budgets, budget):
    refused(
        lambda: budgets.create_subscriber(AccountId=ACCOUNT, BudgetName=NAME, Notification=ACTUAL_80, Subscriber=EMAIL),
        "DuplicateRecordException",
    )


def test_subscriber_calls_on_a_missing_notification_or_budget_are_not_found(budgets, budget):
    calls = (
        (budgets.describe_subscribers_for_notification, {}),
        (budgets.create_subscriber, {"Subscriber": EMAIL}),
        (budgets.delete_subscriber, {"Subscriber": EMAIL}),
    )
    for name, wanted in ((NAME, notification(42)), ("nope", ACTUAL_80)):
        for method, extra in calls:
            call = functools.partial(method, AccountId=ACCOUNT, BudgetName=name, Notification=wanted, **extra)
            refused(call, "NotFoundException")
    stranger = {"SubscriptionType": "EMAIL", "Address": "stranger@example.org"}
    refused(
        lambda: budgets.delete_subscriber(
            AccountId=ACCOUNT, BudgetName=NAME, Notification=ACTUAL_80, Subscriber=stranger
        ),
        "NotFoundException",
    )


def test_deleting_the_last_subscriber_deletes_the_notification(budgets, budget):
    """The API reference: deleting the last subscriber to a notification also deletes the notification."""
    other = {"SubscriptionType": "EMAIL", "Address": "other@example.org"}
    budgets.create_subscriber(AccountId=ACCOUNT, BudgetName=NAME, Notification=ACTUAL_80, Subscriber=other)
    budgets.delete_subscriber(AccountId=ACCOUNT, BudgetName=NAME, Notification=ACTUAL_80, Subscriber=EMAIL)
    assert subscribers(budgets, ACTUAL_80) == [other]
    budgets.delete_subscriber(AccountId=ACCOUNT, BudgetName=NAME, Notification=ACTUAL_80, Subscriber=other)
    assert notifications(budgets) == []


def test_update_subscriber_replaces_one_and_refuses_a_duplicate(budgets, budget):
    other = {"SubscriptionType": "EMAIL", "Address": "other@example.org"}
    budgets.update_subscriber(
        AccountId=ACCOUNT, BudgetName=NAME, Notification=ACTUAL_80, OldSubscriber=EMAIL, NewSubscriber=other
    )
    assert subscribers(budgets, ACTUAL_80) == [other]
    refused(
        lambda: budgets.update_subscriber(
            AccountId=ACCOUNT, BudgetName=NAME, Notification=ACTUAL_80, OldSubscriber=EMAIL, NewSubscriber=other
        ),
        "NotFoundException",
    )
    budgets.create_subscriber(AccountId=ACCOUNT, BudgetName=NAME, Notification=ACTUAL_80, Subscriber=EMAIL)
    refused(
        lambda: budgets.update_subscriber(
            AccountId=ACCOUNT, BudgetName=NAME, Notification=ACTUAL_80, OldSubscriber=EMAIL, NewSubscriber=other
        ),
        "DuplicateRecordException",
    )


def test_subscribers_page_and_a_foreign_token_is_invalid(budgets, budget):
    for n in range(1, 4):
        budgets.create_subscriber(AccountId=ACCOUNT, BudgetName=NAME, Notification=ACTUAL_80, Subscriber=email(n))
    first = budgets.describe_subscribers_for_notification(
        AccountId=ACCOUNT, BudgetName=NAME, Notification=ACTUAL_80, MaxResults=3
    )
    rest = budgets.describe_subscribers_for_notification(
        AccountId=ACCOUNT, BudgetName=NAME, Notification=ACTUAL_80, MaxResults=3, NextToken=first["NextToken"]
    )
    assert len(first["Subscribers"]) == 3 and len(rest["Subscribers"]) == 1
    paginator = budgets.get_paginator("describe_subscribers_for_notification")
    pages = paginator.paginate(
        AccountId=ACCOUNT, BudgetName=NAME, Notification=ACTUAL_80, PaginationConfig={"PageSize": 1}
    )
    assert [s for p in pages for s in p["Subscribers"]] == [EMAIL, email(1), email(2), email(3)]
    refused(
        lambda: budgets.describe_subscribers_for_notification(
            AccountId=ACCOUNT, BudgetName=NAME, Notification=ACTUAL_80, NextToken="elsewhere"
        ),
        "InvalidNextTokenException",
    )
    refused(
        lambda: budgets.describe_subscribers_for_notification(
            AccountId=ACCOUNT, BudgetName=NAME, Notification=ACTUAL_80, MaxResults=101
        ),
        "InvalidParameterException",
    )
