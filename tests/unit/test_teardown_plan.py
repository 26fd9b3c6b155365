"""The teardown analysis as a plain function: the plan in dependency order, what holds data, and what
blocks the plan. The shapes are those of the amazon.aws info modules (snake_case, tags as dicts)."""

from __future__ import annotations

import copy

import pytest
from ansible_collections.research_env.core.plugins.filter import teardown as f
from ansible_collections.research_env.core.plugins.filter.teardown_record import (
    describe_blockers,
    key_may_go,
    record_details,
)

ENV = {"Environment": "e", "ManagedBy": "research-env"}
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/k-1"


def tagged(**extra: str) -> dict[str, str]:
    return {**ENV, **extra}


def group(gid: str, tier: str | None, refs_in: tuple = (), refs_out: tuple = (), vpc: str = "vpc-1", **kw) -> dict:
    def perms(targets):
        return [
            {"ip_protocol": "tcp", "from_port": 22, "to_port": 22, "user_id_group_pairs": [{"group_id": t}]}
            for t in targets
        ]

    return {
        "group_id": gid,
        "group_name": kw.get("name", f"e-{tier}-sg" if tier else gid),
        "vpc_id": vpc,
        "tags": kw.get("tags", tagged(Tier=tier) if tier else {}),
        "ip_permissions": perms(refs_in),
        "ip_permissions_egress": perms(refs_out),
    }


def instance(iid: str, tags: dict | None = None, subnet: str = "subnet-r", dot: bool = True) -> dict:
    return {
        "instance_id": iid,
        "vpc_id": "vpc-1",
        "subnet_id": subnet,
        "state": {"name": "running"},
        "tags": tagged(Name=f"e-{iid}") if tags is None else tags,
        "block_device_mappings": [
            {"device_name": "/dev/sda1", "ebs": {"volume_id": f"vol-{iid}", "delete_on_termination": dot}}
        ],
        "network_interfaces": [
            {"network_interface_id": f"eni-{iid}", "attachment": {"delete_on_termination": True, "instance_id": iid}}
        ],
    }


def bucket(name: str, tags: dict | None = None, **kw) -> dict:
    return {"name": name, "tags": tagged() if tags is None else tags, "object_scan": "skipped", **kw}


def contents(name: str, versions: int = 0, markers: int = 0) -> dict:
    return {
        "item": {"name": name},
        "exists": True,
        "current_objects": versions,
        "versions": versions,
        "noncurrent_versions": 0,
        "delete_markers": markers,
        "bytes": versions * 10,
    }


KEY = {"key_id": "k-1", "key_arn": KEY_ARN, "key_state": "Enabled", "aliases": ["research-env/e"], "tags": tagged()}


