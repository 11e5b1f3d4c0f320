"""Postselected simulation with Cirq and with TensorFlow Quantum (SPEC sections 2 and 7)."""

from __future__ import annotations

import ast
from pathlib import Path

import cirq
import numpy as np
import pytest
import sympy

import qrnn_tfq.circuits
from qrnn_tfq.circuits import (
    PostselectTag,
    basis_state_preparation,
    neuron_circuit,
    num_neuron_ancillas,
    product_state,
    product_state_preparation,
    resolver,
    simulate_postselected,
    simulate_postselected_tfq,
)
from qrnn_tfq.circuits import reference
from qrnn_tfq.config import QRNNConfig


def _postselect(qubit: cirq.Qid, key: str) -> cirq.Operation:
    return cirq.measure(qubit, key=key).with_tags(PostselectTag())


def test_projects_at_markers_and_at_the_end():
    lane, ancilla = cirq.LineQubit.range(2)
    a = sympy.Symbol("a")
    circuit = cirq.Circuit(
        cirq.ry(a).on(ancilla),
        _postselect(ancilla, "p0"),  # p = cos(a/2)^2, ancilla back in |0>
        cirq.ry(np.pi / 2).on(ancilla),
        cirq.ry(np.pi / 3).on(lane).controlled_by(ancilla),  # the lane only turns on the discarded branch
    )
    state, probability = simulate_postselected(circuit, [lane], None, {"a": 0.7})
    np.testing.assert_allclose(state, [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(probability, np.cos(0.35) ** 2 * 0.5, atol=1e-12)


def test_basis_index_and_vector_initial_states_agree():
    lanes = cirq.LineQubit.range(2)
    circuit = cirq.Circuit(cirq.ry(0.4).on(lanes[1]))
    by_index, _ = simulate_postselected(circuit, lanes, 2)
    by_vector, _ = simulate_postselected(circuit, lanes, np.array([0.0, 0.0, 1.0, 0.0]))
    np.testing.assert_allclose(by_index, [0, 0, np.cos(0.2), np.sin(0.2)], atol=1e-12)
    np.testing.assert_allclose(by_vector, by_index, atol=1e-12)


def test_lanes_order_defines_the_result_order():
    q0, q1 = cirq.LineQubit.range(2)
    circuit = cirq.Circuit(cirq.X(q0))
    np.testing.assert_allclose(simulate_postselected(circuit, [q0, q1])[0], [0, 0, 1, 0])
    np.testing.assert_allclose(simulate_postselected(circuit, [q1, q0])[0], [0, 1, 0, 0])


def test_complex64_simulation():
    config = QRNNConfig(workspace_lanes=2, io_lanes=1, degree=2, order=2)
    rng = np.random.default_rng(1)
    theta, phi, work_angles = reference.random_weights(config, rng)
    lanes, ancillas = cirq.LineQubit.range(3), cirq.LineQubit.range(3, 5)
    state = reference.random_state(config, rng)
    params = resolver(config, theta, phi, work_angles)
    circuit = neuron_circuit(config, 1, lanes, ancillas)
    got, probability = simulate_postselected(circuit, lanes, state, params, np.complex64)
    want, want_probability = reference.apply_neuron(config, 1, state, theta, phi)
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(probability, want_probability, atol=1e-5)


@pytest.mark.parametrize("angles", [[0.0, 0.0, 0.0], [np.pi, 0.0, np.pi], [0.3, -1.2, 2.5]])
def test_product_state_preparation_prepares_product_state(angles):
    lanes = cirq.LineQubit.range(3)
    prepared = cirq.final_state_vector(product_state_preparation(lanes, angles), qubit_order=lanes)
    np.testing.assert_allclose(prepared, product_state(angles), atol=1e-7)


@pytest.mark.parametrize("index", range(8))
def test_basis_state_preparation(index):
    lanes = cirq.LineQubit.range(3)
    state, probability = simulate_postselected(basis_state_preparation(lanes, index), lanes)
    np.testing.assert_allclose(state, np.eye(8)[index])
    assert probability == 1.0


def test_errors():
    lane, ancilla = cirq.LineQubit.range(2)
    with pytest.raises(ValueError, match=r"`initial_state` must have shape \(2,\) for 1 lanes, got \(4,\)"):
        simulate_postselected(cirq.Circuit(cirq.X(lane)), [lane], np.ones(4) / 2)
    with pytest.raises(ValueError, match=r"`initial_state` must have unit norm, got norm 2.0"):
        simulate_postselected(cirq.Circuit(cirq.X(lane)), [lane], np.array([2.0, 0.0]))
    with pytest.raises(ValueError, match=r"`initial_state` as a basis index must be between 0 and 1, got 2"):
        simulate_postselected(cirq.Circuit(cirq.X(lane)), [lane], 2)
    with pytest.raises(ValueError, match=r"probability 0"):
        simulate_postselected(cirq.Circuit(cirq.X(ancilla), _postselect(ancilla, "p")), [lane])
    with pytest.raises(ValueError, match=r"is not terminal"):
        simulate_postselected(cirq.Circuit(cirq.measure(lane, key="m"), cirq.X(lane)), [lane])
    with pytest.raises(ValueError, match=r"complex amplitudes"):
        simulate_postselected(cirq.Circuit(cirq.H(lane), cirq.S(lane)), [lane])
    with pytest.raises(ValueError, match=r"`lanes` must hold distinct qubits"):
        simulate_postselected(cirq.Circuit(cirq.X(lane)), [lane, lane])
    with pytest.raises(ValueError, match=r"`angles` must have shape \(2,\), one per lane, got \(3,\)"):
        product_state_preparation([lane, ancilla], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"`index` must be between 0 and 3, got 4"):
        basis_state_preparation([lane, ancilla], 4)


def test_circuit_modules_import_no_tensorflow_at_module_level():
    """Only `simulate_postselected_tfq` may import TensorFlow, inside the function (STYLE 1)."""
    package = Path(qrnn_tfq.circuits.__file__).parent
    for path in sorted(package.glob("*.py")):
        tree = ast.parse(path.read_text())
        modules = set()
        for node in tree.body:  # module level only
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                modules.add(node.module or "")
        roots = {name.split(".")[0] for name in modules}
        assert not roots & {"tensorflow", "tensorflow_quantum", "keras", "tf_keras"}, (path.name, modules)
        local = {name for name in modules if name.startswith("qrnn_tfq")}
        pure = {"qrnn_tfq.config", "qrnn_tfq.amplification"}  # plain Python and numpy
        assert all(name in pure or name.startswith("qrnn_tfq.circuits") for name in local), local


# ---- TensorFlow Quantum --------------------------------------------------------------------

# (workspace_lanes, io_lanes, degree, order)
TFQ_CASES = [(2, 1, 2, 0), (2, 1, 2, 1), (2, 1, 1, 3), (3, 1, 3, 2), (2, 2, 2, 2)]


@pytest.mark.parametrize("workspace_lanes, io_lanes, degree, order", TFQ_CASES)
def test_tfq_fresh_neuron_matches_fast_neuron(workspace_lanes, io_lanes, degree, order):
    config = QRNNConfig(workspace_lanes, io_lanes, stages=1, degree=degree, order=order)
    rng = np.random.default_rng(300 + order)
    theta, phi, work_angles = reference.random_weights(config, rng)
    params = resolver(config, theta, phi, work_angles)
    n = config.num_lanes
    lanes, ancillas = cirq.LineQubit.range(n), cirq.LineQubit.range(n, n + num_neuron_ancillas(order, True))
    circuits, wants, want_probabilities = [], [], []
    for neuron in range(config.num_neurons):
        circuit = neuron_circuit(config, neuron, lanes, ancillas, fresh_ancillas=True)
        preparations = [(basis_state_preparation(lanes, i), reference.basis_state(config, i)) for i in range(2**n)]
        angles = rng.uniform(0, 2 * np.pi, size=n)
        preparations.append((product_state_preparation(lanes, angles), product_state(angles)))
        for preparation, initial in preparations:
            want, want_probability = reference.apply_neuron(config, neuron, initial, theta, phi)
            circuits.append(preparation + circuit)
            wants.append(want)
            want_probabilities.append(want_probability)
    got, probabilities = simulate_postselected_tfq(circuits, lanes, params)
    assert got.shape == (len(circuits), 2**n)
    np.testing.assert_allclose(got, np.stack(wants), atol=1e-5)
    np.testing.assert_allclose(probabilities, want_probabilities, atol=1e-5)


def test_tfq_single_circuit_permuted_qubits_and_per_circuit_resolvers():
    """Ancillas that sort before the lanes, lanes out of sorted order, one resolver per circuit."""
    config = QRNNConfig(workspace_lanes=2, io_lanes=1, degree=2, order=2)
    rng = np.random.default_rng(9)
    lanes = [cirq.GridQubit(1, 2), cirq.GridQubit(1, 0), cirq.GridQubit(2, 1)]
    ancillas = [cirq.GridQubit(0, 3), cirq.GridQubit(0, 1), cirq.GridQubit(3, 0)]
    angles = rng.uniform(0, 2 * np.pi, size=3)
    circuit = product_state_preparation(lanes, angles) + neuron_circuit(config, 3, lanes, ancillas, fresh_ancillas=True)
    weights = [reference.random_weights(config, rng) for _ in range(2)]
    got, probabilities = simulate_postselected_tfq([circuit, circuit], lanes, [resolver(config, *w) for w in weights])
    for k, (theta, phi, _) in enumerate(weights):
        want, want_probability = reference.apply_neuron(config, 3, product_state(angles), theta, phi)
        np.testing.assert_allclose(got[k], want, atol=1e-5)
        np.testing.assert_allclose(probabilities[k], want_probability, atol=1e-5)
    single, probability = simulate_postselected_tfq(circuit, lanes, resolver(config, *weights[0]))
    assert single.shape == (8,) and isinstance(probability, float)
    np.testing.assert_allclose(single, got[0], atol=1e-6)


def test_tfq_without_symbols_and_with_idle_lanes():
    lanes = cirq.LineQubit.range(3)
    state, probability = simulate_postselected_tfq(cirq.Circuit(cirq.X(lanes[1])), lanes)
    np.testing.assert_allclose(state, np.eye(8)[2], atol=1e-6)
    np.testing.assert_allclose(probability, 1.0, atol=1e-6)


def test_tfq_errors():
    config = QRNNConfig(workspace_lanes=2, io_lanes=1, degree=2, order=1)
    lanes, ancillas = cirq.LineQubit.range(3), [cirq.LineQubit(3)]
    reused = neuron_circuit(config, 0, lanes, ancillas)
    with pytest.raises(ValueError, match=r"`circuits\[0\]` has measurements.*fresh_ancillas=True"):
        simulate_postselected_tfq(reused, lanes, {})
    fresh = neuron_circuit(config, 0, lanes, ancillas, fresh_ancillas=True)
    with pytest.raises(ValueError, match=r"gives no number for symbol 'phi_000_000'"):
        simulate_postselected_tfq(fresh, lanes, {config.theta_name(0): 0.1})
    with pytest.raises(ValueError, match=r"`resolvers` must hold 1 or 2 resolvers \(one per circuit\), got 3"):
        simulate_postselected_tfq([fresh, fresh], lanes, [{}, {}, {}])
