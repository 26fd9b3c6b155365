"""Every role documents exactly its defaults: meta/argument_specs.yml lists the same keys as
defaults/main.yml, each with a type and a description, and every default is prefixed with the
role's name."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROLES_DIR = Path(__file__).resolve().parents[2] / "roles"
ROLES = sorted(p for p in ROLES_DIR.glob("*/") if (p / "tasks").is_dir())


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) or {}


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_defaults_and_argument_specs_agree(role: Path):
    defaults = load(role / "defaults" / "main.yml")
    spec = load(role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert set(defaults) <= set(spec), f"defaults without a spec: {sorted(set(defaults) - set(spec))}"
    undocumented = [k for k, v in spec.items() if not v.get("description") or not v.get("type")]
    assert not undocumented, f"options without type/description: {undocumented}"
    missing_default = [k for k, v in spec.items() if not v.get("required") and k not in defaults]
    assert not missing_default, f"optional options without a default in defaults/main.yml: {missing_default}"


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_variables_are_prefixed_with_the_role_name(role: Path):
    defaults = load(role / "defaults" / "main.yml")
    spec = load(role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    bad = [k for k in {*defaults, *spec} if not k.startswith(role.name + "_")]
    assert not bad, f"not prefixed with {role.name}_: {bad}"
