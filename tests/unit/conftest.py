"""Fixtures the unit tests share: dummy AWS credentials, one botocore loader for the module tests, a moto server.

The helpers that go with them (load a module, run its main(), ansible-doc, ansible) are in tests/modules.py.
"""

from __future__ import annotations

import functools
import subprocess
import sys

import pytest
from emulator import DUMMY_ENV
from modules import REPO


@pytest.fixture
def aws_env(monkeypatch):
    """Dummy credentials only, and nothing that could send the SDK elsewhere than the emulator."""
    for name in ("AWS_ENDPOINT_URL", "AWS_URL", "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in DUMMY_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@functools.cache
def _shared_loader():
    import botocore.loaders

    return botocore.loaders.create_loader()


@pytest.fixture(autouse=True)
def shared_botocore_loader(monkeypatch):
    """Each module run (and each test's boto3 client) makes a new boto3 session, which parses the services'
    JSON models again: most of an in-process test's time. Every unit test shares one loader (what the code
    under test does is unchanged)."""
    import botocore.session

    monkeypatch.setattr(botocore.session, "create_loader", lambda *_args, **_kwargs: _shared_loader())


@pytest.fixture
def moto_server(tmp_path, aws_env):
    """A moto server on 127.0.0.1 started by scripts/emulator.py (its own process, so it is reaped
    when stopped), stopped again at the end."""
    state = tmp_path / "emulator"
    command = [sys.executable, str(REPO / "scripts" / "emulator.py")]
    started = subprocess.run(
        [*command, "start", "--host", "127.0.0.1", "--state-dir", str(state)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    yield started.stdout.strip()
    subprocess.run([*command, "stop", "--state-dir", str(state)], capture_output=True, timeout=60, check=True)
