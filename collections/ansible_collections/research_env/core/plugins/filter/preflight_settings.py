# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight: the single settings: ports, storage and image lookup, run-time settings, the bucket's name."""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Any
from urllib.parse import urlsplit

from ansible_collections.research_env.core.plugins.module_utils.values import as_bool, as_int, is_bool

# Applied with fullmatch only (see plugin_utils/checks.py).
AMI_OWNER_RE = re.compile(r"[0-9]{12}|amazon|self|aws-marketplace")
BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
URL_RE = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%/-]*)?/")


def check_ports(config: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    ports: dict[str, int] = {}
    for name in ("jupyter_port", "filegator_port"):
        if name not in config:
            continue
        port = as_int(config[name])
        if port is None or not 1024 <= port <= 65535:
            errors.append(
                f"{name}: {config[name]!r} is not a port number from 1024 to 65535. Pick an unprivileged port."
            )
        else:
            ports[name] = port
    if len(ports) == 2 and ports["jupyter_port"] == ports["filegator_port"]:
        errors.append("filegator_port: equals jupyter_port. Give the two services different ports.")
    return errors


def check_storage_and_images(config: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    if "efs_enabled" in config and not is_bool(config["efs_enabled"]):
        errors.append(f"efs_enabled: {config['efs_enabled']!r} is not true or false. Set it to a boolean.")
    if "filegator_backup" in config:
        if not is_bool(config["filegator_backup"]):
            errors.append(
                f"filegator_backup: {config['filegator_backup']!r} is not true or false. Set it to a boolean."
            )
        elif config["filegator_backup"] and "filegator" not in (config.get("instances") or {}):
            errors.append("filegator_backup: true, but instances has no filegator host. Add one, or set it to false.")
    errors += read_buckets_errors(config.get("s3_endpoint_read_buckets", []))
    raw_window = config.get("kms_deletion_window_days", 30)
    window = as_int(raw_window)
    if window is None or not 7 <= window <= 30:
        errors.append(
            f"kms_deletion_window_days: {raw_window!r} is not a whole number of days from 7 to 30, the range AWS "
            "allows. Set it within that range."
        )
    owner = config.get("ami_owner", "099720109477")
    if not isinstance(owner, str) or not AMI_OWNER_RE.fullmatch(owner):
        errors.append(f"ami_owner: {owner!r} is not an account id (12 digits, quoted) or amazon/self. Quote it.")
    name_filter = config.get("ami_name_filter", "x")
    if not isinstance(name_filter, str) or not name_filter.strip():
        errors.append("ami_name_filter: empty. Give an image name pattern, e.g. ubuntu/images/*noble-24.04*.")
    elif name_filter != name_filter.strip() or not name_filter.isprintable():
        # No AMI name has a line break or spaces at its ends: such a filter matches no image, and
        # compute would fail after the network exists.
        errors.append(
            f"ami_name_filter: {name_filter!r} has a line break, a control character or spaces at its ends, so no "
            "image would match. Write the pattern alone."
        )
    return errors


def check_run_settings(config: dict[str, Any]) -> list[str]:
    """Settings read after the infra exists (configure, summary, teardown): refused here, not there."""
    errors: list[str] = []
    timeout = as_int(config.get("configure_connect_timeout", 600))
    if timeout is None or not 1 <= timeout <= 7200:
        errors.append(
            f"configure_connect_timeout: {config.get('configure_connect_timeout')!r} is not a number of seconds from 1 "
            "to 7200. Set one (600 waits ten minutes for a new instance's SSH)."
        )
    url = config.get("voila_public_url", "")
    if not isinstance(url, str) or (url and not URL_RE.fullmatch(url)):
        errors.append(
            f"voila_public_url: {url!r} is not an http:// or https:// URL ending in /. Set e.g. "
            "https://dashboards.example.org/, or '' for the voila host's public address."
        )
    scan = as_int(config.get("teardown_key_scan_limit", 100000))
    if scan is None or scan < 0:
        errors.append(
            f"teardown_key_scan_limit: {config.get('teardown_key_scan_limit')!r} is not a whole number of object "
            "versions (0 or more). Set one, e.g. 100000."
        )
    if config.get("vpn_provider") == "client_vpn":
        days = as_int(config.get("client_vpn_valid_days", 825))
        if days is None or not 1 <= days <= 3650:
            errors.append(
                f"client_vpn_valid_days: {config.get('client_vpn_valid_days')!r} is not a number of days from 1 to "
                "3650. Set one (825, the default, is a little over two years)."
            )
    return errors


def _is_this_machine(host: str) -> bool:
    """Whether `host` (an endpoint URL's host) is this machine: localhost, a loopback address, or an address
    a socket can bind here (the lab's emulator listens on the docker0 bridge's). Only literals are tried:
    a name other than localhost is not resolved (that could ask a DNS server elsewhere)."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if address.is_loopback:
        return True
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((str(address), 0))
    except OSError:
        return False
    return True


def check_lab_guard(config: dict[str, Any]) -> list[str]:
    """lab_mode (lab/lab.yml) belongs to the local emulator: its settings write the emulator's dummy keys into
    the hosts' environment files and stand containers in for instances. Against real AWS they would put
    static keys on real hosts, so lab_mode is refused unless AWS_ENDPOINT_URL is an address of this machine."""
    lab = config.get("lab_mode", False)
    if not is_bool(lab) or not as_bool(lab):
        return []
    url = config.get("aws_endpoint_url") or ""
    fix = (
        "lab/lab.yml is for `make lab` only (the emulator on this machine). Against AWS, leave out -e @lab/lab.yml "
        "and give your own settings file (README, On your AWS account)."
    )
    if not url:
        return [f"lab_mode: true, but AWS_ENDPOINT_URL is not set: this run would act on real AWS. {fix}"]
    host = urlsplit(url).hostname or ""
    if not _is_this_machine(host):
        return [f"lab_mode: true, but AWS_ENDPOINT_URL {url!r} is not an address of this machine. {fix}"]
    return []


def bucket_name_errors(value: Any, name: str = "notebooks_bucket") -> list[str]:
    """S3 naming rules, plus no dots: the bucket is TLS-only and dotted names break its certificate.
    Every problem of the name goes in one message."""
    if not isinstance(value, str) or not BUCKET_RE.fullmatch(value):
        return [
            f"{name}: {value!r} is not a legal bucket name. Use 3-63 characters: lowercase letters, digits and "
            "hyphens, starting and ending with a letter or digit."
        ]
    problems = []
    if "." in value:
        problems.append("contains dots, which break HTTPS to a TLS-only bucket; use hyphens")
    for prefix in ("xn--", "sthree-", "amzn-s3-demo-"):
        if value.startswith(prefix):
            problems.append(f"starts with the reserved prefix '{prefix}'")
    for suffix in ("-s3alias", "--ol-s3", "--x-s3", "--table-s3", ".mrap"):
        if value.endswith(suffix):
            problems.append(f"ends with the reserved suffix '{suffix}'")
    try:
        ipaddress.ip_address(value)
        problems.append("looks like an IP address")
    except ValueError:
        pass
    return [f"{name}: {value!r} {'; '.join(problems)}. Choose another name."] if problems else []


def read_buckets_errors(value: Any) -> list[str]:
    """s3_endpoint_read_buckets: a list of other accounts' bucket names (open data) the research
    subnet may read through the S3 endpoint. S3's naming rules (dots allowed: these buckets are not
    ours), no duplicates. Not a pattern: a wildcard would let a kernel read, and so signal to, any
    bucket whose name matches (request logs of an outsider's bucket carry what the request says)."""
    name = "s3_endpoint_read_buckets"
    if not isinstance(value, list):
        return [f"{name}: {value!r} is not a list of bucket names. Use a list, e.g. [noaa-ghcn-pds], or []."]
    errors = []
    for item in value:
        if isinstance(item, str) and ("*" in item or "?" in item):
            errors.append(f"{name}: {item!r} is a pattern. Name each bucket the research hosts may read.")
        elif not isinstance(item, str) or not BUCKET_RE.fullmatch(item) or ".." in item:
            errors.append(
                f"{name}: {item!r} is not a legal bucket name (3-63 lowercase letters, digits, dots, hyphens)."
            )
    duplicates = sorted({b for b in value if isinstance(b, str) and value.count(b) > 1})
    if duplicates:
        errors.append(f"{name}: {', '.join(duplicates)} listed more than once. List each bucket once.")
    return errors


def bucket_names_errors(buckets: Any) -> list[str]:
    """Every name of env_buckets ({variable: name}) legal (bucket_name_errors), and no two the same."""
    if not isinstance(buckets, dict):
        return [f"env_buckets: {buckets!r} is not a mapping of variable to bucket name."]
    errors = [e for var, name in buckets.items() for e in bucket_name_errors(name, var)]
    seen: dict[str, str] = {}
    for var, name in buckets.items():
        if isinstance(name, str) and name in seen:
            errors.append(f"{var}: {name} is also {seen[name]}. Give every bucket its own name.")
        elif isinstance(name, str):
            seen[name] = var
    return errors


# CloudWatch Logs' retention values (PutRetentionPolicy).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
LAMBDA_RUNTIME_RE = re.compile(r"python3\.(1[2-9]|[2-9][0-9])")
S3_KEY_PART_RE = re.compile(r"[^\x00-\x1f\x7f]{0,1024}")


def check_lambda_pipeline(config: dict[str, Any]) -> list[str]:
    """lambda_pipeline and its settings (the bucket names hold the account id: bucket_names_errors)."""
    if "lambda_pipeline" not in config:
        return []
    if not is_bool(config["lambda_pipeline"]):
        return [f"lambda_pipeline: {config['lambda_pipeline']!r} is not true or false. Set it to a boolean."]
    if not config["lambda_pipeline"]:
        return []
    errors = []
    for name in ("lambda_pipeline_prefix", "lambda_pipeline_suffix"):
        value = config.get(name, "")
        if not isinstance(value, str) or not S3_KEY_PART_RE.fullmatch(value):
            errors.append(
                f"{name}: {value!r} is not part of an S3 key (a string of at most 1024 characters, no control "
                'characters). Quote it, e.g. ".png".'
            )
    runtime = config.get("lambda_pipeline_runtime", "python3.13")
    if not isinstance(runtime, str) or not LAMBDA_RUNTIME_RE.fullmatch(runtime):
        errors.append(
            f"lambda_pipeline_runtime: {runtime!r} is not a current Python runtime of Lambda. Use python3.13 "
            "(or python3.12, python3.14)."
        )
    limits = {"lambda_pipeline_memory_mb": (128, 10240), "lambda_pipeline_timeout_seconds": (1, 900)}
    for name, (low, high) in limits.items():
        raw = config.get(name, low)
        value = as_int(raw)
        if value is None or not low <= value <= high:
            errors.append(f"{name}: {raw!r} is not a whole number from {low} to {high}, the range Lambda allows.")
    raw = config.get("lambda_pipeline_log_retention_days", 90)
    if as_int(raw) not in LOG_RETENTION_DAYS:
        errors.append(
            f"lambda_pipeline_log_retention_days: {raw!r} is not a retention CloudWatch Logs offers. Use one of "
            + ", ".join(map(str, LOG_RETENTION_DAYS))
            + "."
        )
    return errors


class FilterModule:
    """research-env preflight: single settings."""

    def filters(self) -> dict[str, Any]:
        return {
            "bucket_name_errors": bucket_name_errors,
            "bucket_names_errors": bucket_names_errors,
            "run_settings_errors": check_run_settings,
        }
