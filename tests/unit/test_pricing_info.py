"""plugins/modules/pricing_info.py and plugins/module_utils/pricing.py: the unit prices of the cost report, and
playbooks/vars/prices.yml, the offline table they fall back to.

The pure logic (the questions asked, the reading of PriceList documents, the merge with the table, the cache) is
tested with plain pytest. The module itself is run in-process (tests/modules.py run_module) against a fake Price
List API: moto has no Pricing API, so the client the module makes (through amazon.aws, with its endpoint region)
gets a botocore `before-send` hook that answers each GetProducts request from sample documents, as the service
would - TERM_MATCH filters on the service code and the products' attributes, pages with NextToken, error answers.
Everything above the HTTP layer (serialisation, parsing, botocore's error handling, the paginator, amazon.aws'
retries) is the real code.

The sample documents follow the shape AWS documents for GetProducts' PriceList (each entry a JSON string of
{product: {productFamily, attributes, sku}, serviceCode, terms: {OnDemand: {<sku>.<offer term>: {priceDimensions:
{<rate code>: {unit, beginRange, endRange, pricePerUnit: {USD}, ...}}}}}, version, publicationDate}). They were
written for these tests, not taken from the live API nor checked against it: their attribute values and usagetypes
are what the questions expect, so these tests prove how the answers are read, not that AWS answers the questions.
A filter that is wrong on the live API matches no product there (or products that disagree), and the item then
comes from the offline table: the report names the source of every price. The decoys' prices are invented, to tell
them apart.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import stat
from datetime import date, timedelta

import boto3
import botocore.awsrequest
import botocore.exceptions
import pytest
import yaml
from ansible_collections.research_env.core.plugins.module_utils import pricing
from modules import REPO, ansible_doc, load_module, run_module

m = load_module("pricing_info")
run_main = functools.partial(run_module, m)

TODAY = date(2026, 12, 6)
TABLE_DATE = "2026-12-01"


# ------------------------------------------------------------------------------------------ sample documents


def document(service: str, family: str | None, attributes: dict, tiers: list[tuple], sku: str) -> dict:
    """One PriceList product: `tiers` are (beginRange, endRange, USD, unit), listed in any order."""
    term = f"{sku}.JRTCKXETXF"  # JRTCKXETXF: the on-demand offer term code
    dimensions = {
        f"{term}.{index}": {
            "unit": unit,
            "endRange": end,
            "description": f"${usd} per {unit}",
            "appliesTo": [],
            "rateCode": f"{term}.{index}",
            "beginRange": begin,
            "pricePerUnit": {"USD": usd},
        }
        for index, (begin, end, usd, unit) in enumerate(tiers)
    }
    product = {"attributes": {"servicecode": service, **attributes}, "sku": sku}
    if family is not None:
        product["productFamily"] = family
    return {
        "product": product,
        "serviceCode": service,
        "terms": {
            "OnDemand": {
                term: {
                    "priceDimensions": dimensions,
                    "sku": sku,
                    "effectiveDate": "2026-11-01T00:00:00Z",
                    "offerTermCode": "JRTCKXETXF",
                    "termAttributes": {},
                }
            }
        },
        "version": "20261201000000",
        "publicationDate": "2026-12-01T00:00:00Z",
    }


def region_attributes(region: str) -> dict:
    names = {"us-east-1": "US East (N. Virginia)", "eu-west-1": "EU (Ireland)"}
    return {"regionCode": region, "location": names[region], "locationType": "AWS Region"}


def instance(region: str, prefix: str, instance_type: str, usd: str, sku: str, **overrides) -> dict:
    attributes = {
        **region_attributes(region),
        "instanceType": instance_type,
        "instanceFamily": "General purpose",
        "vcpu": "2",
        "memory": "8 GiB",
        "operatingSystem": "Linux",
        "tenancy": "Shared",
        "preInstalledSw": "NA",
        "capacitystatus": "Used",
        "licenseModel": "No License required",
        "marketoption": "OnDemand",
        "operation": "RunInstances",
        "usagetype": f"{prefix}BoxUsage:{instance_type}",
        **overrides,
    }
    return document("AmazonEC2", "Compute Instance", attributes, [("0", "Inf", usd, "Hrs")], sku)


def catalogue(region: str = "us-east-1") -> list[dict]:
    """The products of one region: what the report prices, and neighbours the questions must not pick.
    us-east-1's usagetypes mostly have no prefix (BoxUsage:..., NatGateway-Hours) but some do (USE1-..., and
    KMS's us-east-1-...); other regions' all do (EU-...)."""
    p = "" if region == "us-east-1" else "EU-"
    p1 = "USE1-" if region == "us-east-1" else "EU-"
    where = region_attributes(region)
    return [
        instance(region, p, "t3.large", "0.0832000000", "T3LARGE"),
        instance(region, p, "m7i.large", "0.1008000000", "M7ILARGE"),
        # Neighbours of t3.large that the filters leave out.
        instance(
            region, p, "t3.large", "0.1108000000", "T3WIN", operatingSystem="Windows", operation="RunInstances:0002"
        ),
        instance(region, p, "t3.large", "0.0832000000", "T3UNUSED", capacitystatus="UnusedCapacityReservation"),
        instance(region, p, "t3.large", "0.0915000000", "T3DED", tenancy="Dedicated"),
        document(
            "AmazonEC2",
            "Storage",
            {**where, "volumeApiName": "gp3", "volumeType": "General Purpose", "usagetype": f"{p}EBS:VolumeUsage.gp3"},
            [("0", "Inf", "0.0800000000", "GB-Mo")],
            "GP3",
        ),
        document(
            "AmazonEC2",
            "Storage",
            {**where, "volumeApiName": "gp2", "volumeType": "General Purpose", "usagetype": f"{p}EBS:VolumeUsage.gp2"},
            [("0", "Inf", "0.1000000000", "GB-Mo")],
            "GP2",
        ),
        document(
            "AmazonEC2",
            "NAT Gateway",
            {**where, "group": "NGW:NatGateway", "operation": "NatGateway", "usagetype": f"{p}NatGateway-Hours"},
            [("0", "Inf", "0.0450000000", "Hrs")],
            "NATH",
        ),
        document(
            "AmazonEC2",
            "NAT Gateway",
            {**where, "group": "NGW:NatGateway", "operation": "NatGateway", "usagetype": f"{p}NatGateway-Bytes"},
            [("0", "Inf", "0.0450000000", "GB")],
            "NATB",
        ),
        document(  # the regional kind of NAT gateway (invented price)
            "AmazonEC2",
            "NAT Gateway",
            {**where, "operation": "NatGateway", "usagetype": f"{p1}RegionalNatGateway-Hours"},
            [("0", "Inf", "0.0990000000", "Hrs")],
            "RNATH",
        ),
        document(
            "AmazonVPC",
            None,
            {**where, "group": "VPCPublicIPv4Address", "usagetype": f"{p1}PublicIPv4:InUseAddress"},
            [("0", "Inf", "0.0050000000", "Hrs")],
            "IPV4INUSE",
        ),
        document(  # invented price
            "AmazonVPC",
            None,
            {**where, "group": "VPCPublicIPv4Address", "usagetype": f"{p1}PublicIPv4:ContiguousBlock"},
            [("0", "Inf", "0.0080000000", "Hrs")],
            "IPV4BLOCK",
        ),
        document(
            "AmazonVPC",
            "Client VPN",
            {**where, "usagetype": f"{p1}ClientVPN-EndpointHours", "operation": "ClientVPNEndpoints"},
            [("0", "Inf", "0.1000000000", "Hrs")],
            "CVPNA",
        ),
        document(
            "AmazonVPC",
            "Client VPN",
            {**where, "usagetype": f"{p1}ClientVPN-ConnectionHours", "operation": "ClientVPNConnections"},
            [("0", "Inf", "0.0500000000", "Hrs")],
            "CVPNC",
        ),
        document(
            "AmazonVPC",
            "VpcEndpoint",
            {**where, "usagetype": f"{p1}VpcEndpoint-Hours", "operation": "VpcEndpoint"},
            [("0", "Inf", "0.0100000000", "Hrs")],
            "VPCE",
        ),
        document(  # three tiers, not listed first to last
            "AmazonS3",
            "Storage",
            {
                **where,
                "volumeType": "Standard",
                "storageClass": "General Purpose",
                "usagetype": f"{p}TimedStorage-ByteHrs",
            },
            [
                ("512000", "Inf", "0.0210000000", "GB-Mo"),
                ("0", "51200", "0.0230000000", "GB-Mo"),
                ("51200", "512000", "0.0220000000", "GB-Mo"),
            ],
            "S3STD",
        ),
        document(
            "AmazonS3",
            "Storage",
            {
                **where,
                "volumeType": "Intelligent-Tiering Frequent Access",
                "storageClass": "Intelligent-Tiering",
                "usagetype": f"{p}TimedStorage-INT-FA-ByteHrs",
            },
            [("0", "51200", "0.0230000000", "GB-Mo")],
            "S3INT",
        ),
        document(
            "AmazonEFS",
            "Storage",
            {**where, "storageClass": "General Purpose", "usagetype": f"{p1}TimedStorage-ByteHrs"},
            [("0", "Inf", "0.3000000000", "GB-Mo")],
            "EFSSTD",
        ),
        document(  # Standard-Infrequent Access (invented price)
            "AmazonEFS",
            "Storage",
            {**where, "storageClass": "Infrequent Access", "usagetype": f"{p1}IATimedStorage-ByteHrs"},
            [("0", "Inf", "0.0250000000", "GB-Mo")],
            "EFSIA",
        ),
        document(  # One Zone (invented price)
            "AmazonEFS",
            "Storage",
            {**where, "storageClass": "One Zone-General Purpose", "usagetype": f"{p1}TimedStorage-Z-ByteHrs"},
            [("0", "Inf", "0.1600000000", "GB-Mo")],
            "EFSZ",
        ),
        document(
            "awskms",
            "Encryption Key",
            {**where, "usagetype": f"{region}-KMS-Keys", "operation": "CreateKey"},
            [("0", "Inf", "1.0000000000", "Keys")],
            "KMSKEY",
        ),
        document(
            "awskms",
            "API Request",
            {**where, "usagetype": f"{region}-KMS-Requests", "operation": "Decrypt"},
            [("0", "Inf", "0.0000030000", "Requests")],
            "KMSREQ",
        ),
        document(
            "AWSLambda",
            "Serverless",
            {**where, "group": "AWS-Lambda-Requests", "usagetype": f"{p}Request"},
            [("0", "Inf", "0.0000002000", "Requests")],
            "LREQ",
        ),
        document(
            "AWSLambda",
            "Serverless",
            {**where, "group": "AWS-Lambda-Duration", "usagetype": f"{p}Lambda-GB-Second"},
            [
                ("6000000000", "15000000000", "0.0000150000", "Lambda-GB-Second"),
                ("15000000000", "Inf", "0.0000133334", "Lambda-GB-Second"),
                ("0", "6000000000", "0.0000166667", "Lambda-GB-Second"),
            ],
            "LDUR",
        ),
        document(
            "AWSLambda",
            "Serverless",
            {**where, "group": "AWS-Lambda-Duration-ARM", "usagetype": f"{p}Lambda-GB-Second-ARM"},
            [("0", "7500000000", "0.0000133334", "Lambda-GB-Second")],
            "LDURARM",
        ),
    ]


# The prices of the sample documents (us-east-1's list prices, whatever the region of the sample).
EXPECTED = {
    "instance_hour": {"t3.large": 0.0832, "m7i.large": 0.1008},
    "ebs_gp3_gb_month": 0.08,
    "nat_gateway_hour": 0.045,
    "nat_gateway_gb": 0.045,
    "public_ipv4_hour": 0.005,
    "client_vpn_association_hour": 0.1,
    "client_vpn_connection_hour": 0.05,
    "s3_standard_gb_month": 0.023,
    "efs_standard_gb_month": 0.3,
    "kms_key_month": 1.0,
    "lambda_million_requests": 0.2,
    "lambda_gb_second": 0.0000166667,
}


def without_sku(documents: list[dict], *skus: str) -> list[dict]:
    return [d for d in documents if d["product"]["sku"] not in skus]


def answer(documents: list[dict], query: pricing.Query) -> list[str]:
    """What GetProducts answers for a query (all pages): the products matching every filter, as JSON strings."""
    request = {"ServiceCode": query.service_code, "Filters": pricing.boto3_filters(query.filters)}
    return [json.dumps(d) for d in FakePriceList(documents).matches(request)]


# ------------------------------------------------------------------------------------------ the fake API


class RawBody:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_kwargs):
        yield self.body


class FakePriceList:
    """The Price List Query API behind the module's client: answers GetProducts from documents, page_size
    products a page (the service may return fewer than MaxResults), or fails every request with `error`."""

    def __init__(self, documents: list[dict], page_size: int = 3) -> None:
        self.documents = documents
        self.page_size = page_size
        self.error: tuple[int, str, str] | Exception | None = None
        self.requests: list[dict] = []
        self.clients: list[dict] = []  # the keyword arguments each pricing client was made with

    def matches(self, body: dict) -> list[dict]:
        wanted = {f["Field"]: f["Value"] for f in body.get("Filters", [])}
        assert {f["Type"] for f in body.get("Filters", [])} <= {"TERM_MATCH"}
        return [
            d
            for d in self.documents
            if d["serviceCode"] == body["ServiceCode"]
            and all(d["product"]["attributes"].get(k, d["product"].get(k)) == v for k, v in wanted.items())
        ]

    def before_send(self, request, **_kwargs):
        body = json.loads(request.body)
        self.requests.append(body)
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "fake"}
        if isinstance(self.error, Exception):
            raise self.error
        if self.error:
            status, code, message = self.error
            payload = {"__type": code, "Message": message}
            return botocore.awsrequest.AWSResponse(request.url, status, headers, RawBody(json.dumps(payload).encode()))
        found = self.matches(body)
        start = int(body.get("NextToken") or 0)
        page = found[start : start + min(self.page_size, body.get("MaxResults", 100))]
        payload = {"FormatVersion": "aws_v1", "PriceList": [json.dumps(d) for d in page]}
        if start + len(page) < len(found):
            payload["NextToken"] = str(start + len(page))
        return botocore.awsrequest.AWSResponse(request.url, 200, headers, RawBody(json.dumps(payload).encode()))


@pytest.fixture
def price_list(aws_env, monkeypatch):
    """A FakePriceList of us-east-1's sample products, wired into every pricing client boto3 makes."""
    fake = FakePriceList(catalogue())
    original = boto3.session.Session.client

    def client(self, service_name, *args, **kwargs):
        made = original(self, service_name, *args, **kwargs)
        if service_name == "pricing":
            fake.clients.append(kwargs)
            made.meta.events.register("before-send.pricing.GetProducts", fake.before_send)
        return made

    monkeypatch.setattr(boto3.session.Session, "client", client)
    monkeypatch.setattr(m, "today", lambda: TODAY)
    return fake


