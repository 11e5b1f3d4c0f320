"""Simulating neuron and cell circuits with their ancillas postselected on |0> (SPEC 2, 7).

`simulate_postselected` runs any circuit with `cirq.Simulator`: it cuts the circuit at the
measurements tagged `PostselectTag`, projects those ancillas on |0> (renormalising and
accumulating the success probability) and goes on from the projected state; at the end it
projects every ancilla on |0>, which is all the fresh-ancilla form needs.

`simulate_postselected_tfq` runs fresh-ancilla circuits with `tfq.layers.State`. TFQ always
starts from |0...0> and has no mid-circuit measurement, so an initial state is prepared by
gates put in front (`basis_state_preparation`, `product_state_preparation`) and the ancillas
are projected on |0> afterwards, in numpy. TFQ simulates in complex64.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import cirq
import numpy as np

from qrnn_tfq.circuits.neuron import PostselectTag

Resolver = cirq.ParamResolver | Mapping[str, float] | None


def _check_lanes(lanes: Sequence[cirq.Qid]) -> tuple[cirq.Qid, ...]:
    if isinstance(lanes, cirq.Qid) or not isinstance(lanes, Sequence) or not lanes:
        raise TypeError(f"`lanes` must be a non-empty sequence of cirq qubits, got {lanes!r}.")
    if not all(isinstance(qubit, cirq.Qid) for qubit in lanes):
        raise TypeError(f"`lanes` must contain cirq qubits, got {list(lanes)}.")
    if len(set(lanes)) != len(lanes):
        raise ValueError(f"`lanes` must hold distinct qubits, got {list(lanes)}.")
    return tuple(lanes)


def _is_postselection(op: cirq.Operation) -> bool:
    return cirq.is_measurement(op) and any(isinstance(tag, PostselectTag) for tag in op.tags)


def _lane_state(initial_state: int | np.ndarray | None, num_lanes: int) -> np.ndarray:
    dim = 2**num_lanes
    if initial_state is None:
        initial_state = 0
    if isinstance(initial_state, (int, np.integer)) and not isinstance(initial_state, bool):
        if not 0 <= initial_state < dim:
            raise ValueError(f"`initial_state` as a basis index must be between 0 and {dim - 1}, got {initial_state}.")
        state = np.zeros(dim, dtype=np.complex128)
        state[initial_state] = 1.0
        return state
    state = np.asarray(initial_state, dtype=np.complex128)
    if state.shape != (dim,):
        raise ValueError(f"`initial_state` must have shape ({dim},) for {num_lanes} lanes, got {state.shape}.")
    norm = np.linalg.norm(state)
    if not abs(norm - 1.0) < 1e-6:
        raise ValueError(f"`initial_state` must have unit norm, got norm {norm}.")
    return state / norm


def _project_zero(state: np.ndarray, position: int, num_qubits: int, what: str) -> tuple[np.ndarray, float]:
    """Projects qubit `position` of `state` on |0>; returns the renormalised state and p(0)."""
    tensor = state.reshape((2,) * num_qubits).copy()
    index = [slice(None)] * num_qubits
    index[position] = 1
    tensor[tuple(index)] = 0.0
    probability = float(np.vdot(tensor, tensor).real)
    if probability <= 0.0:
        raise ValueError(f"Postselection of {what} on |0> has probability 0; the state cannot be renormalised.")
    return (tensor / np.sqrt(probability)).reshape(-1), probability


def _to_real(state: np.ndarray) -> np.ndarray:
    scale = max(float(np.max(np.abs(state))), 1e-30)
    if np.max(np.abs(state.imag)) > 1e-6 * scale:
        raise ValueError(
            f"The postselected state has complex amplitudes (largest imaginary part "
            f"{np.max(np.abs(state.imag))}); QRNN circuits keep every amplitude real."
        )
    return np.ascontiguousarray(state.real)


def simulate_postselected(
    circuit: cirq.Circuit,
    lanes: Sequence[cirq.Qid],
    initial_state: int | np.ndarray | None = None,
    resolver: Resolver = None,
    dtype: type = np.complex128,
    *,
    real: bool = True,
) -> tuple[np.ndarray, float]:
    """Simulates `circuit` with every ancilla postselected on |0> (SPEC section 2).

    Every qubit of `circuit` that is not in `lanes` is an ancilla and starts in |0>.
    Measurements tagged `PostselectTag` project their qubits on |0> where they stand; all
    ancillas are projected on |0> at the end. Other measurements (like the cell's
    `output`) must be terminal and are skipped: the state before them is returned.

    Args:
        circuit: a neuron or cell circuit, reuse or fresh mode.
        lanes: the lane qubits, lane 0 first; they define the order of the result.
        initial_state: the lanes' initial state: None (all 0), a basis index, or a unit
            vector of length `2^len(lanes)` (lane 0 the most significant bit).
        resolver: symbol values (`cirq.ParamResolver` or name -> value mapping).
        dtype: the simulator's complex dtype.
        real: check that the result is real and return it as such (every QRNN circuit
            but the amplified ones, SPEC section 8); False returns the complex state.

    Returns:
        The renormalised state of the lanes (real unless `real=False`), shape `(2^n,)`, and the product of the
        success probabilities of all postselections.

    Raises:
        ValueError: a bad `initial_state`, a non-terminal ordinary measurement, complex
            amplitudes, or a postselection with probability 0.
    """
    if not isinstance(circuit, cirq.Circuit):
        raise TypeError(f"`circuit` must be a cirq.Circuit, got {type(circuit).__name__}.")
    lanes = _check_lanes(lanes)
    ancillas = sorted(circuit.all_qubits() - set(lanes))
    order = list(lanes) + ancillas
    position = {qubit: i for i, qubit in enumerate(order)}
    lane_state = _lane_state(initial_state, len(lanes))
    state = np.kron(lane_state, np.eye(1, 2 ** len(ancillas), 0).ravel()).astype(dtype)
    simulator = cirq.Simulator(dtype=dtype)
    resolver = cirq.ParamResolver(resolver)

    def run(moments: list[cirq.Moment], state: np.ndarray) -> np.ndarray:
        segment = cirq.Circuit(moments)
        if not any(True for _ in segment.all_operations()):
            return state
        result = simulator.simulate(segment, param_resolver=resolver, qubit_order=order, initial_state=state)
        return result.final_state_vector

    probability = 1.0
    pending: list[cirq.Moment] = []
    for i, moment in enumerate(circuit):
        markers = [op for op in moment if _is_postselection(op)]
        for op in moment:
            if cirq.is_measurement(op) and not _is_postselection(op):
                if circuit.next_moment_operating_on(op.qubits, i + 1) is not None:
                    raise ValueError(
                        f"Only postselections may be followed by gates; {op} at moment {i} is not terminal."
                    )
        pending.append(cirq.Moment(op for op in moment if not cirq.is_measurement(op)))
        if markers:
            state = run(pending, state)
            pending = []
            for op in markers:
                for qubit in op.qubits:
                    state, p = _project_zero(state, position[qubit], len(order), str(op))
                    probability *= p
    state = run(pending, state)
    for qubit in ancillas:
        state, p = _project_zero(state, position[qubit], len(order), f"ancilla {qubit}")
        probability *= p
    lanes_state = np.asarray(state, dtype=np.complex128).reshape(2 ** len(lanes), 2 ** len(ancillas))[:, 0]
    return (_to_real(lanes_state) if real else lanes_state), probability


def basis_state_preparation(lanes: Sequence[cirq.Qid], index: int) -> cirq.Circuit:
    """`X` on the lanes whose bit is 1 in `index` (lane 0 the most significant bit)."""
    lanes = _check_lanes(lanes)
    if not 0 <= index < 2 ** len(lanes):
        raise ValueError(f"`index` must be between 0 and {2 ** len(lanes) - 1}, got {index}.")
    return cirq.Circuit(cirq.X(q) for i, q in enumerate(lanes) if (index >> (len(lanes) - 1 - i)) & 1)


def product_state_preparation(lanes: Sequence[cirq.Qid], angles: Sequence[float] | np.ndarray) -> cirq.Circuit:
    """`ry(angles[i])` on lane `i`: prepares `product_state(angles)` from |0...0>."""
    lanes = _check_lanes(lanes)
    angles = np.asarray(angles, dtype=np.float64)
    if angles.shape != (len(lanes),):
        raise ValueError(f"`angles` must have shape ({len(lanes)},), one per lane, got {angles.shape}.")
    return cirq.Circuit(cirq.ry(float(angle)).on(q) for q, angle in zip(lanes, angles))


def product_state(angles: Sequence[float] | np.ndarray) -> np.ndarray:
    """The real state `ry(a_0)|0> x ry(a_1)|0> x ...`, lane 0 the most significant bit."""
    state = np.ones(1)
    for angle in np.asarray(angles, dtype=np.float64).ravel():
        state = np.kron(state, [np.cos(angle / 2), np.sin(angle / 2)])
    return state


def simulate_postselected_tfq(
    circuits: cirq.Circuit | Sequence[cirq.Circuit],
    lanes: Sequence[cirq.Qid],
    resolvers: Resolver | Sequence[Resolver] = None,
    *,
    real: bool = True,
) -> tuple[np.ndarray, np.ndarray | float]:
    """Simulates fresh-ancilla circuits with `tfq.layers.State` and postselects (SPEC section 7).

    Each circuit starts from |0...0> (prepend a preparation circuit for other inputs);
    every qubit not in `lanes` is an ancilla and is projected on |0> after the simulation.

    Args:
        circuits: one circuit or a sequence of them, without measurements.
        lanes: the lane qubits, lane 0 first.
        resolvers: one resolver for all circuits or one per circuit.
        real: check that the states are real and return float64 (False: complex128,
            for amplified neurons, SPEC section 8).

    Returns:
        For one circuit: the renormalised lanes' state `(2^n,)` and the success probability.
        For a sequence of `B`: states `(B, 2^n)` and probabilities `(B,)`. Values come from
        TFQ's complex64 simulation, returned as float64.

    Raises:
        ValueError: a circuit with measurements, or mismatched `resolvers`.
    """
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tensorflow_quantum as tfq  # imports TensorFlow, after TF_USE_LEGACY_KERAS is set

    single = isinstance(circuits, cirq.Circuit)
    batch = [circuits] if single else list(circuits)
    lanes = _check_lanes(lanes)
    if isinstance(resolvers, (cirq.ParamResolver, Mapping)) or resolvers is None:
        resolvers = [resolvers] * len(batch)
    resolvers = [cirq.ParamResolver(r) for r in resolvers]
    if len(resolvers) != len(batch):
        raise ValueError(f"`resolvers` must hold 1 or {len(batch)} resolvers (one per circuit), got {len(resolvers)}.")
    full = []
    for k, circuit in enumerate(batch):
        if not isinstance(circuit, cirq.Circuit):
            raise TypeError(f"`circuits[{k}]` must be a cirq.Circuit, got {type(circuit).__name__}.")
        if circuit.has_measurements():
            raise ValueError(
                f"`circuits[{k}]` has measurements, which TFQ cannot run mid-circuit; "
                "build it with fresh_ancillas=True."
            )
        idle = [q for q in lanes if q not in circuit.all_qubits()]  # keep every lane in TFQ's register
        full.append(circuit + cirq.Circuit(cirq.I(q) for q in idle) if idle else circuit)
    names = sorted(set().union(*(cirq.parameter_names(c) for c in full)))
    values = np.zeros((len(full), len(names)), dtype=np.float32)  # (B, symbols)
    for k, r in enumerate(resolvers):
        for j, name in enumerate(names):
            value = r.value_of(name)
            if not isinstance(value, (int, float, np.integer, np.floating)):
                raise ValueError(f"`resolvers[{k}]` gives no number for symbol {name!r}, got {value!r}.")
            values[k, j] = value
    layer = tfq.layers.State()
    if names:
        states = layer(tfq.convert_to_tensor(full), symbol_names=names, symbol_values=values)
    else:
        states = layer(tfq.convert_to_tensor(full))

    results, probabilities = [], []
    for circuit, row in zip(full, states):
        qubits = sorted(circuit.all_qubits())  # TFQ's order (cirq's default order)
        ancillas = [q for q in qubits if q not in lanes]
        tensor = row.numpy().astype(np.complex128).reshape((2,) * len(qubits))
        tensor = tensor.transpose([qubits.index(q) for q in list(lanes) + ancillas])
        lanes_state = tensor.reshape(2 ** len(lanes), 2 ** len(ancillas))[:, 0]
        probability = float(np.vdot(lanes_state, lanes_state).real)
        if probability <= 0.0:
            raise ValueError(f"Postselection of the ancillas of `circuits[{len(results)}]` on |0> has probability 0.")
        unit = lanes_state / np.sqrt(probability)
        results.append(_to_real(unit) if real else unit)
        probabilities.append(probability)
    if single:
        return results[0], probabilities[0]
    return np.stack(results), np.array(probabilities)
