"""A Jupyter kernel manager for Voila that refuses to start more than `max_kernels` kernels.

Installed by the nginx_voila role (research-env) and named in VoilaConfiguration.multi_kernel_manager_class.
Every public page view starts a kernel; without a cap, enough requests exhaust the host's memory. A request
beyond the cap fails before anything is written, so Voila answers 503 (nginx shows its "busy" page). Kernels
that are starting count as well as running ones, so concurrent requests cannot overshoot the cap.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from traitlets import Integer


class CappedKernelManager(AsyncMappingKernelManager):
    """AsyncMappingKernelManager with a cap on the number of kernels alive or starting at once."""

    max_kernels = Integer(4, config=True, help="Most kernels alive or starting at once; more are refused (503).")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._starting: set[str] = set()

    async def start_kernel(self, *, kernel_id: str | None = None, **kwargs: Any) -> str:
        if kernel_id is not None and kernel_id in self:
            return await super().start_kernel(kernel_id=kernel_id, **kwargs)
        # Nothing is awaited between this check and the reservation: requests cannot interleave here.
        alive = set(self.list_kernel_ids()) | self._starting
        if len(alive) >= self.max_kernels:
            self.log.warning("Kernel cap reached (%d of %d): refusing a new kernel", len(alive), self.max_kernels)
            raise web.HTTPError(503, "All %d dashboard kernels are in use; try again later.", self.max_kernels)
        kernel_id = kernel_id or self.new_kernel_id()
        self._starting.add(kernel_id)
        try:
            return await super().start_kernel(kernel_id=kernel_id, **kwargs)
        finally:
            self._starting.discard(kernel_id)
