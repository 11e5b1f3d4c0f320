"""`QRNN`: the recurrent quantum neural network as a Keras RNN layer (SPEC sections 3-4).

Like `LSTM` hands `RNN` an `LSTMCell`, `QRNN` hands it a `QRNNCell`; its `call` runs the
whole sequence in the engine at once (the neuron factors computed once per forward
pass, the time loop compiled), and gives what `RNN(QRNNCell(...))` gives step by step.
"""

from __future__ import annotations

import math
from typing import Any

import tensorflow as tf

from qrnn_tfq.engine import SequenceOutputs, check_memory
from qrnn_tfq.layers.cell import QRNNCell
from qrnn_tfq.layers.words import sequence_words

_keras = tf.keras
_UNSUPPORTED = ("go_backwards", "stateful", "unroll", "time_major")


@_keras.utils.register_keras_serializable(package="qrnn_tfq")
class QRNN(_keras.layers.RNN):
    """Recurrent quantum neural network layer.

    Inputs: bits `(B, T, I)`, or a dict {"inputs": (B, T, I), "targets": (B, T, I),
    "scored": (B, T)}. `targets[:, t]` is the word the output at step `t` predicts
    (the data already carries SPEC section 4's one-step offset). In training with
    targets every step postselects its target (teacher forcing); otherwise scored
    steps measure a sample or the argmax (`measurement`) and unscored steps their target.

    Outputs: the word distributions `(B, T, 2^I)` (`return_sequences=True`, the
    default) or the last one `(B, 2^I)`; with `return_state`, also the final workspace
    state `(B, 2^W)`.

    Args: those of `QRNNCell`, plus `return_sequences` and `return_state`. A Keras mask
    (from `Masking`/`Embedding(mask_zero=True)`) freezes the state on masked steps.
    """

    def __init__(
        self,
        workspace: int,
        io_width: int,
        stages: int = 1,
        degree: int = 2,
        order: int = 2,
        bias: float = math.pi / 2,
        theta_stddev: float = 0.1,
        phi_stddev: float = 0.01,
        work_stddev: float = 0.01,
        measurement: str = "sample",
        seed: int | None = None,
        engine: str = "state_vector",
        amplification: int = 0,
        amplification_bound: float | None = None,
        return_sequences: bool = True,
        return_state: bool = False,
        **kwargs: Any,
    ) -> None:
        for name in _UNSUPPORTED:
            if kwargs.pop(name, False):
                raise ValueError(f"QRNN does not support `{name}=True`.")
        cell = QRNNCell(
            workspace, io_width, stages, degree, order, bias, theta_stddev, phi_stddev, work_stddev,
            measurement, seed, engine, amplification=amplification, amplification_bound=amplification_bound,
            dtype=kwargs.get("dtype"), name="qrnn_cell",
        )
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state, **kwargs)
        self.input_spec = None  # dict or tensor inputs; checked in `call`

    @property
    def qrnn_config(self):
        """The cell's `QRNNConfig`."""
        return self.cell.config

    def build(self, input_shape: Any) -> None:
        if not self.cell.built:
            with tf.name_scope(self.cell.name):
                self.cell.build(input_shape)
        self.built = True

    def run_sequences(
        self,
        inputs: Any,
        training: bool | None = None,
        measurement: str | None = None,
        mask: Any = None,
        seed: Any = None,
    ) -> SequenceOutputs:
        """Run the recurrence and return every per-step result (probabilities, measured
        words, postselection probabilities, final state), for training loops and metrics.

        Args:
            inputs: as the layer's.
            training: teacher forcing when targets are given.
            measurement: overrides the layer's "sample"/"argmax" at evaluation.
            mask: optional (B, T) bool, False freezes the state on that step.
            seed: optional (2,) int seed of the sampling; by default a fresh one from the
                layer's seeded generator.
        """
        if not self.built:
            self.build(None)
        cfg = self.qrnn_config
        words = sequence_words(inputs, cfg.io_lanes)
        batch, steps = words.inputs.shape
        if batch is not None and steps is not None:
            check_memory(cfg, batch, steps, tf.as_dtype(self.compute_dtype), bool(training))
        if words.targets is None:
            targets, scored = tf.zeros_like(words.inputs), tf.ones_like(words.scored)
            chosen = measurement or self.cell.measurement
        else:
            targets, scored = words.targets, words.scored
            chosen = "target" if training else (measurement or self.cell.measurement)
        if isinstance(mask, dict):
            mask = mask.get("inputs")
        if mask is not None:
            mask = tf.cast(mask, tf.bool)
        seed = self.cell.sampling_seed() if seed is None else tf.cast(seed, tf.int32)
        return self.cell.engine.run(cfg, self.cell.weights_tuple, words.inputs, targets, scored, chosen, seed, mask)

    def call(self, inputs: Any, mask: Any = None, training: bool | None = None, initial_state: Any = None) -> Any:
        if initial_state is not None:
            raise ValueError("QRNN always starts from |0...0> (SPEC section 3); `initial_state` is not supported.")
        out = self.run_sequences(inputs, training=training, mask=mask)
        output = out.probabilities if self.return_sequences else out.probabilities[:, -1]
        if self.return_state:
            return [output, out.final_state]
        return output

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, dict):
            mask = mask.get("inputs")
        return mask if self.return_sequences else None

    def get_config(self) -> dict[str, Any]:
        cell_config = self.cell.get_config()
        config = {key: cell_config[key] for key in (
            "workspace", "io_width", "stages", "degree", "order", "bias", "theta_stddev",
            "phi_stddev", "work_stddev", "measurement", "seed", "engine", "amplification", "amplification_bound",
        )}
        base = super().get_config()
        for key in ("cell", *_UNSUPPORTED, "zero_output_for_mask"):
            base.pop(key, None)
        return {**base, **config}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "QRNN":
        return cls(**config)
