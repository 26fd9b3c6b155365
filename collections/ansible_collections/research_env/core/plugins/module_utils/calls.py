# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared by research-env's modules: count the AWS API operations a module performs, reported as
`api_calls` in its result (benches and tests compare modules by it)."""

from __future__ import annotations

import threading
from typing import Any


class CallCounter:
    """Counts the API operations of the clients it watches; thread-safe (some modules call AWS from a pool)."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def watch(self, client: Any) -> Any:
        client.meta.events.register("before-call", self._count)
        return client

    def _count(self, **_kwargs: Any) -> None:
        with self._lock:
            self.calls += 1
