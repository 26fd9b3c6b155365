"""The infra plays' helpers and the summary's host and cost figures, as plain functions."""

from __future__ import annotations

import pytest
from ansible_collections.research_env.core.plugins.filter.cost import budget_line, cost_hosts, cost_lines
from ansible_collections.research_env.core.plugins.filter.images import (
    image_architecture,
    image_errors,
    instance_type_errors,
)
from ansible_collections.research_env.core.plugins.filter.infra import aws_access_denied, enabled
from ansible_collections.research_env.core.plugins.filter.summary import hosts_summary


def test_enabled_drops_disabled_entries_and_the_key():
    rules = [{"ports": [22], "enabled": True}, {"ports": [80], "enabled": False}, {"ports": [443]}]
    assert enabled(rules) == [{"ports": [22]}, {"ports": [443]}]


def _instance(role, kind, state="running", private="10.0.3.10", public=None, launched="2026-11-23T10:00:00"):
    return {
        "instance_id": f"i-{role}",
        "instance_type": kind,
        "state": {"name": state},
        "private_ip_address": private,
        "public_ip_address": public,
        "launch_time": launched,
        "tags": {"Role": role, "Name": f"lab-{role}"},
    }


def test_hosts_summary_keys_hosts_by_role_and_skips_terminated_and_untagged():
    old = _instance("jupyter", "t3.large", state="terminated", launched="2026-11-22T00:00:00")
    new = _instance("jupyter", "t3.large", private="10.0.3.20")
    untagged = {"instance_id": "i-x", "instance_type": "t3.micro", "state": {"name": "running"}, "tags": {}}
    vpn = _instance("vpn", "t3.small", private="10.0.1.5", public="198.51.100.7")
    hosts = hosts_summary([new, old, untagged, vpn])
    assert set(hosts) == {"jupyter", "vpn"}
    assert hosts["jupyter"]["private_ip"] == "10.0.3.20"
    assert hosts["jupyter"]["public_ip"] is None
    assert hosts["vpn"] == {
        "name": "lab-vpn",
        "instance_id": "i-vpn",
        "instance_type": "t3.small",
        "state": "running",
        "private_ip": "10.0.1.5",
        "public_ip": "198.51.100.7",
    }


def test_cost_hosts_price_what_exists_and_the_configuration_for_the_rest():
    configured = {
        "vpn": {"type": "t3.small", "eip": True, "volume_gb": 20},
        "voila": {"type": "t3.small", "eip": False, "volume_gb": 20},
        "jupyter": {"type": "t3.large", "eip": False, "volume_gb": 50},
        "filegator": {"type": "t3.micro", "eip": False, "volume_gb": 30},
    }
    instances = [
        _instance("vpn", "t3.small", public="198.51.100.7"),
        _instance("voila", "t3.medium", public="198.51.100.8"),
        _instance("jupyter", "t3.large", state="stopped"),
        _instance("gone", "t3.large", state="terminated"),
    ]
    volumes = [
        {"size": 80, "attachment_set": [{"instance_id": "i-jupyter"}]},
        {"size": 20, "attachment_set": [{"instance_id": "i-jupyter"}]},
    ]
    subnets = {"dmz": {"public": True}, "production": {"public": True}, "research": {"public": False}}
    configured["voila"]["subnet"], configured["jupyter"]["subnet"] = "production", "research"
    hosts = {h["role"]: h for h in cost_hosts(configured, instances, volumes, subnets)}
    assert sorted(hosts) == ["filegator", "jupyter", "voila", "vpn"]
    # The type AWS reports (resized by hand) and the volumes measured win over the configuration.
    assert hosts["voila"]["instance_type"] == "t3.medium" and hosts["voila"]["public_ipv4"] is True
    assert hosts["voila"]["eip"] is False  # a public subnet's address, not an Elastic IP
    # Stopped: it exists, is not billed by the hour, and its measured volumes count.
    assert hosts["jupyter"] == {"role": "jupyter", "instance_type": "t3.large", "volume_gb": 100, "eip": False,
                                "public_ipv4": False, "exists": True, "running": False}  # fmt: skip
    assert hosts["vpn"]["eip"] is True and hosts["vpn"]["public_ipv4"] is True and hosts["vpn"]["running"] is True
    # Not created yet: priced as configured, not billed now.
    assert hosts["filegator"] == {"role": "filegator", "instance_type": "t3.micro", "volume_gb": 30, "eip": False,
                                  "public_ipv4": False, "exists": False, "running": False}  # fmt: skip


