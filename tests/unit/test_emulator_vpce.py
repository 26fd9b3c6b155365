"""scripts/emulator_vpce.py: the IAM policy evaluator, and S3 gateway VPC endpoints in the emulator.

The evaluator's tests each name the AWS behaviour they check (IAM User Guide, "Policy evaluation logic" and "IAM JSON
policy elements"). The hook is driven in-process through moto server's own WSGI app (the one `moto_server` serves),
with werkzeug's test client choosing the request's source address, while boto3 inside `mock_aws` builds the network
and buckets in the same process: both see the same backends.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import emulator_vpce
import moto_server  # noqa: F401 - patches moto in place, as the server does
import pytest
from emulator_vpce import UnsupportedPolicy, evaluate
from moto import mock_aws
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.test import Client

emulator_vpce.install()

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/research-env/env/env-jupyter"
OBJECT = "arn:aws:s3:::data/notes.txt"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(**element: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*", **element}


def deny(**element: Any) -> dict[str, Any]:
    return {**allow(**element), "Effect": "Deny"}


def decide(document: dict[str, Any], action: str = "s3:GetObject", resource: str = OBJECT, **context: str) -> str:
    return evaluate(document, action, resource, ROLE, {key.replace("_", ":", 1): v for key, v in context.items()})


# --- The evaluator ---------------------------------------------------------------------------------------------


def test_an_explicit_deny_wins_over_any_allow():
    """AWS: an explicit Deny in any statement overrides every Allow."""
    assert decide(policy(allow(), deny())) == "ExplicitDeny"
    assert decide(policy(deny(), allow())) == "ExplicitDeny"


def test_nothing_allowed_is_an_implicit_deny():
    """AWS: a request no statement allows is implicitly denied; a statement that does not apply decides nothing."""
    assert decide(policy()) == "ImplicitDeny"
    assert decide(policy(allow(Action="s3:PutObject"))) == "ImplicitDeny"
    assert decide(policy(deny(Action="s3:PutObject"), allow())) == "Allow"


def test_a_single_statement_object_is_a_policy():
    """AWS: Statement may be one object instead of a list."""
    assert evaluate({"Statement": allow()}, "s3:GetObject", OBJECT, ROLE, {}) == "Allow"


@pytest.mark.parametrize(
    ("pattern", "action", "matches"),
    [
        ("s3:GetObject", "s3:getobject", True),  # actions are case-insensitive
        ("S3:GETOBJECT", "s3:GetObject", True),
        ("s3:Get*", "s3:GetObjectVersion", True),
        ("s3:*Object", "s3:PutObject", True),
        ("s3:?etObject", "s3:GetObject", True),
        ("s3:?etObject", "s3:GettObject", False),
        ("*", "s3:PutObject", True),
        ("s3:Get*", "s3:PutObject", False),
        ("s3:GetObject", "s3:GetObjectVersion", False),  # the whole name, not a prefix
    ],
)
def test_actions_match_case_insensitively_with_wildcards(pattern, action, matches):
    """AWS: action names are not case-sensitive; * matches any run of characters, ? one character."""
    assert decide(policy(allow(Action=pattern)), action=action) == ("Allow" if matches else "ImplicitDeny")


@pytest.mark.parametrize(
    ("pattern", "resource", "matches"),
    [
        ("arn:aws:s3:::data/*", "arn:aws:s3:::data/a/b.txt", True),  # * spans "/" in the resource part
        ("arn:aws:s3:::data/*", "arn:aws:s3:::data/a:b", True),  # and ":" there: the key may hold colons
        ("arn:aws:s3:::data/*.txt", "arn:aws:s3:::data/x:y.txt", True),
        ("arn:aws:s3:::data/*", "arn:aws:s3:::data", False),
        ("arn:aws:s3:::data", "arn:aws:s3:::data/notes.txt", False),
        ("arn:aws:s3:::Data/*", "arn:aws:s3:::data/notes.txt", False),  # resources are case-sensitive
        ("arn:aws:s3:::dat?/*", "arn:aws:s3:::data/notes.txt", True),
        ("*", "arn:aws:s3:::data/notes.txt", True),
        ("arn:aws:s3:*", "arn:aws:s3:::data/notes.txt", True),  # a * ending a segment crosses colons
        ("arn:aws:s*3:::data", "arn:aws:s3:::data", True),
        ("arn:aws:s?:::data", "arn:aws:s3:::data", True),
        ("arn:aws*s3:::data", "arn:aws:s3:::data", False),  # a * inside a segment does not
    ],
)
def test_resources_match_case_sensitively_within_arn_segments(pattern, resource, matches):
    """AWS: Resource is case-sensitive; wildcards work within an ARN segment, and a * that ends a segment can expand
    beyond the colon boundaries."""
    assert decide(policy(allow(Resource=pattern)), resource=resource) == ("Allow" if matches else "ImplicitDeny")


def test_not_action_and_not_resource_match_everything_else():
    """AWS: NotAction / NotResource make the statement apply to every action / resource not listed."""
    everything_but_delete = policy({"Effect": "Allow", "Principal": "*", "NotAction": ["s3:Delete*"], "Resource": "*"})
    assert decide(everything_but_delete, action="s3:GetObject") == "Allow"
    assert decide(everything_but_delete, action="s3:DeleteObject") == "ImplicitDeny"
    outside_data = policy({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "NotResource": "arn:aws:s3:::data/*"})
    assert decide(policy(allow(), *outside_data["Statement"])) == "Allow"
    assert decide(policy(allow(), *outside_data["Statement"]), resource="arn:aws:s3:::other/x") == "ExplicitDeny"


@pytest.mark.parametrize(
    ("principal", "matches"),
    [
        ("*", True),
        ({"AWS": "*"}, True),
        ({"AWS": ROLE}, True),
        ({"AWS": [f"arn:aws:iam::{ACCOUNT}:role/other", ROLE]}, True),
        ({"AWS": ACCOUNT}, True),  # an account id: every principal of the account
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, True),
        ({"AWS": "arn:aws:iam::210987654321:root"}, False),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:role/other"}, False),
        ({"Service": "ec2.amazonaws.com"}, False),
    ],
)
def test_principals(principal, matches):
    """AWS: "*" is everyone; an account id or its root ARN is every principal of the account; an ARN is that one."""
    statement = {"Effect": "Allow", "Principal": principal, "Action": "*", "Resource": "*"}
    assert decide(policy(statement)) == ("Allow" if matches else "ImplicitDeny")


def test_anonymous_callers_match_only_everyone():
    """AWS: an unsigned request is anonymous: only Principal "*" applies to it."""
    for principal, expected in (("*", "Allow"), ({"AWS": ACCOUNT}, "ImplicitDeny")):
        statement = {"Effect": "Allow", "Principal": principal, "Action": "*", "Resource": "*"}
        assert evaluate(policy(statement), "s3:GetObject", OBJECT, None, {}) == expected


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ({"StringEquals": {"aws:SourceVpce": "vpce-1"}}, True),
        ({"StringEquals": {"aws:SourceVpce": "VPCE-1"}}, False),  # values are case-sensitive
        ({"StringEqualsIgnoreCase": {"aws:SourceVpce": "VPCE-1"}}, True),
        ({"StringNotEqualsIgnoreCase": {"aws:SourceVpce": "VPCE-1"}}, False),
        ({"StringNotEquals": {"aws:SourceVpce": "vpce-2"}}, True),
        ({"StringLike": {"aws:SourceVpce": "vpce-*"}}, True),
        ({"StringLike": {"aws:SourceVpce": "vpce-?"}}, True),
        ({"StringNotLike": {"aws:SourceVpce": "vpce-*"}}, False),
        ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/research-env/*"}}, True),
        ({"ArnEquals": {"aws:PrincipalArn": ROLE}}, True),
        ({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/other"}}, True),
        ({"ArnNotEquals": {"aws:PrincipalArn": ROLE}}, False),
        ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/*"}}, False),
        ({"Bool": {"aws:SecureTransport": "false"}}, True),
        ({"Bool": {"aws:SecureTransport": True}}, False),
        ({"stringequals": {"aws:SourceVpce": "vpce-1"}}, None),  # operators are spelled exactly
    ],
)
def test_condition_operators(condition, holds):
    """AWS's condition operators: String* compare case-sensitively unless IgnoreCase, *Like take * and ?, Arn*
    compare the six ARN components, Bool compares "true"/"false"; unknown operators are not guessed at."""
    context = {"aws:SourceVpce": "vpce-1", "aws:PrincipalArn": ROLE, "aws:SecureTransport": "false"}
    statement = allow(Condition=condition)
    if holds is None:
        with pytest.raises(UnsupportedPolicy):
            evaluate(policy(statement), "s3:GetObject", OBJECT, ROLE, context)
        return
    assert evaluate(policy(statement), "s3:GetObject", OBJECT, ROLE, context) == ("Allow" if holds else "ImplicitDeny")


@pytest.mark.parametrize(
    ("operator", "holds"),
    [
        ("StringEquals", False),
        ("StringLike", False),
        ("ArnLike", False),
        ("Bool", False),
        ("StringNotEquals", True),
        ("StringNotEqualsIgnoreCase", True),
        ("StringNotLike", True),
        ("ArnNotEquals", True),
        ("ArnNotLike", True),
    ],
)
def test_a_key_missing_from_the_request_fails_positive_and_passes_negated_operators(operator, holds):
    """AWS: a condition key absent from the request context does not match, so a positive operator is false and a
    negated one (…Not…) true: "Deny unless aws:SourceVpce = X" denies a request that has no aws:SourceVpce."""
    statement = allow(Condition={operator: {"aws:SourceVpce": "arn:aws:iam::1:role/x"}})
    assert decide(policy(statement)) == ("Allow" if holds else "ImplicitDeny")


def test_if_exists_holds_when_the_key_is_missing():
    """AWS: with the IfExists suffix a missing key makes the condition true; a present one is compared as usual."""
    statement = allow(Condition={"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}})
    assert decide(policy(statement)) == "Allow"
    assert decide(policy(statement), aws_SourceVpce="vpce-1") == "Allow"
    assert decide(policy(statement), aws_SourceVpce="vpce-2") == "ImplicitDeny"
    negated = allow(Condition={"ArnNotLikeIfExists": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}})
    assert decide(policy(negated), aws_PrincipalArn=ROLE) == "ImplicitDeny"


def test_null_tests_whether_the_key_is_present():
    """AWS: Null "true" holds when the key is absent, "false" when it is present."""
    absent = allow(Condition={"Null": {"aws:SourceVpce": "true"}})
    present = allow(Condition={"Null": {"aws:SourceVpce": "false"}})
    assert decide(policy(absent)) == "Allow"
    assert decide(policy(present)) == "ImplicitDeny"
    assert decide(policy(absent), aws_SourceVpce="vpce-1") == "ImplicitDeny"
    assert decide(policy(present), aws_SourceVpce="vpce-1") == "Allow"


def test_operators_and_keys_are_anded_and_values_ored():
    """AWS: every operator and every key of a Condition must hold; any one of a key's values is enough."""
    condition = {
        "StringEquals": {"aws:SourceVpce": ["vpce-1", "vpce-2"], "aws:SourceVpc": "vpc-1"},
        "ArnLike": {"aws:PrincipalArn": ROLE},
    }
    statement = allow(Condition=condition)
    assert decide(policy(statement), aws_SourceVpce="vpce-2", aws_SourceVpc="vpc-1", aws_PrincipalArn=ROLE) == "Allow"
    assert decide(policy(statement), aws_SourceVpce="vpce-3", aws_SourceVpc="vpc-1", aws_PrincipalArn=ROLE) == (
        "ImplicitDeny"
    )
    assert decide(policy(statement), aws_SourceVpce="vpce-1", aws_SourceVpc="vpc-2", aws_PrincipalArn=ROLE) == (
        "ImplicitDeny"
    )
    assert decide(policy(statement), aws_SourceVpce="vpce-1", aws_SourceVpc="vpc-1") == "ImplicitDeny"
    # A negated operator with several values: none of them may match.
    negated = allow(Condition={"StringNotEquals": {"aws:SourceVpce": ["vpce-1", "vpce-2"]}})
    assert decide(policy(negated), aws_SourceVpce="vpce-2") == "ImplicitDeny"
    assert decide(policy(negated), aws_SourceVpce="vpce-3") == "Allow"


