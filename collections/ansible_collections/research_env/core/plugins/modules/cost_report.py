#!/usr/bin/python
# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cost_report
short_description: Price a research environment and write cost.json, cost.md and a chart, cost.png
version_added: 0.1.0
description:
  - Prices the environment described by the options (its configuration and what exists now) with the unit prices
    in O(prices), per hour, per month (730 hours) and over O(months) months, and compares every costly choice with
    its alternatives.
  - Items are the instances by type (the hosts of the stop schedule's roles for the hours it leaves them on), the
    EBS gp3 volumes by GB, the hosts' public IPv4 addresses, the NAT gateway and its address for the hours
    O(nat_mode) keeps it, Client VPN associations and connection hours (O(vpn_members) times
    O(vpn_hours_per_member_month)), S3 Standard storage of each bucket as measured, EFS Standard storage as
    measured (O(efs_bytes)), KMS keys, Lambda requests and duration.
  - An Elastic IP (O(hosts[].eip)) is billed every hour, its host running or stopped; another public address (a host
    in a public subnet) only while its host runs, so for the host's hours (730, or the schedule's for the hosts
    of O(schedule.roles)). Data transfer is not priced (the NAT gateway's price per GB is shown as a unit price
    only); free tiers are ignored. An item whose price is missing is listed as unpriced and left out of the totals.
  - Comparisons are the whole environment with the O(compare_role) host on its configured type and on each of
    O(compare_instance_types); each O(nat_mode) (always, during_deploy, none); each O(vpn_provider) (openvpn_as,
    openvpn, client_vpn; the vpn host stays in each, being the bastion for all three); this configuration against
    the source documents' design (NAT gateway always on, AWS Client VPN, no stop schedule); and the saving of the
    stop schedule.
  - Writes O(dest)/cost.json (the report), O(dest)/cost.md (the same as Markdown tables) and O(dest)/cost.png (the
    cumulative cost over the period per instance type and per design choice, drawn with matplotlib). The files
    hold no timestamp, so the same inputs give the same bytes; a file is rewritten (atomically) only when its
    content differs. O(dest) is created when missing.
  - Runs on the controller and makes no AWS call. Check mode writes nothing and reports whether a file would
    change.
requirements:
  - matplotlib (requirements.txt)
