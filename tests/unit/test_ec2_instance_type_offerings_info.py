"""plugins/modules/ec2_instance_type_offerings_info.py: its pure logic with plain pytest, the module against moto
in-process (moto knows the offerings of its regions, zones and zone ids, and each type's architectures)."""

from __future__ import annotations

import functools

import boto3
import pytest
from modules import REGION, ansible_doc, load_module, run_module
from moto import mock_aws

m = load_module("ec2_instance_type_offerings_info")
run_main = functools.partial(run_module, m)


@pytest.fixture
def ec2(aws_env):
    with mock_aws():
        yield boto3.client("ec2", region_name=REGION)


# ----------------------------------------------------------------------------------------------- pure logic


@pytest.mark.parametrize(
    ("locations", "instance_types", "expected"),
    [
        ([], [], []),
        (["eu-west-1a"], [], [{"Name": "location", "Values": ["eu-west-1a"]}]),
        ([], ["t3.*"], [{"Name": "instance-type", "Values": ["t3.*"]}]),
        (
            ["a", "b"],
            ["t3.micro"],
            [{"Name": "location", "Values": ["a", "b"]}, {"Name": "instance-type", "Values": ["t3.micro"]}],
        ),
    ],
)
def test_build_filters_leaves_out_empty_ones(locations, instance_types, expected):
    assert m.build_filters(locations, instance_types) == expected


def test_summarise_sorts_and_deduplicates():
    raw = [
        {"InstanceType": "t3.micro", "Location": "b", "LocationType": "availability-zone"},
        {"InstanceType": "m5.large", "Location": "a", "LocationType": "availability-zone"},
        {"InstanceType": "t3.micro", "Location": "a", "LocationType": "availability-zone"},
    ]
    offerings, names = m.summarise(raw)
    assert [(o["location"], o["instance_type"]) for o in offerings] == [
        ("a", "m5.large"),
        ("a", "t3.micro"),
        ("b", "t3.micro"),
    ]
    assert names == ["m5.large", "t3.micro"]
    assert offerings[0] == {"instance_type": "m5.large", "location": "a", "location_type": "availability-zone"}


OFFERED = [
    {"instance_type": "t3.micro", "location": "a"},
    {"instance_type": "t3.large", "location": "a"},
    {"instance_type": "t3.micro", "location": "b"},
]


@pytest.mark.parametrize(
    ("locations", "instance_types", "missing"),
    [
        (["a", "b"], ["t3.micro"], []),
        (["a", "b"], ["t3.large"], [("t3.large", "b")]),
        (["a", "c"], ["t3.micro", "g5.xlarge"], [("g5.xlarge", "a"), ("g5.xlarge", "c"), ("t3.micro", "c")]),
        (["b"], ["t3.*"], []),  # a pattern counts as offered when something matches it
        (["b"], ["m5.*"], [("m5.*", "b")]),
        ([], ["g5.xlarge"], []),  # without both options there is nothing to compare
        (["a"], [], []),
    ],
)
def test_missing_offerings(locations, instance_types, missing):
    found = m.missing_offerings(OFFERED, locations, instance_types)
    assert [(f["instance_type"], f["location"]) for f in found] == missing


@pytest.mark.parametrize(
    ("instance_types", "offered", "described"),
    [
        (["t3.small", "a1.medium", "t3.small"], ["a1.medium", "t3.small"], ["a1.medium", "t3.small"]),
        (["t3.small", "no-such.type"], ["t3.small"], ["t3.small"]),  # one that does not exist would fail the call
        (["no-such.type"], [], []),
        (["t3.*"], ["t3.micro", "t3.small"], []),  # a pattern: not names DescribeInstanceTypes takes
        (["t3.small", "t4g.nan?"], ["t3.small", "t4g.nano"], []),
        ([], ["t3.micro", "t3.small"], []),  # nothing asked for: not every type of the region
    ],
)
def test_types_to_describe_are_the_offered_names(instance_types, offered, described):
    assert m.types_to_describe(instance_types, offered) == described


def test_architectures_by_type_keeps_aws_order():
    raw = [
        {"InstanceType": "t2.micro", "ProcessorInfo": {"SupportedArchitectures": ["i386", "x86_64"]}},
        {"InstanceType": "a1.medium", "ProcessorInfo": {"SupportedArchitectures": ["arm64"]}},
    ]
    assert m.architectures_by_type(raw) == {"t2.micro": ["i386", "x86_64"], "a1.medium": ["arm64"]}


# ------------------------------------------------------------------------------------- against moto


