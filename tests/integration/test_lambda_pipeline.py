"""The image pipeline (lambda_pipeline: true) against the emulator, in order: `site.yml --tags infra`
builds it and every part is read back with boto3; a rerun changes nothing; teardown refuses while a
pipeline bucket holds data, then destroys it all with destroy_data=true and records it. The function
is not invoked here (that needs Docker: the e2e test and tests/image do it)."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
from awsstate import all_resources
from emulator import Emulator
from envbuild import assert_bucket_as_built, env_vars, only_record
from helpers import REPO, run_playbook

pytestmark = pytest.mark.integration

ENV = "pipe"
ACCOUNT = "123456789012"  # moto's
INPUT, OUTPUT = f"{ENV}-pipeline-in-{ACCOUNT}", f"{ENV}-pipeline-out-{ACCOUNT}"
FUNCTION = f"{ENV}-image-pipeline"
LOG_GROUP = f"/aws/lambda/{FUNCTION}"


@pytest.fixture(scope="module")
def pipeline(emulator_env, ssh_key):
    Emulator.reset_url(emulator_env["AWS_ENDPOINT_URL"])
    extra = env_vars(ssh_key, env_name=ENV, lambda_pipeline=True)
    run = run_playbook("site.yml", "--tags", "infra", extra_vars=extra, env=emulator_env)
    assert run.rc == 0, run.explain()
    return extra


def statements(policy: dict) -> dict[str, dict]:
    return {s["Sid"]: s for s in policy["Statement"]}


def role_policy(iam, role: str, name: str) -> dict:
    doc = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    return json.loads(doc) if isinstance(doc, str) else doc


class TestPipeline:
    def test_buckets_are_made_like_the_notebooks_bucket(self, pipeline, aws):
        key_arn = aws["kms"].describe_key(KeyId=f"alias/research-env/{ENV}")["KeyMetadata"]["Arn"]
        for bucket in (INPUT, OUTPUT):
            assert_bucket_as_built(aws, bucket, key_arn, ENV)

    def test_the_function_runs_the_repository_code_with_its_own_role(self, pipeline, aws):
        fn = aws["lambda"].get_function(FunctionName=FUNCTION)
        conf = fn["Configuration"]
        assert (conf["Runtime"], conf["Handler"]) == ("python3.13", "handler.lambda_handler")
        assert (conf["MemorySize"], conf["Timeout"]) == (256, 60)
        assert conf["Environment"]["Variables"] == {"OUTPUT_BUCKET": OUTPUT}
        assert conf["Role"] == f"arn:aws:iam::{ACCOUNT}:role/research-env/{ENV}/{FUNCTION}"
        assert fn["Tags"]["Environment"] == ENV and fn["Tags"]["Role"] == "lambda"
        # The deployed code is the repository's handler, packed reproducibly.
        package = REPO / "artifacts" / ENV / "lambda" / "image-pipeline.zip"
        assert conf["CodeSha256"] == base64.b64encode(hashlib.sha256(package.read_bytes()).digest()).decode()

    def test_the_role_may_do_exactly_what_the_function_needs(self, pipeline, aws):
        iam = aws["iam"]
        trust = iam.get_role(RoleName=FUNCTION)["Role"]["AssumeRolePolicyDocument"]
        assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "lambda.amazonaws.com"}]
        assert iam.list_role_policies(RoleName=FUNCTION)["PolicyNames"] == ["image-pipeline"]
        assert iam.list_attached_role_policies(RoleName=FUNCTION)["AttachedPolicies"] == []
        found = statements(role_policy(iam, FUNCTION, "image-pipeline"))
        assert set(found) == {"ReadTheUploads", "WriteTheResults", "UseTheKeyThroughS3", "WriteItsLogs"}
        assert found["ReadTheUploads"]["Resource"] == f"arn:aws:s3:::{INPUT}/*"
        assert found["WriteTheResults"] == {
            "Sid": "WriteTheResults",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{OUTPUT}/*",
        }
        assert found["UseTheKeyThroughS3"]["Condition"] == {
            "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
        }
        assert found["WriteItsLogs"]["Resource"] == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{LOG_GROUP}:*"

    def test_jupyter_may_upload_and_read_the_results(self, pipeline, aws):
        found = statements(role_policy(aws["iam"], f"{ENV}-jupyter", "notebooks-bucket"))
        assert found["UploadToThePipeline"]["Resource"] == f"arn:aws:s3:::{INPUT}/*"
        assert found["ReadThePipelineResults"]["Resource"] == f"arn:aws:s3:::{OUTPUT}/*"
        assert found["ListThePipelineResults"]["Resource"] == f"arn:aws:s3:::{OUTPUT}"
        assert "ReadWriteNotebooks" in found, "the notebooks stay as they were"

    def test_the_log_group_keeps_90_days(self, pipeline, aws):
        (group,) = aws["logs"].describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"]
        assert group["retentionInDays"] == 90
        assert aws["logs"].list_tags_log_group(logGroupName=LOG_GROUP)["tags"]["Environment"] == ENV

    def test_uploads_of_the_input_bucket_trigger_it_and_only_s3_of_this_account_may(self, pipeline, aws):
        conf = aws["s3"].get_bucket_notification_configuration(Bucket=INPUT)
        (notification,) = conf["LambdaFunctionConfigurations"]
        assert notification["LambdaFunctionArn"] == f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{FUNCTION}"
        assert notification["Events"] == ["s3:ObjectCreated:*"]
        rules = {r["Name"]: r["Value"] for r in notification["Filter"]["Key"]["FilterRules"]}
        assert rules == {"Prefix": "", "Suffix": ".png"}
        assert "LambdaFunctionConfigurations" not in aws["s3"].get_bucket_notification_configuration(Bucket=OUTPUT)
        (grant,) = json.loads(aws["lambda"].get_policy(FunctionName=FUNCTION)["Policy"])["Statement"]
        assert grant["Principal"] == {"Service": "s3.amazonaws.com"}
        assert grant["Condition"]["ArnLike"]["AWS:SourceArn"] == f"arn:aws:s3:::{INPUT}"
        assert grant["Condition"]["StringEquals"]["AWS:SourceAccount"] == ACCOUNT

    def test_a_rerun_changes_nothing(self, pipeline, emulator_env):
        run = run_playbook("site.yml", "--tags", "lambda", extra_vars=pipeline, env=emulator_env)
        assert run.rc == 0, run.explain()
        assert re.search(r"localhost\s+: ok=\d+\s+changed=0 ", run.output), run.explain()
        assert "TASK [Create or update the function]" in run.output

    def test_teardown_refuses_while_a_pipeline_bucket_holds_data(self, pipeline, aws, emulator_env, tmp_path):
        # The output bucket: an upload to the input bucket would start the function (Docker).
        aws["s3"].put_object(Bucket=OUTPUT, Key="uploads/scan-processed.png", Body=b"result")
        before = all_resources(aws, ENV)
        extra = {"env_name": ENV, "records_dir": str(tmp_path)}
        run = run_playbook("playbooks/teardown.yml", extra_vars=extra, env=emulator_env)
        assert run.rc != 0
        assert f"bucket {OUTPUT}: 1 object versions (1 current)" in " ".join(run.output.split())
        assert all_resources(aws, ENV) == before, "a refusal deletes nothing"

    def test_teardown_with_destroy_data_removes_the_pipeline_and_records_it(
        self, pipeline, aws, emulator_env, tmp_path
    ):
        before = all_resources(aws, ENV)
        assert before["lambda_function"] == [FUNCTION] and before["log_group"] == [LOG_GROUP]
        extra = {"env_name": ENV, "records_dir": str(tmp_path), "destroy_data": True}
        run = run_playbook("playbooks/teardown.yml", extra_vars=extra, env=emulator_env)
        assert run.rc == 0, run.explain()
        assert all_resources(aws, ENV) == {}
        record = only_record(tmp_path, ENV)
        done = [(r["type"], r["id"], r["result"]) for r in record["resources"]]
        pipeline_steps = [
            ("bucket_notification", INPUT, "deleted"),
            ("lambda_function", FUNCTION, "deleted"),
            ("log_group", LOG_GROUP, "deleted"),
            ("iam_role", FUNCTION, "deleted"),
            ("bucket", INPUT, "deleted"),
            ("bucket", OUTPUT, "deleted"),
        ]
        assert [d for d in done if d in pipeline_steps] == pipeline_steps, done
        out = next(r for r in record["resources"] if r["type"] == "bucket" and r["id"] == OUTPUT)
        assert [d["key"] for d in out["details"]["destroyed"]] == ["uploads/scan-processed.png"]
