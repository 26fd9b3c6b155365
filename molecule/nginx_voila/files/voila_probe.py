#!/usr/bin/env python3
"""Probes the molecule verify step runs on the test host (standard library only; prints JSON).

voila_probe.py ws URL [--cafile F]          WebSocket opening handshake: status and whether the
                                            Sec-WebSocket-Accept answer is the one RFC 6455 requires
voila_probe.py burst URL N [--cafile F] [--marker M ...]
                                            N GETs released at the same instant: status, time and
                                            which markers each body contains
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def context(cafile: str | None) -> ssl.SSLContext | None:
    return ssl.create_default_context(cafile=cafile) if cafile else None


def ws_handshake(url: str, cafile: str | None) -> dict:
    """Send a WebSocket upgrade request by hand: urllib cannot, and the host has no websocket client."""
    parts = urlsplit(url)
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    key = base64.b64encode(os.urandom(16)).decode()
    sock: socket.socket = socket.create_connection((parts.hostname, port), timeout=30)
    if tls:
        sock = context(cafile).wrap_socket(sock, server_hostname=parts.hostname)
    request = (
        f"GET {parts.path}{'?' + parts.query if parts.query else ''} HTTP/1.1\r\n"
        f"Host: {parts.netloc}\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "\r\n"
    )
    sock.sendall(request.encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    sock.close()
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    status = int(head[0].split()[1]) if head and len(head[0].split()) > 1 else 0
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}
    expected = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()  # noqa: S324 - RFC 6455
    return {
        "status": status,
        "status_line": head[0] if head else "",
        "upgrade": headers.get("upgrade", ""),
        "accept_valid": headers.get("sec-websocket-accept") == expected,
    }


def fetch(url: str, cafile: str | None, markers: list, barrier: threading.Barrier, results: list, index: int) -> None:
    barrier.wait()
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=300, context=context(cafile)) as answer:  # noqa: S310
            status, body, headers = answer.status, answer.read().decode(errors="replace"), dict(answer.headers)
    except urllib.error.HTTPError as error:
        status, body, headers = error.code, error.read().decode(errors="replace"), dict(error.headers)
    except OSError as error:
        status, body, headers = 0, str(error), {}
    results[index] = {
        "status": status,
        "seconds": round(time.monotonic() - started, 2),
        "retry_after": headers.get("Retry-After", ""),
        "found": [marker for marker in markers if marker in body],
    }


def burst(url: str, count: int, cafile: str | None, markers: list) -> list:
    """Release all requests at once (a barrier), so they really compete for kernels."""
    results: list = [None] * count
    barrier = threading.Barrier(count)
    threads = [threading.Thread(target=fetch, args=(url, cafile, markers, barrier, results, i)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["ws", "burst"])
    parser.add_argument("url")
    parser.add_argument("count", nargs="?", type=int, default=1)
    parser.add_argument("--cafile")
    parser.add_argument("--marker", action="append", default=[])
    args = parser.parse_args()
    if args.action == "ws":
        print(json.dumps(ws_handshake(args.url, args.cafile)))
    else:
        print(json.dumps(burst(args.url, args.count, args.cafile, args.marker)))


if __name__ == "__main__":
    main()
