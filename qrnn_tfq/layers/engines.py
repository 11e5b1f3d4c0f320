"""The engines a layer can run on, by name (the layers' `engine` argument).

- "auto" (the default): "native" when its op is built and loads and TensorFlow sees no
  GPU, else "state_vector", saying once, in one line, why the native engine is not used.
- "native": `qrnn_tfq.native.NativeEngine`, the fused C++ op (CPU; not inside XLA).
- "state_vector": `qrnn_tfq.engine.StateVectorEngine`, the XLA-compiled TensorFlow
  engine: the reference the native one is tested against, and the GPU path.
- "tfq": `qrnn_tfq.tfq.TFQEngine`, TensorFlow Quantum (the coherent recurrence).

The native and TFQ engines are imported only when first asked for. The engines sit below
this module: none imports another, nor this registry.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from qrnn_tfq.engine import Engine, StateVectorEngine

ENGINE_NAMES = ("auto", "native", "state_vector", "tfq")
_LOG = logging.getLogger("qrnn_tfq")


def engine_names() -> list[str]:
    """The names `get_engine` accepts."""
    return list(ENGINE_NAMES)


def resolve_engine_name(name: str) -> str:
    """The engine "auto" stands for on this machine ("native" or "state_vector"); other names as they are."""
    if name != "auto":
        return name
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from qrnn_tfq import native  # pylint: disable=import-outside-toplevel  (loads the op on first use)

    if tf.config.list_physical_devices("GPU"):
        return "state_vector"  # the native op has CPU kernels only
    if native.available():
        return "native"
    _say_fallback_once(native.unavailable_reason())
    return "state_vector"


@functools.cache
def _say_fallback_once(reason: str) -> None:
    _LOG.warning("running on the XLA engine (state_vector): %s.", reason)


def get_engine(name: str, **options: Any) -> Engine:
    """The engine called `name`, one shared instance per name and `options` (keyword
    arguments of the engine's constructor, e.g. `shots` and `noise` of "tfq").

    Sharing it shares its compiled functions: every layer of one configuration and input
    shape reuses the same XLA compilation (seconds each) instead of compiling anew.

    Raises:
        ValueError: an unknown `name`, or options the engine refuses.
        RuntimeError: "native" when its op is not built or does not load (with the reason).
    """
    if name not in ENGINE_NAMES:
        raise ValueError(f"`engine` must be one of {engine_names()}, got {name!r}.")
    return _shared_engine(resolve_engine_name(name), tuple(sorted(options.items())))


@functools.cache
def _shared_engine(name: str, options: tuple[tuple[str, Any], ...]) -> Engine:
    if name == "tfq":
        from qrnn_tfq.tfq.engine import TFQEngine  # pylint: disable=import-outside-toplevel  (TFQ on demand)

        return TFQEngine(**dict(options))
    if name == "native":
        from qrnn_tfq.native.engine import NativeEngine  # pylint: disable=import-outside-toplevel  (the op on demand)

        return NativeEngine(**dict(options))
    return StateVectorEngine(**dict(options))
