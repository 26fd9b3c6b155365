"""One environment through its whole life against the emulator, in order: `site.yml --tags infra`
builds it and every resource is read back with boto3; the inventory sees the hosts; a rerun
changes nothing; drift is corrected; the NAT window follows nat_mode; a second environment comes
and goes beside it; teardown removes everything and records it; teardown again finds nothing."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from awsstate import all_resources, network_resources, sg_rules, tags
from emulator import Emulator
from envbuild import (
    ANY,
    BUCKET,
    NAT_OUT,
    SEED_RULES,
    assert_bucket_as_built,
    by_tier,
    env_vars,
    only_record,
    research_routes,
    security_groups,
    vpc_of,
)
from helpers import REPO, ansible_env, run_playbook

pytestmark = pytest.mark.integration

ROLES = ("vpn", "voila", "jupyter", "filegator")
NEWEST_NOBLE_AMD64 = "ami-0c1a9e0c24a0b1e02"  # scripts/emulator-amis.json: the newest x86_64 noble image
# ... and its newest arm64 one, newer than any x86_64 image: a host that got it by mistake would show.
NEWEST_NOBLE_ARM64 = "ami-0c1a9e0c24a0a6401"


@pytest.fixture(scope="module")
def built(emulator_env, ssh_key):
    """The default environment built with `site.yml --tags infra`, shared by the tests below."""
    Emulator.reset_url(emulator_env["AWS_ENDPOINT_URL"])
    run = run_playbook("site.yml", "--tags", "infra", extra_vars=env_vars(ssh_key), env=emulator_env)
    assert run.rc == 0, run.explain()
    return run


@pytest.fixture(scope="module")
def key_arn(built, aws):
    return aws["kms"].describe_key(KeyId="alias/research-env/researchenv")["KeyMetadata"]["Arn"]


def kept_secrets(aws, prefix: str) -> dict[str, str]:
    """The generated secrets under an SSM path, name -> value, after checking each is a SecureString
    under the environment's key."""
    ssm, kms = aws["ssm"], aws["kms"]
    params = [p for p in ssm.describe_parameters()["Parameters"] if p["Name"].startswith(prefix)]
    key_id = kms.describe_key(KeyId="alias/research-env/researchenv")["KeyMetadata"]["KeyId"]
    for param in params:
        # DescribeParameters names the key as it was given (here its alias): it must be the environment's.
        assert param["Type"] == "SecureString", param
        assert kms.describe_key(KeyId=param["KeyId"])["KeyMetadata"]["KeyId"] == key_id, param
    return {p["Name"]: ssm.get_parameter(Name=p["Name"], WithDecryption=True)["Parameter"]["Value"] for p in params}


def instances_by_role(ec2) -> dict[str, dict]:
    flt = [
        {"Name": "tag:Environment", "Values": ["researchenv"]},
        {"Name": "instance-state-name", "Values": ["running"]},
    ]
    found = [i for r in ec2.describe_instances(Filters=flt)["Reservations"] for i in r["Instances"]]
    return {tags(i)["Role"]: i for i in found}


def tasks_run(run) -> set[str]:
    """The names of the tasks a playbook run showed (those its tags and conditions let start)."""
    return set(re.findall(r"^TASK \[(.*)\]", run.output, re.M))


def assert_nat_window_closed(ec2) -> None:
    """No NAT gateway and its address released, no default route from the research subnet (the S3
    endpoint's route kept), the research group with exactly the seed's rules (no 80/tcp or 443/tcp to anywhere)."""
    vpc_id = vpc_of(ec2, "researchenv")["VpcId"]
    found = network_resources(ec2, "researchenv")
    assert "nat_gateway" not in found
    assert len(found["elastic_ip"]) == 1, "only the vpn host's address is left"
    routes = research_routes(ec2, vpc_id)
    assert not [r for r in routes if r.get("DestinationCidrBlock") == ANY], "research keeps no default route"
    assert [r for r in routes if r.get("GatewayId", "").startswith("vpce-")], "the S3 endpoint route stays"
    groups = security_groups(ec2, vpc_id)
    tier_of = {g["GroupId"]: tier for tier, g in groups.items()}
    assert sg_rules(ec2, groups["research"]["GroupId"], tier_of) == SEED_RULES["research"]


