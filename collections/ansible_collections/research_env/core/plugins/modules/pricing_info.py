#!/usr/bin/python
# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pricing_info
short_description: Unit prices of one region for the cost report, from the AWS Price List API or an offline table
version_added: 0.1.0
description:
  - Returns the on-demand list prices (USD) the cost report multiplies usage by, for the region O(region)
    (RV(prices)) - the hour of each of O(instance_types) (Linux, shared tenancy, no pre-installed software),
    a gp3 GB-month, a NAT gateway's hour and GB processed, a public IPv4 address hour, a Client VPN
    association hour and connection hour, an S3 Standard GB-month, an EFS Standard GB-month, a KMS key month,
    a million Lambda requests and a Lambda GB-second (x86_64).
  - With O(use_api=true) each item is one paginated C(GetProducts) of the AWS Price List Query API with
    exact (C(TERM_MATCH)) filters on the region's code (C(regionCode)) and the product, then narrowed by the
    product's C(usagetype) where the filters could match a neighbour; the price is the first tier
    (C(beginRange) 0) of the product's on-demand terms.
  - Each item the API does not answer (no product, several products with different prices, or an API error
    such as C(AccessDeniedException) or no network, after which the API is not asked again) comes from
    O(table), the region's entry of the offline table (C(cost_price_table) in C(playbooks/vars/prices.yml));
    an item neither has is listed in RV(missing) and left out of RV(prices). RV(sources) says where each
    price came from, and when.
  - With O(cache_path) the API's prices are kept in a JSON file and reused, without asking the API, while
    they are younger than O(max_age_days) and include every instance type of O(instance_types).
  - No maintained module reads the Price List API - neither amazon.aws (10.x) nor community.aws (10.x) has one.
  - The module changes nothing in AWS and always reports C(changed=false). It writes the cache in check mode
    too, the cache being a local copy of public data rather than part of the environment.
options:
  region:
    description:
      - The region whose prices are returned (the environment's region), as a code such as V(eu-west-1).
      - Not where the Price List API is asked, which is O(api_region).
      - Required with O(use_api=true); O(table) is already the region's with O(use_api=false).
      - The C(AWS_REGION) environment variable may also be used.
    type: str
  instance_types:
    description:
      - The instance types to price. Types not asked for are left out of RV(prices), even when O(table) has them.
    type: list
    elements: str
    default: []
  use_api:
    description:
      - Whether to ask the Price List API (or its cache). V(false) prices everything from O(table), without
        credentials or network.
    type: bool
    default: true
  table:
    description:
      - The region's entry of the offline table, in the shape of RV(prices); may be empty.
      - Its prices are used for the items the API does not answer, or for all with O(use_api=false).
    type: dict
    default: {}
  table_date:
    description:
      - When the prices of O(table) were taken (V(2026-12-01)), shown in RV(sources) and RV(source).
    type: str
  cache_path:
    description:
      - A JSON file for this region's API prices and the date they were fetched. Read when it exists; written
        (mode 0644, its directory created) each time the API is asked without an error.
      - Without it the API is asked on every run.
    type: path
  max_age_days:
    description:
      - How many days the cache is reused after it was fetched; V(0) never reuses it.
    type: int
    default: 7
  api_region:
    description:
      - Where the Price List API is asked. Its endpoints are in V(us-east-1), V(eu-central-1) and V(ap-south-1);
        each serves the prices of every region.
    type: str
    default: us-east-1
author:
  - research-env contributors (!UNKNOWN)
notes:
  - Needs C(pricing:GetProducts) (a global action with no resource) when O(use_api=true).
  - O(endpoint_url) applies to the Price List API client too; an emulator without the Pricing API (moto has
    none) makes every item come from O(table).
  - The filters are those of the Price List API's product attributes (C(regionCode), C(instanceType),
    C(operatingSystem), C(tenancy), C(preInstalledSw), C(capacitystatus), C(licenseModel), C(productFamily),
    C(volumeApiName), C(volumeType), C(storageClass), C(group)), each an exact C(TERM_MATCH); see
    U(https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_Filter.html).
  - List prices only - no free tier, Savings Plans, Reserved Instances or taxes.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Load the offline price table
  ansible.builtin.include_vars:
    file: playbooks/vars/prices.yml

- name: The region's prices, from the API (cached) or the table
  research_env.core.pricing_info:
    region: "{{ aws_region }}"
    instance_types: "{{ (instances.values() | map(attribute='type') | list + cost_compare_instance_types) | unique }}"
    table: "{{ cost_price_table.regions[aws_region] | default({}) }}"
    table_date: "{{ cost_price_table.date }}"
    cache_path: "{{ playbook_dir }}/../.state/prices-{{ aws_region }}.json"
    max_age_days: "{{ cost_price_cache_days }}"
  register: unit_prices

