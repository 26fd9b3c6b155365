"""scripts/emulator_client_vpn.py: Client VPN in the emulator answers with botocore's shapes and refuses what AWS
refuses; ACM gives back an imported chain as imported and keeps tags on a re-import.

The patches are installed the way the server gets them (`import moto_server`), then used in-process through
moto's mock. Every Client VPN answer is checked against botocore's output shape twice: the raw XML (boto3's
parser would silently drop an element the model does not know) and the parsed answer (enum values).
"""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import emulator_client_vpn
import moto_server  # noqa: F401 - patches moto in place, as the server does
import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from moto import mock_aws

REGION = "us-east-1"
VPC_CIDR = "10.0.0.0/16"
CLIENT_CIDR = "172.16.0.0/22"


# --------------------------------------------------------------------------------------- certificates


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, key: Any, issuer: str, issuer_key: Any, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def pki() -> dict[str, bytes]:
    """A CA, a server certificate it signed, and a CRL it issued (PEM)."""
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    server_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = _certificate("research CA", ca_key, "research CA", ca_key, ca=True)
    server = _certificate("vpn.research.example", server_key, "research CA", ca_key, ca=False)
    now = datetime.datetime.now(datetime.UTC)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(_name("research CA"))
        .last_update(now)
        .next_update(now + datetime.timedelta(days=30))
        .sign(ca_key, hashes.SHA256())
    )
    key = server_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    return {
        "ca": _pem(ca),
        "ca_key": ca_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ),
        "server": _pem(server),
        "server_key": key,
        "crl": crl.public_bytes(serialization.Encoding.PEM),
    }


# ------------------------------------------------------------------------ answers checked against the model

CHECKED: list[str] = []


def _tag(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _xml_matches_shape(element: ET.Element, shape: Any, where: str) -> None:
    """Every element is a member (by its serialized name) or a list item of the shape at that place."""
    if shape.type_name == "structure":
        members = {member.serialization.get("name", name): member for name, member in shape.members.items()}
        for child in element:
            tag = _tag(child)
            assert tag in members, f"{where}: <{tag}> is not a member of {shape.name}"
            _xml_matches_shape(child, members[tag], f"{where}.{tag}")
    elif shape.type_name == "list":
        item_name = shape.member.serialization.get("name", "item")
        for child in element:
            assert _tag(child) == item_name, f"{where}: <{_tag(child)}> where <{item_name}> belongs"
            _xml_matches_shape(child, shape.member, f"{where}[]")
    else:
        assert len(element) == 0, f"{where}: a {shape.type_name} with child elements"
        if getattr(shape, "enum", None):
            assert element.text in shape.enum, f"{where}: {element.text!r} not in {shape.enum}"


def _parsed_matches_shape(value: Any, shape: Any, where: str) -> None:
    if shape.type_name == "structure":
        for key, item in value.items():
            assert key in shape.members, f"{where}: {key} is not a member of {shape.name}"
            _parsed_matches_shape(item, shape.members[key], f"{where}.{key}")
    elif shape.type_name == "list":
        for item in value:
            _parsed_matches_shape(item, shape.member, f"{where}[]")
    elif getattr(shape, "enum", None):
        assert value in shape.enum, f"{where}: {value!r} not in {shape.enum}"


def check_answer(http_response: Any, parsed: dict, model: Any, **_: Any) -> None:
    """botocore's after-call hook: the raw XML and the parsed answer of a successful call match its model."""
    if http_response.status_code != 200 or ("ClientVpn" not in model.name and "Tags" not in model.name):
        return
    root = ET.fromstring(http_response.content)  # noqa: S314 - the in-process emulator's own answer
    assert _tag(root) == f"{model.name}Response"
    shape = model.output_shape
    extra = [child for child in root if _tag(child) not in ("requestId", "RequestId")]
    if shape is None:  # CreateTags, DeleteTags: AWS answers <return>true</return>, which the model leaves out
        assert [_tag(child) for child in extra] in ([], ["return"])
        CHECKED.append(model.name)
        return
    holder = ET.Element("answer")
    holder.extend(extra)
    _xml_matches_shape(holder, shape, model.name)
    _parsed_matches_shape({k: v for k, v in parsed.items() if k != "ResponseMetadata"}, shape, model.name)
    CHECKED.append(model.name)


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture
def aws(aws_env) -> Iterator[dict[str, Any]]:
    with mock_aws():
        clients = {name: boto3.client(name, region_name=REGION) for name in ("ec2", "acm", "logs")}
        clients["ec2"].meta.events.register("after-call.ec2", check_answer)
        yield clients


@pytest.fixture
def ec2(aws):
    return aws["ec2"]


@pytest.fixture
def certs(aws, pki) -> dict[str, str]:
    acm = aws["acm"]
    server = acm.import_certificate(Certificate=pki["server"], PrivateKey=pki["server_key"], CertificateChain=pki["ca"])
    client_root = acm.import_certificate(Certificate=pki["ca"], PrivateKey=pki["ca_key"])
    return {"server": server["CertificateArn"], "root": client_root["CertificateArn"]}


@pytest.fixture
def net(ec2) -> dict[str, str]:
    vpc = ec2.create_vpc(CidrBlock=VPC_CIDR)["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"]["SubnetId"]
        for i, az in ((1, "a"), (2, "b"), (3, "a"))
    ]
    group = ec2.create_security_group(GroupName="vpn", Description="vpn", VpcId=vpc)["GroupId"]
    return {"vpc": vpc, "a": subnets[0], "b": subnets[1], "a2": subnets[2], "group": group}