def test_condition_key_names_are_case_insensitive():
    """AWS: condition key names are not case-sensitive (their values are)."""
    statement = allow(Condition={"StringEquals": {"AWS:SOURCEVPCE": "vpce-1"}})
    assert evaluate(policy(statement), "s3:GetObject", OBJECT, ROLE, {"aws:sourcevpce": "vpce-1"}) == "Allow"


@pytest.mark.parametrize(
    "statement",
    [
        allow(Condition={"StringEquals": {"aws:PrincipalTag/team": "${aws:username}"}}),
        allow(Resource="arn:aws:s3:::data/${aws:username}/*"),
        allow(Condition={"ForAnyValue:StringLike": {"aws:PrincipalArn": ROLE}}),
        allow(Condition={"ForAllValues:StringEquals": {"aws:SourceVpce": "vpce-1"}}),
        allow(Condition={"IpAddress": {"aws:VpcSourceIp": "10.0.0.0/8"}}),
        allow(Condition={"NullIfExists": {"aws:SourceVpce": "true"}}),
        allow(Condition={"ArnLike": {"aws:PrincipalArn": "*"}}),
        {**allow(), "NotPrincipal": {"AWS": ROLE}},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::*:role/x"}, "Action": "*", "Resource": "*"},
        {"Effect": "Maybe", "Principal": "*", "Action": "*", "Resource": "*"},
        {"Effect": "Allow", "Principal": "*", "Resource": "*"},
    ],
)
def test_what_is_not_modelled_raises(statement):
    """Policy variables, set operators, operators not modelled, NotPrincipal and malformed statements are refused,
    never evaluated leniently; a policy is checked whole, even where a statement would not apply."""
    with pytest.raises(UnsupportedPolicy):
        evaluate(policy(deny(Action="s3:Nothing"), statement), "s3:GetObject", OBJECT, ROLE, {})


