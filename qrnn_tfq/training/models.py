"""What `SequenceTaskModel` needs from a model, and the QRNN's adapter to it.

A `SequenceModel` maps a batch in the data contract of `qrnn_tfq.batch` (input bits
(B, T, I), target bits (B, T, I), scored (B, T)) to the per-step word distributions
(B, T, 2^I) under teacher forcing. That is all training and validation need, so
a classical Keras baseline (an RNN or LSTM with a softmax over the 2^I words) plugs in
with a few lines. A model that can also run its own measurements (the QRNN) offers
`measure`, which validation uses for the argmax and sampled accuracies of SPEC section 4.
"""

from __future__ import annotations

from typing import Any, Mapping, Protocol, Sequence, runtime_checkable

import tensorflow as tf

from qrnn_tfq.layers import QRNN

Batch = Mapping[str, Any]  # {"inputs": (B, T, I), "targets": (B, T, I), "scored": (B, T)}
MEASUREMENTS = ("sample", "argmax")


@runtime_checkable
class SequenceModel(Protocol):
    """A trainable model of word sequences (SPEC section 4)."""

    @property
    def trainable_weights(self) -> Sequence[tf.Variable]:
        """The variables the optimizer updates (and a checkpoint stores)."""

    def probabilities(self, batch: Batch, training: bool) -> tf.Tensor:
        """(B, T, 2^I) word distributions with every step's measurement taken to be its
        target (teacher forcing); `training` only switches training-time behaviour such
        as dropout."""


@runtime_checkable
class MeasuringSequenceModel(SequenceModel, Protocol):
    """A `SequenceModel` that can also choose its own words at the scored steps."""

    def measure(self, batch: Batch, measurement: str, seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Run with a sampled ("sample") or most likely ("argmax") word measured at every
        scored step and the target at the others; `seed` is a (2,) int32 stateless seed.

        Returns:
            (probabilities (B, T, 2^I), measured words (B, T) int32).
        """


class QRNNSequenceModel:
    """Adapts a `qrnn_tfq.QRNN` layer to `MeasuringSequenceModel`.

    Args:
        layer: the QRNN; it is built here if it is not yet.

    Raises:
        TypeError: `layer` is not a `qrnn_tfq.QRNN`.
    """

    def __init__(self, layer: QRNN) -> None:
        if not isinstance(layer, QRNN):
            raise TypeError(f"`layer` must be a qrnn_tfq.QRNN, got {layer!r} of type {type(layer).__name__}.")
        if not layer.built:
            layer.build(None)
        self.layer = layer

    @property
    def trainable_weights(self) -> list[tf.Variable]:
        return self.layer.trainable_weights

    @property
    def io_lanes(self) -> int:
        return self.layer.qrnn_config.io_lanes

    def probabilities(self, batch: Batch, training: bool = True) -> tf.Tensor:
        return self.layer.run_sequences(dict(batch), training=True, teacher_forcing=True).probabilities

    def measure(self, batch: Batch, measurement: str, seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        if measurement not in MEASUREMENTS:
            raise ValueError(f"`measurement` must be one of {list(MEASUREMENTS)}, got {measurement!r}.")
        # An explicit seed, not the layer's stateful generator: evaluations repeat exactly,
        # also after a resume.
        if "targets" not in batch:
            raise ValueError("`batch` must have 'targets' to measure against, got keys " f"{sorted(batch)}.")
        out = self.layer.run_sequences(dict(batch), training=False, teacher_forcing=False, measurement=measurement, seed=seed)
        return out.probabilities, out.measured
