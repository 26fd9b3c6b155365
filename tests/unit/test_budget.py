"""research_env.core.budget run in-process against the emulator's Budgets (the patches the server gets): it creates
the budget with its notifications and subscribers, a rerun writes nothing, a changed limit is an UpdateBudget that
keeps the notifications, notifications and subscribers follow the input, check mode writes nothing, absent deletes.
The pure planning of module_utils/budgets.py is tested without AWS."""

from __future__ import annotations

import functools

import boto3
import botocore.client
import moto_server  # noqa: F401 - patches moto in place, as the server does
import pytest
from ansible_collections.research_env.core.plugins.module_utils import budgets as logic
from modules import ACCOUNT, REGION, ansible_doc, load_module, run_module
from moto import mock_aws

m = load_module("budget")
run_main = functools.partial(run_module, m)

NAME = "researchenv-monthly"
WRITES = {
    "CreateBudget",
    "UpdateBudget",
    "DeleteBudget",
    "CreateNotification",
    "DeleteNotification",
    "UpdateNotification",
    "CreateSubscriber",
    "DeleteSubscriber",
    "UpdateSubscriber",
}
ARGS = {
    "name": NAME,
    "limit_usd": 100,
    "cost_filters": {"TagKeyValue": ["user:Environment$researchenv"]},
    "notifications": [
        {"notification_type": "ACTUAL", "threshold": 80},
        {"notification_type": "FORECASTED", "threshold": 100},
    ],
    "subscribers": ["admins@example.org"],
}


