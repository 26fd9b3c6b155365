"""S3 gateway VPC endpoints in the emulator: endpoint policies and the aws:SourceVpce family of condition keys.

What AWS does: a request to S3 from an instance whose subnet's route table has a route to a gateway VPC endpoint
of service com.amazonaws.<region>.s3 goes through that endpoint. The endpoint's policy must allow it (no policy is
the full-access default), and the policies S3 evaluates see aws:SourceVpce (the endpoint id), aws:SourceVpc and
aws:VpcSourceIp. A gateway endpoint reaches the buckets of its own region only. moto 5.2.5 stores endpoint
policies but never evaluates them, and its bucket-policy check ignores Conditions (moto_server.py leaves
conditional statements out of it), so "deny this role unless it comes through the endpoint" could not be tested.

The lab runs instances as containers at their private addresses and they call the emulator directly, so the
address a request comes from is the instance's. `install()` wraps S3Response._authenticate_and_authorize_s3_action,
which every S3 bucket and object request passes through, and after moto's own checks:
- names the caller from the request's access key (SigV4 or SigV2, header or presigned query): an STS assumed role's
  key is its role (aws:PrincipalArn is the role ARN, as AWS sets it, not the session ARN), an IAM user's key the
  user, any other key the account's root; a request without one is anonymous. Context: aws:PrincipalArn and
  aws:PrincipalAccount.
- when the address is a pending or running instance's private address (in any account's and region's EC2 state
  that exists already), follows its network interface's subnet to the route table associated with it (else the
  VPC's main table) and to a gateway endpoint of com.amazonaws.<region>.s3 routed there (a route to it, or the
  endpoint listing the table: moto's ModifyVpcEndpoint AddRouteTableIds records the table without adding the
  route AWS adds). Through it, the endpoint policy is evaluated for s3:<Action> on the bucket ARN (bucket calls) or
  object ARN (object calls), with aws:ResourceAccount and s3:ResourceAccount the bucket owner's account when the
  bucket exists (absent when it does not, e.g. CreateBucket). Not allowed: S3's AccessDenied (403) with AWS's
  message, "... because no VPC endpoint policy allows the s3:X action" or "... with an explicit deny in a VPC
  endpoint policy". A bucket of another region is refused through the endpoint: on AWS the endpoint does not reach
  it, and the research subnets have no other way out.
- evaluates the bucket policy's statements that have a Condition whose keys are all among those set here
  (aws:SourceVpce, aws:SourceVpc, aws:VpcSourceIp, aws:PrincipalArn, aws:PrincipalAccount, aws:ResourceAccount,
  s3:ResourceAccount); an explicit Deny is AccessDenied "... with an explicit deny in a resource-based policy".
  Statements using other keys are skipped: the emulator cannot know them as AWS would (aws:SecureTransport is never
  true on this plain-HTTP emulator, so "deny unless TLS" would refuse everything), and statements without a
  Condition are moto's own check already. Allows are not needed: moto enforces no identity policies, so an
  account's own principals are allowed anyway.
Actions are IAM's (moto's HeadBucket is s3:ListBucket); ListBuckets is s3:ListAllMyBuckets on arn:aws:s3:::*, which
an endpoint policy listing buckets does not allow, as on AWS. CopyObject and UploadPartCopy are also checked for
s3:GetObject (s3:GetObjectVersion with a versionId) on the source, a POST form upload for its key, DeleteObjects for
s3:DeleteObject on each key (one refused key refuses them all, each answered AccessDenied: stricter than AWS, which
deletes the others). A policy the evaluator cannot decide (policy variables, ForAnyValue:/ForAllValues:, unknown
operators or elements, NotPrincipal, a role session's ARN as Principal) is refused with the error
code NotImplemented naming the reason (HTTP 400: moto's S3 model has no status for it), never a guess.

Not modelled: routing (a research host with no endpoint route still reaches the emulator; a subnet's NAT or
internet route does not matter), interface endpoints (their DNS names and ENIs), aws:SourceIp and other keys,
identity policies, session policies and permission boundaries, and in-process mock mode (a request without a source
address: nothing is changed). A source address two running instances share (in different VPCs) is taken as the
first one found.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlparse
from xml.parsers.expat import ExpatError

import xmltodict
from moto.ec2.models import ec2_backends
from moto.ec2.models.vpcs import VPCEndPoint
from moto.iam.models import iam_backends
from moto.s3.exceptions import BucketAccessDeniedError, S3ClientError
from moto.s3.models import FakeBucket
from moto.s3.responses import S3Response
from moto.sts.models import sts_backends
from moto.utilities.utils import get_partition

Decision = Literal["Allow", "ExplicitDeny", "ImplicitDeny"]

# --- Policy evaluation ----------------------------------------------------------------------------------------


class UnsupportedPolicy(Exception):
    """A policy this evaluator cannot decide the way AWS would; it refuses to guess."""


STATEMENT_ELEMENTS = frozenset(
    {"Sid", "Effect", "Principal", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)
POSITIVE_OPERATORS = frozenset({"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "Bool"})
NEGATED_OPERATORS = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}
ARN_OPERATORS = frozenset({"ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"})
IF_EXISTS = "IfExists"
ACCOUNT_ID = re.compile(r"^\d{12}$")


def _glob(pattern: str) -> str:
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


def action_matches(pattern: str, action: str) -> bool:
    """Actions compare case-insensitively; * and ? are wildcards."""
    return re.fullmatch(_glob(pattern), action, re.IGNORECASE | re.DOTALL) is not None


def resource_matches(pattern: str, resource: str) -> bool:
    """Case-sensitive. AWS: wildcards work within an ARN segment, and a * that ends a segment can expand beyond the
    colon boundaries; the sixth segment (the resource, e.g. bucket/key) is everything after the fifth colon."""
    segments = pattern.split(":", 5)
    parts = []
    for number, segment in enumerate(segments):
        if number == 5:
            parts.append(_glob(segment))
            continue
        regex = ""
        for i, c in enumerate(segment):
            if c == "*":
                regex += ".*" if i == len(segment) - 1 else "[^:]*"
            elif c == "?":
                regex += "[^:]"
            else:
                regex += re.escape(c)
        parts.append(regex)
    return re.fullmatch(":".join(parts), resource, re.DOTALL) is not None


def arn_like(pattern: str, value: str) -> bool:
    """ArnEquals and ArnLike (identical on AWS): each of the six colon-delimited components is matched separately,
    with * and ? wildcards, case-sensitively. A value that is not an ARN matches nothing."""
    wanted = pattern.split(":", 5)
    if len(wanted) != 6:
        raise UnsupportedPolicy(f"ARN condition value {pattern!r} does not have the six ARN components")
    got = value.split(":", 5)
    if len(got) != 6:
        return False
    return all(re.fullmatch(_glob(w), g, re.DOTALL) is not None for w, g in zip(wanted, got, strict=True))


def _matches(operator: str, wanted: str, value: str) -> bool:
    if operator == "StringEquals":
        return value == wanted
    if operator == "StringEqualsIgnoreCase":
        return value.casefold() == wanted.casefold()
    if operator == "StringLike":
        return re.fullmatch(_glob(wanted), value, re.DOTALL) is not None
    if operator in ("ArnEquals", "ArnLike"):
        return arn_like(wanted, value)
    if operator == "Bool":
        return value.lower() == wanted.lower()
    raise UnsupportedPolicy(f"condition operator {operator}")  # pragma: no cover - operators are checked first


def _values(value: Any, what: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    found = []
    for item in items:
        if isinstance(item, bool):
            found.append("true" if item else "false")
        elif isinstance(item, str | int | float):
            found.append(str(item))
        else:
            raise UnsupportedPolicy(f"{what}: {item!r} is not a string")
    for item in found:
        if "${" in item:
            raise UnsupportedPolicy(f"{what}: policy variable in {item!r}")
    return found


def _split_operator(operator: str) -> tuple[str, bool]:
    if ":" in operator:
        raise UnsupportedPolicy(f"condition operator {operator} (set operators such as ForAnyValue: are not modelled)")
    if_exists = operator.endswith(IF_EXISTS) and operator != IF_EXISTS
    base = operator[: -len(IF_EXISTS)] if if_exists else operator
    if base == "Null" and not if_exists:
        return base, False
    if base in POSITIVE_OPERATORS or base in NEGATED_OPERATORS:
        return base, if_exists
    raise UnsupportedPolicy(f"condition operator {operator}")


def _check_condition(condition: Any) -> None:
    if not isinstance(condition, dict):
        raise UnsupportedPolicy("Condition is not an object")
    for operator, keys in condition.items():
        if not isinstance(keys, dict):
            raise UnsupportedPolicy(f"{operator} is not an object of condition keys")
        base, _if_exists = _split_operator(operator)
        for key, value in keys.items():
            for item in _values(value, f"{operator} {key}"):
                if base in ARN_OPERATORS and len(item.split(":", 5)) != 6:
                    raise UnsupportedPolicy(f"{operator} {key}: {item!r} does not have the six ARN components")


def condition_keys(statement: Mapping[str, Any]) -> set[str]:
    """The (lower-cased) condition keys a statement tests."""
    condition = statement.get("Condition") or {}
    if not isinstance(condition, dict):
        raise UnsupportedPolicy("Condition is not an object")
    return {key.lower() for keys in condition.values() if isinstance(keys, dict) for key in keys}


def condition_holds(condition: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    """Operators and keys are ANDed, a key's values ORed. A key missing from the context: false for a positive
    operator, true for a negated one (AWS's documented behaviour), true with IfExists; Null tests presence."""
    known = {key.lower(): value for key, value in context.items()}
    for operator, keys in condition.items():
        base, if_exists = _split_operator(operator)
        for key, wanted in keys.items():
            values = _values(wanted, f"{operator} {key}")
            present = key.lower() in known
            if base == "Null":
                if not any((value.lower() == "true") != present for value in values):
                    return False
                continue
            if not present:
                if if_exists or base in NEGATED_OPERATORS:
                    continue
                return False
            actual = known[key.lower()]
            if base in NEGATED_OPERATORS:
                if any(_matches(NEGATED_OPERATORS[base], value, actual) for value in values):
                    return False
            elif not any(_matches(base, value, actual) for value in values):
                return False
    return True


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def _check_principal(principal: Any) -> None:
    if principal == "*":
        return
    if not isinstance(principal, dict):
        raise UnsupportedPolicy(f"Principal {principal!r}")
    for kind, listed in principal.items():
        if kind not in ("AWS", "Service", "Federated"):
            raise UnsupportedPolicy(f"Principal kind {kind}")
        for value in _values(listed, "Principal"):
            if kind == "AWS" and value != "*" and ("*" in value or "?" in value or ":assumed-role/" in value):
                raise UnsupportedPolicy(f"Principal {value!r} (AWS allows no wildcards; role sessions not modelled)")


def principal_matches(principal: Any, principal_arn: str | None) -> bool:
    """ "*" and {"AWS": "*"} match everyone, anonymous included; an account id or account-root ARN matches every
    principal of that account; any other ARN matches that principal only (no wildcards: AWS refuses them)."""
    _check_principal(principal)
    if principal == "*":
        return True
    for kind, listed in principal.items():
        if kind != "AWS":
            continue  # a service or a federated identity: never an IAM user's or role's request
        for value in _values(listed, "Principal"):
            if value == "*":
                return True
            if principal_arn is None:
                continue
            if ACCOUNT_ID.match(value):
                value = f"arn:aws:iam::{value}:root"
            root = value.split(":")
            if len(root) == 6 and root[2] == "iam" and root[5] == "root":
                if root[4] == _account_of(principal_arn):
                    return True
            elif value == principal_arn:
                return True
    return False


def statements(policy: Mapping[str, Any] | str) -> list[dict[str, Any]]:
    """The policy's statements, checked for what this evaluator supports."""
    document = json.loads(policy) if isinstance(policy, str) else policy
    if not isinstance(document, dict):
        raise UnsupportedPolicy("the policy is not a JSON object")
    found = document.get("Statement", [])
    found = [found] if isinstance(found, dict) else found
    if not isinstance(found, list):
        raise UnsupportedPolicy("Statement is neither an object nor a list")
    for statement in found:
        if not isinstance(statement, dict):
            raise UnsupportedPolicy("a statement is not an object")
        unknown = set(statement) - STATEMENT_ELEMENTS
        if unknown:
            raise UnsupportedPolicy(f"statement element(s) {', '.join(sorted(unknown))}")
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise UnsupportedPolicy(f"Effect {statement.get('Effect')!r}")
        for one, other in (("Action", "NotAction"), ("Resource", "NotResource")):
            if (one in statement) == (other in statement):
                raise UnsupportedPolicy(f"a statement needs exactly one of {one} and {other}")
            _values(statement.get(one, statement.get(other)), one)
        if "Principal" in statement:
            _check_principal(statement["Principal"])
        if "Condition" in statement:
            _check_condition(statement["Condition"])
    return found


def statement_applies(
    statement: Mapping[str, Any], action: str, resource: str, principal_arn: str | None, context: Mapping[str, str]
) -> bool:
    if "Principal" in statement and not principal_matches(statement["Principal"], principal_arn):
        return False
    if "Action" in statement:
        if not any(action_matches(p, action) for p in _values(statement["Action"], "Action")):
            return False
    elif any(action_matches(p, action) for p in _values(statement["NotAction"], "NotAction")):
        return False
    if "Resource" in statement:
        if not any(resource_matches(p, resource) for p in _values(statement["Resource"], "Resource")):
            return False
    elif any(resource_matches(p, resource) for p in _values(statement["NotResource"], "NotResource")):
        return False
    return condition_holds(statement.get("Condition") or {}, context)


def evaluate(
    policy: Mapping[str, Any] | str,
    action: str,
    resource: str,
    principal_arn: str | None,
    context: Mapping[str, str],
) -> Decision:
    """AWS's order: an explicit Deny wins, else any Allow, else the implicit deny. A statement without Principal
    (an identity policy's) applies to the caller; principal_arn None is an anonymous caller."""
    allowed = False
    for statement in statements(policy):
        if not statement_applies(statement, action, resource, principal_arn, context):
            continue
        if statement["Effect"] == "Deny":
            return "ExplicitDeny"
        allowed = True
    return "Allow" if allowed else "ImplicitDeny"


# --- The request: caller, source, endpoint ----------------------------------------------------------------------

VPC_KEYS = ("aws:SourceVpce", "aws:SourceVpc", "aws:VpcSourceIp")
CONTEXT_KEYS = frozenset(
    key.lower()
    for key in (*VPC_KEYS, "aws:PrincipalArn", "aws:PrincipalAccount", "aws:ResourceAccount", "s3:ResourceAccount")
)
SIGV4_KEY = re.compile(r"Credential=([^/,\s]+)/")
SIGV2_KEY = re.compile(r"^AWS ([^:\s]+):")
LIVE_STATES = ("pending", "running")
# moto's names for the few calls whose IAM action is named otherwise (the Service Authorization Reference's).
IAM_ACTIONS = {
    "HeadBucket": "ListBucket",
    "SelectObject": "GetObject",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "PutBucketPublicAccessBlock",
}
DEFAULT_ENDPOINT_POLICY = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}