def test_cost_lines_print_the_totals_the_comparisons_and_the_budget():
    report = {
        "months": 3,
        "price_source": "offline table (2026-12-01)",
        "now": {"hourly_usd": 0.18},
        "total": {"monthly_usd": 69.42, "period_usd": 208.26},
        "items": [
            {
                "item": "instance",
                "detail": "vpn (t3.small)",
                "quantity": 1,
                "unit": "instance-hour",
                "unit_usd": 0.0208,
                "monthly_usd": 15.18,
            }
        ],
        "comparisons": {
            "instance_types": [
                {"instance_type": "t3.large", "period_usd": 208.26, "configured": True},
                {"instance_type": "m7i.large", "period_usd": 222.03},
            ],
            "schedule": {
                "stop": "cron(0 20 * * ? *)",
                "start": "cron(0 8 ? * MON-FRI *)",
                "roles": ["jupyter"],
                "hours_on_per_month": 260.71,
                "monthly_saving_usd": 43.93,
            },
        },
        "unpriced": ["instance_hour/p5.48xlarge"],
        "notes": ["Free tiers are ignored."],
    }
    lines = cost_lines(report)
    assert lines[1] == "Now: USD 0.18 an hour. This configuration: USD 69.42 a month, USD 208.26 over 3 months."
    assert "  instance: vpn (t3.small) 1 instance-hour x USD 0.0208 = USD 15.18 a month" in lines
    assert "Over 3 months, jupyter on: t3.large USD 208.26 (this), m7i.large USD 222.03" in lines
    assert any(
        line.startswith("Idle stop (cron(0 20 * * ? *)") and "saving USD 43.93 a month" in line for line in lines
    )
    assert "Unpriced (no price known, not counted): instance_hour/p5.48xlarge" in lines
    assert lines[-1] == "Note: Free tiers are ignored."


def test_budget_line_names_the_budget_or_says_there_is_none():
    made = {"changes": ["create budget"], "budget": {"budget_name": "research-env-e-us-east-1",
                                                     "budget_limit": {"amount": "100.0", "unit": "USD"}}}  # fmt: skip
    assert budget_line(made) == (
        "Budget research-env-e-us-east-1: USD 100.00 a month, e-mails at 50/90/95 % of actual "
        "and 100 % of forecast spend"
    )
    # state absent returns what it deleted: the line must still say there is none now.
    assert (
        budget_line({"changes": ["delete budget"], "budget": made["budget"]}) == "Budget: none (budget_monthly_usd: 0)"
    )
    assert budget_line({"changes": [], "budget": None}) == "Budget: none (budget_monthly_usd: 0)"


INSTANCES = {
    "vpn": {"type": "t3.small"},
    "jupyter": {"type": "m7g.large", "ami_id": "ami-0123456789abcdef0"},
}
# What ec2_instance_type_offerings_info answers (moto's and AWS's SupportedArchitectures).
ARCHITECTURES = {"t3.small": ["x86_64"], "m7g.large": ["arm64"], "a1.medium": ["arm64"], "t2.micro": ["i386", "x86_64"]}


@pytest.mark.parametrize(
    ("supported", "arch"),
    [
        (["x86_64"], "x86_64"),
        (["arm64"], "arm64"),
        (["i386", "x86_64"], "x86_64"),  # AWS's order for t2 and older: the 64-bit image, not the first
        (["x86_64_mac"], "x86_64_mac"),
        ([], None),
        (None, None),  # the type is not offered
    ],
)
def test_image_architecture(supported, arch):
    assert image_architecture(supported) == arch


def test_instance_types_not_offered_in_the_zone_are_named():
    errors = instance_type_errors(INSTANCES, ["t3.small", "t3.large"], "us-east-1a")
    assert len(errors) == 1 and errors[0].startswith(
        "instances.jupyter.type: 'm7g.large' is not an instance type offered"
    )
    assert instance_type_errors(INSTANCES, ["t3.small", "m7g.large"], "us-east-1a") == []


