"""The configuration checks of preflight, as plain functions."""

from __future__ import annotations

import copy
import ipaddress
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible_collections.research_env.core.plugins.filter import preflight as f
from ansible_collections.research_env.core.plugins.filter.preflight_settings import (
    bucket_name_errors,
    bucket_names_errors,
    read_buckets_errors,
)
from ansible_collections.research_env.core.plugins.filter.preflight_ssh_key import ssh_public_key_errors

REPO = Path(__file__).resolve().parents[2]

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
    "client_vpn_cidr": "10.100.0.0/22",
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
        ({"jupyter_port": "eighty"}, "jupyter_port:"),
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
        # A misspelt key would be ignored and the default it meant to replace used.
        ({"instances__jupyter__ami": "ami-0123456789abcdef0"}, "instances.jupyter.ami: unknown setting"),
        ({"instances__vpn__volume_size": 100}, "instances.vpn.volume_size: unknown setting"),
        ({"subnets__research__Public": True}, "subnets.research.Public: unknown setting"),
        ({"instances__vpn__ami_id": "ubuntu"}, "instances.vpn.ami_id:"),
        ({"instances__vpn__subnet": "production"}, "instances.vpn.subnet: the VPN server belongs in the dmz"),
        ({"instances__gpu": {"type": "g5.xlarge"}}, "instances.gpu: unknown host role"),
        ({"destroy_data": "maybe"}, "destroy_data:"),
        ({"research_team": [{"username": "Alice"}]}, "research_team[0].username:"),
        ({"research_team": [{"username": "alice"}, {"username": "alice"}]}, "research_team[1].username:"),
        ({"research_team": {"alice": {}}}, "research_team:"),
        ({"vpn_public_hostname": "https://vpn.example.org"}, "vpn_public_hostname:"),
        # The addresses VPN clients get: outside the VPC, a block the provider takes.
        ({"vpn_provider": "openvpn", "client_vpn_cidr": "10.0.8.0/24"}, "client_vpn_cidr: 10.0.8.0/24 overlaps"),
        ({"vpn_provider": "openvpn", "client_vpn_cidr": "10.100.0.1/22"}, "client_vpn_cidr: '10.100.0.1/22'"),
        ({"vpn_provider": "openvpn", "client_vpn_cidr": "10.100.0.0/30"}, "client_vpn_cidr: /30"),
        ({"vpn_provider": "openvpn", "client_vpn_cidr": None}, "client_vpn_cidr: None"),
        ({"vpn_provider": "client_vpn", "client_vpn_cidr": "10.100.0.0/24"}, "client_vpn_cidr: /24"),
        ({"vpn_provider": "client_vpn", "client_vpn_valid_days": 0}, "client_vpn_valid_days: 0"),
        ({"vpn_provider": "openvpn", "instances__vpn__subnet": "research"}, "instances.vpn.subnet:"),
        # The image pipeline's settings are judged only when it is on.
        ({"lambda_pipeline": "maybe"}, "lambda_pipeline: 'maybe' is not true or false"),
        ({"lambda_pipeline": True, "lambda_pipeline_suffix": None}, "lambda_pipeline_suffix: None"),
        ({"lambda_pipeline": True, "lambda_pipeline_prefix": "in/\n"}, "lambda_pipeline_prefix:"),
        ({"lambda_pipeline": True, "lambda_pipeline_runtime": "python3.9"}, "lambda_pipeline_runtime:"),
        ({"lambda_pipeline": True, "lambda_pipeline_runtime": "nodejs22.x"}, "lambda_pipeline_runtime:"),
        ({"lambda_pipeline": True, "lambda_pipeline_memory_mb": 64}, "lambda_pipeline_memory_mb: 64"),
        ({"lambda_pipeline": True, "lambda_pipeline_timeout_seconds": 901}, "lambda_pipeline_timeout_seconds:"),
        ({"lambda_pipeline": True, "lambda_pipeline_log_retention_days": 10}, "lambda_pipeline_log_retention_days:"),
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


@pytest.mark.parametrize("provider", ["openvpn_as", "openvpn"])
def test_an_openvpn_server_needs_the_vpn_host(pubkey, provider):
    cfg = config(pubkey, vpn_provider=provider, client_vpn_cidr="10.100.0.0/22")
    del cfg["instances"]["vpn"]
    one_error(cfg, f"instances.vpn: vpn_provider {provider} needs a vpn host")


@pytest.mark.parametrize(
    ("provider", "cidr"),
    [
        ("openvpn", "10.8.0.0/24"),
        ("openvpn", "172.16.0.0/12"),
        ("client_vpn", "10.100.0.0/22"),
        ("openvpn_as", "10.0.0.0/24"),
    ],
)
def test_vpn_client_addresses_that_fit(pubkey, provider, cidr):
    """openvpn_as keeps its own client ranges: client_vpn_cidr is not read (nor checked) for it."""
    assert f.config_errors(config(pubkey, vpn_provider=provider, client_vpn_cidr=cidr)) == []