@dataclass(frozen=True)
class Caller:
    principal_arn: str | None  # what policies match: the role ARN for a role session; None when anonymous
    account: str | None
    shown_as: str  # what AWS's message names: the session ARN for a role session


@dataclass(frozen=True)
class Endpoint:
    id: str
    vpc_id: str
    region: str
    policy: Any


def access_key_of(request: Any) -> str | None:
    authorization = request.headers.get("Authorization", "")
    match = SIGV4_KEY.search(authorization) or SIGV2_KEY.search(authorization)
    if match:
        return match.group(1)
    credential = request.args.get("X-Amz-Credential")
    if credential:
        return credential.split("/", 1)[0]
    return request.args.get("AWSAccessKeyId") or None


def _existing(backends: Any) -> list[tuple[str, Any]]:
    """A BackendDict's entries without creating any (its __getitem__ creates what it is asked for)."""
    return list(dict.items(backends))


def caller_of(response: S3Response) -> Caller:
    key = access_key_of(response.request)
    if key is None:
        return Caller(None, None, "anonymous")
    for _account, per_partition in _existing(sts_backends):
        for _partition, backend in _existing(per_partition):
            role = backend.get_assumed_role_from_access_key(key)
            if role is not None:
                return Caller(role.role_arn, _account_of(role.role_arn), role.arn)
    for _account, per_partition in _existing(iam_backends):
        for _partition, backend in _existing(per_partition):
            user = backend.get_user_from_access_key_id(key)
            if user is not None:
                return Caller(user.arn, user.account_id, user.arn)
    account = response.current_account
    root = f"arn:{get_partition(response.region)}:iam::{account}:root"
    return Caller(root, account, root)