def test_the_project_deny_statement():
    """The data buckets' statement: the research role is refused unless it comes through the endpoint; other
    principals are not concerned."""
    statement = deny(
        Resource=["arn:aws:s3:::data", "arn:aws:s3:::data/*"],
        Condition={"ArnLike": {"aws:PrincipalArn": [ROLE]}, "StringNotEquals": {"aws:SourceVpce": "vpce-0123"}},
    )
    assert decide(policy(statement), aws_PrincipalArn=ROLE) == "ExplicitDeny"
    assert decide(policy(statement), aws_PrincipalArn=ROLE, aws_SourceVpce="vpce-0123") == "ImplicitDeny"
    root = f"arn:aws:iam::{ACCOUNT}:root"
    assert decide(policy(statement), aws_PrincipalArn=root) == "ImplicitDeny"


# --- The hook, end to end through moto server's WSGI app ------------------------------------------------------------

ALLOWED, OTHER = "research-data", "other-data"
INSTANCE_IP, NO_ROUTE_IP, OUTSIDE_IP = "10.20.3.10", "10.20.4.10", "127.0.0.1"
ROOT_KEY = "AKIAIOSFODNN7EXAMPLE"


@functools.cache
def wsgi_app() -> DomainDispatcherApplication:
    return DomainDispatcherApplication(create_backend_app)


