"""Atomic file writes: a result is either whole or absent, never half-written.

Plain Python (no TensorFlow), so the checkpoints (`qrnn_tfq.training`) and the exported
circuits (`qrnn_tfq.export`) share it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Any, Iterator


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike, mode: str = "wb") -> Iterator[Any]:
    """Open a temporary file next to `path`; on success it replaces `path` atomically.

    On an exception the temporary file is removed and `path` is left as it was.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        os.chmod(temporary, 0o644)  # mkstemp makes it owner-only; results are for everyone to read
        with os.fdopen(handle, mode) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise


def atomic_write(path: str | os.PathLike, data: str | bytes) -> str:
    """Write `data` (text as UTF-8) to `path` atomically; returns the path."""
    with atomic_writer(path, "wb") as file:
        file.write(data.encode("utf-8") if isinstance(data, str) else data)
    return os.fspath(path)
