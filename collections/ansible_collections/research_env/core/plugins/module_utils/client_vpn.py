# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What research_env.core.client_vpn_endpoint must change to bring a Client VPN endpoint to the wanted
state: plain functions over the shapes EC2 answers (DescribeClientVpnEndpoints, ...TargetNetworks,
...AuthorizationRules, ...Routes), unit-tested without AWS. Each returns the calls to make, never makes one."""

from __future__ import annotations

from typing import Any

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

# Association and rule states that count as existing (the others are on their way out).
LIVE_ASSOCIATION = {"associating", "associated"}
LIVE_RULE = {"authorizing", "active"}
LIVE_ROUTE = {"creating", "active"}


def client_root_of(endpoint: dict[str, Any]) -> str | None:
    """The client root certificate chain ARN of an endpoint with mutual (certificate) authentication."""
    for option in endpoint.get("AuthenticationOptions") or []:
        mutual = option.get("MutualAuthentication") or {}
        if option.get("Type") == "certificate-authentication" and mutual.get("ClientRootCertificateChain"):
            return mutual["ClientRootCertificateChain"]
    return None


def replacement_reasons(endpoint: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """What differs that ModifyClientVpnEndpoint cannot change (the endpoint must be made anew)."""
    reasons = []
    if endpoint.get("ClientCidrBlock") != want["client_cidr_block"]:
        reasons.append(f"client_cidr_block {endpoint.get('ClientCidrBlock')} -> {want['client_cidr_block']}")
    if endpoint.get("TransportProtocol") != want["transport_protocol"]:
        reasons.append(f"transport_protocol {endpoint.get('TransportProtocol')} -> {want['transport_protocol']}")
    if client_root_of(endpoint) != want["client_root_certificate_chain_arn"]:
        want_root = want["client_root_certificate_chain_arn"]
        reasons.append(f"client_root_certificate_chain_arn {client_root_of(endpoint)} -> {want_root}")
    return reasons


def endpoint_modifications(endpoint: dict[str, Any], want: dict[str, Any]) -> dict[str, Any]:
    """The parameters of one ModifyClientVpnEndpoint call ({} when nothing differs)."""
    changes: dict[str, Any] = {}
    if endpoint.get("ServerCertificateArn") != want["server_certificate_arn"]:
        changes["ServerCertificateArn"] = want["server_certificate_arn"]
    if (endpoint.get("Description") or "") != want["description"]:
        changes["Description"] = want["description"]
    if bool(endpoint.get("SplitTunnel")) != want["split_tunnel"]:
        changes["SplitTunnel"] = want["split_tunnel"]
    if int(endpoint.get("VpnPort") or 443) != want["vpn_port"]:
        changes["VpnPort"] = want["vpn_port"]
    if int(endpoint.get("SessionTimeoutHours") or 24) != want["session_timeout_hours"]:
        changes["SessionTimeoutHours"] = want["session_timeout_hours"]
    if sorted(endpoint.get("DnsServers") or []) != sorted(want["dns_servers"]):
        changes["DnsServers"] = {"CustomDnsServers": want["dns_servers"], "Enabled": bool(want["dns_servers"])}
    if endpoint.get("VpcId") != want["vpc_id"] or sorted(endpoint.get("SecurityGroupIds") or []) != sorted(
        want["security_group_ids"]
    ):
        changes["VpcId"] = want["vpc_id"]
        changes["SecurityGroupIds"] = want["security_group_ids"]
    log = endpoint.get("ConnectionLogOptions") or {}
    want_log = want["connection_log"]
    if bool(log.get("Enabled")) != want_log["enabled"] or (
        want_log["enabled"]
        and (log.get("CloudwatchLogGroup"), log.get("CloudwatchLogStream") or None)
        != (want_log["log_group"], want_log.get("log_stream") or None)
    ):
        changes["ConnectionLogOptions"] = connection_log_options(want_log)
    return changes


def connection_log_options(want_log: dict[str, Any]) -> dict[str, Any]:
    if not want_log["enabled"]:
        return {"Enabled": False}
    options = {"Enabled": True, "CloudwatchLogGroup": want_log["log_group"]}
    if want_log.get("log_stream"):
        options["CloudwatchLogStream"] = want_log["log_stream"]
    return options


def association_changes(networks: list[dict[str, Any]], subnet_ids: list[str]) -> tuple[list[str], list[str]]:
    """(subnets to associate, association ids to disassociate)."""
    live = {
        n["TargetNetworkId"]: n["AssociationId"]
        for n in networks
        if (n.get("Status") or {}).get("Code") in LIVE_ASSOCIATION
    }
    add = [s for s in subnet_ids if s not in live]
    drop = [assoc for subnet, assoc in sorted(live.items()) if subnet not in subnet_ids]
    return add, drop


def rule_changes(rules: list[dict[str, Any]], wanted: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """(AuthorizeClientVpnIngress parameters, RevokeClientVpnIngress parameters) for rules that give every
    VPN user (AuthorizeAllGroups) access to a destination network. A rule of a group (AccessGroupId) was
    made by hand: it is kept."""
    live = {
        r["DestinationCidr"]: r
        for r in rules
        if (r.get("Status") or {}).get("Code") in LIVE_RULE and r.get("AccessAll") and not r.get("GroupId")
    }
    wanted_by_cidr = {w["target_network_cidr"]: w for w in wanted}
    add = []
    for cidr, w in wanted_by_cidr.items():
        have = live.get(cidr)
        if have is None or (have.get("Description") or "") != (w.get("description") or ""):
            add.append(
                {"TargetNetworkCidr": cidr, "AuthorizeAllGroups": True, "Description": w.get("description") or ""}
            )
    revoke = [
        {"TargetNetworkCidr": cidr, "RevokeAllGroups": True} for cidr in sorted(live) if cidr not in wanted_by_cidr
    ]
    # A description cannot be changed in place: revoke, then authorize again.
    revoke += [
        {"TargetNetworkCidr": a["TargetNetworkCidr"], "RevokeAllGroups": True}
        for a in add
        if a["TargetNetworkCidr"] in live
    ]
    return add, revoke


def route_changes(routes: list[dict[str, Any]], wanted: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """(CreateClientVpnRoute parameters, DeleteClientVpnRoute parameters) for the routes added by hand
    (Origin add-route); those an association adds (Origin associate) come and go with it."""
    live = {
        (r["DestinationCidr"], r["TargetSubnet"]): r
        for r in routes
        if r.get("Origin") == "add-route" and (r.get("Status") or {}).get("Code") in LIVE_ROUTE
    }
    wanted_keys = {(w["destination_cidr_block"], w["target_vpc_subnet_id"]): w for w in wanted}
    add = [
        {
            "DestinationCidrBlock": cidr,
            "TargetVpcSubnetId": subnet,
            "Description": w.get("description") or "",
        }
        for (cidr, subnet), w in wanted_keys.items()
        if (cidr, subnet) not in live
    ]
    delete = [
        {"DestinationCidrBlock": cidr, "TargetVpcSubnetId": subnet}
        for (cidr, subnet) in sorted(live)
        if (cidr, subnet) not in wanted_keys
    ]
    return add, delete


def tag_changes(current: dict[str, str], wanted: dict[str, str], purge: bool) -> tuple[dict[str, str], list[str]]:
    """(tags to set, tag keys to remove); aws: tags are AWS's own and never touched."""
    to_set = {k: v for k, v in wanted.items() if current.get(k) != v}
    to_remove = sorted(k for k in current if purge and k not in wanted and not k.startswith("aws:"))
    return to_set, to_remove


