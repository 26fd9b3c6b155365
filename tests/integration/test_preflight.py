"""Bad configurations are refused by preflight, naming the variable, before anything exists."""

from __future__ import annotations

import re

import pytest
from helpers import run_playbook

pytestmark = pytest.mark.integration

ADMIN = "203.0.113.10/32"

SUBNETS = {
    "dmz": {"cidr": "10.0.1.0/24", "public": True},
    "production": {"cidr": "10.0.2.0/24", "public": True},
    "research": {"cidr": "10.0.3.0/24", "public": False},
}


def with_subnet(tier: str, **change: object) -> dict:
    return {"subnets": {t: (v | change if t == tier else v) for t, v in SUBNETS.items()}}


def only_vpn(**change: object) -> dict:
    """`instances` with the vpn host alone, its defaults changed."""
    return {"instances": {"vpn": {"type": "t3.small", "subnet": "dmz", "eip": True, "volume_gb": 20} | change}}


BAD = {
    "env name with capitals": ({"env_name": "Research_Env"}, "env_name:"),
    "env name as a wildcard": ({"env_name": "*"}, "env_name:"),
    "malformed VPC CIDR": ({"vpc_cidr": "10.0.0.300/16"}, "vpc_cidr:"),
    "VPC too large": ({"vpc_cidr": "10.0.0.0/8"}, "vpc_cidr: /8"),
    "subnet outside the VPC": (with_subnet("research", cidr="10.1.3.0/24"), "subnets.research.cidr:"),
    "overlapping subnets": (with_subnet("production", cidr="10.0.1.128/25"), "subnets.production.cidr:"),
    "public research subnet": (with_subnet("research", public=True), "subnets.research.public:"),
    "no admin CIDRs": ({"admin_cidrs": []}, "admin_cidrs:"),
    "world-open SSH": ({"admin_cidrs": ["0.0.0.0/0"]}, "admin_cidrs[0]:"),
    "unknown nat_mode": ({"nat_mode": "sometimes"}, "nat_mode:"),
    "unknown vpn_provider": ({"vpn_provider": "wireguard"}, "vpn_provider:"),
    "VPN clients inside the VPC": (
        {"vpn_provider": "openvpn", "client_vpn_cidr": "10.0.8.0/24"},
        "client_vpn_cidr: 10.0.8.0/24 overlaps vpc_cidr",
    ),
    "illegal bucket name": ({"notebooks_bucket": "My_Notebooks"}, "notebooks_bucket:"),
    "dotted bucket name": ({"notebooks_bucket": "lab.notebooks.data"}, "notebooks_bucket:"),
    "pipeline buckets the same": (
        {
            "lambda_pipeline": True,
            "lambda_pipeline_output_bucket": "same-bucket-123456789012",
            "lambda_pipeline_input_bucket": "same-bucket-123456789012",
        },
        "lambda_pipeline_output_bucket: same-bucket-123456789012 is also lambda_pipeline_input_bucket",
    ),
    "pipeline log retention CloudWatch lacks": (
        {"lambda_pipeline": True, "lambda_pipeline_log_retention_days": 10},
        "lambda_pipeline_log_retention_days: 10 is not a retention",
    ),
    "pipeline not a boolean": ({"lambda_pipeline": "maybe"}, "lambda_pipeline: 'maybe' is not true or false"),
    "negative budget": ({"budget_monthly_usd": -5, "budget_emails": ["pi@example.org"]}, "budget_monthly_usd:"),
    "budget alert to a bad e-mail": (
        {"budget_monthly_usd": 100, "budget_emails": ["pi at example.org"]},
        "budget_emails",
    ),
    "stop schedule not a cron expression": ({"stop_schedule": "every evening"}, "stop_schedule:"),
    "missing SSH key file": ({"ssh_public_key_file": "/nonexistent/id.pub"}, "ssh_public_key_file:"),
    "jupyter in a public subnet": (
        {"instances": {"jupyter": {"type": "t3.large", "subnet": "dmz", "eip": False, "volume_gb": 50}}},
        "instances.jupyter.subnet:",
    ),
    "privileged jupyter port": ({"jupyter_port": 80}, "jupyter_port:"),
    "reserved extra tag": ({"extra_tags": {"ManagedBy": "me"}}, "extra_tags.ManagedBy:"),
    "inventory reads another region": ({"aws_region": "eu-west-1"}, "export AWS_REGION=eu-west-1"),
    "KMS deletion window too short": ({"kms_deletion_window_days": 3}, "kms_deletion_window_days:"),
    # A pattern's `$` matched before a trailing newline once. The message shows the value's repr, and the
    # [ERROR] line the message's: two backslashes.
    "trailing newline": ({"env_name": "researchenv\n"}, "env_name: 'researchenv\\\\n' is not a valid"),
    "loopback VPC": ({"vpc_cidr": "127.0.0.0/16"}, "vpc_cidr: 127.0.0.0/16 is in 127.0.0.0/8"),
    "world in small blocks": (
        {"admin_cidrs": [f"{i}.0.0.0/8" for i in range(1, 33)]},
        "admin_cidrs: together the blocks cover 536,870,912 addresses",
    ),
    "too many admin blocks": (
        {"admin_cidrs": [f"198.51.100.{i}/32" for i in range(30)]},
        "admin_cidrs: 30 IPv4 blocks",
    ),
    "duplicate admin block": ({"admin_cidrs": [ADMIN, ADMIN]}, "admin_cidrs[1]: 203.0.113.10/32 is listed twice"),
    "IPv6 admin block": ({"admin_cidrs": ["2001:db8::/48"]}, "admin_cidrs[0]: '2001:db8::/48' is IPv6"),
    "IPv4-mapped admin block": (
        {"admin_cidrs": ["::ffff:0.0.0.0/96"]},
        "admin_cidrs[0]: '::ffff:0.0.0.0/96' is an IPv4-mapped",
    ),
    "too many tags": ({"extra_tags": {f"Key{i}": "v" for i in range(45)}}, "extra_tags: 45 tags"),
    "tag value too long": ({"extra_tags": {"CostCenter": "x" * 257}}, "extra_tags.CostCenter: 257 characters"),
    "tag with a character AWS refuses": (
        {"extra_tags": {"CostCenter": "12#34"}},
        "extra_tags.CostCenter: '12#34' contains",
    ),
    "case-insensitive duplicate of a project key": (
        {"extra_tags": {"environment": "prod"}},
        "extra_tags.environment: the same key as research-env's own Environment",
    ),
    # The research team: one list for the VPN and FileGator accounts.
    "username outside the pattern": (
        {"research_team": [{"username": "Alice.Smith"}]},
        "research_team[0].username: 'Alice.Smith' is not a valid username",
    ),
    "member listed twice": (
        {"research_team": [{"username": "alice"}, {"username": "bob"}, {"username": "alice", "vpn": False}]},
        "research_team[2].username: alice is listed twice (also research_team[0])",
    ),
    "VPN host name given as a URL": (
        {"vpn_public_hostname": "https://vpn.example.org:943/"},
        # The message holds a double quote, so the [ERROR] line escapes its single quotes.
        "vpn_public_hostname: \\'https://vpn.example.org:943/\\' is not a host name or IPv4 address",
    ),
    # What only AWS can tell: one describe call each, before anything exists.
    "unknown instance type": (
        only_vpn(type="t3.hyper"),
        "instances.vpn.type: 't3.hyper' is not an instance type offered in us-east-1a",
    ),
    "AMI that does not exist": (
        only_vpn(ami_id="ami-0123456789abcdef0"),
        "instances.vpn.ami_id: ami-0123456789abcdef0 is not an available image in us-east-1",
    ),
    # The architecture is AWS's (DescribeInstanceTypes): a1, the first Graviton, runs arm64 only.
    "x86_64 image for an arm64 type": (
        only_vpn(type="a1.medium", ami_id="ami-0c1a9e0c24a0b1e02"),  # scripts/emulator-amis.json: x86_64
        "instances.vpn.ami_id: ami-0c1a9e0c24a0b1e02 is an x86_64 image, but a1.medium runs arm64",
    ),
    # ami: for ami_id: would be ignored, and the host launched with the default image.
    "misspelt host setting": (
        only_vpn(ami="ami-0c1a9e0c22a0a2201"),  # scripts/emulator-amis.json: an older image
        "instances.vpn.ami: unknown setting",
    ),
    "zone that does not exist": (
        {"availability_zone": "us-east-1z"},
        "availability_zone: us-east-1z is not an available zone",
    ),
    "region that does not exist": (
        {"aws_region": "us-east-9"},
        "aws_region: us-east-9 is not a region this account can use",
    ),
    # The roles' inputs, checked on the controller by each role's own validate.yml.
    "python version that is not a release": (
        {"python_build_version": "3.13"},
        "python_build_version must be a release",
    ),
    "sync interval out of range": (
        {"s3_sync_cron_interval_minutes": 90},
        "s3_sync_cron_interval_minutes must be 1 to 60",
    ),
    "clear-text Jupyter password": (
        {"jupyter_password_hash": "hunter2"},
        "jupyter_password_hash must be a Jupyter hash",
    ),
    "example notebook that does not exist": (
        {"example_notebooks": [{"src": "/nonexistent/intro.ipynb", "dest": "published/"}]},
        "example_notebooks[0].src: /nonexistent/intro.ipynb is not a file on this machine",
    ),
}


