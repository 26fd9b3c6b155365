"""The configuration checks of preflight, as plain functions."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import pytest
import research_env_preflight as f

GOOD = {
    "env_name": "researchenv",
    "project_name": "research-env",
    "aws_region": "us-east-1",
    "extra_tags": {},
    "vpc_cidr": "10.0.0.0/16",
    "subnets": {
        "dmz": {"cidr": "10.0.1.0/24", "public": True},
        "production": {"cidr": "10.0.2.0/24", "public": True},
        "research": {"cidr": "10.0.3.0/24", "public": False},
    },
    "availability_zone": "",
    "admin_cidrs": ["203.0.113.10/32"],
    "allow_world_ssh": False,
    "nat_mode": "during_deploy",
    "vpn_provider": "openvpn_as",
    "jupyter_port": 8888,
    "filegator_port": 8080,
    "instances": {
        "vpn": {"type": "t3.small", "subnet": "dmz", "eip": True, "volume_gb": 20},
        "voila": {"type": "t3.small", "subnet": "production", "eip": False, "volume_gb": 20},
        "jupyter": {"type": "t3.large", "subnet": "research", "eip": False, "volume_gb": 50},
        "filegator": {"type": "t3.micro", "subnet": "research", "eip": False, "volume_gb": 30},
    },
    "destroy_data": False,
}


@pytest.fixture(scope="module")
def pubkey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    key = tmp_path_factory.mktemp("k") / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


def config(pubkey: Path, **changes: object) -> dict:
    cfg = copy.deepcopy(GOOD)
    cfg["ssh_public_key_file"] = str(pubkey.with_suffix(".pub"))
    for dotted, value in changes.items():
        target = cfg
        *path, last = dotted.split("__")
        for key in path:
            target = target[key]
        target[last] = value
    return cfg


def test_default_configuration_is_clean(pubkey):
    assert f.config_errors(config(pubkey)) == []


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"env_name": "Research_Env"}, "env_name:"),
        ({"env_name": "*"}, "env_name:"),
        ({"env_name": "a"}, "env_name:"),
        ({"env_name": "lab-"}, "env_name:"),
        ({"env_name": "a" * 21}, "env_name:"),
        ({"vpc_cidr": "10.0.0.0/8"}, "vpc_cidr:"),
        ({"vpc_cidr": "10.0.0.0/29"}, "vpc_cidr:"),
        ({"vpc_cidr": "10.0.0.300/16"}, "vpc_cidr:"),
        (
            {"vpc_cidr": "10.0.0.1/16"},
            "vpc_cidr: '10.0.0.1/16' has host bits set. Use the network address: 10.0.0.0/16",
        ),
        ({"vpc_cidr": "fd00::/56"}, "vpc_cidr:"),
        ({"subnets__research__cidr": "10.1.3.0/24"}, "subnets.research.cidr: 10.1.3.0/24 is not inside vpc_cidr"),
        ({"subnets__production__cidr": "10.0.1.128/25"}, "subnets.production.cidr: 10.0.1.128/25 overlaps"),
        ({"subnets__dmz__cidr": "10.0.1.0/30"}, "subnets.dmz.cidr: /30"),
        ({"subnets__research__public": True}, "subnets.research.public:"),
        ({"subnets__dmz__public": False}, "subnets.dmz.public:"),
        ({"subnets__dmz__public": "yes"}, "subnets.dmz.public:"),
        ({"subnets__lab": {"cidr": "10.0.9.0/24", "public": True}}, "subnets.lab: unknown tier"),
        ({"subnets": ["10.0.1.0/24"]}, "subnets:"),
        ({"admin_cidrs": []}, "admin_cidrs:"),
        ({"admin_cidrs": "203.0.113.10/32"}, "admin_cidrs:"),
        ({"admin_cidrs": ["0.0.0.0/0"]}, "admin_cidrs[0]: 0.0.0.0/0 opens SSH"),
        ({"admin_cidrs": ["203.0.113.10/32", "0.0.0.0/1"]}, "admin_cidrs[1]"),
        ({"admin_cidrs": ["::/0"]}, "admin_cidrs[0]"),
        ({"admin_cidrs": ["not-an-ip"]}, "admin_cidrs[0]"),
        ({"allow_world_ssh": "sometimes"}, "allow_world_ssh:"),
        ({"nat_mode": "sometimes"}, "nat_mode:"),
        ({"vpn_provider": "wireguard"}, "vpn_provider:"),
        ({"aws_region": "mars-north-1a"}, "aws_region:"),
        ({"availability_zone": "eu-west-1a"}, "availability_zone:"),
        ({"jupyter_port": 80}, "jupyter_port:"),
        ({"jupyter_port": "8888"}, "jupyter_port:"),
        ({"filegator_port": 8888}, "filegator_port: equals jupyter_port"),
        ({"extra_tags": {"Environment": "prod"}}, "extra_tags.Environment:"),
        ({"extra_tags": {"aws:owner": "x"}}, "extra_tags:"),
        ({"extra_tags": {"CostCenter": 1234}}, "extra_tags.CostCenter:"),
        ({"instances__jupyter__subnet": "dmz"}, "instances.jupyter.subnet:"),
        ({"instances__filegator__subnet": "production"}, "instances.filegator.subnet:"),
        ({"instances__voila__subnet": "lab"}, "instances.voila.subnet:"),
        ({"instances__jupyter__eip": True}, "instances.jupyter.eip:"),
        ({"instances__vpn__type": "big"}, "instances.vpn.type:"),
        ({"instances__vpn__volume_gb": 4}, "instances.vpn.volume_gb:"),
        ({"instances__vpn__ami_id": "ubuntu"}, "instances.vpn.ami_id:"),
        ({"instances__vpn__subnet": "production"}, "instances.vpn.subnet: the VPN server belongs in the dmz"),
        ({"instances__gpu": {"type": "g5.xlarge"}}, "instances.gpu: unknown host role"),
        ({"destroy_data": "maybe"}, "destroy_data:"),
    ],
)
def test_bad_configuration_names_the_variable(pubkey, changes, variable):
    errors = f.config_errors(config(pubkey, **changes))
    assert any(e.startswith(variable) for e in errors), errors


def test_every_problem_is_reported_at_once(pubkey):
    errors = f.config_errors(config(pubkey, env_name="X", nat_mode="x", admin_cidrs=[]))
    assert [e.split(":")[0] for e in errors] == ["env_name", "nat_mode", "admin_cidrs"]


def test_world_ssh_allowed_on_purpose(pubkey):
    assert f.config_errors(config(pubkey, admin_cidrs=["0.0.0.0/0"], allow_world_ssh=True)) == []


def test_no_vpn_host_needed_without_openvpn(pubkey):
    cfg = config(pubkey, vpn_provider="client_vpn")
    del cfg["instances"]["vpn"]
    assert f.config_errors(cfg) == []


class TestSshKey:
    def test_missing_file(self, tmp_path):
        assert "does not exist" in f.ssh_public_key_errors(str(tmp_path / "nope.pub"))[0]

    def test_private_key_instead_of_public(self, pubkey):
        assert "PRIVATE key" in f.ssh_public_key_errors(str(pubkey))[0]

    def test_type_does_not_match_body(self, pubkey, tmp_path):
        body = pubkey.with_suffix(".pub").read_text().split()[1]
        wrong = tmp_path / "wrong.pub"
        wrong.write_text(f"ssh-rsa {body} me\n")
        assert "holds a ssh-ed25519 key" in f.ssh_public_key_errors(str(wrong))[0]

    def test_damaged_body(self, tmp_path):
        bad = tmp_path / "bad.pub"
        bad.write_text("ssh-ed25519 AAAA!!!! me\n")
        assert "damaged" in f.ssh_public_key_errors(str(bad))[0]

    def test_home_is_expanded(self, pubkey, monkeypatch):
        monkeypatch.setenv("HOME", str(pubkey.parent))
        assert f.ssh_public_key_errors("~/id.pub") == []


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("ab", "not a legal bucket name"),
        ("a" * 64, "not a legal bucket name"),
        ("My-Bucket", "not a legal bucket name"),
        ("-bucket", "not a legal bucket name"),
        ("research.env.data", "contains dots"),
        ("xn--bucket", "reserved prefix"),
        ("sthree-data", "reserved prefix"),
        ("data-s3alias", "reserved suffix"),
        ("data--ol-s3", "reserved suffix"),
        ("192.168.5.4", "looks like an IP address"),
    ],
)
def test_bad_bucket_names(name, fragment):
    errors = f.bucket_name_errors(name)
    assert errors and fragment in " ".join(errors), errors
    assert all(e.startswith("notebooks_bucket:") for e in errors)


def test_good_bucket_name():
    assert f.bucket_name_errors("researchenv-notebooks-123456789012") == []


def test_split_cidrs():
    assert f.split_cidrs(["203.0.113.10/32", "2001:db8::/48"]) == {
        "ipv4": ["203.0.113.10/32"],
        "ipv6": ["2001:db8::/48"],
    }
