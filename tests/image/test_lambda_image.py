"""Lambda functions run for real in the emulator: moto server (scripts/emulator.py) starts each invocation in
the locally built stand-in of AWS's Python 3.13 runtime (scripts/lambda-image.sh), and the function calls back
into the emulator with boto3, as an S3-triggered pipeline does on AWS.

The emulator listens on the docker0 bridge address, which the function's container reaches as
host.docker.internal. moto creates and removes a code volume and the containers itself; none may be left.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from emulator import DUMMY_ENV

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parent.parent.parent
REGION = "us-east-1"
RUN = uuid.uuid4().hex[:8]

HANDLERS = '''
import json
import logging
import os

import boto3

logger = logging.getLogger()
logger.setLevel(logging.INFO)
s3 = boto3.client("s3")


def copy(event, context):
    """Read an object, write it back upper-cased under out/: proves the emulator is reached from the container."""
    body = s3.get_object(Bucket=event["bucket"], Key=event["key"])["Body"].read()
    s3.put_object(Bucket=event["bucket"], Key="out/" + event["key"], Body=body.upper())
    logger.info("copied %s", event["key"])
    return {
        "copied": event["key"],
        "size": len(body),
        "function": context.function_name,
        "request_id": context.aws_request_id,
        "time_left": context.get_remaining_time_in_millis() > 0,
        "endpoint": os.environ["AWS_ENDPOINT_URL"],
    }


def fail(event, context):
    raise RuntimeError("cannot process " + event["key"])


def on_upload(event, context):
    """The S3 notification's records, each noted in the output bucket under its key as it arrived."""
    for record in event["Records"]:
        s3.put_object(Bucket=os.environ["OUTPUT_BUCKET"], Key="seen/" + record["s3"]["object"]["key"], Body=b"")
    return len(event["Records"])