options:
  dest:
    description:
      - The directory to write cost.json, cost.md and cost.png in, usually C(artifacts/<env_name>).
    type: path
    required: true
  environment:
    description:
      - The environment's name (C(env_name)), in the report and the chart's title.
    type: str
    required: true
  region:
    description:
      - The AWS region the prices are for, as written in the report.
    type: str
  months:
    description:
      - The period the report prices, in months of 730 hours.
    type: int
    default: 3
  prices:
    description:
      - Unit prices in USD. C(instance_hour) maps an instance type to its price an hour; the other keys are
        C(ebs_gp3_gb_month), C(nat_gateway_hour), C(nat_gateway_gb), C(public_ipv4_hour),
        C(client_vpn_association_hour), C(client_vpn_connection_hour), C(s3_standard_gb_month),
        C(efs_standard_gb_month), C(kms_key_month), C(lambda_million_requests), C(lambda_gb_second). Numbers or
        numeric strings.
      - A missing key (or V(null)) makes the items it prices unpriced, never free.
    type: dict
    required: true
  price_source:
    description:
      - One line saying where the prices come from and of when, shown in the report and the chart's title.
    type: str
    default: ''
  price_sources:
    description:
      - Where each price came from (price key to text), copied into the report as given.
    type: dict
    default: {}
  hosts:
    description:
      - The environment's hosts, one per role.
    type: list
    elements: dict
    default: []
    suboptions:
      role:
        description:
          - The host's role (C(vpn), C(voila), C(jupyter), C(filegator)).
        type: str
        required: true
      instance_type:
        description:
          - Its instance type, looked up in the C(instance_hour) prices.
        type: str
        required: true
      volume_gb:
        description:
          - The size of its gp3 root volume in GB.
        type: int
        default: 0
      public_ipv4:
        description:
          - Whether it has a public IPv4 address, elastic or not (O(hosts[].eip) says which).
        type: bool
        default: false
      eip:
        description:
          - Whether its public address is an Elastic IP, billed every hour whether the host runs or not. V(false) is
            a public address that is not an Elastic IP (a host in a public subnet), billed only while the host
            runs. Needs O(hosts[].public_ipv4=true).
        type: bool
        default: false
      running:
        description:
          - Whether it exists and is pending or running now (for the hourly figure of what is billed now).
        type: bool
        default: false
      exists:
        description:
          - Whether it exists now, running or stopped (a stopped host's Elastic IP is billed now all the same).
          - When not given, the same as O(hosts[].running). V(false) with O(hosts[].running=true) is refused.
        type: bool
  nat_mode:
    description:
      - How long the NAT gateway exists. V(always) 730 hours a month; V(during_deploy) O(nat_deploy_hours_per_month);
        V(none) not at all. Each NAT gateway has an Elastic IP too, priced for the same hours.
    type: str
    choices: [during_deploy, always, none]
    default: during_deploy
  nat_deploy_hours_per_month:
    description:
      - O(nat_mode=during_deploy) - the hours a month the NAT gateway exists (the deploy window).
    type: float
    default: 4
  nat_gateways_now:
    description:
      - NAT gateways that exist now (for the hourly figure).
    type: int
    default: 0
  vpn_provider:
    description:
      - The VPN. Only V(client_vpn) has items of its own (associations and connection hours); the vpn host is one of
        O(hosts) whatever the provider.
    type: str
    choices: [openvpn_as, openvpn, client_vpn, none]
    default: openvpn_as
  vpn_members:
    description:
      - Members of the research team with a VPN profile.
    type: int
    default: 0
  vpn_hours_per_member_month:
    description:
      - Hours a month each member is connected (Client VPN bills each connection by the hour).
    type: float
    default: 40
  client_vpn_associations:
    description:
      - Subnet associations of the Client VPN endpoint, each billed every hour.
    type: int
    default: 1
  client_vpn_associations_now:
    description:
      - Client VPN subnet associations that exist now (for the hourly figure).
    type: int
    default: 0
  buckets:
    description:
      - Bucket name to its size in bytes as measured, every version counted; priced as S3 Standard per GiB
        (bytes / 2**30).
    type: dict
    default: {}
  efs_bytes:
    description:
      - The size in bytes of the environment's EFS file systems as measured (their metered size, C(efs_enabled));
        priced as EFS Standard per GiB (bytes / 2**30). V(0) (no EFS) makes no item.
    type: int
    default: 0
  kms_keys:
    description:
      - Customer managed KMS keys of the environment.
    type: int
    default: 0
  lambda_pipeline:
    description:
      - The Lambda pipeline's use.
    type: dict
    default: {}
    suboptions:
      enabled:
        description:
          - Whether the pipeline exists; without it there is no Lambda item.
        type: bool
        default: false
      requests_per_month:
        description:
          - Invocations a month.
        type: int
        default: 0
      memory_mb:
        description:
          - The function's memory size in MB; Lambda's default 128 MB is assumed when not given (the notes say so).
        type: int
      duration_ms:
        description:
          - The average duration of an invocation in ms; 1 s is assumed when not given (the notes say so).
        type: int
  compare_instance_types:
    description:
      - Instance types to price the O(compare_role) host on, beside its configured one.
    type: list
    elements: str
    default: []
  compare_role:
    description:
      - The role whose host is priced on each of O(compare_instance_types).
    type: str
    default: jupyter
  schedule:
    description:
      - The idle-stop schedule. The hosts of O(schedule.roles) are priced for the hours a month the schedules leave
        them on; with no O(schedule.stop) they run 730 hours.
    type: dict
    default: {}
    suboptions:
      stop:
        description:
          - The stop rule's EventBridge cron expression (UTC), C(stop_schedule); V("") for none.
        type: str
        default: ''
      start:
        description:
          - The start rule's cron expression, C(start_schedule); V("") for none.
        type: str
        default: ''
      assumed_start:
        description:
          - When O(schedule.start) is V(""), when people are assumed to start the hosts again by hand (a cron
            expression, C(cost_assumed_start)). The notes say the saving rests on it.
        type: str
        default: ''
      roles:
        description:
          - The roles whose hosts the schedules stop and start (C(stop_schedule_roles)).
        type: list
        elements: str
        default: []
author:
  - research-env contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Write the cost report
  research_env.core.cost_report:
    dest: "{{ artifacts_dir }}"
    environment: "{{ env_name }}"
    region: "{{ aws_region }}"
    months: "{{ cost_months }}"
    prices: "{{ __cost_prices.prices }}"
    price_source: "{{ __cost_prices.source }}"
    hosts:
      - {role: vpn, instance_type: t3.small, volume_gb: 20, public_ipv4: true, eip: true, running: true}
      - {role: jupyter, instance_type: t3.large, volume_gb: 50, public_ipv4: false, running: false, exists: true}
    nat_mode: "{{ nat_mode }}"
    nat_deploy_hours_per_month: "{{ cost_deploy_hours_per_month }}"
    vpn_provider: "{{ vpn_provider }}"
    vpn_members: "{{ research_team | selectattr('vpn') | list | length }}"
    vpn_hours_per_member_month: "{{ cost_vpn_hours_per_member_month }}"
    buckets: {researchenv-notebooks-123456789012: 52428800}
    efs_bytes: 1073741824
    kms_keys: 1
    compare_instance_types: "{{ cost_compare_instance_types }}"
    schedule:
      stop: "{{ stop_schedule }}"
      start: "{{ start_schedule }}"
      assumed_start: "{{ cost_assumed_start }}"
      roles: "{{ stop_schedule_roles }}"
  register: cost

- name: Show it
  ansible.builtin.debug:
    msg: "USD {{ cost.report.total.monthly_usd }} a month, {{ cost.report.total.period_usd }} over the period"
"""

RETURN = r"""
report:
  description:
    - The report, as written to cost.json. USD figures are rounded to the cent; unit prices are as given; an unpriced
      figure is V(null).
    - C(items) lists C(item), C(detail), C(quantity), C(unit), C(unit_usd), C(hours_per_month) (hourly items),
      C(monthly_usd), C(period_usd).
    - C(now) is C(hourly_usd), what is billed by the hour at this moment, and its C(items).
    - C(total) is C(monthly_usd) and C(period_usd) of the priced items; C(unpriced) lists the others.
    - C(comparisons) has C(instance_types) (the whole environment with the C(instance_types_role) host on each
      type, configured first, and that host's own C(host_monthly_usd)), C(nat_mode), C(vpn_provider) and
      C(designs) (rows of C(choice), C(monthly_usd), C(period_usd), C(configured)), and C(schedule) (C(stop),
      C(start) the start used, C(assumed) true when that is the assumed start, C(roles), C(hours_on_per_month),
      C(monthly_saving_usd), C(period_saving_usd)).
    - Also C(environment), C(region), C(months), C(price_source), C(price_sources), C(chart_series),
      C(chart_panels), C(notes).
  returned: always
  type: dict
  sample:
    environment: researchenv
    total: {monthly_usd: 112.52, period_usd: 337.56}
chart_series:
  description: The chart's lines, name to the cumulative USD at the end of month 0 .. O(months).
  returned: always
  type: dict
  sample: {"this configuration": [0.0, 112.52, 225.04, 337.56]}
json_path:
  description: The path of cost.json.
  returned: always
  type: str
md_path:
  description: The path of cost.md.
  returned: always
  type: str
png_path:
  description: The path of cost.png.
  returned: always
  type: str
files_changed:
  description: The files written (or, in check mode, that would be).
  returned: always
  type: list
  elements: str
"""

import io
import json
import os
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.research_env.core.plugins.module_utils import cost
from ansible_collections.research_env.core.plugins.module_utils.files import write_atomically
from ansible_collections.research_env.core.plugins.module_utils.schedule import hours_on_per_month

try:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    HAS_MATPLOTLIB = True
    MATPLOTLIB_IMPORT_ERROR = None
except ImportError:
    HAS_MATPLOTLIB = False
    MATPLOTLIB_IMPORT_ERROR = traceback.format_exc()

# Distinguishable on white and for the common colour blindnesses (Okabe & Ito), then tab10's others.
COLOURS = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#000000",
    "#8C564B",
    "#7F7F7F",
    "#BCBD22",
)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")
PNG_KEY = "Description"


def label_positions(values: list[float], gap: float) -> list[float]:
    """Heights for the end labels: each value, pushed apart so that no two are closer than `gap`."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    placed = [0.0] * len(values)
    previous = None
    for i in order:
        y = values[i] if previous is None else max(values[i], previous + gap)
        placed[i] = previous = y
    return placed


def designs_title(report: dict) -> str:
    """The right panel's title says what the two designs are, so that the chart reads without the table. The legend
    stays narrow: the lines all start at 0, so a legend under half the width never hides one."""
    lines = []
    for row in report["comparisons"]["designs"]:
        vpn = "Client VPN" if row["vpn_provider"] == "client_vpn" else row["vpn_provider"]
        schedule = "stop schedule" if row["stop_schedule"] else "no stop schedule"
        lines.append(f"{row['choice']}: NAT {row['nat_mode']}, {vpn}, {schedule}")
    return "\n".join(lines)


def panel(axes, report: dict, names: list[str], title: str) -> None:
    """One panel: a line per series, its final value at its end (labels pushed apart so they stay legible), the
    legend repeating the values; the configured choice drawn thick and on top."""
    series = report["chart_series"]
    months = report["months"]
    x = list(range(months + 1))
    finals = [series[n][-1] for n in names]
    top = max([*finals, 1.0])
    positions = label_positions(finals, top * 0.06)
    for k, (name, y) in enumerate(zip(names, positions, strict=True)):
        colour = COLOURS[k % len(COLOURS)]
        main = k == 0
        axes.plot(
            x,
            series[name],
            color=colour,
            linewidth=3.2 if main else 1.8,
            linestyle="-" if main or k % 2 else "--",
            marker=MARKERS[k % len(MARKERS)],
            markersize=5,
            zorder=4 if main else 3,
            label=f"{name}: ${series[name][-1]:,.0f}",
        )
        axes.annotate(
            f"${series[name][-1]:,.0f}",
            xy=(months, series[name][-1]),
            xytext=(months + 0.05 * months, y),
            color=colour,
            fontsize=9.5,
            fontweight="bold" if main else "normal",
            va="center",
            arrowprops={"arrowstyle": "-", "color": colour, "linewidth": 0.6},
        )
    axes.set_xlim(0, months * 1.2)
    axes.set_ylim(0, max([*positions, top]) * 1.08)
    axes.set_xticks(x)
    axes.set_xlabel("months")
    axes.set_ylabel("USD, cumulative")
    axes.set_title(title, fontsize=9.5)
    axes.grid(True, alpha=0.3)
    axes.legend(loc="upper left", fontsize=8.5, framealpha=0.9)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def chart(report: dict) -> bytes:
    """cost.png's bytes: Agg, no date or software in the file, the series' final values in a tEXt chunk."""
    figure = Figure(figsize=(12, 5), dpi=100)
    left, right = figure.subplots(1, 2)
    panels = report["chart_panels"]
    role = report["comparisons"]["instance_types_role"]
    if panels["left"]:
        panel(left, report, panels["left"], f"Whole environment, {role} host on each instance type")
    else:
        left.text(0.5, 0.5, f"no {role} host to compare", ha="center", va="center")
        left.set_axis_off()
    panel(right, report, panels["right"], designs_title(report))
    title = f"{report['environment']}: cost over {report['months']} months (USD)"
    if report["price_source"]:
        source = report["price_source"]
        title += "\nprices: " + (source if len(source) <= 110 else source[:109] + "…")
    if report["unpriced"]:
        title += f"  (excluding {len(report['unpriced'])} unpriced item(s))"
    figure.suptitle(title, fontsize=12)
    figure.tight_layout()
    description = {
        "environment": report["environment"],
        "months": report["months"],
        "panels": panels,
        "series": {name: values[-1] for name, values in report["chart_series"].items()},
    }
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None, PNG_KEY: json.dumps(description)})
    return buffer.getvalue()