def _subnet_for_address(backend: Any, address: str) -> Any:
    for instance in backend.all_instances():
        if instance.state not in LIVE_STATES:
            continue
        for nic in instance.nics.values():
            addresses = {nic.private_ip_address} | {
                item.get("PrivateIpAddress") for item in nic.private_ip_addresses or []
            }
            if address in addresses:
                return nic.subnet
    return None


def _route_table_of(backend: Any, subnet: Any) -> Any:
    tables = [table for table in list(backend.route_tables.values()) if table.vpc_id == subnet.vpc_id]
    for table in tables:
        if subnet.id in table._associations.values():
            return table
    return next((table for table in tables if table.main_association_id is not None), None)


def _s3_gateway(backend: Any, endpoint_id: str | None) -> VPCEndPoint | None:
    endpoint = backend.vpc_end_points.get(endpoint_id) if endpoint_id else None
    if (
        isinstance(endpoint, VPCEndPoint)
        and (endpoint.vpc_endpoint_type or "Gateway").lower() == "gateway"
        and endpoint.service_name == f"com.amazonaws.{backend.region_name}.s3"
        and endpoint.state != "deleted"
    ):
        return endpoint
    return None


def endpoint_for_source(address: str) -> Endpoint | None:
    """The S3 gateway endpoint a request from this private address goes through, if it is an instance's."""
    for _account, per_region in _existing(ec2_backends):
        for region, backend in _existing(per_region):
            subnet = _subnet_for_address(backend, address)
            if subnet is None:
                continue
            table = _route_table_of(backend, subnet)
            if table is None:
                return None
            candidates = [route.gateway_id for route in table.routes] + [
                endpoint.id
                for endpoint in list(backend.vpc_end_points.values())
                if table.id in endpoint.route_table_ids
            ]
            for candidate in candidates:
                endpoint = _s3_gateway(backend, candidate)
                if endpoint is not None:
                    return Endpoint(endpoint.id, endpoint.vpc_id, region, endpoint.policy_document)
            return None
    return None


