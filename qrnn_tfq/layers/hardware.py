"""`HardwareQRNN`: the hardware-native QRNN as a Keras layer, trained on the device's noisy channel.

    layer = HardwareQRNN(device="willow", lanes=1, scored=[t % 3 == 1 for t in range(23)])
    model = tf.keras.Sequential([layer])
    model.compile(tf.keras.optimizers.Adam(0.05), loss="binary_crossentropy")
    model.fit(input_bits, readout_targets)      # (B, T) and (B, R): R = sum(scored)

The layer maps a batch of input bit sequences to the probability that each readout (one
per scored step, SPEC section 4's prediction of the next bit) reads 1, as the device would
run the sequence circuit of `qrnn_tfq.hardware.cell` under its noise model
(`noisy=False`: without noise). It is the exact marginal of each readout (the density
matrix of the live qubits, `qrnn_tfq.hardware.engine`), differentiable with TensorFlow's
gradients, so `model.fit` trains on the same channel the noisy estimate samples from.
Binary cross-entropy on the readouts is SPEC section 4's loss for one-bit words.

The scored pattern is part of the layer: it fixes where the readouts are in the circuit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cirq
import numpy as np
import tensorflow as tf

from qrnn_tfq.hardware.cell import HardwareCell, device_circuit
from qrnn_tfq.hardware.devices import noise_model
from qrnn_tfq.hardware.engine import DensityMatrixEngine
from qrnn_tfq.hardware.program import sequence_program
from qrnn_tfq.hardware.report import two_qubit_counts

_keras = tf.keras


def check_scored(scored: Sequence[bool]) -> tuple[bool, ...]:
    """`scored` as a tuple of bools, with at least one scored step."""
    values = tuple(bool(s) for s in np.asarray(scored).reshape(-1))
    if not values or not any(values) or any(s not in (0, 1, True, False) for s in np.asarray(scored).reshape(-1)):
        raise ValueError(f"`scored` must be a sequence of bools with at least one True, got {scored!r}.")
    return values


@_keras.utils.register_keras_serializable(package="qrnn_tfq")
class HardwareQRNN(_keras.layers.Layer):
    """Input bits (B, T) -> probabilities (B, R) that each readout reads 1 (module docstring).

    Args:
        device: "willow", "rainbow" or "weber": qubits, native gates and noise.
        lanes: workspace qubits (1 or 2).
        layers: neuron layers per step.
        scored: (T,) which steps are read out.
        noisy: train and predict on the device's noise model (False: noiseless).
        noise_scale: the noise model's scale (0.25 to 4, `qrnn_tfq.hardware.devices`).
        seed: seeds the weights' initialiser.
        initial_stddev: standard deviation of the initial weights (radians).
        input_angle: the mean of each neuron's input angle (the `w'` of its constant term),
            3 pi/4. At 0 the XOR bit sits on a plateau (every readout near 1/2, no
            first-order signal); at pi/2 (the steepest point, as the SPEC's `b`) the two
            kinds of XOR branch pull the angle in opposite directions; between pi/2 and pi
            both pull it towards a full flip (docs/HARDWARE.md, "Training").
    """

    def __init__(self, device: str = "willow", lanes: int = 1, layers: int = 1, scored: Sequence[bool] = (True,),
                 noisy: bool = True, noise_scale: float = 1.0, seed: int = 0, initial_stddev: float = 0.1,
                 input_angle: float = 0.75 * np.pi, **kwargs: Any) -> None:
        kwargs.setdefault("dtype", "float64")
        super().__init__(**kwargs)
        self.cell = HardwareCell(device=device, lanes=lanes, layers=layers)
        self.scored = check_scored(scored)
        if not isinstance(noisy, (bool, np.bool_)):
            raise ValueError(f"`noisy` must be a bool, got {noisy!r}.")
        self.noisy = bool(noisy)
        self.noise_scale = float(noise_scale)
        noise = noise_model(device, self.noise_scale) if self.noisy else None
        self.seed = int(seed)
        self.initial_stddev = float(initial_stddev)
        self.input_angle = float(input_angle)
        self.engine = DensityMatrixEngine(sequence_program(self.cell, self.scored, noise))

    @property
    def readouts(self) -> int:
        return sum(self.scored)

    def two_qubit_counts(self) -> dict[str, Any]:
        """Native two-qubit gates per step and per sequence, compiled and placed on the device."""
        counts = two_qubit_counts(self.cell)
        steps, readouts = len(self.scored), self.readouts
        return {**counts, "sequence": counts["step"] * steps + counts["readout"] * readouts}

    def build(self, input_shape: Any) -> None:
        self.kernel = self.add_weight(
            name="kernel", shape=(self.cell.num_weights,), dtype=tf.float64,
            initializer=self._seeded_weights)
        super().build(input_shape)

    def _seeded_weights(self, shape: Any, dtype: Any = None) -> tf.Tensor:
        """N(0, stddev) angles, plus `input_angle` on each neuron's input term (seeded, stateless)."""
        noise = tf.random.stateless_normal(self.cell.weight_shape, seed=[self.seed, 0], stddev=self.initial_stddev,
                                           dtype=tf.float64)
        offset = np.zeros(self.cell.weight_shape)
        offset[..., 0, 1] = self.input_angle
        return tf.reshape(noise + offset, shape)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        return self.engine.probabilities(self.kernel, inputs)

    def sample(self, inputs: tf.Tensor, seed: int) -> tf.Tensor:
        """(B, R) readout bits, one shot per row (exact trajectories of the same channel)."""
        if not self.built:
            self.build(tf.TensorShape(np.shape(inputs)))
        return self.engine.sample(self.kernel, inputs, seed)

    def device_circuit(self, input_bits: Sequence[int] | np.ndarray) -> cirq.Circuit:
        """The device circuit of one sequence (T input bits) with the layer's weights: what a chip runs."""
        bits = np.asarray(input_bits).reshape(-1)
        if bits.size != len(self.scored) or not np.isin(bits, (0, 1)).all():
            raise ValueError(f"`input_bits` must be {len(self.scored)} bits (0 or 1), got {input_bits!r}.")
        if not self.built:
            self.build(tf.TensorShape([None, len(self.scored)]))
        return device_circuit(self.cell, self.scored, self.kernel.numpy(), bits)

    def compute_output_shape(self, input_shape: Any) -> tf.TensorShape:
        return tf.TensorShape([input_shape[0], self.readouts])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self.cell.to_dict(), "scored": list(self.scored), "noisy": self.noisy,
                "noise_scale": self.noise_scale, "seed": self.seed, "initial_stddev": self.initial_stddev,
                "input_angle": self.input_angle}