class TestNetwork:
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

    def test_s3_endpoint_lets_through_only_the_environments_buckets(self, built, ec2):
        """Only the environment's bucket (when this account owns it), and AL2023's package repositories
        read-only: a copy to any other bucket is refused at the endpoint."""
        (endpoint,) = ec2.describe_vpc_endpoints(Filters=[{"Name": "tag:Environment", "Values": ["researchenv"]}])[
            "VpcEndpoints"
        ]
        statements = {st["Sid"]: st for st in json.loads(endpoint["PolicyDocument"])["Statement"]}
        assert set(statements) == {"EnvironmentBuckets", "AmazonLinuxRepositories"}
        bucket = BUCKET.format(env="researchenv")
        ours = statements["EnvironmentBuckets"]
        assert (ours["Effect"], ours["Principal"], ours["Action"]) == ("Allow", "*", "s3:*")
        assert set(ours["Resource"]) == {f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"}
        assert ours["Condition"] == {"StringEquals": {"aws:ResourceAccount": "123456789012"}}
        repos = statements["AmazonLinuxRepositories"]
        assert (repos["Action"], repos["Resource"]) == (
            "s3:GetObject",
            "arn:aws:s3:::al2023-repos-us-east-1-de612dc2/*",
        )

    def test_endpoint_policy_corrected_in_place(self, built, ec2, emulator_env, ssh_key):
        """An endpoint with another policy (here AWS's default, full access) gets the environment's in place:
        same endpoint id (the buckets' policies name it), the read-only buckets the admin lists added."""
        flt = [{"Name": "tag:Environment", "Values": ["researchenv"]}]
        (before,) = ec2.describe_vpc_endpoints(Filters=flt)["VpcEndpoints"]
        ec2.modify_vpc_endpoint(VpcEndpointId=before["VpcEndpointId"], ResetPolicy=True)
        extra = env_vars(ssh_key, s3_endpoint_read_buckets=["noaa-ghcn-pds"])
        run = run_playbook("site.yml", "--tags", "network", extra_vars=extra, env=emulator_env)
        assert run.rc == 0, run.explain()
        (after,) = ec2.describe_vpc_endpoints(Filters=flt)["VpcEndpoints"]
        assert after["VpcEndpointId"] == before["VpcEndpointId"]
        statements = {st["Sid"]: st for st in json.loads(after["PolicyDocument"])["Statement"]}
        assert set(statements["ReadOnlyBuckets"]["Resource"]) == {
            "arn:aws:s3:::noaa-ghcn-pds",
            "arn:aws:s3:::noaa-ghcn-pds/*",
        }
        assert "s3:PutObject" not in statements["ReadOnlyBuckets"]["Action"]
        run = run_playbook("site.yml", "--tags", "network", extra_vars=env_vars(ssh_key), env=emulator_env)
        assert run.rc == 0, run.explain()
        assert run.changed() == 1, run.explain()  # the policy, back to the environment's buckets only
        (again,) = ec2.describe_vpc_endpoints(Filters=flt)["VpcEndpoints"]
        assert json.loads(again["PolicyDocument"]) == json.loads(before["PolicyDocument"])

    def test_default_security_group_has_no_rules(self, built, ec2):
        groups = security_groups(ec2, vpc_of(ec2, "researchenv")["VpcId"])
        assert groups["default"]["IpPermissions"] == []
        assert groups["default"]["IpPermissionsEgress"] == []

    def test_security_groups_match_seed_tables(self, built, ec2):
        groups = security_groups(ec2, vpc_of(ec2, "researchenv")["VpcId"])
        tier_of = {g["GroupId"]: tier for tier, g in groups.items()}
        for tier, expected in SEED_RULES.items():
            want = expected | (NAT_OUT if tier == "research" else set())  # NAT window open after --tags infra
            assert sg_rules(ec2, groups[tier]["GroupId"], tier_of) == want, tier
            assert tags(groups[tier])["Name"] == f"researchenv-{tier}-sg"


class TestStorage:
    def test_kms_key(self, built, aws, key_arn):
        kms = aws["kms"]
        assert kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"] is True
        key_tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key_arn)["Tags"]}
        assert key_tags["Environment"] == "researchenv" and key_tags["ManagedBy"] == "research-env"

    def test_bucket(self, built, aws, key_arn):
        assert_bucket_as_built(aws, BUCKET.format(env="researchenv"), key_arn)

    def test_no_efs_unless_enabled(self, built, aws):
        assert "efs" not in all_resources(aws, "researchenv")


