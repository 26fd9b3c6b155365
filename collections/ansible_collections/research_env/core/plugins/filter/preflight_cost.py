# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight: the cost report's settings, the budget and the idle-stop schedules.

The schedules become EventBridge rules and the budget an AWS Budget with e-mail alerts: both are
made after the network exists, so what they would refuse is refused here first. The cost report
runs on its own (--tags cost) and reads the rest.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ansible_collections.research_env.core.plugins.filter.preflight_instances import HOST_ROLES, INSTANCE_TYPE_RE
from ansible_collections.research_env.core.plugins.module_utils.cost import HOURS_PER_MONTH
from ansible_collections.research_env.core.plugins.module_utils.pricing import INSTANCE_KEY, SCALAR_KEYS
from ansible_collections.research_env.core.plugins.module_utils.schedule import cron_error
from ansible_collections.research_env.core.plugins.module_utils.values import as_int, is_bool
from ansible_collections.research_env.core.plugins.plugin_utils.checks import label

# Applied with fullmatch only (see plugin_utils/checks.py). A plain address, local@domain.tld: no
# display name ("Ann <ann@x.org>"), no spaces, a domain with a dot and letters at its end.
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# -e budget_monthly_usd=100 arrives as a string: plain decimals mean that number, as they do to `| float`.
DECIMAL_RE = re.compile(r"[0-9]+(\.[0-9]+)?")
# AWS Budgets: a notification has at most 10 e-mail subscribers (and one SNS topic).
MAX_BUDGET_EMAILS = 10
PRICE_SOURCES = ("auto", "api", "table")
# cost_prices: the keys of the price table (playbooks/vars/prices.yml) a user may override.
PRICE_KEYS = (INSTANCE_KEY, *SCALAR_KEYS)
CRON_EXAMPLE = 'e.g. "cron(0 20 * * ? *)" (minutes hours day-of-month month day-of-week year, UTC)'


def as_number(value: Any) -> float | None:
    """A number setting (USD, hours) as a float, or None when it is not one: booleans, NaN, infinity and
    text other than plain decimals ("100", "12.5") are not numbers here."""
    if is_bool(value):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str) and DECIMAL_RE.fullmatch(value):
        return float(value)
    return None


def _is_price(value: Any) -> bool:
    """A price as YAML writes it: a real number, 0 or more (a quoted "0.07" is a slip, not a price)."""
    return not is_bool(value) and isinstance(value, int | float) and math.isfinite(value) and value >= 0


def check_cost(config: dict[str, Any]) -> list[str]:
    """Every problem of the budget, the schedules and the cost report's settings."""
    errors: list[str] = []
    errors += _budget_errors(config)
    errors += _schedule_errors(config)
    errors += _report_errors(config)
    errors += _prices_errors(config.get("cost_prices", {}))
    return errors


