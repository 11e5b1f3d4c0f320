"""The engines a layer can run on, by name (the layers' `engine` argument).

"state_vector" is `qrnn_tfq.engine.StateVectorEngine`; "tfq" is
`qrnn_tfq.tfq.TFQEngine`, imported only when first asked for, since it imports
TensorFlow Quantum, which the state-vector engine does not need. Both engines sit below
this module: neither imports the other, nor this registry.
"""

from __future__ import annotations

import functools
from typing import Any

from qrnn_tfq.engine import Engine, StateVectorEngine

ENGINE_NAMES = ("state_vector", "tfq")


def engine_names() -> list[str]:
    """The names `get_engine` accepts."""
    return list(ENGINE_NAMES)


def get_engine(name: str, **options: Any) -> Engine:
    """The engine called `name`, one shared instance per name and `options` (keyword
    arguments of the engine's constructor, e.g. `shots` and `noise` of "tfq").

    Sharing it shares its compiled functions: every layer of one configuration and input
    shape reuses the same XLA compilation (seconds each) instead of compiling anew.

    Raises:
        ValueError: an unknown `name`, or options the engine refuses.
    """
    if name not in ENGINE_NAMES:
        raise ValueError(f"`engine` must be one of {engine_names()}, got {name!r}.")
    return _shared_engine(name, tuple(sorted(options.items())))


@functools.cache
def _shared_engine(name: str, options: tuple[tuple[str, Any], ...]) -> Engine:
    if name == "tfq":
        from qrnn_tfq.tfq.engine import TFQEngine  # pylint: disable=import-outside-toplevel  (TFQ on demand)

        return TFQEngine(**dict(options))
    return StateVectorEngine(**dict(options))