def table_of(region: str) -> dict:
    return yaml.safe_load((REPO / "playbooks/vars/prices.yml").read_text())["cost_price_table"]["regions"][region]


def args(**extra) -> dict:
    return {"instance_types": ["t3.large", "m7i.large"], "table_date": TABLE_DATE, **extra}


# ----------------------------------------------------------------------------------------- the questions


def test_an_instance_is_priced_on_demand_linux_shared_without_software():
    query = pricing.queries("eu-west-1", ["t3.large"])[0]
    assert (query.key, query.service_code, query.usagetype) == (
        "instance_hour/t3.large",
        "AmazonEC2",
        "BoxUsage:t3.large",
    )
    assert query.filters == {
        "regionCode": "eu-west-1",
        "instanceType": "t3.large",
        "operatingSystem": "Linux",
        "tenancy": "Shared",
        "preInstalledSw": "NA",
        "capacitystatus": "Used",
        "licenseModel": "No License required",
    }


def test_every_item_is_asked_once_for_the_priced_region():
    asked = pricing.queries("eu-west-1", ["t3.large", "t3.large", "m7i.large"])
    assert [q.key for q in asked] == ["instance_hour/t3.large", "instance_hour/m7i.large", *pricing.SCALAR_KEYS]
    assert {q.filters["regionCode"] for q in asked} == {"eu-west-1"}
    assert all("location" not in q.filters for q in asked)


