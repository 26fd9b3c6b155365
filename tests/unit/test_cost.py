"""research_env.core.cost_report and its arithmetic (module_utils/cost.py): every item and every choice against a
figure computed by hand in the test; the files it writes (cost.json, cost.md, a valid PNG carrying its series), the
same bytes on a rerun (changed=false), nothing written in check mode."""

from __future__ import annotations

import copy
import functools
import json
import struct
import zlib
from dataclasses import replace
from pathlib import Path

import pytest
from ansible_collections.research_env.core.plugins.module_utils import cost
from modules import ansible_doc, load_module, run_module

m = load_module("cost_report")
run_main = functools.partial(run_module, m, region=None)

H = 730  # hours a month
PRICES = {
    "instance_hour": {
        "t3.micro": 0.0104,
        "t3.small": 0.0208,
        "t3.large": 0.0832,
        "t3.xlarge": 0.1664,
        "m7i.large": 0.1008,
    },
    "ebs_gp3_gb_month": 0.08,
    "nat_gateway_hour": 0.045,
    "nat_gateway_gb": 0.045,
    "public_ipv4_hour": 0.005,
    "client_vpn_association_hour": 0.10,
    "client_vpn_connection_hour": 0.05,
    "s3_standard_gb_month": 0.023,
    "efs_standard_gb_month": 0.30,
    "kms_key_month": 1.0,
    "lambda_million_requests": 0.20,
    "lambda_gb_second": 0.0000166667,
}
HOSTS = (
    cost.Host("vpn", "t3.small", 20, public_ipv4=True, running=True, eip=True),
    cost.Host("voila", "t3.small", 20, running=True),
    cost.Host("jupyter", "t3.large", 50, running=True),
    cost.Host("filegator", "t3.micro", 30, running=False),
)
ENV = cost.Environment(hosts=HOSTS, nat_mode="during_deploy", nat_deploy_hours_per_month=4, vpn_provider="openvpn_as")
# The default environment by hand: 2 x t3.small, t3.large, t3.micro all month; 120 GB gp3; the vpn host's Elastic IP;
# a NAT gateway and its address 4 h a month.
BASE_MONTHLY = 2 * 0.0208 * 730 + 0.0832 * 730 + 0.0104 * 730 + 120 * 0.08 + 0.005 * 730 + (0.045 + 0.005) * 4
# stop 20:00 every day, start 08:00 Monday to Friday: on 12 h x 5 days of the week's 168 h.
SCHEDULED_HOURS = 60 / 168 * 730


def by_item(items, name):
    return [i for i in items if i["item"] == name]


# The items, one by one.


def test_an_instance_all_month_and_one_on_a_schedule():
    items = cost.instance_items(replace(ENV, scheduled_roles=("jupyter",), scheduled_hours=SCHEDULED_HOURS), PRICES)
    assert [i["detail"] for i in items] == [
        "vpn (t3.small)",
        "voila (t3.small)",
        "jupyter (t3.large), stop schedule",
        "filegator (t3.micro)",
    ]
    assert items[0]["monthly_usd"] == pytest.approx(0.0208 * 730)
    assert items[2]["hours_per_month"] == pytest.approx(260.714, abs=1e-3)
    assert items[2]["monthly_usd"] == pytest.approx(0.0832 * 60 / 168 * 730)


def test_ebs_by_total_gb():
    (ebs,) = cost.ebs_item(ENV, PRICES)
    assert ebs["quantity"] == 20 + 20 + 50 + 30
    assert ebs["monthly_usd"] == pytest.approx(120 * 0.08)  # 9.60
    assert "hours_per_month" not in ebs


def test_an_elastic_ip_every_hour_stopped_or_not():
    hosts = (replace(HOSTS[0], running=False), replace(HOSTS[1], public_ipv4=True, eip=True))
    (ipv4,) = cost.public_ipv4_item(replace(ENV, hosts=hosts), PRICES)
    assert ipv4["quantity"] == 2 and ipv4["detail"] == "Elastic IP of vpn, voila"
    assert ipv4["monthly_usd"] == pytest.approx(2 * 0.005 * 730)  # 7.30


