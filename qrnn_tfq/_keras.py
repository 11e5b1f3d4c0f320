"""Select tf-keras (Keras 2) before TensorFlow is imported: TFQ needs it (SPEC section 7)."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import sys
import types
from typing import Any


PACKAGE = "qrnn_tfq"


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
    """Imports `modules` once TensorFlow has finished importing (once).

    `import qrnn_tfq` does not load TensorFlow (so the circuits stay free of it), yet a
    user who then imports TensorFlow and calls `tf.keras.models.load_model` expects the
    package's Keras classes to be registered: this finder wraps the loaders of TensorFlow
    and of this package's modules, and imports `modules` after the first of them to
    finish once TensorFlow is complete and no module of this package is half-imported
    (when TensorFlow is imported by one of them, say `import qrnn_tfq.engine` first,
    importing the layers right away would meet that half-imported module).
    """

    def __init__(self, modules: tuple[str, ...]) -> None:
        self.modules = modules
        self.tensorflow_loaded = False
        self.finding: set[str] = set()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if (name != "tensorflow" and not name.startswith(f"{PACKAGE}.")) or name in self.finding:
            return None
        self.finding.add(name)  # the lookup below asks every finder, this one included
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self.finding.discard(name)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_then_load(module: types.ModuleType) -> None:
            exec_module(module)
            self.tensorflow_loaded = self.tensorflow_loaded or name == "tensorflow"
            self.load_if_ready(finished=name)

        loader.exec_module = exec_then_load
        return spec

    def load_if_ready(self, finished: str) -> None:
        if not self.tensorflow_loaded or self not in sys.meta_path:
            return
        half_imported = [
            name for name, module in list(sys.modules.items())
            if name.startswith(f"{PACKAGE}.") and name != finished
            and getattr(getattr(module, "__spec__", None), "_initializing", False)
        ]
        if half_imported:
            return  # the last of them to finish comes back here
        sys.meta_path.remove(self)
        for module in self.modules:
            importlib.import_module(module)


def load_with_tensorflow(modules: tuple[str, ...]) -> None:
    """Import `modules` as soon as TensorFlow is imported (now, if it already is)."""
    if "tensorflow" in sys.modules:
        for module in modules:
            importlib.import_module(module)
    elif not any(isinstance(finder, _LoadAfterTensorFlow) for finder in sys.meta_path):
        sys.meta_path.insert(0, _LoadAfterTensorFlow(modules))