def environment() -> dict:
    """A whole environment as discovery finds it (no foreign resource)."""
    return {
        "env_name": "e",
        "managed_by": "research-env",
        "configured_bucket": "e-notebooks-1",
        "vpcs": [{"id": "vpc-1", "vpc_id": "vpc-1", "cidr_block": "10.0.0.0/16", "tags": tagged(Name="e-vpc")}],
        "instances": [instance("i-vpn"), instance("i-jup")],
        "network_interfaces": [
            {
                "id": "eni-i-vpn",
                "vpc_id": "vpc-1",
                "subnet_id": "subnet-d",
                "attachment": {"instance_id": "i-vpn", "delete_on_termination": True},
            },
            {
                "id": "eni-i-jup",
                "vpc_id": "vpc-1",
                "subnet_id": "subnet-r",
                "attachment": {"instance_id": "i-jup", "delete_on_termination": True},
            },
            {"id": "eni-nat", "vpc_id": "vpc-1", "subnet_id": "subnet-d", "attachment": None},
            {"id": "eni-efs", "vpc_id": "vpc-1", "subnet_id": "subnet-r", "attachment": None},
        ],
        "security_groups": [
            group("sg-dmz", "dmz"),
            group("sg-res", "research", refs_in=("sg-dmz", "sg-efs"), refs_out=("sg-dmz", "sg-efs")),
            group("sg-efs", "efs", refs_in=("sg-res",)),
            group("sg-def", None, name="default", tags=tagged(Name="e-default-sg")),
        ],
        "referencing_groups": [],
        "subnets": [
            {
                "id": "subnet-d",
                "subnet_id": "subnet-d",
                "vpc_id": "vpc-1",
                "cidr_block": "10.0.1.0/24",
                "tags": tagged(Tier="dmz"),
            },
            {
                "id": "subnet-r",
                "subnet_id": "subnet-r",
                "vpc_id": "vpc-1",
                "cidr_block": "10.0.3.0/24",
                "tags": tagged(Tier="research"),
            },
        ],
        "route_tables": [
            {"id": "rtb-main", "vpc_id": "vpc-1", "associations": [{"main": True}], "tags": {}},
            {"id": "rtb-r", "vpc_id": "vpc-1", "associations": [{"main": False}], "tags": tagged(Tier="research")},
        ],
        "vpc_endpoints": [{"vpc_endpoint_id": "vpce-1", "vpc_id": "vpc-1", "state": "available", "tags": tagged()}],
        "nat_gateways": [
            {
                "nat_gateway_id": "nat-1",
                "vpc_id": "vpc-1",
                "state": "available",
                "tags": tagged(),
                "nat_gateway_addresses": [{"network_interface_id": "eni-nat"}],
            },
            {"nat_gateway_id": "nat-old", "vpc_id": "vpc-1", "state": "deleted", "tags": tagged()},
        ],
        "network_acls": [],
        "internet_gateways": [
            {"internet_gateway_id": "igw-1", "attachments": [{"vpc_id": "vpc-1"}], "tags": tagged()},
            {"internet_gateway_id": "igw-1", "attachments": [{"vpc_id": "vpc-1"}], "tags": tagged()},
        ],
        "vpc_peering_connections": [],
        "elastic_ips": [{"allocation_id": "eipalloc-1", "public_ip": "192.0.2.1", "tags": tagged(Name="n")}],
        "key_pairs": [{"key_name": "e-key", "key_pair_id": "key-1", "tags": tagged()}],
        "instance_profiles": [{"instance_profile_name": "e-vpn"}],
        "iam_roles": [{"role_name": "e-vpn"}],
        # The generated secrets, by name (discovery keeps no value).
        "ssm_parameters": ["/research-env/e/vpn/openvpn", "/research-env/e/vpn/alice"],
        "file_systems": [
            {
                "file_system_id": "fs-1",
                "tags": tagged(Name="e-efs"),
                "mount_targets": [{"network_interface_id": "eni-efs"}],
            }
        ],
        "buckets": [bucket("e-notebooks-1"), bucket("someone-elses", tags={"Team": "x"})],
        "bucket_contents": [contents("e-notebooks-1", versions=2)],
        "kms_keys": [KEY],
        "key_usage": {
            "key": {"arn": KEY_ARN},
            "volumes": [{"volume_id": "vol-i-vpn", "size": 20}],
            "snapshots": [],
            "images": [],
            "file_systems": [],
        },
    }