# --- The check ----------------------------------------------------------------------------------------------------


class VpceAccessDenied(BucketAccessDeniedError):
    """moto's own S3 AccessDenied (its XML and 403), with AWS's explicit message."""

    def __init__(self, bucket: str | None, message: str) -> None:
        S3ClientError.__init__(self, "AccessDenied", message)
        self.bucket_name = bucket  # type: ignore[assignment]


class PolicyNotEvaluated(S3ClientError):
    def __init__(self, message: str) -> None:
        super().__init__("NotImplemented", message)


def arn_of(bucket: str | None, key: str | None) -> str:
    """The resource AWS authorizes: the object, the bucket, or for ListBuckets (no bucket) every bucket, which only
    a policy with Resource "*" or "arn:aws:s3:::*" allows."""
    if bucket is None:
        return "arn:aws:s3:::*"
    return f"arn:aws:s3:::{bucket}/{key}" if key is not None else f"arn:aws:s3:::{bucket}"


def requested(
    response: S3Response, action: str, bucket: str | None, key: str | None
) -> list[tuple[str, str | None, str | None]]:
    """(action, bucket, key) for everything this request touches, as AWS authorizes it."""
    request = response.request
    action = IAM_ACTIONS.get(action, action)
    if action == "DeleteObject" and key is None and request.method == "POST" and "delete" in request.args:
        try:
            objects = (xmltodict.parse(response.body or b"<Delete/>").get("Delete") or {}).get("Object") or []
            objects = objects if isinstance(objects, list) else [objects]
            keys = [str(item["Key"]) for item in objects]
        except (ExpatError, AttributeError, KeyError, TypeError):
            keys = []  # moto answers MalformedXML
        return [("DeleteObject", bucket, name) for name in keys] or [(action, bucket, key)]
    if action == "PutObject" and key is None and request.method == "POST":
        form_key = response.querystring.get("key", [None])[0]
        return [(action, bucket, form_key)] if form_key else [(action, bucket, key)]
    found: list[tuple[str, str | None, str | None]] = [(action, bucket, key)]
    source = request.headers.get("x-amz-copy-source")
    if source and key is not None and request.method == "PUT":
        parsed = urlparse(source)
        source_bucket, _, source_key = unquote(parsed.path).lstrip("/").partition("/")
        versioned = "versionId" in parse_qs(parsed.query)
        found.append(("GetObjectVersion" if versioned else "GetObject", source_bucket, source_key))
    return found