@dataclass
class Lab:
    ec2: Any
    s3: Any
    sts: Any
    endpoint: str
    vpc: str

    def send(self, method: str, path: str, source: str, key: str = ROOT_KEY, **request: Any) -> Any:
        """An S3 request as the server receives it from `source`, signed (moto checks no signature here) with `key`."""
        authorization = (
            f"AWS4-HMAC-SHA256 Credential={key}/20250101/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=0"
        )
        headers = {"Host": "s3.amazonaws.com", "Authorization": authorization, "x-amz-date": "20250101T000000Z"}
        headers.update(request.pop("headers", {}))
        return Client(wsgi_app()).open(
            path, method=method, headers=headers, environ_base={"REMOTE_ADDR": source}, **request
        )

    def put(self, bucket: str, source: str, key: str = ROOT_KEY, name: str = "notes.txt") -> Any:
        return self.send("PUT", f"/{bucket}/{name}", source, key, data=b"hello")

    def role_key(self, role: str = ROLE) -> str:
        return self.sts.assume_role(RoleArn=role, RoleSessionName="alice")["Credentials"]["AccessKeyId"]

    def bucket_policy(self, bucket: str, *statements: dict[str, Any]) -> None:
        self.s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy(*statements)))


def endpoint_policy(*buckets: str) -> str:
    resources = [arn for bucket in buckets for arn in (f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*")]
    statement = allow(Sid="EnvironmentBuckets", Resource=resources)
    statement["Condition"] = {"StringEquals": {"aws:ResourceAccount": ACCOUNT}}
    return json.dumps(policy(statement))


def build(ec2: Any, endpoint_policy_document: str | None) -> tuple[str, str]:
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    research = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.3.0/24")["Subnet"]["SubnetId"]
    other = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.4.0/24")["Subnet"]["SubnetId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table, SubnetId=research)
    extra = {"PolicyDocument": endpoint_policy_document} if endpoint_policy_document else {}
    endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc,
        ServiceName="com.amazonaws.us-east-1.s3",
        VpcEndpointType="Gateway",
        RouteTableIds=[table],
        **extra,
    )["VpcEndpoint"]["VpcEndpointId"]
    image = ec2.describe_images()["Images"][0]["ImageId"]
    for subnet, address in ((research, INSTANCE_IP), (other, NO_ROUTE_IP)):
        ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet, PrivateIpAddress=address)
    return vpc, endpoint


