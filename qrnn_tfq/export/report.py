"""What an exported circuit costs: qubits, depth, gate counts and run time per shot.

Gate durations come from the device (`device.metadata.gate_durations`). Two entries of the
stored rainbow/weber specifications (2021-12-10) cannot be used as they are: the CZ has no
duration (0 ps) and a measurement is listed at 4 ms, where the older specification of the
same processors gives 4 us. Those two are taken from cirq_google's own gate times for
these processors (`calibration_to_noise_properties.DEFAULT_GATE_NS`: CZ 32 ns,
measurement 4000 ns), and the report says so. A moment lasts as long as its slowest
operation; a shot lasts the sum of its moments (no reset or repetition overhead).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Protocol

import cirq
from cirq_google.engine.calibration_to_noise_properties import DEFAULT_GATE_NS

from qrnn_tfq.export.compile import load_device

MAX_PLAUSIBLE_NS = 100_000.0  # a single gate or measurement longer than 0.1 ms is a unit error


@dataclasses.dataclass(frozen=True)
class DurationTable:
    """Nanoseconds per kind of operation on a device, and where each number came from."""

    one_qubit_ns: float
    virtual_z_ns: float
    two_qubit_ns: dict[str, float]
    measurement_ns: float
    sources: dict[str, str]

    def duration(self, op: cirq.Operation) -> float:
        """Nanoseconds of `op` (a classically controlled gate counts as the gate)."""
        if isinstance(op, cirq.ClassicallyControlledOperation):
            op = op.without_classical_controls()
        if isinstance(op, cirq.CircuitOperation):
            return circuit_time_ns(op.mapped_circuit(deep=True), self)
        if cirq.is_measurement(op):
            return self.measurement_ns
        gate = op.untagged.gate
        if cirq.num_qubits(op) == 2:
            name = "cz" if isinstance(gate, cirq.CZPowGate) else "sqrt_iswap"
            return self.two_qubit_ns[name]
        if isinstance(gate, cirq.ZPowGate):
            return self.virtual_z_ns
        return self.one_qubit_ns


def duration_table(device: str) -> DurationTable:
    """The durations of `device` ("rainbow" or "weber"), see the module docstring."""
    metadata = load_device(device).metadata
    sources: dict[str, str] = {}

    def pick(name: str, probe: cirq.Operation, fallback_ns: float) -> float:
        values = [d.total_nanos() for family, d in (metadata.gate_durations or {}).items() if probe in family]
        value = max(values) if values else 0.0
        if 0 < value <= MAX_PLAUSIBLE_NS:
            sources[name] = f"device metadata ({value:g} ns)"
            return value
        sources[name] = (f"cirq_google DEFAULT_GATE_NS ({fallback_ns:g} ns); the device metadata gives "
                         f"{value:g} ns" + (" (missing)" if value == 0 else " (implausible)"))
        return fallback_ns

    a = min(metadata.qubit_set)
    b = min(metadata.nx_graph.neighbors(a))
    one = pick("one_qubit", cirq.PhasedXZGate(x_exponent=0.5, z_exponent=0, axis_phase_exponent=0).on(a),
               DEFAULT_GATE_NS[cirq.PhasedXZGate])
    z = 0.0
    sources["virtual_z"] = "virtual (a frame change, 0 ns)"
    cz = pick("cz", cirq.CZ(a, b), DEFAULT_GATE_NS[cirq.CZPowGate])
    iswap = pick("sqrt_iswap", (cirq.ISWAP**0.5).on(a, b), DEFAULT_GATE_NS[cirq.ISwapPowGate])
    measure = pick("measurement", cirq.measure(a), DEFAULT_GATE_NS[cirq.MeasurementGate])
    return DurationTable(one, z, {"cz": cz, "sqrt_iswap": iswap}, measure, sources)


class Durations(Protocol):
    """Anything that gives an operation's nanoseconds (`DurationTable`, the hardware reports' noise durations)."""

    def duration(self, op: cirq.Operation) -> float: ...


def circuit_time_ns(circuit: cirq.AbstractCircuit, table: Durations) -> float:
    """Run time of one shot: the sum over moments of the slowest operation's duration."""
    return float(sum(max((table.duration(op) for op in moment), default=0.0) for moment in circuit))


def gate_counts(circuit: cirq.AbstractCircuit) -> dict[str, int]:
    """Qubits, depth (moments) and operations by kind; sub-circuits are unrolled."""
    flat = cirq.unroll_circuit_op(circuit, deep=True, tags_to_check=None)
    counts = {"qubits": len(flat.all_qubits()), "depth": len(flat), "one_qubit": 0, "virtual_z": 0,
              "two_qubit": 0, "measurements": 0, "classically_controlled": 0}
    for op in flat.all_operations():
        if isinstance(op, cirq.ClassicallyControlledOperation):
            counts["classically_controlled"] += 1
            op = op.without_classical_controls()
        if cirq.is_measurement(op):
            counts["measurements"] += 1
        elif cirq.num_qubits(op) == 2:
            counts["two_qubit"] += 1
        elif isinstance(op.untagged.gate, cirq.ZPowGate):
            counts["virtual_z"] += 1
        else:
            counts["one_qubit"] += 1
    return counts


