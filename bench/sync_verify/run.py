#!/usr/bin/env python3
"""Benchmark: checking a pushed notebook tree against its SSE-KMS bucket prefix, how long it takes and whether it
is right, tool by tool.

The bucket is the notebooks bucket's kind: versioned, SSE-KMS by default with a customer managed key and a bucket
key, in the AWS emulator (moto server on 127.0.0.1, with research-env's fidelity fixes: single-part SSE-KMS objects
get ETags that are not MD5 digests, as on AWS). The tree (10 000 small notebooks by default) is pushed with the
s3_sync_cron role's push program (roles/s3_sync_cron/files/s3_push.py); then a share of it (90 % by default) is
saved again with the same content (Jupyter's autosave) and the next cron cycle pushes again (reading those files,
sending nothing); then --edits notebooks are edited in place, same size, with their mtime put back to the
nanosecond (an edit in the same second as a push, `cp -p`, a restore): what a check must catch and
`aws s3 sync` cannot. Then, each a fresh process, run in turns, median of --repeat runs:

  list-only        a bare boto3 ListObjectsV2 paginator over the prefix (the floor for any list-based check)
  module+manifest  research_env.core's s3_sync_verify.py with the push job's manifest, executed the way Ansible
                   executes it on the host (the module file with an arguments file, under the same Python)
  module           the same module without the manifest (compare_etag auto: sizes only on an SSE-KMS bucket)
  aws-cli          `aws s3 sync TREE s3://BUCKET/PREFIX --dryrun` (awscli v1: pinned like the role pins it, in
                   its own venv under .state/, or the one --awscli names)

Prints per tool: wall time, ratio to list-only, false drift (identical files reported) and edits caught.

    .venv/bin/python bench/sync_verify/run.py [--files 10000] [--resaved 0.9] [--edits 100] [--repeat 3]
                                              [--awscli PATH] [--strict]

--strict exits 1 when module+manifest reports false drift, misses an edit or takes more than 1.2x list-only.
Not a timed test: the figures depend on the machine and on the emulator's speed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import boto3
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
from emulator import DUMMY_ENV  # noqa: E402 - the emulator's dummy credentials, never real ones

STATE = REPO / ".state" / "bench-sync-verify"
AWSCLI_VENV = REPO / ".state" / "bench-awscli"
COLLECTIONS = REPO / "collections"
MODULE = COLLECTIONS / "ansible_collections" / "research_env" / "core" / "plugins" / "modules" / "s3_sync_verify.py"
PUSH = REPO / "roles" / "s3_sync_cron" / "files" / "s3_push.py"
MANIFEST = STATE / "manifest.json"
BUCKET = "bench-notebooks"
PREFIX = "notebooks/"

LIST_ONLY = """
import sys, boto3
client = boto3.client("s3")
pages = client.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[1], Prefix=sys.argv[2])
print(sum(len(page.get("Contents", [])) for page in pages))
"""


def awscli_version() -> str:
    """The version the s3_sync_cron role installs on the hosts, so the bench measures the same tool."""
    defaults = yaml.safe_load((REPO / "roles" / "s3_sync_cron" / "defaults" / "main.yml").read_text())
    return str(defaults["s3_sync_cron_awscli_version"])


def ensure_awscli() -> Path:
    version = awscli_version()
    aws = AWSCLI_VENV / "bin" / "aws"
    marker = AWSCLI_VENV / f".awscli-{version}"
    if not marker.exists():
        print(f"bench: installing awscli=={version} into {AWSCLI_VENV} (once)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(AWSCLI_VENV)], check=True)
        pip = [str(AWSCLI_VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, f"awscli=={version}"], check=True)
        marker.touch()
    return aws


def notebook(n: int, rng: random.Random) -> bytes:
    """A small, plausible notebook (1-4 KB), different for every n."""
    lines = [f"values_{n} = [{', '.join(str(rng.randint(0, 10**6)) for _ in range(rng.randint(10, 60)))}]"]
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": [f"# Analysis {n}\n", "Notes on the data set.\n"]},
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [], "source": lines},
        {"cell_type": "code", "metadata": {}, "execution_count": 2, "outputs": [], "source": [f"sum(values_{n})"]},
    ]
    doc = {"cells": cells, "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(doc, indent=1).encode()


def s3_client(env: dict, service: str = "s3"):
    return boto3.client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def make_bucket(env: dict) -> None:
    """The notebooks bucket's settings (playbooks/tasks/data_bucket.yml): versioned, SSE-KMS, bucket key."""
    client = s3_client(env)
    key = s3_client(env, "kms").create_key(Description="bench")["KeyMetadata"]["Arn"]
    client.create_bucket(Bucket=BUCKET)
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}
    client.put_bucket_encryption(
        Bucket=BUCKET, ServerSideEncryptionConfiguration={"Rules": [{**rule, "BucketKeyEnabled": True}]}
    )