@pytest.fixture
def aws(aws_env, monkeypatch):
    """The emulator in-process, and every operation any client makes, by name."""
    calls: list[str] = []
    make_api_call = botocore.client.BaseClient._make_api_call

    def recording(self, operation_name, api_params):
        calls.append(operation_name)
        return make_api_call(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    with mock_aws():
        yield {"client": boto3.client("budgets", region_name=REGION), "calls": calls}


def writes(aws) -> list[str]:
    return [call for call in aws["calls"] if call in WRITES]


def run(aws, args: dict, capsys) -> tuple[int, dict]:
    aws["calls"].clear()
    return run_main(args, capsys)


def described(aws) -> dict:
    return aws["client"].describe_budget(AccountId=ACCOUNT, BudgetName=NAME)["Budget"]


def notification_state(aws) -> dict[tuple, list[str]]:
    """{(type, threshold): [subscriber addresses]} as the emulator has it."""
    client = aws["client"]
    found = client.describe_notifications_for_budget(AccountId=ACCOUNT, BudgetName=NAME)["Notifications"]
    return {
        (n["NotificationType"], n["Threshold"]): sorted(
            s["Address"]
            for s in client.describe_subscribers_for_notification(AccountId=ACCOUNT, BudgetName=NAME, Notification=n)[
                "Subscribers"
            ]
        )
        for n in found
    }


def test_create_then_a_rerun_writes_nothing(aws, capsys):
    rc, made = run(aws, ARGS, capsys)
    assert rc == 0 and made["changed"], made
    assert made["changes"] == [
        "create budget",
        "create notification ACTUAL GREATER_THAN 80%",
        "create notification FORECASTED GREATER_THAN 100%",
    ]
    assert writes(aws) == ["CreateBudget"]
    assert made["account_id"] == ACCOUNT  # from GetCallerIdentity
    budget = made["budget"]
    assert budget["budget_name"] == NAME and budget["budget_type"] == "COST" and budget["time_unit"] == "MONTHLY"
    assert budget["budget_limit"] == {"amount": "100.0", "unit": "USD"}
    assert budget["cost_filters"] == {"TagKeyValue": ["user:Environment$researchenv"]}
    assert {"start", "end"} <= set(budget["time_period"])
    assert [(n["notification_type"], n["threshold"], n["threshold_type"]) for n in made["notifications"]] == [
        ("ACTUAL", 80.0, "PERCENTAGE"),
        ("FORECASTED", 100.0, "PERCENTAGE"),
    ]
    assert made["notifications"][0]["subscribers"] == [{"subscription_type": "EMAIL", "address": "admins@example.org"}]
    assert notification_state(aws) == {
        ("ACTUAL", 80.0): ["admins@example.org"],
        ("FORECASTED", 100.0): ["admins@example.org"],
    }

    rc, again = run(aws, ARGS, capsys)
    assert rc == 0 and not again["changed"] and again["changes"] == []
    assert writes(aws) == []
    # GetCallerIdentity, DescribeBudget, DescribeNotificationsForBudget, a DescribeSubscribers per notification.
    assert again["api_calls"] == 5
    assert again["budget"]["budget_limit"] == {"amount": "100.0", "unit": "USD"}
    assert again["notifications"] == made["notifications"]


def test_the_same_limit_written_otherwise_is_no_change(aws, capsys):
    """AWS answers 100 as "100.0": the limit is compared as a number."""
    run(aws, ARGS, capsys)
    rc, again = run(aws, {**ARGS, "limit_usd": 100.0, "account_id": ACCOUNT}, capsys)
    assert rc == 0 and not again["changed"] and writes(aws) == []


def test_a_changed_limit_updates_the_budget_and_keeps_its_notifications(aws, capsys):
    _, made = run(aws, ARGS, capsys)
    rc, updated = run(aws, {**ARGS, "limit_usd": 150.5}, capsys)
    assert rc == 0 and updated["changed"]
    assert updated["changes"] == ["update budget (limit 100.0 USD -> 150.5 USD)"]
    assert writes(aws) == ["UpdateBudget"]
    assert updated["budget"]["budget_limit"] == {"amount": "150.5", "unit": "USD"}
    assert updated["budget"]["time_period"] == made["budget"]["time_period"]
    assert described(aws)["BudgetLimit"]["Amount"] == "150.5"
    assert len(notification_state(aws)) == 2


def test_time_unit_and_cost_filters_are_updated(aws, capsys):
    run(aws, ARGS, capsys)
    rc, updated = run(aws, {**ARGS, "time_unit": "QUARTERLY", "cost_filters": {}}, capsys)
    assert rc == 0 and updated["changes"] == ["update budget (time unit MONTHLY -> QUARTERLY, cost filters)"]
    budget = described(aws)
    assert budget["TimeUnit"] == "QUARTERLY" and budget.get("CostFilters", {}) == {}
    assert updated["budget"]["cost_filters"] == {}


def test_notifications_are_added_and_removed(aws, capsys):
    run(aws, ARGS, capsys)
    args = {
        **ARGS,
        "notifications": [
            {"notification_type": "ACTUAL", "threshold": 80},
            {"notification_type": "ACTUAL", "threshold": 500, "threshold_type": "ABSOLUTE_VALUE"},
        ],
    }
    rc, result = run(aws, args, capsys)
    assert rc == 0 and result["changes"] == [
        "delete notification FORECASTED GREATER_THAN 100%",
        "create notification ACTUAL GREATER_THAN 500 USD",
    ]
    assert writes(aws) == ["DeleteNotification", "CreateNotification"]
    assert notification_state(aws) == {
        ("ACTUAL", 80.0): ["admins@example.org"],
        ("ACTUAL", 500.0): ["admins@example.org"],
    }
    rc, again = run(aws, args, capsys)
    assert not again["changed"] and writes(aws) == []
    # No notifications at all: every one goes, and no subscriber is needed.
    rc, none = run(aws, {**ARGS, "notifications": [], "subscribers": []}, capsys)
    assert rc == 0 and len(none["changes"]) == 2 and notification_state(aws) == {}


def test_subscribers_are_added_and_removed_without_losing_the_notification(aws, capsys):
    run(aws, ARGS, capsys)
    rc, _ = run(aws, {**ARGS, "subscribers": ["admins@example.org", "pi@example.org"]}, capsys)
    assert rc == 0 and writes(aws) == ["CreateSubscriber", "CreateSubscriber"]
    assert all(v == ["admins@example.org", "pi@example.org"] for v in notification_state(aws).values())
    # Every subscriber replaced: the new one is added before the last old one goes (AWS would delete the
    # notification with its last subscriber).
    rc, replaced = run(aws, {**ARGS, "subscribers": ["finance@example.org"]}, capsys)
    assert rc == 0, replaced
    assert replaced["changes"][:3] == [
        "unsubscribe admins@example.org (ACTUAL GREATER_THAN 80%)",
        "subscribe finance@example.org (ACTUAL GREATER_THAN 80%)",
        "unsubscribe pi@example.org (ACTUAL GREATER_THAN 80%)",
    ]
    assert notification_state(aws) == {
        ("ACTUAL", 80.0): ["finance@example.org"],
        ("FORECASTED", 100.0): ["finance@example.org"],
    }


def test_a_subscriber_added_elsewhere_is_removed(aws, capsys):
    run(aws, ARGS, capsys)
    sns = {"SubscriptionType": "SNS", "Address": f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"}
    actual = {"NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN", "Threshold": 80}
    aws["client"].create_subscriber(AccountId=ACCOUNT, BudgetName=NAME, Notification=actual, Subscriber=sns)
    rc, result = run(aws, ARGS, capsys)
    assert rc == 0 and result["changes"] == [f"unsubscribe {sns['Address']} (ACTUAL GREATER_THAN 80%)"]
    assert writes(aws) == ["DeleteSubscriber"]


def test_check_mode_reports_and_writes_nothing(aws, capsys):
    rc, would = run(aws, {**ARGS, "_ansible_check_mode": True}, capsys)
    assert rc == 0 and would["changed"] and would["changes"][0] == "create budget"
    assert would["budget"]["budget_limit"] == {"amount": "100.0", "unit": "USD"}
    assert writes(aws) == []
    assert aws["client"].describe_budgets(AccountId=ACCOUNT)["Budgets"] == []

    run(aws, ARGS, capsys)
    changed = {
        **ARGS,
        "limit_usd": 200,
        "notifications": [{"notification_type": "ACTUAL", "threshold": 90}],
        "subscribers": ["pi@example.org"],
        "_ansible_check_mode": True,
    }
    rc, would = run(aws, changed, capsys)
    assert rc == 0 and would["changes"] == [
        "update budget (limit 100.0 USD -> 200.0 USD)",
        "delete notification ACTUAL GREATER_THAN 80%",
        "delete notification FORECASTED GREATER_THAN 100%",
        "create notification ACTUAL GREATER_THAN 90%",
    ]
    assert would["budget"]["budget_limit"]["amount"] == "200.0"
    assert [n["threshold"] for n in would["notifications"]] == [90.0]
    assert writes(aws) == []
    assert described(aws)["BudgetLimit"]["Amount"] == "100.0"
    assert len(notification_state(aws)) == 2

    rc, would = run(aws, {"name": NAME, "state": "absent", "_ansible_check_mode": True}, capsys)
    assert rc == 0 and would["changed"] and would["changes"] == ["delete budget"] and writes(aws) == []
    # What would be deleted is returned: teardown discovers the budget this way.
    assert would["budget"]["budget_name"] == NAME and float(would["budget"]["budget_limit"]["amount"]) == 100
    assert described(aws)


def test_absent_deletes_the_budget_and_again_is_no_change(aws, capsys):
    run(aws, ARGS, capsys)
    rc, gone = run(aws, {"name": NAME, "state": "absent"}, capsys)
    assert rc == 0 and gone["changed"] and gone["budget"]["budget_name"] == NAME and gone["notifications"] == []
    assert writes(aws) == ["DeleteBudget"]
    assert aws["client"].describe_budgets(AccountId=ACCOUNT)["Budgets"] == []
    rc, again = run(aws, {"name": NAME, "state": "absent"}, capsys)
    assert rc == 0 and not again["changed"] and again["budget"] is None and writes(aws) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"limit_usd": 0}, "limit_usd must be greater than 0"),
        ({"limit_usd": -5}, "limit_usd must be greater than 0"),
        ({"limit_usd": None}, "limit_usd is required when state=present"),
        ({"subscribers": []}, "subscribers must name at least one e-mail address when there are notifications"),
        ({"subscribers": [f"u{n}@example.org" for n in range(11)]}, "at most 10 e-mail subscribers"),
        (
            {"notifications": [{"notification_type": "ACTUAL", "threshold": n} for n in range(11)]},
            "at most 10 notifications",
        ),
        ({"notifications": [{"notification_type": "ACTUAL", "threshold": -1}]}, "must not be negative"),
        ({"cost_filters": {"Region": "eu-west-1"}}, "cost_filters.Region must be a list of strings"),
    ],
)
def test_bad_input_fails_with_a_clear_message_and_calls_nothing(aws, capsys, args, message):
    rc, failed = run(aws, {**ARGS, **args}, capsys)
    assert rc == 1 and failed["failed"] and message in failed["msg"], failed
    assert aws["calls"] == []


