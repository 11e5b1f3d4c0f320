"""Helpers for tests and checks, in the spirit of `cirq.testing`: seeded random inputs."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.engine.factors import QRNNWeights


def random_weights(config: QRNNConfig, seed: int, dtype: tf.DType = tf.float64, spread: float = 1.0) -> QRNNWeights:
    """Normal weights of standard deviation `spread` (large by default, so checks have power)."""
    rng = np.random.default_rng(seed)
    return QRNNWeights(
        tf.constant(rng.normal(0, spread, config.num_neurons), dtype),
        tf.constant(rng.normal(0, spread, (config.num_neurons, config.num_subsets)), dtype),
        tf.constant(rng.normal(0, spread, (config.stages, config.workspace_lanes)), dtype),
    )


def random_words(config: QRNNConfig, batch_size: int, steps: int, seed: int) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Random input words, target words (B, T) int32 and a scored mask (B, T) bool."""
    rng = np.random.default_rng(seed)
    shape = (batch_size, steps)
    return (
        tf.constant(rng.integers(0, config.num_words, shape), tf.int32),
        tf.constant(rng.integers(0, config.num_words, shape), tf.int32),
        tf.constant(rng.random(shape) < 0.5),
    )