def push(tree: Path, env: dict) -> str:
    """One cycle of the push job, as cron runs it (minus the lock and the log)."""
    argv = [sys.executable, str(PUSH), str(tree), f"s3://{BUCKET}/{PREFIX}", "--manifest", str(MANIFEST)]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"bench: the push failed ({proc.returncode}): {proc.stderr}")
    return proc.stdout


def build(files: int, resaved: float, edits: int, seed: int, env: dict) -> tuple[Path, int, set[str]]:
    tree = STATE / "tree"
    shutil.rmtree(tree, ignore_errors=True)
    MANIFEST.unlink(missing_ok=True)
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    make_bucket(env)
    items = []
    for n in range(files):
        rel = f"project{n % 25:02d}/week{(n // 25) % 40:02d}/analysis-{n:05d}.ipynb"
        data = notebook(n, rng)
        path = tree / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        items.append((rel, data))
    time.sleep(2.1)  # past the push's racy window: the files are not being written any more
    started = time.monotonic()
    uploads = push(tree, env).count("upload: ")
    print(f"bench: {files} notebooks written and pushed ({uploads} uploads) in {time.monotonic() - started:.0f}s")
    # Saved again, unchanged, after the push (newer mtime and ctime, same bytes); the next cycle reads them and
    # sends nothing.
    touched = rng.sample(range(files), round(files * resaved))
    for index in touched:
        (tree / items[index][0]).write_bytes(items[index][1])
    time.sleep(2.1)
    started = time.monotonic()
    uploads = push(tree, env).count("upload: ")
    took = time.monotonic() - started
    print(f"bench: {len(touched)} saved again unchanged; the next push sent {uploads} in {took:.0f}s")
    # Same-size edits with the mtime put back to the nanosecond, not pushed yet.
    # Picked among the files not saved again, whose mtime is older than their object's LastModified: the edit
    # aws s3 sync never sees (an edit during or in the same second as the upload has the same effect).
    untouched = sorted(set(range(files)) - set(touched)) or list(range(files))
    edited = set()
    for index in rng.sample(untouched, min(edits, len(untouched))):
        rel, data = items[index]
        path = tree / rel
        before = path.stat()
        changed = data.replace(b"Notes on the data set.", b"Notes on the data SET.")
        assert len(changed) == len(data) and changed != data
        path.write_bytes(changed)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        edited.add(rel)
    return tree, len(touched), edited


def timed(argv: list[str], env: dict) -> tuple[float, str]:
    started = time.monotonic()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv[:3])} ... failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return elapsed, proc.stdout


def module_args_file(tree: Path, name: str, **extra: object) -> Path:
    args = {"bucket": BUCKET, "prefix": PREFIX, "path": str(tree), "direction": "push", "max_reported": 1_000_000}
    path = STATE / f"{name}-args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {**args, **extra}}))
    return path


def reported(tool: str, output: str) -> set[str] | None:
    """Relative paths the tool reports as different (to upload); None for the list-only pass."""
    if tool == "list-only":
        return None
    if tool == "aws-cli":
        found = set()
        for line in output.splitlines():
            if line.startswith("(dryrun) upload: "):
                found.add(line.split(f" to s3://{BUCKET}/{PREFIX}", 1)[1])
        return found
    result = json.loads(output)
    if "counts" not in result:
        raise SystemExit(f"bench: the module failed: {result.get('msg')}")
    if result["truncated"]:
        raise SystemExit("bench: the module's lists were truncated")
    return {rel for kind in ("only_local", "size_differs", "etag_differs") for rel in result[kind]}


