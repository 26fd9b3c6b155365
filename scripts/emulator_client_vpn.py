"""AWS Client VPN for moto's EC2, and the ACM behaviour it leans on, as strict as AWS and never more lenient.

moto 5.2.5 has no Client VPN: every call is NotImplementedError. The vpn_provider client_vpn feature manages an
endpoint with boto3's EC2 client, so its tests need the calls answered with AWS's shapes and refused where AWS
refuses. `install()` adds them to moto's EC2Response (moto dispatches an Action to the method named as its
snake_case) and keeps the state on each EC2 backend (per account and region), so moto's reset clears it.
Answers go through moto's model-driven serializer (ActionResult), so the XML has botocore's shapes.

What AWS does and is modelled here, with the error codes of AWS's EC2 error list:
- CreateClientVpnEndpoint checks ClientCidrBlock (an IPv4 CIDR from /12 to /22), the server certificate and a
  certificate-authentication client root chain (both must be ACM certificates of this account and region), the
  log group of ConnectionLogOptions (moto's CloudWatch Logs), TransportProtocol, VpnPort (443 or 1194),
  SessionTimeoutHours (8, 10, 12, 24), DnsServers (two at most) and the security groups (they must be in
  VpcId; without groups the VPC's default group is taken). The endpoint is pending-associate until a subnet is
  associated, then available, with the DNS name *.cvpn-endpoint-<id>.prod.clientvpn.<region>.amazonaws.com.
- AssociateClientVpnTargetNetwork takes a subnet of the endpoint's VPC (the first association sets it), one per
  Availability Zone, refuses a VPC whose CIDR overlaps the client CIDR, and adds the route "VPC CIDR -> subnet"
  (Origin associate). Disassociating removes the subnet's routes; the last one makes it pending-associate again.
  DeleteClientVpnEndpoint with associations is ClientVpnEndpointAssociationExists.
- Authorization rules (a CIDR for all groups or for one access group; a duplicate is refused), routes to an
  associated subnet (a duplicate is refused; the associate routes go only with their association).
- ExportClientVpnClientConfiguration answers the OpenVPN profile AWS gives, with the server certificate's chain
  from ACM; a client certificate revocation list is taken only as a PEM X.509 CRL.
- Tags: TagSpecifications (client-vpn-endpoint) and CreateTags/DeleteTags/DescribeTags on cvpn-endpoint-* ids,
  through moto's own tag store.
- Subnets and security groups in use by an endpoint are reported (`holds_subnet`, `uses_group`) for the
  DependencyViolation checks of moto_server.py.
Calls answer what AWS answers at once (associating, authorizing, creating, deleting); what they describe is
the state reached, as the emulator has no propagation delay.

ACM: moto's GetCertificate returns an imported certificate's chain plus a fake AWS root CA, and a re-import
drops the certificate's tags. AWS returns the chain as imported (community.aws.acm_certificate compares it,
so every run re-imported against moto), keeps the tags on a re-import and refuses tags given with one
("Tagging is not permitted on re-import.").
"""

from __future__ import annotations

import base64
import ipaddress
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from moto.acm import models as acm_models
from moto.acm.exceptions import AWSValidationException
from moto.acm.models import AWSCertificateManagerBackend, acm_backends
from moto.core.responses import ActionResult
from moto.ec2 import models as ec2_models
from moto.ec2 import utils as ec2_utils
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models import EC2Backend
from moto.ec2.models import tags as ec2_tag_models
from moto.ec2.responses import EC2Response
from moto.logs.models import logs_backends

ENDPOINT_PREFIX = "cvpn-endpoint"
ASSOCIATION_PREFIX = "cvpn-assoc"
RESOURCE_TYPE = "client-vpn-endpoint"
VPN_PORTS = (443, 1194)
SESSION_TIMEOUT_HOURS = (8, 10, 12, 24)
CLIENT_CIDR_PREFIXES = range(12, 23)
MAX_RESULTS = range(5, 1001)
ENDPOINT_FILTERS = ("endpoint-id", "transport-protocol")
TARGET_NETWORK_FILTERS = {"association-id": "association_id", "target-network-id": "subnet_id", "vpc-id": "vpc_id"}
RULE_FILTERS = {"description": "description", "destination-cidr": "destination_cidr", "group-id": "group_id"}
ROUTE_FILTERS = {"destination-cidr": "destination_cidr", "origin": "origin", "target-subnet": "target_subnet"}


def error(code: str, message: str) -> EC2ClientError:
    return EC2ClientError(code, message)


def invalid(message: str) -> EC2ClientError:
    return error("InvalidParameterValue", message)


# --- The model, kept on each EC2 backend ---------------------------------------------------------------