def test_whole_environment_with_destroy_data_is_planned_in_dependency_order():
    out = f.teardown_analysis(environment(), True)
    assert out["blockers"] == [] and out["refusals"] == []
    assert [(p["type"], p["id"]) for p in out["plan"]] == [
        ("instance", "i-jup"),
        ("instance", "i-vpn"),
        ("nat_gateway", "nat-1"),
        ("elastic_ip", "eipalloc-1"),
        ("key_pair", "key-1"),
        ("instance_profile", "e-vpn"),
        ("iam_role", "e-vpn"),
        ("ssm_parameter", "/research-env/e/vpn/alice"),
        ("ssm_parameter", "/research-env/e/vpn/openvpn"),
        ("efs", "fs-1"),
        ("vpc_endpoint", "vpce-1"),
        # efs and research refer to each other: the rules of one go first, then the groups, each
        # once no other group refers to it.
        ("security_group_rules", "sg-efs"),
        ("security_group", "sg-res"),
        ("security_group", "sg-dmz"),
        ("security_group", "sg-efs"),
        ("route_table", "rtb-r"),
        ("subnet", "subnet-d"),
        ("subnet", "subnet-r"),
        ("internet_gateway", "igw-1"),
        ("vpc", "vpc-1"),
        ("bucket", "e-notebooks-1"),
        ("kms_key", "k-1"),
    ]
    vpn = next(p for p in out["plan"] if p["id"] == "i-vpn")
    assert vpn["details"]["ebs_volumes_with_it"] == [
        {"volume_id": "vol-i-vpn", "device": "/dev/sda1", "size_gb": 20, "kms_key": KEY_ARN}
    ]
    key = out["plan"][-1]
    assert key["alias"] == "research-env/e" and "keep_because" not in key


def test_groups_without_a_cycle_need_no_rule_revocation():
    found = environment()
    found["security_groups"] = [
        group("sg-dmz", "dmz"),
        group("sg-res", "research", refs_in=("sg-dmz",)),
        group("sg-pro", "production", refs_in=("sg-dmz",)),
    ]
    plan = f.teardown_analysis(found, True)["plan"]
    assert [p["id"] for p in plan if p["type"].startswith("security_group")] == ["sg-pro", "sg-res", "sg-dmz"]


def test_data_is_refused_without_destroy_data():
    out = f.teardown_analysis(environment(), False)
    assert out["blockers"] == []
    assert out["refusals"] == [
        "bucket e-notebooks-1: 2 object versions (2 current), 0 delete markers",
        "EFS file system fs-1 (e-efs)",
    ]


def test_bucket_found_by_its_tags_whatever_its_name():
    found = environment()
    found["configured_bucket"] = "the-default-name"
    found["buckets"] = [bucket("custom-name-bucket")]
    found["bucket_contents"] = [contents("custom-name-bucket", versions=4, markers=1)]
    out = f.teardown_analysis(found, False)
    assert "bucket custom-name-bucket: 4 object versions (4 current), 1 delete markers" in out["refusals"]


def test_retagged_bucket_under_the_key_blocks_everything_even_with_destroy_data():
    found = environment()
    found["buckets"] = [bucket("e-notebooks-1", tags={"Owner": "someone"}, default_uses_key=True)]
    found["bucket_contents"] = []
    out = f.teardown_analysis(found, True)
    (blocker,) = [b for b in out["blockers"] if b["type"] == "bucket"]
    assert blocker["id"] == "e-notebooks-1"
    assert "default encryption is the environment's KMS key" in blocker["why"]
    assert "put-bucket-tagging" in blocker["fix"]
    assert not any(p["type"] == "bucket" for p in out["plan"])


def test_objects_under_the_key_in_another_bucket_block():
    found = environment()
    found["buckets"].append(
        bucket(
            "shared-archive",
            tags={},
            objects_with_key_count=2,
            objects_with_key=[{"key": "copy/a.csv", "version_id": "v1"}, {"key": "copy/b.csv", "version_id": "v2"}],
        )
    )
    out = f.teardown_analysis(found, True)
    (blocker,) = out["blockers"]
    assert (
        blocker["id"] == "shared-archive"
        and "2 object versions are encrypted with it (copy/a.csv, copy/b.csv)" in blocker["why"]
    )


def test_an_unfinished_object_scan_keeps_the_key():
    found = environment()
    found["buckets"].append(bucket("huge-logs", tags={}, object_scan="limit_reached", versions_not_checked=5000))
    out = f.teardown_analysis(found, True)
    assert out["blockers"] == []
    key = out["plan"][-1]
    assert key["type"] == "kms_key" and "huge-logs: 5000 object versions" in key["keep_because"]


