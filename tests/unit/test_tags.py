"""The tag slices select the plays they promise (README, "Slices and tags"), read from
`ansible-playbook site.yml --tags <tag> --list-tasks` against a static inventory of one host per
role: nothing is run and nothing is called. Behaviour is the e2e and integration tests' part; this
pins the wiring that a slice needs plays of other files for (the NAT window, the hosts' SSH)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from modules import REPO

INVENTORY = """\
all:
  hosts:
    localhost: {ansible_connection: local}
  children:
    this_env:
      children:
        vpn: {hosts: {h-vpn: {}}}
        jupyter: {hosts: {h-jupyter: {}}}
        voila: {hosts: {h-voila: {}}}
        filegator: {hosts: {h-filegator: {}}}
"""


def selected(tmp_path, tags: str) -> dict[str, list[str]]:
    """{play name: [the names of its tasks the tags select]}."""
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(INVENTORY)
    venv_bin = Path(sys.executable).parent
    env = {"PATH": f"{venv_bin}:/usr/bin:/bin", "ANSIBLE_HOME": str(REPO / ".ansible")}
    env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"  # nothing is called; if it were, nowhere but here
    run = subprocess.run(
        [str(venv_bin / "ansible-playbook"), "-i", str(inventory), "site.yml", "--tags", tags, "--list-tasks"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    plays: dict[str, list[str]] = {}
    current = None
    for line in run.stdout.splitlines():
        play = re.match(r"\s+play #\d+ \([^)]*\): (.*?)\tTAGS:", line)
        if play:
            current = plays.setdefault(play.group(1), [])
        elif current is not None and "\tTAGS:" in line:
            task = line.strip().split("\tTAGS:")[0]
            # The roles' argument checks are tagged `always`: in every slice, they run nothing.
            if "Validating arguments against arg spec" not in task:
                current.append(task)
    return {name: tasks for name, tasks in plays.items() if tasks}


@pytest.mark.parametrize("tags", ["updates", "configure"])
def test_the_updates_slice_opens_the_nat_window_reaches_the_hosts_and_closes_it(tmp_path, tags):
    plays = selected(tmp_path, tags)
    names = list(plays)
    # The window opens before the hosts are reached, the updates are applied, then it closes.
    order = [
        "NAT | Open the window for the configure step",
        "Configure | Reach the hosts, know the account",
        "Configure | OS security updates",
        "NAT | Release the NAT gateway at the end of the deploy",
    ]
    assert [n for n in names if n in order] == order, names
    assert "os_updates : Apply the pending updates now" in plays["Configure | OS security updates"]
    assert any(t.startswith("Wait for SSH") for t in plays["Configure | Reach the hosts, know the account"])
    if tags == "updates":
        # Nothing else of the hosts: no role of the research host, the Voila host or the way in.
        assert not any(n in names for n in ("Configure | The research host", "Configure | The public Voila host"))
