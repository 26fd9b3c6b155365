"""The teardown plan and its data holders, as plain functions."""

from __future__ import annotations

import research_env_teardown as f


def test_teardown_plan_orders_by_dependency():
    found = {
        "vpcs": [{"id": "vpc-1", "cidr_block": "10.0.0.0/16", "tags": {"Name": "e-vpc"}}],
        "subnets": [{"id": "subnet-1", "vpc_id": "vpc-1", "cidr_block": "10.0.1.0/24", "tags": {}}],
        "security_groups": [
            {"group_id": "sg-dmz", "group_name": "e-dmz-sg", "vpc_id": "vpc-1", "tags": {"Tier": "dmz"}},
            {"group_id": "sg-def", "group_name": "default", "vpc_id": "vpc-1", "tags": {}},
            {"group_id": "sg-res", "group_name": "e-research-sg", "vpc_id": "vpc-1", "tags": {"Tier": "research"}},
        ],
        "elastic_ips": [
            {"allocation_id": "eipalloc-1", "public_ip": "192.0.2.1", "tags": [{"Key": "Name", "Value": "n"}]}
        ],
        "nat_gateways": [{"nat_gateway_id": "nat-1", "tags": {}}],
        "internet_gateways": [{"internet_gateway_id": "igw-1", "tags": {}}],
        "route_tables": [{"id": "rtb-1", "vpc_id": "vpc-1", "tags": {}}],
        "vpc_endpoints": [{"vpc_endpoint_id": "vpce-1", "tags": []}],
    }
    plan = f.teardown_plan(found)
    assert [(p["type"], p["id"]) for p in plan] == [
        ("nat_gateway", "nat-1"),
        ("elastic_ip", "eipalloc-1"),
        ("vpc_endpoint", "vpce-1"),
        ("security_group", "sg-res"),
        ("security_group", "sg-dmz"),
        ("route_table", "rtb-1"),
        ("subnet", "subnet-1"),
        ("internet_gateway", "igw-1"),
        ("vpc", "vpc-1"),
    ]
    assert plan[1]["public_ip"] == "192.0.2.1" and plan[1]["name"] == "n"
    assert plan[6]["cidr"] == "10.0.1.0/24"


def test_teardown_plan_of_nothing():
    assert f.teardown_plan({}) == []
