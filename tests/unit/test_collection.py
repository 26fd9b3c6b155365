"""The collection research_env.core: every name the playbooks, roles and scenarios call exists in it, once."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

COLLECTION = "research_env.core"
REPO = Path(__file__).resolve().parents[2]
PLUGINS = REPO / "collections" / "ansible_collections" / "research_env" / "core" / "plugins"
USERS = ("site.yml", "playbooks", "roles", "molecule")


def filters() -> dict[str, list[str]]:
    """Filter name -> the filter files that define it."""
    found: dict[str, list[str]] = {}
    for path in sorted((PLUGINS / "filter").glob("*.py")):
        plugin = importlib.import_module(f"ansible_collections.research_env.core.plugins.filter.{path.stem}")
        for name in plugin.FilterModule().filters():
            found.setdefault(name, []).append(path.stem)
    return found


def used_names() -> set[str]:
    paths = [REPO / "site.yml"] + [p for top in USERS[1:] for p in (REPO / top).rglob("*") if p.is_file()]
    pattern = re.compile(re.escape(COLLECTION) + r"\.([a-z0-9_]+)")
    return {name for p in paths if p.suffix in (".yml", ".j2") for name in pattern.findall(p.read_text())}


def test_every_filter_name_is_defined_by_one_file():
    assert {name: files for name, files in filters().items() if len(files) > 1} == {}


def test_every_name_the_project_calls_is_a_module_or_a_filter_of_the_collection():
    modules = {p.stem for p in (PLUGINS / "modules").glob("*.py")}
    used = used_names()
    assert used, "no research_env.core.* call found: is the FQCN rewrite (or this test's search) broken?"
    assert used - modules - set(filters()) == set()


def test_no_short_names_are_left():
    """What the filters were called before the collection (research_env_config_errors, ...)."""
    old = re.compile(r"\bresearch_env_(" + "|".join(filters()) + r")\b")
    paths = [p for top in USERS[1:] for p in (REPO / top).rglob("*") if p.is_file() and p.suffix in (".yml", ".j2")]
    assert [str(p.relative_to(REPO)) for p in paths if old.search(p.read_text())] == []