- name: Say where the prices came from
  ansible.builtin.debug:
    msg: "Prices: {{ unit_prices.source }}; none for {{ unit_prices.missing | join(', ') or 'nothing' }}"

- name: The offline table only (no credentials, no network)
  research_env.core.pricing_info:
    region: eu-west-1
    instance_types: [t3.large]
    use_api: false
    table: "{{ cost_price_table.regions['eu-west-1'] }}"
    table_date: "{{ cost_price_table.date }}"
  register: table_prices

- name: Ask the Price List API's Frankfurt endpoint
  research_env.core.pricing_info:
    region: eu-central-1
    api_region: eu-central-1
    instance_types: [m7i.large]
"""

RETURN = r"""
prices:
  description:
    - The unit prices in USD, each from the API or, failing it, from O(table). An item neither has is left out
      (and listed in RV(missing)).
    - C(instance_hour) holds the instance types of O(instance_types) that have a price (an empty dict when none).
  returned: always
  type: dict
  contains:
    instance_hour:
      description: Instance type to its on-demand hour (Linux, shared tenancy, no pre-installed software).
      type: dict
      sample: {"t3.large": 0.0832}
    ebs_gp3_gb_month:
      description: A GB-month of gp3 volume storage.
      type: float
      sample: 0.08
    nat_gateway_hour:
      description: An hour of a (zonal) NAT gateway.
      type: float
      sample: 0.045
    nat_gateway_gb:
      description: A GB processed by a NAT gateway.
      type: float
      sample: 0.045
    public_ipv4_hour:
      description: An hour of an in-use public IPv4 address.
      type: float
      sample: 0.005
    client_vpn_association_hour:
      description: An hour of a subnet associated with a Client VPN endpoint.
      type: float
      sample: 0.1
    client_vpn_connection_hour:
      description: An hour of a Client VPN connection.
      type: float
      sample: 0.05
    s3_standard_gb_month:
      description: A GB-month of S3 Standard storage (the first tier, up to 50 TB).
      type: float
      sample: 0.023
    efs_standard_gb_month:
      description: A GB-month of EFS Standard storage (Regional, the storage class C(General Purpose)).
      type: float
      sample: 0.3
    kms_key_month:
      description: A month of a customer managed KMS key.
      type: float
      sample: 1.0
    lambda_million_requests:
      description: A million Lambda requests.
      type: float
      sample: 0.2
    lambda_gb_second:
      description: A Lambda GB-second, x86_64 (the first tier).
      type: float
      sample: 0.0000166667
  sample: {"instance_hour": {"t3.large": 0.0832}, "ebs_gp3_gb_month": 0.08, "nat_gateway_hour": 0.045,
           "nat_gateway_gb": 0.045, "public_ipv4_hour": 0.005, "client_vpn_association_hour": 0.1,
           "client_vpn_connection_hour": 0.05, "s3_standard_gb_month": 0.023, "efs_standard_gb_month": 0.3,
           "kms_key_month": 1.0,
           "lambda_million_requests": 0.2, "lambda_gb_second": 0.0000166667}
sources:
  description:
    - Where each price of RV(prices) came from, by key (an instance type as C(instance_hour/<type>)) - V(AWS Price
      List API, <date fetched>) or V(offline table, <table_date>).
  returned: always
  type: dict
  sample: {"instance_hour/t3.large": "AWS Price List API, 2026-12-06", "kms_key_month": "offline table, 2026-12-01"}
source:
  description: One line saying where the prices came from, for the report.
  returned: always
  type: str
  sample: AWS Price List API (2026-12-06), 3 items from the offline table (2026-12-01)
missing:
  description: The keys (as in RV(sources)) that neither the API nor O(table) priced.
  returned: always
  type: list
  elements: str
  sample: ["instance_hour/m7i.large", "client_vpn_association_hour"]
cached:
  description: Whether the API's prices came from O(cache_path) rather than from the API on this run.
  returned: always
  type: bool
  sample: false
api_errors:
  description:
    - What went wrong asking the API - the error that stopped it (after which every item not yet asked comes from
      O(table)), items some of whose products disagree. Empty when nothing did.
  returned: always
  type: list
  elements: str
  sample: ["AccessDeniedException: User is not authorized to perform pricing:GetProducts"]
api_calls:
  description: Number of Price List API operations performed (one per page); 0 from the cache or the table.
  returned: always
  type: int
  sample: 14
