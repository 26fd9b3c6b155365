"""Preflight's checks of the budget, the idle-stop schedules and the cost report's settings (preflight_cost.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible_collections.research_env.core.plugins.filter.preflight_cost import (
    MAX_BUDGET_EMAILS,
    PRICE_KEYS,
    check_cost,
)

REPO = Path(__file__).resolve().parents[2]
KEYS = (
    "budget_monthly_usd",
    "budget_emails",
    "stop_schedule",
    "start_schedule",
    "stop_schedule_roles",
    "cost_assumed_start",
    "cost_months",
    "cost_price_cache_days",
    "cost_deploy_hours_per_month",
    "cost_vpn_hours_per_member_month",
    "cost_lambda_requests_per_month",
    "cost_price_source",
    "cost_compare_instance_types",
    "cost_prices",
    "instances",
)
DEFAULTS = {k: v for k, v in yaml.safe_load((REPO / "group_vars/all/main.yml").read_text()).items() if k in KEYS}
STOP = "cron(0 20 * * ? *)"
START = "cron(0 8 ? * MON-FRI *)"


def errors(**changes: object) -> list[str]:
    return check_cost(DEFAULTS | changes)


def one_error(variable: str, **changes: object) -> str:
    found = errors(**changes)
    assert len(found) == 1, found
    assert found[0].startswith(variable), found
    return found[0]


def test_the_shipped_defaults_pass():
    assert set(DEFAULTS) == set(KEYS)
    assert errors() == []


def test_unset_settings_mean_their_defaults():
    assert check_cost({}) == []
    assert check_cost({"stop_schedule": STOP}) == []


@pytest.mark.parametrize(
    "changes",
    [
        {"budget_monthly_usd": 0},
        {"budget_monthly_usd": 0.0, "budget_emails": ["pi@example.org"]},
        {"budget_monthly_usd": 500, "budget_emails": ["pi@example.org"]},
        {"budget_monthly_usd": 12.5, "budget_emails": ["a.b+cost@lab.example.ac.uk", "it-ops@example.org"]},
        {"budget_monthly_usd": "250", "budget_emails": ["pi@example.org"]},  # -e budget_monthly_usd=250
        {"budget_emails": [f"p{n}@example.org" for n in range(MAX_BUDGET_EMAILS)]},
        {"stop_schedule": STOP},
        {"stop_schedule": STOP, "start_schedule": START},
        {"start_schedule": START},  # a start without a stop: the hosts are started, people stop them
        {"stop_schedule": STOP, "stop_schedule_roles": ["jupyter"]},
        {"stop_schedule_roles": []},  # no schedule: nothing to act on
        {"stop_schedule_roles": ["voila"], "instances": {"jupyter": {}}},  # no schedule: a role without a host
        {"stop_schedule": STOP, "start_schedule": START, "cost_assumed_start": "whenever"},  # not used
        {"cost_assumed_start": ""},  # no stop_schedule: not used
        {"cost_months": 1, "cost_price_cache_days": 0},
        {"cost_months": "36", "cost_price_cache_days": 365},
        {"cost_deploy_hours_per_month": 0, "cost_vpn_hours_per_member_month": 730},
        {"cost_deploy_hours_per_month": 2.5, "cost_vpn_hours_per_member_month": "40"},
        {"cost_lambda_requests_per_month": 0},
        {"cost_price_source": "api"},
        {"cost_price_source": "table"},
        {"cost_compare_instance_types": []},
        {"cost_compare_instance_types": ["m7i.xlarge", "r7i.large", "t4g.nano", "c7gn.16xlarge", "u-6tb1.metal"]},
        {"cost_prices": {"instance_hour": {"t3.large": 0.07}, "nat_gateway_hour": 0.045, "kms_key_month": 1}},
        {"cost_prices": dict.fromkeys(PRICE_KEYS[1:], 0) | {"instance_hour": {}}},
    ],
)
def test_good_settings_pass(changes):
    assert errors(**changes) == []


def test_a_budget_without_e_mails_is_refused():
    assert one_error("budget_emails:", budget_monthly_usd=100, budget_emails=[]) == (
        "budget_emails: empty, but budget_monthly_usd is 100: its alerts would reach nobody. Give at least one "
        "address, or set budget_monthly_usd: 0."
    )


@pytest.mark.parametrize("value", [-1, -0.01, "-5", True, False, None, "lots", "100 USD", "1e3", [], {}, float("nan")])
def test_a_budget_that_is_not_an_amount_is_refused(value):
    error = one_error("budget_monthly_usd:", budget_monthly_usd=value, budget_emails=["pi@example.org"])
    assert "is not an amount of USD" in error and "0 for no budget" in error


@pytest.mark.parametrize(
    "email",
    [
        "pi",
        "pi@example",
        "@example.org",
        "pi@",
        "pi @example.org",
        " pi@example.org",
        "pi@example.org\n",
        "Ann Smith <ann@example.org>",
        "<ann@example.org>",
        "pi@@example.org",
        "pi@example.o",
        "pi@exa_mple.org",
        "",
        None,
        42,
        ["pi@example.org"],
    ],
)
def test_an_address_that_is_not_plain_is_refused(email):
    error = one_error("budget_emails[1]:", budget_emails=["ok@example.org", email])
    assert "is not a plain e-mail address" in error


def test_an_address_listed_twice_is_refused_once():
    found = errors(budget_emails=["pi@example.org", "it@example.org", "PI@Example.org"])
    assert found == [
        "budget_emails[2]: PI@Example.org is listed twice (also budget_emails[0]). List each address once."
    ]


def test_more_addresses_than_a_budget_alert_takes_are_refused():
    error = one_error("budget_emails:", budget_emails=[f"p{n}@example.org" for n in range(MAX_BUDGET_EMAILS + 1)])
    assert "11 addresses" in error and "at most 10" in error


@pytest.mark.parametrize("value", ["pi@example.org", None, {"pi": "pi@example.org"}])
def test_budget_emails_must_be_a_list(value):
    one_error("budget_emails:", budget_emails=value)


@pytest.mark.parametrize("name", ["stop_schedule", "start_schedule"])
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("cron(0 20 * * MON *)", "exactly one of day-of-month and day-of-week must be ?"),
        ("cron(0 20 * * ?)", "it has 5 field(s)"),
        ("0 20 * * *", "not of the form cron("),
        ("rate(1 day)", "rate() expressions are not accepted"),
        ("cron(0 25 * * ? *)", "hours: '25' is not one of 0-23"),
        ("cron(0 20 L * ? *)", "L, W and # are valid in EventBridge but research-env does not support them"),
        ("cron(0 20 ? * 0 *)", "day-of-week: '0' is not one of 1-7 or SUN-SAT, 1 = SUN"),
        (None, "it is not a string"),
        (20, "it is not a string"),
    ],
)
def test_a_bad_schedule_is_refused_with_its_reason_and_an_example(name, value, reason):
    changes = {name: value}
    if name == "stop_schedule":
        changes["start_schedule"] = START  # else cost_assumed_start is checked too (and passes)
    error = one_error(f"{name}: {value!r} is not an EventBridge cron expression", **changes)
    assert reason in error and 'e.g. "cron(0 20 * * ? *)"' in error and 'or "" for none' in error


def test_the_assumed_start_is_checked_when_only_a_stop_is_scheduled():
    error = one_error("cost_assumed_start:", stop_schedule=STOP, start_schedule="", cost_assumed_start="weekdays")
    assert "not of the form cron(" in error
    assert one_error("cost_assumed_start: empty", stop_schedule=STOP, cost_assumed_start="")
    # Not with a start schedule, nor without a stop one; a bad stop_schedule is reported by itself.
    assert errors(stop_schedule=STOP, start_schedule=START, cost_assumed_start="weekdays") == []
    assert errors(stop_schedule="", cost_assumed_start="weekdays") == []


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"stop_schedule": STOP, "stop_schedule_roles": []}, "stop_schedule_roles: empty, but stop_schedule is set"),
        ({"start_schedule": START, "stop_schedule_roles": []}, "stop_schedule_roles: empty, but start_schedule is set"),
        ({"stop_schedule_roles": "jupyter"}, "stop_schedule_roles: 'jupyter' is not a list"),
        ({"stop_schedule_roles": None}, "stop_schedule_roles: None is not a list"),
        ({"stop_schedule_roles": ["jupyter", "jupyterlab"]}, "stop_schedule_roles[1]: 'jupyterlab' is not a host role"),
        ({"stop_schedule_roles": [None]}, "stop_schedule_roles[0]: None is not a host role"),
        (
            {"stop_schedule": STOP, "stop_schedule_roles": ["jupyter", "voila"], "instances": {"jupyter": {}}},
            "stop_schedule_roles[1]: voila has no host in instances (jupyter)",
        ),
    ],
)
def test_the_hosts_the_schedules_act_on(changes, variable):
    one_error(variable, **changes)


def test_roles_are_not_matched_to_instances_that_are_not_a_mapping():
    # instances: reported by check_instances, once.
    assert errors(stop_schedule=STOP, instances=None) == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("cost_months", 0),
        ("cost_months", 37),
        ("cost_months", 1.5),
        ("cost_months", True),
        ("cost_months", "three"),
        ("cost_months", None),
        ("cost_price_cache_days", -1),
        ("cost_price_cache_days", 366),
        ("cost_price_cache_days", "7 days"),
        ("cost_deploy_hours_per_month", -1),
        ("cost_deploy_hours_per_month", 745),
        ("cost_deploy_hours_per_month", False),
        ("cost_deploy_hours_per_month", "four"),
        ("cost_vpn_hours_per_member_month", 1000),
        ("cost_vpn_hours_per_member_month", [40]),
        ("cost_lambda_requests_per_month", -1),
        ("cost_lambda_requests_per_month", 1.5),
        ("cost_lambda_requests_per_month", "many"),
        ("cost_price_source", "aws"),
        ("cost_price_source", "AUTO"),
        ("cost_price_source", None),
        ("cost_compare_instance_types", "t3.xlarge"),
        ("cost_compare_instance_types", None),
        ("cost_prices", None),
        ("cost_prices", [["instance_hour", 1]]),
    ],
)
def test_a_report_setting_out_of_its_range_is_refused(name, value):
    one_error(f"{name}: {value!r}", **{name: value})


@pytest.mark.parametrize("itype", ["large", "T3.large", "t3.", "t3.large ", "", None, 3])
def test_a_compared_instance_type_must_be_one(itype):
    error = one_error("cost_compare_instance_types[1]:", cost_compare_instance_types=["m7i.large", itype])
    assert "is not an EC2 instance type" in error


def test_an_unknown_price_is_refused_naming_the_known_ones():
    error = one_error("cost_prices.gp3:", cost_prices={"gp3": 0.08})
    assert error == f"cost_prices.gp3: unknown price. The prices are {', '.join(PRICE_KEYS)}."


@pytest.mark.parametrize(
    ("prices", "variable"),
    [
        ({"nat_gateway_hour": -0.01}, "cost_prices.nat_gateway_hour: -0.01 is not a price"),
        ({"kms_key_month": "1"}, "cost_prices.kms_key_month: '1' is not a price"),
        ({"lambda_gb_second": True}, "cost_prices.lambda_gb_second: True is not a price"),
        ({"s3_standard_gb_month": None}, "cost_prices.s3_standard_gb_month: None is not a price"),
        ({"public_ipv4_hour": float("inf")}, "cost_prices.public_ipv4_hour: inf is not a price"),
        ({"instance_hour": 0.07}, "cost_prices.instance_hour: 0.07 is not a mapping of instance type"),
        ({"instance_hour": {"big": 0.07}}, "cost_prices.instance_hour: 'big' is not an EC2 instance type"),
        ({"instance_hour": {"t3.large": -1}}, "cost_prices.instance_hour.t3.large: -1 is not a price"),
        ({"instance_hour": {"t3.large": "0.07"}}, "cost_prices.instance_hour.t3.large: '0.07' is not a price"),
        ({1: 2}, "cost_prices.1: unknown price"),
    ],
)
def test_a_bad_price_is_refused(prices, variable):
    one_error(variable, cost_prices=prices)


def test_each_bad_value_gives_one_message():
    found = errors(
        budget_monthly_usd=-1,
        budget_emails=["x"],
        stop_schedule="cron(0 20 * * MON *)",
        start_schedule="nightly",
        stop_schedule_roles=["lab"],
        cost_months=0,
        cost_price_cache_days=-1,
        cost_deploy_hours_per_month=-1,
        cost_vpn_hours_per_member_month=-1,
        cost_lambda_requests_per_month=-1,
        cost_price_source="x",
        cost_compare_instance_types=["x"],
        cost_prices={"x": 1, "nat_gateway_gb": -1, "instance_hour": {"x": 1}},
    )
    assert [e.split(":")[0] for e in found] == [
        "budget_monthly_usd",
        "budget_emails[0]",
        "stop_schedule",
        "start_schedule",
        "stop_schedule_roles[0]",
        "cost_months",
        "cost_price_cache_days",
        "cost_deploy_hours_per_month",
        "cost_vpn_hours_per_member_month",
        "cost_lambda_requests_per_month",
        "cost_price_source",
        "cost_compare_instance_types[0]",
        "cost_prices.x",
        "cost_prices.nat_gateway_gb",
        "cost_prices.instance_hour",
    ]
