"""`QRNNCell`: one QRNN time step for `tf.keras.layers.RNN` (SPEC sections 2-4)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping

import tensorflow as tf

from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.engine import QRNNWeights, StepRequest, initial_state
from qrnn_tfq.layers.engines import get_engine
from qrnn_tfq.layers.words import all_valid, poison, scored_and_flags, split_inputs, words_and_flags

_keras = tf.keras

# The layers' topology arguments are exactly `QRNNConfig`'s fields (keyword-only, None: not
# given); the constructors spell them out, and tests/layers/test_layer_api.py checks both
# signatures against `dataclasses.fields(QRNNConfig)`.
TOPOLOGY_FIELDS = tuple(field.name for field in dataclasses.fields(QRNNConfig))
# The other constructor arguments a QRNN layer stores and `get_config` returns.
LAYER_OPTIONS = ("theta_stddev", "phi_stddev", "work_stddev", "measurement", "seed", "engine", "shots", "noise")
# Names of configs saved before issue 14 (`.keras` files of 186c535 and earlier) -> today's.
LEGACY_KEYS = {"workspace": "workspace_lanes", "io_width": "io_lanes"}
MEASUREMENTS = ("sample", "argmax")


def topology_config(config: QRNNConfig | None, fields: Mapping[str, Any], layer: str = "QRNNCell") -> QRNNConfig:
    """The layer's `QRNNConfig`: `config` itself, or one made from the given `fields`.

    Args:
        config: a `QRNNConfig`, or None to make one from `fields`.
        fields: `QRNNConfig` field -> value; None means not given (the dataclass default).
        layer: the class name for the messages.

    Raises:
        TypeError: `config` is not a `QRNNConfig` (e.g. a positional int, the old API), or
            neither `config` nor `workspace_lanes` and `io_lanes` are given.
        ValueError: both `config` and some of its fields are given, or a field is invalid.
    """
    given = {name: value for name, value in fields.items() if value is not None}
    if config is not None:
        if not isinstance(config, QRNNConfig):
            raise TypeError(
                f"`config` must be a QRNNConfig or None, got {config!r} of type {type(config).__name__}; "
                f"give the topology by keyword: {layer}(workspace_lanes=..., io_lanes=..., stages=..., ...)."
            )
        if given:
            raise ValueError(
                f"{layer} takes either a QRNNConfig or its fields, not both: got config={config!r} and {sorted(given)}."
            )
        return config
    missing = [name for name in ("workspace_lanes", "io_lanes") if name not in given]
    if missing:
        raise TypeError(
            f"{layer} needs a QRNNConfig or the keyword arguments `workspace_lanes` and `io_lanes`, missing {missing}."
        )
    if isinstance(given.get("bias"), int) and not isinstance(given["bias"], bool):
        given["bias"] = float(given["bias"])
    return QRNNConfig(**given)


def refuse_legacy_names(kwargs: Mapping[str, Any], layer: str) -> None:
    """A clear TypeError for the pre-issue-14 argument names (Keras would call them unknown)."""
    old = sorted(set(kwargs) & set(LEGACY_KEYS))
    if old:
        renamed = ", ".join(f"`{name}` is now `{LEGACY_KEYS[name]}`" for name in old)
        raise TypeError(f"{layer} got the old argument names {old}: {renamed}.")


def upgrade_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A saved layer config with the legacy keys (`workspace`, `io_width`) renamed.

    Raises:
        ValueError: a config with both a legacy key and its new name.
    """
    config = dict(config)
    for old, new in LEGACY_KEYS.items():
        if old in config:
            if new in config:
                raise ValueError(f"A QRNN layer config must not hold both `{old}` and `{new}`, got {config}.")
            config[new] = config.pop(old)
    return config


def _check_spread(name: str, value: float) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise ValueError(f"`{name}` must be a finite number >= 0, got {value!r}.")
    return float(value)


def _derived_seed(seed: int | None, offset: int) -> int | None:
    return None if seed is None else seed + offset


def engine_dtype(compute_dtype: Any) -> tf.DType:
    """The dtype the engine simulates in for a layer's compute dtype: float64 stays, all
    else (float32, float16, bfloat16) runs in float32. Half precision cannot hold the
    state: 2^W amplitudes and norms that shrink to 1e-20 between renormalisations
    underflow float16 (every output reads 0), and bfloat16 keeps 3 significant digits."""
    return tf.float64 if tf.as_dtype(compute_dtype) == tf.float64 else tf.float32


def _step_scored(scored: Any) -> tf.Tensor:
    """A step's `scored` as (B,): it comes as (B,) or (B, 1)."""
    scored = tf.convert_to_tensor(scored)
    if scored.shape.rank == 2 and scored.shape[1] in (1, None):
        return tf.reshape(scored, tf.shape(scored)[:1])
    if scored.shape.rank != 1:
        raise ValueError(
            "`scored` must have shape (batch,) or (batch, 1) at a QRNNCell step (over a sequence in "
            f"tf.keras.layers.RNN, (batch, steps, 1)), got {scored.shape}."
        )
    return scored