def test_a_public_address_that_is_not_an_elastic_ip_only_for_the_hosts_hours():
    # vpn: Elastic IP, all month; voila: public subnet, all month; jupyter: public subnet, on the schedule's hours;
    # filegator: Elastic IP on the schedule, billed all month all the same.
    hosts = (
        HOSTS[0],
        replace(HOSTS[1], public_ipv4=True),
        replace(HOSTS[2], public_ipv4=True),
        replace(HOSTS[3], public_ipv4=True, eip=True),
    )
    env = replace(ENV, hosts=hosts, scheduled_roles=("jupyter", "filegator"), scheduled_hours=SCHEDULED_HOURS)
    elastic, voila, jupyter = cost.public_ipv4_item(env, PRICES)
    assert elastic["detail"] == "Elastic IP of vpn, filegator"
    assert (elastic["quantity"], elastic["hours_per_month"]) == (2, 730)
    assert elastic["monthly_usd"] == pytest.approx(2 * 730 * 0.005)  # 7.30
    assert voila["detail"] == "public address (not an Elastic IP) of voila, while running"
    assert (voila["hours_per_month"], voila["monthly_usd"]) == (730, pytest.approx(730 * 0.005))  # 3.65
    assert jupyter["detail"] == "public address (not an Elastic IP) of jupyter, while running (stop schedule)"
    assert jupyter["hours_per_month"] == pytest.approx(260.714, abs=1e-3)  # 60 h of the week's 168
    assert jupyter["monthly_usd"] == pytest.approx(60 / 168 * 730 * 0.005)  # 1.30
    assert cost.monthly_total([elastic, voila, jupyter]) == pytest.approx(7.30 + 3.65 + 1.3035714, abs=1e-6)


def test_a_host_exists_when_it_runs_unless_told():
    assert cost.Host("vpn", "t3.small", running=True).exists is True
    assert cost.Host("vpn", "t3.small").exists is False
    assert cost.Host("vpn", "t3.small", running=False, exists=True).exists is True


@pytest.mark.parametrize(
    ("mode", "hours", "monthly"),
    [
        ("always", 730, (0.045 + 0.005) * 730),  # 36.50
        ("during_deploy", 4, (0.045 + 0.005) * 4),  # 0.20
        ("none", 0, 0.0),
    ],
)
def test_nat_gateway_and_its_address_by_nat_mode(mode, hours, monthly):
    items = cost.nat_items(replace(ENV, nat_mode=mode), PRICES)
    assert [i["item"] for i in items] == (["NAT gateway", "NAT gateway public IPv4"] if hours else [])
    assert all(i["hours_per_month"] == hours for i in items)
    assert cost.monthly_total(items) == pytest.approx(monthly)
    assert cost.monthly(replace(ENV, nat_mode=mode), PRICES) == pytest.approx(
        BASE_MONTHLY - (0.045 + 0.005) * 4 + monthly
    )


@pytest.mark.parametrize(
    ("provider", "monthly"),
    [
        ("openvpn_as", 0.0),
        ("openvpn", 0.0),
        ("none", 0.0),
        # one association all month + 5 members x 40 h connected
        ("client_vpn", 1 * 0.10 * 730 + 5 * 40 * 0.05),  # 73 + 10
    ],
)
def test_vpn_provider_items(provider, monthly):
    env = replace(ENV, vpn_provider=provider, vpn_members=5, vpn_hours_per_member_month=40)
    items = cost.client_vpn_items(env, PRICES)
    assert cost.monthly_total(items) == pytest.approx(monthly)
    assert cost.monthly(env, PRICES) == pytest.approx(BASE_MONTHLY + monthly)


def test_client_vpn_members_times_hours():
    env = replace(
        ENV, vpn_provider="client_vpn", vpn_members=7, vpn_hours_per_member_month=25.5, client_vpn_associations=2
    )
    associations, connections = cost.client_vpn_items(env, PRICES)
    assert associations["quantity"] == 2 and associations["hours_per_month"] == 730
    assert associations["monthly_usd"] == pytest.approx(2 * 730 * 0.10)  # 146.00
    assert connections["quantity"] == 7 and connections["hours_per_month"] == 25.5
    assert connections["monthly_usd"] == pytest.approx(7 * 25.5 * 0.05)  # 8.925
    assert connections["detail"] == "7 members x 25.5 h connected a month"


def test_s3_from_measured_bytes_in_gib():
    env = replace(ENV, buckets=(("a", 5 * 2**30), ("b", 1_500_000_000), ("empty", 0)))
    a, b, empty = cost.s3_items(env, PRICES)
    assert a["quantity"] == 5 and a["monthly_usd"] == pytest.approx(5 * 0.023)  # 0.115
    assert b["quantity"] == pytest.approx(1.3969838619232178)  # 1.5e9 / 2**30
    assert b["monthly_usd"] == pytest.approx(1_500_000_000 / 2**30 * 0.023)
    assert b["detail"] == "b: 1500000000 bytes / 2**30"
    assert empty["monthly_usd"] == 0