def test_no_vpn_host_needed_without_openvpn(pubkey):
    cfg = config(pubkey, vpn_provider="client_vpn")
    del cfg["instances"]["vpn"]
    assert f.config_errors(cfg) == []


class TestSshKey:
    def test_missing_file(self, tmp_path):
        assert "does not exist" in ssh_public_key_errors(str(tmp_path / "nope.pub"))[0]

    def test_private_key_instead_of_public(self, pubkey):
        assert "PRIVATE key" in ssh_public_key_errors(str(pubkey))[0]

    def test_type_does_not_match_body(self, pubkey, tmp_path):
        body = pubkey.with_suffix(".pub").read_text().split()[1]
        wrong = tmp_path / "wrong.pub"
        wrong.write_text(f"ssh-rsa {body} me\n")
        assert "holds a ssh-ed25519 key" in ssh_public_key_errors(str(wrong))[0]

    def test_damaged_body(self, tmp_path):
        bad = tmp_path / "bad.pub"
        bad.write_text("ssh-ed25519 AAAA!!!! me\n")
        assert "damaged" in ssh_public_key_errors(str(bad))[0]

    def test_home_is_expanded(self, pubkey, monkeypatch):
        monkeypatch.setenv("HOME", str(pubkey.parent))
        assert ssh_public_key_errors("~/id.pub") == []


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
    errors = bucket_name_errors(name)
    assert errors and fragment in " ".join(errors), errors
    assert all(e.startswith("notebooks_bucket:") for e in errors)


def test_good_bucket_name():
    assert bucket_name_errors("researchenv-notebooks-123456789012") == []


ADMIN = GOOD["admin_cidrs"][0]


def one_error(cfg: dict, variable: str) -> str:
    errors = f.config_errors(cfg)
    assert len(errors) == 1, errors
    assert errors[0].startswith(variable), errors
    return errors[0]


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"env_name": "lab\n"}, "env_name:"),
        ({"aws_region": "us-east-1\n"}, "aws_region:"),
        ({"project_name": "research-env\n"}, "project_name:"),
        ({"availability_zone": "us-east-1a\n"}, "availability_zone:"),
        ({"vpc_cidr": "10.0.0.0/16\n"}, "vpc_cidr:"),
        ({"subnets__dmz__cidr": "10.0.1.0/24\n"}, "subnets.dmz.cidr:"),
        ({"admin_cidrs": [ADMIN + "\n"]}, "admin_cidrs[0]:"),
        ({"instances__vpn__type": "t3.small\n"}, "instances.vpn.type:"),
        ({"instances__vpn__ami_id": "ami-0123456789abcdef0\n"}, "instances.vpn.ami_id:"),
        ({"extra_tags": {"CostCenter\n": "1234"}}, "extra_tags:"),
        ({"extra_tags": {"CostCenter": "1234\n"}}, "extra_tags.CostCenter:"),
        ({"ami_owner": "099720109477\n"}, "ami_owner:"),
        ({"ami_name_filter": "ubuntu/images/*noble*\n"}, "ami_name_filter:"),
        ({"jupyter_port": "9999\n"}, "jupyter_port:"),
        ({"kms_deletion_window_days": "7\n"}, "kms_deletion_window_days:"),
        ({"security_group_rules_quota": "60\n"}, "security_group_rules_quota:"),
        ({"instances__vpn__volume_gb": "20\n"}, "instances.vpn.volume_gb:"),
        ({"destroy_data": "true\n"}, "destroy_data:"),
    ],
)
def test_a_trailing_newline_is_refused(pubkey, changes, variable):
    message = one_error(config(pubkey, **changes), variable)
    assert "\\n" in message  # the value is shown with its newline visible


def test_a_trailing_newline_in_the_bucket_name_is_refused():
    assert bucket_name_errors("researchenv-notebooks-123456789012\n")


def subnets_in(vpc: str) -> dict:
    """The three tiers as the first three /24s (or smaller) of a VPC block."""
    net = ipaddress.ip_network(vpc)
    blocks = list(net.subnets(new_prefix=min(max(net.prefixlen + 2, 24), 28)))[:3]
    return {
        tier: {"cidr": str(block), "public": tier != "research"}
        for tier, block in zip(("dmz", "production", "research"), blocks, strict=True)
    }