@pytest.mark.parametrize(
    ("key", "service_code", "filters", "usagetype"),
    [
        ("ebs_gp3_gb_month", "AmazonEC2", {"productFamily": "Storage", "volumeApiName": "gp3"}, "EBS:VolumeUsage.gp3"),
        ("nat_gateway_hour", "AmazonEC2", {"productFamily": "NAT Gateway"}, "NatGateway-Hours"),
        ("nat_gateway_gb", "AmazonEC2", {"productFamily": "NAT Gateway"}, "NatGateway-Bytes"),
        ("public_ipv4_hour", "AmazonVPC", {"group": "VPCPublicIPv4Address"}, "PublicIPv4:InUseAddress"),
        ("client_vpn_association_hour", "AmazonVPC", {}, "ClientVPN-EndpointHours"),
        ("client_vpn_connection_hour", "AmazonVPC", {}, "ClientVPN-ConnectionHours"),
        (
            "s3_standard_gb_month",
            "AmazonS3",
            {"productFamily": "Storage", "volumeType": "Standard", "storageClass": "General Purpose"},
            "TimedStorage-ByteHrs",
        ),
        ("efs_standard_gb_month", "AmazonEFS", {"storageClass": "General Purpose"}, "TimedStorage-ByteHrs"),
        ("kms_key_month", "awskms", {"productFamily": "Encryption Key"}, "KMS-Keys"),
        ("lambda_million_requests", "AWSLambda", {"group": "AWS-Lambda-Requests"}, None),
        ("lambda_gb_second", "AWSLambda", {"group": "AWS-Lambda-Duration"}, "Lambda-GB-Second"),
    ],
)
def test_the_question_of_each_item(key, service_code, filters, usagetype):
    query = {q.key: q for q in pricing.queries("us-east-1", [])}[key]
    assert query.service_code == service_code
    assert query.filters == {"regionCode": "us-east-1", **filters}
    assert query.usagetype == usagetype