def test_efs_from_measured_bytes_in_gib():
    (efs,) = cost.efs_item(replace(ENV, efs_bytes=3 * 2**30 + 2**29), PRICES)
    assert (efs["item"], efs["unit"], efs["quantity"]) == ("EFS", "GB-month", 3.5)
    assert efs["monthly_usd"] == pytest.approx(3.5 * 0.30)  # 1.05
    assert efs["detail"] == "Standard: 3758096384 bytes / 2**30" and "hours_per_month" not in efs
    assert cost.efs_item(ENV, PRICES) == []  # no EFS measured: no item
    assert cost.monthly(replace(ENV, efs_bytes=2**30), PRICES) == pytest.approx(BASE_MONTHLY + 0.30)
    unpriced = {k: v for k, v in PRICES.items() if k != "efs_standard_gb_month"}
    assert cost.unpriced(cost.line_items(replace(ENV, efs_bytes=2**30), unpriced)) == [
        "EFS: Standard: 1073741824 bytes / 2**30 (no price efs_standard_gb_month)"
    ]


def test_kms_keys():
    (kms,) = cost.kms_item(replace(ENV, kms_keys=2), PRICES)
    assert kms["monthly_usd"] == pytest.approx(2 * 1.0)
    assert cost.kms_item(ENV, PRICES) == []


def test_lambda_from_requests_memory_and_duration():
    env = replace(ENV, lambda_pipeline=cost.LambdaPipeline(True, 10_000, memory_mb=512, duration_ms=2500))
    requests, duration = cost.lambda_items(env, PRICES)
    assert requests["monthly_usd"] == pytest.approx(10_000 / 1e6 * 0.20)  # 0.002
    assert duration["quantity"] == pytest.approx(10_000 * 2.5 * 0.5)  # 12,500 GB-s
    assert duration["monthly_usd"] == pytest.approx(10_000 * 2.5 * 0.5 * 0.0000166667)  # 0.2083


def test_lambda_assumes_one_second_and_128_mb_and_says_so():
    env = replace(ENV, lambda_pipeline=cost.LambdaPipeline(True, 10_000))
    _, duration = cost.lambda_items(env, PRICES)
    assert duration["monthly_usd"] == pytest.approx(10_000 * 1.0 * 128 / 1024 * 0.0000166667)
    text = " ".join(cost.notes(env, cost.ScheduleInfo(), PRICES, "jupyter"))
    assert "1 s average" in text and "128 MB" in text
    assert cost.lambda_items(replace(ENV, lambda_pipeline=cost.LambdaPipeline(False, 10_000)), PRICES) == []


def test_a_missing_price_is_unpriced_never_free():
    prices = {**PRICES, "instance_hour": {"t3.small": 0.0208}}
    del prices["ebs_gp3_gb_month"]
    items = cost.line_items(ENV, prices)
    assert [i["detail"] for i in items if i["monthly_usd"] is None] == [
        "jupyter (t3.large)",
        "filegator (t3.micro)",
        "gp3, vpn 20 + voila 20 + jupyter 50 + filegator 30 GB",
    ]
    assert cost.unpriced(items) == [
        "instance: jupyter (t3.large) (no price instance_hour.t3.large)",
        "instance: filegator (t3.micro) (no price instance_hour.t3.micro)",
        "EBS: gp3, vpn 20 + voila 20 + jupyter 50 + filegator 30 GB (no price ebs_gp3_gb_month)",
    ]
    assert cost.monthly_total(items) == pytest.approx(2 * 0.0208 * 730 + 0.005 * 730 + 0.05 * 4)


def test_the_whole_default_environment():
    assert cost.monthly(ENV, PRICES) == pytest.approx(BASE_MONTHLY)  # 112.146
    assert cost.cents(BASE_MONTHLY) == 112.15


def test_what_is_billed_now():
    lines = cost.now_items(ENV, cost.Now(nat_gateways=1, client_vpn_associations=2), PRICES)
    hourly = sum(i["hourly_usd"] for i in lines)
    # vpn, voila, jupyter running (filegator stopped), the vpn host's address, one NAT gateway + address, 2 assoc.
    assert hourly == pytest.approx(0.0208 + 0.0208 + 0.0832 + 0.005 + 0.045 + 0.005 + 2 * 0.10)