class TargetNetwork:
    def __init__(self, endpoint: ClientVpnEndpoint, subnet: Any) -> None:
        self.endpoint = endpoint
        self.association_id = ec2_utils.random_id(ASSOCIATION_PREFIX)
        self.subnet_id = subnet.id
        self.vpc_id = subnet.vpc_id
        self.availability_zone = subnet.availability_zone
        self.status = {"Code": "associated"}

    @property
    def target_network_id(self) -> str:
        return self.subnet_id

    @property
    def client_vpn_endpoint_id(self) -> str:
        return self.endpoint.id

    @property
    def security_groups(self) -> list[str]:
        return list(self.endpoint.security_group_ids)


class AuthorizationRule:
    def __init__(self, endpoint_id: str, cidr: str, group_id: str, description: str) -> None:
        self.client_vpn_endpoint_id = endpoint_id
        self.destination_cidr = cidr
        self.group_id = group_id
        self.access_all = not group_id
        self.description = description
        self.status = {"Code": "active"}


class Route:
    def __init__(self, endpoint_id: str, cidr: str, subnet_id: str, origin: str, description: str) -> None:
        self.client_vpn_endpoint_id = endpoint_id
        self.destination_cidr = cidr
        self.target_subnet = subnet_id
        self.type = "Nat"
        self.origin = origin
        self.description = description
        self.status = {"Code": "active"}


class ClientVpnEndpoint:
    """Not a moto TaggedEC2Resource (moto's model metaclass wants a class defined in a moto.* module); its
    tags are still moto's, in the backend's tag store."""

    def __init__(self, ec2_backend: EC2Backend, settings: dict[str, Any]) -> None:
        self.ec2_backend = ec2_backend
        self.id = ec2_utils.random_id(ENDPOINT_PREFIX)
        self.creation_time = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        self.dns_name = f"*.{self.id}.prod.clientvpn.{ec2_backend.region_name}.amazonaws.com"
        self.vpn_protocol = "openvpn"
        self.target_networks: dict[str, TargetNetwork] = {}
        self.authorization_rules: list[AuthorizationRule] = []
        self.routes: list[Route] = []
        self.certificate_revocation_list: str | None = None
        self.__dict__.update(settings)

    @property
    def client_vpn_endpoint_id(self) -> str:
        return self.id

    @property
    def status(self) -> dict[str, str]:
        return {"Code": "available" if self.target_networks else "pending-associate"}

    @property
    def tags(self) -> list[dict[str, str]]:
        return self.get_tags()

    @property
    def self_service_portal_url(self) -> str | None:
        if self.self_service_portal != "enabled":
            return None
        return f"https://self-service.clientvpn.amazonaws.com/endpoints/{self.id}"

    def get_tags(self) -> list[dict[str, str]]:
        return self.ec2_backend.describe_tags(filters={"resource-id": [self.id]})

    def get_filter_value(self, filter_name: str, method_name: str | None = None) -> Any:
        if filter_name == "endpoint-id":
            return self.id
        if filter_name == "transport-protocol":
            return self.transport_protocol
        tags = {tag["key"]: tag["value"] for tag in self.get_tags()}
        if filter_name == "tag-key":
            return list(tags)
        return tags.get(filter_name.removeprefix("tag:"))


def endpoints(backend: EC2Backend) -> dict[str, ClientVpnEndpoint]:
    """The backend's endpoints: an attribute moto's reset (which empties the backend's __dict__) clears."""
    return backend.__dict__.setdefault("client_vpn_endpoints", {})


def client_tokens(backend: EC2Backend) -> dict[str, str]:
    return backend.__dict__.setdefault("client_vpn_client_tokens", {})


def get_endpoint(backend: EC2Backend, endpoint_id: str) -> ClientVpnEndpoint:
    try:
        return endpoints(backend)[endpoint_id]
    except KeyError:
        raise error(
            "InvalidClientVpnEndpointId.NotFound", f"The Client VPN endpoint ID '{endpoint_id}' does not exist"
        ) from None


def holds_subnet(backend: EC2Backend, subnet_id: str) -> bool:
    """An endpoint is associated with the subnet (AWS keeps its network interfaces there)."""
    return any(net.subnet_id == subnet_id for ep in endpoints(backend).values() for net in ep.target_networks.values())


def uses_group(backend: EC2Backend, group_id: str) -> bool:
    return any(group_id in ep.security_group_ids for ep in endpoints(backend).values())


# --- Checks --------------------------------------------------------------------------------------------


def client_cidr(value: str | None) -> str:
    if not value:
        raise error("MissingParameter", "The request must contain the parameter ClientCidrBlock")
    try:
        network = ipaddress.IPv4Network(value)
    except ValueError:
        raise invalid(f"Client CIDR block {value} is not a valid IPv4 CIDR block") from None
    if network.prefixlen not in CLIENT_CIDR_PREFIXES:
        raise invalid("Client CIDR range must have a size of at least /22 and must not be greater than /12.")
    return str(network)


