"""The density-matrix engine against a brute-force `cirq.DensityMatrixSimulator` of the same noisy circuit."""

from __future__ import annotations

import itertools

import cirq
import numpy as np
import pytest
import tensorflow as tf

from qrnn_tfq.hardware.cell import HardwareCell, input_symbol, resolver, sequence_circuit
from qrnn_tfq.hardware.devices import noise_model
from qrnn_tfq.hardware.engine import DensityMatrixEngine
from qrnn_tfq.hardware.program import Enter, compile_program, sequence_program

SCORED = [False, True, False, True]


def brute_force(cell: HardwareCell, scored: list[bool], noise: cirq.NoiseModel | None, weights: np.ndarray,
                inputs: np.ndarray) -> np.ndarray:
    """The joint distribution of the readouts (R bits, first readout most significant), by cirq."""
    circuit = sequence_circuit(cell, scored)
    if noise is not None:
        circuit = cirq.Circuit(noise.noisy_moments(circuit, sorted(circuit.all_qubits())))
    resolved = cirq.resolve_parameters(circuit, resolver(cell, weights, inputs))
    first = min(i for i, moment in enumerate(resolved.moments) if any(cirq.is_measurement(op) for op in moment))
    readouts = sorted((cirq.measurement_key_name(op), op.qubits[0]) for op in resolved.all_operations()
                      if cirq.is_measurement(op))
    qubits = sorted(circuit.all_qubits())
    rho = cirq.DensityMatrixSimulator(dtype=np.complex128).simulate(
        cirq.Circuit(resolved.moments[:first]), qubit_order=qubits).final_density_matrix
    diagonal = np.real(np.diag(rho)).reshape((2,) * len(qubits))
    axes = [qubits.index(q) for _, q in readouts]
    others = tuple(i for i in range(len(qubits)) if i not in axes)
    return np.transpose(diagonal.sum(axis=others), np.argsort(np.argsort(axes))).reshape(-1)


@pytest.mark.parametrize("device,lanes", [("willow", 1), ("willow", 2), ("rainbow", 1), ("rainbow", 2)])
def test_marginals_equal_cirq_density_matrix_under_the_noise_model(device: str, lanes: int) -> None:
    cell = HardwareCell(device, lanes=lanes)
    noise = noise_model(device)
    engine = DensityMatrixEngine(sequence_program(cell, SCORED, noise))
    rng = np.random.default_rng(lanes)
    weights = rng.normal(size=cell.num_weights)
    inputs = np.array([[0, 1, 1, 0], [1, 1, 0, 1]], dtype=np.float64)
    probabilities = engine.probabilities(weights, inputs).numpy()
    for b in range(2):
        joint = brute_force(cell, SCORED, noise, weights, inputs[b]).reshape(2, 2)
        np.testing.assert_allclose(probabilities[b], [joint[1].sum(), joint[:, 1].sum()], atol=1e-10)


def test_trajectories_sample_the_joint_distribution() -> None:
    cell = HardwareCell("rainbow", lanes=1)
    noise = noise_model("rainbow", 2.0)
    engine = DensityMatrixEngine(sequence_program(cell, SCORED, noise))
    weights = np.array([0.3, 2.5])
    inputs = np.array([1, 0, 1, 1], dtype=np.float64)
    joint = brute_force(cell, SCORED, noise, weights, inputs)
    shots = 4000
    bits = engine.sample(weights, np.repeat(inputs[None], shots, axis=0), seed=3).numpy()
    counts = np.bincount(bits[:, 0] * 2 + bits[:, 1], minlength=4)
    sigma = np.sqrt(shots * joint * (1 - joint))
    assert np.all(np.abs(counts - shots * joint) <= 5 * sigma + 1), (counts, shots * joint)
    again = engine.sample(weights, np.repeat(inputs[None], shots, axis=0), seed=3).numpy()
    np.testing.assert_array_equal(bits, again)


