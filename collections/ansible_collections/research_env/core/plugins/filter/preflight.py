# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for research-env's preflight: every check of an environment's configuration.

The checks are plain functions so they can be unit-tested without Ansible; each returns a list
of messages of the form "<variable>: <what is wrong>. <what to do>", empty when all is well,
so that preflight can report every problem of a configuration in one run. One bad value gives
one message: a check that depends on a value another check refused stays silent.

Every pattern is applied with `fullmatch`: `re.match(r"^...$")` accepts a trailing newline
("lab\n"), which AWS (or the name it ends up in) would not.

Each concern is in its own file (preflight_network, preflight_admin, preflight_tags,
preflight_instances, preflight_settings, preflight_team, preflight_ssh_key, preflight_cost); config_errors runs
them all.
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.research_env.core.plugins.filter.preflight_admin import check_admin_access
from ansible_collections.research_env.core.plugins.filter.preflight_cost import check_cost
from ansible_collections.research_env.core.plugins.filter.preflight_instances import check_instances
from ansible_collections.research_env.core.plugins.filter.preflight_network import check_network
from ansible_collections.research_env.core.plugins.filter.preflight_settings import (
    check_lab_guard,
    check_lambda_pipeline,
    check_ports,
    check_run_settings,
    check_storage_and_images,
)
from ansible_collections.research_env.core.plugins.filter.preflight_ssh_key import ssh_public_key_errors
from ansible_collections.research_env.core.plugins.filter.preflight_tags import check_tags, tag_value_errors
from ansible_collections.research_env.core.plugins.filter.preflight_team import check_team, check_vpn_hostname
from ansible_collections.research_env.core.plugins.module_utils.values import as_bool, is_bool
from ansible_collections.research_env.core.plugins.plugin_utils.checks import region_ok

# Applied with fullmatch only (see the module docstring).
ENV_NAME_RE = re.compile(r"[a-z][a-z0-9-]{1,19}")
NAT_MODES = ("during_deploy", "always", "none")
VPN_PROVIDERS = ("openvpn_as", "openvpn", "client_vpn", "none")
# Settings read with `| bool` by the playbooks. Nested booleans (subnets.*.public, instances.*.eip)
# are read as they are, where the string "false" would count as true: those stay real booleans.
BOOL_SETTINGS = ("allow_world_ssh", "destroy_data", "efs_enabled", "filegator_backup", "lambda_pipeline")


def check_env_name(value: Any) -> list[str]:
    if not isinstance(value, str) or not ENV_NAME_RE.fullmatch(value) or value.endswith("-") or "--" in value:
        return [
            f"env_name: {value!r} is not a valid environment name. Use 2-20 characters: a lowercase letter, "
            "then lowercase letters, digits or single hyphens, not ending in a hyphen (e.g. 'genomics-lab')."
        ]
    return []


def check_choices(config: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    for name, choices in (("nat_mode", NAT_MODES), ("vpn_provider", VPN_PROVIDERS)):
        if config.get(name) not in choices:
            errors.append(f"{name}: {config.get(name)!r} is not one of {', '.join(choices)}. Pick one of them.")
    for name in ("destroy_data",):
        if name in config and not is_bool(config[name]):
            errors.append(f"{name}: {config[name]!r} is not true or false. Set it to a boolean.")
    region = config.get("aws_region")
    if not region_ok(region):
        errors.append(f"aws_region: {region!r} is not an AWS region name. Use e.g. us-east-1 or eu-west-1.")
    project = config.get("project_name")
    if project == "":
        errors.append("project_name: empty. It is the Project tag on every resource; name the project.")
    else:
        errors += tag_value_errors(project, "project_name")
    return errors


def bool_errors(value: Any, name: str) -> list[str]:
    """A setting read with `| bool`: a boolean, or one of the words that filter reads exactly (so that
    what is checked and what is done cannot differ, as with ' true')."""
    if is_bool(as_bool(value)):
        return []
    return [f"{name}: {value!r} is not true or false. Set it to true or false."]


def check_inventory(config: dict[str, Any]) -> list[str]:
    """The EC2 inventory is read before any variable exists, so it takes the region from the shell
    (AWS_REGION): it must match aws_region, or the configure step would find no hosts. It reads
    every environment of that region and the plays pick env_name's hosts (playbooks/select.yml),
    so the environment needs nothing from the shell."""
    errors = []
    seen_region = config.get("inventory_region")
    region_valid = region_ok(config.get("aws_region"))  # a bad region is reported once, by itself
    if seen_region is not None and region_valid and seen_region != config.get("aws_region"):
        errors.append(
            f"aws_region: is {config.get('aws_region')!r} but the EC2 inventory reads {seen_region!r} "
            f"(AWS_REGION / AWS_DEFAULT_REGION). Run: export AWS_REGION={config.get('aws_region')}"
        )
    return errors


def config_errors(config: dict[str, Any]) -> list[str]:
    """Every problem of an environment's configuration that can be found without AWS."""
    config = {k: (as_bool(v) if k in BOOL_SETTINGS else v) for k, v in config.items()}
    errors: list[str] = []
    errors += check_env_name(config.get("env_name"))
    errors += check_choices(config)
    errors += check_network(config)
    errors += check_admin_access(config)
    errors += check_ports(config)
    errors += check_tags(config)
    errors += check_instances(config)
    errors += check_storage_and_images(config)
    errors += check_lambda_pipeline(config)
    errors += check_run_settings(config)
    errors += check_lab_guard(config)
    errors += check_cost(config)
    errors += check_team(config)
    errors += check_vpn_hostname(config)
    errors += check_inventory(config)
    errors += ssh_public_key_errors(config.get("ssh_public_key_file"))
    return errors


class FilterModule:
    """research-env preflight filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "config_errors": config_errors,
            "env_name_errors": check_env_name,
            "bool_errors": bool_errors,
        }
