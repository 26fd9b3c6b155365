# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the cost report (playbooks/cost.yml): the hosts as the report prices them, and the lines the run
prints. The arithmetic itself is in module_utils/cost.py (the cost_report module)."""

from __future__ import annotations

from typing import Any

from ansible_collections.research_env.core.plugins.filter.summary import hosts_summary

LIVE = ("pending", "running")


def cost_hosts(
    configured: dict[str, dict[str, Any]],
    instances: list[dict[str, Any]],
    volumes: list[dict[str, Any]],
    subnets: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """One entry per host role of `instances` (the configuration), priced as it exists where it does: the type
    and volume size AWS reports for the role's instance (ec2_instance_info, ec2_vol_info), else the configured
    ones. `eip`: the host is configured with an Elastic IP (billed every hour, stopped or not); `public_ipv4`: it
    has a public address, elastic or not (a host in a public subnet gets one, billed while it runs, released
    while it is stopped: counted by its configuration, not by whether it runs now); `exists` / `running`:
    whether it exists now (running or stopped) and whether it is billed by the hour right now."""
    subnets = subnets or {}
    # The role's instance as the summary sees it (hosts_summary: by Role tag, the newest, not terminated).
    found = hosts_summary(instances)
    gb_by_instance: dict[str, int] = {}
    for vol in volumes:
        for att in vol.get("attachment_set") or []:
            iid = att.get("instance_id")
            if iid:
                gb_by_instance[iid] = gb_by_instance.get(iid, 0) + int(vol.get("size") or 0)
    hosts = []
    for role in sorted(configured):
        conf = configured[role] or {}
        inst = found.get(role)
        volume_gb = int(conf.get("volume_gb") or 0)
        if inst and gb_by_instance.get(inst["instance_id"]):
            volume_gb = gb_by_instance[inst["instance_id"]]
        eip = bool(conf.get("eip"))
        public_subnet = bool((subnets.get(conf.get("subnet")) or {}).get("public"))
        hosts.append(
            {
                "role": role,
                "instance_type": (inst or {}).get("instance_type") or conf.get("type"),
                "volume_gb": volume_gb,
                "eip": eip,
                "public_ipv4": eip or public_subnet or bool((inst or {}).get("public_ip")),
                "exists": inst is not None,
                "running": inst is not None and inst["state"] in LIVE,
            }
        )
    return hosts


def _usd(value: Any) -> str:
    return f"USD {float(value or 0):,.2f}"


def cost_lines(report: dict[str, Any]) -> list[str]:
    """What the run prints at its end: the environment's cost now, a month and over the period, each item, the
    comparisons in one line each, the idle-stop saving, what has no price, and the notes."""
    months = report.get("months", 3)
    total = report.get("total") or {}
    now = report.get("now") or {}
    lines = [
        f"Prices: {report.get('price_source')}",
        f"Now: {_usd(now.get('hourly_usd'))} an hour. This configuration: {_usd(total.get('monthly_usd'))} a month, "
        f"{_usd(total.get('period_usd'))} over {months} months.",
    ]
    for item in report.get("items") or []:
        lines.append(
            f"  {item.get('item')}: {item.get('detail') or ''} {item.get('quantity')} {item.get('unit')} x "
            f"USD {item.get('unit_usd')} = {_usd(item.get('monthly_usd'))} a month".replace("  x", " x")
        )
    comparisons = report.get("comparisons") or {}
    for key, label, name in (
        ("instance_types", "jupyter on", "instance_type"),
        ("nat_mode", "nat_mode", "choice"),
        ("vpn_provider", "vpn_provider", "choice"),
        ("designs", "designs", "name"),
    ):
        rows = comparisons.get(key) or []
        if rows:
            lines.append(
                f"Over {months} months, {label}: "
                + ", ".join(
                    f"{row.get(name)} {_usd(row.get('period_usd'))}{' (this)' if row.get('configured') else ''}"
                    for row in rows
                )
            )
    schedule = comparisons.get("schedule") or {}
    if schedule.get("stop"):
        lines.append(
            f"Idle stop ({schedule.get('stop')}; start {schedule.get('start') or schedule.get('assumed')}): "
            f"{', '.join(schedule.get('roles') or [])} on {schedule.get('hours_on_per_month')} h a month, saving "
            f"{_usd(schedule.get('monthly_saving_usd'))} a month"
        )
    if report.get("unpriced"):
        lines.append(f"Unpriced (no price known, not counted): {', '.join(report['unpriced'])}")
    lines += [f"Note: {note}" for note in report.get("notes") or []]
    return lines


def budget_line(result: dict[str, Any]) -> str:
    """The budget as the run prints it, from research_env.core.budget's result."""
    budget = result.get("budget") or {}
    if result.get("changes") == ["delete budget"] or not budget:
        return "Budget: none (budget_monthly_usd: 0)"
    limit = (budget.get("budget_limit") or {}).get("amount")
    return (
        f"Budget {budget.get('budget_name')}: {_usd(limit)} a month, e-mails at 50/90/95 % of actual and 100 % of "
        "forecast spend"
    )


class FilterModule:
    """research-env filters: cost."""

    def filters(self) -> dict[str, Any]:
        return {"cost_hosts": cost_hosts, "cost_lines": cost_lines, "budget_line": budget_line}