def endpoint_args(certs: dict[str, str], **overrides: Any) -> dict[str, Any]:
    args = {
        "ClientCidrBlock": CLIENT_CIDR,
        "ServerCertificateArn": certs["server"],
        "AuthenticationOptions": [
            {
                "Type": "certificate-authentication",
                "MutualAuthentication": {"ClientRootCertificateChainArn": certs["root"]},
            }
        ],
        "ConnectionLogOptions": {"Enabled": False},
    }
    args.update(overrides)
    return args


@pytest.fixture
def endpoint(ec2, certs, net) -> str:
    created = ec2.create_client_vpn_endpoint(**endpoint_args(certs, VpcId=net["vpc"], SecurityGroupIds=[net["group"]]))
    return created["ClientVpnEndpointId"]


def describe(ec2, endpoint_id: str) -> dict[str, Any]:
    return ec2.describe_client_vpn_endpoints(ClientVpnEndpointIds=[endpoint_id])["ClientVpnEndpoints"][0]


def refused(call: Callable[[], object], code: str, message: str | None = None) -> None:
    with pytest.raises(ClientError) as caught:
        call()
    answer = caught.value.response
    assert answer["Error"]["Code"] == code, answer
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 400
    if message is not None:
        assert message in answer["Error"]["Message"]


# ------------------------------------------------------------------------------------------------ endpoints