def circuit_summary(circuit: cirq.AbstractCircuit, table: Durations) -> dict[str, Any]:
    """`gate_counts` plus the run time per shot in microseconds."""
    return {**gate_counts(circuit), "time_per_shot_us": circuit_time_ns(circuit, table) / 1000.0}


def sequence_summary(circuit: cirq.AbstractCircuit, table: DurationTable) -> dict[str, Any]:
    """`circuit_summary` of a sequence whose steps are `cirq.CircuitOperation`s of shared blocks.

    Each distinct block is counted once and its numbers reused (unrolling a sequence of
    thousands of moments per step would take minutes); a moment holding a block lasts as
    long as the block (blocks stand in moments of their own).
    """
    cache: dict[int, dict[str, Any]] = {}
    total = {"qubits": len(circuit.all_qubits()), "depth": 0, "one_qubit": 0, "virtual_z": 0, "two_qubit": 0,
             "measurements": 0, "classically_controlled": 0, "time_per_shot_us": 0.0}
    for moment in circuit:
        blocks = [op for op in moment if isinstance(op.untagged, cirq.CircuitOperation)]
        if blocks:
            if len(moment) != 1:
                raise ValueError(f"A sub-circuit must stand alone in its moment, got {moment}.")
            frozen = blocks[0].untagged.circuit
            if id(frozen) not in cache:
                cache[id(frozen)] = circuit_summary(frozen, table)
            part = cache[id(frozen)]
        else:
            part = circuit_summary(cirq.Circuit(moment), table)
        for key in total:
            if key != "qubits":
                total[key] += part[key]
    return total


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def markdown(report: Mapping[str, Any]) -> str:
    """A readable `report.md` from the report dictionary `train.export` writes."""
    model = report["model"]
    lines = [
        f"# Export of {report['run']}",
        "",
        f"Checkpoint `{report['checkpoint']}` (step {report['step']}): W={model['workspace_lanes']}, "
        f"I={model['io_lanes']}, S={model['stages']}, d={model['degree']}, ord={model['order']}, "
        f"{model['parameters']} parameters. Device **{report['device']}**; files in gate set "
        f"**{report['gateset']}**, form **{report['form']}**"
        + (f" ({report['amplification']} rounds)" if report["amplification"] else "") + ".",
        "",
        f"Command: `{report['command']}`",
        "",
        "## Circuits (per time step, and per sequence of the exported data sequence)",
        "",
        "| form | gate set | qubits | depth / step | 1q / step | 2q / step | measurements / step | "
        "us per shot, step | depth / seq | 2q / seq | ms per shot, seq |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["circuits"]:
        step, seq = row["step"], row["sequence"]
        lines.append(
            f"| {row['form']}{' k=' + str(row['amplification']) if row['amplification'] else ''} | {row['gateset']} | "
            f"{step['qubits']} | {step['depth']} | {step['one_qubit']} | {step['two_qubit']} | {step['measurements']} | "
            f"{_fmt(step['time_per_shot_us'])} | {seq['depth']} | {seq['two_qubit']} | "
            f"{_fmt(seq['time_per_shot_us'] / 1000.0)} |"
        )
    lines += ["", "## Expected success probability on the model's own data (engine, teacher-forced)", "",
              "| form | sequences | steps | step success (mean) | step success (min) | ancillas (mean) | "
              "word postselection (mean, unscored) | log10 sequence success (median) | log10 sequence success (mean) | "
              "log10 shots per accepted sequence (median) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for row in report["success"]:
        lines.append(
            f"| {row['form']}{' k=' + str(row['amplification_rounds']) if row['amplification_rounds'] else ''} | "
            f"{row['sequences']} | {row['steps_per_sequence']} | {_fmt(row['step_success_mean'])} | "
            f"{_fmt(row['step_success_min'])} | {_fmt(row['ancilla_success_mean'])} | "
            f"{_fmt(row['word_postselection_mean'])} | {_fmt(row['sequence_success_log10_median'])} | "
            f"{_fmt(row['sequence_success_log10_mean'])} | {_fmt(row['shots_per_accepted_sequence_log10_median'])} |"
        )
    lines += ["", "## Gate durations", ""]
    lines += [f"- {name}: {source}" for name, source in report["durations"].items()]
    lines += ["", "## Files", ""] + [f"- `{name}`: {text}" for name, text in report["files"].items()]
    if report.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {note}" for note in report["notes"]]
    return "\n".join(lines) + "\n"