def _budget_errors(config: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    raw = config.get("budget_monthly_usd", 0)
    budget = as_number(raw)
    if budget is None or budget < 0:
        errors.append(
            f"budget_monthly_usd: {raw!r} is not an amount of USD (a number, 0 or more). Set one, e.g. 500, "
            "or 0 for no budget."
        )
    emails = config.get("budget_emails", [])
    if not isinstance(emails, list):
        errors.append(
            f"budget_emails: {emails!r} is not a list of e-mail addresses. Write one, e.g. [ann@example.org], "
            "or [] for none."
        )
        return errors
    seen: dict[str, int] = {}
    for index, email in enumerate(emails):
        where = f"budget_emails[{index}]"
        if not isinstance(email, str) or not EMAIL_RE.fullmatch(email):
            errors.append(
                f"{where}: {email!r} is not a plain e-mail address. Write the address alone, e.g. ann@example.org "
                "(no name, no spaces)."
            )
        elif email.lower() in seen:
            errors.append(
                f"{where}: {email} is listed twice (also budget_emails[{seen[email.lower()]}]). List each address once."
            )
        else:
            seen[email.lower()] = index
    if len(emails) > MAX_BUDGET_EMAILS:
        errors.append(
            f"budget_emails: {len(emails)} addresses, but an AWS Budgets alert goes to at most "
            f"{MAX_BUDGET_EMAILS}. Use a mailing list's address for more people."
        )
    if budget is not None and budget > 0 and not emails:
        errors.append(
            f"budget_emails: empty, but budget_monthly_usd is {raw}: its alerts would reach nobody. Give at least "
            "one address, or set budget_monthly_usd: 0."
        )
    return errors


def schedule_error(value: Any, name: str) -> list[str]:
    """A cron expression for an EventBridge rule, "" for none."""
    if value == "":
        return []
    reason = cron_error(value) if isinstance(value, str) else "it is not a string"
    if reason is None:
        return []
    return [
        f"{name}: {value!r} is not an EventBridge cron expression research-env accepts: {reason}. Write one, "
        f'{CRON_EXAMPLE}, or "" for none.'
    ]


def _schedule_errors(config: dict[str, Any]) -> list[str]:
    stop = config.get("stop_schedule", "")
    start = config.get("start_schedule", "")
    errors = schedule_error(stop, "stop_schedule") + schedule_error(start, "start_schedule")
    scheduled = [name for name, value in (("stop_schedule", stop), ("start_schedule", start)) if value]
    roles = config.get("stop_schedule_roles", ["jupyter", "filegator"])
    instances = config.get("instances")
    if not isinstance(roles, list):
        errors.append(
            f"stop_schedule_roles: {roles!r} is not a list of host roles. Write one, e.g. [jupyter, filegator]."
        )
    else:
        if scheduled and not roles:
            errors.append(
                f"stop_schedule_roles: empty, but {scheduled[0]} is set: the schedule would act on no host. Name "
                f'the hosts, e.g. [jupyter, filegator], or set {" and ".join(scheduled)} to "".'
            )
        # Without a schedule the list serves --tags stop/start only, where a role with no host finds
        # nothing: a misspelt role is refused, an absent host is not. The hosts are known only when
        # instances is a mapping (else that is reported, once, by itself).
        hosts = list(instances) if isinstance(instances, dict) and scheduled else None
        for index, role in enumerate(roles):
            if role not in HOST_ROLES:
                errors.append(
                    f"stop_schedule_roles[{index}]: {role!r} is not a host role. Name one of {', '.join(HOST_ROLES)}."
                )
            elif hosts is not None and role not in hosts:
                errors.append(
                    f"stop_schedule_roles[{index}]: {role} has no host in instances ({', '.join(map(str, hosts))}), "
                    f"and {scheduled[0]} would act on it. Remove it, or add the host."
                )
    if isinstance(stop, str) and stop and start == "":
        errors += schedule_error(config.get("cost_assumed_start", "cron(0 8 ? * MON-FRI *)"), "cost_assumed_start")
        if config.get("cost_assumed_start", "x") == "":
            errors.append(
                "cost_assumed_start: empty, but stop_schedule is set and start_schedule is not: the cost report "
                'needs to know when people start the hosts again. Write e.g. "cron(0 8 ? * MON-FRI *)".'
            )
    return errors


def _report_errors(config: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    whole = {
        "cost_months": (3, 1, 36, "months"),
        "cost_price_cache_days": (7, 0, 365, "days"),
    }
    for name, (default, low, high, unit) in whole.items():
        raw = config.get(name, default)
        value = as_int(raw)
        if value is None or not low <= value <= high:
            errors.append(f"{name}: {raw!r} is not a whole number of {unit} from {low} to {high}. Set one.")
    for name, default in (("cost_deploy_hours_per_month", 4), ("cost_vpn_hours_per_member_month", 40)):
        raw = config.get(name, default)
        value = as_number(raw)
        if value is None or not 0 <= value <= HOURS_PER_MONTH:
            errors.append(
                f"{name}: {raw!r} is not a number of hours from 0 to {HOURS_PER_MONTH} (the report's month). Set one, "
                f"e.g. {default}."
            )
    raw = config.get("cost_lambda_requests_per_month", 10000)
    requests = as_int(raw)
    if requests is None or requests < 0:
        errors.append(
            f"cost_lambda_requests_per_month: {raw!r} is not a whole number of requests (0 or more). Set one, "
            "e.g. 10000."
        )
    source = config.get("cost_price_source", "auto")
    if not isinstance(source, str) or source not in PRICE_SOURCES:
        errors.append(
            f"cost_price_source: {source!r} is not one of {', '.join(PRICE_SOURCES)}. Pick one of them (auto: the "
            "Price List API on AWS, the table against the emulator)."
        )
    types = config.get("cost_compare_instance_types", [])
    if not isinstance(types, list):
        errors.append(
            f"cost_compare_instance_types: {types!r} is not a list of instance types. Write one, e.g. "
            "[t3.xlarge, m7i.large], or [] for none."
        )
    else:
        for index, itype in enumerate(types):
            if not isinstance(itype, str) or not INSTANCE_TYPE_RE.fullmatch(itype):
                errors.append(
                    f"cost_compare_instance_types[{index}]: {itype!r} is not an EC2 instance type. Use e.g. m7i.large."
                )
    return errors


def _prices_errors(prices: Any) -> list[str]:
    """Prices over the list prices: the table's keys only (a misspelt key would be ignored, and the list
    price used), each a number of USD; instance_hour a mapping of instance type to USD."""
    if not isinstance(prices, dict):
        return [
            f"cost_prices: {prices!r} is not a mapping of prices. Write one, e.g. "
            "{instance_hour: {t3.large: 0.07}, nat_gateway_hour: 0.045}, or {} for the list prices."
        ]
    errors: list[str] = []
    for key, value in prices.items():
        where = f"cost_prices.{label(key)}"
        if key not in PRICE_KEYS:
            errors.append(f"{where}: unknown price. The prices are {', '.join(PRICE_KEYS)}.")
        elif key == "instance_hour":
            errors += _instance_hour_errors(value)
        elif not _is_price(value):
            errors.append(f"{where}: {value!r} is not a price in USD (a number, 0 or more). Write a number.")
    return errors


def _instance_hour_errors(value: Any) -> list[str]:
    if not isinstance(value, dict):
        return [
            f"cost_prices.instance_hour: {value!r} is not a mapping of instance type to USD an hour. Write one, "
            "e.g. {t3.large: 0.07}."
        ]
    errors: list[str] = []
    for itype, price in value.items():
        if not isinstance(itype, str) or not INSTANCE_TYPE_RE.fullmatch(itype):
            errors.append(
                f"cost_prices.instance_hour: {itype!r} is not an EC2 instance type. Use e.g. t3.large as the key."
            )
        elif not _is_price(price):
            errors.append(
                f"cost_prices.instance_hour.{itype}: {price!r} is not a price in USD an hour (a number, 0 or more). "
                "Write a number."
            )
    return errors


class FilterModule:
    """research-env preflight: the cost report, the budget and the schedules."""

    def filters(self) -> dict[str, Any]:
        return {
            "cost_errors": check_cost,
            "cron_schedule_errors": schedule_error,
        }
