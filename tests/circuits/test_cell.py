"""The cell circuit against the numpy reference cell step (SPEC section 3)."""

from __future__ import annotations

import itertools
import os

import cirq
import numpy as np
import pytest
import sympy

from qrnn_tfq.circuits import (
    OUTPUT_KEY,
    PostselectTag,
    cell_circuit,
    num_cell_ancillas,
    product_state,
    product_state_preparation,
    resolver,
    resolver_values,
    simulate_postselected,
    simulate_postselected_tfq,
    symbols,
)
from qrnn_tfq.circuits import reference
from qrnn_tfq.config import QRNNConfig


def _qubits(config: QRNNConfig, fresh_ancillas: bool) -> tuple[list[cirq.Qid], list[cirq.Qid]]:
    n = config.num_lanes
    return cirq.LineQubit.range(n), cirq.LineQubit.range(n, n + num_cell_ancillas(config, fresh_ancillas))


def _workspace_superposition(config: QRNNConfig, rng: np.random.Generator) -> np.ndarray:
    """Per-lane angles: in/out lanes 0, workspace lanes in a random superposition."""
    angles = np.zeros(config.num_lanes)
    angles[config.io_lanes :] = rng.uniform(0, 2 * np.pi, size=config.workspace_lanes)
    return angles


# (workspace_lanes, io_lanes, stages, degree, order)
REUSE_CASES = [
    (2, 1, 1, 2, 0),
    (2, 1, 1, 2, 1),
    (2, 1, 1, 2, 2),
    (2, 1, 1, 1, 3),
    (2, 2, 0, 1, 2),
    (3, 1, 2, 3, 1),
    (2, 2, 1, 2, 2),
]


@pytest.mark.parametrize("workspace_lanes, io_lanes, stages, degree, order", REUSE_CASES)
def test_reuse_mode_cell_matches_reference(workspace_lanes, io_lanes, stages, degree, order):
    config = QRNNConfig(workspace_lanes, io_lanes, stages=stages, degree=degree, order=order)
    rng = np.random.default_rng(100 + order)
    theta, phi, work_angles = reference.random_weights(config, rng)
    params = resolver(config, theta, phi, work_angles)
    lanes, ancillas = _qubits(config, fresh_ancillas=False)
    for word in itertools.product((0, 1), repeat=io_lanes):
        circuit = cell_circuit(config, lanes, ancillas, word)
        for initial in (reference.basis_state(config), product_state(_workspace_superposition(config, rng))):
            got, probability = simulate_postselected(circuit, lanes, initial, params)
            want, want_probability = reference.cell_step(config, word, theta, phi, work_angles, initial)
            np.testing.assert_allclose(got, want, atol=1e-10)
            np.testing.assert_allclose(probability, want_probability, atol=1e-10)


@pytest.mark.parametrize("order", [1, 2])
def test_fresh_mode_cell_matches_reference_with_cirq_and_tfq(order):
    config = QRNNConfig(workspace_lanes=2, io_lanes=1, stages=1, degree=2, order=order)
    rng = np.random.default_rng(200 + order)
    theta, phi, work_angles = reference.random_weights(config, rng)
    params = resolver(config, theta, phi, work_angles)
    lanes, ancillas = _qubits(config, fresh_ancillas=True)
    assert len(lanes) + len(ancillas) == 3 + 5 * (2**order - 1)  # 8 or 18 qubits
    circuits, wants, want_probabilities = [], [], []
    for word in ((0,), (1,)):
        circuit = cell_circuit(config, lanes, ancillas, word, fresh_ancillas=True)
        angles = _workspace_superposition(config, rng)
        want, want_probability = reference.cell_step(
            config, word, theta, phi, work_angles, product_state(angles)
        )
        got, probability = simulate_postselected(circuit, lanes, product_state(angles), params)
        np.testing.assert_allclose(got, want, atol=1e-10)
        np.testing.assert_allclose(probability, want_probability, atol=1e-10)
        circuits.append(product_state_preparation(lanes, angles) + circuit)
        wants.append(want)
        want_probabilities.append(want_probability)
    got, probabilities = simulate_postselected_tfq(circuits, lanes, params)
    np.testing.assert_allclose(got, np.stack(wants), atol=1e-5)
    np.testing.assert_allclose(probabilities, want_probabilities, atol=1e-5)


@pytest.mark.parametrize("fresh_ancillas", [False, True])
def test_symbols_and_gate_counts(fresh_ancillas):
    config = QRNNConfig(workspace_lanes=2, io_lanes=2, stages=2, degree=2, order=2)
    lanes, ancillas = _qubits(config, fresh_ancillas)
    circuit = cell_circuit(config, lanes, ancillas, [1, 0], fresh_ancillas=fresh_ancillas)
    assert cirq.parameter_names(circuit) == set(config.symbol_names())
    assert symbols(config) == [sympy.Symbol(name) for name in config.symbol_names()]
    ops = list(circuit.all_operations())
    markers = [op for op in ops if any(isinstance(tag, PostselectTag) for tag in op.tags)]
    assert len(markers) == (0 if fresh_ancillas else config.num_neurons * 3)
    assert len({op.gate.key for op in markers}) == len(markers)
    assert [op.qubits for op in ops if op.gate == cirq.X] == [(lanes[0],), (lanes[0],)]
    work = [op for op in ops if any(name.startswith("work_") for name in cirq.parameter_names(op))]
    assert len(work) == config.stages * config.workspace_lanes
    assert circuit.all_qubits() == set(lanes) | set(ancillas)


