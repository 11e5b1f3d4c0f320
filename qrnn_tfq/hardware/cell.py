"""The hardware-native QRNN cell and its shot-by-shot protocol as Cirq circuits (docs/HARDWARE.md).

A cell of `lanes` workspace qubits (1 or 2, neighbours on the device). Per time step, for
each of `layers` neuron layers, every lane gets the coherent neuron of SPEC section 8 (a
uniformly controlled `ry`) controlled by the other lane, in the parity-network form:

    N = ry(phi_0) . CNOT(c, t) . ry(phi_c) . CNOT(c, t) = exp(-i/2 (phi_0 Y_t + phi_c Z_c Y_t))

with `CNOT = ry(-pi/2)_t . CZ . ry(pi/2)_t`, so a neuron is `ry(pi/2), CZ, ry(phi_c), CZ,
ry(phi_0 - pi/2)` on the target: two CZs. The step's input bit `x` is known when the
circuit is built, so it enters as angles, not qubits: every angle is `w + w' x`. After the
neurons of a scored step the readout walks: each lane is copied by a CNOT onto a fresh
neighbouring qubit (the next rung of the lane's walk on the device), which carries the lane
on; the qubits left behind hold the copy, the out lane's is measured at the end of the
sequence (deferred measurement: no mid-circuit measurement, reset or feed-forward). What
the device measures is therefore the out lane dephased at each scored step.

Native gates: `PhasedXZGate` for every single-qubit gate (`ry(a)` is `PhasedXZ(x=a/pi,
z=0, axis=0.5)` up to a global phase), `CZ` on willow, and on the sqrt-iSWAP devices each
CZ as two `sqrt-iSWAP`s with fixed `PhasedXZ` gates (Cirq's decomposition). This module
imports no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

import cirq
import numpy as np
import sympy

from qrnn_tfq.export.compile import quiet_cirq
from qrnn_tfq.hardware.devices import HARDWARE_DEVICES, hardware_device, two_qubit_gate
from qrnn_tfq.hardware.layout import walk

OUT_KEY = "out"  # measurement keys out_000, out_001, ...: the readout of the k-th scored step
MAX_LANES = 2
MAX_LAYERS = 4


def out_key(k: int) -> str:
    """Measurement key of the k-th scored step's readout."""
    return f"{OUT_KEY}_{k:03d}"


def input_symbol(t: int) -> sympy.Symbol:
    """The input bit of step `t` (resolved per sequence)."""
    return sympy.Symbol(f"x_{t:03d}")


@dataclasses.dataclass(frozen=True)
class HardwareCell:
    """A hardware-native cell: `lanes` workspace qubits, `layers` neuron layers per step.

    Attributes:
        device: "willow", "rainbow" or "weber" (qubits, native two-qubit gate, noise).
        lanes: workspace qubits (1: one neuron without controls; 2: each lane's neuron
            controlled by the other).
        layers: neuron layers per step.
    """

    device: str = "willow"
    lanes: int = 1
    layers: int = 1

    def __post_init__(self) -> None:
        if self.device not in HARDWARE_DEVICES:
            raise ValueError(f"`device` must be one of {list(HARDWARE_DEVICES)}, got {self.device!r}.")
        for name, value, high in (("lanes", self.lanes, MAX_LANES), ("layers", self.layers, MAX_LAYERS)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= high:
                raise ValueError(f"`{name}` must be an integer in [1, {high}], got {value!r}.")

    @property
    def terms(self) -> int:
        """Walsh terms of a neuron: the constant and one per control."""
        return self.lanes

    @property
    def weight_shape(self) -> tuple[int, int, int, int]:
        """(layers, lanes, terms, 2): each Walsh angle is `w[..., 0] + w[..., 1] * x`."""
        return (self.layers, self.lanes, self.terms, 2)

    @property
    def num_weights(self) -> int:
        return int(np.prod(self.weight_shape))

    def weight_symbols(self) -> np.ndarray:
        """Sympy symbols of the weights, shape `weight_shape` (row-major order = weight vector)."""
        names = [f"w_{i:04d}" for i in range(self.num_weights)]
        return np.array(sympy.symbols(names), dtype=object).reshape(self.weight_shape)

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, object]) -> "HardwareCell":
        return cls(**{f.name: values[f.name] for f in dataclasses.fields(cls) if f.name in values})


def _ry(qubit: cirq.Qid, angle: sympy.Expr | float) -> cirq.Operation:
    """`ry(angle)` as the device's native `PhasedXZGate` (equal up to a global phase); numbers stay floats."""
    angle = sympy.sympify(angle)
    exponent = angle / sympy.pi if angle.free_symbols else float(angle) / np.pi
    return cirq.PhasedXZGate(x_exponent=exponent, z_exponent=0, axis_phase_exponent=0.5).on(qubit)


