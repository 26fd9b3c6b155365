#!/usr/bin/python
# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: client_vpn_endpoint
short_description: Manage an AWS Client VPN endpoint with its networks, authorization rules and routes
version_added: 0.1.0
description:
  - Creates, updates or deletes one AWS Client VPN endpoint with mutual (certificate) authentication, and
    brings what hangs off it to the wanted state in the same task (the target network associations,
    the authorization rules, the routes added by hand, the certificate revocation list, the tags).
  - No maintained module manages Client VPN (amazon.aws and community.aws have none).
  - The endpoint is found by its C(Name) tag (O(name)); two endpoints of that name are an error.
  - Each part is read once (DescribeClientVpnEndpoints, ...TargetNetworks, ...AuthorizationRules, ...Routes)
    and only what differs is written. Attributes that ModifyClientVpnEndpoint cannot change (O(client_cidr_block),
    O(transport_protocol), O(client_root_certificate_chain_arn)) are refused with what differs, unless
    O(replace=true), which deletes the endpoint and makes it anew.
  - The routes an association adds by itself (to the VPC's CIDR) come and go with it; O(routes) are the others.
  - Authorization rules give every VPN user (all groups) access to a destination network; rules of an access
    group, made by hand, are left alone.
  - V(absent) removes, in AWS's order, the routes added by hand, the authorization rules, the associations and
    the endpoint.
  - The client configuration (ExportClientVpnClientConfiguration) is returned, without any key; a member's
    profile is that text with the member's certificate and key appended, written by the playbook.
  - Check mode is supported; the result says what would change.
options:
  name:
    description: The endpoint's C(Name) tag, which finds it.
    type: str
    required: true
  state:
    description: Whether the endpoint must exist.
    type: str
    choices: [present, absent]
    default: present
  description:
    description: The endpoint's description.
    type: str
    default: ""
  client_cidr_block:
    description:
      - The IPv4 range VPN clients get their addresses from, /12 to /22, not overlapping the VPC.
      - Required with O(state=present).
    type: str
  server_certificate_arn:
    description: ARN of the server certificate in ACM. Required with O(state=present).
    type: str
  client_root_certificate_chain_arn:
    description:
      - ARN of the certificate in ACM whose chain issued the clients' certificates (mutual authentication).
      - Required with O(state=present).
    type: str
  vpc_id:
    description: The VPC the endpoint's network interfaces and O(security_group_ids) belong to.
    type: str
  security_group_ids:
    description: The security groups of the endpoint's network interfaces (what the VPC's groups see as the source).
    type: list
    elements: str
    default: []
  subnet_ids:
    description:
      - The subnets to associate (target networks), at most one per availability zone. Associations with
        other subnets are removed. An association is what is billed by the hour.
    type: list
    elements: str
    default: []
  split_tunnel:
    description: Only traffic to the endpoint's routes goes through the VPN (the rest takes the client's own way).
    type: bool
    default: true
  dns_servers:
    description: DNS servers the clients use (at most two); empty for the clients' own.
    type: list
    elements: str
    default: []
  transport_protocol:
    description: The transport of the VPN.
    type: str
    choices: [udp, tcp]
    default: udp
  vpn_port:
    description: The port clients connect to.
    type: int
    choices: [443, 1194]
    default: 443
  session_timeout_hours:
    description: The longest VPN session, in hours.
    type: int
    choices: [8, 10, 12, 24]
    default: 24
  connection_log:
    description: Connection logging to CloudWatch Logs.
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Whether connections are logged.
        type: bool
        default: false
      log_group:
        description: The log group (it must exist). Required when O(connection_log.enabled=true).
        type: str
      log_stream:
        description: The log stream (it must exist); empty for one AWS makes.
        type: str
  authorization_rules:
    description: The networks every VPN user may reach. Other all-users rules are revoked.
    type: list
    elements: dict
    default: []
    suboptions:
      target_network_cidr:
        description: The destination network.
        type: str
        required: true
      description:
        description: The rule's description.
        type: str
        default: ""
  routes:
    description:
      - Routes besides those the associations add, each through an associated subnet. Other routes added by
        hand are deleted.
    type: list
    elements: dict
    default: []
    suboptions:
      destination_cidr_block:
        description: The destination.
        type: str
        required: true
      target_vpc_subnet_id:
        description: The associated subnet traffic goes through.
        type: str
        required: true
      description:
        description: The route's description.
        type: str
        default: ""
  certificate_revocation_list:
    description:
      - A PEM certificate revocation list to import, so that revoked clients cannot connect. Imported when it
        differs from the endpoint's; omit it to leave the endpoint's as it is.
    type: str
  tags:
    description: Tags of the endpoint (its C(Name) is O(name)).
    type: dict
    default: {}
  purge_tags:
    description: Remove tags not in O(tags) (AWS's own C(aws:) tags are never touched).
    type: bool
    default: true
  replace:
    description: Delete and recreate the endpoint when an attribute AWS cannot modify differs.
    type: bool
    default: false
author:
  - research-env contributors (!UNKNOWN)
notes:
  - An endpoint is billed per association-hour and per connection-hour.
  - The emulator research-env tests against cannot carry VPN traffic; the API calls and their shapes are tested.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The environment's Client VPN endpoint
  research_env.core.client_vpn_endpoint:
    name: researchenv-client-vpn
    client_cidr_block: 10.100.0.0/22
    server_certificate_arn: "{{ server_cert.certificate.arn }}"
    client_root_certificate_chain_arn: "{{ server_cert.certificate.arn }}"
    vpc_id: "{{ vpc_id }}"
    security_group_ids: ["{{ dmz_sg_id }}"]
    subnet_ids: ["{{ dmz_subnet_id }}"]
    authorization_rules:
      - {target_network_cidr: 10.0.3.0/24, description: the research subnet}
    certificate_revocation_list: "{{ lookup('file', 'pki/crl.pem') }}"
    tags: {Environment: researchenv}
  register: endpoint

- name: Remove it
  research_env.core.client_vpn_endpoint:
    name: researchenv-client-vpn
    state: absent
"""

RETURN = r"""
endpoint:
  description: The endpoint as DescribeClientVpnEndpoints answers it (snake_case), null when it does not exist.
  returned: always
  type: dict
  sample: {"client_vpn_endpoint_id": "cvpn-endpoint-0123456789abcdef0", "status": {"code": "available"}}
target_networks:
  description: The associations (DescribeClientVpnTargetNetworks, snake_case).
  returned: always
  type: list
  elements: dict
authorization_rules:
  description: The authorization rules (snake_case).
  returned: always
  type: list
  elements: dict
routes:
  description: The routes, those of the associations included (snake_case).
  returned: always
  type: list
  elements: dict
client_configuration:
  description: The OpenVPN client configuration AWS exports for the endpoint (no client certificate or key).
  returned: when the endpoint exists and not in check mode
  type: str
changes:
  description: What was (or, in check mode, would be) done, one line each.
  returned: always
  type: list
  elements: str
  sample: ["create endpoint", "associate subnet-0123", "authorize 10.0.3.0/24"]
api_calls:
  description: Number of AWS API operations performed.
  returned: always
  type: int
"""

import time
from typing import Any

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.research_env.core.plugins.module_utils.calls import CallCounter
from ansible_collections.research_env.core.plugins.module_utils.client_vpn import (
    association_changes,
    connection_log_options,
    endpoint_modifications,
    endpoint_parts,
    paged,
    replacement_reasons,
    route_changes,
    rule_changes,
    snake,
    tag_changes,
    tags_dict,
)


class Endpoint:
    """One Client VPN endpoint: reads it and its parts once, then writes what differs."""

    def __init__(self, module: AnsibleAWSModule) -> None:
        self.module = module
        self.params = module.params
        self.counter = CallCounter()
        self.ec2 = self.counter.watch(module.client("ec2", retry_decorator=AWSRetry.jittered_backoff()))
        self.changes: list[str] = []
        # What converge read of an existing endpoint: when nothing changed it is the result as it is.
        self.read: tuple[dict[str, Any], dict[str, list[dict[str, Any]]]] | None = None

    # -- reading

    def paged(self, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
        return paged(self.ec2, operation, key, **kwargs)

    def find(self) -> dict[str, Any] | None:
        found = [
            e
            for e in self.paged(
                "describe_client_vpn_endpoints",
                "ClientVpnEndpoints",
                Filters=[{"Name": "tag:Name", "Values": [self.params["name"]]}],
            )
            if (e.get("Status") or {}).get("Code") != "deleted"
        ]
        if len(found) > 1:
            ids = ", ".join(e["ClientVpnEndpointId"] for e in found)
            self.module.fail_json(msg=f"{len(found)} Client VPN endpoints are named {self.params['name']}: {ids}")
        return found[0] if found else None

    def parts(self, endpoint_id: str | None) -> dict[str, list[dict[str, Any]]]:
        return endpoint_parts(self.ec2, endpoint_id)

    # -- writing

    def do(self, description: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        self.changes.append(description)
        if self.module.check_mode:
            return {}
        try:
            return getattr(self.ec2, operation)(aws_retry=True, **kwargs)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            self.module.fail_json_aws(e, msg=f"Could not {description}")

    def wanted(self) -> dict[str, Any]:
        p = self.params
        log = {"enabled": False, **{k: v for k, v in (p["connection_log"] or {}).items() if v is not None}}
        return {
            "client_cidr_block": p["client_cidr_block"],
            "transport_protocol": p["transport_protocol"],
            "client_root_certificate_chain_arn": p["client_root_certificate_chain_arn"],
            "server_certificate_arn": p["server_certificate_arn"],
            "description": p["description"],
            "split_tunnel": p["split_tunnel"],
            "vpn_port": p["vpn_port"],
            "session_timeout_hours": p["session_timeout_hours"],
            "dns_servers": p["dns_servers"],
            "vpc_id": p["vpc_id"],
            "security_group_ids": p["security_group_ids"],
            "connection_log": log,
        }

    def create(self, want: dict[str, Any]) -> str | None:
        kwargs: dict[str, Any] = {
            "ClientCidrBlock": want["client_cidr_block"],
            "ServerCertificateArn": want["server_certificate_arn"],
            "AuthenticationOptions": [
                {
                    "Type": "certificate-authentication",
                    "MutualAuthentication": {
                        "ClientRootCertificateChainArn": want["client_root_certificate_chain_arn"]
                    },
                }
            ],
            "ConnectionLogOptions": connection_log_options(want["connection_log"]),
            "TransportProtocol": want["transport_protocol"],
            "VpnPort": want["vpn_port"],
            "Description": want["description"],
            "SplitTunnel": want["split_tunnel"],
            "SessionTimeoutHours": want["session_timeout_hours"],
            "TagSpecifications": [
                {
                    "ResourceType": "client-vpn-endpoint",
                    "Tags": [{"Key": k, "Value": v} for k, v in self.tags_wanted().items()],
                }
            ],
        }
        if want["dns_servers"]:
            kwargs["DnsServers"] = want["dns_servers"]
        if want["vpc_id"]:
            kwargs["VpcId"] = want["vpc_id"]
            kwargs["SecurityGroupIds"] = want["security_group_ids"]
        return self.do("create endpoint", "create_client_vpn_endpoint", **kwargs).get("ClientVpnEndpointId")

    def tags_wanted(self) -> dict[str, str]:
        return {**(self.params["tags"] or {}), "Name": self.params["name"]}

    def remove(self, endpoint: dict[str, Any], parts: dict[str, list[dict[str, Any]]]) -> None:
        """Routes, rules, associations, then the endpoint: the order AWS needs."""
        eid = endpoint["ClientVpnEndpointId"]
        routes = route_changes(parts["routes"], [])[1]
        for route in routes:
            self.do(
                f"delete route {route['DestinationCidrBlock']}",
                "delete_client_vpn_route",
                ClientVpnEndpointId=eid,
                **route,
            )
        rules = rule_changes(parts["rules"], [])[1]
        for rule in rules:
            self.do(f"revoke {rule['TargetNetworkCidr']}", "revoke_client_vpn_ingress", ClientVpnEndpointId=eid, **rule)
        associations = association_changes(parts["networks"], [])[1]
        for assoc in associations:
            self.do(
                f"disassociate {assoc}",
                "disassociate_client_vpn_target_network",
                ClientVpnEndpointId=eid,
                AssociationId=assoc,
            )
        self.wait_disassociated(eid, associations)
        self.do(f"delete endpoint {eid}", "delete_client_vpn_endpoint", ClientVpnEndpointId=eid)

    def wait_disassociated(self, eid: str, associations: list[str], timeout: float = 600) -> None:
        """AWS disassociates in the background; the endpoint cannot go before."""
        if not associations or self.module.check_mode:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = [
                n
                for n in self.paged(
                    "describe_client_vpn_target_networks", "ClientVpnTargetNetworks", ClientVpnEndpointId=eid
                )
                if n["AssociationId"] in associations and (n.get("Status") or {}).get("Code") != "disassociated"
            ]
            if not left:
                return
            time.sleep(10)
        self.module.fail_json(msg=f"The associations of {eid} were still being removed after {timeout:.0f} s")

    def converge(self, endpoint: dict[str, Any] | None) -> dict[str, Any] | None:
        """Brings the endpoint and its parts to the wanted state; returns its id (None in check mode for a new one)."""
        p, want = self.params, self.wanted()
        if endpoint is not None:
            reasons = replacement_reasons(endpoint, want)
            if reasons and not p["replace"]:
                self.module.fail_json(
                    msg=f"Client VPN endpoint {endpoint['ClientVpnEndpointId']} ({p['name']}) differs in what AWS "
                    f"cannot modify: {'; '.join(reasons)}. Set replace=true to delete it and make it anew (connected "
                    "clients are cut off, and their profiles must be handed out again: the DNS name changes)."
                )
            if reasons:
                self.remove(endpoint, self.parts(endpoint["ClientVpnEndpointId"]))
                endpoint = None
        if endpoint is None:
            eid = self.create(want)
            parts = {"networks": [], "rules": [], "routes": []}
        else:
            eid = endpoint["ClientVpnEndpointId"]
            parts = self.parts(eid)
            self.read = (endpoint, parts)
            modifications = endpoint_modifications(endpoint, want)
            if modifications:
                self.do(f"modify endpoint ({', '.join(sorted(modifications))})", "modify_client_vpn_endpoint",
                        ClientVpnEndpointId=eid, **modifications)  # fmt: skip
            to_set, to_remove = tag_changes(tags_dict(endpoint.get("Tags")), self.tags_wanted(), p["purge_tags"])
            if to_set:
                self.do(f"tag {', '.join(sorted(to_set))}", "create_tags", Resources=[eid],
                        Tags=[{"Key": k, "Value": v} for k, v in sorted(to_set.items())])  # fmt: skip
            if to_remove:
                self.do(
                    f"untag {', '.join(to_remove)}",
                    "delete_tags",
                    Resources=[eid],
                    Tags=[{"Key": k} for k in to_remove],
                )
        eid = eid or "(new endpoint)"
        add, drop = association_changes(parts["networks"], p["subnet_ids"])
        # Routes and rules first where they depend on what goes; associations before what needs them.
        route_add, route_delete = route_changes(parts["routes"], p["routes"])
        for route in route_delete:
            where = f"{route['DestinationCidrBlock']} via {route['TargetVpcSubnetId']}"
            self.do(f"delete route {where}", "delete_client_vpn_route", ClientVpnEndpointId=eid, **route)
        for assoc in drop:
            self.do(f"disassociate {assoc}", "disassociate_client_vpn_target_network",
                    ClientVpnEndpointId=eid, AssociationId=assoc)  # fmt: skip
        for subnet in add:
            self.do(
                f"associate {subnet}", "associate_client_vpn_target_network", ClientVpnEndpointId=eid, SubnetId=subnet
            )
        rule_add, rule_revoke = rule_changes(parts["rules"], p["authorization_rules"])
        for rule in rule_revoke:
            self.do(f"revoke {rule['TargetNetworkCidr']}", "revoke_client_vpn_ingress", ClientVpnEndpointId=eid, **rule)
        for rule in rule_add:
            self.do(
                f"authorize {rule['TargetNetworkCidr']}",
                "authorize_client_vpn_ingress",
                ClientVpnEndpointId=eid,
                **rule,
            )
        for route in route_add:
            where = f"{route['DestinationCidrBlock']} via {route['TargetVpcSubnetId']}"
            self.do(f"add route {where}", "create_client_vpn_route", ClientVpnEndpointId=eid, **route)
        self.crl(eid, endpoint is None)
        return eid

    def crl(self, eid: str, new: bool) -> None:
        wanted = self.params["certificate_revocation_list"]
        if wanted is None:
            return
        current = ""
        if not new:
            try:
                current = (
                    self.ec2.export_client_vpn_client_certificate_revocation_list(
                        aws_retry=True, ClientVpnEndpointId=eid
                    ).get("CertificateRevocationList")
                    or ""
                )
            except is_boto3_error_code("InvalidClientVpnEndpointId.NotFound"):  # pylint: disable=duplicate-except
                current = ""
        if current.strip() != wanted.strip():
            self.do("import the certificate revocation list", "import_client_vpn_client_certificate_revocation_list",
                    ClientVpnEndpointId=eid, CertificateRevocationList=wanted)  # fmt: skip

    def result(self, eid: str | None) -> dict[str, Any]:
        endpoint = None
        parts: dict[str, list[dict[str, Any]]] = {"networks": [], "rules": [], "routes": []}
        configuration = None
        if eid and eid.startswith("cvpn-endpoint-"):
            if self.read is not None and not self.changes:
                endpoint, parts = self.read
            else:
                described = self.paged(
                    "describe_client_vpn_endpoints", "ClientVpnEndpoints", ClientVpnEndpointIds=[eid]
                )
                endpoint = described[0] if described else None
                parts = self.parts(eid)
            if not self.module.check_mode:
                configuration = self.ec2.export_client_vpn_client_configuration(
                    aws_retry=True, ClientVpnEndpointId=eid
                ).get("ClientConfiguration")
        return {
            "changed": bool(self.changes),
            "changes": self.changes,
            "endpoint": snake(endpoint),
            "target_networks": [snake(n) for n in parts["networks"]],
            "authorization_rules": [snake(r) for r in parts["rules"]],
            "routes": [snake(r) for r in parts["routes"]],
            "client_configuration": configuration,
        }


def main() -> None:
    rule_spec = {
        "target_network_cidr": {"type": "str", "required": True},
        "description": {"type": "str", "default": ""},
    }
    route_spec = {
        "destination_cidr_block": {"type": "str", "required": True},
        "target_vpc_subnet_id": {"type": "str", "required": True},
        "description": {"type": "str", "default": ""},
    }
    log_spec = {
        "enabled": {"type": "bool", "default": False},
        "log_group": {"type": "str"},
        "log_stream": {"type": "str"},
    }
    module = AnsibleAWSModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "description": {"type": "str", "default": ""},
            "client_cidr_block": {"type": "str"},
            "server_certificate_arn": {"type": "str"},
            "client_root_certificate_chain_arn": {"type": "str"},
            "vpc_id": {"type": "str"},
            "security_group_ids": {"type": "list", "elements": "str", "default": []},
            "subnet_ids": {"type": "list", "elements": "str", "default": []},
            "split_tunnel": {"type": "bool", "default": True},
            "dns_servers": {"type": "list", "elements": "str", "default": []},
            "transport_protocol": {"type": "str", "choices": ["udp", "tcp"], "default": "udp"},
            "vpn_port": {"type": "int", "choices": [443, 1194], "default": 443},
            "session_timeout_hours": {"type": "int", "choices": [8, 10, 12, 24], "default": 24},
            "connection_log": {"type": "dict", "default": {}, "options": log_spec},
            "authorization_rules": {"type": "list", "elements": "dict", "default": [], "options": rule_spec},
            "routes": {"type": "list", "elements": "dict", "default": [], "options": route_spec},
            "certificate_revocation_list": {"type": "str"},
            "tags": {"type": "dict", "default": {}},
            "purge_tags": {"type": "bool", "default": True},
            "replace": {"type": "bool", "default": False},
        },
        required_if=[
            ("state", "present", ["client_cidr_block", "server_certificate_arn", "client_root_certificate_chain_arn"]),
        ],
        supports_check_mode=True,
    )
    if (module.params["connection_log"] or {}).get("enabled") and not module.params["connection_log"].get("log_group"):
        module.fail_json(msg="connection_log.log_group is required when connection_log.enabled is true")
    ep = Endpoint(module)
    try:
        endpoint = ep.find()
        if module.params["state"] == "absent":
            if endpoint is not None:
                ep.remove(endpoint, ep.parts(endpoint["ClientVpnEndpointId"]))
            result = ep.result(None)
        else:
            result = ep.result(ep.converge(endpoint))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Could not manage the Client VPN endpoint")
    module.exit_json(api_calls=ep.counter.calls, **result)


if __name__ == "__main__":
    main()
