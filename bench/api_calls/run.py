#!/usr/bin/env python3
"""Benchmark: how many AWS API calls, of which actions, and how many seconds a build, a no-op rerun and
a teardown take, counted at the emulator.

Starts its own AWS emulator (moto server on 127.0.0.1, under .state/bench-api-calls/) with moto's request
recorder on, makes an SSH key, and runs in turn, recording each:

  cold      ansible-playbook site.yml --tags infra          (an empty account)
  noop      the same again                                  (nothing to change)
  teardown  ansible-playbook playbooks/teardown.yml         (everything goes, a record is written)

Prints one Markdown table (calls per `service Action` per phase, the totals, the wall seconds) and the
no-op/cold ratios. Every call any module makes is counted, retries included. Calls are deterministic;
the seconds depend on the machine and its load.

    .venv/bin/python bench/api_calls/run.py [--env-name bench] [--json FILE] [--keep]

--json writes the counts and seconds to FILE; --keep leaves the emulator running (its endpoint is
printed) for a look at what was built.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
from api_calls import Recorder, count, recording_env, table  # noqa: E402
from emulator import DUMMY_ENV, Emulator  # noqa: E402 - the emulator's dummy credentials, never real ones

STATE = REPO / ".state" / "bench-api-calls"


def playbook(args: list[str], env: dict[str, str], log: Path) -> float:
    """Run ansible-playbook from the repo root; the wall seconds. A failed run stops the bench."""
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), *args]
    start = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    seconds = time.monotonic() - start
    if proc.returncode:
        raise SystemExit(f"bench: {' '.join(args)} failed (rc={proc.returncode}); see {log}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-name", default="bench")
    parser.add_argument("--json", type=Path, help="write the counts and seconds here too")
    parser.add_argument("--keep", action="store_true", help="leave the emulator running at the end")
    args = parser.parse_args()

    shutil.rmtree(STATE, ignore_errors=True)
    STATE.mkdir(parents=True)
    key = STATE / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    extra = STATE / "env.yml"
    extra.write_text(
        f"env_name: {args.env_name}\nssh_public_key_file: {key}.pub\nadmin_cidrs: [198.51.100.7/32]\n"
        f"records_dir: {STATE / 'records'}\n"
    )

    emu = Emulator(STATE / "emulator")
    info = emu.start(host="127.0.0.1", port=0, client_host=None, wait=60, env=recording_env(STATE))
    recorder = Recorder(info["url"])
    venv_bin = str(Path(sys.executable).parent)
    env = dict(
        os.environ,
        **DUMMY_ENV,
        AWS_ENDPOINT_URL=info["url"],
        PATH=f"{venv_bin}:{os.environ.get('PATH', '')}",
        ANSIBLE_HOME=os.environ.get("ANSIBLE_HOME", str(REPO / ".ansible")),
        ANSIBLE_NOCOLOR="1",
    )
    phases = {
        "cold": ["site.yml", "--tags", "infra", "-e", f"@{extra}"],
        "noop": ["site.yml", "--tags", "infra", "-e", f"@{extra}"],
        "teardown": ["playbooks/teardown.yml", "-e", f"@{extra}"],
    }
    counts, seconds = {}, {}
    try:
        for phase, argv in phases.items():
            print(f"bench: {phase}: ansible-playbook {' '.join(argv)}", flush=True)
            recorder.start()
            seconds[phase] = playbook(argv, env, STATE / f"{phase}.log")
            counts[phase] = count(recorder.stop())
            print(f"bench: {phase}: {sum(counts[phase].values())} calls, {seconds[phase]:.1f} s", flush=True)
    finally:
        if args.keep:
            print(f"bench: emulator left running at {info['url']} (state {emu.state_dir})")
        else:
            emu.stop()

    print()
    print(table(counts, seconds))
    print()
    calls = {p: sum(c.values()) for p, c in counts.items()}
    print(
        f"no-op / cold: calls {calls['noop']}/{calls['cold']} = {calls['noop'] / calls['cold']:.2f}, "
        f"wall {seconds['noop']:.1f}/{seconds['cold']:.1f} s = {seconds['noop'] / seconds['cold']:.2f}"
    )
    if args.json:
        args.json.write_text(json.dumps({"calls": {p: dict(c) for p, c in counts.items()}, "seconds": seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
