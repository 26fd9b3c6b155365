"""The AWS emulator for integration tests: one moto server per session on a free 127.0.0.1 port,
reset before each test so every test starts from an empty account."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from emulator import DUMMY_ENV, Emulator


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    emu = Emulator(tmp_path_factory.mktemp("emulator"))
    info = emu.start(host="127.0.0.1", port=0, client_host=None, wait=60)
    yield info
    emu.stop()


@pytest.fixture(scope="session")
def emulator_env(emulator: dict) -> dict[str, str]:
    """Environment for ansible-playbook: the emulator's endpoint and dummy keys."""
    return dict(DUMMY_ENV, AWS_ENDPOINT_URL=emulator["url"])


@pytest.fixture
def aws_env(emulator_env: dict[str, str]) -> dict[str, str]:
    """The emulator's environment, emptied first: the test starts from an empty account."""
    Emulator.reset_url(emulator_env["AWS_ENDPOINT_URL"])
    return emulator_env


def client(service: str, env: dict[str, str]):
    return boto3.client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


@pytest.fixture(scope="session")
def ec2(emulator_env: dict[str, str]):
    return client("ec2", emulator_env)


@pytest.fixture(scope="session")
def aws(emulator_env: dict[str, str]) -> dict:
    """boto3 clients of the emulator, by service name."""
    return {
        name: client(name, emulator_env)
        for name in ("ec2", "iam", "efs", "s3", "kms", "sts", "ssm", "lambda", "logs", "acm", "events", "budgets")
    }


@pytest.fixture(scope="session")
def ssh_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    key = tmp_path_factory.mktemp("ssh") / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key.with_suffix(".pub")