def no_vpc_created(ec2) -> bool:
    return all(v.get("IsDefault") for v in ec2.describe_vpcs()["Vpcs"])


@pytest.mark.parametrize("case", list(BAD))
def test_bad_configuration_is_refused_before_anything_exists(case, aws_env, ec2, ssh_key):
    changes, variable = BAD[case]
    run = run_playbook("site.yml", extra_vars={"ssh_public_key_file": str(ssh_key), **changes}, env=aws_env)
    assert run.rc != 0, run.explain()
    assert variable in run.output, run.explain()
    assert "TASK [Create the VPC]" not in run.output
    assert no_vpc_created(ec2)


def test_the_nat_slice_needs_a_network(aws_env, ec2, ssh_key):
    """`--tags nat` for an environment not built yet stops with what to run first, and has made
    nothing: no NAT gateway, no Elastic IP."""
    run = run_playbook("site.yml", "--tags", "nat", extra_vars={"ssh_public_key_file": str(ssh_key)}, env=aws_env)
    assert run.rc != 0, run.explain()
    assert "has no network" in run.output and "--tags network, first" in run.output, run.explain()
    assert no_vpc_created(ec2)
    assert ec2.describe_nat_gateways()["NatGateways"] == []
    assert ec2.describe_addresses()["Addresses"] == []