def test_gradient_equals_finite_differences() -> None:
    cell = HardwareCell("willow", lanes=2)
    engine = DensityMatrixEngine(sequence_program(cell, SCORED, noise_model("willow")))
    inputs = tf.constant([[0, 1, 1, 0], [1, 1, 0, 1]], tf.float64)
    weights = tf.Variable(np.random.default_rng(5).normal(size=cell.num_weights))
    targets = tf.constant([[1.0, 0.0], [0.0, 1.0]], tf.float64)

    def loss(w: tf.Tensor) -> tf.Tensor:
        p = engine.probabilities(w, inputs)
        return -tf.reduce_sum(targets * tf.math.log(p) + (1 - targets) * tf.math.log(1 - p))

    with tf.GradientTape() as tape:
        value = loss(weights)
    gradient = tape.gradient(value, weights).numpy()
    step = 1e-6
    for i in range(cell.num_weights):
        shift = np.zeros(cell.num_weights)
        shift[i] = step
        numeric = (loss(weights + shift) - loss(weights - shift)).numpy() / (2 * step)
        assert gradient[i] == pytest.approx(numeric, rel=1e-5, abs=1e-7)


def test_fresh_qubits_enter_only_when_changed_and_the_state_stays_small() -> None:
    cell = HardwareCell("willow", lanes=1)
    scored = [t % 3 == 1 for t in range(23)]  # 8 readouts: 9 qubits on the device
    program = sequence_program(cell, scored, noise_model("willow"))
    assert len(sequence_circuit(cell, scored).all_qubits()) == 9
    assert program.max_live == 2  # the lane and the qubit it walks onto
    assert sum(isinstance(item, Enter) for item in program.items) == 9
    assert program.records == tuple(f"out_{k:03d}" for k in range(8))


def test_noiseless_exact_xor_angles_read_every_xor_bit() -> None:
    cell = HardwareCell("willow", lanes=1)
    scored = [t % 3 == 1 for t in range(11)]
    engine = DensityMatrixEngine(sequence_program(cell, scored, None))
    stream = np.array([[a, b, a ^ b] for a, b in itertools.product((0, 1), repeat=2)]).reshape(-1)[:11]
    p = engine.probabilities(np.array([0.0, np.pi]), stream[None].astype(np.float64)).numpy()[0]
    np.testing.assert_allclose(p, [0, 1, 1, 0], atol=1e-12)


def test_bad_input_is_refused_by_name() -> None:
    cell = HardwareCell("willow", lanes=1)
    engine = DensityMatrixEngine(sequence_program(cell, SCORED, None))
    with pytest.raises(ValueError, match=r"`inputs` must have shape \(B, 4\)"):
        engine.probabilities(np.zeros(2), np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"`weights` must have shape \(2,\)"):
        engine.probabilities(np.zeros(3), np.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"`inputs` must be bits \(0 or 1\), got 0.5"):
        engine.probabilities(np.zeros(2), np.full((1, 4), 0.5))
    bad = tf.constant([[1, 0, 1, 1], [0, 2, 0, 1]], tf.float64)
    graph = tf.function(lambda x: engine.probabilities(tf.zeros(2, tf.float64), x))
    with pytest.raises(tf.errors.InvalidArgumentError, match="must be bits"):
        graph(bad)
    xla = tf.function(lambda x: engine.probabilities(tf.constant([0.0, np.pi], tf.float64), x), jit_compile=True)
    result = xla(bad).numpy()  # XLA cannot assert: the sequence with the bad bit gives NaN, the other its answer
    np.testing.assert_allclose(result[0], [1, 1], atol=1e-12)
    assert np.isnan(result[1]).all()
    shots = tf.function(lambda x: engine.sample(tf.constant([0.0, np.pi], tf.float64), x, 0), jit_compile=True)
    np.testing.assert_array_equal(shots(bad).numpy(), [[1, 1], [-1, -1]])


def test_programs_too_large_or_with_mid_circuit_measurements_are_refused() -> None:
    qubits = cirq.LineQubit.range(10)
    wide = cirq.Circuit(cirq.H.on_each(*qubits), [cirq.CZ(a, b) for a, b in zip(qubits, qubits[1:])],
                        cirq.measure(qubits[0], key="out_000"))
    with pytest.raises(ValueError, match="10 live qubits at once"):
        DensityMatrixEngine(compile_program(wide, [], []))
    mid = cirq.Circuit(cirq.H(qubits[0]), cirq.measure(qubits[0], key="out_000"), cirq.CZ(qubits[0], qubits[1]),
                       cirq.measure(qubits[1], key="out_001"))
    with pytest.raises(ValueError, match="mid-circuit measurement is not supported"):
        compile_program(mid, [], [input_symbol(0)])