def test_billed_now_counts_the_elastic_ips_of_stopped_hosts():
    hosts = (
        replace(HOSTS[0], running=False, exists=True),  # vpn stopped: its Elastic IP is billed
        replace(HOSTS[1], public_ipv4=True, running=False, exists=True),  # stopped, no Elastic IP: released
        replace(HOSTS[2], public_ipv4=True),  # running, public subnet: billed
        replace(HOSTS[3], public_ipv4=True, eip=True),  # filegator does not exist: nothing now
    )
    lines = cost.now_items(replace(ENV, hosts=hosts), cost.Now(), PRICES)
    (ipv4,) = by_item(lines, "public IPv4")
    assert ipv4["detail"] == "vpn (Elastic IP, host stopped), jupyter" and ipv4["quantity"] == 2
    assert [i["detail"] for i in by_item(lines, "instance")] == ["jupyter (t3.large)"]
    assert sum(i["hourly_usd"] for i in lines) == pytest.approx(0.0832 + 2 * 0.005)  # 0.0932


def test_cents_rounds_half_up():
    assert cost.cents(2.675) == 2.68 and cost.cents(0.0832 * 730) == 60.74 and cost.cents(None) is None
    assert cost.cents(5 * 0.023) == 0.12 and cost.cents(0.0049) == 0.0


# The comparisons.


def test_instance_types_configured_first_then_the_alternatives():
    rows = cost.instance_type_comparison(ENV, PRICES, "jupyter", ["t3.xlarge", "t3.large", "m7i.large", "x9.huge"], 3)
    assert [r["instance_type"] for r in rows] == ["t3.large", "t3.xlarge", "m7i.large", "x9.huge"]
    assert [r["configured"] for r in rows] == [True, False, False, False]
    assert rows[0]["monthly_usd"] == pytest.approx(BASE_MONTHLY)
    assert rows[1]["monthly_usd"] == pytest.approx(BASE_MONTHLY + (0.1664 - 0.0832) * 730)
    assert rows[1]["host_monthly_usd"] == pytest.approx(0.1664 * 730)  # 121.47
    assert rows[2]["period_usd"] == pytest.approx((BASE_MONTHLY + (0.1008 - 0.0832) * 730) * 3)
    assert rows[3]["monthly_usd"] is None and rows[3]["unpriced"]


def test_instance_types_with_a_schedule_price_the_scheduled_hours():
    env = replace(ENV, scheduled_roles=("jupyter",), scheduled_hours=SCHEDULED_HOURS)
    rows = cost.instance_type_comparison(env, PRICES, "jupyter", ["t3.xlarge"], 3)
    assert rows[1]["host_monthly_usd"] == pytest.approx(0.1664 * 60 / 168 * 730)
    assert cost.instance_type_comparison(env, PRICES, "gpu", ["t3.xlarge"], 3) == []


def test_nat_mode_comparison():
    rows = {r["choice"]: r for r in cost.nat_mode_comparison(ENV, PRICES, 3)}
    assert list(rows) == ["always", "during_deploy", "none"]
    assert rows["during_deploy"]["configured"] and not rows["always"]["configured"]
    assert rows["always"]["monthly_usd"] == pytest.approx(BASE_MONTHLY - 0.05 * 4 + 0.05 * 730)
    assert rows["none"]["period_usd"] == pytest.approx((BASE_MONTHLY - 0.05 * 4) * 3)


def test_vpn_provider_comparison_keeps_the_vpn_host_everywhere():
    env = replace(ENV, vpn_members=5, vpn_hours_per_member_month=40)
    rows = {r["choice"]: r for r in cost.vpn_provider_comparison(env, PRICES, 3)}
    assert list(rows) == ["openvpn_as", "openvpn", "client_vpn"]
    assert rows["openvpn_as"]["monthly_usd"] == rows["openvpn"]["monthly_usd"] == pytest.approx(BASE_MONTHLY)
    assert rows["client_vpn"]["monthly_usd"] == pytest.approx(BASE_MONTHLY + 0.10 * 730 + 5 * 40 * 0.05)
    assert "OpenVPN Inc." in rows["openvpn_as"]["note"]
    none = cost.vpn_provider_comparison(replace(env, vpn_provider="none"), PRICES, 3)
    assert [(r["choice"], r["configured"]) for r in none][-1] == ("none", True)