@_keras.utils.register_keras_serializable(package="qrnn_tfq")
class QRNNCell(_keras.__internal__.layers.BaseRandomLayer):
    """One step of a recurrent quantum neural network.

    The cell carries the workspace state vector `(B, 2^W)` and outputs the distribution
    `p` over the `2^I` output words. Per step it takes the input bits `(B, I)`, or a
    dict with "inputs", "targets" `(B, I)` and optionally "scored" `(B,)` or `(B, 1)`: in
    training (Keras' `training` flag: the cell has no `teacher_forcing` argument, since
    `tf.keras.layers.RNN` passes it none; `QRNN` has one) it measures (postselects) the
    target; otherwise it measures the target at
    unscored steps and a sample or the argmax of `p` at scored steps. Without targets
    every step is scored, and "scored" without "targets" is refused.

    In `tf.keras.layers.RNN(QRNNCell(...))` pass "scored" as `(B, T, 1)`: Keras's RNN
    refuses any input of rank below 3 before the cell sees it (the `QRNN` layer takes
    both `(B, T)` and `(B, T, 1)`). Bits and scored flags must be 0 or 1 (see `QRNN` for
    how a bad value fails in eager, graph and XLA mode); the simulation runs in float32
    under a float16/bfloat16 (mixed) precision policy, the outputs in the compute dtype.

    The topology is a `QRNNConfig`, given whole (`QRNNCell(config)`) or as its fields by
    keyword (`QRNNCell(workspace_lanes=3, io_lanes=2, stages=1)`), not both; a field left
    None takes `QRNNConfig`'s default.

    Args:
        config: the topology as a `QRNNConfig` (or None, then its fields below).
        workspace_lanes: `W`, workspace lanes.
        io_lanes: `I`, in/out lanes (bits per word).
        stages: `S`, work stages (default 1).
        degree: `d`, largest subset of source lanes a weight multiplies (default 2).
        order: `ord`, neuron order (default 2, the paper's; 0 is a coherent neuron).
        bias: fixed offset `b` of every neuron's angle (default pi/2).
        theta_stddev: spread of the normal initialiser of the neuron biases.
        phi_stddev: spread of the normal initialiser of the subset weights.
        work_stddev: spread of the normal initialiser of the work-stage angles.
        measurement: "argmax" (default: deterministic predictions) or "sample" (the
            paper's metric), the evaluation-time choice at scored steps.
        seed: seeds the initialisers and the sampling.
        engine: the simulation engine (`qrnn_tfq.layers.engines`): "auto" (default: the
            fused C++ op, "native", when it is built, else "state_vector"), "native",
            "state_vector" (XLA; the reference, and the engine for GPUs and
            `jit_compile=True`) or "tfq". `engine_name` says which one runs.
        amplification: rounds of fixed-point amplitude amplification replacing each
            neuron's postselection (SPEC section 8; 0, the default, is ideal postselection).
            The state is then complex (`final_state` too); needs `order >= 1`.
        amplification_bound: the success-probability bound the phases are made for; None
            takes SPEC section 2's `2^(1 - 2^order)`.
        recurrence: "postselected" (default, the paper's) or "coherent" (SPEC section 8:
            order-0 neurons, no measurement; the outputs are read out, the state is
            carried on untouched).
        shots: with `engine="tfq"`, measurements per Z string that estimate each word
            probability; None (default) computes exact expectations.
        noise: with `engine="tfq"`, depolarizing probability on every qubit of every gate
            of the circuits, after the gate (default 0).

    `engine="tfq"` (TensorFlow Quantum, `qrnn_tfq.tfq`) runs only the coherent recurrence
    and only whole sequences: use it through `QRNN`, not `tf.keras.layers.RNN(QRNNCell)`.
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
        **kwargs: Any,
    ) -> None:
        topology = dict(
            workspace_lanes=workspace_lanes, io_lanes=io_lanes, stages=stages, degree=degree, order=order, bias=bias,
            amplification=amplification, amplification_bound=amplification_bound, recurrence=recurrence,
        )
        refuse_legacy_names(kwargs, type(self).__name__)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"`seed` must be an int or None, got {seed!r}.")
        self.config = topology_config(config, topology, type(self).__name__)
        super().__init__(seed=seed, force_generator=True, rng_type="stateful", **kwargs)
        self.theta_stddev = _check_spread("theta_stddev", theta_stddev)
        self.phi_stddev = _check_spread("phi_stddev", phi_stddev)
        self.work_stddev = _check_spread("work_stddev", work_stddev)
        if measurement not in MEASUREMENTS:
            raise ValueError(f"`measurement` must be 'sample' or 'argmax', got {measurement!r}.")
        self.measurement = measurement
        self.seed = seed
        options = {name: value for name, value, default in (("shots", shots, None), ("noise", noise, 0)) if value != default}
        if options and engine != "tfq":
            raise ValueError(f"`shots` and `noise` need engine='tfq', got engine={engine!r} with {options}.")
        self.engine_choice = engine  # as asked ("auto" stays "auto" in `get_config`)
        self.engine = get_engine(engine, **options)
        self.engine.check_config(self.config)
        self.shots, self.noise = shots, noise
        self.state_size = 2**self.config.workspace_lanes
        self.output_size = 2**self.config.io_lanes

    def build(self, input_shape: Any) -> None:
        cfg = self.config
        normal = _keras.initializers.RandomNormal
        self.theta = self.add_weight(
            name="theta", shape=(cfg.num_neurons,),
            initializer=normal(stddev=self.theta_stddev, seed=_derived_seed(self.seed, 0)), autocast=False,
        )
        self.phi = self.add_weight(
            name="phi", shape=(cfg.num_neurons, cfg.num_subsets),
            initializer=normal(stddev=self.phi_stddev, seed=_derived_seed(self.seed, 1)), autocast=False,
        )
        self.work_angles = self.add_weight(
            name="work_angles", shape=(cfg.stages, cfg.workspace_lanes),
            initializer=normal(stddev=self.work_stddev, seed=_derived_seed(self.seed, 2)), autocast=False,
        )
        self.built = True

    @property
    def engine_dtype(self) -> tf.DType:
        """The dtype of the simulation: float32, or float64 under a float64 policy."""
        return engine_dtype(self.compute_dtype)

    @property
    def weights_tuple(self) -> QRNNWeights:
        """The weights in the engine's layout and dtype.

        The variables are made with `autocast=False`, so that under a mixed policy the
        engine reads them in float32 instead of rounded to float16.
        """
        return QRNNWeights(*(tf.cast(w, self.engine_dtype) for w in (self.theta, self.phi, self.work_angles)))

    def sampling_seed(self) -> tf.Tensor:
        """A fresh (2,) seed for the stateless sampling ops, drawn from the seeded generator."""
        return tf.cast(self._random_generator.make_seed_for_stateless_op(), tf.int32)

    def call(self, inputs: Any, states: Any, training: bool | None = None) -> tuple[tf.Tensor, list[tf.Tensor]]:
        input_bits, target_bits, scored = split_inputs(inputs)
        width = self.config.io_lanes
        input_words, input_ok = words_and_flags(input_bits, width, "inputs")  # (B,)
        target_ok = scored_ok = None
        if target_bits is None:
            target_words, scored = tf.zeros_like(input_words), tf.ones_like(input_words, dtype=tf.bool)
        else:
            target_words, target_ok = words_and_flags(target_bits, width, "targets")
            if scored is None:
                scored = tf.ones_like(input_words, tf.bool)
            else:
                scored, scored_ok = scored_and_flags(_step_scored(scored))
        measurement = "target" if (training and target_bits is not None) else self.measurement
        state = states[0] if isinstance(states, (list, tuple)) else states
        request = StepRequest(
            input_word=input_words, target_word=target_words, scored=scored, measurement=measurement,
            seed=self.sampling_seed(), state=state,
        )
        out = self.engine.step(self.config, self.weights_tuple, request)
        # A graph's bad bit or flag (XLA drops the assertion) turns the sample into NaN.
        valid = all_valid(input_ok, target_ok, scored_ok)
        return tf.cast(poison(out.probabilities, valid), self.compute_dtype), [poison(out.state, valid)]

    def get_initial_state(self, inputs: Any = None, batch_size: Any = None, dtype: Any = None) -> list[tf.Tensor]:
        """All lanes in 0 (SPEC section 3), not the zero vector Keras would use.

        The state is in the engine's dtype (`engine_dtype`); `dtype` (the input bits' dtype,
        as `RNN` passes it) is ignored.
        """
        if batch_size is None:
            batch_size = tf.shape(tf.nest.flatten(inputs)[0])[0]
        return [initial_state(self.config, batch_size, self.engine_dtype)]

    @property
    def options(self) -> dict[str, Any]:
        """The constructor arguments besides the topology (`LAYER_OPTIONS`), as `get_config` gives them."""
        return {name: self.engine_choice if name == "engine" else getattr(self, name) for name in LAYER_OPTIONS}

    @property
    def engine_name(self) -> str:
        """The engine this cell runs on: "native", "state_vector" or "tfq" ("auto" resolved)."""
        return self.engine.name

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **dataclasses.asdict(self.config), **self.options}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "QRNNCell":
        """The cell of `get_config`; also reads configs saved before issue 14 (`workspace`, `io_width`)."""
        return cls(**upgrade_config(config))
