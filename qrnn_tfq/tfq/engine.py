"""`TFQEngine`: the coherent QRNN (SPEC section 8) simulated by TensorFlow Quantum's layers.

The coherent recurrence has no measurement, so a whole sequence is one unitary circuit
from |0...0>, which is what TFQ runs (SPEC section 7). Per call the engine simulates, for
every sample and every step `t` that some sample of the batch scores, the readout circuit
of `qrnn_tfq.circuits.coherent` (steps `0..t`, then the output stage), with the layer's
weights and the sample's input bits as symbol values, and measures the in/out lanes'
Z strings; `p_t(w)` follows with the projector signs (`qrnn_tfq.tfq.observables`).

Simulators:
    exact       `tfq.layers.Expectation`, adjoint gradients (`tfq.differentiators.Adjoint`,
                the default) or parameter-shift ones (`differentiator="parameter_shift"`:
                about 2 circuits per symbolic gate instead of one backward pass, but
                more precise: TFQ's float32 adjoint differentiates each gate by a finite
                difference, so its gradients are good to about 3e-4 relative);
                parameter shift runs the circuits with their controlled rotations split
                into two-eigenvalue gates (`split_controlled_rotations`, the same
                unitary), since TFQ's own split is wrong for two or more controls;
    shots       `tfq.layers.SampledExpectation` with `shots` measurements per Z string,
                parameter-shift gradients (themselves estimated from shots);
    noise       TFQ's noisy backend on the (split) circuits with a depolarizing channel
                of probability `noise` on every qubit of every gate, after the gate
                (`noisy`): `SampledExpectation` with `shots` (one trajectory a shot), or
                without shots `Expectation` averaged over `NOISE_TRAJECTORIES`
                Monte-Carlo trajectories; parameter-shift gradients.

What the outputs hold (`SequenceOutputs`):
    probabilities    `p_t` at the steps read out; steps that no sample of the batch
                     scores are not simulated (a classifier reads its last step only)
                     and hold zeros;
    measured         the target, or at scored steps the argmax or a sample of `p_t`
                     (`choose_words`; the samples use one seed for all steps, so they are
                     not the state-vector engine's draws, only their distribution);
    postselection    `p_t(measured)` at the steps read out, 1 elsewhere;
    ancilla_success  1: order-0 neurons have no ancilla;
    final_state      zeros (B, 2^W): TFQ gives no differentiable state, and simulating one
                     more circuit per sample only to return it is not worth its cost.

Circuits are built and serialized on first use, one per (config, length, readout step),
and kept by the engine (`qrnn_tfq.layers.engines.get_engine("tfq", ...)` shares one engine
per option set).
"""

from __future__ import annotations

from typing import Any

import cirq
import numpy as np
import tensorflow as tf
import tensorflow_quantum as tfq
from tensorflow_quantum.core.serialize import serializer

from qrnn_tfq.circuits.coherent import (
    check_coherent,
    coherent_readout_circuits,
    coherent_symbol_names,
    split_controlled_rotations,
)
from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.engine.base import Engine
from qrnn_tfq.engine.sequence import SequenceOutputs, SequenceRequest
from qrnn_tfq.engine.step import MEASUREMENTS, StepRequest, choose_words
from qrnn_tfq.tfq.observables import projector_signs, z_strings

NOISE_TRAJECTORIES = 1000  # Monte-Carlo trajectories of a noisy run without shots
DIFFERENTIATORS = ("adjoint", "parameter_shift")


def lanes_of(config: QRNNConfig) -> list[cirq.LineQubit]:
    """The lane qubits the engine's circuits use: `LineQubit(0 .. n-1)`, lane 0 first."""
    return cirq.LineQubit.range(config.num_lanes)


def noisy(circuit: cirq.Circuit, noise: float) -> cirq.Circuit:
    """`circuit` with a depolarizing channel of probability `noise` on every qubit of every
    gate, right after the gate. (Cirq's `with_noise` would also put one on every idle qubit
    of every moment: about 3 times the channels, and TFQ's noisy backend holds them all in
    memory, some 0.2 GB per DNA circuit of 3500 gates.)"""
    ops: list[cirq.Operation] = []
    for op in circuit.all_operations():
        ops += [op, *cirq.depolarize(noise).on_each(*op.qubits)]
    return cirq.Circuit(ops)


def check_shots(shots: Any) -> int | None:
    """`shots` as an int >= 1, or None (exact expectations); ValueError names a bad value."""
    if shots is None:
        return None
    if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 1:
        raise ValueError(f"`shots` must be None (exact expectations) or an int >= 1, got {shots!r}.")
    return int(shots)


def check_noise(noise: Any) -> float:
    """`noise` as a float in [0, 1) (depolarizing probability); ValueError names a bad value."""
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise < 1:
        raise ValueError(f"`noise` must be a depolarizing probability in [0, 1), got {noise!r}.")
    return float(noise)


