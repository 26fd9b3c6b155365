"""lab_mode belongs to the emulator on this machine: preflight refuses it against anything else (issue 16: lab/lab.yml
without an emulator would write the lab's dummy keys into the sync jobs' environment on real hosts)."""

from __future__ import annotations

import fcntl
import socket
import struct

import pytest
from ansible_collections.research_env.core.plugins.filter.preflight import config_errors
from ansible_collections.research_env.core.plugins.filter.preflight_settings import check_lab_guard


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:47343",
        "http://localhost:5000/",
        "http://[::1]:5000",
        "http://127.0.0.5:5000",  # all of 127.0.0.0/8 is loopback
    ],
)
def test_lab_mode_against_the_emulator_here_passes(url):
    assert check_lab_guard({"lab_mode": True, "aws_endpoint_url": url}) == []


def interface_addresses() -> list[str]:
    """The IPv4 addresses of this machine's interfaces other than loopback (Linux's SIOCGIFADDR, no tool needed)."""
    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            try:
                answer = fcntl.ioctl(probe.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))  # SIOCGIFADDR
            except OSError:
                continue  # no IPv4 address on it
            address = socket.inet_ntoa(answer[20:24])
            if not address.startswith("127."):
                found.append(address)
    return found


def test_an_address_this_machine_holds_passes():
    # The lab's emulator listens on the docker0 bridge's address: an address of this machine that is not loopback.
    addresses = interface_addresses()
    assert addresses, "this machine has no IPv4 address but loopback to try"
    assert check_lab_guard({"lab_mode": "true", "aws_endpoint_url": f"http://{addresses[0]}:4566"}) == []


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("", "AWS_ENDPOINT_URL is not set: this run would act on real AWS"),
        ("http://192.0.2.10:4566", "'http://192.0.2.10:4566' is not an address of this machine"),
        ("https://s3.us-east-1.amazonaws.com", "is not an address of this machine"),
        # A name is not resolved (that could ask a DNS server elsewhere): only localhost counts.
        ("http://emulator.example.org:4566", "is not an address of this machine"),
    ],
)
def test_lab_mode_anywhere_else_is_refused(url, fragment):
    (message,) = check_lab_guard({"lab_mode": True, "aws_endpoint_url": url})
    assert message.startswith("lab_mode: true, but ") and fragment in message
    assert "leave out -e @lab/lab.yml" in message


@pytest.mark.parametrize("lab_mode", [False, "false", None])
def test_without_lab_mode_there_is_nothing_to_guard(lab_mode):
    assert check_lab_guard({"lab_mode": lab_mode, "aws_endpoint_url": ""}) == []


def test_config_errors_runs_the_guard():
    errors = config_errors({"lab_mode": True, "aws_endpoint_url": ""})
    assert any(e.startswith("lab_mode: true, but AWS_ENDPOINT_URL is not set") for e in errors)
