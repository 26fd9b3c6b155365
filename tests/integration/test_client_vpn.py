"""vpn_provider client_vpn against the emulator, in order: `site.yml --tags infra` makes the PKI, imports the
server certificate into ACM and makes the endpoint, read back with boto3; the members' profiles hold their
certificate and key and the endpoint's name; a rerun changes nothing; a member set absent is revoked through
the endpoint's revocation list; teardown removes everything, ACM included, and records it. The emulator
cannot carry VPN traffic: the API and the files are what is tested."""

from __future__ import annotations

import re
import stat

import pytest
from awsstate import all_resources
from cryptography import x509
from emulator import Emulator
from envbuild import ADMIN, env_vars, only_record, security_groups, vpc_of
from helpers import REPO, run_playbook

pytestmark = pytest.mark.integration

ENV = "cvpn"
ARTIFACTS = REPO / "artifacts" / ENV
TEAM = [{"username": "alice"}, {"username": "bob"}]


def endpoint_of(ec2) -> dict:
    (endpoint,) = [
        e
        for e in ec2.describe_client_vpn_endpoints(Filters=[{"Name": "tag:Environment", "Values": [ENV]}])[
            "ClientVpnEndpoints"
        ]
        if e["Status"]["Code"] != "deleted"
    ]
    return endpoint


@pytest.fixture(scope="module")
def cvpn(emulator_env, ssh_key):
    Emulator.reset_url(emulator_env["AWS_ENDPOINT_URL"])
    for old in ARTIFACTS.glob("**/*"):
        if old.is_file():
            old.unlink()
    extra = env_vars(ssh_key, env_name=ENV, vpn_provider="client_vpn", research_team=TEAM)
    run = run_playbook("site.yml", "--tags", "infra,summary", extra_vars=extra, env=emulator_env)
    assert run.rc == 0, run.explain()
    return extra


