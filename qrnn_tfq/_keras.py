"""tf-keras for this package: selected before TensorFlow loads (TFQ needs Keras 2, SPEC
section 7), and `load_model`, which reads a saved model with every Keras class of the
package registered.

This module imports no TensorFlow at import time: `qrnn_tfq` imports it first of all.
"""

from __future__ import annotations

import os
import sys
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


def load_model(filepath: str | os.PathLike, **kwargs: Any) -> Any:
    """`tf.keras.models.load_model(filepath, **kwargs)` with the package's Keras classes registered.

    A class registers with Keras when the module that defines it is imported; this imports
    all of them (the layers, losses, metrics, classical baselines and `SequenceTaskModel`),
    so a saved model loads whichever of them it holds. `tf.keras.models.load_model` alone
    works too once those modules are imported (e.g. after `import qrnn_tfq.layers`, or any
    use of `qrnn_tfq.QRNN`, which imports the layers, losses and metrics).

    Returns:
        The loaded `tf.keras.Model`.
    """
    # pylint: disable=import-outside-toplevel,unused-import
    import tensorflow as tf

    import qrnn_tfq.baselines  # noqa: F401  (registers the classical baselines)
    import qrnn_tfq.layers  # noqa: F401  (QRNN, QRNNCell)
    import qrnn_tfq.layers.hardware  # noqa: F401  (HardwareQRNN)
    import qrnn_tfq.losses  # noqa: F401
    import qrnn_tfq.metrics  # noqa: F401
    import qrnn_tfq.training  # noqa: F401  (SequenceTaskModel)

    return tf.keras.models.load_model(filepath, **kwargs)
