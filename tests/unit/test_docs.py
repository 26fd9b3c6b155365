"""The documentation is kept in step with the code: docs/configuration.md lists exactly the settings
of group_vars/all/main.yml, each role's README exactly the options of its argument spec, with the
defaults they have; every relative link of the Markdown files points at something that exists; the
README stays short; one licence for the whole repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = sorted(p for p in (REPO / "roles").glob("*/") if (p / "tasks").is_dir())
MARKDOWN = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md"), *(REPO / "roles").glob("*/README.md")])
LINK_RE = re.compile(r"\]\(([^)\s]+)\)")
NAME_RE = re.compile(r"`([a-z][a-z0-9_]*)`")
CODE_RE = re.compile(r"`([^`]*)`")


def table_rows(text: str) -> list[list[str]]:
    """The cells of every Markdown table row (escaped pipes kept inside their cell)."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("|") and not re.fullmatch(r"\|[\s|:-]+\|", line):
            rows.append([c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip("|"))])
    return rows


def documented(text: str, prefix: str = "") -> dict[str, str]:
    """variable -> its default cell, for the rows whose first cell names variables."""
    found = {}
    for cells in table_rows(text):
        if len(cells) < 3:
            continue
        for name in NAME_RE.findall(cells[0]):
            if name.startswith(prefix):
                found[name] = cells[1]
    return found


def default_in_cell(cell: str, names: int, index: int) -> object:
    """The default a cell gives as code (one `value` per variable named in the row); ... when the
    cell describes it in words instead."""
    values = CODE_RE.findall(cell)
    if len(values) != names or "…" in cell:
        return ...
    try:
        return yaml.safe_load(values[index])
    except yaml.YAMLError:  # a template or an expression, compared as written
        return values[index]


def test_the_configuration_reference_lists_every_setting_and_nothing_else():
    settings = yaml.safe_load((REPO / "group_vars/all/main.yml").read_text())
    listed = documented((REPO / "docs/configuration.md").read_text())
    assert sorted(set(settings) - set(listed)) == [], "settings missing from docs/configuration.md"
    assert sorted(set(listed) - set(settings)) == [], "docs/configuration.md lists settings that do not exist"


def test_the_configuration_reference_gives_the_real_defaults():
    settings = yaml.safe_load((REPO / "group_vars/all/main.yml").read_text())
    wrong = []
    for cells in table_rows((REPO / "docs/configuration.md").read_text()):
        names = NAME_RE.findall(cells[0]) if len(cells) >= 3 else []
        for i, name in enumerate(names):
            value = default_in_cell(cells[1], len(names), i)
            # A template default (notebooks_bucket) is written as the name it makes: <env_name>-...
            if value is not ... and not str(value).startswith("<") and value != settings[name]:
                wrong.append((name, value, settings[name]))
    assert wrong == []


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_each_role_readme_lists_exactly_its_options_with_their_defaults(role: Path):
    spec = yaml.safe_load((role / "meta/argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    defaults = yaml.safe_load((role / "defaults/main.yml").read_text()) or {}
    listed = documented((role / "README.md").read_text(), prefix=role.name + "_")
    assert sorted(set(spec) - set(listed)) == [], "options missing from the README"
    assert sorted(set(listed) - set(spec)) == [], "the README lists options the argument spec does not have"
    wrong = []
    for name, cell in listed.items():
        value = default_in_cell(cell, 1, 0)
        if value is not ... and name in defaults and value != defaults[name]:
            wrong.append((name, value, defaults[name]))
    assert wrong == []


def slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", path.read_text(), re.MULTILINE)}


@pytest.mark.parametrize("doc", MARKDOWN, ids=[str(p.relative_to(REPO)) for p in MARKDOWN])
def test_every_relative_link_points_at_something_that_exists(doc: Path):
    broken = []
    for target in LINK_RE.findall(doc.read_text()):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        where = (doc.parent / path).resolve() if path else doc
        if not where.exists() or (anchor and where.suffix == ".md" and anchor not in anchors(where)):
            broken.append(target)
    assert broken == []


def test_the_readme_stays_short():
    """What it is, the two commands, the AWS quick start, slices, links: depth lives in docs/."""
    assert len((REPO / "README.md").read_bytes()) <= 12 * 1024


def test_one_licence_for_the_whole_repository():
    licence = (REPO / "LICENSE").read_text().split()
    assert licence[:5] == ["GNU", "GENERAL", "PUBLIC", "LICENSE", "Version"] and licence[5] == "3,"
    metas = sorted((REPO / "roles").glob("*/meta/main.yml"))
    assert len(metas) == len(ROLES)
    assert {m.parent.parent.name: yaml.safe_load(m.read_text())["galaxy_info"]["license"] for m in metas} == {
        r.name: "GPL-3.0-or-later" for r in ROLES
    }
    collection = REPO / "collections" / "ansible_collections" / "research_env" / "core"
    assert yaml.safe_load((collection / "galaxy.yml").read_text())["license"] == ["GPL-3.0-or-later"]
    plugins = sorted((collection / "plugins").glob("*/*.py"))
    assert plugins
    unlicensed = [str(p.relative_to(REPO)) for p in plugins if "GNU General Public License v3.0+" not in p.read_text()]
    assert unlicensed == []
