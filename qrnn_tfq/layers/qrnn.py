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
from qrnn_tfq.engine.sequence import state_dtype
from qrnn_tfq.layers.cell import QRNNCell
from qrnn_tfq.layers.words import poison, sequence_words

_keras = tf.keras
_UNSUPPORTED = ("stateful", "unroll", "time_major")


def _sequence_mask(mask: Any) -> tf.Tensor | None:
    """A Keras mask as (B, T) bool: the inputs' mask when Keras hands one per dict key."""
    if isinstance(mask, dict):
        mask = mask.get("inputs")
    return None if mask is None else tf.cast(mask, tf.bool)


def _none_unless(fits: tf.Tensor, *batches: tf.Tensor | None) -> tuple[tf.Tensor, list]:
    """(the batch size, `batches` cut to no sample unless `fits`); `_pad_to` undoes it.

    Under XLA the sizes are compile-time constants, so a run too large for memory is
    compiled for 0 samples and allocates nothing, where an assertion would be dropped.
    """
    size = tf.shape(batches[0])[0]
    kept = tf.where(fits, size, 0)
    return size, [None if t is None else t[:kept] for t in batches]


def _pad_to(value: tf.Tensor, size: tf.Tensor) -> tf.Tensor:
    """`value` (b, ...) padded to `size` samples: NaN, or 0 for integers."""
    fill = 0 if value.dtype.is_integer else float("nan")
    padding = [[0, size - tf.shape(value)[0]]] + [[0, 0]] * (value.shape.rank - 1)
    return tf.pad(value, padding, constant_values=tf.cast(fill, value.dtype))


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
    state `(B, 2^W)`. They are in the compute dtype; under a float16/bfloat16 (mixed)
    precision policy the simulation itself runs in float32 (half precision underflows).

    Input contract, checked once per call:
        - bits and `scored` must be 0 or 1 (`scored` may be bool); "scored" without
          "targets" is refused; `scored` may be `(B, T)` or `(B, T, 1)` (the latter is
          what `tf.keras.layers.RNN(QRNNCell(...))` needs); at least one time step;
        - a run that would clearly not fit in memory is refused (`check_memory`), also
          when the batch size or length is only known when a `tf.data` graph runs.
        Eager mode raises ValueError naming the value. A graph asserts when it runs
        (InvalidArgumentError with the same message). XLA (`jit_compile=True` in
        `compile` or `tf.function`) drops assertions and cannot raise, so there the
        outputs of each sample with a bad bit or flag, and of a whole run too large for
        memory (which then simulates no sample at all), are NaN: loss, metrics and
        predictions show NaN, and `tf.keras.callbacks.TerminateOnNaN` stops `fit`. A
        zero-length sequence whose length XLA learns only when compiling fails there,
        with TensorFlow's own error.

    Args: those of `QRNNCell`, plus `return_sequences`, `return_state`, `go_backwards`
    (read the sequence from its last step; the outputs come in that order, as Keras RNN
    layers give them, so `tf.keras.layers.Bidirectional(QRNN(...))` works) and
    `zero_output_for_mask`. A Keras mask (from `Masking`/`Embedding(mask_zero=True)`)
    freezes the state on masked steps.
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
        recurrence: str = "postselected",
        shots: int | None = None,
        noise: float = 0.0,
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
            recurrence=recurrence, shots=shots, noise=noise, dtype=kwargs.get("dtype"), name="qrnn_cell",
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

        Returns:
            `SequenceOutputs` in the engine's dtype (float32 under a half-precision
            policy), in reading order (reversed with `go_backwards`); NaN where the layer's
            outputs would be (see the class docstring on bad input under XLA).
        """
        if not self.built:
            self.build(None)
        cfg, cell = self.qrnn_config, self.cell
        words = sequence_words(inputs, cfg.io_lanes)
        input_words, mask = words.inputs, _sequence_mask(mask)
        if words.targets is None:
            targets, scored = tf.zeros_like(input_words), tf.ones_like(words.scored)
            chosen = measurement or cell.measurement
        else:
            targets, scored = words.targets, words.scored
            chosen = "target" if training else (measurement or cell.measurement)
        if self.go_backwards:
            input_words, targets, scored = (tf.reverse(t, [1]) for t in (input_words, targets, scored))
            mask = None if mask is None else tf.reverse(mask, [1])
        # Sizes unknown while tracing (a tf.data batch) are checked when the graph runs.
        sizes = [tf.shape(input_words)[axis] if n is None else n for axis, n in enumerate(input_words.shape)]
        fits = check_memory(cfg, *sizes, state_dtype(cfg, cell.engine_dtype), bool(training))
        if fits is not None:
            size, (input_words, targets, scored, mask) = _none_unless(fits, input_words, targets, scored, mask)
        seed = cell.sampling_seed() if seed is None else tf.cast(seed, tf.int32)
        out = cell.engine.run(cfg, cell.weights_tuple, input_words, targets, scored, chosen, seed, mask)
        if fits is not None:
            out = tf.nest.map_structure(lambda t: _pad_to(t, size), out)
        return tf.nest.map_structure(lambda t: poison(t, words.valid), out)

    def call(self, inputs: Any, mask: Any = None, training: bool | None = None, initial_state: Any = None) -> Any:
        if initial_state is not None:
            raise ValueError("QRNN always starts from |0...0> (SPEC section 3); `initial_state` is not supported.")
        out = self.run_sequences(inputs, training=training, mask=mask)
        probabilities = out.probabilities  # (B, T, 2^I) in reading order: reversed with go_backwards
        mask = _sequence_mask(mask)
        if self.zero_output_for_mask and mask is not None:
            step_mask = tf.reverse(mask, [1]) if self.go_backwards else mask
            probabilities = tf.where(step_mask[:, :, None], probabilities, tf.zeros_like(probabilities))
        output = probabilities if self.return_sequences else probabilities[:, -1]
        output = tf.cast(output, self.compute_dtype)
        if self.return_state:
            state = out.final_state  # complex with amplified neurons: not cast
            return [output, state if state.dtype.is_complex else tf.cast(state, self.compute_dtype)]
        return output

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, dict):
            mask = mask.get("inputs")
        return mask if self.return_sequences else None

    def get_config(self) -> dict[str, Any]:
        cell_config = self.cell.get_config()
        config = {key: cell_config[key] for key in (
            "workspace", "io_width", "stages", "degree", "order", "bias", "theta_stddev",
            "phi_stddev", "work_stddev", "measurement", "seed", "engine", "amplification", "amplification_bound", "recurrence",
            "shots", "noise",
        )}
        base = super().get_config()
        for key in ("cell", *_UNSUPPORTED):
            base.pop(key, None)
        return {**base, **config}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "QRNN":
        return cls(**config)
