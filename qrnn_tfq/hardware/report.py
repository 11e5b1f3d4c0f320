"""What a hardware-native sequence circuit costs on its device: gate counts and run time per shot.

    circuit_duration_ns(circuit, "willow")      # one shot: sum over moments of the slowest gate
    step_counts(HardwareCell("rainbow", 1, 1))   # gates of an unscored and of a scored step
    circuit_summary(circuit, "rainbow")          # qubits, depth, gate counts, gate set, us per shot

Durations are the device's noise properties' `gate_times_ns` (`qrnn_tfq.hardware.devices`):
the figures its noise model charges decay for, so the run time and the noise agree. A
`ZPowGate` without `cirq_google.PhysicalZTag` is a virtual Z (a frame change, 0 ns). Gate
counts are `qrnn_tfq.export.report.gate_counts`. This module imports no TensorFlow.
"""

from __future__ import annotations

from typing import Any

import cirq
import cirq_google

from qrnn_tfq.export.report import gate_counts
from qrnn_tfq.hardware.cell import HardwareCell, sequence_circuit, step_moments
from qrnn_tfq.hardware.devices import hardware_device, noise_properties, two_qubit_gate
from qrnn_tfq.hardware.layout import walk

__all__ = ["circuit_duration_ns", "circuit_summary", "gate_duration_ns", "gate_set", "gate_times_ns", "step_counts"]


def gate_times_ns(device: str) -> dict[str, float]:
    """The device's gate durations by gate class name (what a report shows)."""
    return {kind.__name__: float(ns) for kind, ns in noise_properties(device).gate_times_ns.items()}


def gate_duration_ns(op: cirq.Operation, device: str) -> float:
    """Nanoseconds of `op` on `device` (its gate class, or the nearest base class, in `gate_times_ns`).

    Raises:
        ValueError: the device's noise properties give no duration for the gate.
    """
    gate = op.untagged.gate
    if isinstance(gate, cirq.ZPowGate) and not any(isinstance(t, cirq_google.PhysicalZTag) for t in op.tags):
        return 0.0
    times = noise_properties(device).gate_times_ns
    for kind in type(gate).__mro__:
        if kind in times:
            return float(times[kind])
    raise ValueError(f"{device} has no duration for {op!r} (gate_times_ns knows {[k.__name__ for k in times]}).")


def circuit_duration_ns(circuit: cirq.AbstractCircuit, device: str) -> float:
    """Run time of one shot of `circuit` on `device`: the sum over moments of the longest gate's duration."""
    return float(sum(max((gate_duration_ns(op, device) for op in moment), default=0.0) for moment in circuit))


def gate_set(circuit: cirq.AbstractCircuit) -> list[str]:
    """The gate classes `circuit` uses, sorted by name (e.g. CZPowGate, MeasurementGate, PhasedXZGate)."""
    return sorted({type(op.untagged.gate).__name__ for op in circuit.all_operations()})


def circuit_summary(circuit: cirq.AbstractCircuit, device: str) -> dict[str, Any]:
    """`gate_counts` of `circuit`, its gate set and the run time per shot on `device` (us)."""
    return {**gate_counts(circuit), "gate_set": gate_set(circuit),
            "time_per_shot_us": circuit_duration_ns(circuit, device) / 1000.0}


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
