"""The hardware neuron circuit against the fast neuron of SPEC section 2."""

from __future__ import annotations

import itertools

import cirq
import numpy as np
import pytest
import sympy

from qrnn_tfq.circuits import (
    PostselectTag,
    neuron_circuit,
    num_neuron_ancillas,
    product_state,
    resolver,
    simulate_postselected,
)
from qrnn_tfq.circuits import reference
from qrnn_tfq.config import QRNNConfig

# (workspace_lanes, io_lanes, degree, order): degree 1..3, order 0..3 (order 3 only on 3 lanes).
CASES = [
    (2, 1, 1, 0),
    (2, 1, 2, 1),
    (2, 1, 2, 2),
    (2, 1, 1, 3),
    (2, 1, 2, 3),
    (3, 1, 3, 0),
    (3, 1, 3, 1),
    (2, 2, 3, 2),
    (2, 2, 1, 1),
    (3, 1, 2, 2),
]


def _setup(workspace_lanes: int, io_lanes: int, degree: int, order: int, seed: int):
    config = QRNNConfig(workspace_lanes=workspace_lanes, io_lanes=io_lanes, stages=1, degree=degree, order=order)
    rng = np.random.default_rng(seed)
    theta, phi, work_angles = reference.random_weights(config, rng)
    return config, rng, theta, phi, resolver(config, theta, phi, work_angles)


def _initial_states(config: QRNNConfig, rng: np.random.Generator) -> list[np.ndarray]:
    states = [reference.basis_state(config, i) for i in range(2**config.num_lanes)]
    states.append(product_state(rng.uniform(0, 2 * np.pi, size=config.num_lanes)))
    states.append(reference.random_state(config, rng))
    return states


@pytest.mark.parametrize("fresh_ancillas", [False, True])
@pytest.mark.parametrize("workspace_lanes, io_lanes, degree, order", CASES)
def test_postselected_circuit_matches_fast_neuron(workspace_lanes, io_lanes, degree, order, fresh_ancillas):
    config, rng, theta, phi, params = _setup(workspace_lanes, io_lanes, degree, order, seed=7 * order + degree)
    lanes = cirq.LineQubit.range(config.num_lanes)
    ancillas = cirq.LineQubit.range(config.num_lanes, config.num_lanes + num_neuron_ancillas(order, fresh_ancillas))
    states = _initial_states(config, rng)
    for neuron in range(config.num_neurons):
        circuit = neuron_circuit(config, neuron, lanes, ancillas, fresh_ancillas=fresh_ancillas)
        for state in states:
            got, probability = simulate_postselected(circuit, lanes, state, params)
            want, want_probability = reference.apply_neuron(config, neuron, state, theta, phi)
            np.testing.assert_allclose(got, want, atol=1e-10)
            np.testing.assert_allclose(probability, want_probability, atol=1e-10)


def test_order_argument_overrides_config_and_grid_qubits_work():
    config, rng, theta, phi, params = _setup(2, 1, 2, 2, seed=3)
    lanes = [cirq.GridQubit(1, 2), cirq.GridQubit(0, 5), cirq.GridQubit(1, 0)]  # not in sorted order
    ancillas = [cirq.GridQubit(0, 0)]
    state = reference.random_state(config, rng)
    circuit = neuron_circuit(config, 4, lanes, ancillas, order=1)
    got, probability = simulate_postselected(circuit, lanes, state, params)
    want, want_probability = reference.apply_neuron(config, 4, state, theta, phi, order=1)
    np.testing.assert_allclose(got, want, atol=1e-10)
    np.testing.assert_allclose(probability, want_probability, atol=1e-10)


@pytest.mark.parametrize("order", [0, 1, 2, 3])
def test_reference_on_basis_inputs_rotates_by_the_activation(order):
    """On a basis input the target turns by `2 f(eta)`, `f(eta) = arctan(tan(eta)^(2^ord))` (SPEC 2)."""
    config, _, theta, phi, _ = _setup(2, 1, 2, order, seed=11)
    for neuron, index in itertools.product(range(config.num_neurons), range(2**config.num_lanes)):
        target_mask = 1 << (config.num_lanes - 1 - config.neuron_target(neuron))
        if index & target_mask:
            continue
        state, _ = reference.apply_neuron(config, neuron, reference.basis_state(config, index), theta, phi)
        eta = reference.neuron_eta(config, neuron, theta, phi, index)
        if order == 0:
            want = (np.cos(eta), np.sin(eta))
        else:
            f = np.arctan2(np.sin(eta) ** (2**order), np.cos(eta) ** (2**order))
            want = (np.cos(f), np.sin(f))
        np.testing.assert_allclose((state[index], state[index | target_mask]), want, atol=1e-12)


def _theta_blocks(circuit: cirq.Circuit, name: str) -> int:
    return sum(1 for op in circuit.all_operations() if name in cirq.parameter_names(op))


def _controlled_y(circuit: cirq.Circuit) -> list[int]:
    """Signs of the static controlled gates: +1 for C(-iY) = C(ry(pi)), -1 for C(+iY) = C(ry(-pi))."""
    signs = []
    for op in circuit.all_operations():
        if isinstance(op, cirq.ControlledOperation) and not cirq.is_parameterized(op):
            assert len(op.controls) == 1
            assert op.sub_operation.gate in (cirq.ry(np.pi), cirq.ry(-np.pi))
            signs.append(1 if op.sub_operation.gate == cirq.ry(np.pi) else -1)
    return signs


