"""End to end: `make lab` from nothing, the environment seen the way its users see it, a second
`make lab` that changes nothing, `make lab-destroy` that leaves nothing.

The tests run in file order on one lab (module-scoped fixture): it takes the better part of ten
minutes to build. Outputs (logs of every make run, the Voila screenshot, the rendered DOM) go to
test-artifacts/e2e/.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
from awsstate import all_resources

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-artifacts" / "e2e"
ENV = "lab"
LAB_TIMEOUT = 60 * 45
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)
JUPYTER_ROOT = "/srv/jupyter/work"
JOBS = "/opt/s3-sync/jobs"


@dataclass
class Lab:
    summary: dict
    first_run: str
    destroyed: bool = False
    notes: dict = field(default_factory=dict)

    @property
    def voila_url(self) -> str:
        return self.summary["voila_url"]

    def host(self, role: str) -> dict:
        return self.summary["hosts"][role]


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_", "MOLECULE_"))}
    env["ANSIBLE_NOCOLOR"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def make(target: str, log: str, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    proc = subprocess.run(
        ["make", target, *args],
        cwd=ROOT,
        env={**clean_env(), **(env or {})},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=LAB_TIMEOUT,
        check=False,
    )
    (OUT / log).write_text(proc.stdout)
    print(
        f"make {target} {' '.join(args)}: rc={proc.returncode} in {time.monotonic() - started:.0f}s (log: {OUT / log})"
    )
    if check:
        assert proc.returncode == 0, (
            f"make {target} failed (rc {proc.returncode}), see {OUT / log}:\n{proc.stdout[-4000:]}"
        )
    return proc


def recap(output: str) -> dict[str, dict[str, int]]:
    """The counters of every PLAY RECAP of a run (`make lab` runs several playbooks), summed per host."""
    names = ("ok", "changed", "unreachable", "failed")
    total: dict[str, dict[str, int]] = {}
    for section in output.split("PLAY RECAP")[1:]:
        for m in RECAP.finditer(section):
            counters = total.setdefault(m[1], dict.fromkeys(names, 0))
            for name, value in zip(names, m.groups()[1:], strict=True):
                counters[name] += int(value)
    return total


def docker(*args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], text=True, capture_output=True, check=check, **kw)


def http_get(url: str, timeout: float = 60) -> tuple[int, str, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (127.0.0.1 only)
            return resp.status, resp.read().decode("utf-8", "replace"), dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace"), dict(err.headers)


def emulator_clients() -> dict:
    state = json.loads((ROOT / ".state" / "lab" / "emulator" / "emulator.json").read_text())
    kw = {
        "endpoint_url": state["url"],
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    return {
        name: boto3.client(name, **kw)
        for name in ("ec2", "s3", "iam", "kms", "efs", "ssm", "lambda", "logs", "events", "budgets")
    }


def notebook(code: str) -> str:
    nb = {
        "cells": [
            {"cell_type": "markdown", "id": "title", "metadata": {}, "source": ["# e2e publishing check"]},
            {
                "cell_type": "code",
                "id": "calc",
                "metadata": {},
                "execution_count": None,
                "outputs": [],
                "source": [code],
            },
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(nb)


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    # From nothing: whatever an earlier run left is destroyed first.
    make("lab-destroy", "00-lab-destroy-before.log", check=False)
    shutil.rmtree(ROOT / "artifacts" / ENV, ignore_errors=True)
    up = make("lab", "01-make-lab.log")
    summary = json.loads((ROOT / "artifacts" / ENV / "summary.json").read_text())
    the_lab = Lab(summary=summary, first_run=up.stdout)
    yield the_lab
    if not the_lab.destroyed:
        make("lab-destroy", "99-lab-destroy-cleanup.log", check=False)


def test_make_lab_builds_everything_and_prints_the_summary(lab: Lab):
    counters = recap(lab.first_run)
    assert {"localhost", "lab-vpn", "lab-jupyter", "lab-voila", "lab-filegator"} <= set(counters), counters
    assert all(c["failed"] == 0 and c["unreachable"] == 0 for c in counters.values()), counters
    for key in ("voila_url", "jupyter_url", "notebooks_bucket", "aws_endpoint_url"):
        assert lab.summary.get(key), f"summary.json has no {key}: {lab.summary}"
    assert lab.summary["voila_url"].startswith("http://127.0.0.1:")
    assert lab.summary["jupyter_url"] == f"http://{lab.host('jupyter')['private_ip']}:8888/"
    # The cost report ran before the summary: its totals are in it, its files beside it.
    assert lab.summary["cost"]["monthly_usd"] > 0 and lab.summary["cost"]["months"] == 3, lab.summary["cost"]
    assert Path(lab.summary["cost"]["report"]).is_file()
    # The summary is printed too, with the substitutes lab mode makes.
    for text in ("Voila (public): " + lab.voila_url, "Jupyter through the vpn host: ssh", "Lab mode substitutes:"):
        assert text in lab.first_run
    # The posture checks ran before the summary, on AWS's side and on every host: all pass. The lab's
    # emulator keys in the sync jobs' and Jupyter's environment files are the one declared exception.
    posture = json.loads((ROOT / "artifacts" / ENV / "posture.json").read_text())
    assert posture["passed"] is True, posture
    assert [c for c in posture["checks"] if c["status"] != "pass" and c["check"] != "nat_released"] == []
    keys = {c["resource"]: c["detail"] for c in posture["checks"] if c["check"] == "no_static_aws_keys"}
    assert set(keys) == {lab.host(role)["name"] for role in ("vpn", "voila", "jupyter", "filegator")}, keys
    assert "declared" in keys[lab.host("jupyter")["name"]] and "declared" in keys[lab.host("voila")["name"]], keys
    assert keys[lab.host("vpn")["name"]] == "no AWS key in a file", keys
    assert [c["resource"] for c in posture["checks"] if c["check"] == "voila_answers"] == [
        f"{lab.host('voila')['name']} {lab.voila_url}"
    ]


def test_the_voila_url_serves_the_sample_notebook_executed(lab: Lab):
    status, body, _ = http_get(lab.voila_url + "voila/render/welcome.ipynb", timeout=120)
    assert status == 200, body[:2000]
    # 333833500 is computed by the kernel: the notebook's source does not contain it.
    assert "333833500" in body
    assert "333833500" not in (ROOT / "lab" / "notebooks" / "welcome.ipynb").read_text()


def test_headless_chromium_renders_the_voila_page(lab: Lab):
    browser = subprocess.run(
        ["scripts/browser.sh"], cwd=ROOT, text=True, capture_output=True, check=True
    ).stdout.split()[-1]
    url = lab.voila_url + "voila/render/welcome.ipynb"
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars"]
    common += ["--window-size=1280,960", "--virtual-time-budget=30000"]
    dom = subprocess.run([*common, "--dump-dom", url], text=True, capture_output=True, timeout=180, check=True).stdout
    (OUT / "voila-dom.html").write_text(dom)
    shot = OUT / "voila-welcome.png"
    shot.unlink(missing_ok=True)
    subprocess.run([*common, f"--screenshot={shot}", url], capture_output=True, timeout=180, check=True)
    # The rendered page, not an error or a spinner: the title, the computed sum and the table.
    assert "Welcome to the research environment" in dom
    assert "Sum of the first 1000 squares, computed on the server: 333833500" in dom
    assert re.search(r"<table[^>]*dataframe", dom), "the pandas table is not in the rendered DOM"
    assert shot.stat().st_size > 20_000, "the screenshot is (nearly) empty"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_jupyter_is_private(lab: Lab):
    jupyter = lab.host("jupyter")
    # Not published on this machine.
    ports = json.loads(docker("inspect", "--format", "{{json .NetworkSettings.Ports}}", jupyter["name"]).stdout)
    assert not any(ports.values()), f"the jupyter container publishes ports: {ports}"
    # From the internet side (the production network, where the public Voila host lives) no
    # research address answers, neither Jupyter nor SSH.
    for port in (8888, 22):
        probe = docker(
            "exec",
            lab.host("voila")["name"],
            "curl",
            "-sS",
            "-m",
            "5",
            "-o",
            "/dev/null",
            f"http://{jupyter['private_ip']}:{port}/",
            check=False,
        )
        assert probe.returncode != 0, f"{jupyter['private_ip']}:{port} answered from the production network"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_ssh_tunnel_through_the_bastion_reaches_jupyter_login(lab: Lab):
    key = ROOT / ".state" / "lab" / "id_ed25519"
    port = free_port()
    tunnel = subprocess.Popen(
        [
            "ssh", "-i", str(key), "-p", "22022", "-N", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-L", f"127.0.0.1:{port}:{lab.host('jupyter')['private_ip']}:8888", "ubuntu@127.0.0.1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        status, body = None, ""
        while time.monotonic() < deadline:
            try:
                status, body, _ = http_get(f"http://127.0.0.1:{port}/login", timeout=10)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(1)
        assert status == 200, f"no login page through the tunnel ({status}): {tunnel.stderr and tunnel.poll()}"
        assert "password" in body.lower() or "token" in body.lower()
        # Authentication is on: the API refuses an anonymous caller.
        status, _, _ = http_get(f"http://127.0.0.1:{port}/api/contents", timeout=10)
        assert status in (401, 403)
    finally:
        tunnel.terminate()
        tunnel.wait(10)


@dataclass
class VpnClient:
    """A member's machine: a container on a network of its own (none of the environment's), joined
    only by the vpn container, which stands in for the internet between them."""

    name: str
    server: str  # the vpn container's address on that network

    def profile(self, text: str, member: str) -> None:
        """Install a profile, its `remote` pointed at the vpn container: the one lab difference (the
        profile itself names 127.0.0.1, where lab mode publishes the VPN's port for this machine)."""
        local = re.sub(r"^remote \S+ (\d+)$", rf"remote {self.server} \1", text, flags=re.MULTILINE)
        assert local != text, "the profile has no remote line"
        docker("exec", "-i", self.name, "sh", "-c", f"umask 077; cat > /etc/openvpn/{member}.ovpn", input=local)

    def connect(self, member: str) -> None:
        docker("exec", self.name, "sh", "-c", "pkill -x openvpn; rm -f /tmp/openvpn.log; true")
        docker(
            "exec", self.name, "openvpn", "--config", f"/etc/openvpn/{member}.ovpn", "--daemon",
            "--log", "/tmp/openvpn.log",
        )  # fmt: skip

    def disconnect(self) -> None:
        docker("exec", self.name, "sh", "-c", "pkill -x openvpn; sleep 1; true")

    def get(self, url: str, seconds: int) -> str | None:
        """The page at url, retried for some seconds; None when nothing answered."""
        deadline = time.monotonic() + seconds
        while True:
            probe = docker("exec", self.name, "curl", "-sS", "-m", "3", url, check=False)
            if probe.returncode == 0:
                return probe.stdout
            if time.monotonic() > deadline:
                return None
            time.sleep(1)

    def log(self) -> str:
        return docker("exec", self.name, "cat", "/tmp/openvpn.log", check=False).stdout


@pytest.fixture(scope="module")
def vpn_client(lab: Lab) -> Iterator[VpnClient]:
    run = uuid.uuid4().hex[:8]
    name, network = f"research-env-e2e-vpn-client-{run}", f"research-env-e2e-outside-{run}"
    image = os.environ.get("RESEARCH_ENV_IMAGE", "research-env-host:latest")
    docker("network", "create", network)
    try:
        docker("network", "connect", network, lab.host("vpn")["name"])
        docker(
            "run", "-d", "--name", name, "--network", network, "--cap-add", "NET_ADMIN", "--device", "/dev/net/tun",
            image, "sleep", "infinity",
        )  # fmt: skip
        docker("exec", name, "sh", "-c", "apt-get update -qq && apt-get install -y -qq openvpn >/dev/null", timeout=300)
        server = docker(
            "inspect", "--format", f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}',
            lab.host("vpn")["name"],
        ).stdout.strip()  # fmt: skip
        yield VpnClient(name=name, server=server)
    finally:
        docker("rm", "-f", name, check=False)
        docker("network", "disconnect", "-f", network, lab.host("vpn")["name"], check=False)
        docker("network", "rm", network, check=False)


