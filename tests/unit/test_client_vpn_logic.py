"""research_env.core.client_vpn_endpoint's diff logic (module_utils/client_vpn.py), on the shapes EC2 answers:
what is modified in place, what needs a new endpoint, and which associations, rules and routes change."""

from __future__ import annotations

import copy

from ansible_collections.research_env.core.plugins.module_utils import client_vpn as cv

SERVER = "arn:aws:acm:us-east-1:123456789012:certificate/server"
ROOT = "arn:aws:acm:us-east-1:123456789012:certificate/root"

ENDPOINT = {
    "ClientVpnEndpointId": "cvpn-endpoint-1",
    "Description": "e",
    "ClientCidrBlock": "10.100.0.0/22",
    "TransportProtocol": "udp",
    "VpnPort": 443,
    "SplitTunnel": True,
    "SessionTimeoutHours": 24,
    "DnsServers": [],
    "ServerCertificateArn": SERVER,
    "AuthenticationOptions": [
        {"Type": "certificate-authentication", "MutualAuthentication": {"ClientRootCertificateChain": ROOT}}
    ],
    "ConnectionLogOptions": {"Enabled": False},
    "VpcId": "vpc-1",
    "SecurityGroupIds": ["sg-1"],
}
WANT = {
    "client_cidr_block": "10.100.0.0/22",
    "transport_protocol": "udp",
    "client_root_certificate_chain_arn": ROOT,
    "server_certificate_arn": SERVER,
    "description": "e",
    "split_tunnel": True,
    "vpn_port": 443,
    "session_timeout_hours": 24,
    "dns_servers": [],
    "vpc_id": "vpc-1",
    "security_group_ids": ["sg-1"],
    "connection_log": {"enabled": False},
}


def want(**changes):
    return {**copy.deepcopy(WANT), **changes}


def test_an_endpoint_as_wanted_needs_nothing():
    assert cv.replacement_reasons(ENDPOINT, WANT) == []
    assert cv.endpoint_modifications(ENDPOINT, WANT) == {}


def test_what_modify_can_change_is_modified_in_one_call():
    changes = cv.endpoint_modifications(
        ENDPOINT,
        want(
            server_certificate_arn=SERVER + "-2",
            split_tunnel=False,
            dns_servers=["10.0.0.2"],
            security_group_ids=["sg-2"],
            connection_log={"enabled": True, "log_group": "g"},
        ),
    )
    assert changes == {
        "ServerCertificateArn": SERVER + "-2",
        "SplitTunnel": False,
        "DnsServers": {"CustomDnsServers": ["10.0.0.2"], "Enabled": True},
        "VpcId": "vpc-1",
        "SecurityGroupIds": ["sg-2"],
        "ConnectionLogOptions": {"Enabled": True, "CloudwatchLogGroup": "g"},
    }
    # Removing the DNS servers is a change too (AWS: Enabled false).
    with_dns = dict(ENDPOINT, DnsServers=["10.0.0.2"])
    assert cv.endpoint_modifications(with_dns, WANT) == {"DnsServers": {"CustomDnsServers": [], "Enabled": False}}


def test_what_modify_cannot_change_needs_a_new_endpoint():
    reasons = cv.replacement_reasons(
        ENDPOINT,
        want(client_cidr_block="10.200.0.0/22", transport_protocol="tcp", client_root_certificate_chain_arn="x"),
    )
    assert [r.split(" ")[0] for r in reasons] == [
        "client_cidr_block",
        "transport_protocol",
        "client_root_certificate_chain_arn",
    ]


def test_associations_follow_the_subnets():
    networks = [
        {"TargetNetworkId": "subnet-a", "AssociationId": "cvpn-assoc-a", "Status": {"Code": "associated"}},
        {"TargetNetworkId": "subnet-b", "AssociationId": "cvpn-assoc-b", "Status": {"Code": "associating"}},
        {"TargetNetworkId": "subnet-c", "AssociationId": "cvpn-assoc-c", "Status": {"Code": "disassociated"}},
    ]
    assert cv.association_changes(networks, ["subnet-a", "subnet-c"]) == (["subnet-c"], ["cvpn-assoc-b"])
    assert cv.association_changes(networks, []) == ([], ["cvpn-assoc-a", "cvpn-assoc-b"])


def test_all_users_rules_follow_the_list_and_group_rules_are_kept():
    rules = [
        {"DestinationCidr": "10.0.3.0/24", "AccessAll": True, "Description": "research", "Status": {"Code": "active"}},
        {"DestinationCidr": "10.0.9.0/24", "AccessAll": True, "Description": "", "Status": {"Code": "active"}},
        {"DestinationCidr": "10.0.8.0/24", "AccessAll": False, "GroupId": "g-1", "Status": {"Code": "active"}},
        {"DestinationCidr": "10.0.7.0/24", "AccessAll": True, "Status": {"Code": "revoking"}},
    ]
    wanted = [
        {"target_network_cidr": "10.0.3.0/24", "description": "research"},
        {"target_network_cidr": "10.0.7.0/24", "description": ""},
    ]
    add, revoke = cv.rule_changes(rules, wanted)
    assert add == [{"TargetNetworkCidr": "10.0.7.0/24", "AuthorizeAllGroups": True, "Description": ""}]
    assert revoke == [{"TargetNetworkCidr": "10.0.9.0/24", "RevokeAllGroups": True}]
    # A new description: revoked and authorized again.
    add, revoke = cv.rule_changes(rules[:1], [{"target_network_cidr": "10.0.3.0/24", "description": "new"}])
    assert add == [{"TargetNetworkCidr": "10.0.3.0/24", "AuthorizeAllGroups": True, "Description": "new"}]
    assert revoke == [{"TargetNetworkCidr": "10.0.3.0/24", "RevokeAllGroups": True}]


def test_only_routes_added_by_hand_are_managed():
    routes = [
        {
            "DestinationCidr": "10.0.0.0/16",
            "TargetSubnet": "subnet-a",
            "Origin": "associate",
            "Status": {"Code": "active"},
        },
        {
            "DestinationCidr": "0.0.0.0/0",
            "TargetSubnet": "subnet-a",
            "Origin": "add-route",
            "Status": {"Code": "active"},
        },
    ]
    wanted = [{"destination_cidr_block": "192.168.0.0/16", "target_vpc_subnet_id": "subnet-a", "description": "x"}]
    add, delete = cv.route_changes(routes, wanted)
    assert add == [{"DestinationCidrBlock": "192.168.0.0/16", "TargetVpcSubnetId": "subnet-a", "Description": "x"}]
    assert delete == [{"DestinationCidrBlock": "0.0.0.0/0", "TargetVpcSubnetId": "subnet-a"}]
    assert cv.route_changes(routes, []) == ([], delete)


def test_tags_aws_own_are_never_removed():
    current = {"Name": "e", "Old": "1", "aws:cloudformation:stack-name": "s"}
    assert cv.tag_changes(current, {"Name": "e", "New": "2"}, purge=True) == ({"New": "2"}, ["Old"])
    assert cv.tag_changes(current, {"Name": "e"}, purge=False) == ({}, [])


def test_snake_keeps_tag_keys():
    item = {"ClientVpnEndpointId": "cvpn-endpoint-1", "Tags": [{"Key": "ManagedBy", "Value": "research-env"}]}
    assert cv.snake(item) == {"client_vpn_endpoint_id": "cvpn-endpoint-1", "tags": {"ManagedBy": "research-env"}}
