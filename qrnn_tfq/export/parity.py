"""Parity-network synthesis of a neuron's parameter block (SPEC section 2) before compilation.

A parameter block `P` on a target qubit `t` is a run of `ry` rotations on `t`, each
controlled by a subset `S` of lanes (all controls on |1>). The rotations commute, and on a
basis branch `x` of the controls the run is one `ry(A(x))` with

    A(x) = sum_S a_S prod_{i in S} x_i = sum_T w_T prod_{i in T} z_i,   z_i = (-1)^{x_i},

since `x_i = (1 - z_i) / 2`; only sets `T` inside some `S` occur, so a block of degree `d`
has as many Walsh terms as it has subsets (plus the constant). With `ry(w z_T) =
X^p ry(w) X^p`, `p` the parity of `x` on `T`, the whole run is a parity network: CNOTs from
the controls onto `t` walk the target's frame from one set `T` to the next, one `ry(w_T)`
per term, and a final walk back to the empty set. A greedy walk that changes one control
at a time costs about one CNOT per term, against several per multi-controlled rotation in
Cirq's generic decomposition (for Elman XOR's neurons, 25 subsets of up to 3 of 5 lanes,
about 30 CNOTs per block instead of about 270).

`synthesize_parity_networks` rewrites every such run of a resolved circuit and leaves every
other operation as it is; the result has the same unitary (checked in the tests).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import cirq
import numpy as np

_ATOL = 1e-12  # Walsh weights below this are dropped (the angles are O(1) numbers)


def _ry_angle(gate: cirq.Gate) -> float | None:
    """The angle `a` if `gate` is exactly `ry(a)` (global shift -1/2), else None."""
    if isinstance(gate, cirq.YPowGate) and gate.global_shift == -0.5 and not cirq.is_parameterized(gate):
        return float(gate.exponent) * np.pi
    return None


def controlled_ry(op: cirq.Operation) -> tuple[cirq.Qid, tuple[cirq.Qid, ...], float] | None:
    """(target, controls, angle) if `op` is an `ry` controlled on |1> by its controls, else None.

    A plain `ry` counts, with no controls. Tagged operations are left alone.
    """
    if op.tags:
        return None
    if isinstance(op, cirq.ControlledOperation):
        angle = _ry_angle(op.sub_operation.gate) if op.sub_operation.gate is not None else None
        if angle is None or len(op.sub_operation.qubits) != 1:
            return None
        if any(tuple(values) != (1,) for values in op.control_values):
            return None
        return op.sub_operation.qubits[0], tuple(op.controls), angle
    if op.gate is not None and len(op.qubits) == 1:
        angle = _ry_angle(op.gate)
        if angle is not None:
            return op.qubits[0], (), angle
    return None


def walsh_weights(terms: Iterable[tuple[Sequence[cirq.Qid], float]]) -> dict[frozenset, float]:
    """Walsh weights `w_T` of `A(x) = sum a_S prod_{i in S} x_i` from `(S, a_S)` pairs."""
    weights: dict[frozenset, float] = {}
    for controls, angle in terms:
        scale = angle / 2 ** len(controls)
        for size in range(len(controls) + 1):
            for subset in itertools.combinations(controls, size):
                key = frozenset(subset)
                weights[key] = weights.get(key, 0.0) + scale * (-1) ** size
    return {key: w for key, w in weights.items() if abs(w) > _ATOL}


def _walk(weights: dict[frozenset, float]) -> list[frozenset]:
    """A greedy order of the Walsh sets: each next set is the nearest in symmetric difference."""
    remaining = set(weights)
    current: frozenset = frozenset()
    order = []
    while remaining:
        best = min(remaining, key=lambda s: (len(s ^ current), len(s), sorted(map(str, s))))
        order.append(best)
        remaining.remove(best)
        current = best
    return order


def parity_network(target: cirq.Qid, weights: dict[frozenset, float]) -> list[cirq.Operation]:
    """CNOTs and `ry` on `target` that apply `ry(sum_T w_T z_T)` on every branch (see module)."""
    ops: list[cirq.Operation] = []
    frame: frozenset = frozenset()
    for subset in _walk(weights):
        ops += [cirq.CNOT(control, target) for control in sorted(frame ^ subset, key=str)]
        ops.append(cirq.ry(weights[subset]).on(target))
        frame = subset
    ops += [cirq.CNOT(control, target) for control in sorted(frame, key=str)]  # back to the empty set
    return ops


class _Run:
    """A run of controlled `ry` on one target, collected while walking a circuit."""

    def __init__(self, target: cirq.Qid) -> None:
        self.target = target
        self.ops: list[cirq.Operation] = []
        self.terms: list[tuple[tuple[cirq.Qid, ...], float]] = []
        self.qubits: set[cirq.Qid] = {target}

    def add(self, op: cirq.Operation, controls: tuple[cirq.Qid, ...], angle: float) -> None:
        self.ops.append(op)
        self.terms.append((controls, angle))
        self.qubits.update(controls)

    def emit(self) -> list[cirq.Operation]:
        """The parity network, or the original operations when there is nothing to gain."""
        controlled = [controls for controls, _ in self.terms if controls]
        if not controlled or (len(controlled) == 1 and len(controlled[0]) == 1):
            return self.ops  # Cirq compiles one singly controlled ry with at most 2 CZs
        return parity_network(self.target, walsh_weights(self.terms))


def synthesize_parity_networks(circuit: cirq.AbstractCircuit) -> cirq.Circuit:
    """`circuit` with every run of controlled `ry` on one target replaced by a parity network.

    A run is a sequence of operations, each an `ry` on the same target controlled on |1> by
    qubits other than it; operations on other qubits may stand between its members.
    Operations that share no qubit with the open run are moved in front of it (they commute
    with it); any other operation closes it. The circuit must be resolved (numbers only).

    Raises:
        ValueError: `circuit` has unresolved symbols.
    """
    if cirq.is_parameterized(circuit):
        raise ValueError(
            f"`circuit` must be resolved before synthesis, got symbols {sorted(cirq.parameter_names(circuit))}."
        )
    out: list[cirq.Operation] = []
    run: _Run | None = None
    for op in circuit.all_operations():
        found = controlled_ry(op)
        if found is not None and run is not None and found[0] == run.target:
            run.add(op, found[1], found[2])
            continue
        if run is not None and (found is not None or set(op.qubits) & run.qubits):
            out += run.emit()  # closed by an operation on its qubits, or a run on another target
            run = None
        if found is not None:
            run = _Run(found[0])
            run.add(op, found[1], found[2])
            continue
        out.append(op)  # disjoint from the open run (if any): it commutes with the run
    if run is not None:
        out += run.emit()
    return cirq.Circuit(out)