def test_a_vpn_profile_reaches_jupyter_only_through_the_tunnel(lab: Lab, vpn_client: VpnClient):
    profile = ROOT / "artifacts" / ENV / "vpn" / "alice.ovpn"
    assert oct(profile.stat().st_mode & 0o777) == "0o600", "the profile holds a private key: 0600"
    assert lab.summary["vpn"]["profiles"] == {"alice": str(profile)}, lab.summary["vpn"]
    assert "VPN (openvpn): profiles " + str(profile) in lab.first_run
    login = f"http://{lab.host('jupyter')['private_ip']}:8888/login"
    # Not from the member's network without the tunnel.
    assert vpn_client.get(login, seconds=0) is None, "Jupyter answers the client without the VPN"
    vpn_client.profile(profile.read_text(), "alice")
    vpn_client.connect("alice")
    try:
        page = vpn_client.get(login, seconds=30)
        assert page is not None, f"no login page through the tunnel; client log:\n{vpn_client.log()}"
        assert "password" in page.lower() or "token" in page.lower()
        # Only the private subnet goes through the tunnel: the default route stays the client's own.
        routes = docker("exec", vpn_client.name, "ip", "-4", "route").stdout
        assert re.search(r"^10\.0\.3\.0/24 .*dev tun", routes, re.MULTILINE), routes
        assert re.search(r"^default .*dev eth", routes, re.MULTILINE), routes
        assert not re.search(r"^(0\.0\.0\.0/1|128\.0\.0\.0/1) .*dev tun", routes, re.MULTILINE), routes
    finally:
        vpn_client.disconnect()
    assert vpn_client.get(login, seconds=0) is None, "Jupyter still answers after the tunnel closed"