def test_documentation_renders():
    doc = ansible_doc("budget")
    options = doc["doc"]["options"]
    assert {"name", "state", "limit_usd", "time_unit", "cost_filters", "notifications", "subscribers"} <= set(options)
    assert set(options["notifications"]["suboptions"]) == {
        "notification_type",
        "threshold",
        "comparison_operator",
        "threshold_type",
    }
    assert {"budget", "notifications", "changes", "api_calls"} <= set(doc["return"])
    assert "research_env.core.budget:" in doc["examples"]


# ------------------------------------------------------------------------------- module_utils/budgets.py


def test_notification_identity_ignores_state_and_a_missing_percentage_type():
    described = {"NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN", "Threshold": 80.0}
    sent = {**described, "Threshold": 80, "ThresholdType": "PERCENTAGE"}
    assert logic.notification_key({**described, "NotificationState": "ALARM"}) == logic.notification_key(sent)
    assert logic.notification_key({**sent, "ThresholdType": "ABSOLUTE_VALUE"}) != logic.notification_key(sent)


@pytest.mark.parametrize(
    ("left", "right", "same"),
    [("100.0", 100, True), ("100", 100.0, True), ("99.99", 100, False), ("0.1", 0.1, True), (None, 1, False)],
)
def test_amounts_are_compared_as_numbers(left, right, same):
    assert logic.same_amount(left, right) is same