@pytest.mark.parametrize("fresh_ancillas", [False, True])
@pytest.mark.parametrize("order", [0, 1, 2, 3])
def test_gate_counts(order, fresh_ancillas):
    config = QRNNConfig(workspace_lanes=2, io_lanes=1, degree=2, order=order)
    lanes = cirq.LineQubit.range(3)
    ancillas = cirq.LineQubit.range(3, 3 + num_neuron_ancillas(order, fresh_ancillas))
    circuit = neuron_circuit(config, 2, lanes, ancillas, fresh_ancillas=fresh_ancillas)
    assert _theta_blocks(circuit, config.theta_name(2)) == 2**order
    for subset in range(config.num_subsets):
        assert _theta_blocks(circuit, config.phi_name(2, subset)) == 2**order
    signs = _controlled_y(circuit)
    assert len(signs) == 2**order - 1
    if order:  # the daggered nested copies hold the C(+iY) gates
        assert signs.count(1) == 2 ** (order - 1)
    markers = [op for op in circuit.all_operations() if any(isinstance(t, PostselectTag) for t in op.tags)]
    assert len(markers) == (0 if fresh_ancillas else 2**order - 1)
    assert len({op.gate.key for op in markers}) == len(markers)  # unique keys
    assert circuit.all_qubits() == set(lanes) | set(ancillas)
    assert cirq.parameter_names(circuit) == {config.theta_name(2)} | {
        config.phi_name(2, j) for j in range(config.num_subsets)
    }


def test_parameter_block_has_subset_controls_and_negated_dagger():
    config = QRNNConfig(workspace_lanes=2, io_lanes=1, degree=2, order=1)
    lanes, ancillas = cirq.LineQubit.range(3), [cirq.LineQubit(3)]
    ops = list(neuron_circuit(config, 0, lanes, ancillas).all_operations())
    K = config.num_subsets
    for j in range(K):  # P: ry(phi_j) on a0 controlled by the subset's lanes
        assert set(ops[j].controls) == {lanes[lane] for lane in config.neuron_subset_lanes(0, j)}
        assert ops[j].sub_operation.gate == cirq.ry(sympy.Symbol(config.phi_name(0, j)))
    assert ops[K].gate == cirq.ry(config.bias)
    assert ops[K + 1].gate == cirq.ry(sympy.Symbol(config.theta_name(0)))
    assert ops[K + 2].qubits == (ancillas[0], lanes[config.neuron_target(0)])  # C(-iY)
    dagger = ops[K + 3 : 2 * K + 5]
    assert dagger[0].gate == cirq.ry(-sympy.Symbol(config.theta_name(0)))
    assert dagger[1].gate == cirq.ry(-config.bias)
    assert dagger[-1].sub_operation.gate == cirq.ry(-sympy.Symbol(config.phi_name(0, 0)))
    assert cirq.is_measurement(ops[-1])


def test_num_neuron_ancillas():
    assert [num_neuron_ancillas(k) for k in range(5)] == [0, 1, 2, 3, 4]
    assert [num_neuron_ancillas(k, fresh_ancillas=True) for k in range(5)] == [0, 1, 3, 7, 15]
    with pytest.raises(ValueError, match=r"`order` must be at least 0, got -1"):
        num_neuron_ancillas(-1)


def test_errors():
    config = QRNNConfig(workspace_lanes=2, io_lanes=1, degree=2, order=2)
    lanes, ancillas = cirq.LineQubit.range(3), cirq.LineQubit.range(3, 5)
    with pytest.raises(ValueError, match=r"`neuron` must be between 0 and 4, got 5"):
        neuron_circuit(config, 5, lanes, ancillas)
    with pytest.raises(ValueError, match=r"`neuron` must be between 0 and 4, got -1"):
        neuron_circuit(config, -1, lanes, ancillas)
    with pytest.raises(ValueError, match=r"`lanes` must hold 3 qubits, got 2"):
        neuron_circuit(config, 0, lanes[:2], ancillas)
    with pytest.raises(ValueError, match=r"`ancillas` must hold 2 qubits, got 1"):
        neuron_circuit(config, 0, lanes, ancillas[:1])
    with pytest.raises(ValueError, match=r"`ancillas` must hold 3 qubits, got 2"):
        neuron_circuit(config, 0, lanes, ancillas, fresh_ancillas=True)
    with pytest.raises(ValueError, match=r"`lanes` must hold distinct qubits"):
        neuron_circuit(config, 0, [lanes[0], lanes[0], lanes[1]], ancillas)
    with pytest.raises(ValueError, match=r"must not share qubits"):
        neuron_circuit(config, 0, lanes, [lanes[0], ancillas[0]])
    with pytest.raises(ValueError, match=r"`order` must be at least 0, got -1"):
        neuron_circuit(config, 0, lanes, ancillas, order=-1)
    with pytest.raises(TypeError, match=r"`lanes` must contain cirq qubits"):
        neuron_circuit(config, 0, [0, 1, 2], ancillas)