class TestIam:
    def policy(self, iam, role: str) -> dict:
        return iam.get_role_policy(RoleName=f"researchenv-{role}", PolicyName="notebooks-bucket")["PolicyDocument"]

    def test_a_role_and_profile_per_host_role(self, built, aws):
        iam = aws["iam"]
        for role in ROLES:
            found = iam.get_role(RoleName=f"researchenv-{role}")["Role"]
            assert found["Path"] == "/research-env/researchenv/"
            principal = found["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
            assert principal == {"Service": "ec2.amazonaws.com"}
            profile = iam.get_instance_profile(InstanceProfileName=f"researchenv-{role}")["InstanceProfile"]
            assert [r["RoleName"] for r in profile["Roles"]] == [f"researchenv-{role}"]
            assert iam.list_attached_role_policies(RoleName=f"researchenv-{role}")["AttachedPolicies"] == []

    def test_jupyter_reads_and_writes_notebooks_and_published_only(self, built, aws, key_arn):
        bucket = "arn:aws:s3:::" + BUCKET.format(env="researchenv")
        statements = {s["Sid"]: s for s in self.policy(aws["iam"], "jupyter")["Statement"]}
        assert statements["ListTheSyncedPrefixes"]["Action"] == "s3:ListBucket"
        assert statements["ListTheSyncedPrefixes"]["Condition"] == {
            "StringLike": {"s3:prefix": ["notebooks/*", "published/*"]}
        }
        assert statements["ReadWriteNotebooks"]["Action"] == ["s3:GetObject", "s3:PutObject"]  # no DeleteObject
        assert statements["ReadWriteNotebooks"]["Resource"] == [f"{bucket}/notebooks/*", f"{bucket}/published/*"]
        assert statements["UseTheKeyThroughS3"]["Resource"] == key_arn
        assert statements["UseTheKeyThroughS3"]["Condition"] == {
            "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
        }
        assert set(statements) == {"ListTheSyncedPrefixes", "ReadWriteNotebooks", "UseTheKeyThroughS3"}

    def test_voila_only_reads_published(self, built, aws, key_arn):
        bucket = "arn:aws:s3:::" + BUCKET.format(env="researchenv")
        statements = {s["Sid"]: s for s in self.policy(aws["iam"], "voila")["Statement"]}
        assert statements["ListPublished"]["Condition"] == {"StringLike": {"s3:prefix": ["published/*"]}}
        assert statements["ReadPublished"]["Action"] == "s3:GetObject"
        assert statements["ReadPublished"]["Resource"] == f"{bucket}/published/*"
        assert statements["DecryptThroughS3"]["Action"] == "kms:Decrypt"
        assert statements["DecryptThroughS3"]["Resource"] == key_arn
        assert set(statements) == {"ListPublished", "ReadPublished", "DecryptThroughS3"}

    def test_vpn_and_filegator_get_no_access(self, built, aws):
        for role in ("vpn", "filegator"):
            assert aws["iam"].list_role_policies(RoleName=f"researchenv-{role}")["PolicyNames"] == []

    def test_no_access_keys_anywhere(self, built, aws):
        iam = aws["iam"]
        users = iam.list_users()["Users"]
        assert all(iam.list_access_keys(UserName=u["UserName"])["AccessKeyMetadata"] == [] for u in users)


class TestCompute:
    def test_one_instance_per_host_role(self, built, ec2, aws, key_arn):
        found = instances_by_role(ec2)
        assert set(found) == set(ROLES)
        vpc_id = vpc_of(ec2, "researchenv")["VpcId"]
        subnets = by_tier(ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"])
        groups = security_groups(ec2, vpc_id)
        expect = {"vpn": "dmz", "voila": "production", "jupyter": "research", "filegator": "research"}
        types = {"vpn": "t3.small", "voila": "t3.small", "jupyter": "t3.large", "filegator": "t3.micro"}
        sizes = {"vpn": 20, "voila": 20, "jupyter": 50, "filegator": 30}
        for role, inst in found.items():
            assert inst["InstanceType"] == types[role]
            assert inst["ImageId"] == NEWEST_NOBLE_AMD64
            assert inst["KeyName"] == "researchenv-key"
            assert inst["SubnetId"] == subnets[expect[role]]["SubnetId"]
            assert [g["GroupId"] for g in inst["SecurityGroups"]] == [groups[expect[role]]["GroupId"]]
            assert inst["IamInstanceProfile"]["Arn"].endswith(
                f":instance-profile/research-env/researchenv/researchenv-{role}"
            )
            assert inst["MetadataOptions"]["HttpTokens"] == "required"
            assert tags(inst) == {
                "Name": f"researchenv-{role}",
                "Role": role,
                "Environment": "researchenv",
                "Project": "research-env",
                "ManagedBy": "research-env",
            }
            root = next(m for m in inst["BlockDeviceMappings"] if m["DeviceName"] == inst["RootDeviceName"])
            (volume,) = ec2.describe_volumes(VolumeIds=[root["Ebs"]["VolumeId"]])["Volumes"]
            assert volume["Encrypted"] is True
            assert volume["KmsKeyId"] == key_arn
            assert volume["Size"] == sizes[role]

    def test_elastic_ip_on_the_vpn_host_only(self, built, ec2):
        found = instances_by_role(ec2)
        flt = [{"Name": "tag:Environment", "Values": ["researchenv"]}]
        associated = {
            a.get("InstanceId") for a in ec2.describe_addresses(Filters=flt)["Addresses"] if a.get("InstanceId")
        }
        assert associated == {found["vpn"]["InstanceId"]}

    def test_key_pair_is_the_configured_public_key(self, built, ec2, ssh_key):
        (pair,) = ec2.describe_key_pairs(KeyNames=["researchenv-key"], IncludePublicKey=True)["KeyPairs"]
        assert pair["PublicKey"].split()[:2] == ssh_key.read_text().split()[:2]


class TestInventory:
    def test_graph_has_the_four_groups(self, built, emulator_env):
        graph = subprocess.run(
            [str(Path(sys.executable).parent / "ansible-inventory"), "--graph"],
            cwd=REPO,
            env=ansible_env(emulator_env),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for role in ROLES:
            assert f"@{role}:\n  |  |--researchenv-{role}\n" in graph, graph

    def test_connection_settings(self, built, ec2, emulator_env, ssh_key):
        public_vpn = instances_by_role(ec2)["vpn"]["PublicIpAddress"]
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "ansible"),
                "aws_ec2",
                "-m",
                "ansible.builtin.debug",
                "-a",
                "msg={{ [ansible_host, ansible_ssh_common_args] | to_json }}",
                "-e",
                f"ssh_public_key_file={ssh_key}",
            ],
            cwd=REPO,
            env=ansible_env(
                emulator_env | {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"}
            ),
            capture_output=True,
            text=True,
            check=True,
        )
        hosts = json.loads(result.stdout)["plays"][0]["tasks"][0]["hosts"]
        settings = {name: json.loads(res["msg"]) for name, res in hosts.items()}
        found = instances_by_role(ec2)
        assert settings["researchenv-vpn"][0] == public_vpn
        assert "ProxyCommand" not in settings["researchenv-vpn"][1]
        for role in ("voila", "jupyter", "filegator"):
            host, args = settings[f"researchenv-{role}"]
            assert host == found[role]["PrivateIpAddress"]
            assert 'ProxyCommand="ssh -W %h:%p' in args and f"ubuntu@{public_vpn}" in args
            assert f"-i {ssh_key.with_suffix('')}" in args


class TestTwoEnvironments:
    """Two environments from one checkout and one shell, nothing exported: the inventory reads both, and
    each run's plays reach only the hosts of its env_name, through its own vpn host."""

    @pytest.fixture
    def gamma(self, built, ec2):
        """Three running hosts of another environment, as compute.yml tags them (in the default VPC)."""
        image = ec2.describe_images(Owners=["099720109477"])["Images"][0]["ImageId"]
        ids = []
        for role in ("vpn", "jupyter", "voila"):
            names = {"ManagedBy": "research-env", "Environment": "gamma", "Role": role, "Name": f"gamma-{role}"}
            spec = {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in names.items()]}
            made = ec2.run_instances(
                ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro", TagSpecifications=[spec]
            )
            ids.append(made["Instances"][0]["InstanceId"])
        yield {
            tags(i)["Role"]: i for r in ec2.describe_instances(InstanceIds=ids)["Reservations"] for i in r["Instances"]
        }
        ec2.terminate_instances(InstanceIds=ids)

    def test_each_run_reaches_only_its_own_hosts(self, gamma, emulator_env, ssh_key):
        own = {
            "gamma": {"gamma-vpn", "gamma-jupyter", "gamma-voila"},
            "researchenv": {f"researchenv-{r}" for r in ROLES},
        }
        for env_name, hosts in own.items():
            # --tags always: the plays pick their hosts and check the roles' arguments, contacting no host.
            run = run_playbook(
                "playbooks/configure.yml",
                "--tags",
                "always",
                extra_vars=env_vars(ssh_key, env_name=env_name),
                env=emulator_env,
            )
            assert run.rc == 0, run.explain()
            assert set(run.recap) == own["gamma"] | own["researchenv"], run.explain()  # the inventory has both
            assert {h for h, c in run.recap.items() if c["ok"]} == hosts, run.explain()
            others = set(run.recap) - hosts
            assert all(run.recap[h] == run.recap[h] | {"ok": 0, "changed": 0, "failed": 0} for h in others)
            touched = re.findall(r"^(?:ok|changed|fatal|failed): \[([^\]\s]+)", run.output, re.MULTILINE)
            assert set(touched) <= hosts, run.explain()  # no task ran on another environment's host
            assert {f"{env_name}-jupyter", f"{env_name}-voila"} <= set(touched), run.explain()

    def test_each_environment_goes_in_through_its_own_vpn_host(self, gamma, built, ec2, emulator_env, ssh_key):
        vpn = {
            "gamma": gamma["vpn"]["PublicIpAddress"],
            "researchenv": instances_by_role(ec2)["vpn"]["PublicIpAddress"],
        }
        for env_name, address in vpn.items():
            result = subprocess.run(
                [
                    str(Path(sys.executable).parent / "ansible"),
                    f"{env_name}-jupyter",
                    "-m",
                    "ansible.builtin.debug",
                    "-a",
                    "msg={{ ansible_ssh_common_args }}",
                    "-e",
                    json.dumps({"env_name": env_name, "ssh_public_key_file": str(ssh_key)}),
                ],
                cwd=REPO,
                env=ansible_env(emulator_env),
                capture_output=True,
                text=True,
                check=True,
            )
            assert f"ubuntu@{address}" in result.stdout, result.stdout


