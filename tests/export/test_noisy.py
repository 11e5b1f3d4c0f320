"""The step-by-step density-matrix estimate: exact without noise, sensible with it."""

import cirq
import numpy as np
import pytest

from qrnn_tfq.circuits import simulate_postselected
from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.export.cells import CellWeights
from qrnn_tfq.export.noisy import (
    Channel,
    DensityMatrix,
    NoisySimulator,
    Project,
    calibrated_noise_model,
    fuse,
    noisy_estimate,
    sampled_accuracy,
)
from qrnn_tfq.export.steps import compile_cell

CONFIG = QRNNConfig(1, 1, 1, 1, 1)


def weights() -> CellWeights:
    rng = np.random.default_rng(3)
    return CellWeights(
        rng.normal(0, 1.0, size=CONFIG.num_neurons),
        rng.normal(0, 1.0, size=(CONFIG.num_neurons, CONFIG.num_subsets)),
        rng.normal(0, 1.0, size=(CONFIG.stages, CONFIG.workspace_lanes)),
    )


@pytest.fixture(scope="module")
def cell():
    return compile_cell(CONFIG, weights(), "rainbow", "sqrt_iswap")


def test_fused_channels_give_the_circuits_density_matrix():
    q = cirq.LineQubit.range(3)
    circuit = cirq.Circuit(
        cirq.ry(0.3).on(q[0]), cirq.CNOT(q[0], q[1]), cirq.rx(0.7).on(q[1]), cirq.CZ(q[1], q[2]),
        cirq.amplitude_damp(0.2).on(q[2]), cirq.H(q[0]), cirq.CNOT(q[2], q[0]), cirq.depolarize(0.1).on(q[1]),
        cirq.rz(0.4).on(q[0]),
    )
    items = fuse(circuit, q)
    assert len(items) < len(list(circuit.all_operations()))
    state = DensityMatrix(3)
    for item in items:
        state.apply(item)
    expected = cirq.DensityMatrixSimulator(dtype=np.complex128).simulate(circuit, qubit_order=q).final_density_matrix
    np.testing.assert_allclose(state.tensor.reshape(8, 8), expected, atol=1e-10)


def test_a_projection_is_not_crossed_by_fusion():
    a, b = cirq.LineQubit.range(2)
    circuit = cirq.Circuit(
        cirq.H(a), cirq.CNOT(a, b), cirq.measure(a, key="post_x"), cirq.H(a), cirq.measure(b, key="post_y")
    )
    items = fuse(circuit, [a, b])  # moments: H; CNOT; both measurements; H
    assert [type(item) for item in items] == [Channel, Project, Project, Channel]  # the last H stays after
    with pytest.raises(ValueError, match="Only postselections may be measured"):
        fuse(cirq.Circuit(cirq.measure(a, key="word")), [a, b])


def test_without_noise_a_step_is_the_postselected_cell(cell):
    simulator = NoisySimulator(cell, None)
    state = DensityMatrix(len(simulator.qubits))
    success = 1.0
    for item in simulator.program([1]):
        if isinstance(item, Channel):
            state.apply(item)
        else:
            success *= state.project(item.axes, [0] * len(item.axes))
    lanes = [cell.placement[q] for q in cell.lanes]
    reference, probability = simulate_postselected(cell.step_circuit([1]), lanes, real=False)
    assert success == pytest.approx(probability, rel=1e-9)
    lane_probabilities = np.abs(reference) ** 2
    io = lane_probabilities.reshape(2, -1).sum(axis=1)  # lane 0 is the in/out lane
    np.testing.assert_allclose(state.marginal(simulator.io_axes), io, atol=1e-10)


def _reference_step(circuit: cirq.Circuit, qubits: tuple, io_qubits: tuple) -> tuple[float, np.ndarray]:
    """One noisy step by `cirq.DensityMatrixSimulator`: the operations between two
    postselections are simulated from the density matrix left by the last one, each
    postselection projects on |0...0> in NumPy; returns the ancillas' success probability
    and the word distribution read before the word measurement."""
    simulator = cirq.DensityMatrixSimulator(dtype=np.complex128)
    rho = np.zeros((2 ** len(qubits),) * 2, dtype=np.complex128)
    rho[0, 0] = 1.0
    success, segment = 1.0, []

    def run(segment: list) -> np.ndarray:
        if not segment:
            return rho
        return simulator.simulate(cirq.Circuit(segment), initial_state=rho, qubit_order=qubits).final_density_matrix

    for op in circuit.all_operations():
        if not cirq.is_measurement(op):
            segment.append(op)
            continue
        rho, segment = run(segment), []
        if cirq.measurement_key_name(op).startswith("noisy_word"):
            continue  # the word is read from the in/out lanes' marginal below
        keep = np.ones(2 ** len(qubits), dtype=bool)
        for q in op.qubits:
            bit = (np.arange(2 ** len(qubits)) >> (len(qubits) - 1 - qubits.index(q))) & 1
            keep &= bit == 0
        projected = np.where(np.outer(keep, keep), rho, 0)
        probability = float(np.real(np.trace(projected)))
        success *= probability
        rho = projected / probability
    rho = run(segment).reshape((2,) * (2 * len(qubits)))
    reduced = cirq.partial_trace(rho, [qubits.index(q) for q in io_qubits])  # in the order of io_qubits
    size = 2 ** len(io_qubits)
    return success, np.real(np.diagonal(reduced.reshape(size, size)))


