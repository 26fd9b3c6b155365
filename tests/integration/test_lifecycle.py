"""The network layer against the emulator: created as seed 000 describes, rerun without change,
the NAT gateway's deploy window, and teardown from full, partial and side-by-side states."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from awsstate import network_resources, sg_rules, tags
from emulator import Emulator
from helpers import run_playbook

pytestmark = pytest.mark.integration

ADMIN = "198.51.100.7/32"
ANY = "0.0.0.0/0"

# Seed 000's three tables, with this project's deliberate differences (see playbooks/vars/network.yml):
# SSH to the dmz from admin_cidrs only; 8080 for FileGator (DESIGN.md); port 80 out of research only
# while the NAT gateway exists. The seed's unnamed "Custom TCP from sg-00b79..." row is left out.
SEED_RULES = {
    "dmz": {
        ("in", "tcp", 22, 22, ADMIN),
        ("in", "tcp", 443, 443, ANY),
        ("in", "tcp", 943, 943, ANY),
        ("in", "udp", 1194, 1194, ANY),
        ("out", "-1", "all", "all", ANY),
    },
    "research": {
        ("in", "tcp", 8888, 8888, "sg:dmz"),
        ("in", "tcp", 22, 22, "sg:dmz"),
        ("in", "tcp", 8080, 8080, "sg:dmz"),
        ("out", "tcp", 8888, 8888, "sg:dmz"),
        ("out", "tcp", 22, 22, "sg:dmz"),
        ("out", "tcp", 443, 443, ANY),
    },
    "production": {
        ("in", "tcp", 22, 22, "sg:dmz"),
        ("in", "tcp", 80, 80, ANY),
        ("in", "tcp", 443, 443, ANY),
        ("out", "-1", "all", "all", ANY),
    },
}
HTTP_OUT = ("out", "tcp", 80, 80, ANY)


def env_vars(ssh_key: Path, **overrides: object) -> dict:
    base = {"ssh_public_key_file": str(ssh_key), "admin_cidrs": [ADMIN]}
    return base | overrides


def vpc_of(ec2, env_name: str) -> dict:
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Environment", "Values": [env_name]}])["Vpcs"]
    assert len(vpcs) == 1, f"expected one VPC of {env_name}, found {len(vpcs)}"
    return vpcs[0]


def by_tier(items: list[dict]) -> dict[str, dict]:
    return {tags(i)["Tier"]: i for i in items if "Tier" in tags(i)}


def research_routes(ec2, vpc_id: str) -> list[dict]:
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    return by_tier(tables)["research"]["Routes"]


def security_groups(ec2, vpc_id: str) -> dict[str, dict]:
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    return {tags(g).get("Tier", g["GroupName"]): g for g in groups}


@pytest.fixture(scope="module")
def built(emulator_env, ssh_key):
    """One environment built with `site.yml --tags infra`, shared by the read-back tests below."""
    Emulator.reset_url(emulator_env["AWS_ENDPOINT_URL"])
    run = run_playbook("site.yml", "--tags", "infra", extra_vars=env_vars(ssh_key), env=emulator_env)
    assert run.rc == 0, run.explain()
    return run


class TestLifecycle:
    """One environment through its life, in order: build, read back, rerun, drift, NAT window,
    a second environment beside it, teardown, teardown again."""

    def test_vpc_and_subnets(self, built, ec2):
        vpc = vpc_of(ec2, "researchenv")
        assert vpc["CidrBlock"] == "10.0.0.0/16"
        assert tags(vpc) == {
            "Name": "researchenv-vpc",
            "Project": "research-env",
            "Environment": "researchenv",
            "ManagedBy": "research-env",
        }
        for attribute in ("enableDnsSupport", "enableDnsHostnames"):
            answer = ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute=attribute)
            assert answer[attribute[0].upper() + attribute[1:]]["Value"] is True
        subnets = by_tier(ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"])
        assert {t: s["CidrBlock"] for t, s in subnets.items()} == {
            "dmz": "10.0.1.0/24",
            "production": "10.0.2.0/24",
            "research": "10.0.3.0/24",
        }
        assert {t: s["MapPublicIpOnLaunch"] for t, s in subnets.items()} == {
            "dmz": True,
            "production": True,
            "research": False,
        }
        assert {tags(s)["Name"] for s in subnets.values()} == {
            "researchenv-dmz",
            "researchenv-production",
            "researchenv-research",
        }

    def test_routes(self, built, ec2):
        vpc_id = vpc_of(ec2, "researchenv")["VpcId"]
        igws = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])
        (igw,) = igws["InternetGateways"]
        assert tags(igw)["Name"] == "researchenv-igw"
        subnets = by_tier(ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"])
        tables = by_tier(ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"])
        assert set(tables) == {"dmz", "production", "research"}
        (nat,) = ec2.describe_nat_gateways(Filter=[{"Name": "vpc-id", "Values": [vpc_id]}])["NatGateways"]
        assert nat["State"] == "available"
        assert nat["SubnetId"] == subnets["dmz"]["SubnetId"]
        for tier, table in tables.items():
            assert [a["SubnetId"] for a in table["Associations"] if not a.get("Main")] == [subnets[tier]["SubnetId"]]
            default_routes = [r for r in table["Routes"] if r.get("DestinationCidrBlock") == ANY]
            assert len(default_routes) == 1, f"{tier} should have one default route"
            if tier == "research":
                assert default_routes[0].get("NatGatewayId") == nat["NatGatewayId"]
                assert "GatewayId" not in default_routes[0] or not default_routes[0]["GatewayId"].startswith("igw-")
            else:
                assert default_routes[0]["GatewayId"] == igw["InternetGatewayId"]

    def test_nat_address_is_tagged(self, built, ec2):
        vpc_id = vpc_of(ec2, "researchenv")["VpcId"]
        (nat,) = ec2.describe_nat_gateways(Filter=[{"Name": "vpc-id", "Values": [vpc_id]}])["NatGateways"]
        allocation = nat["NatGatewayAddresses"][0]["AllocationId"]
        (address,) = ec2.describe_addresses(AllocationIds=[allocation])["Addresses"]
        assert tags(address)["Name"] == "researchenv-nat-eip"
        assert tags(address)["Environment"] == "researchenv"

    def test_s3_gateway_endpoint_on_research_only(self, built, ec2):
        vpc_id = vpc_of(ec2, "researchenv")["VpcId"]
        (endpoint,) = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
        assert endpoint["ServiceName"] == "com.amazonaws.us-east-1.s3"
        assert endpoint["VpcEndpointType"] == "Gateway"
        tables = by_tier(ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"])
        assert endpoint["RouteTableIds"] == [tables["research"]["RouteTableId"]]
        assert any(r.get("GatewayId") == endpoint["VpcEndpointId"] for r in tables["research"]["Routes"])

    def test_default_security_group_has_no_rules(self, built, ec2):
        groups = security_groups(ec2, vpc_of(ec2, "researchenv")["VpcId"])
        default = next(g for g in groups.values() if g["GroupName"] == "default")
        assert default["IpPermissions"] == []
        assert default["IpPermissionsEgress"] == []

    def test_security_groups_match_seed_tables(self, built, ec2):
        groups = security_groups(ec2, vpc_of(ec2, "researchenv")["VpcId"])
        tier_of = {g["GroupId"]: tier for tier, g in groups.items()}
        for tier, expected in SEED_RULES.items():
            want = expected | ({HTTP_OUT} if tier == "research" else set())  # NAT window open after --tags infra
            assert sg_rules(ec2, groups[tier]["GroupId"], tier_of) == want, tier
            assert tags(groups[tier])["Name"] == f"researchenv-{tier}-sg"

    def test_every_resource_is_tagged(self, built, ec2):
        found = network_resources(ec2, "researchenv")
        assert {k: len(v) for k, v in found.items()} == {
            "vpc": 1,
            "subnet": 3,
            "internet_gateway": 1,
            "route_table": 3,
            "security_group": 4,  # three tiers + the emptied default group
            "vpc_endpoint": 1,
            "nat_gateway": 1,
            "elastic_ip": 1,
        }

    def test_rerun_changes_nothing(self, built, emulator_env, ssh_key):
        run = run_playbook("site.yml", "--tags", "infra", extra_vars=env_vars(ssh_key), env=emulator_env)
        assert run.rc == 0, run.explain()
        assert run.changed() == 0, run.explain()

    def test_drift_is_corrected(self, built, ec2, emulator_env, ssh_key):
        groups = security_groups(ec2, vpc_of(ec2, "researchenv")["VpcId"])
        ec2.authorize_security_group_ingress(
            GroupId=groups["research"]["GroupId"],
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 8888, "ToPort": 8888, "IpRanges": [{"CidrIp": ANY}]}],
        )
        run = run_playbook("site.yml", "--tags", "network", extra_vars=env_vars(ssh_key), env=emulator_env)
        assert run.rc == 0, run.explain()
        tier_of = {g["GroupId"]: tier for tier, g in groups.items()}
        assert ("in", "tcp", 8888, 8888, ANY) not in sg_rules(ec2, groups["research"]["GroupId"], tier_of)

    def test_end_of_site_releases_the_nat_gateway(self, built, ec2, emulator_env, ssh_key):
        run = run_playbook("site.yml", extra_vars=env_vars(ssh_key), env=emulator_env)
        assert run.rc == 0, run.explain()
        vpc_id = vpc_of(ec2, "researchenv")["VpcId"]
        found = network_resources(ec2, "researchenv")
        assert "nat_gateway" not in found and "elastic_ip" not in found
        routes = research_routes(ec2, vpc_id)
        assert not [r for r in routes if r.get("DestinationCidrBlock") == ANY], "research keeps no default route"
        assert [r for r in routes if r.get("GatewayId", "").startswith("vpce-")], "the S3 endpoint route stays"
        groups = security_groups(ec2, vpc_id)
        tier_of = {g["GroupId"]: tier for tier, g in groups.items()}
        assert sg_rules(ec2, groups["research"]["GroupId"], tier_of) == SEED_RULES["research"]

    def test_nat_mode_always_keeps_it_and_none_removes_it(self, built, ec2, emulator_env, ssh_key):
        run = run_playbook("site.yml", extra_vars=env_vars(ssh_key, nat_mode="always"), env=emulator_env)
        assert run.rc == 0, run.explain()
        assert len(network_resources(ec2, "researchenv")["nat_gateway"]) == 1, "always keeps the NAT gateway"

        run = run_playbook(
            "site.yml", "--tags", "infra", extra_vars=env_vars(ssh_key, nat_mode="none"), env=emulator_env
        )
        assert run.rc == 0, run.explain()
        found = network_resources(ec2, "researchenv")
        assert "nat_gateway" not in found and "elastic_ip" not in found
        vpc_id = vpc_of(ec2, "researchenv")["VpcId"]
        assert not [r for r in research_routes(ec2, vpc_id) if r.get("DestinationCidrBlock") == ANY]

    def test_second_environment_side_by_side(self, built, ec2, emulator_env, ssh_key, tmp_path):
        """Build and tear down another environment next to this one: this one stays untouched."""
        before = network_resources(ec2, "researchenv")
        run = run_playbook(
            "site.yml", "--tags", "infra", extra_vars=env_vars(ssh_key, env_name="beta"), env=emulator_env
        )
        assert run.rc == 0, run.explain()
        assert network_resources(ec2, "beta")
        run = run_playbook(
            "playbooks/teardown.yml", extra_vars={"env_name": "beta", "records_dir": str(tmp_path)}, env=emulator_env
        )
        assert run.rc == 0, run.explain()
        assert network_resources(ec2, "beta") == {}
        assert network_resources(ec2, "researchenv") == before

    def test_teardown_leaves_nothing_and_records_it(self, built, ec2, emulator_env, tmp_path):
        before = network_resources(ec2, "researchenv")
        default_group = security_groups(ec2, vpc_of(ec2, "researchenv")["VpcId"])["default"]["GroupId"]

        # No -e env_name: the playbook run directly must find the defaults in group_vars itself.
        run = run_playbook("playbooks/teardown.yml", extra_vars={"records_dir": str(tmp_path)}, env=emulator_env)
        assert run.rc == 0, run.explain()
        assert network_resources(ec2, "researchenv") == {}
        record = only_record(tmp_path, "researchenv")
        assert record["outcome"] == "complete"
        deleted = {(r["type"], r["id"]) for r in record["resources"] if r["result"] == "deleted"}
        # Everything found before, except the default group, which AWS deletes with its VPC.
        assert deleted == {(kind, rid) for kind, ids in before.items() for rid in ids} - {
            ("security_group", default_group)
        }
        types = [r["type"] for r in record["resources"]]
        assert types.index("security_group") < types.index("subnet") < types.index("vpc")
        assert all(r["start"] <= r["end"] for r in record["resources"])
        assert record["who"]["caller_arn"].startswith("arn:aws:")
        assert (tmp_path / next(tmp_path.glob("researchenv-*.json")).name.replace(".json", ".md")).is_file()

    def test_teardown_again_finds_nothing_and_says_so(self, built, emulator_env, tmp_path):
        run = run_playbook("playbooks/teardown.yml", extra_vars={"records_dir": str(tmp_path)}, env=emulator_env)
        assert run.rc == 0, run.explain()
        assert "Nothing of environment researchenv is left to delete" in run.output
        assert only_record(tmp_path, "researchenv")["outcome"] == "nothing to delete"


def only_record(directory: Path, env_name: str) -> dict:
    found = list(directory.glob(f"{env_name}-*.json"))
    assert len(found) == 1, f"expected one record of {env_name} in {directory}: {found}"
    return json.loads(found[0].read_text())


def test_teardown_of_a_half_built_network(aws_env, ec2, ssh_key, tmp_path):
    # The research subnet lies outside the VPC: AWS refuses it after dmz and production exist.
    # network.yml run directly skips preflight, which would have caught this.
    subnets = {
        "dmz": {"cidr": "10.0.1.0/24", "public": True},
        "production": {"cidr": "10.0.2.0/24", "public": True},
        "research": {"cidr": "10.9.3.0/24", "public": False},
    }
    run = run_playbook("playbooks/network.yml", extra_vars=env_vars(ssh_key, subnets=subnets), env=aws_env)
    assert run.rc != 0, "the broken subnet should stop the run"
    found = network_resources(ec2, "researchenv")
    assert len(found["subnet"]) == 2 and "route_table" not in found, f"expected a half-built network: {found}"

    run = run_playbook("playbooks/teardown.yml", extra_vars={"records_dir": str(tmp_path)}, env=aws_env)
    assert run.rc == 0, run.explain()
    assert network_resources(ec2, "researchenv") == {}
    record = only_record(tmp_path, "researchenv")
    assert sorted(r["type"] for r in record["resources"]) == ["subnet", "subnet", "vpc"]