def _bucket(response: S3Response, name: str | None) -> FakeBucket | None:
    if name is None:
        return None
    try:
        bucket = response.backend.get_bucket(name)
    except S3ClientError:
        return None
    return bucket if isinstance(bucket, FakeBucket) else None


def conditional_statements(policy: bytes | str | None) -> list[dict[str, Any]]:
    """The bucket policy's statements this module decides: a Condition on keys it sets, and only on those."""
    if not policy:
        return []
    document = json.loads(policy)
    found = document.get("Statement", []) if isinstance(document, dict) else []
    found = [found] if isinstance(found, dict) else found
    return [
        statement
        for statement in found
        if isinstance(statement, dict) and statement.get("Condition") and condition_keys(statement) <= CONTEXT_KEYS
    ]


def check(
    response: S3Response,
    caller: Caller,
    endpoint: Endpoint | None,
    source: str,
    action: str,
    bucket_name: str | None,
    key: str | None,
) -> None:
    s3_action = f"s3:{action}"
    resource = arn_of(bucket_name, key)
    bucket = _bucket(response, bucket_name)
    context: dict[str, str] = {}
    if caller.principal_arn is not None:
        context["aws:PrincipalArn"] = caller.principal_arn
        context["aws:PrincipalAccount"] = caller.account or ""
    if bucket is not None:
        context["aws:ResourceAccount"] = context["s3:ResourceAccount"] = bucket.account_id

    def refuse(reason: str) -> VpceAccessDenied:
        return VpceAccessDenied(
            bucket_name,
            f'User: {caller.shown_as} is not authorized to perform: {s3_action} on resource: "{resource}" {reason}',
        )

    if endpoint is not None:
        context.update(zip(VPC_KEYS, (endpoint.id, endpoint.vpc_id, source), strict=True))
        if bucket is not None and bucket.region_name != endpoint.region:
            raise refuse(
                f"because the bucket is in {bucket.region_name} and the gateway VPC endpoint {endpoint.id} "
                f"reaches only buckets in {endpoint.region}"
            )
        decision = evaluate(
            endpoint.policy or DEFAULT_ENDPOINT_POLICY, s3_action, resource, caller.principal_arn, context
        )
        if decision == "ExplicitDeny":
            raise refuse("with an explicit deny in a VPC endpoint policy")
        if decision != "Allow":
            raise refuse(f"because no VPC endpoint policy allows the {s3_action} action")
    if bucket is not None:
        policy = conditional_statements(bucket.policy)
        if (
            policy
            and evaluate({"Statement": policy}, s3_action, resource, caller.principal_arn, context) == "ExplicitDeny"
        ):
            raise refuse("with an explicit deny in a resource-based policy")