def test_private_key_given_as_public_key(aws_env, ec2, ssh_key):
    run = run_playbook("site.yml", extra_vars={"ssh_public_key_file": str(ssh_key.with_suffix(""))}, env=aws_env)
    assert run.rc != 0
    assert "ssh_public_key_file:" in run.output and "PRIVATE key" in run.output
    assert no_vpc_created(ec2)


def test_credentials_that_do_not_work(aws_env, ec2, ssh_key):
    # An endpoint where nothing listens stands for credentials AWS refuses: sts cannot answer.
    broken = dict(aws_env, AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_MAX_ATTEMPTS="1")
    run = run_playbook("site.yml", extra_vars={"ssh_public_key_file": str(ssh_key)}, env=broken)
    assert run.rc != 0
    assert "AWS credentials: sts get-caller-identity failed" in run.output
    assert no_vpc_created(ec2)


def test_integers_from_the_command_line_are_accepted(aws_env, ec2, ssh_key):
    """`-e key=value` gives strings: preflight reads decimal digits as the number they are."""
    numbers = ("jupyter_port=9999", "kms_deletion_window_days=7", "security_group_rules_quota=100")
    args = [arg for pair in numbers for arg in ("-e", pair)]
    run = run_playbook(
        "site.yml", "--tags", "preflight", *args, extra_vars={"ssh_public_key_file": str(ssh_key)}, env=aws_env
    )
    assert run.rc == 0, run.explain()
    assert "problem(s)" not in run.output
    assert no_vpc_created(ec2)


def test_a_key_given_twice_in_a_vars_file_is_refused(aws_env, ec2, ssh_key, tmp_path):
    """A user's -e @my-env.yml with env_name twice: ansible.cfg makes that an error, not last-one-wins."""
    my_env = tmp_path / "my-env.yml"
    my_env.write_text("env_name: alpha\nnat_mode: always\nenv_name: beta\n")
    run = run_playbook("site.yml", "-e", f"@{my_env}", extra_vars={"ssh_public_key_file": str(ssh_key)}, env=aws_env)
    assert run.rc != 0, run.explain()
    assert "Found duplicate mapping key 'env_name'" in run.output, run.explain()
    assert f"{my_env}:3:1" in run.output
    assert "TASK [" not in run.output  # refused while loading, before any play ran
    assert no_vpc_created(ec2)


