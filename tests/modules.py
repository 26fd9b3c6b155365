"""Helpers for the tests of the project's own modules (research_env.core, in collections/): load one by path, run
its main() in-process as Ansible would, render its documentation with ansible-doc, run it through `ansible` itself.

The fixtures these tests share (dummy AWS credentials, one botocore loader, a moto server) are in
tests/unit/conftest.py.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent
COLLECTIONS = REPO / "collections"
COLLECTION = "research_env.core"
MODULES = COLLECTIONS / "ansible_collections" / "research_env" / "core" / "plugins" / "modules"
BIN = Path(sys.executable).parent
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account


def load_module(name: str) -> ModuleType:
    """The collection's plugins/modules/<name>.py, imported by path as the module <name>. Its imports of the
    collection's module_utils (`ansible_collections.research_env.core.plugins.module_utils.*`) are found through
    collections/ on sys.path (tests/conftest.py)."""
    spec = importlib.util.spec_from_file_location(name, MODULES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run_module(module: ModuleType, args: dict, capsys, region: str | None = REGION) -> tuple[int, dict]:
    """The module's main() with these arguments (and `region`, unless None): its exit code and its JSON result."""
    from ansible.module_utils.testing import patch_module_args

    module_args = args if region is None else {"region": region, **args}
    with patch_module_args(module_args), pytest.raises(SystemExit) as exit_info:
        module.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def ansible_doc(name: str) -> dict:
    """What `ansible-doc --json research_env.core.<name>` says of the module: its doc, examples, metadata, return."""
    proc = subprocess.run(
        [str(BIN / "ansible-doc"), "--json", f"{COLLECTION}.{name}"],
        env={**os.environ, "ANSIBLE_HOME": str(REPO / ".ansible"), "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(proc.stdout)[f"{COLLECTION}.{name}"]


def ansible_adhoc(module: str, module_args: dict, endpoint: str, *extra: str) -> tuple[int, dict]:
    """`ansible localhost -m research_env.core.<module>` against the emulator at endpoint: its exit code and the
    task's result."""
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_HOME=str(REPO / ".ansible"),
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_NOCOLOR="1",
        AWS_ENDPOINT_URL=endpoint,
        PATH=f"{BIN}:{env.get('PATH', '')}",
    )
    proc = subprocess.run(
        [
            str(BIN / "ansible"),
            "localhost",
            "-c",
            "local",
            "-i",
            "localhost,",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            "-m",
            f"{COLLECTION}.{module}",
            "-a",
            json.dumps(module_args),
            *extra,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    try:
        output = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"ansible printed no JSON (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.returncode, output["plays"][0]["tasks"][0]["hosts"]["localhost"]
