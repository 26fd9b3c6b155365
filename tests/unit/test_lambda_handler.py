"""lambda/image_pipeline/handler.py against moto in-process, with both buckets versioned and SSE-KMS by default as
deployed; and examples/image-pipeline.ipynb, its code cells run in order as a kernel would, with a stand-in for the
input bucket's event notification that invokes the real handler: the notebook's upload-then-poll path and the handler
are tested together."""

from __future__ import annotations

import copy
import importlib.util
import json
import logging
import re
import struct
import threading
import urllib.parse
import zlib
from types import SimpleNamespace

import boto3
import pytest
from modules import REGION, REPO
from moto import mock_aws

INPUT = "researchenv-pipeline-input-123456789012"
OUTPUT = "researchenv-pipeline-output-123456789012"
NOTEBOOK = REPO / "examples" / "image-pipeline.ipynb"


def load_handler():
    """The handler by path: `lambda/` is no package (and `lambda` is a keyword)."""
    spec = importlib.util.spec_from_file_location("image_pipeline_handler", REPO / "lambda/image_pipeline/handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


h = load_handler()


@pytest.fixture
def env(aws_env, monkeypatch):
    """The environment's KMS key and both buckets, versioned and SSE-KMS by default; OUTPUT_BUCKET set as the
    function's configuration sets it; the handler's cached client dropped before and after."""
    monkeypatch.setenv("OUTPUT_BUCKET", OUTPUT)
    h.s3_client.cache_clear()
    with mock_aws():
        key = boto3.client("kms", region_name=REGION).create_key(Description="research env")["KeyMetadata"]["Arn"]
        s3 = boto3.client("s3", region_name=REGION)
        default = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}
        for bucket in (INPUT, OUTPUT):
            s3.create_bucket(Bucket=bucket)
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
            s3.put_bucket_encryption(
                Bucket=bucket,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": True}]
                },
            )
        yield SimpleNamespace(s3=s3, key=key)
    h.s3_client.cache_clear()


def record(key: str, bucket: str = INPUT, version: str | None = None, name: str = "ObjectCreated:Put", **extra):
    """One record as S3 sends it, the key URL-encoded as S3 encodes it (space as '+', '+' as '%2B')
    unless `raw=True`."""
    obj = {"key": key if extra.pop("raw", False) else urllib.parse.quote_plus(key, safe="/"), "size": 1}
    if version:
        obj["versionId"] = version
    return {
        "eventVersion": "2.1",
        "eventSource": extra.pop("source", "aws:s3"),
        "awsRegion": REGION,
        "eventName": name,
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"}, "object": obj},
    }


def event(*records) -> dict:
    return {"Records": list(records)}


def body(s3, bucket: str, key: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def keys(s3, bucket: str = OUTPUT) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


# ----------------------------------------------------------------------------------------------- the handler


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("uploads/scan 1.png", "uploads/scan 1-processed.png"),
        ("photo.jpeg", "photo-processed.png"),  # at the root it stays at the root
        ("a/b/c.tar.gz", "a/b/c.tar-processed.png"),
        ("uploads/no-extension", "uploads/no-extension-processed.png"),
    ],
)
def test_output_key_keeps_the_directory(key, expected):
    assert h.output_key(key) == expected


def test_one_upload_is_copied_encrypted_by_the_output_buckets_default(env):
    version = env.s3.put_object(Bucket=INPUT, Key="uploads/scan 1.png", Body=b"\x89PNG one", ContentType="image/png")[
        "VersionId"
    ]
    calls = []
    h.s3_client().meta.events.register(
        "provide-client-params.s3.CopyObject", lambda params, **_: calls.append(copy.deepcopy(params))
    )

    result = h.lambda_handler(event(record("uploads/scan 1.png", version=version)), None)

    assert result == {
        "processed": [
            {"source": f"s3://{INPUT}/uploads/scan 1.png", "output": f"s3://{OUTPUT}/uploads/scan 1-processed.png"}
        ],
        "skipped": [],
    }
    assert keys(env.s3) == ["uploads/scan 1-processed.png"]
    out = env.s3.get_object(Bucket=OUTPUT, Key="uploads/scan 1-processed.png")
    assert out["Body"].read() == b"\x89PNG one" and out["ContentType"] == "image/png"
    assert out["ServerSideEncryption"] == "aws:kms" and out["SSEKMSKeyId"] == env.key
    # One server-side copy of that exact version, no encryption of its own: the bucket's default applies.
    assert calls == [
        {
            "CopySource": {"Bucket": INPUT, "Key": "uploads/scan 1.png", "VersionId": version},
            "Bucket": OUTPUT,
            "Key": "uploads/scan 1-processed.png",
        }
    ]