def test_this_configuration_against_the_source_documents_design():
    env = replace(
        ENV,
        vpn_members=5,
        vpn_hours_per_member_month=40,
        scheduled_roles=("jupyter", "filegator"),
        scheduled_hours=SCHEDULED_HOURS,
    )
    this, source = cost.design_comparison(env, PRICES, 3)
    saving = (0.0832 + 0.0104) * (730 - 60 / 168 * 730)
    assert this["choice"] == "this configuration" and this["configured"] and this["stop_schedule"]
    assert this["monthly_usd"] == pytest.approx(BASE_MONTHLY - saving)
    # NAT always (with its address) + Client VPN (1 association, 5 x 40 h) + every host all month.
    design = BASE_MONTHLY - 0.05 * 4 + 0.05 * 730 + 0.10 * 730 + 5 * 40 * 0.05
    assert (source["nat_mode"], source["vpn_provider"], source["stop_schedule"]) == ("always", "client_vpn", False)
    assert source["monthly_usd"] == pytest.approx(design)  # 231.446
    assert source["period_usd"] == pytest.approx(design * 3)


def test_the_schedule_saving():
    env = replace(ENV, scheduled_roles=("jupyter", "filegator"), scheduled_hours=SCHEDULED_HOURS)
    assert cost.schedule_saving(env, PRICES) == pytest.approx((0.0832 + 0.0104) * (730 - 60 / 168 * 730))  # 43.93
    assert cost.schedule_saving(ENV, PRICES) == 0
    assert cost.monthly(cost.without_schedule(env), PRICES) - cost.monthly(env, PRICES) == pytest.approx(
        cost.schedule_saving(env, PRICES)
    )


def test_the_schedule_saves_the_hours_of_public_addresses_that_are_not_elastic_ips():
    # jupyter in a public subnet: its address is released while stopped; filegator's Elastic IP is not.
    hosts = (*HOSTS[:2], replace(HOSTS[2], public_ipv4=True), replace(HOSTS[3], public_ipv4=True, eip=True))
    env = replace(ENV, hosts=hosts, scheduled_roles=("jupyter", "filegator"), scheduled_hours=SCHEDULED_HOURS)
    off = 730 - 60 / 168 * 730  # 469.29 h
    assert cost.schedule_saving(env, PRICES) == pytest.approx((0.0832 + 0.0104 + 0.005) * off)  # 46.27
    assert cost.monthly(cost.without_schedule(env), PRICES) - cost.monthly(env, PRICES) == pytest.approx(
        cost.schedule_saving(env, PRICES)
    )


def test_chart_series_cumulative_per_month():
    env = replace(ENV, scheduled_roles=("jupyter",), scheduled_hours=SCHEDULED_HOURS)
    series, left, right = cost.chart_series(env, PRICES, "jupyter", ["t3.xlarge"], 3)
    assert left == ["jupyter on t3.large (configured)", "jupyter on t3.xlarge"]
    assert right == [
        "this configuration",
        "nat_mode always",
        "nat_mode none",
        "vpn_provider openvpn",
        "vpn_provider client_vpn",
        "source documents' design",
        "no stop schedule",
    ]
    mine = BASE_MONTHLY - 0.0832 * (730 - SCHEDULED_HOURS)
    assert series["this configuration"] == pytest.approx([0, mine, 2 * mine, 3 * mine])
    assert series["jupyter on t3.large (configured)"] == series["this configuration"]
    assert series["no stop schedule"][-1] == pytest.approx(3 * BASE_MONTHLY)
    assert "no stop schedule" not in cost.chart_series(ENV, PRICES, "jupyter", [], 3)[2]


# The module.