class TestClientVpn:
    def test_the_endpoint_lets_members_into_the_research_subnet_only(self, cvpn, aws):
        ec2 = aws["ec2"]
        vpc = vpc_of(ec2, ENV)
        groups = security_groups(ec2, vpc["VpcId"])
        endpoint = endpoint_of(ec2)
        assert endpoint["ClientCidrBlock"] == "10.100.0.0/22"
        assert endpoint["SplitTunnel"] is True and endpoint["TransportProtocol"] == "udp"
        assert endpoint["DnsServers"] == ["10.0.0.2"]
        assert endpoint["VpcId"] == vpc["VpcId"] and endpoint["SecurityGroupIds"] == [groups["dmz"]["GroupId"]]
        tags = {t["Key"]: t["Value"] for t in endpoint["Tags"]}
        assert tags["Name"] == f"{ENV}-client-vpn" and tags["ManagedBy"] == "research-env"
        eid = endpoint["ClientVpnEndpointId"]
        (network,) = ec2.describe_client_vpn_target_networks(ClientVpnEndpointId=eid)["ClientVpnTargetNetworks"]
        subnets = {t["Value"]: s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] for t in s.get("Tags", [])
                   if t["Key"] == "Tier"}  # fmt: skip
        assert network["TargetNetworkId"] == subnets["dmz"]
        rules = ec2.describe_client_vpn_authorization_rules(ClientVpnEndpointId=eid)["AuthorizationRules"]
        assert [(r["DestinationCidr"], r["AccessAll"]) for r in rules] == [("10.0.3.0/24", True)]
        # The dmz group opens no VPN port for this provider: SSH from admin_cidrs only.
        opened = [(p["IpProtocol"], p.get("FromPort")) for p in groups["dmz"]["IpPermissions"]]
        assert opened == [("tcp", 22)] and groups["dmz"]["IpPermissions"][0]["IpRanges"][0]["CidrIp"] == ADMIN

    def test_the_server_certificate_is_in_acm_with_its_ca_as_the_client_root(self, cvpn, aws):
        endpoint = endpoint_of(aws["ec2"])
        arn = endpoint["ServerCertificateArn"]
        (auth,) = endpoint["AuthenticationOptions"]
        assert auth["MutualAuthentication"]["ClientRootCertificateChain"] == arn
        cert = aws["acm"].get_certificate(CertificateArn=arn)
        pki = ARTIFACTS / "client_vpn" / "pki"
        assert cert["Certificate"].strip() == (pki / "server.crt").read_text().strip()
        assert cert["CertificateChain"].strip() == (pki / "ca.crt").read_text().strip()
        key = x509.load_pem_x509_certificate((pki / "server.crt").read_bytes()).public_key()
        assert key.key_size == 2048, "Client VPN takes RSA 2048"
        assert stat.S_IMODE((pki / "ca.key").stat().st_mode) == 0o600
        assert stat.S_IMODE(pki.stat().st_mode) == 0o700

    def test_each_member_gets_a_profile_with_their_certificate_and_key(self, cvpn, aws):
        dns = endpoint_of(aws["ec2"])["DnsName"].removeprefix("*.")
        pki = ARTIFACTS / "client_vpn" / "pki"
        for member in ("alice", "bob"):
            profile = ARTIFACTS / "vpn" / f"{member}.ovpn"
            assert stat.S_IMODE(profile.stat().st_mode) == 0o600
            text = profile.read_text()
            assert re.search(rf"^remote \S*{re.escape(dns)} 443$", text, re.M), text
            cert = re.search(r"<cert>\n(.*?)\n</cert>", text, re.S).group(1)
            key = re.search(r"<key>\n(.*?)\n</key>", text, re.S).group(1)
            assert cert == (pki / "issued" / f"{member}.crt").read_text().strip()
            assert key == (pki / "issued" / f"{member}.key").read_text().strip()
            assert "<ca>" in text and (pki / "ca.crt").read_text().strip() in text

    def test_the_cost_report_prices_the_association_and_the_connections(self, cvpn):
        import json

        summary = json.loads((ARTIFACTS / "summary.json").read_text())
        assert summary["vpn"]["client_vpn_endpoint"].startswith("cvpn-endpoint-")
        assert sorted(summary["vpn"]["profiles"]) == ["alice", "bob"]
        report = json.loads((ARTIFACTS / "cost.json").read_text())
        items = {i["item"]: i for i in report["items"]}
        association, connections = items["Client VPN associations"], items["Client VPN connections"]
        assert (association["quantity"], association["hours_per_month"]) == (1, 730)
        # Two members, 40 hours a month each (cost_vpn_hours_per_member_month), USD 0.05 a connection-hour.
        assert connections["monthly_usd"] == round(2 * 40 * 0.05, 2)
        assert any(i["item"] == "Client VPN associations" for i in report["now"]["items"])

    def test_a_rerun_changes_nothing(self, cvpn, emulator_env):
        run = run_playbook("site.yml", "--tags", "infra", extra_vars=cvpn, env=emulator_env)
        assert run.rc == 0, run.explain()
        assert re.search(r"localhost\s+: ok=\d+\s+changed=0 ", run.output), run.explain()

    def test_a_member_set_absent_is_revoked(self, cvpn, aws, emulator_env):
        pki = ARTIFACTS / "client_vpn" / "pki"
        serial = x509.load_pem_x509_certificate((pki / "issued" / "bob.crt").read_bytes()).serial_number
        gone = dict(cvpn, research_team=[{"username": "alice"}, {"username": "bob", "state": "absent"}])
        run = run_playbook("site.yml", "--tags", "vpn", "--limit", "localhost", extra_vars=gone, env=emulator_env)
        assert run.rc == 0, run.explain()
        assert not (ARTIFACTS / "vpn" / "bob.ovpn").exists() and (ARTIFACTS / "vpn" / "alice.ovpn").exists()
        eid = endpoint_of(aws["ec2"])["ClientVpnEndpointId"]
        crl_pem = aws["ec2"].export_client_vpn_client_certificate_revocation_list(ClientVpnEndpointId=eid)[
            "CertificateRevocationList"
        ]
        crl = x509.load_pem_x509_crl(crl_pem.encode())
        assert [c.serial_number for c in crl] == [serial]

    def test_teardown_leaves_nothing_and_records_the_endpoint(self, cvpn, aws, emulator_env, tmp_path):
        before = all_resources(aws, ENV)
        assert len(before["client_vpn_endpoint"]) == 1 and len(before["acm_certificate"]) == 1
        run = run_playbook("playbooks/teardown.yml", extra_vars={"env_name": ENV, "records_dir": str(tmp_path)},
                           env=emulator_env)  # fmt: skip
        assert run.rc == 0, run.explain()
        assert all_resources(aws, ENV) == {}
        record = only_record(tmp_path, ENV)
        kinds = [r["type"] for r in record["resources"]]
        assert kinds.index("client_vpn_endpoint") < kinds.index("acm_certificate") < kinds.index("subnet")
        endpoint = next(r for r in record["resources"] if r["type"] == "client_vpn_endpoint")
        assert endpoint["result"] == "deleted"
        assert endpoint["details"]["authorization_rules"] == ["10.0.3.0/24"]
        assert [s.split(" ")[0] for s in endpoint["details"]["steps"]] == ["revoke", "disassociate", "delete"]