def test_create_with_every_option_is_described_as_created(ec2, aws, certs, net):
    aws["logs"].create_log_group(logGroupName="/vpn/connections")
    created = ec2.create_client_vpn_endpoint(
        **endpoint_args(
            certs,
            ConnectionLogOptions={"Enabled": True, "CloudwatchLogGroup": "/vpn/connections"},
            DnsServers=["10.0.0.2"],
            TransportProtocol="tcp",
            VpnPort=1194,
            Description="research VPN",
            SplitTunnel=True,
            VpcId=net["vpc"],
            SecurityGroupIds=[net["group"]],
            SessionTimeoutHours=12,
            TagSpecifications=[{"ResourceType": "client-vpn-endpoint", "Tags": [{"Key": "Name", "Value": "vpn"}]}],
        )
    )
    endpoint_id = created["ClientVpnEndpointId"]
    assert endpoint_id.startswith("cvpn-endpoint-")
    assert created["Status"] == {"Code": "pending-associate"}
    assert created["DnsName"] == f"*.{endpoint_id}.prod.clientvpn.{REGION}.amazonaws.com"
    found = describe(ec2, endpoint_id)
    assert {key: found[key] for key in ("ClientCidrBlock", "DnsServers", "TransportProtocol", "VpnPort")} == {
        "ClientCidrBlock": CLIENT_CIDR,
        "DnsServers": ["10.0.0.2"],
        "TransportProtocol": "tcp",
        "VpnPort": 1194,
    }
    assert (found["Description"], found["SplitTunnel"], found["SessionTimeoutHours"]) == ("research VPN", True, 12)
    assert (found["VpcId"], found["SecurityGroupIds"]) == (net["vpc"], [net["group"]])
    assert found["ServerCertificateArn"] == certs["server"]
    assert found["AuthenticationOptions"] == [
        {"Type": "certificate-authentication", "MutualAuthentication": {"ClientRootCertificateChain": certs["root"]}}
    ]
    assert found["ConnectionLogOptions"] == {"Enabled": True, "CloudwatchLogGroup": "/vpn/connections"}
    assert found["Tags"] == [{"Key": "Name", "Value": "vpn"}]
    assert found["VpnProtocol"] == "openvpn" and found["Status"] == {"Code": "pending-associate"}
    assert {"CreateClientVpnEndpoint", "DescribeClientVpnEndpoints"} <= set(CHECKED)


def test_defaults_are_aws_s(ec2, certs, net):
    endpoint_id = ec2.create_client_vpn_endpoint(**endpoint_args(certs, VpcId=net["vpc"]))["ClientVpnEndpointId"]
    found = describe(ec2, endpoint_id)
    default_group = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [net["vpc"]]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]
    assert (found["TransportProtocol"], found["VpnPort"], found["SplitTunnel"]) == ("udp", 443, False)
    assert found["SessionTimeoutHours"] == 24
    assert found["SecurityGroupIds"] == [default_group]


def test_a_rerun_reads_the_same_endpoint_and_modify_changes_it(ec2, endpoint):
    assert describe(ec2, endpoint) == describe(ec2, endpoint)
    assert ec2.modify_client_vpn_endpoint(ClientVpnEndpointId=endpoint, Description="changed", VpnPort=1194)["Return"]
    found = describe(ec2, endpoint)
    assert (found["Description"], found["VpnPort"]) == ("changed", 1194)


def test_the_same_client_token_gives_the_same_endpoint(ec2, certs):
    first = ec2.create_client_vpn_endpoint(**endpoint_args(certs, ClientToken="once"))["ClientVpnEndpointId"]
    again = ec2.create_client_vpn_endpoint(**endpoint_args(certs, ClientToken="once"))["ClientVpnEndpointId"]
    assert first == again
    assert len(ec2.describe_client_vpn_endpoints()["ClientVpnEndpoints"]) == 1