def test_every_record_of_an_event_is_processed(env):
    uploads = {"a.png": b"a", "uploads/b.png": b"bb", "uploads/deep/c.jpg": b"ccc"}
    for key, data in uploads.items():
        env.s3.put_object(Bucket=INPUT, Key=key, Body=data)

    result = h.lambda_handler(event(*(record(key) for key in uploads)), None)

    assert [p["output"] for p in result["processed"]] == [
        f"s3://{OUTPUT}/a-processed.png",
        f"s3://{OUTPUT}/uploads/b-processed.png",
        f"s3://{OUTPUT}/uploads/deep/c-processed.png",
    ]
    for key, data in uploads.items():
        assert body(env.s3, OUTPUT, h.output_key(key)) == data


def test_url_encoded_keys_are_decoded(env):
    assert record("uploads/my scan (1).png")["s3"]["object"]["key"] == "uploads/my+scan+%281%29.png"  # as S3 does
    env.s3.put_object(Bucket=INPUT, Key="uploads/my scan (1).png", Body=b"spaces")
    env.s3.put_object(Bucket=INPUT, Key="uploads/a+b.png", Body=b"plus")

    h.lambda_handler(
        event(record("uploads/my+scan+%281%29.png", raw=True), record("uploads/a%2Bb.png", raw=True)), None
    )

    assert sorted(keys(env.s3)) == ["uploads/a+b-processed.png", "uploads/my scan (1)-processed.png"]
    assert body(env.s3, OUTPUT, "uploads/my scan (1)-processed.png") == b"spaces"
    assert body(env.s3, OUTPUT, "uploads/a+b-processed.png") == b"plus"


def test_the_uploaded_version_is_the_one_processed(env):
    first = env.s3.put_object(Bucket=INPUT, Key="uploads/x.png", Body=b"first")["VersionId"]
    env.s3.put_object(Bucket=INPUT, Key="uploads/x.png", Body=b"second")

    h.lambda_handler(event(record("uploads/x.png", version=first)), None)
    assert body(env.s3, OUTPUT, "uploads/x-processed.png") == b"first"

    h.lambda_handler(event(record("uploads/x.png")), None)  # no versionId (an unversioned bucket): the latest
    assert body(env.s3, OUTPUT, "uploads/x-processed.png") == b"second"


def test_its_own_output_and_other_events_are_skipped(env, caplog):
    caplog.set_level(logging.INFO, logger="image_pipeline")
    # Every skipped object exists, so a handler that did not skip it would copy it.
    for bucket, key in [
        (INPUT, "uploads/x-processed.png"),
        (OUTPUT, "uploads/y.png"),
        (INPUT, "uploads/z.png"),
        (INPUT, "dir/"),
    ]:
        env.s3.put_object(Bucket=bucket, Key=key, Body=b"data")
    env.s3.put_object(Bucket=INPUT, Key="uploads/good.png", Body=b"good")

    result = h.lambda_handler(
        event(
            record("uploads/x-processed.png"),
            record("uploads/y.png", bucket=OUTPUT),
            record("uploads/z.png", name="ObjectRemoved:Delete"),
            record("uploads/z.png", source="aws:sqs"),
            record("dir/"),
            record("uploads/good.png"),
        ),
        None,
    )

    assert [p["source"] for p in result["processed"]] == [f"s3://{INPUT}/uploads/good.png"]
    assert result["skipped"] == [
        {"key": "uploads/x-processed.png", "why": "already ends with -processed.png"},
        {"key": "uploads/y.png", "why": "in the output bucket"},
        {"key": "uploads/z.png", "why": "not an upload (ObjectRemoved:Delete)"},
        {"key": "uploads/z.png", "why": "not an S3 record (aws:sqs)"},
        {"key": "dir/", "why": "a folder placeholder"},
    ]
    assert sorted(keys(env.s3)) == ["uploads/good-processed.png", "uploads/y.png"]
    assert sum("Skipped" in r.getMessage() for r in caplog.records) == 5
    # S3's test event, sent when the notification is configured, has no records.
    assert h.lambda_handler({"Service": "Amazon S3", "Event": "s3:TestEvent"}, None) == {"processed": [], "skipped": []}


