# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files the controller-side modules write (the price cache, the cost report): whole or not at all."""

from __future__ import annotations

import os
import tempfile


def write_atomically(path: str, data: bytes, mode: int = 0o644) -> None:
    """Write `data` to `path` through a temporary file in the same directory renamed over it, so that a reader
    never sees half a file and an interrupted run leaves the old one; the directory is created when missing."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".research-env-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
