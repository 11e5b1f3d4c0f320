"""A noisy sequence circuit as a program for the density-matrix engine (NumPy and Cirq only).

The device circuit of a whole sequence (`qrnn_tfq.hardware.cell.sequence_circuit`) with
the device's noise model applied (`noise.noisy_moments`) is a list of operations: `ry`
gates whose angle depends on the weights and the input bits (symbolic `PhasedXZGate`s),
and fixed operations (gates and noise channels). The program keeps only the qubits that
matter at each point, which is what keeps a 20-qubit sequence a density matrix of a few:

- a fresh qubit enters (as |0><0|) at its first operation that changes it; thermal
  idling of a qubit still in |0> is exactly nothing and is skipped;
- a qubit leaves after its last two-qubit or parametrised operation. Everything that still
  happens to it is a fixed single-qubit channel followed (or not) by its measurement at
  the end, which commutes with all later operations on other qubits: the program composes
  that channel into the measurement's effect (Heisenberg picture), so the engine can read
  the outcome's probability at once and trace the qubit out (or, for trajectories,
  condition on a sampled outcome). This is exact, not an approximation.

Fixed operations on at most two qubits are fused into one superoperator where no other
operation comes between them (as `qrnn_tfq.export.noisy.fuse` does).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import cirq
import numpy as np
import sympy

from qrnn_tfq.export.noisy import expand_superoperator, superoperator

ZERO = np.array([1.0, 0.0, 0.0, 0.0], dtype=np.complex128)  # vec(|0><0|), row-major


@dataclasses.dataclass(frozen=True)
class Enter:
    """Qubit `qubit` joins the density matrix as |0><0| (as the last axis)."""

    qubit: cirq.Qid


@dataclasses.dataclass(frozen=True, eq=False)
class Rotate:
    """`ry(angle)` on `qubit`, `angle = const + linear . w + (bilinear . w) * x[step]`."""

    qubit: cirq.Qid
    const: float
    linear: np.ndarray
    bilinear: np.ndarray
    step: int


@dataclasses.dataclass(frozen=True, eq=False)
class Apply:
    """A fixed superoperator (matrix on the row-major vec of `qubits`' density matrix)."""

    qubits: tuple[cirq.Qid, ...]
    matrix: np.ndarray


@dataclasses.dataclass(frozen=True, eq=False)
class Leave:
    """`qubit` leaves: record its measurement (effects[b] with p(b) = sum(effects[b] * rho_q)) or trace it out."""

    qubit: cirq.Qid
    effects: np.ndarray | None
    record: int | None


Item = Enter | Rotate | Apply | Leave


@dataclasses.dataclass(frozen=True, eq=False)
class Program:
    """The engine's instructions for one sequence shape; `records` are the measurement keys in record order."""

    items: tuple[Item, ...]
    records: tuple[str, ...]
    steps: int
    num_weights: int
    max_live: int


def _is_rotation(op: cirq.Operation) -> bool:
    return isinstance(op.gate, cirq.PhasedXZGate) and cirq.is_parameterized(op)


def _rotation(op: cirq.Operation, weights: Mapping[sympy.Symbol, int], inputs: Mapping[sympy.Symbol, int]) -> Rotate:
    """The `Rotate` of a symbolic `PhasedXZ(x, z=0, axis=0.5)`: `ry(pi x)` up to a global phase."""
    gate = op.gate
    if cirq.is_parameterized(gate.z_exponent) or cirq.is_parameterized(gate.axis_phase_exponent) or \
            not np.isclose(float(gate.z_exponent), 0) or not np.isclose(float(gate.axis_phase_exponent), 0.5):
        raise ValueError(f"Only symbolic ry gates (PhasedXZ with z=0, axis=0.5) are supported, got {op}.")
    angle = sympy.expand(gate.x_exponent * sympy.pi)
    const, linear, bilinear, step = 0.0, np.zeros(len(weights)), np.zeros(len(weights)), -1
    for monomial, coefficient in angle.as_coefficients_dict().items():
        symbols = monomial.free_symbols
        ws = [s for s in symbols if s in weights]
        xs = [s for s in symbols if s in inputs]
        if len(ws) + len(xs) != len(symbols) or len(ws) > 1 or len(xs) > 1 or (xs and not ws) or \
                (symbols and monomial != sympy.Mul(*symbols)):
            raise ValueError(f"An angle must be affine in the weights, times at most one input bit; got {angle}.")
        if not symbols:
            const += float(coefficient * monomial)  # `pi` is a monomial without free symbols
            continue
        value = float(coefficient)
        if not xs:
            linear[weights[ws[0]]] += value
        else:
            if step not in (-1, inputs[xs[0]]):
                raise ValueError(f"An angle may read one step's input bit, got {angle}.")
            step = inputs[xs[0]]
            bilinear[weights[ws[0]]] += value
    return Rotate(op.qubits[0], const, linear, bilinear, step)


def _fixes_zero(matrix: np.ndarray) -> bool:
    return bool(np.allclose(matrix @ ZERO, ZERO, atol=1e-14))


def _leave_points(ops: Sequence[cirq.Operation]) -> tuple[dict, dict, dict]:
    """Per qubit: index of its last active (two-qubit or parametrised) operation, its measurement index and key."""
    last_active: dict[cirq.Qid, int] = {}
    measured: dict[cirq.Qid, int] = {}
    keys: dict[cirq.Qid, str] = {}
    for i, op in enumerate(ops):
        if cirq.is_measurement(op):
            if len(op.qubits) != 1:
                raise ValueError(f"Measurements of one qubit each are supported, got {op}.")
            q = op.qubits[0]
            if q in measured:
                raise ValueError(f"Qubit {q} is measured twice: the engine runs measurements at the end only.")
            measured[q], keys[q] = i, cirq.measurement_key_name(op)
            continue
        for q in op.qubits:
            if q in measured and (len(op.qubits) > 1 or _is_rotation(op)):
                raise ValueError(f"Qubit {q} is used after its measurement by {op}: mid-circuit measurement is not "
                                 "supported by this engine.")
            if len(op.qubits) > 1 or _is_rotation(op):
                last_active[q] = i
    for q in measured:
        if q not in last_active:  # only fixed one-qubit operations: it leaves after the first
            touching = [i for i, op in enumerate(ops) if q in op.qubits and i < measured[q]]
            if not touching:
                raise ValueError(f"Qubit {q} is measured but no operation acts on it.")
            last_active[q] = touching[0]
    return last_active, measured, keys


def compile_program(circuit: cirq.AbstractCircuit, weight_symbols: Sequence[sympy.Symbol],
                    input_symbols: Sequence[sympy.Symbol]) -> Program:
    """The program of a (noisy) symbolic sequence circuit; see the module docstring."""
    ops = list(circuit.all_operations())
    weights = {s: i for i, s in enumerate(weight_symbols)}
    inputs = {s: t for t, s in enumerate(input_symbols)}
    last_active, measured, keys = _leave_points(ops)
    records = tuple(sorted(keys.values()))
    items: list[Item] = []
    matrices: dict[int, np.ndarray] = {}
    last: dict[cirq.Qid, int] = {}
    live: list[cirq.Qid] = []
    left: set[cirq.Qid] = set()
    effects = {q: np.eye(4, dtype=np.complex128) for q in measured}  # the channel after the last active op
    for i, op in enumerate(ops):
        if not cirq.is_measurement(op) and len(op.qubits) == 1 and op.qubits[0] in measured and \
                last_active[op.qubits[0]] < i < measured[op.qubits[0]]:
            effects[op.qubits[0]] = superoperator(op) @ effects[op.qubits[0]]
    max_live = 0

    def enter(q: cirq.Qid) -> None:
        nonlocal max_live
        items.append(Enter(q))
        live.append(q)
        last[q] = len(items) - 1
        max_live = max(max_live, len(live))

    def leave(q: cirq.Qid) -> None:
        effect = None
        record = None
        if q in measured:
            channel = effects[q]
            projectors = [np.array([1, 0, 0, 0], complex), np.array([0, 0, 0, 1], complex)]
            effect = np.stack([(channel.T @ p).reshape(2, 2) for p in projectors])
            record = records.index(keys[q])
        items.append(Leave(q, effect, record))
        live.remove(q)
        left.add(q)

    for i, op in enumerate(ops):
        if cirq.is_measurement(op) or any(q in left for q in op.qubits):
            continue
        qubits = op.qubits
        if _is_rotation(op):
            if qubits[0] not in live:
                enter(qubits[0])
            items.append(_rotation(op, weights, inputs))
            last[qubits[0]] = len(items) - 1
        else:
            matrix = superoperator(op)
            fresh = [q for q in qubits if q not in live]
            if len(qubits) == 1 and fresh and _fixes_zero(matrix):
                continue  # a fresh qubit idling in |0>
            for q in fresh:
                enter(q)
            _add_fixed(items, matrices, last, qubits, matrix)
        for q in qubits:
            if last_active.get(q) == i:
                if q not in live:
                    enter(q)
                leave(q)
    for q in list(live):  # never active again, never measured: traced out
        leave(q)
    return Program(tuple(items), records, len(input_symbols), len(weight_symbols), max_live)


def _add_fixed(items: list, matrices: dict, last: dict, qubits: tuple, matrix: np.ndarray) -> None:
    """Appends a fixed superoperator, fused into the last item of its qubits where that is exact."""
    hosts = {last.get(q) for q in qubits} - {None}
    host = max(hosts) if hosts else None
    if host is not None and isinstance(items[host], Apply):
        own_axes = items[host].qubits
        union = tuple(dict.fromkeys(own_axes + qubits))
        free = all(last[q] == host for q in own_axes if q not in qubits)
        if len(union) <= 2 and free and all(last.get(q) in (host, None) for q in qubits if q not in own_axes):
            index = {q: k for k, q in enumerate(union)}
            mine = expand_superoperator(matrix.reshape((2,) * (4 * len(qubits))),
                                        tuple(index[q] for q in qubits), tuple(range(len(union))))
            grown = expand_superoperator(matrices[host].reshape((2,) * (4 * len(own_axes))),
                                         tuple(index[q] for q in own_axes), tuple(range(len(union))))
            matrices[host] = mine @ grown
            items[host] = Apply(union, matrices[host])
            for q in qubits:
                last[q] = host
            return
    items.append(Apply(tuple(qubits), matrix))
    matrices[len(items) - 1] = matrix
    for q in qubits:
        last[q] = len(items) - 1


def sequence_program(cell: "HardwareCell", scored: Sequence[bool], noise: cirq.NoiseModel | None) -> Program:
    """The program of `cell`'s sequence circuit for the scored pattern `scored` under `noise` (None: noiseless)."""
    from qrnn_tfq.hardware.cell import input_symbol, sequence_circuit  # pylint: disable=import-outside-toplevel

    circuit = sequence_circuit(cell, scored)
    if noise is not None:
        circuit = cirq.Circuit(noise.noisy_moments(circuit, sorted(circuit.all_qubits())))
    return compile_program(circuit, list(cell.weight_symbols().reshape(-1)),
                           [input_symbol(t) for t in range(len(scored))])