"""

from datetime import UTC, date, datetime
from typing import Any

try:
    import botocore
    import botocore.config
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import paginated_query_with_retries
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.research_env.core.plugins.module_utils.calls import CallCounter
from ansible_collections.research_env.core.plugins.module_utils.pricing import (
    boto3_filters,
    cache_document,
    cache_is_fresh,
    flatten,
    merge,
    price_from_price_list,
    queries,
    read_cache,
    summary,
    unique,
    write_cache,
)

# Errors that concern one question only: the others (access denied, no credentials, no network, throttled
# past the retries) would fail every question the same way, so the API is not asked again.
ITEM_ERRORS = {"NotFoundException", "InvalidParameterException"}


def today() -> date:
    return datetime.now(UTC).date()


def error_text(e: Exception) -> str:
    if isinstance(e, botocore.exceptions.ClientError):
        error = e.response.get("Error", {})
        return f"{error.get('Code', 'ClientError')}: {error.get('Message', str(e))}"
    return f"{type(e).__name__}: {e}"


def ask_api(client: Any, region: str, instance_types: list[str]) -> tuple[dict[str, float], list[str], bool]:
    """The prices the API gives (flat keys), what went wrong, and whether an error stopped the questions."""
    prices, errors = {}, []
    for query in queries(region, instance_types):
        try:
            answer = paginated_query_with_retries(
                client,
                "get_products",
                ServiceCode=query.service_code,
                Filters=boto3_filters(query.filters),
                FormatVersion="aws_v1",
                PaginationConfig={"PageSize": 100},
            )
        except botocore.exceptions.ClientError as e:
            errors.append(f"{query.key}: {error_text(e)}")
            if e.response.get("Error", {}).get("Code") in ITEM_ERRORS:
                continue
            return prices, errors, True
        except botocore.exceptions.BotoCoreError as e:
            errors.append(f"{query.key}: {error_text(e)}")
            return prices, errors, True
        price, problem = price_from_price_list(answer.get("PriceList", []), query)
        if problem:
            errors.append(problem)
        if price is not None:
            prices[query.key] = price
    return prices, errors, False


def pricing_client(module: AnsibleAWSModule, counter: CallCounter) -> Any:
    # Short timeouts and few attempts: without network the table answers within seconds, not minutes.
    config = botocore.config.Config(connect_timeout=10, read_timeout=30, retries={"total_max_attempts": 3})
    client = module.client(
        "pricing", region=module.params["api_region"], retry_decorator=AWSRetry.jittered_backoff(), config=config
    )
    return counter.watch(client)


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(
            instance_types=dict(type="list", elements="str", default=[]),
            use_api=dict(type="bool", default=True),
            table=dict(type="dict", default={}),
            table_date=dict(type="str"),
            cache_path=dict(type="path"),
            max_age_days=dict(type="int", default=7),
            api_region=dict(type="str", default="us-east-1"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    region = module.region
    if params["use_api"] and not region:
        module.fail_json(msg="region is required with use_api: the region whose prices the report needs")
    if params["max_age_days"] < 0:
        module.fail_json(msg=f"max_age_days must be 0 or more, not {params['max_age_days']}")
    instance_types = unique([t.strip() for t in params["instance_types"]])
    if any(not t for t in instance_types):
        module.fail_json(msg="instance_types contains an empty name")
    try:
        table = flatten(params["table"] or {})
    except ValueError as e:
        module.fail_json(msg=f"table: {e}")

    counter = CallCounter()
    api, api_date, api_errors, cached = {}, None, [], False
    if params["use_api"]:
        cache = read_cache(params["cache_path"]) if params["cache_path"] else None
        if cache_is_fresh(cache, region, instance_types, today(), params["max_age_days"]):
            api, api_date, cached = flatten(cache["prices"]), cache["fetched"], True
        else:
            api_date = today().isoformat()
            api, api_errors, stopped = ask_api(pricing_client(module, counter), region, instance_types)
            if params["cache_path"] and api and not stopped:
                document = cache_document(region, api_date, params["api_region"], api)
                try:
                    write_cache(params["cache_path"], document)
                except OSError as e:
                    module.warn(f"Couldn't write the price cache {params['cache_path']}: {e}")

    prices, sources, missing = merge(instance_types, api, api_date, table, params["table_date"])
    module.exit_json(
        changed=False,
        prices=prices,
        sources=sources,
        source=summary(sources, missing, api_date, params["table_date"], cached),
        missing=missing,
        cached=cached,
        api_errors=api_errors,
        api_calls=counter.calls,
    )


if __name__ == "__main__":
    main()