ARGS = {
    "environment": "researchenv",
    "region": "us-east-1",
    "months": 3,
    "prices": PRICES,
    "price_source": "test table of 2026-01-15",
    "price_sources": {"instance_hour": "AWS Price List API, 2026-01-15"},
    "hosts": [
        {
            "role": "vpn",
            "instance_type": "t3.small",
            "volume_gb": 20,
            "public_ipv4": True,
            "eip": True,
            "running": True,
        },
        {"role": "voila", "instance_type": "t3.small", "volume_gb": 20, "public_ipv4": False, "running": True},
        {"role": "jupyter", "instance_type": "t3.large", "volume_gb": 50, "public_ipv4": False, "running": True},
        {"role": "filegator", "instance_type": "t3.micro", "volume_gb": 30, "public_ipv4": False, "running": False},
    ],
    "nat_mode": "during_deploy",
    "nat_deploy_hours_per_month": 4,
    "nat_gateways_now": 0,
    "vpn_provider": "openvpn_as",
    "vpn_members": 5,
    "vpn_hours_per_member_month": 40,
    "buckets": {"researchenv-notebooks": 5 * 2**30},
    "efs_bytes": 2 * 2**30,
    "kms_keys": 1,
    "lambda_pipeline": {"enabled": True, "requests_per_month": 10_000, "memory_mb": 512},
    "compare_instance_types": ["t3.xlarge", "m7i.large"],
    "schedule": {
        "stop": "cron(0 20 * * ? *)",
        "start": "",
        "assumed_start": "cron(0 8 ? * MON-FRI *)",
        "roles": ["jupyter", "filegator"],
    },
}
# ARGS by hand: BASE_MONTHLY with jupyter and filegator on 60/168 of the month, + 5 GiB of S3, 2 GiB of EFS (0.60),
# 1 KMS key, Lambda.
SAVING = (0.0832 + 0.0104) * (730 - 60 / 168 * 730)
LAMBDA = 10_000 / 1e6 * 0.20 + 10_000 * 1.0 * 0.5 * 0.0000166667
ARGS_MONTHLY = BASE_MONTHLY - SAVING + 5 * 0.023 + 2 * 0.30 + 1.0 + LAMBDA


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        chunks.append((kind, body))
        at += 12 + length
    return chunks


@pytest.fixture
def args(tmp_path):
    return {**copy.deepcopy(ARGS), "dest": str(tmp_path / "artifacts" / "researchenv")}


def test_the_module_writes_the_report_the_markdown_and_the_chart(args, capsys):
    rc, result = run_main(args, capsys)
    assert rc == 0 and result["changed"] is True, result
    report = result["report"]
    assert report["total"] == {"monthly_usd": cost.cents(ARGS_MONTHLY), "period_usd": cost.cents(ARGS_MONTHLY * 3)}
    assert report["comparisons"]["schedule"] == {
        "stop": "cron(0 20 * * ? *)",
        "start": "cron(0 8 ? * MON-FRI *)",
        "assumed": True,
        "roles": ["jupyter", "filegator"],
        "hours_on_per_month": 260.71,
        "monthly_saving_usd": cost.cents(SAVING),  # 43.93
        "period_saving_usd": cost.cents(SAVING * 3),
    }
    assert report["now"]["hourly_usd"] == cost.cents(0.0208 + 0.0208 + 0.0832 + 0.005)
    assert report["price_sources"] == {"instance_hour": "AWS Price List API, 2026-01-15"}
    assert report["unpriced"] == []
    assert any("assumes people start the hosts" in n for n in report["notes"])
    designs = {r["choice"]: r for r in report["comparisons"]["designs"]}
    source = BASE_MONTHLY - 0.05 * 4 + 0.05 * 730 + 0.10 * 730 + 5 * 40 * 0.05 + 5 * 0.023 + 2 * 0.30 + 1.0 + LAMBDA
    assert designs["source documents' design"]["monthly_usd"] == cost.cents(source)
    assert [r["instance_type"] for r in report["comparisons"]["instance_types"]] == [
        "t3.large",
        "t3.xlarge",
        "m7i.large",
    ]
    s3 = by_item(report["items"], "S3")[0]
    assert (s3["quantity"], s3["monthly_usd"], s3["period_usd"]) == (5, 0.12, 0.35)  # 0.115 -> 0.12, 0.345 -> 0.35
    (efs,) = by_item(report["items"], "EFS")
    assert (efs["quantity"], efs["unit_usd"], efs["monthly_usd"], efs["period_usd"]) == (2, 0.30, 0.60, 1.80)

    assert result["json_path"] == args["dest"] + "/cost.json"
    on_disk = json.loads(Path(result["json_path"]).read_text())
    assert on_disk == report and "generated" not in json.dumps(on_disk)

    md = Path(result["md_path"]).read_text()
    assert "| Item | Detail | Quantity | Unit | USD / unit | Hours / month | USD / month | USD / 3 months |" in md
    assert f"| **total** |  |  |  |  |  | {ARGS_MONTHLY:,.2f} | {cost.cents(ARGS_MONTHLY * 3):,.2f} |" in md
    assert "| source documents' design |" in md and "OpenVPN Inc." in md

    data = Path(result["png_path"]).read_bytes()
    chunks = png_chunks(data)
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height = struct.unpack(">II", chunks[0][1][:8])
    assert (width, height) == (1200, 500)
    texts = dict(body.split(b"\0", 1) for kind, body in chunks if kind == b"tEXt")
    assert b"Software" not in texts and not any(k.lower() in (b"creation time", b"date") for k in texts)
    embedded = json.loads(texts[b"Description"])
    assert embedded["series"] == {name: values[-1] for name, values in result["chart_series"].items()}
    assert embedded["panels"]["left"] == [
        "jupyter on t3.large (configured)",
        "jupyter on t3.xlarge",
        "jupyter on m7i.large",
    ]
    assert embedded["series"]["this configuration"] == cost.cents(ARGS_MONTHLY * 3)
    assert embedded["series"]["jupyter on t3.xlarge"] == cost.cents((ARGS_MONTHLY + 0.0832 * SCHEDULED_HOURS) * 3)
    assert embedded["series"]["no stop schedule"] == cost.cents((ARGS_MONTHLY + SAVING) * 3)