@pytest.mark.parametrize(
    ("change", "kind", "fragment"),
    [
        (lambda e: e["instances"].append(instance("i-hand", tags={"Name": "mine"})), "instance", "terminate-instances"),
        (
            lambda e: e["network_interfaces"].append(
                {
                    "id": "eni-hand",
                    "vpc_id": "vpc-1",
                    "subnet_id": "subnet-r",
                    "description": "made by hand",
                    "attachment": None,
                }
            ),
            "network_interface",
            "delete-network-interface --network-interface-id eni-hand",
        ),
        (
            lambda e: e["security_groups"].append(group("sg-hand", None, refs_in=("sg-dmz",))),
            "security_group",
            "revoke-security-group-ingress",
        ),
        (
            lambda e: e["referencing_groups"].append(group("sg-far", None, refs_out=("sg-res",), vpc="vpc-other")),
            "security_group",
            "revoke-security-group-ingress",
        ),
        (lambda e: e["security_groups"].append(group("sg-lone", None)), "security_group", "delete-security-group"),
        (
            lambda e: e["subnets"].append(
                {"subnet_id": "subnet-x", "vpc_id": "vpc-1", "cidr_block": "10.0.9.0/24", "tags": {}}
            ),
            "subnet",
            "delete-subnet",
        ),
        (
            lambda e: e["route_tables"].append({"id": "rtb-x", "vpc_id": "vpc-1", "associations": [], "tags": {}}),
            "route_table",
            "delete-route-table",
        ),
        (
            lambda e: e["vpc_endpoints"].append(
                {
                    "vpc_endpoint_id": "vpce-x",
                    "vpc_id": "vpc-1",
                    "state": "available",
                    "service_name": "com.amazonaws.us-east-1.ssm",
                    "tags": {},
                }
            ),
            "vpc_endpoint",
            "delete-vpc-endpoints",
        ),
        (
            lambda e: e["vpc_peering_connections"].append(
                {
                    "vpc_peering_connection_id": "pcx-1",
                    "status": {"code": "active"},
                    "requester_vpc_info": {"vpc_id": "vpc-1"},
                    "accepter_vpc_info": {"vpc_id": "vpc-9"},
                }
            ),
            "vpc_peering_connection",
            "delete-vpc-peering-connection",
        ),
        (
            lambda e: e["network_acls"].append({"nacl_id": "acl-x", "vpc_id": "vpc-1", "is_default": False}),
            "network_acl",
            "delete-network-acl",
        ),
        (
            lambda e: e["key_usage"]["snapshots"].append({"snapshot_id": "snap-1", "volume_id": "vol-i-jup"}),
            "snapshot",
            "delete-snapshot",
        ),
        (
            lambda e: e["key_usage"]["volumes"].append({"volume_id": "vol-x", "attachments": [], "tags": {}}),
            "volume",
            "delete-volume",
        ),
        (
            lambda e: e["key_usage"]["file_systems"].append({"file_system_id": "fs-x", "tags": {}}),
            "efs",
            "copy its data elsewhere",
        ),
    ],
    ids=[
        "instance",
        "eni",
        "sg-in-vpc-referencing",
        "sg-elsewhere-referencing",
        "sg-in-vpc",
        "subnet",
        "route-table",
        "endpoint",
        "peering",
        "nacl",
        "snapshot",
        "volume",
        "efs",
    ],
)
def test_foreign_things_block_the_plan(change, kind, fragment):
    found = environment()
    change(found)
    out = f.teardown_analysis(found, True)
    assert [b["type"] for b in out["blockers"]] == [kind], out["blockers"]
    assert fragment in out["blockers"][0]["fix"]
    line = describe_blockers(out["blockers"])[0]
    assert line.startswith(f"{kind} ") and "What to do:" in line