@contextlib.contextmanager
def make_lab(endpoint_policy_document: str | None) -> Iterator[Lab]:
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        s3 = boto3.client("s3", region_name="us-east-1")
        vpc, endpoint = build(ec2, endpoint_policy_document)
        for bucket in (ALLOWED, OTHER):
            s3.create_bucket(Bucket=bucket)
        yield Lab(ec2, s3, boto3.client("sts", region_name="us-east-1"), endpoint, vpc)


@pytest.fixture
def lab(aws_env) -> Iterator[Lab]:
    with make_lab(endpoint_policy(ALLOWED)) as made:
        yield made


@pytest.fixture
def open_lab(aws_env) -> Iterator[Lab]:
    with make_lab(None) as made:
        yield made


def refused(answer: Any) -> str:
    assert answer.status_code == 403, answer.get_data(as_text=True)
    body = answer.get_data(as_text=True)
    assert "<Code>AccessDenied</Code>" in body
    return body


def test_the_wsgi_app_serves_the_in_process_backends(lab):
    """What boto3 made inside mock_aws is what the server's app answers from."""
    assert lab.put(ALLOWED, OUTSIDE_IP).status_code == 200
    assert lab.s3.get_object(Bucket=ALLOWED, Key="notes.txt")["Body"].read() == b"hello"


def test_the_endpoint_policy_allows_the_environment_bucket(lab):
    """AWS: a request through the endpoint that its policy allows proceeds."""
    assert lab.put(ALLOWED, INSTANCE_IP).status_code == 200


def test_the_endpoint_policy_refuses_other_buckets(lab):
    """AWS: through the endpoint, what its policy does not allow is AccessDenied (403), and says why."""
    body = refused(lab.put(OTHER, INSTANCE_IP))
    assert (
        f"User: arn:aws:iam::{ACCOUNT}:root is not authorized to perform: s3:PutObject on resource: "
        f'"arn:aws:s3:::{OTHER}/notes.txt" because no VPC endpoint policy allows the s3:PutObject action'
    ) in body
    with pytest.raises(lab.s3.exceptions.NoSuchKey):
        lab.s3.get_object(Bucket=OTHER, Key="notes.txt")


def test_head_bucket_is_authorized_as_list_bucket(aws_env):
    """AWS: HeadBucket needs s3:ListBucket (moto calls the action HeadBucket)."""
    document = json.dumps(policy(allow(Action="s3:ListBucket", Resource=f"arn:aws:s3:::{ALLOWED}")))
    with make_lab(document) as lab:
        assert lab.send("HEAD", f"/{ALLOWED}", INSTANCE_IP).status_code == 200
        assert lab.send("HEAD", f"/{OTHER}", INSTANCE_IP).status_code == 403