def differs(path: str, data: bytes) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read() != data
    except FileNotFoundError:
        return True


def environment_of(params: dict, scheduled_hours: float) -> cost.Environment:
    pipeline = params["lambda_pipeline"] or {}
    return cost.Environment(
        hosts=tuple(
            cost.Host(
                h["role"],
                h["instance_type"],
                h["volume_gb"],
                public_ipv4=h["public_ipv4"],
                running=h["running"],
                exists=h["running"] if h["exists"] is None else h["exists"],
                eip=h["eip"],
            )
            for h in params["hosts"]
        ),
        nat_mode=params["nat_mode"],
        nat_deploy_hours_per_month=params["nat_deploy_hours_per_month"],
        vpn_provider=params["vpn_provider"],
        vpn_members=params["vpn_members"],
        vpn_hours_per_member_month=params["vpn_hours_per_member_month"],
        client_vpn_associations=params["client_vpn_associations"],
        buckets=tuple(sorted((str(k), int(v)) for k, v in params["buckets"].items())),
        kms_keys=params["kms_keys"],
        efs_bytes=params["efs_bytes"],
        lambda_pipeline=cost.LambdaPipeline(
            bool(pipeline.get("enabled")),
            int(pipeline.get("requests_per_month") or 0),
            pipeline.get("memory_mb"),
            pipeline.get("duration_ms"),
        ),
        scheduled_roles=tuple(params["schedule"]["roles"]),
        scheduled_hours=scheduled_hours,
    )