def any_cidr(value: str, name: str) -> str:
    try:
        return str(ipaddress.IPv4Network(value))
    except ValueError:
        raise invalid(f"{name} {value} is not a valid IPv4 CIDR block") from None


def acm_certificate(backend: EC2Backend, arn: str | None, what: str) -> Any:
    acm = acm_backends[backend.account_id][backend.region_name]
    if not arn or arn not in acm._certificates:
        raise invalid(f"The {what} {arn} does not exist")
    return acm._certificates[arn]


def authentication(backend: EC2Backend, options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not options or len(options) > 2:
        raise invalid("Specify one or two authentication options")
    described = []
    for option in options:
        kind = option.get("Type")
        if kind == "certificate-authentication":
            chain_arn = (option.get("MutualAuthentication") or {}).get("ClientRootCertificateChainArn")
            if not chain_arn:
                raise error("MissingParameter", "The request must contain the parameter ClientRootCertificateChainArn")
            acm_certificate(backend, chain_arn, "client root certificate chain")
            described.append({"Type": kind, "MutualAuthentication": {"ClientRootCertificateChain": chain_arn}})
        elif kind == "directory-service-authentication":
            directory = (option.get("ActiveDirectory") or {}).get("DirectoryId")
            if not directory:
                raise error("MissingParameter", "The request must contain the parameter DirectoryId")
            described.append({"Type": kind, "ActiveDirectory": {"DirectoryId": directory}})
        elif kind == "federated-authentication":
            federated = option.get("FederatedAuthentication") or {}
            if not federated.get("SAMLProviderArn"):
                raise error("MissingParameter", "The request must contain the parameter SAMLProviderArn")
            answer = {"SamlProviderArn": federated["SAMLProviderArn"]}
            if federated.get("SelfServiceSAMLProviderArn"):
                answer["SelfServiceSamlProviderArn"] = federated["SelfServiceSAMLProviderArn"]
            described.append({"Type": kind, "FederatedAuthentication": answer})
        else:
            raise invalid(f"Invalid authentication type {kind}")
    if len({option["Type"] for option in described}) != len(described):
        raise invalid("Specify each authentication type at most once")
    return described


def connection_log(backend: EC2Backend, options: dict[str, Any] | None) -> dict[str, Any]:
    if not options or options.get("Enabled") is None:
        raise error("MissingParameter", "The request must contain the parameter ConnectionLogOptions.Enabled")
    if not options["Enabled"]:
        return {"Enabled": False}
    group_name = options.get("CloudwatchLogGroup")
    if not group_name:
        raise error("MissingParameter", "The request must contain the parameter CloudwatchLogGroup")
    group = logs_backends[backend.account_id][backend.region_name].groups.get(group_name)
    if group is None:
        raise invalid(f"Cloudwatch log group {group_name} does not exist")
    stream = options.get("CloudwatchLogStream")
    if stream and stream not in group.streams:
        raise invalid(f"Cloudwatch log stream {stream} does not exist in log group {group_name}")
    answer = {"Enabled": True, "CloudwatchLogGroup": group_name}
    if stream:
        answer["CloudwatchLogStream"] = stream
    return answer


def dns_servers(servers: list[str]) -> list[str]:
    if len(servers) > 2:
        raise invalid("A Client VPN endpoint can have up to two DNS servers")
    for server in servers:
        try:
            ipaddress.IPv4Address(server)
        except ValueError:
            raise invalid(f"Invalid DNS server address {server}") from None
    return list(servers)


def vpn_port(port: int | None) -> int:
    if port is None:
        return 443
    if port not in VPN_PORTS:
        raise invalid(f"Invalid VPN port {port}. Valid values are 443 and 1194")
    return port


def session_timeout(hours: int | None) -> int:
    if hours is None:
        return 24
    if hours not in SESSION_TIMEOUT_HOURS:
        raise invalid(f"Invalid session timeout {hours}. Valid values are 8, 10, 12 and 24")
    return hours


def security_groups(backend: EC2Backend, vpc_id: str | None, group_ids: list[str]) -> tuple[str | None, list[str]]:
    """The endpoint's VPC and groups: the groups must be in the VPC; no groups means the VPC's default one."""
    if group_ids and not vpc_id:
        raise error("MissingParameter", "The request must contain the parameter VpcId")
    if not vpc_id:
        return None, []
    backend.get_vpc(vpc_id)
    if not group_ids:
        default = backend.get_default_security_group(vpc_id)
        return vpc_id, [default.id] if default else []
    for group_id in group_ids:
        group = backend.get_security_group_from_id(group_id)
        if group is None or group.vpc_id != vpc_id:
            raise error("InvalidGroup.NotFound", f"The security group '{group_id}' does not exist in VPC '{vpc_id}'")
    return vpc_id, list(dict.fromkeys(group_ids))


def vpc_cidrs(backend: EC2Backend, vpc_id: str) -> list[ipaddress.IPv4Network]:
    vpc = backend.get_vpc(vpc_id)
    blocks = [vpc.cidr_block] + [
        assoc["cidr_block"]
        for assoc in vpc.cidr_block_association_set
        if assoc.get("cidr_block_state", {}).get("state") == "associated"
    ]
    return [ipaddress.IPv4Network(block) for block in dict.fromkeys(blocks)]


def page(items: list[Any], max_results: int | None, token: str | None) -> tuple[list[Any], str | None]:
    """AWS's MaxResults (5 to 1000) and an opaque NextToken."""
    if max_results is not None and max_results not in MAX_RESULTS:
        raise invalid(
            f"Value ( {max_results} ) for parameter maxResults is invalid. Parameter must be between 5 and 1000"
        )
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except (ValueError, UnicodeDecodeError):
            raise error("InvalidPaginationToken", f"The pagination token {token} is invalid.") from None
    end = len(items) if max_results is None else start + max_results
    following = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
    return items[start:end], following


def filtered(items: list[Any], filters: dict[str, list[str]], attributes: dict[str, str]) -> list[Any]:
    for name, values in filters.items():
        if name not in attributes:
            raise invalid(f"The filter '{name}' is invalid")
        items = [item for item in items if str(getattr(item, attributes[name]) or "") in values]
    return items


# --- The calls -----------------------------------------------------------------------------------------


def created(endpoint: ClientVpnEndpoint) -> ActionResult:
    return ActionResult({"ClientVpnEndpointId": endpoint.id, "Status": endpoint.status, "DnsName": endpoint.dns_name})


def create_client_vpn_endpoint(self: EC2Response) -> ActionResult:
    backend = self.ec2_backend
    token = self._get_param("ClientToken")
    if token and token in client_tokens(backend) and client_tokens(backend)[token] in endpoints(backend):
        existing = endpoints(backend)[client_tokens(backend)[token]]
        return ActionResult(
            {"ClientVpnEndpointId": existing.id, "Status": existing.status, "DnsName": existing.dns_name}
        )
    server_arn = self._get_param("ServerCertificateArn")
    acm_certificate(backend, server_arn, "server certificate")
    protocol = self._get_param("TransportProtocol") or "udp"
    if protocol not in ("udp", "tcp"):
        raise invalid(f"Invalid transport protocol {protocol}")
    vpc_id, groups = security_groups(backend, self._get_param("VpcId"), self._get_param("SecurityGroupIds") or [])
    auth = authentication(backend, self._get_param("AuthenticationOptions") or [])
    portal = self._get_param("SelfServicePortal") or "disabled"
    if portal == "enabled" and not any(a["Type"] == "federated-authentication" for a in auth):
        raise invalid("The self-service portal can only be enabled with federated authentication")
    tags: dict[str, str] = {}
    for spec in self._get_param("TagSpecifications") or []:
        if spec.get("ResourceType") != RESOURCE_TYPE:
            raise invalid(f"'{spec.get('ResourceType')}' is not a valid taggable resource type for this operation.")
        tags.update({tag["Key"]: tag.get("Value", "") for tag in spec.get("Tags") or []})
    banner = self._get_param("ClientLoginBannerOptions") or {}
    settings = {
        "client_cidr_block": client_cidr(self._get_param("ClientCidrBlock")),
        "server_certificate_arn": server_arn,
        "authentication_options": auth,
        "connection_log_options": connection_log(backend, self._get_param("ConnectionLogOptions")),
        "dns_servers": dns_servers(self._get_param("DnsServers") or []),
        "transport_protocol": protocol,
        "vpn_port": vpn_port(self._get_param("VpnPort")),
        "description": self._get_param("Description") or "",
        "split_tunnel": bool(self._get_param("SplitTunnel")),
        "security_group_ids": groups,
        "vpc_id": vpc_id,
        "self_service_portal": portal,
        "session_timeout_hours": session_timeout(self._get_param("SessionTimeoutHours")),
        "client_connect_options": {"Enabled": False, "Status": {"Code": "applied"}},
        "client_login_banner_options": {"Enabled": bool(banner.get("Enabled")), "BannerText": banner.get("BannerText")},
        "disconnect_on_session_timeout": self._get_param("DisconnectOnSessionTimeout") is not False,
        "endpoint_ip_address_type": "ipv4",
        "traffic_ip_address_type": "ipv4",
    }
    self.error_on_dryrun()
    endpoint = ClientVpnEndpoint(backend, settings)
    endpoints(backend)[endpoint.id] = endpoint
    if token:
        client_tokens(backend)[token] = endpoint.id
    if tags:
        backend.create_tags([endpoint.id], tags)
    return created(endpoint)


def describe_client_vpn_endpoints(self: EC2Response) -> ActionResult:
    backend = self.ec2_backend
    ids = self._get_param("ClientVpnEndpointIds") or []
    found = [get_endpoint(backend, endpoint_id) for endpoint_id in ids] if ids else list(endpoints(backend).values())
    for name, values in self._filters_from_querystring().items():
        if name not in ENDPOINT_FILTERS and not ec2_utils.is_tag_filter(name):
            raise invalid(f"The filter '{name}' is invalid")
        found = [ep for ep in found if ec2_utils.is_filter_matching(ep, name, values)]
    self.error_on_dryrun()
    shown, token = page(found, self._get_param("MaxResults"), self._get_param("NextToken"))
    return ActionResult({"ClientVpnEndpoints": shown, "NextToken": token})


def modify_client_vpn_endpoint(self: EC2Response) -> ActionResult:
    backend = self.ec2_backend
    endpoint = get_endpoint(backend, self._get_param("ClientVpnEndpointId"))
    changes: dict[str, Any] = {}
    if (arn := self._get_param("ServerCertificateArn")) is not None:
        acm_certificate(backend, arn, "server certificate")
        changes["server_certificate_arn"] = arn
    if (log := self._get_param("ConnectionLogOptions")) is not None:
        changes["connection_log_options"] = connection_log(backend, log)
    if (dns := self._get_param("DnsServers")) is not None:
        changes["dns_servers"] = dns_servers(dns.get("CustomDnsServers") or []) if dns.get("Enabled", True) else []
    if (port := self._get_param("VpnPort")) is not None:
        changes["vpn_port"] = vpn_port(port)
    if (description := self._get_param("Description")) is not None:
        changes["description"] = description
    if (split := self._get_param("SplitTunnel")) is not None:
        changes["split_tunnel"] = split
    if (hours := self._get_param("SessionTimeoutHours")) is not None:
        changes["session_timeout_hours"] = session_timeout(hours)
    vpc_id, group_ids = self._get_param("VpcId"), self._get_param("SecurityGroupIds")
    if vpc_id is not None or group_ids is not None:
        vpc_id = vpc_id or endpoint.vpc_id
        if endpoint.target_networks and vpc_id != endpoint.vpc_id:
            raise invalid("The VPC of a Client VPN endpoint cannot be changed while target networks are associated")
        changes["vpc_id"], changes["security_group_ids"] = security_groups(backend, vpc_id, group_ids or [])
    self.error_on_dryrun()
    endpoint.__dict__.update(changes)
    return ActionResult({"Return": True})


def delete_client_vpn_endpoint(self: EC2Response) -> ActionResult:
    backend = self.ec2_backend
    endpoint = get_endpoint(backend, self._get_param("ClientVpnEndpointId"))
    if endpoint.target_networks:
        raise error(
            "ClientVpnEndpointAssociationExists",
            f"The endpoint that you're trying to delete has associations {' '.join(endpoint.target_networks)}",
        )
    self.error_on_dryrun()
    del endpoints(backend)[endpoint.id]
    backend.tags.pop(endpoint.id, None)
    return ActionResult({"Status": {"Code": "deleting"}})


def associate_client_vpn_target_network(self: EC2Response) -> ActionResult:
    backend = self.ec2_backend
    endpoint = get_endpoint(backend, self._get_param("ClientVpnEndpointId"))
    subnet_id = self._get_param("SubnetId")
    if not subnet_id:
        raise error("MissingParameter", "The request must contain the parameter SubnetId")
    subnet = backend.get_subnet(subnet_id)
    if endpoint.vpc_id and subnet.vpc_id != endpoint.vpc_id:
        raise error(
            "InvalidClientVpnSubnetId.NotFound",
            f"The subnet {subnet_id} is not in the VPC {endpoint.vpc_id} of the Client VPN endpoint",
        )
    for network in endpoint.target_networks.values():
        if network.subnet_id == subnet_id:
            raise error(
                "InvalidClientVpnDuplicateAssociationException",
                f"The target network {subnet_id} is already associated with the Client VPN endpoint",
            )
        if network.availability_zone == subnet.availability_zone:
            raise error(
                "InvalidClientVpnSubnetId.DuplicateAz",
                f"A subnet in Availability Zone {subnet.availability_zone} is already associated with the endpoint",
            )
    client = ipaddress.IPv4Network(endpoint.client_cidr_block)
    cidrs = vpc_cidrs(backend, subnet.vpc_id)
    if any(cidr.overlaps(client) for cidr in cidrs):
        raise error(
            "InvalidClientVpnSubnetId.OverlappingCidr",
            f"The client CIDR {client} overlaps the CIDR of VPC {subnet.vpc_id}",
        )
    self.error_on_dryrun()
    if not endpoint.vpc_id:
        endpoint.vpc_id, endpoint.security_group_ids = security_groups(backend, subnet.vpc_id, [])
    network = TargetNetwork(endpoint, subnet)
    endpoint.target_networks[network.association_id] = network
    endpoint.routes.append(Route(endpoint.id, str(cidrs[0]), subnet_id, "associate", "Default Route"))
    return ActionResult({"AssociationId": network.association_id, "Status": {"Code": "associating"}})


def disassociate_client_vpn_target_network(self: EC2Response) -> ActionResult:
    endpoint = get_endpoint(self.ec2_backend, self._get_param("ClientVpnEndpointId"))
    association_id = self._get_param("AssociationId")
    network = endpoint.target_networks.get(association_id)
    if network is None:
        raise error(
            "InvalidClientVpnAssociationIdNotFound", f"The target network association {association_id} does not exist"
        )
    self.error_on_dryrun()
    del endpoint.target_networks[association_id]
    endpoint.routes = [route for route in endpoint.routes if route.target_subnet != network.subnet_id]
    return ActionResult({"AssociationId": association_id, "Status": {"Code": "disassociating"}})


def describe_client_vpn_target_networks(self: EC2Response) -> ActionResult:
    endpoint = get_endpoint(self.ec2_backend, self._get_param("ClientVpnEndpointId"))
    found = list(endpoint.target_networks.values())
    if ids := self._get_param("AssociationIds"):
        found = [net for net in found if net.association_id in ids]
    found = filtered(found, self._filters_from_querystring(), TARGET_NETWORK_FILTERS)
    self.error_on_dryrun()
    shown, token = page(found, self._get_param("MaxResults"), self._get_param("NextToken"))
    return ActionResult({"ClientVpnTargetNetworks": shown, "NextToken": token})


def apply_security_groups_to_client_vpn_target_network(self: EC2Response) -> ActionResult:
    backend = self.ec2_backend
    endpoint = get_endpoint(backend, self._get_param("ClientVpnEndpointId"))
    vpc_id = self._get_param("VpcId")
    if endpoint.vpc_id and vpc_id != endpoint.vpc_id:
        raise invalid(f"The VPC {vpc_id} is not the VPC {endpoint.vpc_id} of the Client VPN endpoint")
    if not self._get_param("SecurityGroupIds"):
        raise error("MissingParameter", "The request must contain the parameter SecurityGroupId")
    vpc_id, groups = security_groups(backend, vpc_id, self._get_param("SecurityGroupIds"))
    self.error_on_dryrun()
    endpoint.vpc_id, endpoint.security_group_ids = vpc_id, groups
    return ActionResult({"SecurityGroupIds": groups})


def authorize_client_vpn_ingress(self: EC2Response) -> ActionResult:
    endpoint = get_endpoint(self.ec2_backend, self._get_param("ClientVpnEndpointId"))
    cidr = any_cidr(self._get_param("TargetNetworkCidr"), "Target network CIDR")
    group_id, everyone = self._get_param("AccessGroupId"), self._get_param("AuthorizeAllGroups")
    if not group_id and not everyone:
        raise error("MissingParameter", "You must specify either access-group-id or authorize-all-groups")
    if group_id and everyone:
        raise error("InvalidParameterCombination", "You cannot specify both access-group-id and authorize-all-groups")
    group_id = group_id or ""
    if any(r.destination_cidr == cidr and r.group_id == group_id for r in endpoint.authorization_rules):
        raise error(
            "InvalidClientVpnDuplicateAuthorizationRule",
            f"An authorization rule for {cidr} and {group_id or 'all groups'} already exists",
        )
    self.error_on_dryrun()
    rule = AuthorizationRule(endpoint.id, cidr, group_id, self._get_param("Description") or "")
    endpoint.authorization_rules.append(rule)
    return ActionResult({"Status": {"Code": "authorizing"}})


def revoke_client_vpn_ingress(self: EC2Response) -> ActionResult:
    endpoint = get_endpoint(self.ec2_backend, self._get_param("ClientVpnEndpointId"))
    cidr = any_cidr(self._get_param("TargetNetworkCidr"), "Target network CIDR")
    group_id, everyone = self._get_param("AccessGroupId"), self._get_param("RevokeAllGroups")
    if not group_id and not everyone:
        raise error("MissingParameter", "You must specify either access-group-id or revoke-all-groups")
    matching = [
        r for r in endpoint.authorization_rules if r.destination_cidr == cidr and (everyone or r.group_id == group_id)
    ]
    if not matching:
        raise error("InvalidClientVpnEndpointAuthorizationRuleNotFound", f"No authorization rule for {cidr} was found")
    self.error_on_dryrun()
    endpoint.authorization_rules = [r for r in endpoint.authorization_rules if r not in matching]
    return ActionResult({"Status": {"Code": "revoking"}})


def describe_client_vpn_authorization_rules(self: EC2Response) -> ActionResult:
    endpoint = get_endpoint(self.ec2_backend, self._get_param("ClientVpnEndpointId"))
    found = filtered(endpoint.authorization_rules, self._filters_from_querystring(), RULE_FILTERS)
    self.error_on_dryrun()
    shown, token = page(found, self._get_param("MaxResults"), self._get_param("NextToken"))
    return ActionResult({"AuthorizationRules": shown, "NextToken": token})


def create_client_vpn_route(self: EC2Response) -> ActionResult:
    endpoint = get_endpoint(self.ec2_backend, self._get_param("ClientVpnEndpointId"))
    cidr = any_cidr(self._get_param("DestinationCidrBlock"), "Destination CIDR block")
    subnet_id = self._get_param("TargetVpcSubnetId")
    if not subnet_id:
        raise error("MissingParameter", "The request must contain the parameter TargetVpcSubnetId")
    if not endpoint.target_networks:
        raise error(
            "InvalidClientVpnActiveAssociationNotFound",
            "You cannot perform this action on the Client VPN endpoint while it is in the pending-association state.",
        )
    if subnet_id not in {net.subnet_id for net in endpoint.target_networks.values()}:
        raise error(
            "InvalidClientVpnSubnetId.NotFound",
            f"The subnet {subnet_id} is not associated with the Client VPN endpoint",
        )
    if any(r.destination_cidr == cidr and r.target_subnet == subnet_id for r in endpoint.routes):
        raise error("InvalidClientVpnDuplicateRoute", "Route already exists")
    self.error_on_dryrun()
    endpoint.routes.append(Route(endpoint.id, cidr, subnet_id, "add-route", self._get_param("Description") or ""))
    return ActionResult({"Status": {"Code": "creating"}})


def delete_client_vpn_route(self: EC2Response) -> ActionResult:
    endpoint = get_endpoint(self.ec2_backend, self._get_param("ClientVpnEndpointId"))
    cidr = any_cidr(self._get_param("DestinationCidrBlock"), "Destination CIDR block")
    subnet_id = self._get_param("TargetVpcSubnetId")
    matching = [
        r for r in endpoint.routes if r.destination_cidr == cidr and (not subnet_id or r.target_subnet == subnet_id)
    ]
    if not matching:
        raise error("InvalidClientVpnRouteNotFound", f"The route to {cidr} does not exist")
    if any(r.origin == "associate" for r in matching):
        raise invalid("Routes that were added when a target network was associated cannot be deleted")
    self.error_on_dryrun()
    endpoint.routes = [r for r in endpoint.routes if r not in matching]
    return ActionResult({"Status": {"Code": "deleting"}})


def describe_client_vpn_routes(self: EC2Response) -> ActionResult:
    endpoint = get_endpoint(self.ec2_backend, self._get_param("ClientVpnEndpointId"))
    found = filtered(endpoint.routes, self._filters_from_querystring(), ROUTE_FILTERS)
    self.error_on_dryrun()
    shown, token = page(found, self._get_param("MaxResults"), self._get_param("NextToken"))
    return ActionResult({"Routes": shown, "NextToken": token})


def client_configuration(endpoint: ClientVpnEndpoint, ca: str) -> str:
    """The OpenVPN profile AWS exports: clients resolve <random>.<DNS name> (remote-random-hostname)."""
    remote = endpoint.dns_name.removeprefix("*.")
    lines = [
        "client",
        "dev tun",
        f"proto {endpoint.transport_protocol}",
        f"remote {remote} {endpoint.vpn_port}",
        "remote-random-hostname",
        "resolv-retry infinite",
        "nobind",
        "remote-cert-tls server",
        "cipher AES-256-GCM",
        "verb 3",
        "<ca>",
        ca.strip(),
        "</ca>",
        "",
        "",
        "reneg-sec 0",
    ]
    return "\n".join(lines) + "\n"


def export_client_vpn_client_configuration(self: EC2Response) -> ActionResult:
    backend = self.ec2_backend
    endpoint = get_endpoint(backend, self._get_param("ClientVpnEndpointId"))
    bundle = acm_certificate(backend, endpoint.server_certificate_arn, "server certificate")
    ca = (bundle.chain or bundle.cert).decode()
    self.error_on_dryrun()
    return ActionResult({"ClientConfiguration": client_configuration(endpoint, ca)})


def import_client_vpn_client_certificate_revocation_list(self: EC2Response) -> ActionResult:
    endpoint = get_endpoint(self.ec2_backend, self._get_param("ClientVpnEndpointId"))
    crl = self._get_param("CertificateRevocationList") or ""
    try:
        x509.load_pem_x509_crl(crl.encode())
    except ValueError:
        raise invalid("The certificate revocation list is not a valid PEM-encoded X.509 CRL") from None
    self.error_on_dryrun()
    endpoint.certificate_revocation_list = crl
    return ActionResult({"Return": True})


def export_client_vpn_client_certificate_revocation_list(self: EC2Response) -> ActionResult:
    endpoint = get_endpoint(self.ec2_backend, self._get_param("ClientVpnEndpointId"))
    self.error_on_dryrun()
    if endpoint.certificate_revocation_list is None:
        return ActionResult({})
    return ActionResult(
        {"CertificateRevocationList": endpoint.certificate_revocation_list, "Status": {"Code": "active"}}
    )


CALLS = (
    create_client_vpn_endpoint,
    describe_client_vpn_endpoints,
    modify_client_vpn_endpoint,
    delete_client_vpn_endpoint,
    associate_client_vpn_target_network,
    disassociate_client_vpn_target_network,
    describe_client_vpn_target_networks,
    apply_security_groups_to_client_vpn_target_network,
    authorize_client_vpn_ingress,
    revoke_client_vpn_ingress,
    describe_client_vpn_authorization_rules,
    create_client_vpn_route,
    delete_client_vpn_route,
    describe_client_vpn_routes,
    export_client_vpn_client_configuration,
    import_client_vpn_client_certificate_revocation_list,
    export_client_vpn_client_certificate_revocation_list,
)


# --- Tags on cvpn-endpoint-* ids ---------------------------------------------------------------------------
# moto takes an id's prefix as the text before its first "-" ("cvpn"), as AWS's ids mostly are; like its own
# tgw-rtb and eni-attach, "cvpn-endpoint" is a two-part prefix. moto's modules imported get_prefix by name.


def _get_prefix_with_client_vpn(original: Any) -> Any:
    def get_prefix(resource_id: str) -> str:
        if resource_id.startswith(f"{ENDPOINT_PREFIX}-"):
            return ENDPOINT_PREFIX
        return original(resource_id)

    get_prefix.client_vpn = True  # type: ignore[attr-defined]
    return get_prefix


def _do_resources_exist_with_client_vpn(original: Any) -> Any:
    def do_resources_exist(self: EC2Backend, resource_ids: list[str]) -> bool:
        for resource_id in resource_ids:
            if resource_id.startswith(f"{ENDPOINT_PREFIX}-"):
                get_endpoint(self, resource_id)
        return original(self, [rid for rid in resource_ids if not rid.startswith(f"{ENDPOINT_PREFIX}-")])

    return do_resources_exist


def install_tags() -> None:
    ec2_utils.EC2_RESOURCE_TO_PREFIX[RESOURCE_TYPE] = ENDPOINT_PREFIX
    ec2_utils.EC2_PREFIX_TO_RESOURCE[ENDPOINT_PREFIX] = RESOURCE_TYPE
    if not getattr(ec2_utils.get_prefix, "client_vpn", False):
        patched = _get_prefix_with_client_vpn(ec2_utils.get_prefix)
        for module in (ec2_utils, ec2_models, ec2_tag_models):
            module.get_prefix = patched
        EC2Backend.do_resources_exist = _do_resources_exist_with_client_vpn(EC2Backend.do_resources_exist)


# --- ACM: the chain as imported, tags kept on a re-import -------------------------------------------------

_acm_installed: list[bool] = []


def install_acm() -> None:
    if _acm_installed:
        return
    _acm_installed.append(True)
    bundle_init = acm_models.CertBundle.__init__

    def init_with_imported_chain(self: Any, *args: Any, **kwargs: Any) -> None:
        bundle_init(self, *args, **kwargs)
        if self.type == "IMPORTED":
            chain = kwargs.get("chain", args[3] if len(args) > 3 else None)
            # AWS gives back the chain it was given, and none when none was given.
            self.chain = chain or b""

    acm_models.CertBundle.__init__ = init_with_imported_chain

    import_certificate = AWSCertificateManagerBackend.import_certificate

    def reimport_keeping_tags(
        self: AWSCertificateManagerBackend,
        certificate: bytes,
        private_key: bytes,
        chain: bytes | None,
        arn: str | None,
        tags: list[dict[str, str]],
    ) -> str:
        previous = self._certificates.get(arn) if arn else None
        if previous is not None and tags:
            raise AWSValidationException("Tagging is not permitted on re-import.")
        new_arn = import_certificate(self, certificate, private_key, chain, arn, tags)
        if previous is not None:
            self._certificates[new_arn].tags = previous.tags
            self._certificates[new_arn].in_use_by = previous.in_use_by
        return new_arn

    AWSCertificateManagerBackend.import_certificate = reimport_keeping_tags

    from moto.acm.responses import AWSCertificateManagerResponse

    get_certificate = AWSCertificateManagerResponse.get_certificate

    def get_certificate_without_empty_chain(self: Any) -> ActionResult:
        answer = get_certificate(self)
        if not answer.result.get("CertificateChain"):
            answer.result.pop("CertificateChain", None)
        return answer

    AWSCertificateManagerResponse.get_certificate = get_certificate_without_empty_chain


def install() -> None:
    """Add Client VPN to moto's EC2 and fix ACM's chain and re-import; calling it again changes nothing."""
    for call in CALLS:
        setattr(EC2Response, call.__name__, call)
    install_tags()
    install_acm()
