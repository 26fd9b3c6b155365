"""Count the AWS API calls a run makes, at the emulator: moto server's request recorder.

The emulator records every request it serves when it was started with MOTO_ENABLE_RECORDING=True
(into MOTO_RECORDER_FILEPATH); its API under /moto-api/recorder/ resets, starts, stops and returns
the recording, one JSON line per request. Counting there sees every call every module makes,
retries included, whatever the module reports. The bench (bench/api_calls) and the budget test
(tests/integration/test_api_calls.py) share this.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.request
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/(?P<service>[^/]+)/aws4_request")


def recording_env(state_dir: Path) -> dict[str, str]:
    """What the emulator's process needs to record, into a file of its own state directory."""
    return {"MOTO_ENABLE_RECORDING": "True", "MOTO_RECORDER_FILEPATH": str(state_dir / "recording.jsonl")}


class Recorder:
    """The recorder API of one emulator."""

    def __init__(self, url: str) -> None:
        self.url = f"{url}/moto-api/recorder"

    def _call(self, what: str, method: str = "POST") -> bytes:
        req = urllib.request.Request(f"{self.url}/{what}", method=method)  # noqa: S310 - local URL
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
            return resp.read()

    def start(self) -> None:
        """Forget what was recorded and record from now on."""
        self._call("reset-recording")
        self._call("start-recording")

    def stop(self) -> list[dict]:
        """Stop recording and return the requests recorded since start()."""
        self._call("stop-recording")
        text = self._call("download-recording", method="GET").decode()
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def _header(entry: dict, name: str) -> str:
    for key, value in entry.get("headers", {}).items():
        if key.lower() == name.lower():
            return str(value)
    return ""


def _body(entry: dict) -> str:
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        try:
            return base64.b64decode(body).decode("utf-8", "replace")
        except ValueError:
            return ""
    return str(body)


def action_of(entry: dict) -> str:
    """`service Action` of one recorded request.

    Query APIs (EC2, IAM, STS, ...) name the action in the form body, JSON APIs (KMS, ...) in the
    X-Amz-Target header, S3 by method and path: a bucket or object request, and its sub-resource
    (`?versioning`, `?policy`, ...) when it has one.
    """
    match = CREDENTIAL_SCOPE.search(_header(entry, "Authorization"))
    service = match["service"] if match else "unsigned"
    target = _header(entry, "X-Amz-Target")
    if target:
        return f"{service} {target.rsplit('.', 1)[-1]}"
    url = urlsplit(entry.get("url", ""))
    query = parse_qs(url.query, keep_blank_values=True)
    form = parse_qs(_body(entry)) if "form-urlencoded" in _header(entry, "Content-Type") else {}
    action = (form.get("Action") or query.get("Action") or [""])[0]
    if action:
        return f"{service} {action}"
    parts = [p for p in url.path.split("/") if p]
    kind = "object" if len(parts) > 1 else "bucket" if parts else "service"
    sub = ",".join(sorted(k for k in query if k not in ("x-id", "prefix", "list-type", "encoding-type")))
    return f"{service} {entry.get('method', '?')} {kind}" + (f" ?{sub}" if sub else "")


def count(entries: list[dict]) -> Counter:
    """Calls per `service Action`."""
    return Counter(action_of(e) for e in entries)


def table(counts: dict[str, Counter], seconds: dict[str, float]) -> str:
    """A Markdown table: one row per action, one column per phase, then totals and wall seconds."""
    phases = list(counts)
    actions = sorted({a for c in counts.values() for a in c}, key=lambda a: (-max(c[a] for c in counts.values()), a))
    lines = ["| action | " + " | ".join(phases) + " |", "|---|" + "---:|" * len(phases)]
    lines += [f"| {a} | " + " | ".join(str(counts[p][a] or "") for p in phases) + " |" for a in actions]
    lines.append("| **total calls** | " + " | ".join(f"**{sum(counts[p].values())}**" for p in phases) + " |")
    lines.append("| **wall s** | " + " | ".join(f"{seconds[p]:.1f}" for p in phases) + " |")
    return "\n".join(lines)