def _check_differentiator(differentiator: Any, exact: bool) -> str:
    """The differentiator's name: None -> "adjoint" if `exact` else "parameter_shift"."""
    if differentiator is None:
        return "adjoint" if exact else "parameter_shift"
    if differentiator not in DIFFERENTIATORS:
        raise ValueError(f"`differentiator` must be None or one of {DIFFERENTIATORS}, got {differentiator!r}.")
    if differentiator == "adjoint" and not exact:
        raise ValueError("The adjoint differentiator needs exact expectations (shots=None, noise=0); use "
                         "'parameter_shift' with shots or noise.")
    return differentiator


class TFQEngine(Engine):
    """The coherent recurrence in TensorFlow Quantum (see the module docstring).

    Args:
        shots: measurements per Z string and readout; None computes exact expectations.
        noise: depolarizing probability on every qubit of every gate; 0 is noiseless.
        differentiator: "adjoint" (exact expectations only) or "parameter_shift"; None
            takes "adjoint" for exact expectations and "parameter_shift" otherwise.
    """

    name = "tfq"

    def __init__(self, shots: int | None = None, noise: float = 0.0, differentiator: str | None = None) -> None:
        self.shots = check_shots(shots)
        self.noise = check_noise(noise)
        exact = self.shots is None and not self.noise
        self.differentiator = _check_differentiator(differentiator, exact)
        gradient = tfq.differentiators.Adjoint() if self.differentiator == "adjoint" else tfq.differentiators.ParameterShift()
        backend = "noisy" if self.noise else "noiseless"
        if self.shots is None:
            self._layer = tfq.layers.Expectation(backend=backend, differentiator=gradient)
        else:
            self._layer = tfq.layers.SampledExpectation(backend=backend, differentiator=gradient)
        self._repetitions = self.shots if self.shots is not None else (NOISE_TRAJECTORIES if self.noise else None)
        self._circuits: dict[tuple[QRNNConfig, int, int], bytes] = {}
        self._names: dict[tuple[QRNNConfig, int], np.ndarray] = {}
        self._observables: dict[QRNNConfig, np.ndarray] = {}

    def check_config(self, config: QRNNConfig) -> None:
        """Raises ValueError unless `config` is coherent: the postselected recurrence measures
        mid-circuit and renormalises, which TFQ cannot run (SPEC section 7)."""
        if config.recurrence != "coherent":
            raise ValueError(
                "The TFQ engine runs only the coherent recurrence (SPEC sections 7-8: TFQ has no mid-circuit "
                f"measurement or postselection); use recurrence='coherent' with order=0, got "
                f"recurrence={config.recurrence!r}, order={config.order}."
            )
        check_coherent(config)

    # ---- circuits (Python, cached) ---------------------------------------------------------

    def readout_circuit(self, config: QRNNConfig, steps: int, step: int) -> cirq.Circuit:
        """The circuit simulated for step `step` of a `steps`-step sequence: the coherent
        readout circuit, with its controlled rotations split for parameter shift
        (`split_controlled_rotations`), then the noise channels."""
        circuit = coherent_readout_circuits(config, lanes_of(config), steps, [step])[0]
        if self.differentiator == "parameter_shift":
            circuit = split_controlled_rotations(circuit)
        return noisy(circuit, self.noise) if self.noise else circuit

    def _serialized_readouts(self, config: QRNNConfig, steps: Any, read_steps: np.ndarray) -> np.ndarray:
        """The readout circuits of `read_steps` (R,), serialized for TFQ: (R,) bytes."""
        steps = int(steps)
        out = []
        for step in read_steps.tolist():
            key = (config, steps, int(step))
            if key not in self._circuits:
                self._circuits[key] = serializer.serialize_circuit(self.readout_circuit(config, steps, int(step))).SerializeToString()
            out.append(self._circuits[key])
        return np.array(out, dtype=object)

    def _symbol_names(self, config: QRNNConfig, steps: Any) -> np.ndarray:
        """The symbols of a `steps`-step sequence in value order: weights, then input bits."""
        key = (config, int(steps))
        if key not in self._names:
            self._names[key] = np.array(coherent_symbol_names(config, int(steps)), dtype=object)
        return self._names[key]

    def _operators(self, config: QRNNConfig) -> np.ndarray:
        """The in/out lanes' Z strings (`z_strings`), serialized for TFQ: (2^I - 1,) bytes."""
        if config not in self._observables:
            strings = z_strings(config, lanes_of(config))
            self._observables[config] = np.array([serializer.serialize_paulisum(s).SerializeToString() for s in strings], dtype=object)
        return self._observables[config]

    # ---- the simulation ----------------------------------------------------------------------

    def word_probabilities(self, config: QRNNConfig, weights: Any, input_words: tf.Tensor, read_steps: tf.Tensor) -> tf.Tensor:
        """`p_t(w)` of every sample at the steps `read_steps` (R,): (B, R, 2^I), float32.

        Differentiable with respect to `weights` (through TFQ's differentiator).
        """
        input_words = tf.cast(input_words, tf.int32)
        batch, steps = tf.shape(input_words)[0], tf.shape(input_words)[1]
        num_read = tf.shape(read_steps)[0]
        circuits = tf.numpy_function(
            lambda t, r: self._serialized_readouts(config, t, r), [steps, read_steps], tf.string, stateful=False
        )
        names = tf.numpy_function(lambda t: self._symbol_names(config, t), [steps], tf.string, stateful=False)
        circuits.set_shape([None])
        names.set_shape([None])
        flat = tf.concat([tf.reshape(tf.cast(w, tf.float32), [-1]) for w in weights], axis=0)  # (P,)
        shifts = tf.range(config.io_lanes - 1, -1, -1)
        bits = tf.bitwise.bitwise_and(tf.bitwise.right_shift(input_words[:, :, None], shifts), 1)  # (B, T, I)
        bits = tf.reshape(tf.cast(bits, tf.float32), [batch, steps * config.io_lanes])
        values = tf.concat([tf.tile(flat[None], [batch, 1]), bits], axis=1)  # (B, P + T I)
        values = tf.repeat(values, num_read, axis=0)  # (B R, P + T I), sample-major
        circuits = tf.tile(circuits, [batch])  # (B R,)
        operators = tf.tile(tf.constant(self._operators(config))[None], [batch * num_read, 1])  # (B R, 2^I - 1)
        kwargs = {} if self._repetitions is None else {"repetitions": self._repetitions}
        z = self._layer(circuits, symbol_names=names, symbol_values=values, operators=operators, **kwargs)
        z = tf.concat([tf.ones([batch * num_read, 1]), tf.reshape(z, [batch * num_read, config.num_words - 1])], axis=1)
        signs = tf.constant(projector_signs(config), tf.float32)
        probabilities = tf.maximum(tf.matmul(z, signs, transpose_b=True) / config.num_words, 0.0)  # (B R, 2^I)
        if self._repetitions is not None:  # estimates: clipped at 0 above, renormalised here
            probabilities /= tf.reduce_sum(probabilities, axis=-1, keepdims=True)
        return tf.reshape(probabilities, [batch, num_read, config.num_words])

    def run(self, config: QRNNConfig, weights: Any, request: SequenceRequest) -> SequenceOutputs:
        """A whole sequence (as `Engine.run`). The request's `mask` and `state` must be None:
        every circuit starts from |0...0> and runs all its steps."""
        self.check_config(config)
        if request.measurement not in MEASUREMENTS:
            raise ValueError(f"`measurement` must be one of {MEASUREMENTS}, got {request.measurement!r}.")
        if request.mask is not None:
            raise ValueError("The TFQ engine cannot mask steps (each circuit runs every step); got a mask. "
                             "Use the state-vector engine for masked sequences.")
        if request.state is not None:
            raise ValueError("The TFQ engine starts every sequence from |0...0> (SPEC section 7); got an initial state.")
        dtype = weights.theta.dtype
        input_words, target_words, scored, measurement, seed, _, _ = request.filled(config, dtype)
        batch, steps = tf.shape(input_words)[0], tf.shape(input_words)[1]
        read = tf.reduce_any(scored, axis=0)  # (T,) steps some sample scores
        read_steps = tf.cast(tf.where(read)[:, 0], tf.int32)  # (R,)
        read_probabilities = self.word_probabilities(config, weights, input_words, read_steps)  # (B, R, 2^I)
        probabilities = tf.scatter_nd(
            read_steps[:, None], tf.transpose(read_probabilities, [1, 0, 2]), tf.stack([steps, batch, config.num_words])
        )
        probabilities = tf.cast(tf.transpose(probabilities, [1, 0, 2]), dtype)  # (B, T, 2^I)
        flat = tf.reshape(probabilities, [-1, config.num_words])
        measured = choose_words(
            flat, target=tf.reshape(target_words, [-1]), scored=tf.reshape(scored, [-1]), measurement=measurement, seed=seed
        )
        chosen = tf.reduce_sum(tf.one_hot(measured, config.num_words, dtype=dtype) * flat, axis=-1)
        measured = tf.reshape(measured, [batch, steps])
        postselection = tf.where(read[None, :], tf.reshape(chosen, [batch, steps]), tf.ones([batch, steps], dtype))
        return SequenceOutputs(
            probabilities=probabilities,
            measured=measured,
            postselection=postselection,
            final_state=tf.zeros([batch, 2**config.workspace_lanes], dtype),
            ancilla_success=tf.ones([batch, steps], dtype),
        )

    def step(self, config: QRNNConfig, weights: Any, request: StepRequest) -> Any:
        """Refused: see the message."""
        raise ValueError(
            "The TFQ engine runs whole sequences (one circuit from |0...0> per readout), not single steps: "
            "use QRNN(..., engine='tfq') instead of tf.keras.layers.RNN(QRNNCell(..., engine='tfq'))."
        )