def check_inputs(module: AnsibleModule) -> None:
    p = module.params
    if p["months"] < 1:
        module.fail_json(msg=f"months: {p['months']} is not 1 or more")
    for name in (
        "nat_deploy_hours_per_month",
        "nat_gateways_now",
        "vpn_members",
        "vpn_hours_per_member_month",
        "client_vpn_associations",
        "client_vpn_associations_now",
        "kms_keys",
        "efs_bytes",
    ):
        if p[name] < 0:
            module.fail_json(msg=f"{name}: {p[name]} is negative")
    if p["nat_deploy_hours_per_month"] > cost.HOURS_PER_MONTH or p["vpn_hours_per_member_month"] > cost.HOURS_PER_MONTH:
        module.fail_json(msg=f"hours a month are at most {cost.HOURS_PER_MONTH}")
    for name, size in p["buckets"].items():
        if isinstance(size, bool) or not str(size).isdigit():
            module.fail_json(msg=f"buckets: {name}: {size!r} is not a size in bytes")
    for host in p["hosts"]:
        if host["volume_gb"] < 0:
            module.fail_json(msg=f"hosts: {host['role']}: volume_gb {host['volume_gb']} is negative")
        if host["eip"] and not host["public_ipv4"]:
            module.fail_json(msg=f"hosts: {host['role']}: eip is true but public_ipv4 is false (an Elastic IP is one)")
        if host["running"] and host["exists"] is False:
            module.fail_json(msg=f"hosts: {host['role']}: running is true but exists is false")
    prices = p["prices"]
    if not isinstance(prices.get("instance_hour") or {}, dict):
        module.fail_json(msg="prices: instance_hour must map instance types to prices an hour")
    for key, value in [*prices.items(), *(prices.get("instance_hour") or {}).items()]:
        if key == "instance_hour":
            continue
        try:
            price = cost.number(value)
        except (TypeError, ValueError):
            module.fail_json(msg=f"prices: {key}: {value!r} is not a price in USD")
        if price is not None and price < 0:
            module.fail_json(msg=f"prices: {key}: {value!r} is negative")


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "dest": {"type": "path", "required": True},
            "environment": {"type": "str", "required": True},
            "region": {"type": "str"},
            "months": {"type": "int", "default": 3},
            "prices": {"type": "dict", "required": True},
            "price_source": {"type": "str", "default": ""},
            "price_sources": {"type": "dict", "default": {}},
            "hosts": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "role": {"type": "str", "required": True},
                    "instance_type": {"type": "str", "required": True},
                    "volume_gb": {"type": "int", "default": 0},
                    "public_ipv4": {"type": "bool", "default": False},
                    "eip": {"type": "bool", "default": False},
                    "running": {"type": "bool", "default": False},
                    "exists": {"type": "bool"},
                },
            },
            "nat_mode": {"type": "str", "choices": ["during_deploy", "always", "none"], "default": "during_deploy"},
            "nat_deploy_hours_per_month": {"type": "float", "default": 4},
            "nat_gateways_now": {"type": "int", "default": 0},
            "vpn_provider": {
                "type": "str",
                "choices": ["openvpn_as", "openvpn", "client_vpn", "none"],
                "default": "openvpn_as",
            },
            "vpn_members": {"type": "int", "default": 0},
            "vpn_hours_per_member_month": {"type": "float", "default": 40},
            "client_vpn_associations": {"type": "int", "default": 1},
            "client_vpn_associations_now": {"type": "int", "default": 0},
            "buckets": {"type": "dict", "default": {}},
            "efs_bytes": {"type": "int", "default": 0},
            "kms_keys": {"type": "int", "default": 0, "no_log": False},  # a count of keys, not a secret
            "lambda_pipeline": {
                "type": "dict",
                "default": {},
                "options": {
                    "enabled": {"type": "bool", "default": False},
                    "requests_per_month": {"type": "int", "default": 0},
                    "memory_mb": {"type": "int"},
                    "duration_ms": {"type": "int"},
                },
            },
            "compare_instance_types": {"type": "list", "elements": "str", "default": []},
            "compare_role": {"type": "str", "default": "jupyter"},
            "schedule": {
                "type": "dict",
                "default": {},
                "options": {
                    "stop": {"type": "str", "default": ""},
                    "start": {"type": "str", "default": ""},
                    "assumed_start": {"type": "str", "default": ""},
                    "roles": {"type": "list", "elements": "str", "default": []},
                },
            },
        },
        supports_check_mode=True,
    )
    if not HAS_MATPLOTLIB:
        module.fail_json(
            msg=missing_required_lib("matplotlib", reason="to draw cost.png")
            + " Run `make setup` (or `pip install -r requirements.txt` in the Python Ansible runs with).",
            exception=MATPLOTLIB_IMPORT_ERROR,
        )
    check_inputs(module)
    p = module.params
    sched = p["schedule"]
    start = sched["start"] or sched["assumed_start"]
    try:
        hours = hours_on_per_month(sched["stop"], start)
    except ValueError as e:
        module.fail_json(msg=f"schedule: {sched['stop']!r} / {start!r}: {e}")
    env = environment_of(p, hours)
    data = cost.report(
        env,
        cost.Now(p["nat_gateways_now"], p["client_vpn_associations_now"]),
        p["prices"],
        environment=p["environment"],
        region=p["region"],
        months=p["months"],
        price_source=p["price_source"],
        price_sources={str(k): str(v) for k, v in p["price_sources"].items()},
        compare_role=p["compare_role"],
        compare_types=p["compare_instance_types"],
        schedule=cost.ScheduleInfo(
            sched["stop"], start, bool(sched["stop"] and not sched["start"]), tuple(sched["roles"])
        ),
    )
    dest = os.path.abspath(p["dest"])
    files = {
        os.path.join(dest, "cost.json"): (json.dumps(data, indent=2) + "\n").encode(),
        os.path.join(dest, "cost.md"): cost.markdown(data).encode(),
        os.path.join(dest, "cost.png"): chart(data),
    }
    changed_files = [path for path, content in files.items() if differs(path, content)]
    if changed_files and not module.check_mode:
        os.makedirs(dest, exist_ok=True)
        for path in changed_files:
            write_atomically(path, files[path])
    paths = list(files)
    module.exit_json(
        changed=bool(changed_files),
        report=data,
        chart_series=data["chart_series"],
        json_path=paths[0],
        md_path=paths[1],
        png_path=paths[2],
        files_changed=changed_files,
    )


if __name__ == "__main__":
    main()
