"""Compilation for Google devices: same unitary up to the routing's permutation, same
postselected cell, and circuits every device accepts."""

import cirq
import numpy as np
import pytest

from qrnn_tfq.circuits import cell_circuit, neuron_circuit, simulate_postselected
from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.export.cells import CellWeights, logical_qubits
from qrnn_tfq.export.compile import (
    DEVICES,
    GATESETS,
    compile_circuit,
    load_device,
    restore_swaps,
    split_measurements,
)
from qrnn_tfq.export.steps import compile_cell


def random_weights(config: QRNNConfig, seed: int) -> CellWeights:
    rng = np.random.default_rng(seed)
    return CellWeights(
        rng.normal(size=config.num_neurons),
        rng.normal(size=(config.num_neurons, config.num_subsets)),
        rng.normal(size=(config.stages, config.workspace_lanes)),
    )


def physical_expected(circuit: cirq.Circuit, compiled) -> cirq.Circuit:
    """The logical circuit on the physical qubits, with identities on the routing's extra qubits."""
    expected = circuit.transform_qubits(compiled.placement)
    extra = compiled.circuit.all_qubits() - expected.all_qubits()
    return expected + cirq.Circuit(cirq.I(q) for q in sorted(extra))


@pytest.mark.parametrize("gateset", GATESETS)
@pytest.mark.parametrize("degree, order", [(1, 1), (2, 2)])
def test_compiled_neuron_has_the_same_unitary_up_to_the_final_permutation(gateset, degree, order):
    config = QRNNConfig(2, 1, 1, degree, order)
    lanes = cirq.LineQubit.range(config.num_lanes)
    ancillas = cirq.LineQubit.range(config.num_lanes, config.num_lanes + 2**order - 1)
    circuit = neuron_circuit(config, 1, lanes, ancillas, fresh_ancillas=True)
    circuit = cirq.resolve_parameters(circuit, random_weights(config, degree).resolver(config))
    compiled = compile_circuit(circuit, "rainbow", gateset, restore=False)
    load_device("rainbow").validate_circuit(compiled.circuit)
    cirq.testing.assert_circuits_have_same_unitary_given_final_permutation(
        compiled.circuit, physical_expected(circuit, compiled), compiled.permutation
    )
    # Restored: every logical qubit ends where it started, and the unitary is unchanged.
    restored = compile_circuit(circuit, "rainbow", gateset, placement=compiled.placement)
    assert restored.final_placement == restored.placement == compiled.placement
    assert all(restored.permutation[p] == p for p in restored.placement.values())
    cirq.testing.assert_circuits_have_same_unitary_given_final_permutation(
        restored.circuit, physical_expected(circuit, restored), restored.permutation
    )


def test_a_compiled_neuron_is_much_shorter_with_parity_networks():
    config = QRNNConfig(3, 1, 1, 3, 1)
    lanes = cirq.LineQubit.range(config.num_lanes)
    circuit = cirq.resolve_parameters(
        neuron_circuit(config, 0, lanes, [cirq.LineQubit(9)], fresh_ancillas=True),
        random_weights(config, 0).resolver(config),
    )
    count = lambda c: sum(1 for op in c.all_operations() if cirq.num_qubits(op) == 2)  # noqa: E731
    fast = compile_circuit(circuit, "rainbow", "cz")
    slow = compile_circuit(circuit, "rainbow", "cz", synthesis=False, placement=fast.placement)
    assert 2 * count(fast.circuit) < count(slow.circuit)


@pytest.mark.parametrize("gateset", GATESETS)
@pytest.mark.parametrize("word", [(0,), (1,)])
def test_compiled_cell_gives_the_postselected_state_of_the_cell(gateset, word):
    config = QRNNConfig(2, 1, 1, 2, 2)
    weights = random_weights(config, 3)
    cell = compile_cell(config, weights, "rainbow", gateset)
    lanes, ancillas = logical_qubits(config, "postselected")
    reference = cirq.resolve_parameters(cell_circuit(config, lanes, ancillas, word), weights.resolver(config))
    rng = np.random.default_rng(4)
    start = rng.normal(size=2**config.num_lanes) * np.array([1, 1, 1, 1, 0, 0, 0, 0])  # in/out lane in 0
    start /= np.linalg.norm(start)
    expected, expected_p = simulate_postselected(reference, lanes, start)
    physical_lanes = [cell.placement[q] for q in lanes]
    state, p = simulate_postselected(cell.step_circuit(word), physical_lanes, start, real=False)
    overlap = np.vdot(expected, state)  # compiling drops global phases
    np.testing.assert_allclose(state * np.conj(overlap) / abs(overlap), expected, atol=1e-6)
    assert p == pytest.approx(expected_p, rel=1e-6)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("gateset", GATESETS)
@pytest.mark.parametrize("form, rounds", [("postselected", 0), ("amplified", 1)])
def test_every_exported_step_validates_on_its_device(device, gateset, form, rounds):
    config = QRNNConfig(2, 1, 1, 1, 1)
    cell = compile_cell(config, random_weights(config, 5), device, gateset, form=form, rounds=rounds)
    grid = load_device(device)
    for word in ([0], [1]):
        grid.validate_circuit(cell.step_circuit(word))
    assert set(cell.placement.values()) <= set(grid.metadata.qubit_set)


def test_split_measurements_gives_one_key_per_qubit():
    a, b = cirq.LineQubit.range(2)
    split = split_measurements(cirq.Circuit(cirq.measure(a, b, key="success_n001")))
    assert [cirq.measurement_key_name(op) for op in split.all_operations()] == ["success_n001_q0", "success_n001_q1"]


def test_restore_swaps_bring_every_qubit_back():
    graph = load_device("rainbow").metadata.nx_graph
    start_places = sorted(graph.nodes)[:5]
    logical = cirq.LineQubit.range(4)
    start = dict(zip(logical, start_places[:4]))
    end = dict(zip(logical, [start_places[4], start_places[0], start_places[3], start_places[1]]))
    swaps = restore_swaps(graph, start, end)
    where = {physical: q for q, physical in end.items()}
    for op in swaps:
        a, b = op.qubits
        assert graph.has_edge(a, b)
        where[a], where[b] = where.get(b), where.get(a)
    assert {q: p for p, q in where.items() if q is not None} == start


@pytest.mark.parametrize("word", [(0, 1), (1, 1)])
def test_blocks_around_the_word_are_the_cell(word):
    from qrnn_tfq.export.cells import cell_blocks

    config = QRNNConfig(2, 2, 1, 2, 2)
    lanes, ancillas = logical_qubits(config, "postselected")
    stages, output = cell_blocks(config, lanes, ancillas)
    writes = cirq.Circuit(cirq.X(lanes[i]) for i, bit in enumerate(word) if bit)
    assembled = writes + stages + writes + output
    assert list(assembled.all_operations()) == list(cell_circuit(config, lanes, ancillas, word).all_operations())
