#!/usr/bin/env python3
"""Start, stop and locate the AWS emulator (moto server) that tests and lab mode talk to.

One emulator per state directory: its pid, port and log live there, so tests and lab mode can
each run their own without stepping on each other. `start` is idempotent: when the emulator of
that directory answers already, it prints the same endpoint again.

    scripts/emulator.py start [--host 127.0.0.1] [--port 0]   # prints the endpoint URL
    scripts/emulator.py env                                    # export lines for a shell
    scripts/emulator.py status | stop | reset
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_STATE = REPO / ".state" / "emulator"
# Dummy credentials the emulator accepts; never real ones.
DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port(host: str) -> int:
    """Ask the kernel for a port nobody uses on this address."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def answers(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/", timeout=timeout) as resp:  # noqa: S310 - local URL
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Emulator:
    """The emulator whose pid/port/log files live in one state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.info_file = state_dir / "emulator.json"
        self.log_file = state_dir / "emulator.log"

    def info(self) -> dict | None:
        try:
            return json.loads(self.info_file.read_text())
        except (OSError, ValueError):
            return None

    def running(self) -> dict | None:
        info = self.info()
        if info and pid_alive(info["pid"]) and answers(info["url"]):
            return info
        return None

    def start(
        self, host: str, port: int, client_host: str | None, wait: float, env: dict[str, str] | None = None
    ) -> dict:
        """Start the emulator (`env`: more environment for its process, e.g. to record requests)."""
        info = self.running()
        if info and info["host"] == host:
            return info
        if info:
            print(f"emulator: restarting on {host} (was on {info['host']}); what it held is gone", file=sys.stderr)
        self.stop()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        port = port or free_port(host)
        try:
            import moto  # noqa: F401 - only checks that it is installed
        except ImportError:
            raise SystemExit("emulator: moto is not installed; run 'make setup' and use .venv/bin/python") from None
        log = self.log_file.open("ab")
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("moto_server.py")), "-H", host, "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=dict(os.environ, **(env or {})),
        )
        # Clients on this machine use 127.0.0.1 when the server listens on every address.
        local = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - a bind address, not a target
        info = {
            "pid": proc.pid,
            "host": host,
            "port": port,
            "url": f"http://{local}:{port}",
            "client_url": f"http://{client_host or local}:{port}",
        }
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"emulator: moto server exited with {proc.returncode}; see {self.log_file}")
            if answers(info["url"]):
                self.info_file.write_text(json.dumps(info))
                return info
            time.sleep(0.2)
        proc.terminate()
        raise SystemExit(f"emulator: no answer on {info['url']} within {wait:.0f}s; see {self.log_file}")

    def stop(self) -> bool:
        info = self.info()
        stopped = False
        if info and pid_alive(info["pid"]):
            os.killpg(info["pid"], signal.SIGTERM)
            for _ in range(50):
                if not pid_alive(info["pid"]):
                    break
                time.sleep(0.1)
            stopped = True
        self.info_file.unlink(missing_ok=True)
        return stopped

    def reset(self) -> None:
        """Forget every resource the emulator holds (tests use this between cases)."""
        info = self.running()
        if not info:
            raise SystemExit("emulator: not running")
        self.reset_url(info["url"])

    @staticmethod
    def reset_url(url: str) -> None:
        req = urllib.request.Request(f"{url}/moto-api/reset", method="POST")  # noqa: S310 - local URL
        urllib.request.urlopen(req, timeout=10).close()  # noqa: S310


def env_lines(info: dict) -> list[str]:
    env = dict(DUMMY_ENV, AWS_ENDPOINT_URL=info["url"])
    return [f"export {key}={value}" for key, value in env.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["start", "stop", "status", "env", "reset"])
    parser.add_argument("--state-dir", type=Path, default=Path(os.environ.get("EMULATOR_STATE_DIR", DEFAULT_STATE)))
    parser.add_argument("--host", default=os.environ.get("EMULATOR_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("EMULATOR_PORT", "0")))
    parser.add_argument("--client-host", help="address containers use to reach the emulator")
    parser.add_argument("--wait", type=float, default=30.0)
    args = parser.parse_args(argv)
    emu = Emulator(args.state_dir)

    if args.action == "start":
        info = emu.start(args.host, args.port, args.client_host, args.wait)
        print(info["url"])
    elif args.action == "stop":
        print("emulator: stopped" if emu.stop() else "emulator: was not running")
    elif args.action == "status":
        info = emu.running()
        print(json.dumps(info) if info else "emulator: not running")
        return 0 if info else 3
    elif args.action == "env":
        info = emu.running()
        if not info:
            print("emulator: not running; start it with 'scripts/emulator.py start'", file=sys.stderr)
            return 3
        print("\n".join(env_lines(info)))
    elif args.action == "reset":
        emu.reset()
        print("emulator: reset")
    return 0


if __name__ == "__main__":
    sys.exit(main())
