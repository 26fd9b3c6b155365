"""Read an environment back from the emulator with boto3, in shapes tests can compare."""

from __future__ import annotations

from typing import Any

ACCOUNT = "123456789012"  # moto's default account


def tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def env_filter(env_name: str) -> list[dict[str, Any]]:
    return [{"Name": "tag:Environment", "Values": [env_name]}, {"Name": "tag:ManagedBy", "Values": ["research-env"]}]


def network_resources(ec2: Any, env_name: str) -> dict[str, list[str]]:
    """Every network resource tagged with the environment, by type. NAT gateways in state
    'deleted' are left out: AWS itself keeps showing them for an hour after deletion."""
    flt = env_filter(env_name)
    found = {
        "vpc": [v["VpcId"] for v in ec2.describe_vpcs(Filters=flt)["Vpcs"]],
        "subnet": [s["SubnetId"] for s in ec2.describe_subnets(Filters=flt)["Subnets"]],
        "internet_gateway": [
            g["InternetGatewayId"] for g in ec2.describe_internet_gateways(Filters=flt)["InternetGateways"]
        ],
        "route_table": [r["RouteTableId"] for r in ec2.describe_route_tables(Filters=flt)["RouteTables"]],
        "security_group": [g["GroupId"] for g in ec2.describe_security_groups(Filters=flt)["SecurityGroups"]],
        "vpc_endpoint": [
            e["VpcEndpointId"]
            for e in ec2.describe_vpc_endpoints(Filters=flt)["VpcEndpoints"]
            if e["State"].lower() != "deleted"
        ],
        "nat_gateway": [
            n["NatGatewayId"] for n in ec2.describe_nat_gateways(Filter=flt)["NatGateways"] if n["State"] != "deleted"
        ],
        "elastic_ip": [a["AllocationId"] for a in ec2.describe_addresses(Filters=flt)["Addresses"]],
    }
    return {kind: sorted(ids) for kind, ids in found.items() if ids}


def sg_rules(ec2: Any, group_id: str, tier_of: dict[str, str]) -> set[tuple]:
    """A group's rules as (direction, protocol, from, to, source) with group sources named by tier and
    prefix lists as pl:<name> (com.amazonaws.<region>.s3)."""
    group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    rules = set()
    for direction, key in (("in", "IpPermissions"), ("out", "IpPermissionsEgress")):
        for perm in group[key]:
            proto = perm["IpProtocol"]
            span = (perm.get("FromPort"), perm.get("ToPort")) if proto != "-1" else ("all", "all")
            for rng in perm.get("IpRanges", []):
                rules.add((direction, proto, *span, rng["CidrIp"]))
            for rng in perm.get("Ipv6Ranges", []):
                rules.add((direction, proto, *span, rng["CidrIpv6"]))
            for pl in perm.get("PrefixListIds", []):
                (named,) = ec2.describe_prefix_lists(PrefixListIds=[pl["PrefixListId"]])["PrefixLists"]
                rules.add((direction, proto, *span, "pl:" + named["PrefixListName"]))
            for pair in perm.get("UserIdGroupPairs", []):
                rules.add((direction, proto, *span, "sg:" + tier_of.get(pair["GroupId"], pair["GroupId"])))
    return rules


def all_resources(aws: dict[str, Any], env_name: str) -> dict[str, list[str]]:
    """Every resource of the environment of any type research-env creates: the network types
    above, plus instances, key pairs, IAM roles and instance profiles (under the environment's
    path), EFS file systems, tagged buckets, SSM parameters under the environment's path (its
    generated secrets), the image pipeline's function (by its tags) and log groups (by their name), the
    idle-stop rules and the budget (by their names), and KMS keys not yet pending deletion."""
    ec2, iam, efs, s3, kms, ssm = aws["ec2"], aws["iam"], aws["efs"], aws["s3"], aws["kms"], aws["ssm"]
    flt = env_filter(env_name)
    found = network_resources(ec2, env_name)
    path = f"/research-env/{env_name}/"
    extra = {
        "instance": [
            i["InstanceId"]
            for r in ec2.describe_instances(Filters=flt)["Reservations"]
            for i in r["Instances"]
            if i["State"]["Name"] not in ("terminated", "shutting-down")
        ],
        "key_pair": [k["KeyName"] for k in ec2.describe_key_pairs(Filters=flt)["KeyPairs"]],
        "iam_role": [r["RoleName"] for r in iam.list_roles(PathPrefix=path)["Roles"]],
        "instance_profile": [
            p["InstanceProfileName"] for p in iam.list_instance_profiles(PathPrefix=path)["InstanceProfiles"]
        ],
        "efs": [
            f["FileSystemId"]
            for f in efs.describe_file_systems()["FileSystems"]
            if {"Environment": env_name, "ManagedBy": "research-env"}.items() <= tags(f).items()
        ],
        "bucket": [b["Name"] for b in s3.list_buckets()["Buckets"] if _bucket_is_env(s3, b["Name"], env_name)],
        "ssm_parameter": [
            p["Name"]
            for page in ssm.get_paginator("get_parameters_by_path").paginate(
                Path=f"/research-env/{env_name}", Recursive=True
            )
            for p in page["Parameters"]
        ],
        "lambda_function": [
            f["FunctionName"]
            for f in aws["lambda"].list_functions()["Functions"]
            if aws["lambda"].list_tags(Resource=f["FunctionArn"])["Tags"].get("Environment") == env_name
        ]
        if "lambda" in aws
        else [],
        "log_group": [
            g["logGroupName"]
            for g in aws["logs"].describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{env_name}-")["logGroups"]
        ]
        if "logs" in aws
        else [],
        "client_vpn_endpoint": [
            e["ClientVpnEndpointId"]
            for e in ec2.describe_client_vpn_endpoints(Filters=flt)["ClientVpnEndpoints"]
            if e["Status"]["Code"] != "deleted"
        ],
        "acm_certificate": _acm_certificates(aws["acm"], env_name) if "acm" in aws else [],
        # The idle-stop rules and the budget, by their names (research-env's own).
        "event_rule": [r["Name"] for r in aws["events"].list_rules(NamePrefix=f"{env_name}-")["Rules"]]
        if "events" in aws
        else [],
        "budget": [
            b["BudgetName"]
            for b in aws["budgets"].describe_budgets(AccountId=ACCOUNT).get("Budgets", [])
            if b["BudgetName"].startswith(f"research-env-{env_name}-")
        ]
        if "budgets" in aws
        else [],
        "kms_key": [
            k["KeyId"]
            for k in kms.list_keys()["Keys"]
            if kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] != "PendingDeletion"
            and {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=k["KeyId"])["Tags"]}.get(
                "Environment"
            )
            == env_name
        ],
    }
    found.update({kind: sorted(ids) for kind, ids in extra.items() if ids})
    return found


def _bucket_is_env(s3: Any, name: str, env_name: str) -> bool:
    try:
        tagset = s3.get_bucket_tagging(Bucket=name)["TagSet"]
    except s3.exceptions.ClientError:
        return False
    return {t["Key"]: t["Value"] for t in tagset}.get("Environment") == env_name


def _acm_certificates(acm: Any, env_name: str) -> list[str]:
    found = []
    for cert in acm.list_certificates()["CertificateSummaryList"]:
        tagset = acm.list_tags_for_certificate(CertificateArn=cert["CertificateArn"])["Tags"]
        if {t["Key"]: t.get("Value") for t in tagset}.get("Environment") == env_name:
            found.append(cert["CertificateArn"])
    return found
