"""Select tf-keras (Keras 2) before TensorFlow is imported: TFQ needs it (SPEC section 7)."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import sys
import types
from typing import Any


def require_legacy_keras() -> None:
    """Set `TF_USE_LEGACY_KERAS=1`, or fail clearly if Keras 3 is already in charge.

    Raises:
        ImportError: TensorFlow was imported before with Keras 3 as `tf.keras`.
    """
    if "tensorflow" not in sys.modules:
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        return
    if os.environ.get("TF_USE_LEGACY_KERAS", "") not in ("1", "true", "True"):
        raise ImportError(
            "qrnn_tfq needs tf-keras (Keras 2), but TensorFlow was imported before it with "
            f"TF_USE_LEGACY_KERAS={os.environ.get('TF_USE_LEGACY_KERAS')!r}, so tf.keras is Keras 3. "
            "Import qrnn_tfq before tensorflow, or set TF_USE_LEGACY_KERAS=1 in the environment."
        )


class _LoadAfterTensorFlow(importlib.abc.MetaPathFinder):
    """Imports `modules` right after TensorFlow has finished importing (once).

    `import qrnn_tfq` does not load TensorFlow (so the circuits stay free of it), yet a
    user who then imports TensorFlow and calls `tf.keras.models.load_model` expects the
    package's Keras classes to be registered: this finder wraps TensorFlow's loader so
    that they are, the moment TensorFlow is complete.
    """

    def __init__(self, modules: tuple[str, ...]) -> None:
        self.modules = modules

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once, and the lookup below must not come back here
        spec = importlib.util.find_spec(name)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_then_load(module: types.ModuleType) -> None:
            exec_module(module)
            for dependent in self.modules:
                importlib.import_module(dependent)

        loader.exec_module = exec_then_load
        return spec


def load_with_tensorflow(modules: tuple[str, ...]) -> None:
    """Import `modules` as soon as TensorFlow is imported (now, if it already is)."""
    if "tensorflow" in sys.modules:
        for module in modules:
            importlib.import_module(module)
    elif not any(isinstance(finder, _LoadAfterTensorFlow) for finder in sys.meta_path):
        sys.meta_path.insert(0, _LoadAfterTensorFlow(modules))