def check_request(response: S3Response, bucket_name: str | None, key_name: str | None) -> None:
    source = getattr(getattr(response, "request", None), "remote_addr", None)
    if not source:
        return  # in-process mock mode: no source address to go by
    caller = caller_of(response)
    endpoint = endpoint_for_source(source)
    requested_action = response.data.get("Action")
    if not requested_action:
        return
    try:
        for action, bucket, key in requested(response, requested_action, bucket_name, key_name):
            check(response, caller, endpoint, source, action, bucket, key)
    except UnsupportedPolicy as error:
        raise PolicyNotEvaluated(f"The emulator cannot evaluate this policy as AWS would: {error}") from error


MARK = "_emulator_vpce"


def _with_vpc_endpoints(authorize: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(authorize)
    def wrapper(self: S3Response, bucket_name: str | None = None, key_name: str | None = None) -> None:
        authorize(self, bucket_name=bucket_name, key_name=key_name)
        check_request(self, bucket_name, key_name)

    setattr(wrapper, MARK, True)
    return wrapper


def install() -> None:
    """Evaluate gateway endpoint policies and the conditional bucket-policy statements on S3 requests from
    instances' addresses; calling it again changes nothing."""
    current = S3Response._authenticate_and_authorize_s3_action
    if not getattr(current, MARK, False):
        S3Response._authenticate_and_authorize_s3_action = _with_vpc_endpoints(current)  # type: ignore[method-assign]