def _bad_create(certs: dict[str, str], net: dict[str, str], other_group: str) -> dict[str, tuple[dict, str]]:
    root_auth = [{"Type": "certificate-authentication", "MutualAuthentication": {}}]
    missing_root = [
        {"Type": "certificate-authentication", "MutualAuthentication": {"ClientRootCertificateChainArn": "arn:x"}}
    ]
    return {
        "cidr not a cidr": ({"ClientCidrBlock": "172.16.0.0"}, "InvalidParameterValue"),
        "cidr too small": ({"ClientCidrBlock": "172.16.0.0/24"}, "InvalidParameterValue"),
        "cidr too large": ({"ClientCidrBlock": "172.0.0.0/11"}, "InvalidParameterValue"),
        "cidr missing": ({"ClientCidrBlock": None}, "MissingParameter"),
        "unknown server certificate": (
            {"ServerCertificateArn": certs["server"].replace(certs["server"][-6:], "000000")},
            "InvalidParameterValue",
        ),
        "no client root chain": ({"AuthenticationOptions": root_auth}, "MissingParameter"),
        "unknown client root chain": ({"AuthenticationOptions": missing_root}, "InvalidParameterValue"),
        "vpn port": ({"VpnPort": 8443}, "InvalidParameterValue"),
        "session timeout": ({"SessionTimeoutHours": 5}, "InvalidParameterValue"),
        "three dns servers": ({"DnsServers": ["10.0.0.2", "10.0.0.3", "10.0.0.4"]}, "InvalidParameterValue"),
        "unknown log group": (
            {"ConnectionLogOptions": {"Enabled": True, "CloudwatchLogGroup": "/nope"}},
            "InvalidParameterValue",
        ),
        "groups without vpc": ({"SecurityGroupIds": [net["group"]]}, "MissingParameter"),
        "group of another vpc": ({"VpcId": net["vpc"], "SecurityGroupIds": [other_group]}, "InvalidGroup.NotFound"),
        "tag resource type": (
            {"TagSpecifications": [{"ResourceType": "vpc", "Tags": [{"Key": "a", "Value": "b"}]}]},
            "InvalidParameterValue",
        ),
    }


BAD_CREATE = [
    "cidr not a cidr",
    "cidr too small",
    "cidr too large",
    "cidr missing",
    "unknown server certificate",
    "no client root chain",
    "unknown client root chain",
    "vpn port",
    "session timeout",
    "three dns servers",
    "unknown log group",
    "groups without vpc",
    "group of another vpc",
    "tag resource type",
]


@pytest.mark.parametrize("case", BAD_CREATE)
def test_create_refuses_what_aws_refuses(ec2, certs, net, case):
    other_vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    other_group = ec2.create_security_group(GroupName="other", Description="other", VpcId=other_vpc)["GroupId"]
    overrides, code = _bad_create(certs, net, other_group)[case]
    args = {k: v for k, v in endpoint_args(certs, **overrides).items() if v is not None}
    refused(lambda: ec2.create_client_vpn_endpoint(**args), code)
    assert ec2.describe_client_vpn_endpoints()["ClientVpnEndpoints"] == []


def test_an_unknown_endpoint_is_not_found(ec2):
    missing = "cvpn-endpoint-0123456789abcdef0"
    refused(
        lambda: ec2.describe_client_vpn_endpoints(ClientVpnEndpointIds=[missing]), "InvalidClientVpnEndpointId.NotFound"
    )
    refused(lambda: ec2.delete_client_vpn_endpoint(ClientVpnEndpointId=missing), "InvalidClientVpnEndpointId.NotFound")


def test_describe_filters_and_pages(ec2, certs):
    ids = [
        ec2.create_client_vpn_endpoint(
            **endpoint_args(
                certs,
                TransportProtocol="tcp" if i % 2 else "udp",
                TagSpecifications=[{"ResourceType": "client-vpn-endpoint", "Tags": [{"Key": "n", "Value": str(i)}]}],
            )
        )["ClientVpnEndpointId"]
        for i in range(7)
    ]

    def found(**kwargs: Any) -> list[str]:
        return [e["ClientVpnEndpointId"] for e in ec2.describe_client_vpn_endpoints(**kwargs)["ClientVpnEndpoints"]]

    assert found(Filters=[{"Name": "endpoint-id", "Values": [ids[2]]}]) == [ids[2]]
    assert found(Filters=[{"Name": "transport-protocol", "Values": ["tcp"]}]) == ids[1::2]
    assert found(Filters=[{"Name": "tag:n", "Values": ["3", "4"]}]) == ids[3:5]
    assert len(found(Filters=[{"Name": "tag-key", "Values": ["n"]}])) == 7
    first = ec2.describe_client_vpn_endpoints(MaxResults=5)
    rest = ec2.describe_client_vpn_endpoints(MaxResults=5, NextToken=first["NextToken"])
    assert [e["ClientVpnEndpointId"] for e in first["ClientVpnEndpoints"] + rest["ClientVpnEndpoints"]] == ids
    assert "NextToken" not in rest
    refused(lambda: ec2.describe_client_vpn_endpoints(MaxResults=1001), "InvalidParameterValue")
    refused(
        lambda: ec2.describe_client_vpn_endpoints(Filters=[{"Name": "vpc", "Values": ["x"]}]), "InvalidParameterValue"
    )