def test_fresh_mode_uses_only_tfq_gates_and_serializes():
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    tfq = pytest.importorskip("tensorflow_quantum")
    config = QRNNConfig(workspace_lanes=2, io_lanes=1, stages=1, degree=2, order=2)
    lanes, ancillas = _qubits(config, fresh_ancillas=True)
    circuit = cell_circuit(config, lanes, ancillas, [1], fresh_ancillas=True)
    assert not circuit.has_measurements()
    for op in circuit.all_operations():
        gate = op.sub_operation.gate if isinstance(op, cirq.ControlledOperation) else op.gate
        assert isinstance(gate, (cirq.Ry, cirq.XPowGate)), op
    tensor = tfq.convert_to_tensor([circuit])
    assert tensor.shape == (1,)
    back = tfq.from_tensor(tensor)[0]
    assert cirq.parameter_names(back) == set(config.symbol_names())
    assert len(list(back.all_operations())) == len(list(circuit.all_operations()))


def test_measure_output_appends_a_terminal_measurement():
    config = QRNNConfig(workspace_lanes=2, io_lanes=2, stages=1, degree=1, order=1)
    lanes, ancillas = _qubits(config, fresh_ancillas=False)
    rng = np.random.default_rng(5)
    params = resolver(config, *reference.random_weights(config, rng))
    measured = cell_circuit(config, lanes, ancillas, [0, 1], measure_output=True)
    plain = cell_circuit(config, lanes, ancillas, [0, 1])
    last = list(measured.all_operations())[-1]
    assert cirq.measurement_key_name(last) == OUTPUT_KEY and last.qubits == tuple(lanes[:2])
    np.testing.assert_allclose(
        simulate_postselected(measured, lanes, None, params)[0], simulate_postselected(plain, lanes, None, params)[0]
    )


def test_resolver_maps_weights_in_symbol_order():
    config = QRNNConfig(workspace_lanes=2, io_lanes=1, stages=2, degree=2, order=1)
    theta, phi, work_angles = reference.random_weights(config, np.random.default_rng(0))
    values = resolver_values(config, theta, phi, work_angles)
    assert list(values) == config.symbol_names()
    assert values[config.theta_name(3)] == theta[3]
    assert values[config.phi_name(4, 2)] == phi[4, 2]
    assert values[config.work_name(1, 0)] == work_angles[1, 0]
    assert resolver(config, theta, phi, work_angles).value_of(config.phi_name(1, 1)) == phi[1, 1]
    with pytest.raises(ValueError, match=r"`theta` must have shape \(7,\), got \(6,\)"):
        resolver(config, theta[:6], phi, work_angles)
    with pytest.raises(ValueError, match=r"`phi` must have shape \(7, 3\), got \(3, 7\)"):
        resolver(config, theta, phi.T, work_angles)
    with pytest.raises(ValueError, match=r"`work_angles` must have shape \(2, 2\), got \(2,\)"):
        resolver(config, theta, phi, work_angles[0])
    with pytest.raises(ValueError, match=r"`theta` must be finite"):
        resolver(config, np.full(7, np.nan), phi, work_angles)


def test_num_cell_ancillas():
    config = QRNNConfig(workspace_lanes=3, io_lanes=2, stages=1, degree=1, order=3)
    assert num_cell_ancillas(config) == 3
    assert num_cell_ancillas(config, fresh_ancillas=True) == config.num_neurons * 7


def test_errors():
    config = QRNNConfig(workspace_lanes=2, io_lanes=2, stages=1, degree=1, order=1)
    lanes, ancillas = _qubits(config, fresh_ancillas=False)
    with pytest.raises(ValueError, match=r"`input_word` must hold 2 bits .*got \[1\]"):
        cell_circuit(config, lanes, ancillas, [1])
    with pytest.raises(ValueError, match=r"`input_word` must hold 2 bits .*got \[1, 0, 1\]"):
        cell_circuit(config, lanes, ancillas, [1, 0, 1])
    with pytest.raises(ValueError, match=r"`input_word` must hold only bits 0 and 1, got \[2, 0\]"):
        cell_circuit(config, lanes, ancillas, [2, 0])
    with pytest.raises(ValueError, match=r"`lanes` must hold 4 qubits, got 3"):
        cell_circuit(config, lanes[:3], ancillas)
    with pytest.raises(ValueError, match=r"`ancillas` must hold 1 qubits, got 0"):
        cell_circuit(config, lanes, [])
    with pytest.raises(ValueError, match=r"`ancillas` must hold 6 qubits, got 1"):
        cell_circuit(config, lanes, ancillas, fresh_ancillas=True)
    with pytest.raises(ValueError, match=r"must not share qubits"):
        cell_circuit(config, lanes, lanes[:1])
