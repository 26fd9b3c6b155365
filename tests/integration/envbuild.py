"""What the integration tests share: the expected security-group tables, an environment's extra
vars and environment variables, and small read-back helpers."""

from __future__ import annotations

import json
from pathlib import Path

from awsstate import tags

ADMIN = "198.51.100.7/32"
ANY = "0.0.0.0/0"

# Seed 000's three tables, with this project's deliberate differences (see playbooks/vars/network.yml):
# SSH and the Access Server's admin UI (943) to the dmz from admin_cidrs only; 8080 for FileGator
# (DESIGN.md); out of research, 443 to S3's prefix list (the one the gateway endpoint's route names)
# and to the VPC, and 80 and 443 to anywhere only while the NAT gateway exists (the seed had 443 to
# anywhere always). The seed's unnamed "Custom TCP from sg-00b79..." row is left out.
SEED_RULES = {
    "dmz": {
        ("in", "tcp", 22, 22, ADMIN),
        ("in", "tcp", 443, 443, ANY),
        ("in", "tcp", 943, 943, ADMIN),
        ("in", "udp", 1194, 1194, ANY),
        ("out", "-1", "all", "all", ANY),
    },
    "research": {
        ("in", "tcp", 8888, 8888, "sg:dmz"),
        ("in", "tcp", 22, 22, "sg:dmz"),
        ("in", "tcp", 8080, 8080, "sg:dmz"),
        ("out", "tcp", 8888, 8888, "sg:dmz"),
        ("out", "tcp", 22, 22, "sg:dmz"),
        ("out", "tcp", 443, 443, "pl:com.amazonaws.us-east-1.s3"),
        ("out", "tcp", 443, 443, "10.0.0.0/16"),
    },
    "production": {
        ("in", "tcp", 22, 22, "sg:dmz"),
        ("in", "tcp", 80, 80, ANY),
        ("in", "tcp", 443, 443, ANY),
        ("out", "-1", "all", "all", ANY),
    },
}
NAT_OUT = {("out", "tcp", 80, 80, ANY), ("out", "tcp", 443, 443, ANY)}
BUCKET = "{env}-notebooks-123456789012"  # moto's account id


def env_vars(ssh_key: Path, **overrides: object) -> dict:
    base = {"ssh_public_key_file": str(ssh_key), "admin_cidrs": [ADMIN]}
    return base | overrides


def vpc_of(ec2, env_name: str) -> dict:
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Environment", "Values": [env_name]}])["Vpcs"]
    assert len(vpcs) == 1, f"expected one VPC of {env_name}, found {len(vpcs)}"
    return vpcs[0]


def by_tier(items: list[dict]) -> dict[str, dict]:
    return {tags(i)["Tier"]: i for i in items if "Tier" in tags(i)}


def research_routes(ec2, vpc_id: str) -> list[dict]:
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    return by_tier(tables)["research"]["Routes"]


def security_groups(ec2, vpc_id: str) -> dict[str, dict]:
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    return {tags(g).get("Tier", g["GroupName"]): g for g in groups}


def only_record(directory: Path, env_name: str) -> dict:
    found = list(directory.glob(f"{env_name}-*.json"))
    assert len(found) == 1, f"expected one record of {env_name} in {directory}: {found}"
    assert found[0].with_suffix(".md").is_file(), "the Markdown record is missing"
    return json.loads(found[0].read_text())


def assert_bucket_as_built(aws: dict, bucket: str, key_arn: str, env_name: str = "researchenv") -> None:
    """Versioned, SSE-KMS with the environment's key and a bucket key, public access blocked, TLS only,
    the research hosts' roles only through the S3 endpoint, ACLs disabled, tagged as the environment's."""
    s3, ec2 = aws["s3"], aws["ec2"]
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
    assert rule["BucketKeyEnabled"] is True
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    )
    statements = {st["Sid"]: st for st in json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]}
    assert set(statements) == {"DenyInsecureTransport", "ResearchHostsOnlyThroughTheEndpoint"}
    for statement in statements.values():
        assert statement["Effect"] == "Deny" and statement["Principal"] == "*" and statement["Action"] == "s3:*"
        assert set(statement["Resource"]) == {f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"}
    assert statements["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # The research hosts' roles (jupyter, filegator), only through the environment's S3 endpoint.
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "tag:Environment", "Values": [env_name]}])["VpcEndpoints"]
    assert len(endpoints) == 1, endpoints
    (endpoint,) = endpoints
    roles = [f"arn:aws:iam::123456789012:role/research-env/{env_name}/{env_name}-{r}" for r in ("filegator", "jupyter")]
    condition = statements["ResearchHostsOnlyThroughTheEndpoint"]["Condition"]
    assert condition == {
        "ArnEquals": {"aws:PrincipalArn": roles},
        "StringNotEquals": {"aws:SourceVpce": endpoint["VpcEndpointId"]},
    }, condition
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    bucket_tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    assert bucket_tags == {
        "Project": "research-env",
        "Environment": env_name,
        "ManagedBy": "research-env",
        "Name": bucket,
    }