# ----------------------------------------------------------------------------------- target networks, routes


def test_association_makes_it_available_with_the_vpc_route(ec2, endpoint, net):
    associated = ec2.associate_client_vpn_target_network(ClientVpnEndpointId=endpoint, SubnetId=net["a"])
    assert associated["Status"] == {"Code": "associating"}
    assert associated["AssociationId"].startswith("cvpn-assoc-")
    assert describe(ec2, endpoint)["Status"] == {"Code": "available"}
    networks = ec2.describe_client_vpn_target_networks(ClientVpnEndpointId=endpoint)["ClientVpnTargetNetworks"]
    assert [(n["TargetNetworkId"], n["VpcId"], n["Status"]["Code"]) for n in networks] == [
        (net["a"], net["vpc"], "associated")
    ]
    assert networks[0]["SecurityGroups"] == [net["group"]]
    routes = ec2.describe_client_vpn_routes(ClientVpnEndpointId=endpoint)["Routes"]
    assert [(r["DestinationCidr"], r["TargetSubnet"], r["Origin"]) for r in routes] == [
        (VPC_CIDR, net["a"], "associate")
    ]
    assert {"AssociateClientVpnTargetNetwork", "DescribeClientVpnTargetNetworks", "DescribeClientVpnRoutes"} <= set(
        CHECKED
    )


def test_disassociation_removes_its_routes_and_returns_to_pending_associate(ec2, endpoint, net):
    association = ec2.associate_client_vpn_target_network(ClientVpnEndpointId=endpoint, SubnetId=net["a"])
    ec2.create_client_vpn_route(
        ClientVpnEndpointId=endpoint, DestinationCidrBlock="0.0.0.0/0", TargetVpcSubnetId=net["a"]
    )
    answer = ec2.disassociate_client_vpn_target_network(
        ClientVpnEndpointId=endpoint, AssociationId=association["AssociationId"]
    )
    assert answer["Status"] == {"Code": "disassociating"}
    assert ec2.describe_client_vpn_routes(ClientVpnEndpointId=endpoint)["Routes"] == []
    assert describe(ec2, endpoint)["Status"] == {"Code": "pending-associate"}
    refused(
        lambda: ec2.disassociate_client_vpn_target_network(
            ClientVpnEndpointId=endpoint, AssociationId=association["AssociationId"]
        ),
        "InvalidClientVpnAssociationIdNotFound",
    )


