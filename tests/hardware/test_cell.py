"""The hardware-native cell's circuits: neuron form, readout copy, gate counts, walks on the devices."""

from __future__ import annotations

import cirq
import numpy as np
import pytest
import scipy.linalg

from qrnn_tfq.hardware.cell import HardwareCell, native_cz, resolver, sequence_circuit, step_moments
from qrnn_tfq.hardware.devices import hardware_device
from qrnn_tfq.hardware.layout import walk
from qrnn_tfq.hardware.report import two_qubit_counts

Y = np.array([[0, -1j], [1j, 0]])
Z = np.diag([1.0, -1.0])


@pytest.mark.parametrize("device", ["willow", "rainbow"])
def test_neuron_is_the_uniformly_controlled_ry_of_its_walsh_angles(device: str) -> None:
    cell = HardwareCell(device, lanes=2)
    control, target = cirq.GridQubit(0, 0), cirq.GridQubit(0, 1)
    weights = np.random.default_rng(1).normal(size=cell.weight_shape)
    x = 1
    moments = step_moments(cell, [control, target], x, weights)
    circuit = cirq.Circuit(moments[len(moments) // 2:])  # the neuron on lane 1, controlled by lane 0
    phi0 = weights[0, 1, 0, 0] + weights[0, 1, 0, 1] * x
    phic = weights[0, 1, 1, 0] + weights[0, 1, 1, 1] * x
    expected = scipy.linalg.expm(-0.5j * (phi0 * np.kron(np.eye(2), Y) + phic * np.kron(Z, Y)))
    assert cirq.allclose_up_to_global_phase(cirq.unitary(circuit), expected, atol=1e-7)


def test_native_cz_is_cz_on_both_gate_sets() -> None:
    a, b = cirq.GridQubit(0, 0), cirq.GridQubit(0, 1)
    for device, gate in (("willow", cirq.CZPowGate), ("rainbow", cirq.ISwapPowGate)):
        circuit = cirq.Circuit(native_cz(HardwareCell(device), a, b))
        assert cirq.allclose_up_to_global_phase(cirq.unitary(circuit), cirq.unitary(cirq.CZ), atol=1e-7)
        assert {type(op.gate) for op in circuit.all_operations() if len(op.qubits) == 2} == {gate}


def test_readout_copies_the_out_lane_and_the_lane_walks_on() -> None:
    cell = HardwareCell("willow", lanes=1)
    circuit = sequence_circuit(cell, [True, True])
    resolved = cirq.resolve_parameters(circuit, resolver(cell, [0.0, np.pi], [1, 1]))
    result = cirq.Simulator().run(resolved, repetitions=20)
    assert set(result.measurements) == {"out_000", "out_001"}
    np.testing.assert_array_equal(result.measurements["out_000"], 1)  # after 1: the lane reads 1
    np.testing.assert_array_equal(result.measurements["out_001"], 0)  # after 1, 1: parity 0


def test_two_qubit_counts_per_step_and_readout() -> None:
    assert two_qubit_counts(HardwareCell("willow", lanes=1)) == {"gate": "cz", "step": 0, "scored_step": 1,
                                                                 "readout": 1}
    assert two_qubit_counts(HardwareCell("willow", lanes=2, layers=2)) == {"gate": "cz", "step": 8,
                                                                           "scored_step": 10, "readout": 2}
    assert two_qubit_counts(HardwareCell("rainbow", lanes=2)) == {"gate": "sqrt_iswap", "step": 8,
                                                                  "scored_step": 12, "readout": 4}


@pytest.mark.parametrize("device,lanes", [("willow", 1), ("willow", 2), ("rainbow", 1)])
def test_sequence_circuit_of_eight_readouts_validates_on_the_device(device: str, lanes: int) -> None:
    cell = HardwareCell(device, lanes=lanes)
    scored = [t % 3 == 1 for t in range(23)]
    circuit = sequence_circuit(cell, scored)
    rng = np.random.default_rng(0)
    resolved = cirq.resolve_parameters(circuit, resolver(cell, rng.normal(size=cell.num_weights),
                                                         rng.integers(2, size=23)))
    hardware_device(device).validate_circuit(resolved)
    graph = hardware_device(device).metadata.nx_graph
    rungs = walk(hardware_device(device), lanes, 8)
    assert len({q for rung in rungs for q in rung}) == lanes * 9
    for rung, following in zip(rungs, rungs[1:]):
        assert all(graph.has_edge(a, b) for a, b in zip(rung, following, strict=True))
        assert lanes == 1 or graph.has_edge(*following)


def test_a_device_too_small_for_the_walk_is_refused_with_the_qubits_it_needs() -> None:
    with pytest.raises(ValueError, match="need 48 qubits; the device has 23"):
        walk(hardware_device("rainbow"), 2, 23)
    with pytest.raises(ValueError, match=r"No walk of 9 rungs of 2 neighbouring lane\(s\)"):
        walk(hardware_device("rainbow"), 2, 8)


def test_bad_cells_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="`device` must be one of"):
        HardwareCell("sycamore")
    with pytest.raises(ValueError, match=r"`lanes` must be an integer in \[1, 2\], got 3"):
        HardwareCell("willow", lanes=3)
    with pytest.raises(ValueError, match=r"`layers` must be an integer in \[1, 4\], got 0"):
        HardwareCell("willow", layers=0)
    with pytest.raises(ValueError, match="`weights` must hold 2 values"):
        resolver(HardwareCell(), [0.0], [1])