'''


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=120)


def docker0_address() -> str | None:
    shown = subprocess.run(["ip", "-4", "-o", "addr", "show", "docker0"], capture_output=True, text=True, check=False)
    fields = shown.stdout.split()
    return fields[fields.index("inet") + 1].split("/")[0] if "inet" in fields else None


def leftovers() -> tuple[set[str], set[str]]:
    return set(docker("ps", "-aq").stdout.split()), set(docker("volume", "ls", "-q").stdout.split())


@pytest.fixture(scope="module")
def engine() -> Iterator[str]:
    """The Docker engine, the images (built once by scripts/lambda-image.sh) and the bridge address."""
    if shutil.which("docker") is None or docker("info", check=False).returncode != 0:
        pytest.skip("no Docker engine answers (scripts/docker-engine.sh starts one)")
    address = docker0_address()
    if address is None:
        pytest.skip("no docker0 bridge address: the emulator must listen where containers reach it")
    subprocess.run([str(REPO / "scripts" / "lambda-image.sh")], check=True, capture_output=True, timeout=900)
    before = leftovers()
    yield address
    assert leftovers() == before, "moto left containers or volumes behind"


@pytest.fixture(scope="module")
def aws(engine, tmp_path_factory) -> Iterator[dict]:
    state = tmp_path_factory.mktemp("emulator")
    command = [sys.executable, str(REPO / "scripts" / "emulator.py")]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    url = subprocess.run(
        [*command, "start", "--host", engine, "--state-dir", str(state), "--wait", "60"],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
        env=env,
    ).stdout.strip()
    try:
        session = boto3.session.Session(
            aws_access_key_id=DUMMY_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_ENV["AWS_SECRET_ACCESS_KEY"],
            region_name=REGION,
        )
        clients = {name: session.client(name, endpoint_url=url) for name in ("iam", "lambda", "logs", "s3")}
        clients["url"] = url
        yield clients
    finally:
        subprocess.run([*command, "stop", "--state-dir", str(state)], capture_output=True, timeout=60, check=True)


def code_zip() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("pipeline.py", HANDLERS)
    return archive.getvalue()


@pytest.fixture(scope="module")
def functions(aws) -> dict[str, str]:
    """One function per handler, created as a deployment would (a role, a zip, python3.13)."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = aws["iam"].create_role(RoleName=f"lambda-{RUN}", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    names = {}
    for handler in ("copy", "fail", "on_upload"):
        name = f"research-env-{RUN}-{handler.replace('_', '-')}"
        aws["lambda"].create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=role,
            Handler=f"pipeline.{handler}",
            Code={"ZipFile": code_zip()},
            Timeout=30,
            Environment={"Variables": {"OUTPUT_BUCKET": f"output-{RUN}"}},
        )
        names[handler] = name
    return names


def invoke(aws, name: str, event: dict) -> tuple[dict, object]:
    answer = aws["lambda"].invoke(FunctionName=name, Payload=json.dumps(event).encode())
    return answer, json.loads(answer["Payload"].read())


def log_lines(aws, name: str) -> list[str]:
    events = aws["logs"].filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    return [event["message"] for event in events]


def test_a_function_reads_and_writes_s3_in_the_emulator(aws, functions):
    bucket = f"input-{RUN}"
    aws["s3"].create_bucket(Bucket=bucket)
    aws["s3"].put_object(Bucket=bucket, Key="cells.csv", Body=b"a,b\n")
    answer, payload = invoke(aws, functions["copy"], {"bucket": bucket, "key": "cells.csv"})
    assert "FunctionError" not in answer, payload
    assert payload["copied"] == "cells.csv" and payload["size"] == 4
    assert payload["function"] == functions["copy"] and payload["time_left"]
    assert payload["endpoint"] == f"http://host.docker.internal:{aws['url'].rsplit(':', 1)[1]}"
    assert aws["s3"].get_object(Bucket=bucket, Key="out/cells.csv")["Body"].read() == b"A,B\n"
    lines = log_lines(aws, functions["copy"])
    assert any(line.startswith("START RequestId: " + payload["request_id"]) for line in lines), lines
    assert any(line.startswith("[INFO]") and line.endswith("copied cells.csv") for line in lines), lines
    assert any(line.startswith("REPORT RequestId: ") for line in lines), lines


def test_a_raising_function_is_a_function_error_with_its_traceback_logged(aws, functions):
    answer, payload = invoke(aws, functions["fail"], {"key": "broken.csv"})
    assert answer["FunctionError"]
    assert payload["errorType"] == "RuntimeError"
    assert payload["errorMessage"] == "cannot process broken.csv"
    assert any('"/var/task/pipeline.py"' in frame for frame in payload["stackTrace"]), payload
    logged = "\n".join(log_lines(aws, functions["fail"]))
    assert "Traceback (most recent call last):" in logged
    assert "[ERROR] RuntimeError: cannot process broken.csv" in logged


def test_an_upload_runs_the_notified_function_with_the_key_as_aws_encodes_it(aws, functions):
    bucket, output = f"uploads-{RUN}", f"output-{RUN}"
    for name in (bucket, output):
        aws["s3"].create_bucket(Bucket=name)
    arn = aws["lambda"].get_function(FunctionName=functions["on_upload"])["Configuration"]["FunctionArn"]
    aws["s3"].put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {
                    "Id": "uploads",
                    "LambdaFunctionArn": arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {
                        "Key": {
                            "FilterRules": [{"Name": "prefix", "Value": "dir/"}, {"Name": "suffix", "Value": ".png"}]
                        }
                    },
                }
            ]
        },
    )
    for key in ("dir/my photo.png", "dir/notes.txt", "other/cell.png"):
        aws["s3"].put_object(Bucket=bucket, Key=key, Body=b"x")
    # The notification runs the function inside PutObject: what it wrote is there when PutObject answers.
    seen = aws["s3"].list_objects_v2(Bucket=output, Prefix="seen/").get("Contents", [])
    assert [obj["Key"] for obj in seen] == ["seen/dir/my+photo.png"]
