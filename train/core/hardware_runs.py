"""What `train.hardware` (which writes hardware-native runs) and the programs that read them share.

A run folder of `train.hardware` holds `run.json` (its settings: `task`, `length`,
`layer` = `HardwareQRNN`'s keyword arguments, `training`) and `weights.npz` (`kernel`);
its held-out sequences are `bit_task(task, M, length=length, seed=TEST_SEED + seed)`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from qrnn_tfq.layers.hardware import HardwareQRNN

PROGRAM = "train.hardware"
TEST_SEED = 1_000_000  # held-out sequences: seed TEST_SEED + the run's seed


def make_layer(settings: dict[str, Any], scored: np.ndarray, **overrides: Any) -> HardwareQRNN:
    """The run's layer for scored pattern `scored`, built (overrides: another device, noise or scale)."""
    layer = HardwareQRNN(scored=scored, **{**settings["layer"], **overrides})
    layer.build(tf.TensorShape([None, len(scored)]))
    return layer