def test_list_buckets_needs_an_endpoint_policy_on_every_bucket(lab):
    """AWS: ListBuckets (s3:ListAllMyBuckets) has no bucket: a policy listing buckets does not allow it."""
    assert "s3:ListAllMyBuckets" in refused(lab.send("GET", "/", INSTANCE_IP))
    every_bucket = policy(allow(Action="s3:ListAllMyBuckets", Resource="arn:aws:s3:::*"))
    lab.ec2.modify_vpc_endpoint(VpcEndpointId=lab.endpoint, PolicyDocument=json.dumps(every_bucket))
    assert lab.send("GET", "/", INSTANCE_IP).status_code == 200


def test_requests_not_from_an_instance_are_not_through_the_endpoint(lab):
    """The controller and tests (no instance's address) do not go through the endpoint."""
    assert lab.put(OTHER, OUTSIDE_IP).status_code == 200


def test_an_instance_without_the_endpoint_route_does_not_use_it(lab):
    """AWS: only subnets whose route table routes to the endpoint go through it (the main table has no route)."""
    assert lab.put(OTHER, NO_ROUTE_IP).status_code == 200


def test_an_endpoint_without_a_policy_allows_everything(open_lab):
    """AWS: an endpoint created without a policy gets the default full-access policy."""
    assert open_lab.put(OTHER, INSTANCE_IP).status_code == 200


def test_a_terminated_instance_address_is_no_longer_an_instance(lab):
    """Only pending and running instances are sources."""
    instance = lab.ec2.describe_instances(Filters=[{"Name": "private-ip-address", "Values": [INSTANCE_IP]}])
    lab.ec2.terminate_instances(InstanceIds=[instance["Reservations"][0]["Instances"][0]["InstanceId"]])
    assert lab.put(OTHER, INSTANCE_IP).status_code == 200


def test_the_research_role_only_through_the_endpoint(lab):
    """The data buckets' Deny: the research role's session is refused from elsewhere, allowed through the endpoint
    (aws:SourceVpce is the endpoint's id), and other principals are not concerned (aws:PrincipalArn is the role's
    ARN for a role session, the account root for the default key)."""
    lab.bucket_policy(
        ALLOWED,
        deny(
            Sid="ResearchRolesOnlyThroughTheEndpoint",
            Resource=[f"arn:aws:s3:::{ALLOWED}", f"arn:aws:s3:::{ALLOWED}/*"],
            Condition={"ArnLike": {"aws:PrincipalArn": [ROLE]}, "StringNotEquals": {"aws:SourceVpce": lab.endpoint}},
        ),
    )
    role_key = lab.role_key()
    body = refused(lab.put(ALLOWED, OUTSIDE_IP, key=role_key))
    assert "with an explicit deny in a resource-based policy" in body
    assert f"arn:aws:sts::{ACCOUNT}:assumed-role/env-jupyter/alice" in body
    assert lab.put(ALLOWED, INSTANCE_IP, key=role_key).status_code == 200
    assert lab.put(ALLOWED, NO_ROUTE_IP, key=role_key).status_code == 403
    assert lab.put(ALLOWED, OUTSIDE_IP).status_code == 200
    assert lab.put(ALLOWED, OUTSIDE_IP, key=lab.role_key(f"arn:aws:iam::{ACCOUNT}:role/other")).status_code == 200


def test_an_iam_user_is_its_own_principal(lab):
    """AWS: an IAM user's key makes aws:PrincipalArn the user's ARN."""
    iam = boto3.client("iam", region_name="us-east-1")
    user = iam.create_user(UserName="analyst")["User"]["Arn"]
    key = iam.create_access_key(UserName="analyst")["AccessKey"]["AccessKeyId"]
    lab.bucket_policy(ALLOWED, deny(Condition={"ArnEquals": {"aws:PrincipalArn": user}}))
    assert f"User: {user} is not authorized" in refused(lab.put(ALLOWED, OUTSIDE_IP, key=key))
    assert lab.put(ALLOWED, OUTSIDE_IP).status_code == 200