def test_a_missing_object_fails_the_invocation_after_the_others_are_done(env, caplog):
    env.s3.put_object(Bucket=INPUT, Key="uploads/a.png", Body=b"a")
    env.s3.put_object(Bucket=INPUT, Key="uploads/b.png", Body=b"b")

    with pytest.raises(h.PipelineError, match="1 record") as raised:
        h.lambda_handler(event(record("uploads/a.png"), record("uploads/gone now.png"), record("uploads/b.png")), None)

    assert "uploads/gone now.png" in str(raised.value) and "uploads/a.png" not in str(raised.value)
    assert sorted(keys(env.s3)) == ["uploads/a-processed.png", "uploads/b-processed.png"]
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert f"s3://{INPUT}/uploads/gone now.png" in error.getMessage()
    assert error.exc_info and "NoSuchKey" in str(error.exc_info[1])


@pytest.mark.parametrize("value", [None, ""])
def test_without_output_bucket_it_says_so(env, monkeypatch, value):
    env.s3.put_object(Bucket=INPUT, Key="uploads/a.png", Body=b"a")
    if value is None:
        monkeypatch.delenv("OUTPUT_BUCKET")
    else:
        monkeypatch.setenv("OUTPUT_BUCKET", value)
    with pytest.raises(h.PipelineError, match="OUTPUT_BUCKET is not set"):
        h.lambda_handler(event(record("uploads/a.png")), None)
    assert keys(env.s3) == []


# ----------------------------------------------------------------------------------------------- the notebook


def load_notebook() -> dict:
    return json.loads(NOTEBOOK.read_text())


def run_notebook(**constants) -> dict:
    """The code cells executed in order in one namespace, as a kernel runs them; each of `constants` replaces the
    line that assigns that name (which must be there exactly once)."""
    cells = ["".join(c["source"]) for c in load_notebook()["cells"] if c["cell_type"] == "code"]
    for name, value in constants.items():
        line = re.compile(rf"^{name} = .*$", re.MULTILINE)
        assert sum(len(line.findall(c)) for c in cells) == 1, name
        cells = [line.sub(f"{name} = {value!r}", c) for c in cells]
    namespace = {"__name__": "__main__"}
    for n, source in enumerate(cells):
        exec(compile(source, f"{NOTEBOOK.name}, code cell {n}", "exec"), namespace)  # noqa: S102 - the notebook's own code
    return namespace


class S3Notification:
    """Stands in for the input bucket's event notification to the function: after a PutObject into the input bucket
    succeeds, the real handler is invoked with the record S3 would send, in a thread (Lambda's invocation is
    asynchronous), once the notebook has polled the output bucket at least once (so its "not there yet" path runs)."""

    def __init__(self, session):
        self.polled = threading.Event()
        self.threads: list[threading.Thread] = []
        self.results: list = []
        session.events.register("before-parameter-build.s3.PutObject", self.remember)
        session.events.register("after-call.s3.PutObject", self.notify)
        session.events.register("after-call.s3.GetObject", lambda **_: self.polled.set())

    def remember(self, params, context, **_):
        context["upload"] = (params["Bucket"], params["Key"])

    def notify(self, http_response, parsed, context, **_):
        bucket, key = context["upload"]
        if http_response.status_code == 200 and bucket == INPUT:
            thread = threading.Thread(target=self.invoke, args=(event(record(key, version=parsed.get("VersionId"))),))
            thread.start()
            self.threads.append(thread)

    def invoke(self, payload):
        self.polled.wait(10)
        try:
            self.results.append(h.lambda_handler(payload, None))
        except Exception as error:
            self.results.append(error)

    def join(self) -> list:
        for thread in self.threads:
            thread.join(10)
        return self.results