def test_association_refusals(ec2, aws, certs, endpoint, net):
    ec2.associate_client_vpn_target_network(ClientVpnEndpointId=endpoint, SubnetId=net["a"])
    refused(
        lambda: ec2.associate_client_vpn_target_network(ClientVpnEndpointId=endpoint, SubnetId=net["a"]),
        "InvalidClientVpnDuplicateAssociationException",
    )
    refused(
        lambda: ec2.associate_client_vpn_target_network(ClientVpnEndpointId=endpoint, SubnetId=net["a2"]),
        "InvalidClientVpnSubnetId.DuplicateAz",
    )
    other_vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    other = ec2.create_subnet(VpcId=other_vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    refused(
        lambda: ec2.associate_client_vpn_target_network(ClientVpnEndpointId=endpoint, SubnetId=other),
        "InvalidClientVpnSubnetId.NotFound",
    )
    overlapping = ec2.create_client_vpn_endpoint(**endpoint_args(certs, ClientCidrBlock="10.0.0.0/22"))
    refused(
        lambda: ec2.associate_client_vpn_target_network(
            ClientVpnEndpointId=overlapping["ClientVpnEndpointId"], SubnetId=net["b"]
        ),
        "InvalidClientVpnSubnetId.OverlappingCidr",
    )
    ec2.associate_client_vpn_target_network(ClientVpnEndpointId=endpoint, SubnetId=net["b"])
    assert len(ec2.describe_client_vpn_target_networks(ClientVpnEndpointId=endpoint)["ClientVpnTargetNetworks"]) == 2


def test_the_first_association_sets_the_vpc_and_its_default_group(ec2, certs, net):
    endpoint_id = ec2.create_client_vpn_endpoint(**endpoint_args(certs))["ClientVpnEndpointId"]
    assert "VpcId" not in describe(ec2, endpoint_id)
    ec2.associate_client_vpn_target_network(ClientVpnEndpointId=endpoint_id, SubnetId=net["a"])
    found = describe(ec2, endpoint_id)
    assert found["VpcId"] == net["vpc"] and len(found["SecurityGroupIds"]) == 1


def test_routes_to_an_associated_subnet(ec2, endpoint, net):
    route = {"ClientVpnEndpointId": endpoint, "DestinationCidrBlock": "0.0.0.0/0", "TargetVpcSubnetId": net["a"]}
    refused(lambda: ec2.create_client_vpn_route(**route), "InvalidClientVpnActiveAssociationNotFound")
    ec2.associate_client_vpn_target_network(ClientVpnEndpointId=endpoint, SubnetId=net["a"])
    assert ec2.create_client_vpn_route(**route, Description="internet")["Status"] == {"Code": "creating"}
    refused(lambda: ec2.create_client_vpn_route(**route), "InvalidClientVpnDuplicateRoute")
    refused(
        lambda: ec2.create_client_vpn_route(**{**route, "TargetVpcSubnetId": net["b"]}),
        "InvalidClientVpnSubnetId.NotFound",
    )
    added = ec2.describe_client_vpn_routes(
        ClientVpnEndpointId=endpoint, Filters=[{"Name": "origin", "Values": ["add-route"]}]
    )["Routes"]
    assert [(r["DestinationCidr"], r["Description"], r["Status"]["Code"]) for r in added] == [
        ("0.0.0.0/0", "internet", "active")
    ]
    refused(
        lambda: ec2.delete_client_vpn_route(
            ClientVpnEndpointId=endpoint, DestinationCidrBlock=VPC_CIDR, TargetVpcSubnetId=net["a"]
        ),
        "InvalidParameterValue",
    )
    assert ec2.delete_client_vpn_route(**route)["Status"] == {"Code": "deleting"}
    refused(lambda: ec2.delete_client_vpn_route(**route), "InvalidClientVpnRouteNotFound")


def test_apply_security_groups(ec2, endpoint, net):
    second = ec2.create_security_group(GroupName="vpn2", Description="vpn2", VpcId=net["vpc"])["GroupId"]
    applied = ec2.apply_security_groups_to_client_vpn_target_network(
        ClientVpnEndpointId=endpoint, VpcId=net["vpc"], SecurityGroupIds=[second]
    )
    assert applied["SecurityGroupIds"] == [second]
    assert describe(ec2, endpoint)["SecurityGroupIds"] == [second]


# --------------------------------------------------------------------------------------- authorization rules


def test_authorization_rules_added_refused_twice_and_revoked(ec2, endpoint):
    rule = {"ClientVpnEndpointId": endpoint, "TargetNetworkCidr": VPC_CIDR}
    refused(lambda: ec2.authorize_client_vpn_ingress(**rule), "MissingParameter")
    assert ec2.authorize_client_vpn_ingress(**rule, AuthorizeAllGroups=True)["Status"] == {"Code": "authorizing"}
    ec2.authorize_client_vpn_ingress(**rule, AccessGroupId="researchers", Description="team")
    refused(
        lambda: ec2.authorize_client_vpn_ingress(**rule, AuthorizeAllGroups=True),
        "InvalidClientVpnDuplicateAuthorizationRule",
    )
    rules = ec2.describe_client_vpn_authorization_rules(ClientVpnEndpointId=endpoint)["AuthorizationRules"]
    assert [(r["DestinationCidr"], r["AccessAll"], r["GroupId"], r["Status"]["Code"]) for r in rules] == [
        (VPC_CIDR, True, "", "active"),
        (VPC_CIDR, False, "researchers", "active"),
    ]
    assert ec2.revoke_client_vpn_ingress(**rule, AccessGroupId="researchers")["Status"] == {"Code": "revoking"}
    refused(
        lambda: ec2.revoke_client_vpn_ingress(**rule, AccessGroupId="researchers"),
        "InvalidClientVpnEndpointAuthorizationRuleNotFound",
    )
    left = ec2.describe_client_vpn_authorization_rules(ClientVpnEndpointId=endpoint)["AuthorizationRules"]
    assert [r["AccessAll"] for r in left] == [True]


# ----------------------------------------------------------------------------------- configuration and CRL


def test_exported_configuration_names_the_endpoint_and_carries_the_ca_chain(ec2, endpoint, pki):
    profile = ec2.export_client_vpn_client_configuration(ClientVpnEndpointId=endpoint)["ClientConfiguration"]
    lines = profile.splitlines()
    assert lines[:4] == [
        "client",
        "dev tun",
        "proto udp",
        f"remote {endpoint}.prod.clientvpn.{REGION}.amazonaws.com 443",
    ]
    assert {"remote-random-hostname", "nobind", "remote-cert-tls server", "cipher AES-256-GCM", "reneg-sec 0"} <= set(
        lines
    )
    ca = profile.split("<ca>\n", 1)[1].split("\n</ca>", 1)[0]
    assert ca.strip() == pki["ca"].decode().strip()


def test_a_crl_is_imported_and_exported_and_anything_else_refused(ec2, endpoint, pki):
    assert ec2.export_client_vpn_client_certificate_revocation_list(ClientVpnEndpointId=endpoint).keys() == {
        "ResponseMetadata"
    }
    refused(
        lambda: ec2.import_client_vpn_client_certificate_revocation_list(
            ClientVpnEndpointId=endpoint, CertificateRevocationList=pki["ca"].decode()
        ),
        "InvalidParameterValue",
    )
    assert ec2.import_client_vpn_client_certificate_revocation_list(
        ClientVpnEndpointId=endpoint, CertificateRevocationList=pki["crl"].decode()
    )["Return"]
    exported = ec2.export_client_vpn_client_certificate_revocation_list(ClientVpnEndpointId=endpoint)
    assert exported["CertificateRevocationList"] == pki["crl"].decode()
    assert exported["Status"] == {"Code": "active"}


# ----------------------------------------------------------------------------------------- deletes refused


def test_delete_refused_while_associated_then_done(ec2, endpoint, net):
    association = ec2.associate_client_vpn_target_network(ClientVpnEndpointId=endpoint, SubnetId=net["a"])
    refused(
        lambda: ec2.delete_client_vpn_endpoint(ClientVpnEndpointId=endpoint),
        "ClientVpnEndpointAssociationExists",
        association["AssociationId"],
    )
    ec2.disassociate_client_vpn_target_network(ClientVpnEndpointId=endpoint, AssociationId=association["AssociationId"])
    assert ec2.delete_client_vpn_endpoint(ClientVpnEndpointId=endpoint)["Status"] == {"Code": "deleting"}
    assert ec2.describe_client_vpn_endpoints()["ClientVpnEndpoints"] == []


def test_subnet_and_group_held_while_used(ec2, endpoint, net):
    association = ec2.associate_client_vpn_target_network(ClientVpnEndpointId=endpoint, SubnetId=net["a"])
    refused(lambda: ec2.delete_subnet(SubnetId=net["a"]), "DependencyViolation")
    refused(lambda: ec2.delete_security_group(GroupId=net["group"]), "DependencyViolation")
    ec2.disassociate_client_vpn_target_network(ClientVpnEndpointId=endpoint, AssociationId=association["AssociationId"])
    ec2.delete_subnet(SubnetId=net["a"])
    refused(lambda: ec2.delete_security_group(GroupId=net["group"]), "DependencyViolation")
    ec2.delete_client_vpn_endpoint(ClientVpnEndpointId=endpoint)
    ec2.delete_security_group(GroupId=net["group"])


# ------------------------------------------------------------------------------------------------------ tags


def test_tags_through_ec2_s_tag_calls(ec2, endpoint):
    ec2.create_tags(Resources=[endpoint], Tags=[{"Key": "Environment", "Value": "dev"}])
    assert describe(ec2, endpoint)["Tags"] == [{"Key": "Environment", "Value": "dev"}]
    tags = ec2.describe_tags(Filters=[{"Name": "resource-type", "Values": ["client-vpn-endpoint"]}])["Tags"]
    assert [(t["ResourceId"], t["ResourceType"], t["Key"]) for t in tags] == [
        (endpoint, "client-vpn-endpoint", "Environment")
    ]
    found = ec2.describe_client_vpn_endpoints(Filters=[{"Name": "tag:Environment", "Values": ["dev"]}])
    assert [e["ClientVpnEndpointId"] for e in found["ClientVpnEndpoints"]] == [endpoint]
    ec2.delete_tags(Resources=[endpoint], Tags=[{"Key": "Environment"}])
    assert "Tags" not in describe(ec2, endpoint) or describe(ec2, endpoint)["Tags"] == []
    refused(
        lambda: ec2.create_tags(Resources=["cvpn-endpoint-0123456789abcdef0"], Tags=[{"Key": "a", "Value": "b"}]),
        "InvalidClientVpnEndpointId.NotFound",
    )


def test_state_is_per_mock_and_region(aws_env, certs, ec2):
    ec2.create_client_vpn_endpoint(**endpoint_args(certs))
    other_region = boto3.client("ec2", region_name="eu-west-1")
    assert other_region.describe_client_vpn_endpoints()["ClientVpnEndpoints"] == []


def test_a_fresh_mock_has_no_endpoints(aws_env):
    with mock_aws():
        assert boto3.client("ec2", region_name=REGION).describe_client_vpn_endpoints()["ClientVpnEndpoints"] == []


def test_install_is_idempotent(ec2, endpoint):
    emulator_client_vpn.install()
    ec2.create_tags(Resources=[endpoint], Tags=[{"Key": "a", "Value": "b"}])
    assert describe(ec2, endpoint)["Tags"] == [{"Key": "a", "Value": "b"}]


# ----------------------------------------------------------------------------------------------------- ACM


def test_acm_gives_back_the_chain_as_imported(aws, pki, certs):
    answer = aws["acm"].get_certificate(CertificateArn=certs["server"])
    assert answer["CertificateChain"] == pki["ca"].decode()
    assert "CertificateChain" not in aws["acm"].get_certificate(CertificateArn=certs["root"])


def test_acm_reimport_keeps_tags_and_refuses_new_ones(aws, pki, certs):
    acm = aws["acm"]
    acm.add_tags_to_certificate(CertificateArn=certs["server"], Tags=[{"Key": "Name", "Value": "vpn"}])
    acm.import_certificate(
        CertificateArn=certs["server"],
        Certificate=pki["server"],
        PrivateKey=pki["server_key"],
        CertificateChain=pki["ca"],
    )
    assert acm.list_tags_for_certificate(CertificateArn=certs["server"])["Tags"] == [{"Key": "Name", "Value": "vpn"}]
    with pytest.raises(ClientError) as caught:
        acm.import_certificate(
            CertificateArn=certs["server"],
            Certificate=pki["server"],
            PrivateKey=pki["server_key"],
            Tags=[{"Key": "x", "Value": "y"}],
        )
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert caught.value.response["Error"]["Message"] == "Tagging is not permitted on re-import."