@pytest.mark.parametrize(
    ("vpc", "reserved"),
    [
        ("0.0.0.0/16", "0.0.0.0/8"),
        ("127.0.0.0/16", "127.0.0.0/8"),
        ("127.10.0.0/24", "127.0.0.0/8"),
        ("169.254.0.0/16", "169.254.0.0/16"),
        ("172.17.0.0/16", "172.17.0.0/16"),
        ("172.17.200.0/24", "172.17.0.0/16"),
        ("224.0.0.0/16", "224.0.0.0/4"),
        ("239.255.0.0/16", "224.0.0.0/4"),
        ("240.0.0.0/16", "240.0.0.0/4"),
        ("255.255.255.192/26", "240.0.0.0/4"),
    ],
)
def test_vpc_ranges_aws_refuses_or_that_cannot_work(pubkey, vpc, reserved):
    message = one_error(config(pubkey, vpc_cidr=vpc, subnets=subnets_in(vpc)), "vpc_cidr:")
    assert f"is in {reserved}" in message and "RFC 1918" in message


def test_a_reserved_vpc_of_a_wrong_size_gets_one_message(pubkey):
    message = one_error(config(pubkey, vpc_cidr="127.0.0.0/8"), "vpc_cidr:")
    assert "of /16 to /28, e.g. 10.0.0.0/16" in message


def test_subnets_are_judged_alone_when_the_vpc_is_unusable(pubkey):
    errors = f.config_errors(config(pubkey, vpc_cidr="nonsense", subnets__dmz__cidr="127.0.1.0/24"))
    assert [e.split(":")[0] for e in errors] == ["vpc_cidr", "subnets.dmz.cidr"], errors


@pytest.mark.parametrize(
    "vpc",
    [
        "10.0.0.0/16",
        "10.255.255.0/24",
        "172.16.0.0/16",
        "172.18.0.0/16",
        "172.31.0.0/16",
        "192.168.0.0/16",
        "100.64.0.0/16",
        "198.19.0.0/16",
        "203.0.113.0/24",
        "10.0.0.0/26",
    ],
)
def test_vpc_ranges_aws_allows(pubkey, vpc):
    assert f.config_errors(config(pubkey, vpc_cidr=vpc, subnets=subnets_in(vpc))) == []


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("10.0.0.0/255.255.0.0", "is not a valid CIDR block"),
        ("10.0.0.0/016", "is not a valid CIDR block"),
        ("010.0.0.0/16", "is not a valid CIDR block"),
        ("10.0.0.0", "has no prefix length. Write it as address/prefix, e.g. 10.0.0.0/16"),
        (" 10.0.0.0/16", "has spaces or a line break in it. Write it alone: 10.0.0.0/16."),
        ("10.0.0.0 /16", "has spaces or a line break in it"),
        ("", "is empty"),
        (167772160, "is not a string"),
        (None, "is not a string"),
    ],
)
def test_vpc_cidr_written_the_way_aws_takes_it(pubkey, value, fragment):
    assert fragment in one_error(config(pubkey, vpc_cidr=value), "vpc_cidr:")


@pytest.mark.parametrize(
    ("cidrs", "variable", "fragment"),
    [
        # The whole internet (or most of it) in pieces.
        ([f"{i}.0.0.0/8" for i in range(256)], "admin_cidrs:", "together the blocks cover 4,294,967,296 addresses"),
        (["1.0.0.0/8", "2.0.0.0/8"], "admin_cidrs:", "together the blocks cover 33,554,432 addresses"),
        (["0.0.0.0/7"], "admin_cidrs[0]:", "opens SSH"),
        # Duplicates and blocks inside other blocks.
        ([ADMIN, ADMIN], "admin_cidrs[1]:", "listed twice (also admin_cidrs[0])"),
        ([ADMIN, "198.51.100.0/24", ADMIN], "admin_cidrs[2]:", "InvalidPermission.Duplicate"),
        (["203.0.113.0/24", ADMIN], "admin_cidrs[1]:", "is inside admin_cidrs[0] 203.0.113.0/24"),
        ([ADMIN, "203.0.113.0/24"], "admin_cidrs[0]:", "is inside admin_cidrs[1] 203.0.113.0/24"),
        # IPv6 and IPv4 written as IPv6.
        (["::/0"], "admin_cidrs[0]:", "is IPv6, but the VPC is IPv4-only"),
        (["2001:db8::/48"], "admin_cidrs[0]:", "checkip.amazonaws.com"),
        (["2001:db8::1/128"], "admin_cidrs[0]:", "is IPv6"),
        (["fe80::1/64"], "admin_cidrs[0]:", "is IPv6"),
        (["::ffff:0.0.0.0/96"], "admin_cidrs[0]:", "IPv4-mapped IPv6 form of 0.0.0.0/0"),
        (["::ffff:203.0.113.10/128"], "admin_cidrs[0]:", "Write the IPv4 block itself: 203.0.113.10/32"),
        (["::ffff:cb00:7100/120"], "admin_cidrs[0]:", "IPv4-mapped IPv6 form of 203.0.113.0/24"),
        (["::203.0.113.10/128"], "admin_cidrs[0]:", "IPv4-compatible"),
        # How each entry is written.
        ([42], "admin_cidrs[0]:", "is not a string"),
        ([None], "admin_cidrs[0]:", "is not a string"),
        ([["203.0.113.10/32"]], "admin_cidrs[0]:", "is not a string"),
        ([" 203.0.113.10/32"], "admin_cidrs[0]:", "Write it alone: 203.0.113.10/32"),
        (["203.0.113.10/32\n"], "admin_cidrs[0]:", "line break"),
        (["203.0.113.10/32\t"], "admin_cidrs[0]:", "line break"),
        (["203.0.113.10"], "admin_cidrs[0]:", "e.g. 203.0.113.10/32"),
        (["203.0.113.10/33"], "admin_cidrs[0]:", "is not a valid CIDR block"),
        (["203.0.113.10/24"], "admin_cidrs[0]:", "Use the network address: 203.0.113.0/24"),
        ([""], "admin_cidrs[0]:", "is empty"),
        ("203.0.113.10/32", "admin_cidrs:", "is a string, not a list"),
        ({"office": ADMIN}, "admin_cidrs:", "must list"),
    ],
)
def test_hostile_admin_cidrs(pubkey, cidrs, variable, fragment):
    assert fragment in one_error(config(pubkey, admin_cidrs=cidrs), variable)