@pytest.fixture
def jupyter(env, monkeypatch):
    """The Jupyter server's environment: the bucket names set, boto3's default session a fresh one (the notebook's
    client and the handler's come from it)."""
    monkeypatch.setenv("RESEARCH_ENV_PIPELINE_INPUT_BUCKET", INPUT)
    monkeypatch.setenv("RESEARCH_ENV_PIPELINE_OUTPUT_BUCKET", OUTPUT)
    monkeypatch.delenv("RESEARCH_ENV_PIPELINE_FUNCTION", raising=False)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", boto3.Session())
    return env


def test_the_notebook_is_nbformat_4_without_outputs():
    nb = load_notebook()
    assert nb["nbformat"] == 4 and isinstance(nb["nbformat_minor"], int)
    assert nb["metadata"]["kernelspec"]["name"] == "python3" and nb["metadata"]["kernelspec"]["language"] == "python"
    assert {c["cell_type"] for c in nb["cells"]} == {"markdown", "code"}
    assert len({c["id"] for c in nb["cells"]}) == len(nb["cells"])  # ids unique (nbformat >= 4.5)
    for cell in nb["cells"]:
        assert isinstance(cell["source"], list) and all(isinstance(line, str) for line in cell["source"])
        assert isinstance(cell["metadata"], dict)
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
    text = NOTEBOOK.read_text()
    assert "TIMEOUT_SECONDS = 60" in text
    assert "aws_access_key_id" not in text.lower() and "aws_secret_access_key" not in text.lower()


def test_the_notebook_round_trip_through_the_handler(jupyter, capsys):
    notification = S3Notification(boto3.DEFAULT_SESSION)
    h.s3_client()  # made here, not in the thread

    ns = run_notebook(TIMEOUT_SECONDS=5, POLL_SECONDS=0.01)  # 5 s: a broken pipeline fails the test soon

    [result] = notification.join()
    name, image = ns["name"], ns["image"]
    assert result == {
        "processed": [
            {"source": f"s3://{INPUT}/uploads/{name}.png", "output": f"s3://{OUTPUT}/uploads/{name}-processed.png"}
        ],
        "skipped": [],
    }
    assert ns["processed"] == image and body(jupyter.s3, OUTPUT, f"uploads/{name}-processed.png") == image
    assert ns["result"]["ServerSideEncryption"] == "aws:kms"
    out = capsys.readouterr().out
    assert f"processed: s3://{OUTPUT}/uploads/{name}-processed.png" in out and "identical to the upload" in out
    # The upload is a real 200x100 8-bit RGB PNG.
    assert image[:8] == b"\x89PNG\r\n\x1a\n" and image[12:16] == b"IHDR"
    assert struct.unpack(">IIBB", image[16:26]) == (200, 100, 8, 2)
    idat = image.index(b"IDAT")
    (length,) = struct.unpack(">I", image[idat - 4 : idat])
    assert len(zlib.decompress(image[idat + 4 : idat + 4 + length])) == 100 * (1 + 200 * 3)


@pytest.mark.parametrize(("function", "log_group"), [(None, "researchenv-image-pipeline"), ("rx-fn", "rx-fn")])
def test_the_notebook_times_out_naming_the_log_group(jupyter, monkeypatch, function, log_group):
    if function:
        monkeypatch.setenv("RESEARCH_ENV_PIPELINE_FUNCTION", function)
    with pytest.raises(TimeoutError, match=f"did not appear within 0.2 s.*log group /aws/lambda/{log_group}$"):
        run_notebook(TIMEOUT_SECONDS=0.2, POLL_SECONDS=0.01)
    assert len(keys(jupyter.s3, INPUT)) == 1 and keys(jupyter.s3) == []  # uploaded, and nothing processed it


def test_the_notebook_without_the_bucket_names_says_so(jupyter, monkeypatch):
    monkeypatch.delenv("RESEARCH_ENV_PIPELINE_OUTPUT_BUCKET")
    with pytest.raises(RuntimeError, match="RESEARCH_ENV_PIPELINE_OUTPUT_BUCKET must both be set"):
        run_notebook()
    assert keys(jupyter.s3, INPUT) == []