def test_delete_objects_is_checked_per_key(lab):
    """AWS authorizes DeleteObjects as s3:DeleteObject on each key; refused keys are AccessDenied in the answer."""
    lab.s3.put_object(Bucket=OTHER, Key="a.txt", Body=b"a")
    body = b"<Delete><Object><Key>a.txt</Key></Object></Delete>"
    answer = lab.send("POST", f"/{OTHER}?delete", INSTANCE_IP, data=body, headers={"Content-Type": "application/xml"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert "<Code>AccessDenied</Code>" in answer.get_data(as_text=True)
    assert lab.s3.list_objects_v2(Bucket=OTHER)["KeyCount"] == 1
    lab.s3.put_object(Bucket=ALLOWED, Key="a.txt", Body=b"a")
    answer = lab.send("POST", f"/{ALLOWED}?delete", INSTANCE_IP, data=body, headers={"Content-Type": "application/xml"})
    assert "<Deleted>" in answer.get_data(as_text=True)
    assert lab.s3.list_objects_v2(Bucket=ALLOWED)["KeyCount"] == 0


def test_copy_object_reads_its_source_through_the_endpoint(lab):
    """AWS: CopyObject needs s3:GetObject on the source as well, which the endpoint policy must allow."""
    lab.s3.put_object(Bucket=OTHER, Key="source.txt", Body=b"s")
    copy = {"x-amz-copy-source": f"/{OTHER}/source.txt"}
    body = refused(lab.send("PUT", f"/{ALLOWED}/copy.txt", INSTANCE_IP, headers=copy))
    assert f'"arn:aws:s3:::{OTHER}/source.txt" because no VPC endpoint policy allows the s3:GetObject action' in body
    assert lab.send("PUT", f"/{ALLOWED}/copy.txt", OUTSIDE_IP, headers=copy).status_code == 200


def test_bucket_policy_statements_on_other_keys_are_left_alone(lab):
    """aws:SecureTransport is never true on the plain-HTTP emulator: such statements are not evaluated here."""
    lab.bucket_policy(ALLOWED, deny(Condition={"Bool": {"aws:SecureTransport": "false"}}))
    assert lab.put(ALLOWED, INSTANCE_IP).status_code == 200


def test_an_explicit_deny_in_the_endpoint_policy(aws_env):
    """AWS: a Deny in the endpoint policy refuses the request with its own message."""
    document = json.dumps(policy(allow(), deny(Action="s3:PutObject", Resource=f"arn:aws:s3:::{OTHER}/*")))
    with make_lab(document) as lab:
        assert lab.put(ALLOWED, INSTANCE_IP).status_code == 200
        assert "with an explicit deny in a VPC endpoint policy" in refused(lab.put(OTHER, INSTANCE_IP))


def test_a_bucket_in_another_region_is_not_reached_through_the_endpoint(open_lab):
    """AWS: a gateway endpoint reaches its own region's buckets only, whatever its policy allows."""
    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="far-data", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    body = refused(open_lab.put("far-data", INSTANCE_IP))
    assert "reaches only buckets in us-east-1" in body
    assert open_lab.put("far-data", OUTSIDE_IP).status_code == 200


def test_an_unsupported_policy_is_not_guessed(lab):
    """A bucket policy the evaluator cannot decide is refused (error code NotImplemented), not allowed."""
    lab.bucket_policy(ALLOWED, deny(Condition={"ForAnyValue:StringLike": {"aws:PrincipalArn": [ROLE]}}))
    answer = lab.put(ALLOWED, INSTANCE_IP)
    body = answer.get_data(as_text=True)
    assert answer.status_code == 400, body
    assert "<Code>NotImplemented</Code>" in body
    assert "ForAnyValue" in body


def test_install_twice_changes_nothing():
    from moto.s3.responses import S3Response

    before = S3Response._authenticate_and_authorize_s3_action
    emulator_vpce.install()
    assert S3Response._authenticate_and_authorize_s3_action is before