def test_filters_are_exact_term_matches():
    assert pricing.boto3_filters({"regionCode": "eu-west-1", "instanceType": "t3.large"}) == [
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "eu-west-1"},
        {"Type": "TERM_MATCH", "Field": "instanceType", "Value": "t3.large"},
    ]


@pytest.mark.parametrize(
    ("usagetype", "wanted", "matches"),
    [
        ("BoxUsage:t3.large", "BoxUsage:t3.large", True),  # us-east-1: no prefix
        ("EU-BoxUsage:t3.large", "BoxUsage:t3.large", True),
        ("EUC1-BoxUsage:t3.large", "BoxUsage:t3.large", True),
        ("EU-BoxUsage:t3.large2", "BoxUsage:t3.large", False),
        ("EU-DedicatedUsage:t3.large", "BoxUsage:t3.large", False),
        ("USE1-PublicIPv4:InUseAddress", "PublicIPv4:InUseAddress", True),
        ("USE1-PublicIPv4:IdleAddress", "PublicIPv4:InUseAddress", False),
        ("NatGateway-Hours", "NatGateway-Hours", True),
        ("USE1-RegionalNatGateway-Hours", "NatGateway-Hours", False),
        ("us-east-1-KMS-Keys", "KMS-Keys", True),
        ("USE1-TimedStorage-ByteHrs", "TimedStorage-ByteHrs", True),
        ("EUC1-TimedStorage-ByteHrs", "TimedStorage-ByteHrs", True),
        ("USE1-IATimedStorage-ByteHrs", "TimedStorage-ByteHrs", False),
        ("USE1-TimedStorage-Z-ByteHrs", "TimedStorage-ByteHrs", False),
        ("eu-central-1-KMS-Keys", "KMS-Keys", True),
        ("Lambda-Edge-Request", "Request", False),
        ("EU-Lambda-GB-Second-ARM", "Lambda-GB-Second", False),
        ("", "Request", False),
    ],
)
def test_usagetype_matches_with_or_without_the_region_prefix(usagetype, wanted, matches):
    assert pricing.usagetype_matches(usagetype, wanted) is matches


# ----------------------------------------------------------------------------------------- the answers


def test_the_first_tier_is_the_one_that_begins_at_zero():
    s3 = next(d for d in catalogue() if d["product"]["sku"] == "S3STD")
    assert str(pricing.first_tier_usd(s3)) == "0.0230000000"
    duration = next(d for d in catalogue() if d["product"]["sku"] == "LDUR")
    assert str(pricing.first_tier_usd(duration)) == "0.0000166667"


def test_a_product_without_an_on_demand_usd_price_has_none():
    reserved_only = {"product": {"attributes": {}}, "terms": {"Reserved": {"X": {"priceDimensions": {}}}}}
    assert pricing.first_tier_usd(reserved_only) is None
    other_currency = next(d for d in catalogue() if d["product"]["sku"] == "GP3")
    dimension = next(iter(next(iter(other_currency["terms"]["OnDemand"].values()))["priceDimensions"].values()))
    dimension["pricePerUnit"] = {"CNY": "0.5"}
    assert pricing.first_tier_usd(other_currency) is None


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_each_item_is_read_from_the_json_strings_aws_returns(region):
    documents = catalogue(region)
    found = {}
    for query in pricing.queries(region, ["t3.large", "m7i.large"]):
        price, problem = pricing.price_from_price_list(answer(documents, query), query)
        assert problem is None
        found[query.key] = price
    assert pricing.nest(found, ["t3.large", "m7i.large"]) == EXPECTED


