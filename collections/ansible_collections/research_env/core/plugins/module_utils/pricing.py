# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The unit prices of the cost report (research_env.core.pricing_info): which AWS Price List Query API
(GetProducts) question prices each item, how a PriceList document is read, how API prices, a cache of
them and the offline table (playbooks/vars/prices.yml) are merged. Plain functions over the shapes AWS
answers, unit-tested without AWS; only read_cache/write_cache touch a file.

The questions filter on `regionCode` (the region's code, e.g. eu-west-1) rather than `location`, whose
names AWS has changed ("EU (Ireland)" became "Europe (Ireland)" in some offers). Where the filters alone
could still match a neighbouring product (a NAT gateway's hours and its bytes share a product family, a
Client VPN association and a connection the AmazonVPC service), the answer is narrowed by the product's
`usagetype`, which AWS prefixes with a region abbreviation ("EU-", "USE1-", "us-east-1-") or not at all
in us-east-1.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from ansible_collections.research_env.core.plugins.module_utils.files import write_atomically

# The items of the report besides the instance hours, in the order the report lists them.
SCALAR_KEYS = (
    "ebs_gp3_gb_month",
    "nat_gateway_hour",
    "nat_gateway_gb",
    "public_ipv4_hour",
    "client_vpn_association_hour",
    "client_vpn_connection_hour",
    "s3_standard_gb_month",
    "efs_standard_gb_month",
    "kms_key_month",
    "lambda_million_requests",
    "lambda_gb_second",
)
INSTANCE_KEY = "instance_hour"

# The on-demand Linux price of an instance: shared tenancy, no pre-installed software (SQL Server, ...),
# capacity actually used (not an unused reservation), no licence included.
INSTANCE_FILTERS = {
    "operatingSystem": "Linux",
    "tenancy": "Shared",
    "preInstalledSw": "NA",
    "capacitystatus": "Used",
    "licenseModel": "No License required",
}

# A usagetype is "<prefix>-<what>" or just "<what>": the prefix is a region abbreviation (EU, USE1, EUC1,
# APN1, ...) or, for KMS, the region's code. Anything else before <what> (Lambda-Edge-Request,
# RegionalNatGateway-Hours) is another product.
_USAGETYPE_PREFIX = r"(?:[A-Z]{2,4}[0-9]?-|[a-z]{2}(?:-[a-z]+)+-[0-9]+-)?"


@dataclass(frozen=True)
class Query:
    """One GetProducts question and how its answer is narrowed and scaled to the report's unit."""

    key: str  # the report's key: "kms_key_month", or "instance_hour/t3.large"
    service_code: str
    filters: dict[str, str]
    usagetype: str | None = None  # the product's usagetype without its region prefix, when filters are not enough
    scale: int = 1  # AWS's unit to the report's (Lambda requests are priced per request, reported per million)


def instance_key(instance_type: str) -> str:
    return f"{INSTANCE_KEY}/{instance_type}"


def queries(region: str, instance_types: list[str]) -> list[Query]:
    """The questions that price every item of the report for `region` (the priced region, whatever the
    endpoint the questions are sent to)."""
    where = {"regionCode": region}
    found = [
        Query(
            instance_key(t),
            "AmazonEC2",
            {**where, "instanceType": t, **INSTANCE_FILTERS},
            usagetype=f"BoxUsage:{t}",
        )
        for t in unique(instance_types)
    ]
    found += [
        Query(
            "ebs_gp3_gb_month",
            "AmazonEC2",
            {**where, "productFamily": "Storage", "volumeApiName": "gp3"},
            usagetype="EBS:VolumeUsage.gp3",
        ),
        # A zonal NAT gateway: "RegionalNatGateway-Hours" (the regional kind) does not match.
        Query(
            "nat_gateway_hour",
            "AmazonEC2",
            {**where, "productFamily": "NAT Gateway"},
            usagetype="NatGateway-Hours",
        ),
        Query(
            "nat_gateway_gb",
            "AmazonEC2",
            {**where, "productFamily": "NAT Gateway"},
            usagetype="NatGateway-Bytes",
        ),
        # Since February 2024 every public IPv4 address is charged, under AmazonVPC; the group also holds
        # the idle-address and contiguous-block prices.
        Query(
            "public_ipv4_hour",
            "AmazonVPC",
            {**where, "group": "VPCPublicIPv4Address"},
            usagetype="PublicIPv4:InUseAddress",
        ),
        # Client VPN products have no product family to filter on: the region's AmazonVPC products (a few
        # pages), narrowed by usagetype.
        Query("client_vpn_association_hour", "AmazonVPC", dict(where), usagetype="ClientVPN-EndpointHours"),
        Query("client_vpn_connection_hour", "AmazonVPC", dict(where), usagetype="ClientVPN-ConnectionHours"),
        Query(
            "s3_standard_gb_month",
            "AmazonS3",
            {**where, "productFamily": "Storage", "volumeType": "Standard", "storageClass": "General Purpose"},
            usagetype="TimedStorage-ByteHrs",
        ),
        # EFS Standard (Regional) storage: the storage class "General Purpose"; Infrequent Access, Archive and the
        # One Zone classes have their own classes and usagetypes (IATimedStorage-ByteHrs, ...).
        Query(
            "efs_standard_gb_month",
            "AmazonEFS",
            {**where, "storageClass": "General Purpose"},
            usagetype="TimedStorage-ByteHrs",
        ),
        # A customer managed key's month (KMS prefixes the usagetype with the region's code).
        Query(
            "kms_key_month",
            "awskms",
            {**where, "productFamily": "Encryption Key"},
            usagetype="KMS-Keys",
        ),
        # x86_64 functions: the Arm ones have their own groups (AWS-Lambda-Requests-ARM, ...-Duration-ARM).
        Query("lambda_million_requests", "AWSLambda", {**where, "group": "AWS-Lambda-Requests"}, scale=1_000_000),
        Query(
            "lambda_gb_second",
            "AWSLambda",
            {**where, "group": "AWS-Lambda-Duration"},
            usagetype="Lambda-GB-Second",
        ),
    ]
    return found


def boto3_filters(filters: dict[str, str]) -> list[dict[str, str]]:
    """GetProducts' Filters: every one an exact TERM_MATCH."""
    return [{"Type": "TERM_MATCH", "Field": name, "Value": value} for name, value in filters.items()]


def usagetype_matches(usagetype: str, wanted: str) -> bool:
    """`wanted` with or without a region prefix, nothing else before or after it."""
    return re.fullmatch(_USAGETYPE_PREFIX + re.escape(wanted), usagetype or "") is not None


def as_document(entry: str | dict) -> dict:
    """A PriceList entry: GetProducts returns each product as a JSON string."""
    return json.loads(entry) if isinstance(entry, str) else entry


def _begin(dimension: dict) -> Decimal:
    try:
        return Decimal(str(dimension.get("beginRange", "0")))
    except InvalidOperation:
        return Decimal(0)


def first_tier_usd(document: dict) -> Decimal | None:
    """The USD price of the product's first on-demand tier (the price dimension whose beginRange is the
    lowest, 0): S3 storage and Lambda duration get cheaper past 50 TB or 6 billion GB-seconds a month,
    far beyond what one environment uses. None when there is no on-demand USD price."""
    dimensions = [
        dimension
        for term in ((document.get("terms") or {}).get("OnDemand") or {}).values()
        for dimension in (term.get("priceDimensions") or {}).values()
        if "USD" in (dimension.get("pricePerUnit") or {})
    ]
    if not dimensions:
        return None
    first = min(dimensions, key=_begin)
    try:
        return Decimal(str(first["pricePerUnit"]["USD"]))
    except InvalidOperation:
        return None


def price_from_price_list(price_list: list[str | dict], query: Query) -> tuple[float | None, str | None]:
    """The item's price from GetProducts' PriceList, in the report's unit, or None and why not.

    Products whose usagetype is not the query's are left out. Several products left that agree are one
    price; several that disagree are not guessed between (the item then comes from the table)."""
    prices = set()
    for entry in price_list:
        document = as_document(entry)
        attributes = (document.get("product") or {}).get("attributes") or {}
        if query.usagetype and not usagetype_matches(attributes.get("usagetype", ""), query.usagetype):
            continue
        price = first_tier_usd(document)
        if price is not None:
            prices.add(price)
    if not prices:
        return None, None
    if len(prices) > 1:
        listed = ", ".join(str(p.normalize()) for p in sorted(prices))
        return None, f"{query.key}: {len(prices)} different prices ({listed}) match the filters"
    return float(prices.pop() * query.scale), None


def unique(values: list[str]) -> list[str]:
    """Each once, in their first order."""
    return list(dict.fromkeys(values))


def flatten(prices: dict[str, Any]) -> dict[str, float]:
    """The report's shape ({instance_hour: {t3.large: ...}, kms_key_month: ...}) as one level of keys
    ("instance_hour/t3.large"). ValueError for a price that is not a number."""
    flat = {}
    for key, value in (prices or {}).items():
        if key == INSTANCE_KEY:
            for instance_type, price in (value or {}).items():
                flat[instance_key(instance_type)] = _number(instance_key(instance_type), price)
        elif key in SCALAR_KEYS:
            flat[key] = _number(key, value)
    return flat


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"the price of {key} is not a number: {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"the price of {key} is not a number: {value!r}") from None


def nest(flat: dict[str, float], instance_types: list[str]) -> dict[str, Any]:
    """The report's shape from one level of keys; instance_hour always present (maybe empty)."""
    prices: dict[str, Any] = {INSTANCE_KEY: {}}
    for instance_type in unique(instance_types):
        if instance_key(instance_type) in flat:
            prices[INSTANCE_KEY][instance_type] = flat[instance_key(instance_type)]
    for key in SCALAR_KEYS:
        if key in flat:
            prices[key] = flat[key]
    return prices


def wanted_keys(instance_types: list[str]) -> list[str]:
    return [instance_key(t) for t in unique(instance_types)] + list(SCALAR_KEYS)


def api_source(fetched: str) -> str:
    return f"AWS Price List API, {fetched}"


def table_source(table_date: str | None) -> str:
    return f"offline table, {table_date}" if table_date else "offline table (undated)"


def merge(
    instance_types: list[str],
    api: dict[str, float],
    api_date: str | None,
    table: dict[str, float],
    table_date: str | None,
) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """Each item from the API when it answered, else from the table: the prices in the report's shape,
    where each came from (flat keys), and the keys neither has."""
    flat, sources, missing = {}, {}, []
    for key in wanted_keys(instance_types):
        if key in api:
            flat[key], sources[key] = api[key], api_source(api_date or "undated")
        elif key in table:
            flat[key], sources[key] = table[key], table_source(table_date)
        else:
            missing.append(key)
    return nest(flat, instance_types), sources, missing


def _items(count: int) -> str:
    return f"{count} item" if count == 1 else f"{count} items"


def summary(
    sources: dict[str, str], missing: list[str], api_date: str | None, table_date: str | None, cached: bool
) -> str:
    """One line: "AWS Price List API (2026-12-06), 3 items from the offline table (2026-12-01)"."""
    from_api = sum(1 for s in sources.values() if s.startswith("AWS Price List API"))
    from_table = len(sources) - from_api
    table = f"offline table ({table_date})" if table_date else "offline table (undated)"
    parts = []
    if from_api:
        parts.append(f"AWS Price List API ({api_date}{', cached' if cached else ''})")
        if from_table:
            parts.append(f"{_items(from_table)} from the {table}")
    elif from_table:
        parts.append(table)
    if missing:
        parts.append(f"no price for {_items(len(missing))}")
    return ", ".join(parts) if parts else "no prices"


# ---------------------------------------------------------------------------------------------- the cache


def cache_document(region: str, fetched: str, api_region: str, flat: dict[str, float]) -> dict[str, Any]:
    """What the cache file holds: the prices the API gave for one region, and when."""
    instance_types = [k.split("/", 1)[1] for k in flat if k.startswith(INSTANCE_KEY + "/")]
    return {"region": region, "fetched": fetched, "api_region": api_region, "prices": nest(flat, instance_types)}


def cache_is_fresh(
    cache: dict[str, Any] | None, region: str, instance_types: list[str], today: date, max_age_days: int
) -> bool:
    """Reuse the cache when it is this region's, fetched fewer than max_age_days ago (not in the future),
    and has every instance type asked for. Items the API did not answer when it was fetched are not
    asked again before it expires: they come from the table."""
    if not isinstance(cache, dict) or cache.get("region") != region:
        return False
    try:
        fetched = date.fromisoformat(str(cache.get("fetched")))
        flat = flatten(cache.get("prices") or {})
    except (TypeError, ValueError, AttributeError):
        return False
    if not 0 <= (today - fetched).days < max_age_days:
        return False
    return all(instance_key(t) in flat for t in instance_types)


def read_cache(path: str) -> dict[str, Any] | None:
    """The cache file's document; None when it does not exist or cannot be read (it is then refreshed)."""
    try:
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def write_cache(path: str, document: dict[str, Any]) -> None:
    """Write the cache whole or not at all, mode 0644, creating its directory."""
    write_atomically(path, (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8"))
