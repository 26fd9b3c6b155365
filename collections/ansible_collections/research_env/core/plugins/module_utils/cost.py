# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cost report's arithmetic: what this environment costs per hour, per month and over a period, from its
configuration, what exists and a table of unit prices; and what each costly choice would cost instead.

Pure functions on plain data, so that every figure can be checked by hand. Full precision is kept throughout;
`cents` rounds only what goes into the outputs. A month is 730 hours (AWS's own convention: 8760 / 12). A price
that is missing makes its item *unpriced*: listed, never counted as free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

HOURS_PER_MONTH = 730
GIB = 2**30
NAT_MODES = ("always", "during_deploy", "none")
VPN_PROVIDERS = ("openvpn_as", "openvpn", "client_vpn")
LAMBDA_DEFAULT_DURATION_MS = 1000
LAMBDA_DEFAULT_MEMORY_MB = 128  # Lambda's own default memory size
SOURCE_DESIGN = "source documents' design"
THIS_CONFIGURATION = "this configuration"
NO_SCHEDULE = "no stop schedule"


@dataclass(frozen=True)
class Host:
    """One host. `public_ipv4`: it has a public IPv4 address, elastic or not; `eip`: that address is an Elastic
    IP (billed every hour, the host running or not), else it is billed only while the host runs (a host in a
    public subnet). `running`: pending or running now; `exists`: it exists now, running or stopped (by default
    the same as `running`)."""

    role: str
    instance_type: str
    volume_gb: int = 0
    public_ipv4: bool = False
    running: bool = False
    exists: bool | None = None
    eip: bool = False

    def __post_init__(self) -> None:
        if self.exists is None:
            object.__setattr__(self, "exists", self.running)


@dataclass(frozen=True)
class LambdaPipeline:
    enabled: bool = False
    requests_per_month: int = 0
    memory_mb: int | None = None
    duration_ms: int | None = None


@dataclass(frozen=True)
class Environment:
    """One configuration to price. `scheduled_hours` is how long the hosts of `scheduled_roles` are on per month
    (HOURS_PER_MONTH when there is no stop schedule)."""

    hosts: tuple[Host, ...] = ()
    nat_mode: str = "during_deploy"
    nat_deploy_hours_per_month: float = 0.0
    vpn_provider: str = "openvpn_as"
    vpn_members: int = 0
    vpn_hours_per_member_month: float = 0.0
    client_vpn_associations: int = 1
    buckets: tuple[tuple[str, int], ...] = ()
    kms_keys: int = 0
    efs_bytes: int = 0
    lambda_pipeline: LambdaPipeline = field(default_factory=LambdaPipeline)
    scheduled_roles: tuple[str, ...] = ()
    scheduled_hours: float = HOURS_PER_MONTH


@dataclass(frozen=True)
class Now:
    """What exists at this moment, for the hourly figure."""

    nat_gateways: int = 0
    client_vpn_associations: int = 0


def cents(value: float | None) -> float | None:
    """USD rounded half up to the cent, for the outputs only. round() would make 2.675 into 2.67, and 5 x 0.023
    is 0.11499999999999999 in binary: the float's noise is dropped first (at 1e-9), then the cents rounded."""
    if value is None:
        return None
    exact = Decimal(repr(value)).quantize(Decimal("1e-9"), rounding=ROUND_HALF_UP)
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def number(value: Any) -> float | None:
    """A price as a float; None (missing) stays None. Numeric strings (the Price List API's) are read;
    anything else raises ValueError."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a price")
    return float(value)


def unit_price(prices: Mapping[str, Any], key: str) -> float | None:
    return number(prices.get(key))


def instance_price(prices: Mapping[str, Any], instance_type: str) -> float | None:
    return number((prices.get("instance_hour") or {}).get(instance_type))


def host_hours(env: Environment, host: Host) -> float:
    return env.scheduled_hours if host.role in env.scheduled_roles else float(HOURS_PER_MONTH)


def nat_hours(nat_mode: str, deploy_hours: float) -> float:
    """Hours a month the NAT gateway exists: always 730; during_deploy only the deploy window; none 0."""
    if nat_mode == "always":
        return float(HOURS_PER_MONTH)
    if nat_mode == "during_deploy":
        return float(deploy_hours)
    return 0.0


def item(
    name: str,
    detail: str,
    quantity: float,
    unit: str,
    unit_usd: float | None,
    hours_per_month: float | None = None,
    price: str = "",
) -> dict[str, Any]:
    """One line of the estimate. An hourly item's monthly cost is quantity x hours x unit price; any other's is
    quantity x unit price (the unit being per month or per request)."""
    if unit_usd is None:
        monthly = None
    elif hours_per_month is None:
        monthly = quantity * unit_usd
    else:
        monthly = quantity * hours_per_month * unit_usd
    line = {"item": name, "detail": detail, "quantity": quantity, "unit": unit, "unit_usd": unit_usd}
    if hours_per_month is not None:
        line["hours_per_month"] = hours_per_month
    line["monthly_usd"] = monthly
    line["price"] = price
    return line


def instance_items(env: Environment, prices: Mapping[str, Any]) -> list[dict[str, Any]]:
    lines = []
    for host in env.hosts:
        hours = host_hours(env, host)
        detail = f"{host.role} ({host.instance_type})"
        if host.role in env.scheduled_roles and hours < HOURS_PER_MONTH:
            detail += ", stop schedule"
        lines.append(
            item(
                "instance",
                detail,
                1,
                "instance-hour",
                instance_price(prices, host.instance_type),
                hours,
                f"instance_hour.{host.instance_type}",
            )
        )
    return lines


def ebs_item(env: Environment, prices: Mapping[str, Any]) -> list[dict[str, Any]]:
    """gp3 volumes are billed by the GB-month whether their instance runs or not."""
    total = sum(h.volume_gb for h in env.hosts)
    if not total:
        return []
    detail = "gp3, " + " + ".join(f"{h.role} {h.volume_gb}" for h in env.hosts if h.volume_gb) + " GB"
    return [item("EBS", detail, total, "GB-month", unit_price(prices, "ebs_gp3_gb_month"), None, "ebs_gp3_gb_month")]


def public_ipv4_item(env: Environment, prices: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The hosts' public IPv4 addresses. An Elastic IP is billed every hour, its host stopped or not; any other
    public address (a host in a public subnet) only while its host runs: the host's hours (730, or the schedule's
    for the scheduled roles). One line for the Elastic IPs, one for the other addresses on each number of hours."""
    price = unit_price(prices, "public_ipv4_hour")
    lines = []
    elastic = [h.role for h in env.hosts if h.public_ipv4 and h.eip]
    if elastic:
        detail = "Elastic IP of " + ", ".join(elastic)
        lines.append(
            item("public IPv4", detail, len(elastic), "address-hour", price, HOURS_PER_MONTH, "public_ipv4_hour")
        )
    by_hours: dict[float, list[str]] = {}
    for host in env.hosts:
        if host.public_ipv4 and not host.eip:
            by_hours.setdefault(host_hours(env, host), []).append(host.role)
    for hours, roles in by_hours.items():
        detail = "public address (not an Elastic IP) of " + ", ".join(roles) + ", while running"
        if hours < HOURS_PER_MONTH:
            detail += " (stop schedule)"
        lines.append(item("public IPv4", detail, len(roles), "address-hour", price, hours, "public_ipv4_hour"))
    return lines


def nat_items(env: Environment, prices: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The NAT gateway and its Elastic IP, for the hours nat_mode keeps it. Data processed is not counted."""
    hours = nat_hours(env.nat_mode, env.nat_deploy_hours_per_month)
    if not hours:
        return []
    detail = f"nat_mode {env.nat_mode}"
    return [
        item(
            "NAT gateway", detail, 1, "gateway-hour", unit_price(prices, "nat_gateway_hour"), hours, "nat_gateway_hour"
        ),
        item(
            "NAT gateway public IPv4",
            detail + ", its Elastic IP",
            1,
            "address-hour",
            unit_price(prices, "public_ipv4_hour"),
            hours,
            "public_ipv4_hour",
        ),
    ]


def client_vpn_items(env: Environment, prices: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Client VPN bills each subnet association every hour, and each connection for the hours it is up."""
    if env.vpn_provider != "client_vpn":
        return []
    return [
        item(
            "Client VPN associations",
            "subnet associations of the endpoint",
            env.client_vpn_associations,
            "association-hour",
            unit_price(prices, "client_vpn_association_hour"),
            HOURS_PER_MONTH,
            "client_vpn_association_hour",
        ),
        item(
            "Client VPN connections",
            f"{env.vpn_members} members x {env.vpn_hours_per_member_month:g} h connected a month",
            env.vpn_members,
            "connection-hour",
            unit_price(prices, "client_vpn_connection_hour"),
            env.vpn_hours_per_member_month,
            "client_vpn_connection_hour",
        ),
    ]


def s3_items(env: Environment, prices: Mapping[str, Any]) -> list[dict[str, Any]]:
    """S3 Standard storage of each bucket as measured (every version), in GiB: bytes / 2**30."""
    price = unit_price(prices, "s3_standard_gb_month")
    return [
        item("S3", f"{name}: {size} bytes / 2**30", size / GIB, "GB-month", price, None, "s3_standard_gb_month")
        for name, size in env.buckets
    ]


def efs_item(env: Environment, prices: Mapping[str, Any]) -> list[dict[str, Any]]:
    """EFS Standard storage of the environment's file systems as measured, in GiB: bytes / 2**30. None measured
    (no EFS, or empty), no item."""
    if not env.efs_bytes:
        return []
    price = unit_price(prices, "efs_standard_gb_month")
    detail = f"Standard: {env.efs_bytes} bytes / 2**30"
    return [item("EFS", detail, env.efs_bytes / GIB, "GB-month", price, None, "efs_standard_gb_month")]


def kms_item(env: Environment, prices: Mapping[str, Any]) -> list[dict[str, Any]]:
    if not env.kms_keys:
        return []
    price = unit_price(prices, "kms_key_month")
    return [item("KMS", "customer managed keys", env.kms_keys, "key-month", price, None, "kms_key_month")]


def lambda_figures(pipeline: LambdaPipeline) -> tuple[float, float, float]:
    """Requests a month, memory in GB and duration in seconds, with Lambda's defaults where not given."""
    memory = pipeline.memory_mb if pipeline.memory_mb is not None else LAMBDA_DEFAULT_MEMORY_MB
    duration = pipeline.duration_ms if pipeline.duration_ms is not None else LAMBDA_DEFAULT_DURATION_MS
    return float(pipeline.requests_per_month), memory / 1024, duration / 1000


def lambda_items(env: Environment, prices: Mapping[str, Any]) -> list[dict[str, Any]]:
    pipeline = env.lambda_pipeline
    if not pipeline.enabled:
        return []
    requests, memory_gb, seconds = lambda_figures(pipeline)
    million = unit_price(prices, "lambda_million_requests")
    return [
        item(
            "Lambda requests",
            f"{requests:g} requests a month",
            requests / 1e6,
            "million requests",
            million,
            None,
            "lambda_million_requests",
        ),
        item(
            "Lambda duration",
            f"{requests:g} x {seconds:g} s x {memory_gb:g} GB",
            requests * seconds * memory_gb,
            "GB-second",
            unit_price(prices, "lambda_gb_second"),
            None,
            "lambda_gb_second",
        ),
    ]


def line_items(env: Environment, prices: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every item of the estimate, in a fixed order."""
    return [
        *instance_items(env, prices),
        *ebs_item(env, prices),
        *public_ipv4_item(env, prices),
        *nat_items(env, prices),
        *client_vpn_items(env, prices),
        *s3_items(env, prices),
        *efs_item(env, prices),
        *kms_item(env, prices),
        *lambda_items(env, prices),
    ]


def unpriced(items: list[dict[str, Any]]) -> list[str]:
    return [f"{i['item']}: {i['detail']} (no price {i['price']})" for i in items if i["monthly_usd"] is None]


def monthly_total(items: list[dict[str, Any]]) -> float:
    """The priced items' sum; unpriced ones are reported apart, not taken as free."""
    return sum(i["monthly_usd"] for i in items if i["monthly_usd"] is not None)


def monthly(env: Environment, prices: Mapping[str, Any]) -> float:
    return monthly_total(line_items(env, prices))


def now_items(env: Environment, now: Now, prices: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What is billed by the hour at this moment: running instances, the Elastic IPs of existing hosts (running or
    stopped) and the other public addresses of running hosts, existing NAT gateways (each with its address),
    existing Client VPN associations."""
    lines = []
    for host in env.hosts:
        if host.running:
            lines.append(
                {
                    "item": "instance",
                    "detail": f"{host.role} ({host.instance_type})",
                    "quantity": 1,
                    "unit_usd": instance_price(prices, host.instance_type),
                }
            )
    public = [
        h.role if h.running else f"{h.role} (Elastic IP, host stopped)"
        for h in env.hosts
        if h.public_ipv4 and (h.running or (h.eip and h.exists))
    ]
    if public:
        lines.append(
            {
                "item": "public IPv4",
                "detail": ", ".join(public),
                "quantity": len(public),
                "unit_usd": unit_price(prices, "public_ipv4_hour"),
            }
        )
    if now.nat_gateways:
        lines.append(
            {
                "item": "NAT gateway",
                "detail": "existing now",
                "quantity": now.nat_gateways,
                "unit_usd": unit_price(prices, "nat_gateway_hour"),
            }
        )
        lines.append(
            {
                "item": "NAT gateway public IPv4",
                "detail": "their Elastic IPs",
                "quantity": now.nat_gateways,
                "unit_usd": unit_price(prices, "public_ipv4_hour"),
            }
        )
    if now.client_vpn_associations:
        lines.append(
            {
                "item": "Client VPN associations",
                "detail": "existing now",
                "quantity": now.client_vpn_associations,
                "unit_usd": unit_price(prices, "client_vpn_association_hour"),
            }
        )
    for line in lines:
        line["hourly_usd"] = None if line["unit_usd"] is None else line["quantity"] * line["unit_usd"]
    return lines


def instance_type_comparison(
    env: Environment, prices: Mapping[str, Any], role: str, types: list[str], months: int
) -> list[dict[str, Any]]:
    """The whole environment with the hosts of `role` on each type (the configured type first), and those hosts'
    own share. A type without a price is listed with None."""
    configured = [h.instance_type for h in env.hosts if h.role == role]
    if not configured:
        return []
    rows = []
    for instance_type in dict.fromkeys([configured[0], *types]):
        hosts = tuple(replace(h, instance_type=instance_type) if h.role == role else h for h in env.hosts)
        alternative = replace(env, hosts=hosts)
        items = line_items(alternative, prices)
        hourly = instance_price(prices, instance_type)
        host_monthly = (
            None if hourly is None else sum(hourly * host_hours(alternative, h) for h in hosts if h.role == role)
        )
        total = None if hourly is None else monthly_total(items)
        rows.append(
            {
                "instance_type": instance_type,
                "unit_usd": hourly,
                "host_monthly_usd": host_monthly,
                "host_period_usd": None if host_monthly is None else host_monthly * months,
                "monthly_usd": total,
                "period_usd": None if total is None else total * months,
                "configured": instance_type == configured[0],
                "unpriced": unpriced(items),
            }
        )
    return rows


def choice_row(choice: str, env: Environment, prices: Mapping[str, Any], months: int, configured: bool) -> dict:
    items = line_items(env, prices)
    total = monthly_total(items)
    return {
        "choice": choice,
        "monthly_usd": total,
        "period_usd": total * months,
        "configured": configured,
        "unpriced": unpriced(items),
    }


def nat_mode_comparison(env: Environment, prices: Mapping[str, Any], months: int) -> list[dict[str, Any]]:
    return [choice_row(mode, replace(env, nat_mode=mode), prices, months, mode == env.nat_mode) for mode in NAT_MODES]


def vpn_provider_comparison(env: Environment, prices: Mapping[str, Any], months: int) -> list[dict[str, Any]]:
    """The vpn host stays in every alternative (it is the bastion whatever the VPN); client_vpn adds its
    association and connection hours; openvpn_as's licence is not billed by AWS (see the notes)."""
    providers = list(VPN_PROVIDERS)
    if env.vpn_provider not in providers:
        providers.append(env.vpn_provider)
    rows = []
    for provider in providers:
        row = choice_row(provider, replace(env, vpn_provider=provider), prices, months, provider == env.vpn_provider)
        if provider == "openvpn_as":
            row["note"] = "licence: 2 concurrent connections free, more from OpenVPN Inc. (not billed by AWS)"
        rows.append(row)
    return rows


def source_design(env: Environment) -> Environment:
    """The source documents' design: a NAT gateway always on, AWS Client VPN, no stop schedule."""
    return replace(env, nat_mode="always", vpn_provider="client_vpn", scheduled_hours=float(HOURS_PER_MONTH))


def without_schedule(env: Environment) -> Environment:
    return replace(env, scheduled_hours=float(HOURS_PER_MONTH))


def design_comparison(env: Environment, prices: Mapping[str, Any], months: int) -> list[dict[str, Any]]:
    rows = []
    for name, design in ((THIS_CONFIGURATION, env), (SOURCE_DESIGN, source_design(env))):
        row = choice_row(name, design, prices, months, design is env)
        row.update(
            nat_mode=design.nat_mode,
            vpn_provider=design.vpn_provider,
            stop_schedule=design.scheduled_hours < HOURS_PER_MONTH,
        )
        rows.append(row)
    return rows


def schedule_saving(env: Environment, prices: Mapping[str, Any]) -> float:
    """What the stop schedule saves a month: the scheduled hosts' instance hours while stopped, and the hours of
    their public addresses that are not Elastic IPs (released while the host is stopped). Their volumes and
    Elastic IPs are billed all the same. Unpriced items save nothing counted."""
    saved = HOURS_PER_MONTH - env.scheduled_hours
    address = unit_price(prices, "public_ipv4_hour")
    total = 0.0
    for host in env.hosts:
        if host.role not in env.scheduled_roles:
            continue
        price = instance_price(prices, host.instance_type)
        if price is not None:
            total += price * saved
        if host.public_ipv4 and not host.eip and address is not None:
            total += address * saved
    return total


def cumulative(monthly_usd: float, months: int) -> list[float]:
    """USD spent by the end of month 0..months (the monthly cost spread evenly)."""
    return [monthly_usd * m for m in range(months + 1)]


def chart_series(
    env: Environment, prices: Mapping[str, Any], role: str, types: list[str], months: int
) -> tuple[dict[str, list[float]], list[str], list[str]]:
    """The chart's lines (name -> cumulative USD at month 0..months) and the names on each panel: left, the whole
    environment with `role` on each instance type; right, this configuration against each nat_mode and
    vpn_provider alternative, the source documents' design and, when there is a stop schedule, none."""
    series: dict[str, list[float]] = {}
    left, right = [], []
    for row in instance_type_comparison(env, prices, role, types, months):
        if row["monthly_usd"] is None:
            continue
        name = f"{role} on {row['instance_type']}" + (" (configured)" if row["configured"] else "")
        series[name] = cumulative(row["monthly_usd"], months)
        left.append(name)
    choices: list[tuple[str, Environment]] = [(THIS_CONFIGURATION, env)]
    choices += [(f"nat_mode {m}", replace(env, nat_mode=m)) for m in NAT_MODES if m != env.nat_mode]
    choices += [(f"vpn_provider {p}", replace(env, vpn_provider=p)) for p in VPN_PROVIDERS if p != env.vpn_provider]
    choices.append((SOURCE_DESIGN, source_design(env)))
    if env.scheduled_hours < HOURS_PER_MONTH:
        choices.append((NO_SCHEDULE, without_schedule(env)))
    for name, design in choices:
        series[name] = cumulative(monthly(design, prices), months)
        right.append(name)
    return series, left, right


@dataclass(frozen=True)
class ScheduleInfo:
    """The stop schedule as configured, the start used for the figures and whether that start was assumed."""

    stop: str = ""
    start: str = ""
    assumed: bool = False
    roles: tuple[str, ...] = ()


ALWAYS_NOTES = (
    "A month is 730 hours; the period is `months` months of the same configuration.",
    "Prices exclude data transfer: the NAT gateway's charge per GB processed (nat_gateway_gb) is shown as a unit "
    "price only, and internet egress is not counted.",
    "Free tiers are ignored (Lambda, S3, EFS, KMS requests, public IPv4 in the first year).",
    "An Elastic IP is billed every hour, its host running or stopped; a public address that is not an Elastic IP "
    "(a host in a public subnet) is billed only while its host runs, so it counts for the host's hours (730, or the "
    "stop schedule's for the scheduled roles).",
    "EBS volumes and EFS storage are billed whether the hosts run or not; the stop schedule saves instance hours "
    "and the hours of public addresses that are not Elastic IPs, nothing else.",
    "AWS Budgets cost nothing here (the first budgets of an account are free).",
    "The stop schedule itself costs a few cents a month (SSM Automation steps; EventBridge scheduled rules are "
    "free), not counted here.",
    "T3 instances run in unlimited mode by default: a host busy above its baseline is billed for CPU credits "
    "(USD 0.05 a vCPU-hour for Linux), not counted here.",
    "The vpn host stays in every vpn_provider alternative: the project keeps it as the SSH bastion for all three.",
    "OpenVPN Access Server (openvpn_as): two concurrent connections are free; more need a subscription bought "
    "from OpenVPN Inc., not billed by AWS and not counted here.",
    "Items whose price is missing are listed as unpriced and left out of the totals, never counted as free.",
    "'now' counts what is billed by the hour at this moment: running instances, the Elastic IPs of existing hosts "
    "(running or stopped) and the other public addresses of running hosts, existing NAT gateways with their "
    "addresses, existing Client VPN associations.",
)


def notes(env: Environment, schedule: ScheduleInfo, prices: Mapping[str, Any], compare_role: str) -> list[str]:
    found = list(ALWAYS_NOTES)
    gb = unit_price(prices, "nat_gateway_gb")
    found.append(
        "NAT gateway data processing: "
        + ("no price given." if gb is None else f"USD {gb:g} per GB processed, while the gateway exists.")
    )
    if env.nat_mode == "during_deploy":
        found.append(
            f"nat_mode during_deploy: the NAT gateway exists {env.nat_deploy_hours_per_month:g} h a month "
            "(the deploy window), then is removed."
        )
    pipeline = env.lambda_pipeline
    if pipeline.enabled and pipeline.duration_ms is None:
        found.append(f"Lambda: a 1 s average duration ({LAMBDA_DEFAULT_DURATION_MS} ms) is assumed per request.")
    if pipeline.enabled and pipeline.memory_mb is None:
        found.append(f"Lambda: {LAMBDA_DEFAULT_MEMORY_MB} MB of memory (Lambda's default) is assumed.")
    if schedule.stop and schedule.assumed and not schedule.start:
        found.append(
            "No start schedule and no assumed start: the scheduled hosts are priced as on until the first stop, "
            "then off."
        )
    elif schedule.stop and schedule.assumed:
        found.append(
            f"No start schedule: the saving assumes people start the hosts ({', '.join(schedule.roles)}) at "
            f"{schedule.start} (UTC)."
        )
    if not schedule.stop:
        found.append("No stop schedule: every host is priced on for 730 h a month.")
    if not any(h.role == compare_role for h in env.hosts):
        found.append(f"No {compare_role} host: no instance type comparison.")
    return found


def report(
    env: Environment,
    now: Now,
    prices: Mapping[str, Any],
    *,
    environment: str,
    region: str | None,
    months: int,
    price_source: str,
    price_sources: Mapping[str, str],
    compare_role: str,
    compare_types: list[str],
    schedule: ScheduleInfo,
) -> dict[str, Any]:
    """The whole report, USD rounded to cents (unit prices as given). Built from the inputs only (no timestamp),
    so the same inputs give the same files."""
    items = line_items(env, prices)
    total = monthly_total(items)
    hourly = now_items(env, now, prices)
    saving = schedule_saving(env, prices)
    series, left, right = chart_series(env, prices, compare_role, compare_types, months)
    return {
        "environment": environment,
        "region": region,
        "months": months,
        "hours_per_month": HOURS_PER_MONTH,
        "price_source": price_source,
        "price_sources": dict(price_sources),
        "items": [output_item(i, months) for i in items],
        "now": {
            "hourly_usd": cents(sum(i["hourly_usd"] for i in hourly if i["hourly_usd"] is not None)),
            "items": [{**i, "hourly_usd": cents(i["hourly_usd"])} for i in hourly],
            "unpriced": [f"{i['item']}: {i['detail']}" for i in hourly if i["hourly_usd"] is None],
        },
        "total": {"monthly_usd": cents(total), "period_usd": cents(total * months)},
        "unpriced": unpriced(items),
        "comparisons": {
            "instance_types": [
                output_row(r) for r in instance_type_comparison(env, prices, compare_role, compare_types, months)
            ],
            "instance_types_role": compare_role,
            "nat_mode": [output_row(r) for r in nat_mode_comparison(env, prices, months)],
            "vpn_provider": [output_row(r) for r in vpn_provider_comparison(env, prices, months)],
            "designs": [output_row(r) for r in design_comparison(env, prices, months)],
            "schedule": {
                "stop": schedule.stop,
                "start": schedule.start,
                "assumed": schedule.assumed,
                "roles": list(schedule.roles),
                "hours_on_per_month": round(env.scheduled_hours, 2),
                "monthly_saving_usd": cents(saving),
                "period_saving_usd": cents(saving * months),
            },
        },
        "chart_series": {name: [cents(v) for v in values] for name, values in series.items()},
        "chart_panels": {"left": left, "right": right},
        "notes": notes(env, schedule, prices, compare_role),
    }


def output_item(line: dict[str, Any], months: int) -> dict[str, Any]:
    monthly_usd = line["monthly_usd"]
    out = {k: v for k, v in line.items() if k not in ("monthly_usd", "price")}
    out["quantity"] = round(line["quantity"], 6)
    if "hours_per_month" in out:
        out["hours_per_month"] = round(out["hours_per_month"], 2)
    out["monthly_usd"] = cents(monthly_usd)
    out["period_usd"] = None if monthly_usd is None else cents(monthly_usd * months)
    return out


def output_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: cents(v) if k.endswith("_usd") and k != "unit_usd" else v for k, v in row.items()}


def usd(value: float | None) -> str:
    return "unpriced" if value is None else f"{value:,.2f}"


def cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def markdown(data: dict[str, Any]) -> str:
    """cost.md: the report as Markdown tables, for people."""
    months = data["months"]
    period = f"USD / {months} months"
    lines = [
        f"# Cost of {data['environment']} ({data['region'] or 'no region'})",
        "",
        f"Prices: {data['price_source']}. {data['hours_per_month']} hours a month; period {months} months.",
        "",
        "## Estimate",
        "",
    ]
    rows = [
        [
            i["item"],
            i["detail"],
            f"{i['quantity']:g}",
            i["unit"],
            "unpriced" if i["unit_usd"] is None else f"{i['unit_usd']:g}",
            f"{i['hours_per_month']:g}" if "hours_per_month" in i else "",
            usd(i["monthly_usd"]),
            usd(i["period_usd"]),
        ]
        for i in data["items"]
    ]
    rows.append(["**total**", "", "", "", "", "", usd(data["total"]["monthly_usd"]), usd(data["total"]["period_usd"])])
    lines += table(["Item", "Detail", "Quantity", "Unit", "USD / unit", "Hours / month", "USD / month", period], rows)
    if data["unpriced"]:
        lines += ["Unpriced (not in the total):", "", *[f"- {u}" for u in data["unpriced"]], ""]
    now = data["now"]
    lines += [f"## Billed now: USD {usd(now['hourly_usd'])} an hour", ""]
    if now["items"]:
        lines += table(
            ["Item", "Detail", "Quantity", "USD / unit-hour", "USD / hour"],
            [
                [
                    i["item"],
                    i["detail"],
                    i["quantity"],
                    "unpriced" if i["unit_usd"] is None else f"{i['unit_usd']:g}",
                    usd(i["hourly_usd"]),
                ]
                for i in now["items"]
            ],
        )
    else:
        lines += ["Nothing billed by the hour exists now.", ""]
    comparisons = data["comparisons"]
    lines += ["## Comparisons", ""]
    if comparisons["instance_types"]:
        role = comparisons["instance_types_role"]
        lines += [f"### The {role} host's instance type (whole environment)", ""]
        lines += table(
            ["Instance type", "USD / hour", f"{role} USD / month", "Total USD / month", f"Total {period}", ""],
            [
                [
                    r["instance_type"],
                    "unpriced" if r["unit_usd"] is None else f"{r['unit_usd']:g}",
                    usd(r["host_monthly_usd"]),
                    usd(r["monthly_usd"]),
                    usd(r["period_usd"]),
                    "configured" if r["configured"] else "",
                ]
                for r in comparisons["instance_types"]
            ],
        )
    for key, title in (("nat_mode", "nat_mode"), ("vpn_provider", "vpn_provider"), ("designs", "Design")):
        lines += [f"### {title}", ""]
        lines += table(
            [title, "USD / month", period, "", "Note"],
            [
                [
                    r["choice"],
                    usd(r["monthly_usd"]),
                    usd(r["period_usd"]),
                    "configured" if r["configured"] else "",
                    r.get("note", "")
                    or (
                        f"nat_mode {r['nat_mode']}, vpn_provider {r['vpn_provider']}, "
                        f"{'stop schedule' if r['stop_schedule'] else 'no stop schedule'}"
                        if key == "designs"
                        else ""
                    ),
                ]
                for r in comparisons[key]
            ],
        )
    s = comparisons["schedule"]
    lines += ["### Stop schedule", ""]
    if s["stop"]:
        start = f"{s['start']}" + (" (assumed: no start schedule)" if s["assumed"] else "")
        lines += table(
            ["Stop", "Start", "Roles", "Hours on / month", "Saving USD / month", f"Saving {period}"],
            [
                [
                    s["stop"],
                    start,
                    ", ".join(s["roles"]),
                    f"{s['hours_on_per_month']:g}",
                    usd(s["monthly_saving_usd"]),
                    usd(s["period_saving_usd"]),
                ]
            ],
        )
    else:
        lines += ["No stop schedule (stop_schedule is empty): no saving.", ""]
    if data["price_sources"]:
        lines += ["## Price sources", ""]
        lines += table(["Price", "Source"], [[k, v] for k, v in data["price_sources"].items()])
    lines += ["## Notes", "", *[f"- {n}" for n in data["notes"]], ""]
    return "\n".join(lines)