def test_lambda_requests_are_priced_per_million_exactly():
    query = {q.key: q for q in pricing.queries("us-east-1", [])}["lambda_million_requests"]
    price, _ = pricing.price_from_price_list(answer(catalogue(), query), query)
    assert price == 0.2  # 0.0000002 x 1e6 in floats would be 0.19999999999999998


def test_neighbours_that_pass_the_filters_are_left_out_by_usagetype():
    query = {q.key: q for q in pricing.queries("us-east-1", [])}["nat_gateway_hour"]
    assert len(answer(catalogue(), query)) == 3  # hours, bytes, the regional kind
    assert pricing.price_from_price_list(answer(catalogue(), query), query) == (0.045, None)


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_efs_is_priced_as_standard_storage_not_infrequent_access_or_one_zone(region):
    query = {q.key: q for q in pricing.queries(region, [])}["efs_standard_gb_month"]
    assert query.service_code == "AmazonEFS" and query.scale == 1
    matched = answer(catalogue(region), query)
    assert [json.loads(d)["product"]["sku"] for d in matched] == ["EFSSTD"]
    assert pricing.price_from_price_list(matched, query) == (0.3, None)
    # Both guards hold: the usagetype alone leaves out Infrequent Access and One Zone too.
    everything = [json.dumps(d) for d in catalogue(region) if d["serviceCode"] == "AmazonEFS"]
    assert len(everything) == 3
    assert pricing.price_from_price_list(everything, query) == (0.3, None)


def test_products_that_disagree_are_not_guessed_between():
    query = pricing.queries("us-east-1", ["t3.large"])[0]
    second = instance("us-east-1", "", "t3.large", "0.0900000000", "T3OTHER")
    price, problem = pricing.price_from_price_list([*answer(catalogue(), query), json.dumps(second)], query)
    assert price is None
    assert problem == "instance_hour/t3.large: 2 different prices (0.0832, 0.09) match the filters"


def test_products_that_agree_are_one_price_and_no_product_is_no_price():
    query = pricing.queries("us-east-1", ["t3.large"])[0]
    same = instance("us-east-1", "", "t3.large", "0.0832000000", "T3AGAIN")
    assert pricing.price_from_price_list([*answer(catalogue(), query), same], query) == (0.0832, None)
    assert pricing.price_from_price_list([], query) == (None, None)


# ------------------------------------------------------------------------------------------- the merge


def test_each_item_from_the_api_else_the_table_else_missing():
    api = {"instance_hour/t3.large": 0.0832, "ebs_gp3_gb_month": 0.08}
    table = {"instance_hour/t3.large": 0.09, "instance_hour/t3.small": 0.0208, "kms_key_month": 1.0}
    prices, sources, missing = pricing.merge(["t3.large", "t3.small", "x9.huge"], api, "2026-12-06", table, TABLE_DATE)
    assert prices == {
        "instance_hour": {"t3.large": 0.0832, "t3.small": 0.0208},
        "ebs_gp3_gb_month": 0.08,
        "kms_key_month": 1.0,
    }
    assert sources == {
        "instance_hour/t3.large": "AWS Price List API, 2026-12-06",
        "instance_hour/t3.small": "offline table, 2026-12-01",
        "ebs_gp3_gb_month": "AWS Price List API, 2026-12-06",
        "kms_key_month": "offline table, 2026-12-01",
    }
    assert missing[0] == "instance_hour/x9.huge" and "lambda_gb_second" in missing and "kms_key_month" not in missing
    assert len(missing) == 1 + len(pricing.SCALAR_KEYS) - 2


def test_instance_types_not_asked_for_are_left_out():
    prices, sources, _ = pricing.merge([], {}, None, pricing.flatten(table_of("us-east-1")), TABLE_DATE)
    assert prices["instance_hour"] == {} and not any(k.startswith("instance_hour/") for k in sources)


@pytest.mark.parametrize(
    ("api", "table", "missing", "cached", "line"),
    [
        (3, 0, 0, False, "AWS Price List API (2026-12-06)"),
        (3, 0, 0, True, "AWS Price List API (2026-12-06, cached)"),
        (8, 3, 0, False, "AWS Price List API (2026-12-06), 3 items from the offline table (2026-12-01)"),
        (
            8,
            1,
            2,
            False,
            "AWS Price List API (2026-12-06), 1 item from the offline table (2026-12-01), no price for 2 items",
        ),
        (0, 11, 0, False, "offline table (2026-12-01)"),
        (0, 10, 1, False, "offline table (2026-12-01), no price for 1 item"),
        (0, 0, 11, False, "no price for 11 items"),
    ],
)
def test_the_summary_line(api, table, missing, cached, line):
    sources = {f"a{i}": "AWS Price List API, 2026-12-06" for i in range(api)}
    sources |= {f"t{i}": "offline table, 2026-12-01" for i in range(table)}
    assert pricing.summary(sources, [f"m{i}" for i in range(missing)], "2026-12-06", TABLE_DATE, cached) == line


def test_an_undated_table_says_so():
    assert pricing.table_source(None) == "offline table (undated)"
    assert pricing.summary({"k": pricing.table_source(None)}, [], None, None, False) == "offline table (undated)"


def test_a_price_that_is_not_a_number_is_refused():
    with pytest.raises(ValueError, match="kms_key_month"):
        pricing.flatten({"kms_key_month": "one dollar"})
    with pytest.raises(ValueError, match=r"instance_hour/t3\.large"):
        pricing.flatten({"instance_hour": {"t3.large": None}})
    assert pricing.flatten({"kms_key_month": "1.0", "unknown_item": 3}) == {"kms_key_month": 1.0}