def test_each_world_block_is_named(pubkey):
    errors = f.config_errors(config(pubkey, admin_cidrs=["0.0.0.0/1", "128.0.0.0/1"]))
    assert [e.split(" opens SSH")[0] for e in errors] == ["admin_cidrs[0]: 0.0.0.0/1", "admin_cidrs[1]: 128.0.0.0/1"]


def test_nested_admin_blocks_name_the_widest(pubkey):
    errors = f.config_errors(config(pubkey, admin_cidrs=["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24"]))
    assert errors == [
        "admin_cidrs[1]: 10.1.0.0/16 is inside admin_cidrs[0] 10.0.0.0/8, so its rule would let no one new in. "
        "Remove it (or narrow admin_cidrs[0] if it is wider than you meant).",
        "admin_cidrs[2]: 10.1.2.0/24 is inside admin_cidrs[0] 10.0.0.0/8, so its rule would let no one new in. "
        "Remove it (or narrow admin_cidrs[0] if it is wider than you meant).",
    ]


def test_a_block_inside_a_world_block_is_not_reported_twice(pubkey):
    one_error(config(pubkey, admin_cidrs=["0.0.0.0/0", ADMIN]), "admin_cidrs[0]: 0.0.0.0/0 opens SSH")


def test_duplicates_and_ipv6_hide_nothing_else(pubkey):
    errors = f.config_errors(config(pubkey, admin_cidrs=[ADMIN, ADMIN, "::/0", "0.0.0.0/0", "bad"]))
    assert [e.split(":")[0] for e in errors] == ["admin_cidrs[1]", "admin_cidrs[2]", "admin_cidrs[4]", "admin_cidrs[3]"]


def addresses(count: int) -> list[str]:
    return [f"198.51.{i // 256}.{i % 256}/32" for i in range(count)]


@pytest.mark.parametrize(
    ("count", "vpn_provider", "quota", "refused"),
    [
        # openvpn_as: SSH and the admin UI (943) per block, 443 and 1194 from anywhere: 2n + 2 rules.
        (29, "openvpn_as", None, False),
        (30, "openvpn_as", None, True),
        (60, "client_vpn", None, False),
        (61, "none", None, True),
        (49, "openvpn_as", 100, False),
        (50, "openvpn_as", "100", True),
        (499, "openvpn_as", "1000", False),
        # openvpn: SSH per block, 1194/udp from anywhere: n + 1 rules.
        (59, "openvpn", None, False),
        (60, "openvpn", None, True),
    ],
)
def test_admin_blocks_must_fit_the_dmz_security_group(pubkey, count, vpn_provider, quota, refused):
    cfg = config(pubkey, admin_cidrs=addresses(count), vpn_provider=vpn_provider, client_vpn_cidr="10.100.0.0/22")
    if vpn_provider not in ("openvpn_as", "openvpn"):
        del cfg["instances"]["vpn"]
    if quota is not None:
        cfg["security_group_rules_quota"] = quota
    errors = f.config_errors(cfg)
    if refused:
        assert len(errors) == 1 and errors[0].startswith(f"admin_cidrs: {count} IPv4 blocks"), errors
        assert "security_group_rules_quota" in errors[0]
        assert ("943/tcp, the admin UI" in errors[0]) == (vpn_provider == "openvpn_as")
        assert ("1194/udp from anywhere (vpn_provider openvpn)" in errors[0]) == (vpn_provider == "openvpn")
    else:
        assert errors == []


@pytest.mark.parametrize("quota", [0, 1001, -1, "0x10", "60.0", 60.0, True, "", " 60", None, [60]])
def test_bad_security_group_rules_quota(pubkey, quota):
    one_error(config(pubkey, security_group_rules_quota=quota), "security_group_rules_quota:")