def test_filegator_answers_through_the_tunnel_only(lab: Lab, vpn_client: VpnClient):
    """FileGator on the filegator host: at its private address through alice's tunnel, where she logs in
    with the password site.yml generated into SSM; not from her network without the tunnel, not from the
    public Voila host, not published on this machine."""
    filegator = lab.host("filegator")
    url = f"http://{filegator['private_ip']}:8080/"
    secrets_path = "/research-env/lab/filegator/"
    assert lab.summary["filegator"]["url"] == url, lab.summary["filegator"]
    assert lab.summary["filegator"]["admin_password_parameter"] == secrets_path + "admin"
    assert lab.summary["filegator"]["member_password_parameters"] == {"alice": secrets_path + "alice"}
    printed = " ".join(lab.first_run.split())  # the summary's long lines are wrapped
    assert f"FileGator (private, over the VPN): {url} as admin, password in SSM {secrets_path}admin" in printed
    ports = json.loads(docker("inspect", "--format", "{{json .NetworkSettings.Ports}}", filegator["name"]).stdout)
    assert not any(ports.values()), f"the filegator container publishes {ports}"
    assert vpn_client.get(url, seconds=0) is None, "FileGator answers the member's network without the VPN"
    from_voila = docker("exec", lab.host("voila")["name"], "curl", "-sS", "-m", "3", url, check=False)
    assert from_voila.returncode != 0, "the public Voila host reaches FileGator"
    password = emulator_clients()["ssm"].get_parameter(Name=secrets_path + "alice", WithDecryption=True)
    password = password["Parameter"]["Value"]
    assert password not in lab.first_run
    vpn_client.connect("alice")
    try:
        page = vpn_client.get(url, seconds=30)
        assert page is not None, f"no FileGator page through the tunnel; client log:\n{vpn_client.log()}"
        assert "<title>FileGator</title>" in page, page[:1000]
        # FileGator's own login, as its page does it: a session and a CSRF token, then the POST.
        login = (
            f"curl -sS -m 10 -c /tmp/fg.jar -D /tmp/fg.head -o /dev/null '{url}?r=/getuser'"
            " && token=$(sed -n 's/^[Xx]-[Cc][Ss][Rr][Ff]-[Tt]oken: *//p' /tmp/fg.head | tr -d '\\r')"
            f" && curl -sS -m 10 -b /tmp/fg.jar -H \"X-CSRF-Token: $token\" -H 'Content-Type: application/json'"
            f" --data-binary @- '{url}?r=/login'"
        )
        answer = docker(
            "exec", "-i", vpn_client.name, "sh", "-c", login,
            input=json.dumps({"username": "alice", "password": password}),
        ).stdout  # fmt: skip
        assert json.loads(answer)["data"]["username"] == "alice", answer[:1000]
    finally:
        vpn_client.disconnect()


