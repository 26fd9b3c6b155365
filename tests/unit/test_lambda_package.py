"""research_env.core.lambda_package: the same files give the same zip bytes (so amazon.aws.lambda uploads code
only when it changed), whatever their timestamps; the file is rewritten only when its bytes would change."""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import zipfile

import pytest
from modules import ansible_doc, load_module, run_module

m = load_module("lambda_package")
run_main = functools.partial(run_module, m, region=None)


@pytest.fixture
def code(tmp_path):
    src = tmp_path / "src"
    (src / "lib").mkdir(parents=True)
    (src / "handler.py").write_text("def lambda_handler(event, context):\n    return {}\n")
    (src / "lib" / "helper.py").write_text("X = 1\n")
    (src / "run.sh").write_text("#!/bin/sh\n")
    (src / "run.sh").chmod(0o755)
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "handler.cpython-313.pyc").write_bytes(b"\0")
    (src / "stale.pyc").write_bytes(b"\0")
    return src


def test_same_files_same_bytes_whatever_their_times(code, tmp_path, capsys):
    dest = tmp_path / "a.zip"
    rc, first = run_main({"src": str(code), "dest": str(dest)}, capsys)
    assert rc == 0 and first["changed"] is True
    data = dest.read_bytes()
    assert first["code_sha256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert first["files"] == ["handler.py", "lib/helper.py", "run.sh"]
    for path in code.rglob("*"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    rc, second = run_main({"src": str(code), "dest": str(dest)}, capsys)
    assert rc == 0 and second["changed"] is False
    assert dest.read_bytes() == data and second["code_sha256"] == first["code_sha256"]


def test_the_archive_holds_the_files_with_fixed_dates_and_modes(code, tmp_path, capsys):
    dest = tmp_path / "a.zip"
    run_main({"src": str(code), "dest": str(dest)}, capsys)
    with zipfile.ZipFile(dest) as archive:
        infos = {i.filename: i for i in archive.infolist()}
        assert set(infos) == {"handler.py", "lib/helper.py", "run.sh"}
        assert archive.read("lib/helper.py") == b"X = 1\n"
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos.values())
        assert infos["handler.py"].external_attr >> 16 == 0o100644
        assert infos["run.sh"].external_attr >> 16 == 0o100755


def test_a_change_of_code_changes_the_zip(code, tmp_path, capsys):
    dest = tmp_path / "a.zip"
    _, first = run_main({"src": str(code), "dest": str(dest)}, capsys)
    (code / "handler.py").write_text("def lambda_handler(event, context):\n    return {'v': 2}\n")
    _, second = run_main({"src": str(code), "dest": str(dest)}, capsys)
    assert second["changed"] is True and second["code_sha256"] != first["code_sha256"]


def test_check_mode_writes_nothing(code, tmp_path, capsys):
    dest = tmp_path / "a.zip"
    rc, result = run_main({"src": str(code), "dest": str(dest), "_ansible_check_mode": True}, capsys)
    assert rc == 0 and result["changed"] is True and not dest.exists()


def test_excludes_and_an_empty_directory(code, tmp_path, capsys):
    _, result = run_main({"src": str(code), "dest": str(tmp_path / "a.zip"), "exclude": ["lib/*"]}, capsys)
    assert result["files"] == ["handler.py", "run.sh"]
    empty = tmp_path / "empty"
    empty.mkdir()
    rc, result = run_main({"src": str(empty), "dest": str(tmp_path / "b.zip")}, capsys)
    assert rc == 1 and "holds no file" in result["msg"]


def test_the_repository_handler_packs_reproducibly(tmp_path, capsys):
    src = m.__file__.rsplit("/collections/", 1)[0] + "/lambda/image_pipeline"
    _, one = run_main({"src": src, "dest": str(tmp_path / "one.zip")}, capsys)
    _, two = run_main({"src": src, "dest": str(tmp_path / "two.zip")}, capsys)
    assert one["files"] == ["handler.py"] and one["code_sha256"] == two["code_sha256"]


def test_documentation_renders():
    doc = ansible_doc("lambda_package")
    assert set(doc["doc"]["options"]) == {"src", "dest", "exclude"}
    assert {"code_sha256", "files", "dest", "size"} <= set(doc["return"])