def aws_version(aws: Path) -> str:
    proc = subprocess.run([str(aws), "--version"], capture_output=True, text=True, check=False)
    return (proc.stdout or proc.stderr).split()[0].partition("/")[2] or "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--resaved", type=float, default=0.9, help="share of notebooks saved again unchanged")
    parser.add_argument("--edits", type=int, default=None, help="same-size edits, mtime kept (default: 1 %%)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--awscli", type=Path, help="an installed aws (v1) to use instead of installing the pinned one")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the module+manifest misses its targets")
    args = parser.parse_args()
    edits = max(1, args.files // 100) if args.edits is None else args.edits

    aws = args.awscli or ensure_awscli()
    STATE.mkdir(parents=True, exist_ok=True)
    emulator = [sys.executable, str(REPO / "scripts" / "emulator.py")]
    emulator_state = ["--state-dir", str(STATE / "emulator")]
    subprocess.run([*emulator, "stop", *emulator_state], check=True, capture_output=True)
    url = subprocess.run(
        [*emulator, "start", "--host", "127.0.0.1", *emulator_state], check=True, capture_output=True, text=True
    ).stdout.strip()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=url,
        **DUMMY_ENV,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    )
    try:
        tree, touched, edited = build(args.files, args.resaved, edits, args.seed, env)
        commands = {
            "list-only": [sys.executable, "-c", LIST_ONLY, BUCKET, PREFIX],
            "module+manifest": [
                sys.executable,
                str(MODULE),
                str(module_args_file(tree, "exact", manifest=str(MANIFEST))),
            ],
            "module": [sys.executable, str(MODULE), str(module_args_file(tree, "plain"))],
            "aws-cli": [str(aws), "s3", "sync", str(tree), f"s3://{BUCKET}/{PREFIX}", "--dryrun", "--no-progress"],
        }
        times: dict[str, list[float]] = {tool: [] for tool in commands}
        found: dict[str, set[str] | None] = {}
        for _ in range(args.repeat):
            for tool, argv in commands.items():
                elapsed, output = timed(argv, env)
                times[tool].append(elapsed)
                found[tool] = reported(tool, output)
    finally:
        subprocess.run([*emulator, "stop", *emulator_state], check=False, capture_output=True)
        shutil.rmtree(STATE / "tree", ignore_errors=True)
        MANIFEST.unlink(missing_ok=True)

    floor = statistics.median(times["list-only"])
    print(
        f"\n{args.files} notebooks on a versioned SSE-KMS bucket (bucket key), pushed by s3_push.py; {touched} saved "
        f"again unchanged and pushed again; {len(edited)} then edited in place, same size, mtime put back. Median of "
        f"{args.repeat} runs, each a fresh process, against moto server on 127.0.0.1.\n"
    )
    print(f"{'tool':<46} {'wall s':>7} {'x list':>7} {'false drift':>12} {'edits caught':>13}")
    labels = {
        "list-only": "list-only pass (boto3 paginator)",
        "module+manifest": "s3_sync_verify manifest= (as Ansible runs it)",
        "module": "s3_sync_verify, no manifest (compare_etag auto)",
        "aws-cli": f"aws s3 sync --dryrun (awscli {aws_version(aws)})",
    }
    for tool, label in labels.items():
        median = statistics.median(times[tool])
        got = found[tool]
        false = "-" if got is None else str(len(got - edited))
        caught = "-" if got is None else f"{len(got & edited)}/{len(edited)}"
        print(f"{label:<46} {median:>7.2f} {median / floor:>7.2f} {false:>12} {caught:>13}")
    exact = found["module+manifest"] or set()
    ratio = statistics.median(times["module+manifest"]) / floor
    ok = exact == edited and ratio <= 1.2
    print(
        f"\nmodule+manifest: {len(exact - edited)} false drift (target 0), {len(exact & edited)}/{len(edited)} edits "
        f"caught (target all), {ratio:.2f}x the list-only pass (target <= 1.2): {'met' if ok else 'NOT met'}"
    )
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