@pytest.mark.parametrize(
    "cidrs",
    [
        ["10.0.0.0/8"],
        ["1.0.0.0/9", "1.128.0.0/9"],
        [ADMIN, "198.51.100.0/24", "192.0.2.7/32"],
        ["127.0.0.1/32"],  # lab mode's admin is this machine
    ],
)
def test_good_admin_cidrs(pubkey, cidrs):
    assert f.config_errors(config(pubkey, admin_cidrs=cidrs)) == []


# 29 blocks: as many as the dmz group holds with openvpn_as (SSH and 943 per block, 443 and 1194).
@pytest.mark.parametrize("cidrs", [["0.0.0.0/0"], ["0.0.0.0/1", "128.0.0.0/1"], [f"{i}.0.0.0/8" for i in range(29)]])
def test_world_in_pieces_allowed_on_purpose(pubkey, cidrs):
    assert f.config_errors(config(pubkey, admin_cidrs=cidrs, allow_world_ssh=True)) == []


def many_tags(count: int) -> dict[str, str]:
    return {f"Key{i}": "value" for i in range(count)}


@pytest.mark.parametrize(
    ("tags", "variable", "fragment"),
    [
        (many_tags(45), "extra_tags:", "45 tags, but AWS takes at most 50"),
        ({"K" * 129: "v"}, "extra_tags:", "has 129 characters; AWS takes 1 to 128"),
        ({"": "v"}, "extra_tags:", "has 0 characters"),
        ({"CostCenter": "x" * 257}, "extra_tags.CostCenter:", "257 characters, but AWS takes at most 256"),
        ({"CostCenter": "1234#5"}, "extra_tags.CostCenter:", "'#' (U+0023)"),
        ({"Owner": "alice <a@example.org>"}, "extra_tags.Owner:", "'<' (U+003C)"),
        ({"Team": "data 🧪"}, "extra_tags.Team:", "U+1F9EA"),
        ({"Team": "a\tb"}, "extra_tags.Team:", "U+0009"),
        ({"Team": "e\u0301"}, "extra_tags.Team:", "U+0301"),
        ({"Team": "a\u2028b"}, "extra_tags.Team:", "U+2028"),
        ({"Cost*Center": "1"}, "extra_tags:", "'*' (U+002A)"),
        ({"aws:owner": "x"}, "extra_tags:", "starts with 'aws:'"),
        ({"AWS:Owner": "x"}, "extra_tags:", "starts with 'aws:'"),
        ({"Aws:Owner": "x"}, "extra_tags:", "starts with 'aws:'"),
        ({"Owner": "aws:me"}, "extra_tags.Owner:", "starts with 'aws:'"),
        ({"Owner": "AWS:me"}, "extra_tags.Owner:", "starts with 'aws:'"),
        ({"CostCenter": 1234}, "extra_tags.CostCenter:", "is not a string"),
        ({"CostCenter": None}, "extra_tags.CostCenter:", "is not a string"),
        ({"CostCenter": True}, "extra_tags.CostCenter:", "is not a string"),
        ({1234: "x"}, "extra_tags:", "is not a string"),
        ({"Environment": "prod"}, "extra_tags.Environment:", "set by research-env itself"),
        ({"environment": "prod"}, "extra_tags.environment:", "research-env's own Environment"),
        ({"MANAGEDBY": "me"}, "extra_tags.MANAGEDBY:", "research-env's own ManagedBy"),
        ({"name": "x"}, "extra_tags.name:", "research-env's own Name"),
        ({"tier": "x"}, "extra_tags.tier:", "research-env's own Tier"),
        ({"CostCenter": "1", "costcenter": "2"}, "extra_tags.costcenter:", "same key as extra_tags.CostCenter"),
        ("CostCenter=1234", "extra_tags:", "is not a mapping"),
    ],
)
def test_hostile_extra_tags(pubkey, tags, variable, fragment):
    assert fragment in one_error(config(pubkey, extra_tags=tags), variable)


@pytest.mark.parametrize(
    "tags",
    [
        many_tags(44),
        {"K" * 128: "v" * 256},
        {"CostCenter": ""},
        {"Cost Center": "Research & IT".replace("&", "and")},
        {"Kostenstelle": "Forschung-Ä_1", "部門": "研究", "é": "ü ß", "x:y/z=+-@._": "a:b/c=d+e-f@g.h_i"},
        {"Owner": "alice@example.org"},
        {"Note": "thin\u00a0space and ideographic\u3000space"},
    ],
)
def test_good_extra_tags(pubkey, tags):
    assert f.config_errors(config(pubkey, extra_tags=tags)) == []


@pytest.mark.parametrize(
    ("project", "fragment"),
    [
        ("p" * 257, "257 characters"),
        ("research env!", "'!' (U+0021)"),
        ("aws:research", "starts with 'aws:'"),
        ("", "empty"),
        (None, "is not a string"),
        (42, "is not a string"),
    ],
)
def test_project_name_is_a_tag_value(pubkey, project, fragment):
    assert fragment in one_error(config(pubkey, project_name=project), "project_name:")