class TestLifecycle:
    def test_rerun_changes_nothing(self, built, emulator_env, ssh_key):
        run = run_playbook("site.yml", "--tags", "infra", extra_vars=env_vars(ssh_key), env=emulator_env)
        assert run.rc == 0, run.explain()
        assert run.changed() == 0, run.explain()

    def test_drift_is_corrected(self, built, ec2, emulator_env, ssh_key):
        """Each kind of drift a tier group can have is seen in the one listing of the VPC's groups
        (network.yml asks ec2_security_group only about groups not as they should be): a rule too
        many, a rule's description, a tag."""
        groups = security_groups(ec2, vpc_of(ec2, "researchenv")["VpcId"])
        tier_of = {g["GroupId"]: tier for tier, g in groups.items()}
        before = {tier: sg_rules(ec2, g["GroupId"], tier_of) for tier, g in groups.items()}
        ec2.authorize_security_group_ingress(
            GroupId=groups["research"]["GroupId"],
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 8888, "ToPort": 8888, "IpRanges": [{"CidrIp": ANY}]}],
        )
        ssh = next(p for p in groups["dmz"]["IpPermissions"] if p.get("FromPort") == 22)
        ec2.update_security_group_rule_descriptions_ingress(
            GroupId=groups["dmz"]["GroupId"],
            IpPermissions=[dict(ssh, IpRanges=[dict(r, Description="changed by hand") for r in ssh["IpRanges"]])],
        )
        ec2.create_tags(Resources=[groups["production"]["GroupId"]], Tags=[{"Key": "Owner", "Value": "someone"}])

        run = run_playbook("site.yml", "--tags", "network", extra_vars=env_vars(ssh_key), env=emulator_env)
        assert run.rc == 0, run.explain()
        assert run.changed() >= 3, run.explain()
        after = security_groups(ec2, vpc_of(ec2, "researchenv")["VpcId"])
        assert ("in", "tcp", 8888, 8888, ANY) not in sg_rules(ec2, groups["research"]["GroupId"], tier_of)
        assert {tier: sg_rules(ec2, g["GroupId"], tier_of) for tier, g in after.items()} == before
        ssh_after = next(p for p in after["dmz"]["IpPermissions"] if p.get("FromPort") == 22)
        assert {r["Description"] for r in ssh_after["IpRanges"]} == {"SSH from admin_cidrs"}
        assert "Owner" not in {t["Key"] for t in after["production"].get("Tags", [])}

        run = run_playbook("site.yml", "--tags", "network", extra_vars=env_vars(ssh_key), env=emulator_env)
        assert run.rc == 0, run.explain()
        assert run.changed() == 0, run.explain()

    def test_bucket_drift_is_corrected(self, built, aws, key_arn, emulator_env, ssh_key):
        """storage.yml asks s3_bucket only when the run's one bucket lookup shows a difference: each
        kind is seen and corrected, and a rerun then changes nothing."""
        s3, bucket = aws["s3"], BUCKET.format(env="researchenv")
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
        s3.delete_bucket_policy(Bucket=bucket)
        s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
        tagged = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [*tagged, {"Key": "Owner", "Value": "someone"}]})

        run = run_playbook("site.yml", "--tags", "storage", extra_vars=env_vars(ssh_key), env=emulator_env)
        assert run.rc == 0, run.explain()
        assert run.changed() > 0, run.explain()
        assert_bucket_as_built(aws, bucket, key_arn)

        run = run_playbook("site.yml", "--tags", "storage", extra_vars=env_vars(ssh_key), env=emulator_env)
        assert run.rc == 0, run.explain()
        assert run.changed() == 0, run.explain()

    def test_end_of_site_releases_the_nat_gateway(self, built, ec2, emulator_env, ssh_key, tmp_path):
        # The emulator starts no machines, so the configure plays are left out with --limit
        # localhost (the AWS side of site.yml, start to end); the e2e test runs them in the lab.
        run = run_playbook(
            "site.yml",
            "--limit",
            "localhost",
            extra_vars=env_vars(ssh_key, artifacts_dir=str(tmp_path)),
            env=emulator_env,
        )
        assert run.rc == 0, run.explain()
        assert_nat_window_closed(ec2)
        # The whole run ends with the posture checks (playbooks/verify.yml): every AWS check passes on the
        # environment as built; the hosts' checks did not apply, the hosts being left out of the run.
        posture = json.loads((tmp_path / "posture.json").read_text())
        assert posture["passed"] is True
        statuses = {(c["check"], c["status"]) for c in posture["checks"]}
        assert {c for c, status in statuses if status == "fail"} == set()
        assert {c for c, status in statuses if status == "skipped"} == {"no_static_aws_keys", "voila_answers"}

    def test_verify_names_each_injected_fault(self, built, aws, emulator_env, ssh_key, tmp_path):
        """Issue 16: each posture check with its fault injected fails, naming the check and the resource;
        with the faults taken back the same run passes. One fault per check, all at once (the checks
        read different resources), then `playbooks/verify.yml`."""
        ec2, s3, iam = aws["ec2"], aws["s3"], aws["iam"]
        bucket = BUCKET.format(env="researchenv")
        hosts = instances_by_role(ec2)
        jupyter, filegator = hosts["jupyter"], hosts["filegator"]
        vpc_id = vpc_of(ec2, "researchenv")["VpcId"]
        groups = security_groups(ec2, vpc_id)
        tables = by_tier(ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"])
        (igw,) = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])[
            "InternetGateways"
        ]
        (endpoint,) = ec2.describe_vpc_endpoints(Filters=[{"Name": "tag:Environment", "Values": ["researchenv"]}])[
            "VpcEndpoints"
        ]
        subnets = by_tier(ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"])
        policy = s3.get_bucket_policy(Bucket=bucket)["Policy"]
        encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
        env_tags = [{"Key": "Environment", "Value": "researchenv"}, {"Key": "ManagedBy", "Value": "research-env"}]
        path = "/research-env/researchenv/"
        ssh_rule = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": ANY}]}]

        # The posture play on its own (site.yml --tags verify adds preflight, the cost report and the summary:
        # the whole run above and the e2e test run it that way).
        def verify():
            extra = env_vars(ssh_key, artifacts_dir=str(tmp_path))
            return run_playbook("playbooks/verify.yml", "--limit", "localhost", extra_vars=extra, env=emulator_env)

        # The faults.
        ec2.modify_instance_metadata_options(InstanceId=jupyter["InstanceId"], HttpTokens="optional")
        plain = ec2.create_volume(AvailabilityZone=filegator["Placement"]["AvailabilityZone"], Size=1)["VolumeId"]
        ec2.attach_volume(VolumeId=plain, InstanceId=filegator["InstanceId"], Device="/dev/sdz")
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
        s3.delete_public_access_block(Bucket=bucket)
        s3.delete_bucket_policy(Bucket=bucket)
        s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
        ec2.authorize_security_group_ingress(GroupId=groups["production"]["GroupId"], IpPermissions=ssh_rule)
        ec2.create_route(
            RouteTableId=tables["research"]["RouteTableId"],
            DestinationCidrBlock=ANY,
            GatewayId=igw["InternetGatewayId"],
        )
        iam.create_user(UserName="researchenv-sync", Path=path)
        key_id = iam.create_access_key(UserName="researchenv-sync")["AccessKey"]["AccessKeyId"]
        address = ec2.allocate_address(Domain="vpc")["AllocationId"]
        nat = ec2.create_nat_gateway(
            SubnetId=subnets["dmz"]["SubnetId"],
            AllocationId=address,
            TagSpecifications=[{"ResourceType": "natgateway", "Tags": env_tags}],
        )["NatGateway"]["NatGatewayId"]
        ec2.modify_vpc_endpoint(VpcEndpointId=endpoint["VpcEndpointId"], ResetPolicy=True)

        try:
            run = verify()
            assert run.rc != 0, run.explain()
            assert (tmp_path / "posture.json").is_file(), run.explain()
            posture = json.loads((tmp_path / "posture.json").read_text())
            assert posture["passed"] is False
            failed = {(c["check"], c["resource"]) for c in posture["checks"] if c["status"] == "fail"}
            expected = {
                ("imdsv2_required", f"{jupyter['InstanceId']} (jupyter)"),
                ("ebs_encrypted_with_env_key", f"{plain} on {filegator['InstanceId']} (filegator)"),
                ("bucket_versioning", bucket),
                ("bucket_public_access_block", bucket),
                ("bucket_tls_only", bucket),
                ("bucket_policy_as_designed", bucket),
                ("bucket_sse_kms", bucket),
                ("security_group_rules", f"{groups['production']['GroupId']} (production)"),
                ("research_hosts_not_public", f"{jupyter['InstanceId']} (jupyter)"),
                ("research_hosts_not_public", f"{filegator['InstanceId']} (filegator)"),
                ("no_iam_access_keys", f"researchenv-sync ({key_id})"),
                ("nat_released", nat),
                ("endpoint_policy", endpoint["VpcEndpointId"]),
            }
            assert failed == expected
            # The run's failure names each check and its resource.
            for check, resource in expected:
                assert f"{check} failed on {resource}" in run.output, (check, resource)
            # Nothing else failed: the other instances, groups and volumes still pass.
            passed = {(c["check"], c["resource"]) for c in posture["checks"] if c["status"] == "pass"}
            assert ("imdsv2_required", f"{filegator['InstanceId']} (filegator)") in passed
            assert ("security_group_rules", f"{groups['research']['GroupId']} (research)") in passed
        finally:
            ec2.modify_instance_metadata_options(InstanceId=jupyter["InstanceId"], HttpTokens="required")
            ec2.detach_volume(VolumeId=plain, InstanceId=filegator["InstanceId"], Device="/dev/sdz")
            ec2.delete_volume(VolumeId=plain)
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
            s3.put_public_access_block(
                Bucket=bucket,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            )
            s3.put_bucket_policy(Bucket=bucket, Policy=policy)
            s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=encryption)
            ec2.revoke_security_group_ingress(GroupId=groups["production"]["GroupId"], IpPermissions=ssh_rule)
            ec2.delete_route(RouteTableId=tables["research"]["RouteTableId"], DestinationCidrBlock=ANY)
            iam.delete_access_key(UserName="researchenv-sync", AccessKeyId=key_id)
            iam.delete_user(UserName="researchenv-sync")
            ec2.delete_nat_gateway(NatGatewayId=nat)
            ec2.release_address(AllocationId=address)
            ec2.modify_vpc_endpoint(VpcEndpointId=endpoint["VpcEndpointId"], PolicyDocument=endpoint["PolicyDocument"])

        run = verify()
        assert run.rc == 0, run.explain()
        assert json.loads((tmp_path / "posture.json").read_text())["passed"] is True

    def test_the_access_servers_passwords_are_kept_in_ssm(self, built, aws, emulator_env, ssh_key):
        """vpn_provider openvpn_as (the default): the admin's and each VPN member's password are generated
        once into SSM Parameter Store, SecureString under the environment's key, never shown; a member
        who loses the VPN loses the parameter. (The vpn host's play, which uses them, needs a host: the
        role is tested in molecule.)"""
        ssm = aws["ssm"]
        prefix = "/research-env/researchenv/vpn/"
        team = [{"username": "alice"}, {"username": "bob", "vpn": False}]
        run = run_playbook(
            "site.yml", "--limit", "localhost", "--tags", "vpn",
            extra_vars=env_vars(ssh_key, research_team=team), env=emulator_env,
        )  # fmt: skip
        assert run.rc == 0, run.explain()
        values = kept_secrets(aws, prefix)
        assert sorted(values) == [prefix + "alice", prefix + "openvpn"]
        assert all(len(v) == 24 for v in values.values()) and len(set(values.values())) == 2
        assert not any(v in run.output for v in values.values()), "a generated password is in the output"
        # Again, with alice gone: hers is deleted, the admin's is the same one.
        gone = [{"username": "alice", "state": "absent"}]
        run = run_playbook(
            "site.yml", "--limit", "localhost", "--tags", "vpn",
            extra_vars=env_vars(ssh_key, research_team=gone), env=emulator_env,
        )  # fmt: skip
        assert run.rc == 0, run.explain()
        left = [p["Name"] for p in ssm.describe_parameters()["Parameters"] if p["Name"].startswith(prefix)]
        assert left == [prefix + "openvpn"]
        assert ssm.get_parameter(Name=left[0], WithDecryption=True)["Parameter"]["Value"] == values[left[0]]

    def test_filegators_secrets_are_kept_in_ssm_and_named_in_the_summary(self, built, aws, emulator_env, ssh_key):
        """FileGator's admin password, its CSRF key and a password per member with filegator are generated
        once into SSM Parameter Store, SecureString under the environment's key, never shown; the summary
        names the private URL and the parameters; a member who leaves loses the parameter. (The filegator
        host's play, which uses them, needs a host: the role is tested in molecule, the whole in e2e.)"""
        ssm = aws["ssm"]
        prefix = "/research-env/researchenv/filegator/"
        team = [{"username": "alice", "filegator": True}, {"username": "bob"}]
        nat_gateways = len(aws["ec2"].describe_nat_gateways()["NatGateways"])
        run = run_playbook(
            "site.yml", "--limit", "localhost", "--tags", "filegator,summary",
            extra_vars=env_vars(ssh_key, research_team=team), env=emulator_env,
        )  # fmt: skip
        assert run.rc == 0, run.explain()
        values = kept_secrets(aws, prefix)
        assert sorted(values) == [prefix + "_csrf_key", prefix + "admin", prefix + "alice"]
        assert all(len(v) == 32 for v in values.values()) and len(set(values.values())) == 3
        assert not any(v in run.output for v in values.values()), "a generated secret is in the output"
        filegator_ip = instances_by_role(aws["ec2"])["filegator"]["PrivateIpAddress"]
        # The printed summary wraps long lines: compare with the whitespace folded.
        assert (
            f"FileGator (private, over the VPN): http://{filegator_ip}:8080/ as admin, password in SSM {prefix}admin; "
            f"members (alice) in {prefix}<username>"
        ) in " ".join(run.output.split())
        # Again, with alice gone: hers is deleted, the admin's and the key stay as they were.
        gone = [{"username": "alice", "filegator": True, "state": "absent"}]
        run = run_playbook(
            "site.yml", "--limit", "localhost", "--tags", "filegator",
            extra_vars=env_vars(ssh_key, research_team=gone), env=emulator_env,
        )  # fmt: skip
        assert run.rc == 0, run.explain()
        left = sorted(p["Name"] for p in ssm.describe_parameters()["Parameters"] if p["Name"].startswith(prefix))
        assert left == [prefix + "_csrf_key", prefix + "admin"]
        assert all(ssm.get_parameter(Name=n, WithDecryption=True)["Parameter"]["Value"] == values[n] for n in left)
        # And again: one read finds everything as it should be, so nothing is made or deleted.
        run = run_playbook(
            "site.yml", "--limit", "localhost", "--tags", "filegator",
            extra_vars=env_vars(ssh_key, research_team=gone), env=emulator_env,
        )  # fmt: skip
        assert run.rc == 0, run.explain()
        for task in ("Generate the ones that do not exist yet", "Delete the ones of members who left"):
            assert re.search(rf"TASK \[Secrets \| {task}[^\]]*\][ *]*\nskipping: \[localhost\]", run.output), task
        # No host was configured: none of these runs made a NAT gateway (docs/configuration.md).
        assert len(aws["ec2"].describe_nat_gateways()["NatGateways"]) == nat_gateways

    def test_filegator_backup_may_write_files_and_nothing_else(self, built, aws, emulator_env, ssh_key):
        """filegator_backup: true gives the filegator host's role one inline policy: list and write the
        bucket's files/ prefix (never delete), the key through S3 only; false takes it away again."""
        iam = aws["iam"]
        run = run_playbook(
            "site.yml", "--tags", "iam", extra_vars=env_vars(ssh_key, filegator_backup=True), env=emulator_env
        )
        assert run.rc == 0, run.explain()
        policy = iam.get_role_policy(RoleName="researchenv-filegator", PolicyName="notebooks-bucket")["PolicyDocument"]
        statements = {st["Sid"]: st for st in policy["Statement"]}
        assert set(statements) == {"ListTheBackup", "WriteTheBackup", "UseTheKeyThroughS3"}
        assert statements["ListTheBackup"]["Condition"] == {"StringLike": {"s3:prefix": ["files/*"]}}
        bucket = "arn:aws:s3:::" + BUCKET.format(env="researchenv")
        assert statements["WriteTheBackup"]["Resource"] == bucket + "/files/*"
        assert "s3:DeleteObject" not in json.dumps(policy)
        run = run_playbook("site.yml", "--tags", "iam", extra_vars=env_vars(ssh_key), env=emulator_env)
        assert run.rc == 0, run.explain()
        assert iam.list_role_policies(RoleName="researchenv-filegator")["PolicyNames"] == []

    def test_nat_mode_always_keeps_it_and_none_removes_it(self, built, ec2, emulator_env, ssh_key):
        run = run_playbook(
            "site.yml", "--tags", "nat", extra_vars=env_vars(ssh_key, nat_mode="always"), env=emulator_env
        )
        assert run.rc == 0, run.explain()
        assert len(network_resources(ec2, "researchenv")["nat_gateway"]) == 1, "always keeps the NAT gateway"

        run = run_playbook(
            "site.yml", "--tags", "network", extra_vars=env_vars(ssh_key, nat_mode="none"), env=emulator_env
        )
        assert run.rc == 0, run.explain()
        assert "nat_gateway" not in network_resources(ec2, "researchenv")
        vpc_id = vpc_of(ec2, "researchenv")["VpcId"]
        assert not [r for r in research_routes(ec2, vpc_id) if r.get("DestinationCidrBlock") == ANY]

    # The tasks of network.yml itself (not those of the task files it shares with nat.yml).
    NETWORK_TASKS = frozenset(
        task["name"]
        for task in yaml.safe_load((REPO / "playbooks" / "network.yml").read_text())[0]["tasks"]
        if not {"ansible.builtin.import_tasks", "ansible.builtin.include_tasks"} & set(task)
    )

    def test_nat_slice_opens_and_closes_without_the_network_play(self, built, ec2, emulator_env, ssh_key):
        """`--tags nat` is the NAT window alone (playbooks/nat.yml): it opens it from nothing, a rerun
        changes nothing, nat_mode none closes it again, and no task of the network play runs."""
        vpc_id = vpc_of(ec2, "researchenv")["VpcId"]
        groups = security_groups(ec2, vpc_id)
        tier_of = {g["GroupId"]: tier for tier, g in groups.items()}
        for attempt in ("open", "rerun"):
            run = run_playbook(
                "site.yml", "--tags", "nat", extra_vars=env_vars(ssh_key, nat_mode="always"), env=emulator_env
            )
            assert run.rc == 0, run.explain()
            ran = tasks_run(run)
            assert "NAT | Find the NAT gateway of the nat subnet" in ran, run.explain()
            assert not ran & self.NETWORK_TASKS, f"network tasks ran: {sorted(ran & self.NETWORK_TASKS)}"
            if attempt == "rerun":
                assert run.changed() == 0, run.explain()
            (nat,) = network_resources(ec2, "researchenv")["nat_gateway"]
            default_routes = [r for r in research_routes(ec2, vpc_id) if r.get("DestinationCidrBlock") == ANY]
            assert [r.get("NatGatewayId") for r in default_routes] == [nat], attempt
            assert sg_rules(ec2, groups["research"]["GroupId"], tier_of) == SEED_RULES["research"] | NAT_OUT

        run = run_playbook("site.yml", "--tags", "nat", extra_vars=env_vars(ssh_key, nat_mode="none"), env=emulator_env)
        assert run.rc == 0, run.explain()
        ran = tasks_run(run)
        assert not ran & self.NETWORK_TASKS, f"network tasks ran: {sorted(ran & self.NETWORK_TASKS)}"
        assert_nat_window_closed(ec2)

    def test_second_environment_side_by_side(self, built, aws, emulator_env, ssh_key, tmp_path):
        """Build and tear down another environment next to this one: this one stays untouched. Its host is
        an a1 (the first Graviton, arm64, with no `g` in its name): it gets the arm64 image, as AWS says."""
        before = all_resources(aws, "researchenv")
        beta = env_vars(
            ssh_key,
            env_name="beta",
            instances={"vpn": {"type": "a1.medium", "subnet": "dmz", "eip": True, "volume_gb": 8}},
        )
        run = run_playbook("site.yml", "--tags", "infra", extra_vars=beta, env=emulator_env)
        assert run.rc == 0, run.explain()
        assert set(all_resources(aws, "beta")) >= {"vpc", "instance", "bucket", "kms_key", "iam_role"}
        flt = [{"Name": "tag:Environment", "Values": ["beta"]}]
        (host,) = [i for r in aws["ec2"].describe_instances(Filters=flt)["Reservations"] for i in r["Instances"]]
        assert (host["InstanceType"], host["ImageId"]) == ("a1.medium", NEWEST_NOBLE_ARM64)
        run = run_playbook(
            "playbooks/teardown.yml", extra_vars={"env_name": "beta", "records_dir": str(tmp_path)}, env=emulator_env
        )
        assert run.rc == 0, run.explain()
        assert all_resources(aws, "beta") == {}
        assert all_resources(aws, "researchenv") == before

    def test_teardown_leaves_nothing_and_records_it(self, built, aws, emulator_env, tmp_path):
        before = all_resources(aws, "researchenv")
        default_group = security_groups(aws["ec2"], vpc_of(aws["ec2"], "researchenv")["VpcId"])["default"]["GroupId"]

        # No -e env_name: the playbook run directly must find the defaults in group_vars itself.
        run = run_playbook("playbooks/teardown.yml", extra_vars={"records_dir": str(tmp_path)}, env=emulator_env)
        assert run.rc == 0, run.explain()
        assert all_resources(aws, "researchenv") == {}
        record = only_record(tmp_path, "researchenv")
        assert record["outcome"] == "complete"
        done = {
            (r["type"], r["id"]) for r in record["resources"] if r["result"] in ("deleted", "scheduled for deletion")
        }
        ids = {"key_pair": "key_name"}  # the record names key pairs by id, the read-back by name
        want = {(kind, rid) for kind, rids in before.items() for rid in rids if kind not in ids}
        # Everything found before, except the default group, which AWS deletes with its VPC.
        assert {d for d in done if d[0] not in ids} == want - {("security_group", default_group)}
        assert [r["name"] for r in record["resources"] if r["type"] == "key_pair"] == before["key_pair"]
        order = [r["type"] for r in record["resources"]]
        steps = ["instance", "elastic_ip", "key_pair", "instance_profile", "iam_role", "vpc", "bucket", "kms_key"]
        assert [order.index(step) for step in steps] == sorted(order.index(step) for step in steps)
        assert all(r["start"] <= r["end"] for r in record["resources"])
        assert record["who"]["caller_arn"].startswith("arn:aws:")
        kms = next(r for r in record["resources"] if r["type"] == "kms_key")
        assert kms["result"] == "scheduled for deletion" and kms["details"]["pending_window_days"] == 30

    def test_teardown_again_finds_nothing_and_says_so(self, built, emulator_env, tmp_path):
        run = run_playbook("playbooks/teardown.yml", extra_vars={"records_dir": str(tmp_path)}, env=emulator_env)
        assert run.rc == 0, run.explain()
        assert "Nothing of environment researchenv is left to delete" in run.output
        assert only_record(tmp_path, "researchenv")["outcome"] == "nothing to delete"