def test_publishing_flow_reaches_voila_and_nothing_else_does(lab: Lab):
    jupyter, voila = lab.host("jupyter")["name"], lab.host("voila")["name"]
    tag = uuid.uuid4().hex[:8]
    a, b = 10_000 + secrets.randbelow(90_000), 10_000 + secrets.randbelow(90_000)
    public, private = f"flow-{tag}.ipynb", f"private-{tag}.ipynb"
    for folder, name in (("published", public), ("notebooks", private)):
        docker(
            "exec", "-i", "-u", "jupyter", jupyter, "sh", "-c", f"cat > {JUPYTER_ROOT}/{folder}/{name}",
            input=notebook(f"print('PRODUCT', {a} * {b})"),
        )  # fmt: skip
    # A researcher saves, cron pushes minutes later. (The push decides from the bytes, not from
    # timestamps: a save within 2 s of a push is only read again by the next cycle, not sent again;
    # roles/s3_sync_cron/README.md.)
    time.sleep(1.1)
    # The commands cron runs, as the users cron runs them: push on Jupyter, then pull on Voila.
    for job in ("published", "notebooks"):
        docker("exec", "-u", "jupyter", jupyter, f"{JOBS}/{job}.sh")
    docker("exec", "-u", "voila", voila, f"{JOBS}/published.sh")
    for host, user, job in ((jupyter, "jupyter", "published"), (voila, "voila", "published")):
        log = docker("exec", "-u", user, host, "tail", "-n", "5", f"/var/log/s3-sync/{job}.log").stdout
        assert "result=ok" in log, f"{host} {job}: {log}"

    # Both reached the bucket; only the published one reached the Voila host, rendered.
    s3 = emulator_clients()["s3"]
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=lab.summary["notebooks_bucket"]).get("Contents", [])}
    assert {f"published/{public}", f"notebooks/{private}"} <= keys
    status, body, _ = http_get(lab.voila_url + f"voila/render/{public}", timeout=120)
    assert status == 200, body[:2000]
    assert f"PRODUCT {a * b}" in body
    status, _, _ = http_get(lab.voila_url + f"voila/render/{private}", timeout=60)
    assert status == 404
    served = docker("exec", voila, "find", "/", "-xdev", "-name", private, check=False).stdout
    assert served.strip() == "", f"the unpublished notebook reached the Voila host: {served}"