def test_a_rerun_with_the_same_input_changes_nothing(args, capsys):
    _, first = run_main(args, capsys)
    paths = [first["json_path"], first["md_path"], first["png_path"]]
    before = [Path(p).read_bytes() for p in paths]
    rc, second = run_main(args, capsys)
    assert rc == 0 and second["changed"] is False and second["files_changed"] == []
    assert [Path(p).read_bytes() for p in paths] == before
    args["kms_keys"] = 2
    _, third = run_main(args, capsys)
    assert third["changed"] is True and len(third["files_changed"]) == 3


def test_check_mode_writes_nothing(args, capsys, tmp_path):
    rc, result = run_main({**args, "_ansible_check_mode": True}, capsys)
    assert rc == 0 and result["changed"] is True and result["report"]["total"]["monthly_usd"]
    assert not (tmp_path / "artifacts").exists()
    run_main(args, capsys)
    _, again = run_main({**args, "_ansible_check_mode": True}, capsys)
    assert again["changed"] is False


def test_no_schedule_and_the_source_design_as_configured(args, capsys):
    args.update(nat_mode="always", vpn_provider="client_vpn", schedule={"stop": "", "roles": ["jupyter"]})
    _, result = run_main(args, capsys)
    report = result["report"]
    assert report["comparisons"]["schedule"]["hours_on_per_month"] == 730
    assert report["comparisons"]["schedule"]["monthly_saving_usd"] == 0
    this, source = report["comparisons"]["designs"]
    assert this["monthly_usd"] == source["monthly_usd"]
    assert "no stop schedule" not in result["chart_series"]
    connections = by_item(report["items"], "Client VPN connections")[0]
    assert connections["monthly_usd"] == cost.cents(5 * 40 * 0.05)


def test_an_unpriced_instance_type_is_reported(args, capsys):
    args["compare_instance_types"] = ["x9.huge"]
    args["prices"] = {**PRICES, "instance_hour": {**PRICES["instance_hour"]}}
    del args["prices"]["instance_hour"]["t3.micro"]
    _, result = run_main(args, capsys)
    report = result["report"]
    assert report["unpriced"] == ["instance: filegator (t3.micro), stop schedule (no price instance_hour.t3.micro)"]
    filegator = next(i for i in report["items"] if i["detail"].startswith("filegator"))
    assert filegator["monthly_usd"] is None and filegator["unit_usd"] is None
    assert report["comparisons"]["instance_types"][1]["monthly_usd"] is None
    assert "jupyter on x9.huge" not in result["chart_series"]
    assert "filegator (t3.micro), stop schedule" in Path(result["md_path"]).read_text()


def test_without_the_compared_role_the_chart_has_one_panel(args, capsys):
    args["hosts"] = [h for h in args["hosts"] if h["role"] != "jupyter"]
    _, result = run_main(args, capsys)
    assert result["report"]["comparisons"]["instance_types"] == []
    assert any("No jupyter host" in n for n in result["report"]["notes"])
    embedded = dict(b.split(b"\0", 1) for k, b in png_chunks(Path(result["png_path"]).read_bytes()) if k == b"tEXt")
    assert json.loads(embedded[b"Description"])["panels"]["left"] == []


