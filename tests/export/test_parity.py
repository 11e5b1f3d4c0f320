"""Parity-network synthesis of the parameter blocks: same unitary, fewer two-qubit gates."""

import cirq
import numpy as np
import pytest
import sympy

from qrnn_tfq.circuits import neuron_circuit, parameter_block
from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.export.parity import controlled_ry, synthesize_parity_networks, walsh_weights


def random_values(config: QRNNConfig, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    return {name: float(rng.normal()) for name in config.symbol_names()}


def two_qubit_ops(circuit: cirq.Circuit) -> int:
    return sum(1 for op in circuit.all_operations() if cirq.num_qubits(op) == 2)


@pytest.mark.parametrize("degree", [1, 2, 3])
def test_parameter_block_is_one_parity_network_with_the_same_unitary(degree):
    config = QRNNConfig(3, 1, 1, degree, 1)
    lanes = cirq.LineQubit.range(4)
    target = cirq.LineQubit(4)
    block = cirq.resolve_parameters(cirq.Circuit(parameter_block(config, 2, lanes, target)), random_values(config, 0))
    network = synthesize_parity_networks(block)
    assert all(cirq.num_qubits(op) <= 2 for op in network.all_operations())
    assert all(op.gate == cirq.CNOT or cirq.num_qubits(op) == 1 for op in network.all_operations())
    qubits = [*lanes, target]
    cirq.testing.assert_allclose_up_to_global_phase(
        network.unitary(qubit_order=qubits), block.unitary(qubit_order=qubits), atol=1e-9
    )
    # One CNOT per Walsh term and back, at most: the subsets of up to `degree` of 3 sources.
    assert two_qubit_ops(network) <= 2 * config.num_subsets


@pytest.mark.parametrize("order", [1, 2])
def test_fresh_neuron_keeps_its_unitary_and_loses_most_two_qubit_gates(order):
    config = QRNNConfig(3, 1, 1, 3, order)
    lanes = cirq.LineQubit.range(config.num_lanes)
    ancillas = cirq.LineQubit.range(config.num_lanes, config.num_lanes + 2**order - 1)
    circuit = cirq.resolve_parameters(
        neuron_circuit(config, 1, lanes, ancillas, fresh_ancillas=True), random_values(config, 1)
    )
    network = synthesize_parity_networks(circuit)
    qubits = sorted(circuit.all_qubits())
    cirq.testing.assert_allclose_up_to_global_phase(
        network.unitary(qubit_order=qubits), circuit.unitary(qubit_order=qubits), atol=1e-9
    )
    generic = cirq.optimize_for_target_gateset(circuit, gateset=cirq.CZTargetGateset())
    synthesized = cirq.optimize_for_target_gateset(network, gateset=cirq.CZTargetGateset())
    assert two_qubit_ops(synthesized) * 3 < two_qubit_ops(generic)


def test_walsh_weights_of_a_doubly_controlled_rotation():
    a, b = cirq.LineQubit.range(2)
    weights = walsh_weights([((a, b), 4.0)])  # 4 x_a x_b = 1 - z_a - z_b + z_a z_b
    assert weights == {frozenset(): 1.0, frozenset({a}): -1.0, frozenset({b}): -1.0, frozenset({a, b}): 1.0}


def test_other_operations_stay_and_keep_their_order():
    a, b, c, t = cirq.LineQubit.range(4)
    circuit = cirq.Circuit(
        cirq.ry(0.3).on(t).controlled_by(a, b),
        cirq.X(c),  # disjoint from the run: moves in front of it
        cirq.ry(0.2).on(t).controlled_by(b),
        cirq.measure(t, key="m"),  # closes the run
        cirq.ry(0.1).on(t).controlled_by(a),  # a single singly controlled ry stays as it is
    )
    network = synthesize_parity_networks(circuit)
    ops = list(network.all_operations())
    assert ops[0] == cirq.X(c)
    assert ops[-1] == cirq.ry(0.1).on(t).controlled_by(a)
    assert cirq.is_measurement(ops[-2])
    unitary_part = cirq.Circuit(ops[:-2])
    cirq.testing.assert_allclose_up_to_global_phase(
        unitary_part.unitary(qubit_order=[a, b, c, t]), cirq.Circuit(circuit[:3]).unitary(qubit_order=[a, b, c, t]),
        atol=1e-9,
    )


def test_controlled_ry_recognises_only_ry_controlled_on_one():
    a, t = cirq.LineQubit.range(2)
    assert controlled_ry(cirq.ry(0.5).on(t).controlled_by(a)) == (t, (a,), pytest.approx(0.5))
    assert controlled_ry(cirq.ry(0.5).on(t)) == (t, (), pytest.approx(0.5))
    assert controlled_ry(cirq.ry(0.5).on(t).controlled_by(a, control_values=[0])) is None
    assert controlled_ry((cirq.Y**0.5).on(t).controlled_by(a)) is None  # another global phase: not ry
    assert controlled_ry(cirq.rx(0.5).on(t)) is None


def test_symbols_are_refused():
    t = cirq.LineQubit(0)
    with pytest.raises(ValueError, match=r"resolved before synthesis, got symbols \['a'\]"):
        synthesize_parity_networks(cirq.Circuit(cirq.ry(sympy.Symbol("a")).on(t)))
