"""Select tf-keras (Keras 2) before TensorFlow is imported: TFQ needs it (SPEC section 7)."""

from __future__ import annotations

import os
import sys


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