def test_project_name_may_be_a_long_unicode_tag_value(pubkey):
    assert f.config_errors(config(pubkey, project_name="Étude génomique 2026 / " + "x" * 200)) == []


# --- Integers and booleans from the command line ---------------------------------------------------

INT_SETTINGS = [
    ("jupyter_port", "9999", 9999),
    ("filegator_port", "8081", 8081),
    ("kms_deletion_window_days", "7", 7),
    ("security_group_rules_quota", "100", 100),
    ("instances__vpn__volume_gb", "40", 40),
]


@pytest.mark.parametrize(("setting", "text", "number"), INT_SETTINGS)
def test_integers_given_as_decimal_strings_are_accepted(pubkey, setting, text, number):
    assert f.config_errors(config(pubkey, **{setting: text})) == []
    assert f.config_errors(config(pubkey, **{setting: number})) == []


@pytest.mark.parametrize(("setting", "text", "number"), INT_SETTINGS)
@pytest.mark.parametrize(
    "bad",
    [
        True,
        False,
        9999.0,
        "9999.0",
        "",
        " 9999",
        "9999 ",
        "+9999",
        "-9999",
        "1e3",
        "0x22b8",
        "9_999",
        "\uff19\uff19\uff19\uff19",
    ],
)
def test_integers_that_are_not_plain_decimal_are_refused(pubkey, setting, text, number, bad):
    variable = setting.replace("__", ".") + ":"
    one_error(config(pubkey, **{setting: bad}), variable)


def test_a_filegator_backup_needs_a_filegator_host(pubkey):
    cfg = config(pubkey, filegator_backup=True)
    assert f.config_errors(cfg) == []
    del cfg["instances"]["filegator"]
    one_error(cfg, "filegator_backup: true, but instances has no filegator host")
    cfg["filegator_backup"] = False
    assert f.config_errors(cfg) == []


def test_a_string_port_still_may_not_equal_the_other(pubkey):
    one_error(config(pubkey, jupyter_port="8080", filegator_port=8080), "filegator_port: equals jupyter_port")


@pytest.mark.parametrize("setting", ["allow_world_ssh", "destroy_data", "efs_enabled", "filegator_backup"])
@pytest.mark.parametrize("word", ["true", "false", "yes", "no", "on", "off", "1", "0", "True", "FALSE"])
def test_booleans_given_as_the_words_of_ansibles_bool_filter(pubkey, setting, word):
    assert f.config_errors(config(pubkey, **{setting: word})) == []


@pytest.mark.parametrize("setting", ["allow_world_ssh", "destroy_data", "efs_enabled", "filegator_backup"])
@pytest.mark.parametrize("word", [" true", "true\n", "y", "t", "enabled", "", 1, 0, 1.0, None])
def test_booleans_the_bool_filter_would_misread_are_refused(pubkey, setting, word):
    # `| bool` reads " true" as false (with a deprecation warning): preflight must not read it as true.
    one_error(config(pubkey, **{setting: word}), f"{setting}:")


@pytest.mark.parametrize(
    ("setting", "variable"),
    [("subnets__dmz__public", "subnets.dmz.public:"), ("instances__voila__eip", "instances.voila.eip:")],
)
def test_nested_booleans_stay_real_booleans(pubkey, setting, variable):
    # The playbooks test these as they are (`if item.value.public`, `selectattr('value.eip')`), where
    # the string "false" counts as true.
    one_error(config(pubkey, **{setting: "false"}), variable)


# --- Other names and values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"availability_zone": "us-east-1"}, "availability_zone:"),
        ({"availability_zone": "us-east-1aa"}, "availability_zone:"),
        ({"availability_zone": "us-east-1-bos-1a"}, "availability_zone:"),
        ({"availability_zone": "us-east-1A"}, "availability_zone:"),
        ({"availability_zone": 1}, "availability_zone:"),
        ({"aws_region": "us-east-12"}, "aws_region:"),
        ({"aws_region": "us-east-\uff11"}, "aws_region:"),
        ({"instances__vpn__ami_id": "ami-0123456789"}, "instances.vpn.ami_id:"),
        ({"instances__vpn__ami_id": "ami-0123456789ABCDEF0"}, "instances.vpn.ami_id:"),
        ({"instances__vpn__subnet": ["dmz"]}, "instances.vpn.subnet:"),
        ({"instances__vpn__subnet": None}, "instances.vpn.subnet:"),
        ({"ami_owner": "09972010947\uff17"}, "ami_owner:"),
        ({"ami_owner": 99720109477}, "ami_owner:"),
        ({"ami_name_filter": " ubuntu/*"}, "ami_name_filter:"),
        ({"ami_name_filter": ""}, "ami_name_filter:"),
        ({"env_name": "lab--x"}, "env_name:"),
        ({"env_name": "\uff4c\uff41\uff42"}, "env_name:"),
        ({"subnets__dmz__cidr": "10.0.1.0/15"}, "subnets.dmz.cidr:"),
    ],
)
def test_other_hostile_values(pubkey, changes, variable):
    one_error(config(pubkey, **changes), variable)