@pytest.mark.parametrize(
    ("given", "matching", "fragment"),
    [
        (
            [],
            [{"architecture": "x86_64", "image_id": "ami-1"}],
            "instances.jupyter.ami_id: ami-0123456789abcdef0 is not",
        ),
        (
            [{"image_id": "ami-0123456789abcdef0", "architecture": "x86_64", "state": "available"}],
            [{"architecture": "x86_64", "image_id": "ami-1"}],
            "is an x86_64 image, but m7g.large runs arm64",
        ),
        (
            [{"image_id": "ami-0123456789abcdef0", "architecture": "arm64", "state": "available"}],
            [{"architecture": "arm64", "image_id": "ami-1"}],
            "ami_name_filter: no available image of owner 099720109477 matches 'ubuntu/*' for x86_64",
        ),
    ],
)
def test_image_errors(given, matching, fragment):
    (error,) = image_errors(INSTANCES, ARCHITECTURES, given, matching, "us-east-1", "099720109477", "ubuntu/*")
    assert fragment in error


def test_images_that_fit():
    given = [{"image_id": "ami-0123456789abcdef0", "architecture": "arm64", "state": "available"}]
    assert image_errors(INSTANCES, ARCHITECTURES, given, [{"architecture": "x86_64"}], "us-east-1", "o", "n") == []


X86_IMAGE = {"image_id": "ami-0c1a9e0c24a0b1e02", "architecture": "x86_64", "state": "available"}
ARM_IMAGE = {"image_id": "ami-0c1a9e0c24a0a6401", "architecture": "arm64", "state": "available"}


def test_a1_is_arm64_although_its_name_has_no_g():
    """The name-based guess took the first Graviton (a1) for x86_64; AWS's answer does not."""
    given = {"vpn": {"type": "a1.medium", "ami_id": X86_IMAGE["image_id"]}}
    (error,) = image_errors(given, ARCHITECTURES, [X86_IMAGE], [X86_IMAGE], "us-east-1", "o", "n")
    assert error.startswith("instances.vpn.ami_id: ami-0c1a9e0c24a0b1e02 is an x86_64 image, but a1.medium runs arm64")
    by_filter = {"vpn": {"type": "a1.medium"}}
    (error,) = image_errors(by_filter, ARCHITECTURES, [], [X86_IMAGE], "us-east-1", "o", "n")
    assert "for arm64 (needed by instances.vpn, type a1.medium)" in error
    assert image_errors(by_filter, ARCHITECTURES, [], [X86_IMAGE, ARM_IMAGE], "us-east-1", "o", "n") == []


def test_a_type_that_runs_i386_and_x86_64_takes_either_image_given_and_the_x86_64_one_found():
    i386 = {"image_id": "ami-0000000000000i386", "architecture": "i386", "state": "available"}
    given = {"vpn": {"type": "t2.micro", "ami_id": i386["image_id"]}}
    assert image_errors(given, ARCHITECTURES, [i386], [], "us-east-1", "o", "n") == []
    (error,) = image_errors(given, ARCHITECTURES, [ARM_IMAGE | {"image_id": i386["image_id"]}], [], "r", "o", "n")
    assert "is an arm64 image, but t2.micro runs i386 or x86_64" in error
    (error,) = image_errors({"vpn": {"type": "t2.micro"}}, ARCHITECTURES, [], [i386], "us-east-1", "o", "n")
    assert "for x86_64" in error


def test_a_type_that_is_not_offered_gets_no_image_error():
    """No architecture is known for it: instance_type_errors names the type, the image is not judged."""
    hosts = {
        "vpn": {"type": "t3.hyper"},
        "jupyter": {"type": "t3.hyper", "ami_id": X86_IMAGE["image_id"]},
        "voila": {"type": "t3.hyper", "ami_id": ARM_IMAGE["image_id"]},
    }
    assert image_errors(hosts, ARCHITECTURES, [X86_IMAGE, ARM_IMAGE], [], "us-east-1", "o", "n") == []
    assert image_errors(hosts, {}, [X86_IMAGE, ARM_IMAGE], [], "us-east-1", "o", "n") == []