@functools.lru_cache(maxsize=None)
def _cz_as_sqrt_iswaps() -> tuple[cirq.Operation, ...]:
    """CZ on LineQubit(0), LineQubit(1) as sqrt-iSWAPs and PhasedXZ gates (Cirq's decomposition)."""
    a, b = cirq.LineQubit.range(2)
    with quiet_cirq():
        circuit = cirq.Circuit(cirq.two_qubit_matrix_to_sqrt_iswap_operations(a, b, cirq.unitary(cirq.CZ)))
        circuit = cirq.merge_single_qubit_gates_to_phxz(circuit)
    if not cirq.allclose_up_to_global_phase(cirq.unitary(circuit), cirq.unitary(cirq.CZ), atol=1e-6):
        raise AssertionError("Cirq's sqrt-iSWAP decomposition of CZ is not CZ.")
    return tuple(circuit.all_operations())


def native_cz(cell: HardwareCell, a: cirq.Qid, b: cirq.Qid) -> list[cirq.Moment]:
    """A CZ on neighbours `a`, `b` in the device's native gates, as moments."""
    if two_qubit_gate(cell.device) == "cz":
        return [cirq.Moment(cirq.CZ(a, b))]
    mapping = dict(zip(cirq.LineQubit.range(2), (a, b)))
    circuit = cirq.Circuit(op.transform_qubits(mapping) for op in _cz_as_sqrt_iswaps())
    return list(circuit.moments)


def _neuron(cell: HardwareCell, target: cirq.Qid, control: cirq.Qid | None, angles: Sequence[sympy.Expr]) -> list:
    """The parity-network neuron on `target` (module docstring): moments."""
    if control is None:
        return [cirq.Moment(_ry(target, angles[0]))]
    return [cirq.Moment(_ry(target, np.pi / 2)), *native_cz(cell, control, target),
            cirq.Moment(_ry(target, angles[1])), *native_cz(cell, control, target),
            cirq.Moment(_ry(target, angles[0] - sympy.pi / 2))]


def _copy(cell: HardwareCell, source: cirq.Qid, fresh: cirq.Qid) -> list[cirq.Moment]:
    """CNOT(source -> fresh) on a fresh |0> qubit: `ry(pi/2)`, CZ, `ry(-pi/2)` on `fresh`."""
    return [cirq.Moment(_ry(fresh, np.pi / 2)), *native_cz(cell, source, fresh), cirq.Moment(_ry(fresh, -np.pi / 2))]


def step_moments(cell: HardwareCell, qubits: Sequence[cirq.Qid], x: sympy.Expr, weights: np.ndarray) -> list:
    """The neuron layers of one step on lane qubits `qubits`, input bit `x` (a symbol or 0/1)."""
    moments: list[cirq.Moment] = []
    for layer in range(cell.layers):
        for lane, target in enumerate(qubits):
            w = weights[layer, lane]
            angles = [w[term, 0] + w[term, 1] * x for term in range(cell.terms)]
            control = None if cell.lanes == 1 else qubits[1 - lane]
            moments += _neuron(cell, target, control, angles)
    return moments


def sequence_circuit(cell: HardwareCell, scored: Sequence[bool], *, placement: Sequence[Sequence[cirq.Qid]] | None = None
                     ) -> cirq.Circuit:
    """A whole sequence of `len(scored)` steps, symbolic in the weights and the input bits.

    The out lane is the last lane; its k-th readout is measured at the end under key
    `out_key(k)`. `placement` (rungs of the walk, one more than scored steps) defaults to
    `walk` on the cell's device.
    """
    scored = [bool(s) for s in scored]
    rungs = placement if placement is not None else walk(hardware_device(cell.device), cell.lanes, sum(scored))
    if len(rungs) < sum(scored) + 1:
        raise ValueError(f"`placement` needs {sum(scored) + 1} rungs for {sum(scored)} scored steps, got {len(rungs)}.")
    weights = cell.weight_symbols()
    moments: list[cirq.Moment] = []
    rung, readouts = 0, []
    for t, is_scored in enumerate(scored):
        moments += step_moments(cell, rungs[rung], input_symbol(t), weights)
        if is_scored:
            for old, new in zip(rungs[rung], rungs[rung + 1], strict=True):
                moments += _copy(cell, old, new)
            readouts.append(rungs[rung][-1])
            rung += 1
    moments.append(cirq.Moment(cirq.measure(q, key=out_key(k)) for k, q in enumerate(readouts)))
    return cirq.Circuit(moments)


def resolver(cell: HardwareCell, weights: np.ndarray, inputs: Sequence[int] | np.ndarray) -> cirq.ParamResolver:
    """Values of the weight symbols (`weights`, any shape of `num_weights`) and input bits."""
    values = np.asarray(weights, dtype=np.float64).reshape(-1)
    if values.size != cell.num_weights:
        raise ValueError(f"`weights` must hold {cell.num_weights} values for {cell}, got {values.size}.")
    mapping: dict[sympy.Symbol, float] = dict(zip(cell.weight_symbols().reshape(-1), values))
    mapping.update({input_symbol(t): float(bit) for t, bit in enumerate(np.asarray(inputs).reshape(-1))})
    return cirq.ParamResolver(mapping)


def device_circuit(cell: HardwareCell, scored: Sequence[bool], weights: np.ndarray,
                   inputs: Sequence[int] | np.ndarray) -> cirq.Circuit:
    """The sequence circuit with the trained `weights` and one sequence's input bits: what a chip runs."""
    return cirq.resolve_parameters(sequence_circuit(cell, scored), resolver(cell, weights, inputs))
