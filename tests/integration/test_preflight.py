"""Bad configurations are refused by preflight, naming the variable, before anything exists."""

from __future__ import annotations

import re

import pytest
from helpers import run_playbook

pytestmark = pytest.mark.integration

SUBNETS = {
    "dmz": {"cidr": "10.0.1.0/24", "public": True},
    "production": {"cidr": "10.0.2.0/24", "public": True},
    "research": {"cidr": "10.0.3.0/24", "public": False},
}


def with_subnet(tier: str, **change: object) -> dict:
    return {"subnets": {t: (v | change if t == tier else v) for t, v in SUBNETS.items()}}


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
    "illegal bucket name": ({"notebooks_bucket": "My_Notebooks"}, "notebooks_bucket:"),
    "dotted bucket name": ({"notebooks_bucket": "lab.notebooks.data"}, "notebooks_bucket:"),
    "missing SSH key file": ({"ssh_public_key_file": "/nonexistent/id.pub"}, "ssh_public_key_file:"),
    "jupyter in a public subnet": (
        {"instances": {"jupyter": {"type": "t3.large", "subnet": "dmz", "eip": False, "volume_gb": 50}}},
        "instances.jupyter.subnet:",
    ),
    "privileged jupyter port": ({"jupyter_port": 80}, "jupyter_port:"),
    "reserved extra tag": ({"extra_tags": {"ManagedBy": "me"}}, "extra_tags.ManagedBy:"),
    "inventory reads another environment": ({"env_name": "gamma"}, "export RESEARCH_ENV_NAME=gamma"),
    "inventory reads another region": ({"aws_region": "eu-west-1"}, "export AWS_REGION=eu-west-1"),
    "KMS deletion window too short": ({"kms_deletion_window_days": 3}, "kms_deletion_window_days:"),
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