def test_an_image_that_does_not_exist_is_named_even_when_the_type_is_not_offered():
    (error,) = image_errors({"vpn": {"type": "t3.hyper", "ami_id": "ami-0123456789abcdef0"}}, {}, [], [], "r", "o", "n")
    assert error.startswith("instances.vpn.ami_id: ami-0123456789abcdef0 is not an available image")


def test_default_zone_is_the_first_availability_zone_not_a_local_zone():
    from ansible_collections.research_env.core.plugins.filter.infra import default_zone

    zones = [
        {"zone_name": "us-west-2-lax-1a", "state": "available", "zone_type": "local-zone"},
        {"zone_name": "us-west-2a", "state": "impaired", "zone_type": "availability-zone"},
        {"zone_name": "us-west-2b", "state": "available", "zone_type": "availability-zone"},
    ]
    assert default_zone(zones) == "us-west-2b"
    # Without zone types (an older answer), the first available zone; none available: ''.
    assert default_zone([{"zone_name": "x-1a", "state": "available"}]) == "x-1a"
    assert default_zone([{"zone_name": "x-1a", "state": "impaired"}]) == ""
    assert default_zone(None) == ""


def test_async_results_puts_each_background_result_in_its_items_place():
    from ansible_collections.research_env.core.plugins.filter.infra import async_results

    launched = [
        {"item": {"key": "dmz"}, "ansible_job_id": "j1", "started": 1, "finished": 0},
        {"item": {"key": "research"}, "changed": True, "route_table": {"id": "rtb-2"}},
        {"item": {"key": "production"}, "skipped": True},
        {"item": {"key": "public"}, "ansible_job_id": "j3", "started": 1, "finished": 0},
    ]
    waited = [
        {"ansible_job_id": "j3", "finished": 1, "route_table": {"id": "rtb-3"}, "item": launched[3]},
        {"ansible_job_id": "j1", "finished": 1, "changed": True, "route_table": {"id": "rtb-1"}, "item": launched[0]},
    ]
    results = async_results(launched, waited)
    assert [(r["item"]["key"], r["route_table"]["id"]) for r in results] == [
        ("dmz", "rtb-1"),
        ("research", "rtb-2"),
        ("public", "rtb-3"),
    ]
    assert results[0]["changed"] is True
    assert async_results([], None) == []


def test_async_results_takes_the_item_of_any_loop_var():
    from ansible_collections.research_env.core.plugins.filter.infra import async_results

    launched = [
        {"ansible_loop_var": "tier", "tier": "dmz", "ansible_job_id": "j1"},
        {"ansible_loop_var": "tier", "tier": "research", "group_id": "sg-2"},
    ]
    waited = [{"ansible_job_id": "j1", "finished": 1, "group_id": "sg-1"}]
    assert [(r["item"], r["group_id"]) for r in async_results(launched, waited)] == [
        ("dmz", "sg-1"),
        ("research", "sg-2"),
    ]


def test_keyed_paths_name_what_is_kept_per_member():
    from ansible_collections.research_env.core.plugins.filter.infra import keyed_paths

    assert keyed_paths(["alice", "bob"], "/a/vpn/", ".ovpn") == {"alice": "/a/vpn/alice.ovpn", "bob": "/a/vpn/bob.ovpn"}
    assert keyed_paths(["alice"], "/research-env/lab/filegator/") == {"alice": "/research-env/lab/filegator/alice"}
    assert keyed_paths([], "/x/") == {} and keyed_paths(None, "/x/") == {}


@pytest.mark.parametrize(
    ("result", "denied"),
    [
        ({"failed": True, "error": {"code": "AccessDeniedException", "message": "not authorized"}}, True),
        ({"failed": True, "error": {"code": "AccessDenied"}}, True),
        ({"failed": True, "error": {"code": "UnauthorizedOperation"}}, True),
        # Another failure is a failure: throttling, a bad request, a module error without AWS's answer.
        ({"failed": True, "error": {"code": "ThrottlingException"}}, False),
        ({"failed": True, "msg": "Couldn't list the EventBridge rules"}, False),
        ({"failed": False, "error": {"code": "AccessDeniedException"}}, False),
        ({"changed": False, "rules": []}, False),
        (None, False),
    ],
)
def test_aws_access_denied_tells_a_refusal_from_other_failures(result, denied):
    assert aws_access_denied(result) is denied
