"""What a hardware-native sequence circuit costs on its device: gate counts and run time per shot.

    circuit_duration_ns(circuit, "willow")      # one shot: sum over moments of the slowest gate
    step_counts(HardwareCell("rainbow", 1, 1))   # gates of an unscored and of a scored step
    circuit_summary(circuit, "rainbow")          # qubits, depth, gate counts, gate set, us per shot

Durations are the device's noise properties' `gate_times_ns` (`qrnn_tfq.hardware.devices`):
the figures its noise model charges decay for, so the run time and the noise agree. A
`ZPowGate` without `cirq_google.PhysicalZTag` is a virtual Z (a frame change, 0 ns). Gate
counts and the sum over moments are `qrnn_tfq.export.report`'s. This module imports no TensorFlow.
"""

from __future__ import annotations

from typing import Any

import cirq
import cirq_google

from qrnn_tfq.export.report import circuit_summary as export_summary
from qrnn_tfq.export.report import circuit_time_ns
from qrnn_tfq.hardware.cell import HardwareCell, sequence_circuit, step_moments
from qrnn_tfq.hardware.devices import hardware_device, noise_properties, two_qubit_gate
from qrnn_tfq.hardware.layout import walk

__all__ = ["NoiseDurations", "circuit_duration_ns", "circuit_summary", "gate_set", "gate_times_ns", "step_counts",
           "two_qubit_counts"]


def gate_times_ns(device: str) -> dict[str, float]:
    """The device's gate durations by gate class name (what a report shows)."""
    return {kind.__name__: float(ns) for kind, ns in noise_properties(device).gate_times_ns.items()}


class NoiseDurations:
    """The durations of `device`'s noise properties, as `qrnn_tfq.export.report.circuit_time_ns` takes them."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.times = noise_properties(device).gate_times_ns

    def duration(self, op: cirq.Operation) -> float:
        """Nanoseconds of `op` (its gate class, or the nearest base class, in `gate_times_ns`).

        Raises:
            ValueError: the device's noise properties give no duration for the gate.
        """
        gate = op.untagged.gate
        if isinstance(gate, cirq.ZPowGate) and not any(isinstance(t, cirq_google.PhysicalZTag) for t in op.tags):
            return 0.0
        for kind in type(gate).__mro__:
            if kind in self.times:
                return float(self.times[kind])
        raise ValueError(f"{self.device} has no duration for {op!r} (gate_times_ns knows "
                         f"{[k.__name__ for k in self.times]}).")


def circuit_duration_ns(circuit: cirq.AbstractCircuit, device: str) -> float:
    """Run time of one shot of `circuit` on `device`: the sum over moments of the longest gate's duration."""
    return circuit_time_ns(circuit, NoiseDurations(device))


def gate_set(circuit: cirq.AbstractCircuit) -> list[str]:
    """The gate classes `circuit` uses, sorted by name (e.g. CZPowGate, MeasurementGate, PhasedXZGate)."""
    return sorted({type(op.untagged.gate).__name__ for op in circuit.all_operations()})


def circuit_summary(circuit: cirq.AbstractCircuit, device: str) -> dict[str, Any]:
    """`gate_counts` of `circuit`, its gate set and the run time per shot on `device` (us)."""
    return {**export_summary(circuit, NoiseDurations(device)), "gate_set": gate_set(circuit)}


def step_counts(cell: HardwareCell) -> dict[str, dict[str, Any]]:
    """`circuit_summary` of one step without ("unscored") and with ("scored") its readout copy.

    The scored step is the whole-sequence circuit of one scored step without its final
    measurement moment, so its counts add up to the sequence's (plus the measurements).
    """
    rungs = walk(hardware_device(cell.device), cell.lanes, 1)
    unscored = cirq.Circuit(step_moments(cell, rungs[0], 0, cell.weight_symbols()))
    scored = sequence_circuit(cell, [True], placement=rungs)[:-1]
    rows = {"unscored": circuit_summary(unscored, cell.device), "scored": circuit_summary(scored, cell.device)}
    for row in rows.values():
        row["two_qubit_gate"] = two_qubit_gate(cell.device)
    return rows


def two_qubit_counts(cell: HardwareCell) -> dict[str, object]:
    """Native two-qubit gates of a step without and with a readout, and of the readout alone (compiled, placed)."""
    rows = step_counts(cell)
    step, scored = rows["unscored"]["two_qubit"], rows["scored"]["two_qubit"]
    return {"gate": two_qubit_gate(cell.device), "step": step, "scored_step": scored, "readout": scored - step}