def test_hosts_exists_and_eip_in_the_module(args, capsys):
    # filegator stopped but existing, with an Elastic IP; voila in a public subnet, running; jupyter in a public
    # subnet on the schedule (60 h of the week's 168).
    by_role = {h["role"]: h for h in args["hosts"]}
    by_role["filegator"].update(public_ipv4=True, eip=True, exists=True)
    by_role["voila"].update(public_ipv4=True)
    by_role["jupyter"].update(public_ipv4=True)
    _, result = run_main(args, capsys)
    report = result["report"]
    (now,) = by_item(report["now"]["items"], "public IPv4")
    assert now["detail"] == "vpn, voila, jupyter, filegator (Elastic IP, host stopped)" and now["quantity"] == 4
    assert report["now"]["hourly_usd"] == cost.cents(0.0208 + 0.0208 + 0.0832 + 4 * 0.005)  # 0.14
    elastic, voila, jupyter = by_item(report["items"], "public IPv4")
    assert (elastic["quantity"], elastic["hours_per_month"], elastic["monthly_usd"]) == (2, 730, 7.30)
    assert (voila["quantity"], voila["hours_per_month"], voila["monthly_usd"]) == (1, 730, 3.65)
    assert (jupyter["hours_per_month"], jupyter["monthly_usd"]) == (260.71, 1.30)  # 260.714 x 0.005
    saving = SAVING + 0.005 * (730 - 60 / 168 * 730)
    assert report["comparisons"]["schedule"]["monthly_saving_usd"] == cost.cents(saving)  # 46.27
    assert report["total"]["monthly_usd"] == cost.cents(
        ARGS_MONTHLY + 0.005 * 730 + 0.005 * 730 + 0.005 * 60 / 168 * 730
    )


def test_the_notes_say_what_is_billed_and_what_is_not_counted(args, capsys):
    _, result = run_main(args, capsys)
    notes = result["report"]["notes"]
    assert "taken to be an Elastic IP" not in " ".join(notes)
    assert not any("cost nothing" in n and "EventBridge" in n for n in notes)
    assert any("a few cents a month (SSM Automation steps; EventBridge scheduled rules are free)" in n for n in notes)
    assert any("unlimited mode" in n and "USD 0.05 a vCPU-hour for Linux" in n for n in notes)
    assert any(n.startswith("An Elastic IP is billed every hour, its host running or stopped;") for n in notes)
    assert any("the Elastic IPs of existing hosts (running or stopped)" in n for n in notes)
    assert any("OpenVPN Access Server" in n for n in notes) and any("A month is 730 hours" in n for n in notes)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"prices": {"ebs_gp3_gb_month": "cheap"}}, "prices: ebs_gp3_gb_month: 'cheap' is not a price"),
        ({"efs_bytes": -1}, "efs_bytes: -1 is negative"),
        (
            {"hosts": [{"role": "vpn", "instance_type": "t3.small", "eip": True}]},
            "hosts: vpn: eip is true but public_ipv4 is false",
        ),
        (
            {"hosts": [{"role": "vpn", "instance_type": "t3.small", "running": True, "exists": False}]},
            "hosts: vpn: running is true but exists is false",
        ),
        ({"months": 0}, "months: 0 is not 1 or more"),
        ({"buckets": {"b": -1}}, "buckets: b: -1 is not a size in bytes"),
        ({"schedule": {"stop": "cron(0 25 * * ? *)"}}, "schedule:"),
    ],
)
def test_bad_inputs_fail_with_the_option_named(args, capsys, change, message):
    rc, result = run_main({**args, **change}, capsys)
    assert rc == 1 and message in result["msg"]


def test_without_matplotlib_it_says_how_to_install_it(args, capsys, monkeypatch):
    monkeypatch.setattr(m, "HAS_MATPLOTLIB", False)
    rc, result = run_main(args, capsys)
    assert rc == 1 and "make setup" in result["msg"] and "requirements.txt" in result["msg"]


def test_documentation_renders():
    doc = ansible_doc("cost_report")
    assert set(doc["doc"]["options"]) == {
        "dest",
        "environment",
        "region",
        "months",
        "prices",
        "price_source",
        "price_sources",
        "hosts",
        "nat_mode",
        "nat_deploy_hours_per_month",
        "nat_gateways_now",
        "vpn_provider",
        "vpn_members",
        "vpn_hours_per_member_month",
        "client_vpn_associations",
        "client_vpn_associations_now",
        "buckets",
        "efs_bytes",
        "kms_keys",
        "lambda_pipeline",
        "compare_instance_types",
        "compare_role",
        "schedule",
    }
    hosts = doc["doc"]["options"]["hosts"]["suboptions"]
    assert set(hosts) == {"role", "instance_type", "volume_gb", "public_ipv4", "eip", "running", "exists"}
    assert hosts["eip"]["default"] is False and "default" not in hosts["exists"]
    assert all(isinstance(line, str) for o in hosts.values() for line in o["description"])
    assert doc["doc"]["options"]["efs_bytes"]["default"] == 0
    assert {"report", "chart_series", "json_path", "md_path", "png_path", "files_changed"} <= set(doc["return"])
