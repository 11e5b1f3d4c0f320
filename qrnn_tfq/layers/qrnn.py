"""`QRNN`: the recurrent quantum neural network as a Keras RNN layer (SPEC sections 3-4).

Like `LSTM` hands `RNN` an `LSTMCell`, `QRNN` hands it a `QRNNCell`; its `call` runs the
whole sequence in the engine at once (the neuron factors computed once per forward
pass, the time loop compiled), and gives what `RNN(QRNNCell(...))` gives step by step.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import tensorflow as tf

from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.engine import SequenceOutputs, SequenceRequest, check_memory
from qrnn_tfq.engine.sequence import state_dtype
from qrnn_tfq.layers.cell import QRNNCell, refuse_legacy_names, topology_config, upgrade_config
from qrnn_tfq.layers.words import poison, sequence_words

_keras = tf.keras
_UNSUPPORTED = ("stateful", "unroll", "time_major")


def _sequence_mask(mask: Any) -> tf.Tensor | None:
    """A Keras mask as (B, T) bool: the inputs' mask when Keras hands one per dict key, or
    one per tensor of [inputs, initial state] (a symbolic `initial_state`)."""
    if isinstance(mask, (list, tuple)):
        mask = mask[0] if mask else None
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


def _is_symbolic(value: Any) -> bool:
    """Whether `value` is a Keras tensor of a functional model (not an array or eager tensor)."""
    try:
        return bool(_keras.backend.is_keras_tensor(value))
    except ValueError:  # not a tensor at all (a NumPy array, a list)
        return False


def _check_teacher_forcing(teacher_forcing: Any) -> bool | None:
    if teacher_forcing is None or isinstance(teacher_forcing, (bool, np.bool_)):
        return None if teacher_forcing is None else bool(teacher_forcing)
    raise TypeError(f"`teacher_forcing` must be True, False or None, got {teacher_forcing!r}.")


def _start_state(initial_state: Any, config: QRNNConfig, batch_size: int | None) -> tf.Tensor | None:
    """`initial_state` (a (B, 2^W) tensor, or a list of one, Keras style) checked, or None."""
    if initial_state is None:
        return None
    if isinstance(initial_state, (list, tuple)):
        if len(initial_state) != 1:
            raise ValueError(
                f"`initial_state` must be one tensor (B, 2^W) or a list of one, got a {type(initial_state).__name__} "
                f"of {len(initial_state)}."
            )
        initial_state = initial_state[0]
    state = tf.convert_to_tensor(initial_state)
    size = 2**config.workspace_lanes
    shape = state.shape
    batch_differs = shape.rank == 2 and None not in (shape[0], batch_size) and shape[0] != batch_size
    if shape.rank != 2 or shape[1] not in (None, size) or batch_differs:
        expected = f"({'B' if batch_size is None else batch_size}, {size})"
        raise ValueError(
            f"`initial_state` must have shape (B, 2^W) = {expected} (batch size, 2^workspace_lanes with "
            f"workspace_lanes={config.workspace_lanes}), got {shape}."
        )
    return state


@_keras.utils.register_keras_serializable(package="qrnn_tfq")
class QRNN(_keras.layers.RNN):
    """Recurrent quantum neural network layer.

    Inputs: bits `(B, T, I)`, or a dict {"inputs": (B, T, I), "targets": (B, T, I),
    "scored": (B, T)}. `targets[:, t]` is the word the output at step `t` predicts
    (the data already carries SPEC section 4's one-step offset).

    Teacher forcing: `layer(inputs, teacher_forcing=True)` postselects every step onto
    its target; `teacher_forcing=False` measures the scored steps (a sample or the
    argmax, `measurement`; the default "argmax" makes `predict` deterministic) and
    postselects the unscored ones onto their targets. The default None teacher-forces
    exactly when Keras' `training` flag is true and targets are given, so a plain
    `model.fit` trains teacher-forced and `evaluate`/`predict` measure.

    `initial_state`: the workspace state `(B, 2^W)` (or a list of one such tensor) the
    recurrence starts from, e.g. the final state of an earlier run (`return_state=True`);
    by default `|0...0>` (SPEC section 3).

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

    Args: those of `QRNNCell` (a `QRNNConfig` or its fields by keyword, and the layer
    options), plus `return_sequences`, `return_state`, `go_backwards`
    (read the sequence from its last step; the outputs come in that order, as Keras RNN
    layers give them, so `tf.keras.layers.Bidirectional(QRNN(...))` works) and
    `zero_output_for_mask`. A Keras mask (from `Masking`/`Embedding(mask_zero=True)`)
    freezes the state on masked steps.
    """

    def __init__(
        self,
        config: QRNNConfig | None = None,
        *,
        workspace_lanes: int | None = None,
        io_lanes: int | None = None,
        stages: int | None = None,
        degree: int | None = None,
        order: int | None = None,
        bias: float | None = None,
        amplification: int | None = None,
        amplification_bound: float | None = None,
        recurrence: str | None = None,
        theta_stddev: float = 0.1,
        phi_stddev: float = 0.01,
        work_stddev: float = 0.01,
        measurement: str = "argmax",
        seed: int | None = None,
        engine: str = "auto",
        shots: int | None = None,
        noise: float = 0.0,
        return_sequences: bool = True,
        return_state: bool = False,
        **kwargs: Any,
    ) -> None:
        topology = dict(
            workspace_lanes=workspace_lanes, io_lanes=io_lanes, stages=stages, degree=degree, order=order, bias=bias,
            amplification=amplification, amplification_bound=amplification_bound, recurrence=recurrence,
        )
        options = dict(
            theta_stddev=theta_stddev, phi_stddev=phi_stddev, work_stddev=work_stddev, measurement=measurement,
            seed=seed, engine=engine, shots=shots, noise=noise,
        )
        refuse_legacy_names(kwargs, "QRNN")
        for name in _UNSUPPORTED:
            if kwargs.pop(name, False):
                raise ValueError(f"QRNN does not support `{name}=True`.")
        cell = QRNNCell(
            topology_config(config, topology, "QRNN"), **options, dtype=kwargs.get("dtype"), name="qrnn_cell"
        )
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state, **kwargs)
        self.input_spec = None  # dict or tensor inputs; checked in `call`

    @property
    def qrnn_config(self) -> QRNNConfig:
        """The cell's `QRNNConfig`."""
        return self.cell.config

    @property
    def engine_name(self) -> str:
        """The engine the layer runs on: "native", "state_vector" or "tfq" ("auto" resolved)."""
        return self.cell.engine_name

    def build(self, input_shape: Any) -> None:
        if not self.cell.built:
            with tf.name_scope(self.cell.name):
                self.cell.build(input_shape)
        self.built = True

    def __call__(self, inputs: Any, initial_state: Any = None, constants: Any = None, **kwargs: Any) -> Any:
        if constants is not None:
            raise ValueError(f"QRNN takes no `constants`, got {constants!r}.")
        if isinstance(inputs, list) and len(inputs) > 1 and initial_state is None:  # a loaded model: [inputs, *state]
            inputs, initial_state = inputs[0], inputs[1:]
        if initial_state is None:
            return super().__call__(inputs, **kwargs)
        if not _is_symbolic(tf.nest.flatten(initial_state)[0]):  # Keras' RNN.__call__ refuses arrays
            initial_state = tf.nest.map_structure(tf.convert_to_tensor, initial_state)
            return super().__call__(inputs, initial_state=initial_state, **kwargs)
        # A symbolic state: Keras' RNN.__call__ appends its spec to a built layer's
        # `input_spec`, which is None here (dict or tensor inputs, checked in `call`):
        # give it one slot per input tensor for the call, and drop it again after.
        self.input_spec = [tf.nest.map_structure(lambda _: None, inputs)]
        try:
            return super().__call__(inputs, initial_state=initial_state, **kwargs)
        finally:
            self.input_spec = None

    def run_sequences(
        self,
        inputs: Any,
        training: bool | None = None,
        measurement: str | None = None,
        mask: Any = None,
        seed: Any = None,
        teacher_forcing: bool | None = None,
        initial_state: Any = None,
    ) -> SequenceOutputs:
        """Run the recurrence and return every per-step result (probabilities, measured
        words, postselection probabilities, final state), for training loops and metrics.

        Args:
            inputs: as the layer's.
            training: Keras' flag; it decides teacher forcing when `teacher_forcing` is
                None, and the memory estimate (a training run keeps each step's state).
            measurement: overrides the layer's "sample"/"argmax" where steps are measured.
            mask: optional (B, T) bool, False freezes the state on that step.
            seed: optional (2,) int seed of the sampling; by default a fresh one from the
                layer's seeded generator.
            teacher_forcing: True postselects every step onto its target (needs targets);
                False measures the scored steps; None (default) teacher-forces exactly
                when `training` is true and targets are given.
            initial_state: optional (B, 2^W) workspace state to start from (or a list of
                one), default `|0...0>`.

        Returns:
            `SequenceOutputs` in the engine's dtype (float32 under a half-precision
            policy), in reading order (reversed with `go_backwards`); NaN where the layer's
            outputs would be (see the class docstring on bad input under XLA).

        Raises:
            ValueError: `teacher_forcing=True` without targets, or an `initial_state` that
                is not (B, 2^W); and the input errors of the class docstring.
            TypeError: a `teacher_forcing` that is not a bool or None.
        """
        if not self.built:
            self.build(None)
        cfg, cell = self.qrnn_config, self.cell
        forcing = _check_teacher_forcing(teacher_forcing)
        words = sequence_words(inputs, cfg.io_lanes)
        input_words, mask = words.inputs, _sequence_mask(mask)
        start = _start_state(initial_state, cfg, input_words.shape[0])
        if words.targets is None:
            if forcing:
                raise ValueError("`teacher_forcing=True` postselects every step onto its target, so it needs the "
                                 "inputs as a dict with 'targets'; got no targets.")
            targets, scored = tf.zeros_like(input_words), tf.ones_like(words.scored)
            chosen = measurement or cell.measurement
        else:
            targets, scored = words.targets, words.scored
            forcing = bool(training) if forcing is None else forcing
            chosen = "target" if forcing else (measurement or cell.measurement)
        if self.go_backwards:
            input_words, targets, scored = (tf.reverse(t, [1]) for t in (input_words, targets, scored))
            mask = None if mask is None else tf.reverse(mask, [1])
        # Sizes unknown while tracing (a tf.data batch) are checked when the graph runs.
        sizes = [tf.shape(input_words)[axis] if n is None else n for axis, n in enumerate(input_words.shape)]
        fits = check_memory(cfg, *sizes, dtype=state_dtype(cfg, cell.engine_dtype), training=bool(training))
        if fits is not None:
            size, cut = _none_unless(fits, input_words, targets, scored, mask, start)
            input_words, targets, scored, mask, start = cut
        seed = cell.sampling_seed() if seed is None else tf.cast(seed, tf.int32)
        request = SequenceRequest(
            input_words=input_words, target_words=targets, scored=scored, measurement=chosen, seed=seed, mask=mask,
            state=start,
        )
        out = cell.engine.run(cfg, cell.weights_tuple, request)
        if fits is not None:
            out = tf.nest.map_structure(lambda t: _pad_to(t, size), out)
        return tf.nest.map_structure(lambda t: poison(t, words.valid), out)

    def call(
        self,
        inputs: Any,
        mask: Any = None,
        training: bool | None = None,
        initial_state: Any = None,
        teacher_forcing: bool | None = None,
    ) -> Any:
        """The word distributions (and the final state with `return_state`).

        Args:
            inputs: bits (B, T, I) or the dict of the class docstring.
            mask: a Keras mask (B, T), False freezes the state on that step.
            training: Keras' flag (teacher forcing when `teacher_forcing` is None).
            initial_state: the start state (B, 2^W), or a list of one; default |0...0>.
            teacher_forcing: True, False or None, as in `run_sequences`.
        """
        if isinstance(inputs, list):  # Keras' RNN.__call__ hands a symbolic initial state as [inputs, *state]
            inputs, initial_state = inputs[0], (inputs[1:] or initial_state)
        out = self.run_sequences(
            inputs, training=training, mask=mask, teacher_forcing=teacher_forcing, initial_state=initial_state
        )
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
        mask = _sequence_mask(mask)
        if not self.return_sequences or mask is None:
            return None
        return [mask, None] if self.return_state else mask

    def get_config(self) -> dict[str, Any]:
        base = super().get_config()
        for key in ("cell", *_UNSUPPORTED):
            base.pop(key, None)
        return {**base, **dataclasses.asdict(self.qrnn_config), **self.cell.options}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "QRNN":
        """The layer of `get_config`; also reads configs saved before issue 14, whose
        topology keys were `workspace` and `io_width` (now `workspace_lanes`, `io_lanes`)."""
        return cls(**upgrade_config(config))