# The example notebook's code cells, run in order in one namespace by the kernels' Python (the venv's),
# as the Jupyter service's user with the service's own environment: what a researcher's kernel does.
RUN_NOTEBOOK = """
import json, sys
namespace = {}
for cell in json.load(open(sys.argv[1]))["cells"]:
    if cell["cell_type"] == "code":
        exec("".join(cell["source"]), namespace)
"""


def test_an_image_uploaded_from_jupyter_comes_back_processed(lab: Lab):
    jupyter = lab.host("jupyter")["name"]
    example = f"{JUPYTER_ROOT}/notebooks/image-pipeline.ipynb"
    started = time.monotonic()
    run = docker(
        "exec", jupyter, "sh", "-c",
        "set -a && . /etc/jupyter/environment && set +a && cd /srv/jupyter && "
        f"HOME=/srv/jupyter exec runuser -u jupyter -- /opt/jupyter/venv/bin/python -c '{RUN_NOTEBOOK}' {example}",
        check=False, timeout=180,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert time.monotonic() - started < 90, "the result took more than a minute to appear"
    # What the notebook uploaded, and what the function wrote, read back from the emulator.
    clients = emulator_clients()
    s3, logs = clients["s3"], clients["logs"]
    uploads = s3.list_objects_v2(Bucket=lab.summary["lambda_pipeline"]["input_bucket"], Prefix="uploads/")["Contents"]
    source = max(uploads, key=lambda o: o["LastModified"])["Key"]
    result = source.removesuffix(".png") + "-processed.png"
    assert result in run.stdout, run.stdout
    body = s3.get_object(Bucket=lab.summary["lambda_pipeline"]["input_bucket"], Key=source)["Body"].read()
    out = s3.get_object(Bucket=lab.summary["lambda_pipeline"]["output_bucket"], Key=result)
    assert out["Body"].read() == body and body.startswith(b"\x89PNG")
    assert out["ServerSideEncryption"] == "aws:kms"
    # The run is in the function's log group, with the key it processed.
    group = "/aws/lambda/lab-image-pipeline"
    events = logs.filter_log_events(logGroupName=group)["events"]
    assert any(source in e["message"] for e in events), [e["message"] for e in events][-20:]


EXFIL = """
import sys, boto3
from botocore.exceptions import ClientError
s3 = boto3.client("s3")
for bucket, key in zip(sys.argv[1::2], sys.argv[2::2]):
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=b"research data")
        print("PUT", bucket, "ok")
    except ClientError as e:
        print("PUT", bucket, e.response["Error"]["Code"], e.response["Error"]["Message"])
"""


def test_a_kernel_can_copy_data_only_to_the_environments_buckets(lab: Lab):
    """From the Jupyter host, as its kernels run (the jupyter user, Jupyter's environment): a copy into
    the notebooks bucket passes the S3 endpoint; into a bucket outside the environment, existing or not,
    the endpoint's policy refuses it (docs/security.md)."""
    jupyter = lab.host("jupyter")["name"]
    s3 = emulator_clients()["s3"]
    outside = f"outside-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=outside)
    ours, key = lab.summary["notebooks_bucket"], f"egress-check/{uuid.uuid4().hex}.txt"
    try:
        run = docker(
            "exec", jupyter, "sh", "-c",
            "set -a && . /etc/jupyter/environment && set +a && cd /srv/jupyter && "
            f"HOME=/srv/jupyter exec runuser -u jupyter -- /opt/jupyter/venv/bin/python -c '{EXFIL}' "
            f"{ours} {key} {outside} stolen.txt {outside}-missing stolen.txt",
            check=False, timeout=120,
        )  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
        assert f"PUT {ours} ok" in run.stdout, run.stdout
        for refused in (outside, f"{outside}-missing"):
            assert re.search(
                rf"PUT {refused} AccessDenied .*no VPC endpoint policy allows the s3:PutObject", run.stdout
            ), run.stdout
        assert s3.list_objects_v2(Bucket=outside).get("KeyCount") == 0
    finally:
        s3.delete_bucket(Bucket=outside)
        versions = s3.list_object_versions(Bucket=ours, Prefix=key)
        for v in versions.get("Versions", []) + versions.get("DeleteMarkers", []):
            s3.delete_object(Bucket=ours, Key=key, VersionId=v["VersionId"])


def test_every_host_applies_security_updates_on_its_own(lab: Lab):
    """roles/os_updates on every host: apt, as it reads its configuration, allows the security pocket
    alone (the distribution's own origin list replaced), reboots only at 04:00, and its daily timers
    run (docs/security.md#os-security-updates)."""
    for role in ("vpn", "voila", "jupyter", "filegator"):
        name = lab.host(role)["name"]
        dump = docker("exec", name, "apt-config", "dump", timeout=60).stdout
        origins = re.findall(r'^Unattended-Upgrade::Origins-Pattern:: "(.*)";$', dump, re.M)
        assert origins == ["origin=Debian,codename=${distro_codename}-security,label=Debian-Security"], (role, origins)
        assert not re.search(r"^Unattended-Upgrade::Allowed-Origins:: ", dump, re.M), role
        assert 'Unattended-Upgrade::Automatic-Reboot-Time "04:00";' in dump, role
        assert 'APT::Periodic::Unattended-Upgrade "1";' in dump, role
        timers = docker(
            "exec", name, "systemctl", "is-enabled", "apt-daily.timer", "apt-daily-upgrade.timer", timeout=60
        )
        assert timers.stdout.split() == ["enabled", "enabled"], (role, timers.stdout)


def test_verify_names_a_key_left_on_a_host_and_voila_gone(lab: Lab):
    """Issue 16's host checks with their faults: an access key in root's ~/.aws on the jupyter host,
    and nginx stopped on the voila host. `--tags verify` fails naming both checks and hosts; with the
    faults taken back it passes (the second make lab below runs it again)."""
    jupyter, voila = lab.host("jupyter")["name"], lab.host("voila")["name"]
    credentials = "[default]\naws_access_key_id = AKIAE2ETESTKEY000001\naws_secret_access_key = e2e-not-a-secret\n"
    docker("exec", jupyter, "sh", "-c", f"mkdir -p /root/.aws && printf '{credentials}' > /root/.aws/credentials")
    docker("exec", voila, "systemctl", "stop", "nginx")
    try:
        out = make("lab", "02-verify-faults.log", "ARGS=--tags verify", check=False)
        assert out.returncode != 0, out.stdout[-3000:]
        posture = json.loads((ROOT / "artifacts" / ENV / "posture.json").read_text())
        failed = {(c["check"], c["resource"].split()[0]) for c in posture["checks"] if c["status"] == "fail"}
        assert failed == {("no_static_aws_keys", jupyter), ("voila_answers", voila)}, posture
        assert f"no_static_aws_keys failed on {jupyter}: /root/.aws/credentials: …0001" in out.stdout
        assert "e2e-not-a-secret" not in out.stdout and "AKIAE2ETESTKEY000001" not in out.stdout
    finally:
        docker("exec", jupyter, "rm", "-rf", "/root/.aws")
        docker("exec", voila, "systemctl", "start", "nginx")


@pytest.fixture(scope="module")
def second_run(lab: Lab) -> str:
    """`make lab` again, after the publishing flow: lab/lab.yml sets sync_now, so every run also
    runs one sync cycle on every host and verifies it (what `--tags sync` does on its own)."""
    return make("lab", "02-make-lab-again.log").stdout


def test_a_second_make_lab_changes_nothing(second_run: str):
    counters = recap(second_run)
    assert {"localhost", "lab-vpn", "lab-jupyter", "lab-voila"} <= set(counters)
    assert all(c["failed"] == 0 and c["unreachable"] == 0 for c in counters.values()), counters
    changed = {host: c["changed"] for host, c in counters.items() if c["changed"]}
    assert not changed, f"a second make lab changed something: {changed}"


def test_sync_runs_a_cycle_and_verifies_no_drift(second_run: str):
    # s3_sync_verify ran on both hosts with fail_on_drift: each job's check passed.
    checks = re.findall(
        r"TASK \[s3_sync_cron : run_now \| Verify every job against the bucket\][^\n]*\n(.*?)(?=\nTASK |\nPLAY )",
        second_run,
        re.S,
    )
    assert len(checks) == 2, "the verification did not run on both hosts"
    assert "ok: [lab-jupyter] => (item=notebooks)" in checks[0]
    assert "ok: [lab-jupyter] => (item=published)" in checks[0]
    assert "ok: [lab-voila] => (item=published)" in checks[1]
    assert not any("failed:" in c or "fatal:" in c for c in checks), checks


def test_limit_voila_fixes_drift_on_that_host_alone(lab: Lab):
    """The drift fix of the README: `site.yml --limit voila` (here through `make lab ARGS=...`).
    The localhost plays are left out, so configure asks AWS for the account the bucket is named
    after; only the Voila host is touched."""
    voila, url = lab.host("voila")["name"], lab.voila_url + "voila/render/welcome.ipynb"
    # Drift by hand: the site is unlinked and nginx stopped.
    docker("exec", voila, "rm", "/etc/nginx/sites-enabled/voila.conf")
    docker("exec", voila, "systemctl", "stop", "nginx")
    try:
        broken = http_get(url, timeout=30)[0]
    except (urllib.error.URLError, ConnectionError):
        broken = None
    assert broken is None, f"nginx still answers ({broken}) after it was stopped"

    out = make("lab", "03-make-lab-limit-voila.log", "ARGS=--limit voila").stdout
    site = recap("PLAY RECAP" + out.split("PLAY RECAP")[-1])
    assert set(site) == {"lab-voila"}, site
    assert site["lab-voila"]["failed"] == 0 and site["lab-voila"]["unreachable"] == 0, site
    assert site["lab-voila"]["changed"] >= 1, "the missing nginx site was not put back"
    status, body, _ = http_get(url, timeout=120)
    assert status == 200, body[:2000]


def test_an_absent_member_can_no_longer_connect(lab: Lab, vpn_client: VpnClient):
    """Offboarding: alice set absent and `make lab` rerun (the vpn slice), her profile is deleted
    and the copy she kept is refused by the server (the CRL)."""
    profile = ROOT / "artifacts" / ENV / "vpn" / "alice.ovpn"
    kept = profile.read_text()
    leaving = OUT / "alice-leaves.yml"
    leaving.write_text("---\nresearch_team:\n  - {username: alice, state: absent}\n")
    out = make("lab", "05-make-lab-alice-leaves.log", f"ARGS=--tags vpn -e @{leaving}").stdout
    counters = recap(out)
    assert counters["lab-vpn"]["failed"] == 0 and counters["lab-vpn"]["changed"] >= 1, counters
    assert not profile.exists(), "the absent member's profile is still there"
    vpn_client.profile(kept, "alice")
    vpn_client.connect("alice")
    try:
        login = f"http://{lab.host('jupyter')['private_ip']}:8888/login"
        assert vpn_client.get(login, seconds=15) is None, "the revoked profile still reaches Jupyter"
        server_log = docker(
            "exec", lab.host("vpn")["name"], "journalctl", "-u", "openvpn-server@server", "--no-pager", "-o", "cat",
        ).stdout  # fmt: skip
        assert re.search(r"certificate revoked.*CN=alice", server_log), server_log[-3000:]
    finally:
        vpn_client.disconnect()


def test_make_lab_destroy_leaves_nothing_and_a_record(lab: Lab):
    records = ROOT / "records"
    before = set(records.glob(f"{ENV}-*.json")) if records.exists() else set()
    clients = emulator_clients()
    before_teardown = all_resources(clients, ENV)
    assert before_teardown, "the check finds nothing even before the teardown"
    # lab.yml sets a budget and both idle-stop schedules: teardown must take them too.
    assert before_teardown["budget"] == [f"research-env-{ENV}-us-east-1"], before_teardown
    assert sorted(before_teardown["event_rule"]) == [f"{ENV}-start-hosts", f"{ENV}-stop-hosts"], before_teardown
    try:
        make("lab-destroy", "04-make-lab-destroy.log", env={"LAB_KEEP_EMULATOR": "1"})
        lab.destroyed = True
        assert all_resources(clients, ENV) == {}
    finally:
        subprocess.run(
            [str(ROOT / ".venv" / "bin" / "python"), "scripts/emulator.py", "stop"],
            cwd=ROOT,
            env={**clean_env(), "EMULATOR_STATE_DIR": ".state/lab/emulator"},
            check=False,
        )
    new = sorted(set(records.glob(f"{ENV}-*.json")) - before)
    assert new, "no destruction record was written"
    record = json.loads(new[-1].read_text())
    assert record["environment"] == ENV
    assert record["outcome"] == "complete", record["outcome"]
    assert record["counts"], record
    assert new[-1].with_suffix(".md").exists()
    # No container, no network of the lab; nothing answers on its ports.
    assert docker("ps", "-aq", "--filter", f"label=research-env.lab={ENV}").stdout.strip() == ""
    assert docker("network", "ls", "-q", "--filter", f"label=research-env.lab={ENV}").stdout.strip() == ""
    for port in (22022, 28080):
        with socket.socket() as sock:
            sock.settimeout(2)
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"127.0.0.1:{port} still answers"
