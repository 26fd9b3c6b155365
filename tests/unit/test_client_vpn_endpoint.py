"""research_env.core.client_vpn_endpoint run in-process against the emulator's Client VPN (the patches the
server gets): it creates the endpoint with its parts, a rerun writes nothing and reads little, check mode
changes nothing, what AWS cannot modify is refused (or replaced), absent removes it in AWS's order."""

from __future__ import annotations

import functools

import boto3
import moto_server  # noqa: F401 - patches moto in place, as the server does
import pytest
from modules import REGION, ansible_doc, load_module, run_module
from moto import mock_aws
from test_emulator_client_vpn import pki  # noqa: F401 - the fixture: a CA, a server certificate, a CRL

m = load_module("client_vpn_endpoint")
run_main = functools.partial(run_module, m)


@pytest.fixture
def net(aws_env, pki):  # noqa: F811 - the imported fixture
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        acm = boto3.client("acm", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]
        group = ec2.create_security_group(VpcId=vpc, GroupName="dmz", Description="dmz")["GroupId"]
        arn = acm.import_certificate(
            Certificate=pki["server"], PrivateKey=pki["server_key"], CertificateChain=pki["ca"]
        )["CertificateArn"]
        args = {
            "name": "e-client-vpn",
            "client_cidr_block": "10.100.0.0/22",
            "server_certificate_arn": arn,
            "client_root_certificate_chain_arn": arn,
            "vpc_id": vpc,
            "security_group_ids": [group],
            "subnet_ids": [subnet["SubnetId"]],
            "dns_servers": ["10.0.0.2"],
            "authorization_rules": [{"target_network_cidr": "10.0.3.0/24", "description": "research"}],
            "certificate_revocation_list": pki["crl"].decode(),
            "tags": {"Environment": "e"},
        }
        yield {"ec2": ec2, "args": args, "subnet": subnet["SubnetId"]}


def test_create_then_a_rerun_writes_nothing(net, capsys):
    rc, made = run_main(net["args"], capsys)
    assert rc == 0 and made["changed"], made
    assert made["changes"] == ["create endpoint", f"associate {net['subnet']}", "authorize 10.0.3.0/24",
                               "import the certificate revocation list"]  # fmt: skip
    endpoint = made["endpoint"]
    assert endpoint["tags"] == {"Environment": "e", "Name": "e-client-vpn"}
    assert endpoint["dns_servers"] == ["10.0.0.2"] and endpoint["split_tunnel"] is True
    assert [n["target_network_id"] for n in made["target_networks"]] == [net["subnet"]]
    assert "remote " in made["client_configuration"] and "<ca>" in made["client_configuration"]
    rc, again = run_main(net["args"], capsys)
    assert rc == 0 and not again["changed"] and again["changes"] == []
    assert again["endpoint"]["client_vpn_endpoint_id"] == endpoint["client_vpn_endpoint_id"]
    # One find, three parts, the CRL and the configuration: nothing is read twice.
    assert again["api_calls"] == 6


def test_check_mode_changes_nothing(net, capsys):
    run_main(net["args"], capsys)
    args = {**net["args"], "split_tunnel": False, "authorization_rules": [], "_ansible_check_mode": True}
    rc, result = run_main(args, capsys)
    assert rc == 0 and result["changed"]
    assert result["changes"] == ["modify endpoint (SplitTunnel)", "revoke 10.0.3.0/24"]
    (endpoint,) = net["ec2"].describe_client_vpn_endpoints()["ClientVpnEndpoints"]
    assert endpoint["SplitTunnel"] is True
    rules = net["ec2"].describe_client_vpn_authorization_rules(ClientVpnEndpointId=endpoint["ClientVpnEndpointId"])
    assert len(rules["AuthorizationRules"]) == 1


def test_what_aws_cannot_modify_is_refused_unless_replace(net, capsys):
    _, made = run_main(net["args"], capsys)
    old = made["endpoint"]["client_vpn_endpoint_id"]
    rc, refused = run_main({**net["args"], "client_cidr_block": "10.200.0.0/22"}, capsys)
    assert rc == 1 and "client_cidr_block 10.100.0.0/22 -> 10.200.0.0/22" in refused["msg"]
    assert "replace=true" in refused["msg"]
    rc, replaced = run_main({**net["args"], "client_cidr_block": "10.200.0.0/22", "replace": True}, capsys)
    assert rc == 0 and replaced["endpoint"]["client_vpn_endpoint_id"] != old
    assert replaced["endpoint"]["client_cidr_block"] == "10.200.0.0/22"
    live = [
        e for e in net["ec2"].describe_client_vpn_endpoints()["ClientVpnEndpoints"] if e["Status"]["Code"] != "deleted"
    ]
    assert [e["ClientVpnEndpointId"] for e in live] == [replaced["endpoint"]["client_vpn_endpoint_id"]]


def test_absent_removes_rules_and_associations_then_the_endpoint(net, capsys):
    run_main(net["args"], capsys)
    rc, gone = run_main({"name": "e-client-vpn", "state": "absent"}, capsys)
    assert rc == 0 and gone["changed"]
    assert [c.split(" ")[0] for c in gone["changes"]] == ["revoke", "disassociate", "delete"]
    live = [
        e for e in net["ec2"].describe_client_vpn_endpoints()["ClientVpnEndpoints"] if e["Status"]["Code"] != "deleted"
    ]
    assert live == []
    rc, again = run_main({"name": "e-client-vpn", "state": "absent"}, capsys)
    assert rc == 0 and not again["changed"]


def test_documentation_renders():
    doc = ansible_doc("client_vpn_endpoint")
    assert {"name", "client_cidr_block", "subnet_ids", "authorization_rules", "replace"} <= set(doc["doc"]["options"])
    assert {"endpoint", "client_configuration", "changes"} <= set(doc["return"])