def test_an_eni_of_a_foreign_instance_is_named_once_by_the_instance():
    found = environment()
    found["instances"].append(instance("i-hand", tags={}))
    found["network_interfaces"].append(
        {"id": "eni-i-hand", "vpc_id": "vpc-1", "subnet_id": "subnet-r", "attachment": {"instance_id": "i-hand"}}
    )
    assert [b["type"] for b in f.teardown_analysis(found, True)["blockers"]] == ["instance"]


def test_a_volume_that_outlives_its_instance_is_data():
    found = environment()
    found["instances"] = [instance("i-jup", dot=False)]
    found["network_interfaces"] = [n for n in found["network_interfaces"] if n["id"] != "eni-i-vpn"]
    refused = f.teardown_analysis(found, False)
    assert any("EBS volume vol-i-jup of i-jup (/dev/sda1) survives" in r for r in refused["refusals"])
    destroyed = f.teardown_analysis(found, True)
    assert ("volume", "vol-i-jup") in [(p["type"], p["id"]) for p in destroyed["plan"]]


def test_a_key_already_pending_deletion_with_surviving_data_blocks():
    found = environment()
    found["kms_keys"] = [KEY | {"key_state": "PendingDeletion", "deletion_date": "2026-12-31"}]
    out = f.teardown_analysis(found, False)
    (blocker,) = out["blockers"]
    assert blocker["type"] == "kms_key" and "cancel-key-deletion --key-id k-1" in blocker["fix"]
    assert "bucket e-notebooks-1" in blocker["why"]
    assert not any(p["type"] == "kms_key" for p in out["plan"])


def test_a_key_of_another_project_is_not_touched():
    found = environment()
    found["kms_keys"] = [KEY | {"tags": {"Environment": "e", "ManagedBy": "someone"}}]
    assert not any(p["type"] == "kms_key" for p in f.teardown_analysis(found, True)["plan"])


def test_the_default_group_with_rules_added_by_hand_is_emptied():
    found = environment()
    found["security_groups"][-1] = group("sg-def", None, refs_in=("sg-dmz",), name="default", tags={})
    plan = f.teardown_analysis(found, True)["plan"]
    assert {
        "type": "security_group_rules",
        "id": "sg-def",
        "name": "default",
        "vpc_id": "vpc-1",
        "group_name": "default",
    } in plan


def test_the_vpc_scoped_lists_only_count_inside_the_environments_vpc():
    found = environment()
    found["subnets"].append({"subnet_id": "subnet-other", "vpc_id": "vpc-9", "tags": {}})
    found["security_groups"].append(group("sg-other", None, vpc="vpc-9"))
    assert f.teardown_analysis(found, True)["blockers"] == []


def test_nothing_found_plans_nothing():
    out = f.teardown_analysis({"env_name": "e", "managed_by": "research-env"}, False)
    assert out == {"plan": [], "refusals": [], "blockers": [], "notes": [], "key_users_kept": []}


def test_destroy_data_given_as_a_string():
    assert f.teardown_analysis(environment(), "true")["refusals"] == []
    assert f.teardown_analysis(environment(), "Yes")["refusals"] == []
    assert f.teardown_analysis(environment(), "false")["refusals"] != []
    assert f.teardown_analysis(environment(), " true")["refusals"] != []  # not what `| bool` reads either


def test_failed_data_holders_keep_the_key():
    log = [
        {"type": "bucket", "id": "b", "result": "failed: AccessDenied"},
        {"type": "subnet", "id": "s", "result": "failed: x"},
        {"type": "instance", "id": "i", "result": "deleted"},
    ]
    assert key_may_go(log) == ["bucket b"]


def test_record_details_on_one_line():
    line = record_details(
        {
            "ebs_volumes_with_it": [{"volume_id": "vol-1", "size_gb": 20}],
            "destroyed": [1, 2, 3],
            "destroyed_counts": {"versions": 2, "delete_markers": 1},
            "alias": "a|b",
        }
    )
    assert line == (
        "ebs_volumes_with_it: vol-1 (20 GiB), destroyed: 3 listed in the JSON, "
        "destroyed_counts: versions 2, delete_markers 1, alias: a/b"
    )