# ------------------------------------------------------------------------------------------- the cache


def cache_of(fetched: str, types: tuple[str, ...] = ("t3.large",), region: str = "us-east-1") -> dict:
    flat = {f"instance_hour/{t}": 0.1 for t in types} | {"kms_key_month": 1.0}
    return pricing.cache_document(region, fetched, "us-east-1", flat)


@pytest.mark.parametrize(
    ("cache", "types", "max_age", "fresh"),
    [
        (cache_of("2026-12-06"), ["t3.large"], 7, True),
        (cache_of("2026-11-30"), ["t3.large"], 7, True),  # 6 days old
        (cache_of("2026-11-29"), ["t3.large"], 7, False),  # 7 days old
        (cache_of("2026-12-06"), ["t3.large"], 0, False),  # never reused
        (cache_of("2026-12-07"), ["t3.large"], 7, False),  # from the future: the clock was wrong
        (cache_of("2026-12-06"), ["t3.large", "m7i.large"], 7, False),  # a type asked for is not in it
        (cache_of("2026-12-06", ("t3.large", "m7i.large")), ["m7i.large"], 7, True),
        (cache_of("2026-12-06", region="eu-west-1"), ["t3.large"], 7, False),  # another region's
        (cache_of("yesterday"), ["t3.large"], 7, False),
        ({"region": "us-east-1", "fetched": "2026-12-06", "prices": {"kms_key_month": "x"}}, [], 7, False),
        (None, [], 7, False),
        ([], [], 7, False),
    ],
)
def test_when_the_cache_is_reused(cache, types, max_age, fresh):
    assert pricing.cache_is_fresh(cache, "us-east-1", types, TODAY, max_age) is fresh


def test_the_cache_is_written_whole_0644_in_a_new_directory(tmp_path):
    path = tmp_path / "state" / "prices" / "us-east-1.json"
    document = cache_of("2026-12-06")
    pricing.write_cache(str(path), document)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert pricing.read_cache(str(path)) == document
    assert document["prices"] == {"instance_hour": {"t3.large": 0.1}, "kms_key_month": 1.0}
    assert [p.name for p in path.parent.iterdir()] == ["us-east-1.json"]  # no temporary file left


def test_a_cache_that_cannot_be_read_is_none(tmp_path):
    assert pricing.read_cache(str(tmp_path / "absent.json")) is None
    (tmp_path / "broken.json").write_text('{"region": ')
    assert pricing.read_cache(str(tmp_path / "broken.json")) is None
    (tmp_path / "list.json").write_text("[]")
    assert pricing.read_cache(str(tmp_path / "list.json")) is None


# ------------------------------------------------------------------------------------- the offline table


def test_the_offline_table_is_dated_sourced_and_in_the_report_shape():
    table = yaml.safe_load((REPO / "playbooks/vars/prices.yml").read_text())
    assert list(table) == ["cost_price_table"]
    table = table["cost_price_table"]
    assert isinstance(table["date"], str) and date.fromisoformat(table["date"])
    assert "aws.amazon.com" in table["source"] and "check them for your region" in table["source"]
    assert set(table["regions"]) == {"us-east-1", "eu-west-1", "eu-central-1"}
    for region, prices in table["regions"].items():
        assert set(prices) <= {"instance_hour", *pricing.SCALAR_KEYS}, region
        flat = pricing.flatten(prices)
        assert len(flat) == sum(len(v) if isinstance(v, dict) else 1 for v in prices.values()), region
        assert all(0 < price < 10 for price in flat.values()), region
        assert {"t3.micro", "t3.small", "t3.medium", "t3.large", "t3.xlarge", "t3.2xlarge"} <= set(
            prices["instance_hour"]
        )


def test_the_offline_table_has_the_known_us_east_1_prices():
    us = table_of("us-east-1")
    assert set(us) == {"instance_hour", *pricing.SCALAR_KEYS}
    assert set(us["instance_hour"]) == {
        "t3.micro",
        "t3.small",
        "t3.medium",
        "t3.large",
        "t3.xlarge",
        "t3.2xlarge",
        "m7i.large",
        "m7i.xlarge",
        "r7i.large",
        "c7i.large",
    }
    assert {k: us["instance_hour"][k] for k in ("t3.large", "m7i.large", "r7i.large")} == {
        "t3.large": 0.0832,
        "m7i.large": 0.1008,
        "r7i.large": 0.1323,
    }
    assert {k: v for k, v in us.items() if k != "instance_hour"} == {
        k: v for k, v in EXPECTED.items() if k != "instance_hour"
    }
    # EFS Standard storage, a GB-month, in each region of the table.
    assert {r: table_of(r)["efs_standard_gb_month"] for r in ("us-east-1", "eu-west-1", "eu-central-1")} == {
        "us-east-1": 0.30,
        "eu-west-1": 0.33,
        "eu-central-1": 0.36,
    }
    # A t3 size costs twice the one below it.
    sizes = ["t3.micro", "t3.small", "t3.medium", "t3.large", "t3.xlarge", "t3.2xlarge"]
    for region in ("us-east-1", "eu-west-1", "eu-central-1"):
        hours = table_of(region)["instance_hour"]
        assert all(round(hours[b] / hours[a], 6) == 2 for a, b in itertools.pairwise(sizes)), region


# ------------------------------------------------------------------------------- the module, in-process