def test_amount_text_is_a_plain_decimal():
    assert logic.amount_text(100) == "100"
    assert logic.amount_text(150.5) == "150.5"
    assert logic.amount_text(1e16) == "10000000000000000"


def test_cost_filter_order_is_no_difference():
    budget = {
        "BudgetLimit": {"Amount": "10.0", "Unit": "USD"},
        "TimeUnit": "MONTHLY",
        "CostFilters": {"Region": ["b", "a"]},
    }
    assert logic.definition_changes(budget, 10, "MONTHLY", {"Region": ["a", "b"]}) == []
    assert logic.definition_changes({**budget, "CostFilters": {}}, 10, "MONTHLY", {}) == []
    assert logic.definition_changes({k: v for k, v in budget.items() if k != "CostFilters"}, 10, "MONTHLY", {}) == []


def email(address: str) -> dict[str, str]:
    return {"SubscriptionType": "EMAIL", "Address": address}


@pytest.mark.parametrize(
    ("current", "wanted", "steps"),
    [
        (["a"], ["a"], []),
        (["a"], ["a", "b"], [("subscribe", "b")]),
        (["a", "b"], ["a"], [("unsubscribe", "b")]),
        # The last one stays until a wanted one is there.
        (["a"], ["b"], [("subscribe", "b"), ("unsubscribe", "a")]),
        (["a", "b"], ["c"], [("unsubscribe", "a"), ("subscribe", "c"), ("unsubscribe", "b")]),
        # Never an 11th e-mail subscriber: the leftover one goes before the 10th new one.
        (
            ["x"],
            [f"n{i}" for i in range(10)],
            [("subscribe", f"n{i}") for i in range(9)] + [("unsubscribe", "x"), ("subscribe", "n9")],
        ),
    ],
)
def test_subscriber_steps_keep_a_subscriber_and_stay_under_the_limit(current, wanted, steps):
    planned = logic.subscriber_steps([email(a) for a in current], [email(a) for a in wanted])
    assert [(step, s["Address"]) for step, s in planned] == steps


def test_notification_plan_deletes_creates_and_resubscribes():
    actual = {"NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN", "Threshold": 80.0}
    forecast = {**actual, "NotificationType": "FORECASTED", "Threshold": 100.0}
    wanted = logic.wanted_notifications(
        [
            {"notification_type": "ACTUAL", "threshold": 80, "comparison_operator": "GREATER_THAN",
             "threshold_type": "PERCENTAGE"},
            {"notification_type": "ACTUAL", "threshold": 90, "comparison_operator": "GREATER_THAN",
             "threshold_type": "PERCENTAGE"},
            {"notification_type": "ACTUAL", "threshold": 90, "comparison_operator": "GREATER_THAN",
             "threshold_type": "PERCENTAGE"},
        ]
    )  # fmt: skip
    assert len(wanted) == 2
    plan = logic.notification_plan([(actual, [email("old")]), (forecast, [email("old")])], wanted, ["new"])
    assert logic.plan_changes(plan) == [
        "delete notification FORECASTED GREATER_THAN 100%",
        "create notification ACTUAL GREATER_THAN 90%",
        "subscribe new (ACTUAL GREATER_THAN 80%)",
        "unsubscribe old (ACTUAL GREATER_THAN 80%)",
    ]