@pytest.mark.parametrize(
    "changes",
    [
        {"availability_zone": "us-east-1f"},
        {"aws_region": "eu-west-1", "inventory_region": "eu-west-1", "availability_zone": "eu-west-1c"},
        {"aws_region": "us-gov-west-1", "inventory_region": "us-gov-west-1"},
        {"instances__vpn__ami_id": "ami-0123abcd"},
        {"instances__vpn__type": "c7gn.16xlarge"},
        {"instances__vpn__type": "u-6tb1.metal"},
        {"ami_owner": "amazon"},
        {"ami_name_filter": "al2023-ami-2023.*-kernel-6.1-x86_64"},
    ],
)
def test_other_good_values(pubkey, changes):
    assert f.config_errors(config(pubkey, **changes)) == []


def test_a_bad_region_is_reported_once(pubkey):
    cfg = config(pubkey, aws_region="mars-1", availability_zone="us-east-1a")
    cfg["inventory_region"] = "us-east-1"
    one_error(cfg, "aws_region:")


def test_one_bucket_name_one_message():
    assert len(bucket_name_errors("192.168.5.4")) == 1


# The settings playbooks/preflight.yml hands the filter (besides the key file and the inventory's).
PREFLIGHT_KEYS = [
    "env_name",
    "project_name",
    "aws_region",
    "extra_tags",
    "vpc_cidr",
    "subnets",
    "availability_zone",
    "admin_cidrs",
    "allow_world_ssh",
    "security_group_rules_quota",
    "nat_mode",
    "vpn_provider",
    "vpn_public_hostname",
    "client_vpn_cidr",
    "research_team",
    "jupyter_port",
    "filegator_port",
    "instances",
    "destroy_data",
    "efs_enabled",
    "filegator_backup",
    "kms_deletion_window_days",
    "ami_owner",
    "ami_name_filter",
    "configure_connect_timeout",
    "voila_public_url",
    "teardown_key_scan_limit",
    "cost_months",
    "cost_compare_instance_types",
    "cost_price_source",
    "cost_price_cache_days",
    "cost_prices",
    "cost_deploy_hours_per_month",
    "cost_vpn_hours_per_member_month",
    "cost_lambda_requests_per_month",
    "cost_assumed_start",
    "budget_monthly_usd",
    "budget_emails",
    "stop_schedule",
    "start_schedule",
    "stop_schedule_roles",
]

ODD_VALUES = [None, 0, 1, True, 1.5, "", "x\n", [], ["a"], {}, {"a": 1}, {1: 2}, [[1]]]


@pytest.mark.parametrize(
    "setting",
    [
        *PREFLIGHT_KEYS,
        "subnets__dmz",
        "subnets__dmz__cidr",
        "instances__vpn",
        "instances__vpn__subnet",
        "instances__vpn__volume_gb",
        "instances__vpn__eip",
    ],
)
def test_odd_types_are_reported_not_raised(pubkey, setting):
    for value in ODD_VALUES:
        errors = f.config_errors(config(pubkey, **{setting: copy.deepcopy(value)}))
        assert all(isinstance(e, str) and ":" in e for e in errors)


# --- The shipped configurations are clean ------------------------------------------------------------


def shipped(*files: str) -> dict:
    """What preflight.yml hands the filter, from the YAML files a run reads."""
    values: dict = {}
    for name in files:
        values.update(yaml.safe_load((REPO / name).read_text()))
    # A templated value ("http://127.0.0.1:{{ lab_voila_port }}/") is checked once rendered, in the runs
    # of the integration and end-to-end tests.
    return {key: values[key] for key in PREFLIGHT_KEYS if key in values and "{{" not in str(values[key])}


def test_group_vars_defaults_are_clean(pubkey):
    cfg = shipped("group_vars/all/main.yml") | {"ssh_public_key_file": str(pubkey.with_suffix(".pub"))}
    assert f.config_errors(cfg) == []