def test_every_price_from_the_api_asked_at_its_endpoint_region_for_the_priced_region(price_list, capsys):
    price_list.documents = catalogue("eu-west-1")
    rc, out = run_main(args(api_region="eu-central-1"), capsys, region="eu-west-1")
    assert rc == 0 and out["changed"] is False
    assert out["prices"] == EXPECTED  # the sample documents carry us-east-1's prices
    assert set(out["sources"].values()) == {"AWS Price List API, 2026-12-06"}
    assert len(out["sources"]) == 2 + len(pricing.SCALAR_KEYS) == 13
    assert out["source"] == "AWS Price List API (2026-12-06)"
    assert out["missing"] == [] and out["cached"] is False and out["api_errors"] == []
    # The client is made for the endpoint region; the questions are about the environment's region.
    assert [c["region_name"] for c in price_list.clients] == ["eu-central-1"]
    assert {f["Value"] for r in price_list.requests for f in r["Filters"] if f["Field"] == "regionCode"} == {
        "eu-west-1"
    }
    assert {r["FormatVersion"] for r in price_list.requests} == {"aws_v1"}
    # One request per page: more than one question takes two pages (3 products a page here).
    assert out["api_calls"] == len(price_list.requests) > 13
    assert any("NextToken" in r for r in price_list.requests)


def test_an_item_the_api_does_not_answer_comes_from_the_table(price_list, capsys):
    price_list.documents = without_sku(catalogue(), "KMSKEY", "CVPNA", "M7ILARGE")
    rc, out = run_main(args(table=table_of("us-east-1")), capsys)
    assert rc == 0
    assert out["prices"] == EXPECTED
    from_table = {k for k, s in out["sources"].items() if s == "offline table, 2026-12-01"}
    assert from_table == {"kms_key_month", "client_vpn_association_hour", "instance_hour/m7i.large"}
    assert out["sources"]["instance_hour/t3.large"] == "AWS Price List API, 2026-12-06"
    assert out["source"] == "AWS Price List API (2026-12-06), 3 items from the offline table (2026-12-01)"
    assert out["missing"] == []


def test_an_item_neither_has_is_missing(price_list, capsys):
    price_list.documents = without_sku(catalogue(), "CVPNA", "CVPNC")
    table = table_of("eu-west-1")  # no Client VPN prices in it
    rc, out = run_main(args(instance_types=["t3.large", "x9.huge"], table=table), capsys)
    assert rc == 0
    assert out["missing"] == ["instance_hour/x9.huge", "client_vpn_association_hour", "client_vpn_connection_hour"]
    assert "client_vpn_association_hour" not in out["prices"] and out["prices"]["instance_hour"] == {"t3.large": 0.0832}
    assert out["source"] == "AWS Price List API (2026-12-06), no price for 3 items"


def test_products_that_disagree_fall_back_to_the_table_and_say_why(price_list, capsys):
    price_list.documents = [*catalogue(), instance("us-east-1", "", "t3.large", "0.0900000000", "T3OTHER")]
    rc, out = run_main(args(table={"instance_hour": {"t3.large": 0.0832}}), capsys)
    assert rc == 0 and out["prices"]["instance_hour"]["t3.large"] == 0.0832
    assert out["sources"]["instance_hour/t3.large"] == "offline table, 2026-12-01"
    assert out["api_errors"] == ["instance_hour/t3.large: 2 different prices (0.0832, 0.09) match the filters"]


def test_access_denied_stops_asking_and_everything_comes_from_the_table(price_list, capsys, tmp_path):
    price_list.error = (400, "AccessDeniedException", "User is not authorized to perform pricing:GetProducts")
    cache = tmp_path / "prices.json"
    rc, out = run_main(args(table=table_of("us-east-1"), cache_path=str(cache)), capsys)
    assert rc == 0 and out["changed"] is False
    assert out["prices"] == pricing.nest(pricing.flatten(table_of("us-east-1")), ["t3.large", "m7i.large"])
    assert set(out["sources"].values()) == {"offline table, 2026-12-01"}
    assert out["source"] == "offline table (2026-12-01)"
    assert out["api_errors"] == [
        "instance_hour/t3.large: AccessDeniedException: User is not authorized to perform pricing:GetProducts"
    ]
    assert out["api_calls"] == 1 and len(price_list.requests) == 1
    assert not cache.exists()  # nothing worth keeping


def test_no_network_falls_back_to_the_table(price_list, capsys):
    price_list.error = botocore.exceptions.EndpointConnectionError(
        endpoint_url="https://api.pricing.us-east-1.amazonaws.com/"
    )
    rc, out = run_main(args(table=table_of("us-east-1")), capsys)
    assert rc == 0 and out["source"] == "offline table (2026-12-01)"
    assert out["missing"] == [] and len(out["api_errors"]) == 1
    assert "EndpointConnectionError" in out["api_errors"][0]
    assert len(price_list.requests) == 3  # botocore's own attempts (total_max_attempts 3), then no other question


def test_an_error_about_one_question_does_not_stop_the_others(price_list, capsys, monkeypatch):
    original = price_list.before_send

    def not_found_for_kms(request, **kwargs):
        if json.loads(request.body)["ServiceCode"] == "awskms":
            price_list.requests.append(json.loads(request.body))
            payload = json.dumps({"__type": "NotFoundException", "Message": "Service awskms not found"}).encode()
            headers = {"Content-Type": "application/x-amz-json-1.1"}
            return botocore.awsrequest.AWSResponse(request.url, 400, headers, RawBody(payload))
        return original(request, **kwargs)

    monkeypatch.setattr(price_list, "before_send", not_found_for_kms)
    rc, out = run_main(args(table={"kms_key_month": 1.0}), capsys)
    assert rc == 0
    assert out["api_errors"] == ["kms_key_month: NotFoundException: Service awskms not found"]
    assert out["sources"]["kms_key_month"] == "offline table, 2026-12-01"
    assert out["sources"]["lambda_gb_second"] == "AWS Price List API, 2026-12-06"  # asked after KMS