def test_the_input_is_not_changed():
    found = environment()
    before = copy.deepcopy(found)
    f.teardown_analysis(found, True)
    assert found == before


def role(name: str, region: str | None) -> dict:
    where = f" in {region}" if region else ""
    return {"role_name": name, "description": f"research-env e{where}: the vpn host"}


def test_iam_roles_of_another_region_are_left_alone():
    found = environment() | {"region": "us-east-1"}
    found["iam_roles"] = [role("e-vpn", "eu-west-1"), role("e-voila", "us-east-1"), role("e-jupyter", None)]
    found["instance_profiles"] = [{"instance_profile_name": "e-vpn"}, {"instance_profile_name": "e-voila"}]
    out = f.teardown_analysis(found, True)
    planned = {(p["type"], p["id"]) for p in out["plan"] if p["type"] in ("iam_role", "instance_profile")}
    assert planned == {("iam_role", "e-voila"), ("iam_role", "e-jupyter"), ("instance_profile", "e-voila")}
    assert any("serve this env_name in eu-west-1" in n for n in out["notes"])
    assert out["blockers"] == []


def test_an_environment_of_another_region_is_refused_not_half_deleted():
    found = {
        "env_name": "e",
        "managed_by": "research-env",
        "region": "us-east-1",
        "iam_roles": [role("e-vpn", "eu-west-1")],
        "instance_profiles": [{"instance_profile_name": "e-vpn"}],
    }
    out = f.teardown_analysis(found, True)
    assert out["plan"] == []
    (blocker,) = out["blockers"]
    assert "lives in eu-west-1" in blocker["why"] and "-e aws_region=eu-west-1" in blocker["fix"]


def test_role_region():
    assert f.role_region({"description": "research-env lab in eu-central-2: the jupyter host"}) == "eu-central-2"
    assert f.role_region({"description": "research-env lab: the jupyter host"}) is None
    assert f.role_region({}) is None


def test_a_vpc_whose_tags_were_removed_blocks_and_says_how_to_put_them_back():
    found = environment()
    found["tagged_subnets"] = found["subnets"]
    found["vpcs"] = []  # the VPC lost its tags: found neither by tags nor searched inside
    for kind in ("subnets", "security_groups", "route_tables", "vpc_endpoints", "nat_gateways", "network_interfaces"):
        found[kind] = []
    out = f.teardown_analysis(found, True)
    (blocker,) = [b for b in out["blockers"] if b["type"] == "vpc"]
    assert blocker["id"] == "vpc-1" and "subnet-d, subnet-r" in blocker["why"]
    assert "aws ec2 create-tags --resources vpc-1" in blocker["fix"]


def test_a_key_that_lost_its_tags_or_its_alias_is_still_the_environments():
    found = environment() | {"key_alias": "alias/research-env/e"}
    found["kms_keys"] = [KEY | {"tags": {}, "aliases": []}]
    out = f.teardown_analysis(found, True)
    assert out["plan"][-1]["type"] == "kms_key" and out["plan"][-1]["id"] == "k-1"
    assert any("lost its tags" in n for n in out["notes"]) and any("lost its alias" in n for n in out["notes"])


def test_a_subnet_named_as_the_environments_is_told_to_get_its_tags_back():
    found = environment()
    found["subnets"].append({"subnet_id": "subnet-x", "vpc_id": "vpc-1", "tags": {"Name": "e-research"}})
    (blocker,) = f.teardown_analysis(found, True)["blockers"]
    assert blocker["fix"].startswith("its Name says it is the environment's own: put its tags back")
    assert "aws ec2 create-tags --resources subnet-x" in blocker["fix"] and "delete-subnet" in blocker["fix"]


def test_the_jupyter_hosts_unsynced_work_is_mentioned():
    found = environment()
    found["instances"][1]["tags"]["Role"] = "jupyter"
    assert any("--tags sync before the teardown" in n for n in f.teardown_analysis(found, True)["notes"])


