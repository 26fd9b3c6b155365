"""The locally built host image is what molecule and lab mode rely on: systemd as PID 1 without
--privileged, sshd answering with host keys of its own, cron running."""

from __future__ import annotations

import os
import subprocess
import time
import uuid

import pytest

pytestmark = pytest.mark.docker

IMAGE = os.environ.get("RESEARCH_ENV_IMAGE", "research-env-host:latest")


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=120)


@pytest.fixture(scope="module")
def host():
    names = [f"research-env-imgtest-{uuid.uuid4().hex[:8]}-{i}" for i in range(2)]
    for name in names:
        docker(
            "run", "-d", "--name", name, "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
            "--tmpfs", "/run", "--tmpfs", "/run/lock", IMAGE,
        )  # fmt: skip
    for name in names:
        exec_in(name, "systemctl", "is-system-running", "--wait")
    yield names
    docker("rm", "-f", *names, check=False)


def exec_in(name: str, *cmd: str) -> subprocess.CompletedProcess:
    return docker("exec", name, *cmd, check=False)


def test_systemd_reaches_running(host):
    result = exec_in(host[0], "systemctl", "is-system-running", "--wait")
    assert result.stdout.strip() == "running", result.stdout + exec_in(host[0], "systemctl", "--failed").stdout


def test_sshd_and_cron_are_active(host):
    for unit in ("ssh", "cron"):
        assert exec_in(host[0], "systemctl", "is-active", unit).stdout.strip() == "active", unit
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        banner = exec_in(host[0], "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/22; head -c 7 <&3")
        if banner.stdout == "SSH-2.0":
            break
        time.sleep(0.5)
    assert banner.stdout == "SSH-2.0"


def test_each_host_has_its_own_ssh_host_key(host):
    keys = [exec_in(name, "cat", "/etc/ssh/ssh_host_ed25519_key.pub").stdout.split()[1] for name in host]
    assert keys[0] != keys[1]


def test_python_for_ansible(host):
    assert (
        exec_in(host[0], "python3", "-c", "import apt, sys; print(sys.version_info >= (3, 9))").stdout.strip() == "True"
    )
