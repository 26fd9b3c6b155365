"""Shared test helpers: run ansible-playbook from the repo root and read its recap."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

RECAP_RE = re.compile(
    r"^(?P<host>\S+)\s+: ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+"
    r"failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)\s+rescued=(?P<rescued>\d+)\s+ignored=(?P<ignored>\d+)",
    re.MULTILINE,
)


@dataclass
class PlaybookRun:
    args: list[str]
    rc: int
    output: str

    @property
    def recap(self) -> dict[str, dict[str, int]]:
        return {
            m["host"]: {k: int(v) for k, v in m.groupdict().items() if k != "host"}
            for m in RECAP_RE.finditer(self.output)
        }

    def changed(self, host: str = "localhost") -> int:
        return self.recap[host]["changed"]

    def explain(self) -> str:
        return f"ansible-playbook {' '.join(self.args)} -> rc={self.rc}\n{self.output[-6000:]}"


def ansible_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = f"{venv_bin}:{env.get('PATH', '')}"
    env.setdefault("ANSIBLE_HOME", str(REPO / ".ansible"))
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def run_playbook(
    playbook: str, *args: str, extra_vars: dict | None = None, env: dict[str, str] | None = None, timeout: int = 900
) -> PlaybookRun:
    argv = [playbook, *args]
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), *argv],
        cwd=REPO,
        env=ansible_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return PlaybookRun(argv, proc.returncode, proc.stdout + proc.stderr)
