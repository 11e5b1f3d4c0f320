"""Find, load and describe the native op library (`_qrnn_ops.so`, built by `make`).

Loading happens once, on first use; a library that is missing or does not load leaves the
native engine unavailable with a one-line reason, and the layers' default engine ("auto")
runs on the XLA engine instead.
"""

from __future__ import annotations

import functools
import os
from types import ModuleType

import tensorflow as tf

LIBRARY_NAME = "_qrnn_ops.so"
LIBRARY_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), LIBRARY_NAME)
BUILD_COMMAND = "make native"


@functools.cache
def _load() -> tuple[ModuleType | None, str]:
    """The loaded op module and "", or None and why not."""
    if not os.path.exists(LIBRARY_PATH):
        return None, f"the native op is not built ({LIBRARY_PATH} is missing; build it with `{BUILD_COMMAND}`)"
    try:
        return tf.load_op_library(LIBRARY_PATH), ""
    except (tf.errors.NotFoundError, OSError) as error:  # built against another TensorFlow, or a broken file
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return None, f"the native op does not load ({first_line}); rebuild it with `{BUILD_COMMAND}`"


def available() -> bool:
    """True when the native op is built and loads in this process."""
    return _load()[0] is not None


def unavailable_reason() -> str:
    """Why the native engine is unavailable, one line ("" when it is available)."""
    return _load()[1]


def ops() -> ModuleType:
    """The op module (`qrnn_sequence_forward`, `qrnn_sequence_backward`).

    Raises:
        RuntimeError: the library is missing or does not load, saying why and how to build it.
    """
    module, reason = _load()
    if module is None:
        raise RuntimeError(f"engine='native' is unavailable: {reason}.")
    return module