def test_zone_offerings_and_what_is_not_offered(ec2, capsys):
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:2]
    rc, out = run_main({"locations": zones, "instance_types": ["t3.micro", "t3.nano", "no-such.type"]}, capsys)
    assert rc == 0 and out["changed"] is False
    assert out["instance_types"] == ["t3.micro", "t3.nano"]
    assert {o["location"] for o in out["offerings"]} == set(zones)
    assert {o["location_type"] for o in out["offerings"]} == {"availability-zone"}
    assert out["not_offered"] == [{"instance_type": "no-such.type", "location": z} for z in sorted(zones)]
    # The unknown type is not described (DescribeInstanceTypes would refuse the whole request): no crash.
    assert out["architectures"] == {"t3.micro": ["x86_64"], "t3.nano": ["x86_64"]}
    assert out["api_calls"] == 2  # DescribeInstanceTypeOfferings, DescribeInstanceTypes


def test_architectures_come_from_aws_not_from_the_name(ec2, capsys):
    """a1 (the first Graviton) has no `g` in its name; t2 runs 32-bit images too."""
    types = ["t3.small", "t4g.small", "a1.medium", "m7g.large", "t2.micro"]
    rc, out = run_main({"location_type": "region", "instance_types": types}, capsys)
    assert rc == 0 and out["not_offered"] == []
    assert out["architectures"] == {
        "a1.medium": ["arm64"],
        "m7g.large": ["arm64"],
        "t2.micro": ["i386", "x86_64"],
        "t3.small": ["x86_64"],
        "t4g.small": ["arm64"],
    }
    assert out["api_calls"] == 2


def test_only_types_offered_in_the_locations_are_described(ec2, capsys):
    # moto's us-east-1d offers t4g.small but no a1 type.
    args = {"locations": ["us-east-1d"], "instance_types": ["a1.medium", "t4g.small", "t3.hyper"]}
    rc, out = run_main(args, capsys)
    assert rc == 0
    assert out["architectures"] == {"t4g.small": ["arm64"]}
    assert [o["instance_type"] for o in out["not_offered"]] == ["a1.medium", "t3.hyper"]


@pytest.mark.parametrize(
    "args",
    [
        {"location_type": "region", "instance_types": ["t3.*"]},  # a pattern
        {"location_type": "region", "instance_types": ["t3.hyper"]},  # nothing offered
        {"locations": ["us-east-1a"]},  # every type of the zone: not described
    ],
)
def test_no_describe_instance_types_call_without_offered_names(ec2, capsys, args):
    rc, out = run_main(args, capsys)
    assert rc == 0 and out["architectures"] == {}
    assert out["api_calls"] == 1


def test_more_than_a_hundred_types_are_described_a_hundred_at_a_time(ec2, capsys):
    names = sorted(t["InstanceType"] for t in ec2.describe_instance_types()["InstanceTypes"])[:150]
    rc, out = run_main({"location_type": "region", "instance_types": names}, capsys)
    assert rc == 0 and set(out["architectures"]) == set(out["instance_types"])
    assert len(out["architectures"]) > 100 and out["api_calls"] == 3


def test_region_and_zone_id_location_types(ec2, capsys):
    rc, out = run_main({"location_type": "region", "instance_types": ["t3.micro"]}, capsys)
    assert rc == 0 and out["offerings"] == [
        {"instance_type": "t3.micro", "location": REGION, "location_type": "region"}
    ]
    zone_id = ec2.describe_availability_zones()["AvailabilityZones"][0]["ZoneId"]
    rc, out = run_main({"location_type": "availability-zone-id", "locations": [zone_id]}, capsys)
    assert rc == 0 and out["offerings"] and {o["location"] for o in out["offerings"]} == {zone_id}
    assert "t3.micro" in out["instance_types"] and out["instance_types"] == sorted(set(out["instance_types"]))


def test_a_zone_of_another_region_offers_nothing_and_check_mode_is_the_same(ec2, capsys):
    args = {"locations": ["eu-west-1a"], "instance_types": ["t3.micro"], "_ansible_check_mode": True}
    rc, out = run_main(args, capsys)
    assert rc == 0 and out["changed"] is False
    assert out["offerings"] == [] and out["instance_types"] == []
    assert out["not_offered"] == [{"instance_type": "t3.micro", "location": "eu-west-1a"}]


def test_a_bad_location_type_is_refused(ec2, capsys):
    rc, out = run_main({"location_type": "zone"}, capsys)
    assert rc == 1 and "location_type" in out["msg"]


def test_ansible_doc_renders_the_module():
    doc = ansible_doc("ec2_instance_type_offerings_info")
    assert {"location_type", "locations", "instance_types", "region"} <= set(doc["doc"]["options"])
    assert any("DescribeInstanceTypeOfferings" in line for line in doc["doc"]["description"])
    assert {"offerings", "instance_types", "not_offered", "architectures"} <= set(doc["return"])