@pytest.mark.parametrize("word", [[0], [1]])
def test_with_noise_a_step_is_cirqs_density_matrix(cell, word):
    """The fused noisy program against Cirq's density-matrix simulator under the same
    calibrated noise model (readout errors, idle decay and gate errors included)."""
    noise = calibrated_noise_model("rainbow")
    simulator = NoisySimulator(cell, noise)
    trace = simulator.run_sequence(np.array([word]), np.array([word]))  # one step
    step = cell.step_circuit(tuple(word))
    step.append(cirq.Moment(cirq.measure(q, key=f"noisy_word{i}") for i, q in enumerate(cell.io_qubits)))
    noisy = cirq.Circuit(noise.noisy_moments(step, simulator.qubits))
    expected_success, expected_word = _reference_step(noisy, simulator.qubits, tuple(cell.io_qubits))
    assert trace.ancilla[0] == pytest.approx(expected_success, rel=1e-9)
    np.testing.assert_allclose(trace.probabilities[0], expected_word / expected_word.sum(), atol=1e-10)
    noiseless = NoisySimulator(cell, None).run_sequence(np.array([word]), np.array([word]))
    assert not np.allclose(expected_word, noiseless.probabilities[0], atol=1e-3)  # the noise is there


def test_without_noise_a_sequence_matches_the_engine(cell):
    from qrnn_tfq.export.success import success_probabilities

    inputs = np.array([[1], [0], [1]])
    targets = np.array([[0], [1], [1]])
    scored = np.array([False, False, True])
    trace = NoisySimulator(cell, None).run_sequence(inputs, targets)
    engine = success_probabilities(CONFIG, weights(), {"inputs": inputs[None], "targets": targets[None],
                                                       "scored": scored[None]})
    np.testing.assert_allclose(trace.probabilities, engine.probabilities[0], atol=1e-9)
    np.testing.assert_allclose(trace.ancilla, engine.ancilla[0], rtol=1e-9)
    np.testing.assert_allclose(trace.word[:2], engine.word[0, :2], rtol=1e-9)


def test_calibrated_noise_pulls_the_words_towards_uniform(cell):
    inputs = np.array([[1], [0], [1], [0]])
    targets = np.array([[0], [1], [1], [0]])
    clean = NoisySimulator(cell, None).run_sequence(inputs, targets)
    noisy = NoisySimulator(cell, calibrated_noise_model("rainbow")).run_sequence(inputs, targets)
    for distribution in (*noisy.probabilities, *clean.probabilities):
        assert distribution.sum() == pytest.approx(1.0)
    distance = lambda p: np.abs(p - 0.5).sum()  # noqa: E731  (from the uniform word distribution)
    assert distance(noisy.probabilities) < distance(clean.probabilities)
    assert np.all((noisy.ancilla > 0) & (noisy.ancilla <= 1))


def test_noisy_estimate_reports_both_sides(cell):
    inputs = np.array([[[1], [0]], [[0], [1]]])
    targets = np.array([[[0], [1]], [[1], [1]]])
    scored = np.array([[False, True], [False, True]])
    batch = {"inputs": inputs, "targets": targets, "scored": scored}
    traces = [NoisySimulator(cell, None).run_sequence(i, t) for i, t in zip(inputs, targets)]
    probabilities = np.stack([t.probabilities for t in traces])
    ancilla = np.stack([t.ancilla for t in traces])
    result = noisy_estimate(NoisySimulator(cell, None), batch, probabilities, ancilla, shots=50)
    # No noise: the same numbers and draws, up to round-off (the word postselection is read
    # from the trace's projection on one side and from its word distribution on the other).
    assert result["noisy"].keys() == result["noiseless"].keys()
    for key, value in result["noiseless"].items():
        assert result["noisy"][key] == pytest.approx(value, rel=1e-12, abs=1e-12), key
    assert result["scored_steps"] == 2 and result["shots_per_sequence"] == 50


def test_sampled_accuracy_counts_words_and_last_bits():
    probabilities = np.array([[[0.0, 0.0, 1.0, 0.0]]])  # always word 10
    targets = np.array([[[0, 0]]])  # target word 00: wrong word, right last bit
    result = sampled_accuracy(probabilities, targets, np.array([[True]]), 20, np.random.default_rng(0))
    assert result == {"word": 0.0, "last_bit": 1.0, "expected_word": 0.0}