def test_a_region_that_does_not_exist_is_not_blamed_on_the_credentials(aws_env, ec2, ssh_key):
    run = run_playbook(
        "site.yml", extra_vars={"ssh_public_key_file": str(ssh_key), "aws_region": "us-east-9"}, env=aws_env
    )
    assert run.rc != 0
    assert "aws_region: us-east-9 is not a region this account can use" in run.output
    assert "AWS credentials" not in run.output
    assert no_vpc_created(ec2)


def test_aws_and_role_problems_come_with_the_others_in_one_run(aws_env, ec2, ssh_key):
    bad = {
        "ssh_public_key_file": str(ssh_key),
        "nat_mode": "x",
        "availability_zone": "us-east-1z",
        "python_build_version": "3.x",
    }
    run = run_playbook("site.yml", extra_vars=bad, env=aws_env)
    assert run.rc != 0
    assert "The configuration has 3 problem(s); nothing was created" in run.output
    for variable in ("nat_mode:", "availability_zone:", "python_build_version"):
        assert variable in run.output


def test_another_environments_bucket_is_never_taken_over(aws_env, aws, ec2, ssh_key):
    """A second environment's file copied from the first with only env_name changed names the first
    one's bucket: it would be retagged, switched to the second key, and destroyed by its teardown."""
    s3 = aws["s3"]
    s3.create_bucket(Bucket="alpha-notebooks-123456789012")
    theirs = [{"Key": "Environment", "Value": "alpha"}, {"Key": "ManagedBy", "Value": "research-env"}]
    s3.put_bucket_tagging(Bucket="alpha-notebooks-123456789012", Tagging={"TagSet": theirs})
    extra = {"ssh_public_key_file": str(ssh_key), "notebooks_bucket": "alpha-notebooks-123456789012"}
    run = run_playbook("site.yml", extra_vars=extra, env=aws_env)
    assert run.rc != 0
    words = " ".join(run.output.split())
    assert "notebooks_bucket: alpha-notebooks-123456789012 already exists and is not this environment's" in words
    assert no_vpc_created(ec2)
    assert s3.get_bucket_tagging(Bucket="alpha-notebooks-123456789012")["TagSet"] == theirs


def test_an_env_name_serving_another_region_is_refused(aws_env, aws, ec2, ssh_key):
    """IAM is global: the roles of researchenv in eu-west-1 would be taken over by a build in us-east-1."""
    aws["iam"].create_role(
        RoleName="researchenv-vpn",
        Path="/research-env/researchenv/",
        Description="research-env researchenv in eu-west-1: the vpn host",
        AssumeRolePolicyDocument="{}",
    )
    run = run_playbook("site.yml", extra_vars={"ssh_public_key_file": str(ssh_key)}, env=aws_env)
    assert run.rc != 0
    assert "env_name: researchenv already names an environment in eu-west-1" in " ".join(run.output.split())
    assert no_vpc_created(ec2)


def test_all_problems_are_listed_in_one_run(aws_env, ec2, ssh_key):
    bad = {"ssh_public_key_file": str(ssh_key), "env_name": "X", "nat_mode": "x", "admin_cidrs": []}
    run = run_playbook("site.yml", extra_vars=bad, env=aws_env)
    assert run.rc != 0
    assert "The configuration has 3 problem(s); nothing was created" in run.output
    for variable in ("env_name:", "nat_mode:", "admin_cidrs:"):
        assert variable in run.output


def test_playbooks_run_directly_see_the_same_variables(aws_env, ssh_key):
    """site.yml and a playbook run on its own read group_vars the same way."""
    extra = {"ssh_public_key_file": str(ssh_key)}
    via_site = run_playbook("site.yml", "--tags", "preflight", extra_vars=extra, env=aws_env)
    direct = run_playbook("playbooks/preflight.yml", extra_vars=extra, env=aws_env)
    assert via_site.rc == 0 and direct.rc == 0, via_site.explain() + direct.explain()

    def summary(output: str) -> str:
        return re.search(r"TASK \[Show what this run is about to manage\].*?\n\n", output, re.S).group(0)

    assert "Environment researchenv in us-east-1" in summary(direct.output)
    assert "10.0.0.0/16: dmz 10.0.1.0/24, production 10.0.2.0/24, research 10.0.3.0/24" in summary(direct.output)
    assert summary(via_site.output) == summary(direct.output)