# -- reading, shared by client_vpn_endpoint and client_vpn_endpoint_info


def paged(ec2: Any, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item of a paginated Describe call (NextToken), with the module's retries."""
    items: list[dict[str, Any]] = []
    token = None
    while True:
        page = getattr(ec2, operation)(aws_retry=True, **kwargs, **({"NextToken": token} if token else {}))
        items += page.get(key) or []
        token = page.get("NextToken")
        if not token:
            return items


def endpoint_parts(ec2: Any, endpoint_id: str | None) -> dict[str, list[dict[str, Any]]]:
    """An endpoint's associations, authorization rules and routes (three calls)."""
    if endpoint_id is None:
        return {"networks": [], "rules": [], "routes": []}
    ids = {"ClientVpnEndpointId": endpoint_id}
    return {
        "networks": paged(ec2, "describe_client_vpn_target_networks", "ClientVpnTargetNetworks", **ids),
        "rules": paged(ec2, "describe_client_vpn_authorization_rules", "AuthorizationRules", **ids),
        "routes": paged(ec2, "describe_client_vpn_routes", "Routes", **ids),
    }


def tags_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags or []}


def snake(item: dict[str, Any] | None) -> dict[str, Any] | None:
    """snake_case, the tags kept as a dict with their own keys."""
    if item is None:
        return None
    tags = tags_dict(item.get("Tags")) if "Tags" in item else None
    out = camel_dict_to_snake_dict({k: v for k, v in item.items() if k != "Tags"})
    if tags is not None:
        out["tags"] = tags
    return out
