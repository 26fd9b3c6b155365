#!/usr/bin/env python3
"""Benchmark: how long checking a notebook tree against its bucket prefix takes, and what each tool reports.

A local tree of small notebooks (10 000 by default) and the same objects in a bucket of the AWS emulator
(moto server on 127.0.0.1). Then a share of the notebooks (90 % by default) is saved again with the same
content after the push, as Jupyter's autosave or a restore does: their mtimes become newer than their
objects' LastModified while their content stays identical. Three ways to look at the difference, each a
fresh process, run in turns, median of --repeat runs:

  list-only   a bare boto3 ListObjectsV2 paginator over the prefix (the floor for any list-based check)
  module      research_env.core's s3_sync_verify.py (in collections/), executed the way Ansible executes it on
              the host (the module file with an arguments file, under the same Python)
  aws-cli     `aws s3 sync TREE s3://BUCKET/PREFIX --dryrun` (awscli v1 from PyPI, pinned like the
              s3_sync_cron role pins it, in its own venv under .state/; it vendors its own botocore)

and, for information, the module through `ansible localhost -m s3_sync_verify` (Ansible's own start-up
included). Prints wall times, ratios to list-only, and how many differences each reports. The trees are
identical in content, so the right number of differences is 0.

    .venv/bin/python bench/sync_verify/run.py [--files 10000] [--resaved 0.9] [--repeat 3] [--strict]

--strict exits 1 when the module reports a difference or takes more than 1.2x the list-only pass.
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
from concurrent.futures import ThreadPoolExecutor
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


def build(files: int, resaved: float, seed: int, env: dict) -> tuple[Path, int]:
    tree = STATE / "tree"
    shutil.rmtree(tree, ignore_errors=True)
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    client = boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    client.create_bucket(Bucket=BUCKET)
    items = []
    for n in range(files):
        rel = f"project{n % 25:02d}/week{(n // 25) % 40:02d}/analysis-{n:05d}.ipynb"
        data = notebook(n, rng)
        path = tree / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        items.append((rel, data))
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda item: client.put_object(Bucket=BUCKET, Key=PREFIX + item[0], Body=item[1]), items))
    print(f"bench: {files} notebooks written and pushed in {time.monotonic() - started:.0f}s", flush=True)
    # Saved again, unchanged, after the push: newer mtime, same bytes.
    later = time.time() + 60
    touched = rng.sample(range(files), round(files * resaved))
    for index in touched:
        os.utime(tree / items[index][0], (later, later))
    return tree, len(touched)


def timed(argv: list[str], env: dict) -> tuple[float, str]:
    started = time.monotonic()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv[:3])} ... failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return elapsed, proc.stdout


def module_args_file(tree: Path) -> Path:
    args = {"bucket": BUCKET, "prefix": PREFIX, "path": str(tree), "max_reported": 10}
    path = STATE / "module-args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    return path


def differences(tool: str, output: str) -> int:
    if tool == "list-only":
        return 0
    if tool == "aws-cli":
        return sum(1 for line in output.splitlines() if line.startswith("(dryrun) "))
    if tool == "ansible":
        result = json.loads(output)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    else:
        result = json.loads(output)
    if "counts" not in result:
        raise SystemExit(f"bench: the module failed: {result.get('msg')}")
    counts = result["counts"]
    return counts["only_local"] + counts["only_remote"] + counts["size_differs"] + counts["etag_differs"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--resaved", type=float, default=0.9, help="share of notebooks saved again unchanged")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--strict", action="store_true", help="exit 1 when the module misses its targets")
    args = parser.parse_args()

    aws = ensure_awscli()
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
        ANSIBLE_HOME=str(REPO / ".ansible"),
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    )
    try:
        tree, touched = build(args.files, args.resaved, args.seed, env)
        commands = {
            "list-only": [sys.executable, "-c", LIST_ONLY, BUCKET, PREFIX],
            "module": [sys.executable, str(MODULE), str(module_args_file(tree))],
            "aws-cli": [str(aws), "s3", "sync", str(tree), f"s3://{BUCKET}/{PREFIX}", "--dryrun", "--no-progress"],
            "ansible": [
                str(Path(sys.executable).parent / "ansible"),
                *("localhost", "-c", "local", "-i", "localhost,", "-m", "research_env.core.s3_sync_verify"),
                *("-e", f"ansible_python_interpreter={sys.executable}"),
                *("-a", json.dumps({"bucket": BUCKET, "prefix": PREFIX, "path": str(tree), "max_reported": 10})),
            ],
        }
        times: dict[str, list[float]] = {tool: [] for tool in commands}
        found: dict[str, int] = {}
        for _ in range(args.repeat):
            for tool, argv in commands.items():
                elapsed, output = timed(argv, env)
                times[tool].append(elapsed)
                found[tool] = differences(tool, output)
    finally:
        subprocess.run([*emulator, "stop", *emulator_state], check=False, capture_output=True)
        shutil.rmtree(STATE / "tree", ignore_errors=True)

    floor = statistics.median(times["list-only"])
    print(
        f"\n{args.files} notebooks, identical in content; {touched} saved again unchanged after the push "
        f"(newer mtime). Median of {args.repeat} runs, each a fresh process, against moto server on 127.0.0.1.\n"
    )
    print(f"{'tool':<44} {'wall s':>7} {'x list':>7} {'differences':>12}")
    labels = {
        "list-only": "list-only pass (boto3 paginator)",
        "module": "s3_sync_verify module (as Ansible runs it)",
        "aws-cli": f"aws s3 sync --dryrun (awscli {awscli_version()})",
        "ansible": "ansible localhost -m s3_sync_verify",
    }
    for tool, label in labels.items():
        median = statistics.median(times[tool])
        shown = "-" if tool == "list-only" else str(found[tool])
        print(f"{label:<44} {median:>7.2f} {median / floor:>7.2f} {shown:>12}")
    ratio = statistics.median(times["module"]) / floor
    ok = found["module"] == 0 and ratio <= 1.2
    print(
        f"\nmodule: {found['module']} differences (target 0), {ratio:.2f}x the list-only pass (target <= 1.2): "
        f"{'met' if ok else 'NOT met'}"
    )
    print(f"aws s3 sync --dryrun: {found['aws-cli']} of {args.files} identical notebooks reported as to upload")
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