def test_lab_settings_are_clean(pubkey):
    cfg = shipped("group_vars/all/main.yml", "lab/lab.yml") | {"ssh_public_key_file": str(pubkey.with_suffix(".pub"))}
    assert cfg["env_name"] == "lab" and cfg["admin_cidrs"] == ["127.0.0.1/32"]
    assert f.config_errors(cfg) == []


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"configure_connect_timeout": "ten minutes"}, "configure_connect_timeout:"),
        ({"configure_connect_timeout": 0}, "configure_connect_timeout:"),
        ({"voila_public_url": 42}, "voila_public_url:"),
        ({"voila_public_url": "dashboards.example.org"}, "voila_public_url:"),
        ({"voila_public_url": "https://dashboards.example.org"}, "voila_public_url:"),
        ({"teardown_key_scan_limit": "lots"}, "teardown_key_scan_limit:"),
        ({"teardown_key_scan_limit": -1}, "teardown_key_scan_limit:"),
        ({"cost_prices": [1, 2]}, "cost_prices:"),
        ({"cost_prices": {"instance_hour": {"t3.small": "cheap"}}}, "cost_prices.instance_hour.t3.small:"),
        ({"cost_prices": {"ebs_gp3_gb_month": -1}}, "cost_prices.ebs_gp3_gb_month:"),
        ({"cost_prices": {"gp3": 0.08}}, "cost_prices.gp3: unknown price"),
        ({"cost_months": 0}, "cost_months:"),
        ({"cost_price_source": "guess"}, "cost_price_source:"),
        ({"budget_monthly_usd": -5}, "budget_monthly_usd:"),
        ({"budget_monthly_usd": 100}, "budget_emails: empty"),
        ({"stop_schedule": "cron(0 20 * * MON *)"}, "stop_schedule:"),
        ({"stop_schedule": "cron(0 20 * * ? *)", "stop_schedule_roles": ["lab"]}, "stop_schedule_roles[0]:"),
    ],
)
def test_settings_read_after_the_infra_exists_are_checked_before(pubkey, changes, variable):
    one_error(config(pubkey, **changes), variable)


@pytest.mark.parametrize(
    "changes",
    [
        {"configure_connect_timeout": "900"},
        {"voila_public_url": "https://dashboards.example.org/"},
        {"voila_public_url": "http://127.0.0.1:28080/"},
        {"teardown_key_scan_limit": "0"},
        {"cost_prices": {"instance_hour": {"t3.small": 0.02}, "nat_gateway_hour": 0}},
        {"stop_schedule": "cron(0 20 * * ? *)", "start_schedule": "cron(0 8 ? * MON-FRI *)"},
        {"budget_monthly_usd": "250", "budget_emails": ["pi@example.org"]},
    ],
)
def test_good_run_settings(pubkey, changes):
    assert f.config_errors(config(pubkey, **changes)) == []


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (True, True),
        ("yes", True),
        ("FALSE", True),
        ("0", True),
        (" true", False),
        ("maybe", False),
        (None, False),
        (1.0, False),
    ],
)
def test_bool_errors(value, ok):
    assert (f.bool_errors(value, "destroy_data") == []) is ok


def test_pipeline_settings_are_not_judged_while_it_is_off(pubkey):
    assert f.config_errors(config(pubkey, lambda_pipeline=False, lambda_pipeline_memory_mb=1)) == []
    good = {"lambda_pipeline": True, "lambda_pipeline_prefix": "", "lambda_pipeline_suffix": ".png"}
    assert f.config_errors(config(pubkey, **good)) == []


def test_every_bucket_name_is_legal_and_its_own():
    ok = {"notebooks_bucket": "e-notebooks-1", "lambda_pipeline_input_bucket": "e-in-1"}
    assert bucket_names_errors(ok) == []
    assert bucket_names_errors(ok | {"lambda_pipeline_output_bucket": "e-in-1"}) == [
        "lambda_pipeline_output_bucket: e-in-1 is also lambda_pipeline_input_bucket. Give every bucket its own name."
    ]
    (error,) = bucket_names_errors(ok | {"lambda_pipeline_output_bucket": "E_Out"})
    assert error.startswith("lambda_pipeline_output_bucket: 'E_Out' is not a legal bucket name")


def test_read_buckets_exact_legal_names_once(pubkey):
    """s3_endpoint_read_buckets: other accounts' buckets by exact name (dots allowed: not ours)."""
    assert read_buckets_errors([]) == []
    assert read_buckets_errors(["noaa-ghcn-pds", "open.data.example"]) == []
    (not_a_list,) = read_buckets_errors("noaa-ghcn-pds")
    assert not_a_list.startswith("s3_endpoint_read_buckets: 'noaa-ghcn-pds' is not a list of bucket names.")
    (wild,) = read_buckets_errors(["noaa-*"])
    assert "is a pattern" in wild and "noaa-*" in wild
    (bad,) = read_buckets_errors(["Has_Capitals"])
    assert "'Has_Capitals' is not a legal bucket name" in bad
    (twice,) = read_buckets_errors(["a-bucket", "a-bucket"])
    assert "a-bucket listed more than once" in twice
    assert f.config_errors(config(pubkey, s3_endpoint_read_buckets=["noaa-ghcn-pds"])) == []
    assert any("s3_endpoint_read_buckets" in e for e in f.config_errors(config(pubkey, s3_endpoint_read_buckets=["x"])))