def test_use_api_false_prices_from_the_table_without_a_client(price_list, capsys):
    rc, out = run_main(args(use_api=False, table=table_of("eu-central-1")), capsys, region="eu-central-1")
    assert rc == 0 and price_list.clients == [] and price_list.requests == []
    assert out["prices"]["instance_hour"] == {"t3.large": 0.096}
    assert out["prices"]["nat_gateway_hour"] == 0.052
    assert out["missing"] == [
        "instance_hour/m7i.large",
        "client_vpn_association_hour",
        "client_vpn_connection_hour",
    ]
    assert out["source"] == "offline table (2026-12-01), no price for 3 items"
    assert out["cached"] is False and out["api_calls"] == 0


def test_a_fresh_cache_is_reused_without_asking_the_api(price_list, capsys, tmp_path, monkeypatch):
    cache = tmp_path / "state" / "prices-us-east-1.json"
    rc, first = run_main(args(cache_path=str(cache)), capsys)
    assert rc == 0 and first["cached"] is False and first["api_calls"] > 0
    assert stat.S_IMODE(cache.stat().st_mode) == 0o644
    written = json.loads(cache.read_text())
    assert written == {"region": "us-east-1", "fetched": "2026-12-06", "api_region": "us-east-1", "prices": EXPECTED}

    asked = len(price_list.requests)
    monkeypatch.setattr(m, "today", lambda: TODAY + timedelta(days=6))
    rc, second = run_main(args(cache_path=str(cache), instance_types=["m7i.large"]), capsys)
    assert rc == 0 and second["cached"] is True and second["api_calls"] == 0
    assert len(price_list.requests) == asked
    assert second["prices"]["instance_hour"] == {"m7i.large": 0.1008}
    assert set(second["sources"].values()) == {"AWS Price List API, 2026-12-06"}  # the day it was fetched
    assert second["source"] == "AWS Price List API (2026-12-06, cached)"


def test_a_stale_cache_is_refreshed(price_list, capsys, tmp_path):
    cache = tmp_path / "prices.json"
    pricing.write_cache(str(cache), cache_of("2026-11-29", ("t3.large", "m7i.large")))
    rc, out = run_main(args(cache_path=str(cache)), capsys)
    assert rc == 0 and out["cached"] is False and out["api_calls"] > 0
    assert out["prices"] == EXPECTED
    assert json.loads(cache.read_text())["fetched"] == "2026-12-06"


def test_a_cache_lacking_an_instance_type_asked_for_is_refreshed(price_list, capsys, tmp_path):
    cache = tmp_path / "prices.json"
    pricing.write_cache(str(cache), cache_of("2026-12-05", ("t3.large",)))
    rc, out = run_main(args(cache_path=str(cache)), capsys)
    assert rc == 0 and out["cached"] is False and out["api_calls"] > 0
    assert json.loads(cache.read_text())["prices"]["instance_hour"] == {"t3.large": 0.0832, "m7i.large": 0.1008}


def test_the_cache_is_written_in_check_mode_too(price_list, capsys, tmp_path):
    cache = tmp_path / "prices.json"
    rc, out = run_main(args(cache_path=str(cache), _ansible_check_mode=True), capsys)
    assert rc == 0 and out["changed"] is False and cache.exists()


def test_an_unwritable_cache_is_a_warning(price_list, capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    rc, out = run_main(args(cache_path=str(blocker / "prices.json")), capsys)
    assert rc == 0 and out["prices"] == EXPECTED
    # ansible-core 2.19 reports warnings as structured events.
    assert any("Couldn't write the price cache" in json.dumps(w) for w in out["warnings"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"table": {"kms_key_month": "one dollar"}}, "table: the price of kms_key_month is not a number"),
        ({"max_age_days": -1}, "max_age_days must be 0 or more"),
        ({"instance_types": ["t3.large", " "]}, "instance_types contains an empty name"),
    ],
)
def test_bad_options_are_refused(price_list, capsys, extra, message):
    rc, out = run_main(args(**extra), capsys)
    assert rc == 1 and message in out["msg"] and price_list.requests == []


def test_without_a_region_the_module_fails(price_list, capsys, monkeypatch):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    rc, out = run_main(args(), capsys, region=None)
    assert rc == 1 and "region is required" in out["msg"]
    rc, out = run_main(args(use_api=False, table={"kms_key_month": 1.0}), capsys, region=None)
    assert rc == 0 and out["prices"]["kms_key_month"] == 1.0


def test_ansible_doc_renders_the_module():
    doc = ansible_doc("pricing_info")
    options = doc["doc"]["options"]
    assert {
        "region",
        "instance_types",
        "use_api",
        "table",
        "table_date",
        "cache_path",
        "max_age_days",
        "api_region",
    } <= set(options)
    assert any("Not where the Price List API is asked" in line for line in options["region"]["description"])
    assert options["max_age_days"]["default"] == 7 and options["api_region"]["default"] == "us-east-1"
    assert {"prices", "sources", "source", "missing", "cached", "api_errors", "api_calls"} <= set(doc["return"])
    assert set(doc["return"]["prices"]["contains"]) == {"instance_hour", *pricing.SCALAR_KEYS}