def test_only_parameters_under_the_environments_path_are_deleted():
    found = environment()
    found["ssm_parameters"] = [
        "/research-env/e/vpn/openvpn",
        "/research-env/e2/vpn/openvpn",
        "/research-env/ex/a",
        "/e/x",
    ]
    plan = f.teardown_analysis(found, True)["plan"]
    assert [(p["id"], p["name"]) for p in plan if p["type"] == "ssm_parameter"] == [
        ("/research-env/e/vpn/openvpn", "vpn/openvpn")
    ]


def pipeline(found: dict, *, fn_tags: dict | None = None, group_tags: dict | None = None) -> dict:
    """The image pipeline as discovery finds it: amazon.aws.lambda_info snake-cases the tag keys."""
    snaked = {"environment": "e", "managed_by": "research-env", "role": "lambda"} if fn_tags is None else fn_tags
    found.update(
        pipeline_input_bucket="e-pipeline-in-1",
        lambda_function="e-image-pipeline",
        lambda_log_group="/aws/lambda/e-image-pipeline",
        lambda_functions=[
            {"function_name": "e-image-pipeline", "runtime": "python3.13", "tags": snaked},
            {"function_name": "someone-elses", "runtime": "python3.12", "tags": {"environment": "x"}},
        ],
        log_groups=[{"log_group_name": "/aws/lambda/e-image-pipeline", "stored_bytes": 10, "tags": group_tags or {}}],
    )
    found["buckets"] = [*found.get("buckets", []), bucket("e-pipeline-in-1"), bucket("e-pipeline-out-1")]
    return found


def test_the_pipeline_goes_trigger_first_then_function_log_group_role_and_buckets_last():
    found = pipeline(environment())
    found["iam_roles"] = [*found.get("iam_roles", []), {"role_name": "e-image-pipeline", "path": "/research-env/e/"}]
    plan = [(p["type"], p["id"]) for p in f.teardown_analysis(found, True)["plan"]]
    steps = [
        ("bucket_notification", "e-pipeline-in-1"),
        ("lambda_function", "e-image-pipeline"),
        ("log_group", "/aws/lambda/e-image-pipeline"),
        ("iam_role", "e-image-pipeline"),
        ("bucket", "e-pipeline-in-1"),
        ("bucket", "e-pipeline-out-1"),
    ]
    assert [p for p in plan if p in steps] == steps
    assert ("lambda_function", "someone-elses") not in plan


def test_a_function_without_the_environments_tags_is_not_deleted():
    found = pipeline(environment(), fn_tags={"environment": "e"})
    plan = f.teardown_analysis(found, True)["plan"]
    assert [p for p in plan if p["type"] == "lambda_function"] == []
    # Its log group carries the function's name, research-env's own: it goes (Lambda makes it untagged).
    assert [p["id"] for p in plan if p["type"] == "log_group"] == ["/aws/lambda/e-image-pipeline"]


def test_data_in_a_pipeline_bucket_is_refused_without_destroy_data():
    found = pipeline(environment())
    found["bucket_contents"] = [*found.get("bucket_contents", []), contents("e-pipeline-out-1", versions=2)]
    refusals = f.teardown_analysis(found, False)["refusals"]
    assert any(r.startswith("bucket e-pipeline-out-1: 2 object versions") for r in refusals), refusals


def test_no_trigger_to_remove_when_the_input_bucket_is_not_the_environments():
    found = pipeline(environment())
    found["buckets"] = [b for b in found["buckets"] if b["name"] != "e-pipeline-in-1"]
    plan = f.teardown_analysis(found, True)["plan"]
    assert [p for p in plan if p["type"] == "bucket_notification"] == []


