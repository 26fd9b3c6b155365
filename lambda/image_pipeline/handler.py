"""The image pipeline's Lambda function (entry point `handler.lambda_handler`): every image uploaded to the input
bucket is written to the output bucket as `<stem>-processed.png`, in the same "directory" as the upload.

Event contract: an S3 event notification (`{"Records": [...]}`), each record with `eventSource` "aws:s3",
`eventName` "ObjectCreated:*", `s3.bucket.name`, `s3.object.key` (URL-encoded, as S3 sends it) and, on a versioned
bucket, `s3.object.versionId`. Other records are skipped, and so is an event without records (S3's s3:TestEvent).
The output bucket is named by the environment variable OUTPUT_BUCKET.

- Output key: the input key's directory is kept, `uploads/scan 1.png` -> `uploads/scan 1-processed.png` (the
  seed's handler put every output at the bucket's root, so two uploads with one name overwrote each other).
- "Processing" is a server-side CopyObject of exactly the version that was uploaded (the record's versionId): no
  download to /tmp, no size limit but CopyObject's 5 GB, and the bytes are unchanged (the runtime has no imaging
  library; the seed copied the bytes too). Encryption is the output bucket's default (SSE-KMS): none is set here.
- It never triggers itself: records from the output bucket and keys already ending in `-processed.png` are skipped
  (logged, and listed in the result with the reason), as are folder placeholders (keys ending in "/").
- A failing record is logged with its bucket and key; the others are still processed, then one exception names the
  failed keys, so Lambda reports the invocation as failed and retries it (a retry copies the good ones again: the
  same bytes, a new version in the versioned output bucket).
"""

from __future__ import annotations

import functools
import logging
import os
import posixpath
import urllib.parse
from typing import Any

import boto3

SUFFIX = "-processed.png"

logger = logging.getLogger("image_pipeline")
logger.setLevel(logging.INFO)


class PipelineError(Exception):
    """One or more records could not be processed (each is logged with its traceback)."""


@functools.cache
def s3_client() -> Any:
    """Made on first use, not at import: tests start their S3 emulator first (and reset this with cache_clear)."""
    return boto3.client("s3")


def output_key(key: str) -> str:
    """`uploads/scan 1.png` -> `uploads/scan 1-processed.png`: same directory, the stem with the suffix."""
    directory, name = posixpath.split(key)
    return posixpath.join(directory, posixpath.splitext(name)[0] + SUFFIX)


def skip_reason(record: dict, key: str, output_bucket: str) -> str | None:
    """Why a record is not processed, or None when it is."""
    if record.get("eventSource") != "aws:s3":
        return f"not an S3 record ({record.get('eventSource')})"
    if not record.get("eventName", "").startswith("ObjectCreated:"):
        return f"not an upload ({record.get('eventName')})"
    if record["s3"]["bucket"]["name"] == output_bucket:
        return "in the output bucket"
    if key.endswith(SUFFIX):
        return f"already ends with {SUFFIX}"
    if key.endswith("/"):
        return "a folder placeholder"
    return None


def lambda_handler(event: dict, context: Any) -> dict:
    """Returns {"processed": [{"source", "output"}], "skipped": [{"key", "why"}]} (s3:// URIs), shown in the log."""
    output_bucket = os.environ.get("OUTPUT_BUCKET")
    if not output_bucket:
        raise PipelineError("OUTPUT_BUCKET is not set: the function's environment must name the output bucket")
    processed: list[dict] = []
    skipped: list[dict] = []
    failed: list[str] = []
    for record in event.get("Records", []):
        obj = record.get("s3", {}).get("object", {})
        key = urllib.parse.unquote_plus(obj.get("key", ""))
        reason = skip_reason(record, key, output_bucket)
        if reason:
            logger.info("Skipped %s: %s", key, reason)
            skipped.append({"key": key, "why": reason})
            continue
        bucket, version, target = record["s3"]["bucket"]["name"], obj.get("versionId"), output_key(key)
        source = {"Bucket": bucket, "Key": key, **({"VersionId": version} if version else {})}
        try:
            s3_client().copy_object(CopySource=source, Bucket=output_bucket, Key=target)
        except Exception:
            logger.exception("Could not process s3://%s/%s (version %s)", bucket, key, version)
            failed.append(key)
            continue
        logger.info("Copied s3://%s/%s (version %s) to s3://%s/%s", bucket, key, version, output_bucket, target)
        processed.append({"source": f"s3://{bucket}/{key}", "output": f"s3://{output_bucket}/{target}"})
    if failed:
        raise PipelineError(f"{len(failed)} record(s) failed (see the log above): {', '.join(failed)}")
    return {"processed": processed, "skipped": skipped}