def client_vpn(found: dict, tags: dict | None = None) -> dict:
    """vpn_provider client_vpn as discovery finds it (client_vpn_endpoint_info, acm_certificate_info)."""
    found["client_vpn_endpoints"] = [
        {
            "client_vpn_endpoint_id": "cvpn-endpoint-1",
            "tags": tagged(Name="e-client-vpn") if tags is None else tags,
            "dns_name": "*.cvpn-endpoint-1.prod.clientvpn.us-east-1.amazonaws.com",
            "target_networks": [{"association_id": "cvpn-assoc-1", "target_network_id": "subnet-d"}],
            "authorization_rules": [{"destination_cidr": "10.0.3.0/24"}],
            "routes": [{"destination_cidr": "10.0.0.0/16", "target_subnet": "subnet-d", "origin": "associate"}],
        }
    ]
    found["acm_certificates"] = [
        {"certificate_arn": "arn:aws:acm:us-east-1:1:certificate/s", "domain_name": "e.client-vpn", "tags": tagged()},
        {"certificate_arn": "arn:aws:acm:us-east-1:1:certificate/other", "tags": {"Environment": "x"}},
    ]
    # Its interface in the dmz subnet, requester-managed, as AWS makes it.
    found["network_interfaces"].append(
        {
            "id": "eni-cvpn",
            "vpc_id": "vpc-1",
            "subnet_id": "subnet-d",
            "requester_managed": True,
            "description": "ClientVPN Endpoint resource",
            "attachment": None,
        }
    )
    return found


def test_the_client_vpn_endpoint_goes_before_its_certificate_and_the_network():
    result = f.teardown_analysis(client_vpn(environment()), True)
    plan = [(p["type"], p["id"]) for p in result["plan"]]
    endpoint = plan.index(("client_vpn_endpoint", "cvpn-endpoint-1"))
    certificate = plan.index(("acm_certificate", "arn:aws:acm:us-east-1:1:certificate/s"))
    assert endpoint < certificate < plan.index(("subnet", "subnet-d"))
    assert ("acm_certificate", "arn:aws:acm:us-east-1:1:certificate/other") not in plan
    details = next(p for p in result["plan"] if p["type"] == "client_vpn_endpoint")["details"]
    assert details["associations"] == ["cvpn-assoc-1 (subnet-d)"]
    assert details["authorization_rules"] == ["10.0.3.0/24"]
    # Its own interface is explained by it, not a blocker.
    assert result["blockers"] == []


def test_a_client_vpn_endpoint_of_someone_else_is_left_alone_and_its_interface_blocks():
    result = f.teardown_analysis(client_vpn(environment(), tags={"Name": "theirs"}), True)
    assert [p for p in result["plan"] if p["type"] == "client_vpn_endpoint"] == []
    assert [b["id"] for b in result["blockers"]] == ["eni-cvpn"]


def test_the_idle_stop_rules_go_first_and_the_budget_last():
    env = environment()
    env["schedule_rules"] = [
        {
            "name": "e-stop-hosts",
            "schedule_expression": "cron(0 20 * * ? *)",
            "state": "ENABLED",
            "targets": [
                {
                    "id": "stop-hosts",
                    "arn": "arn:aws:ssm:us-east-1:1:automation-definition/AWS-StopEC2Instance:$DEFAULT",
                }
            ],
        }
    ]
    env["budgets"] = [
        {
            "budget_name": "research-env-e-us-east-1",
            "budget_limit": {"amount": "100.0", "unit": "USD"},
            "time_unit": "MONTHLY",
        }
    ]
    plan = f.teardown_analysis(env, True)["plan"]
    assert (plan[0]["type"], plan[0]["id"]) == ("event_rule", "e-stop-hosts")
    assert plan[0]["details"] == {
        "schedule": "cron(0 20 * * ? *)",
        "state": "ENABLED",
        "targets": ["arn:aws:ssm:us-east-1:1:automation-definition/AWS-StopEC2Instance:$DEFAULT"],
    }
    assert (plan[-1]["type"], plan[-1]["id"]) == ("budget", "research-env-e-us-east-1")
    assert plan[-1]["details"] == {"limit": "100.0 USD", "time_unit": "MONTHLY"}
