"""Compiling a resolved QRNN circuit for a Google device: gate set, placement, routing, checks.

    compiled = compile_circuit(circuit, "rainbow", "cz")
    compiled.circuit            # on the device's GridQubits, valid for the device
    compiled.placement          # logical qubit -> GridQubit, at the start and at the end

Steps: (1) each neuron's parameter block becomes a parity network (`parity`); (2)
measurements of several qubits are split into one measurement per qubit (the router would
otherwise make their qubits adjacent, or refuse); (3) `cirq.optimize_for_target_gateset`
with `cirq.CZTargetGateset` leaves gates on one or two qubits; (4) `cirq.RouteCQC` places
the qubits on the device graph and inserts SWAPs; (5) SWAPs along the device graph bring
every logical qubit back to where it started, so that a compiled cell can follow itself
step after step; (6) `cirq.optimize_for_target_gateset` with the device gate set (`cz`:
`cirq.CZTargetGateset`, `sqrt_iswap`: `cirq.SqrtIswapTargetGateset`) turns SWAPs and CNOTs
into native gates and merges single-qubit gates into `PhasedXZGate`s; (7) the device from
`cirq_google.engine.create_device_from_processor_id` validates the result.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from collections.abc import Iterator, Mapping

import cirq
import cirq_google
import networkx as nx
import numpy as np
import scipy.optimize

from qrnn_tfq.circuits.neuron import PostselectTag
from qrnn_tfq.export.parity import synthesize_parity_networks
from qrnn_tfq.hardware.devices import hardware_device

DEVICES = ("rainbow", "weber")
GATESETS = ("cz", "sqrt_iswap")
SPLIT_SEPARATOR = "_q"  # measurement `key` on several qubits -> keys `key_q0`, `key_q1`, ...


def check_choice(argument: str, value: str, choices: tuple[str, ...]) -> str:
    """Returns `value` if it is one of `choices`, else raises ValueError naming both."""
    if value not in choices:
        raise ValueError(f"`{argument}` must be one of {list(choices)}, got {value!r}.")
    return value


def load_device(name: str) -> cirq_google.GridDevice:
    """The virtual device of Google processor `name` ("rainbow" or "weber"; `hardware_device`'s, cached)."""
    check_choice("device", name, DEVICES)
    return hardware_device(name)


def target_gateset(name: str) -> cirq.CompilationTargetGateset:
    """The Cirq compilation target of gate set `name` ("cz" or "sqrt_iswap")."""
    check_choice("gateset", name, GATESETS)
    return cirq.CZTargetGateset() if name == "cz" else cirq.SqrtIswapTargetGateset()


@dataclasses.dataclass(frozen=True)
class CompiledCircuit:
    """A circuit compiled for a device.

    Attributes:
        circuit: the compiled circuit on the device's qubits.
        placement: logical qubit -> physical qubit where it starts.
        final_placement: logical qubit -> physical qubit where it ends (equal to
            `placement` when the compilation restored the placement).
        permutation: physical qubit -> physical qubit its content ends on, for every
            qubit of `circuit` (the SWAPs of routing and restoring, composed).
        device: the processor name.
        gateset: "cz" or "sqrt_iswap".
    """

    circuit: cirq.Circuit
    placement: dict[cirq.Qid, cirq.GridQubit]
    final_placement: dict[cirq.Qid, cirq.GridQubit]
    permutation: dict[cirq.GridQubit, cirq.GridQubit]
    device: str
    gateset: str


def split_measurements(circuit: cirq.AbstractCircuit) -> cirq.Circuit:
    """Every measurement of several qubits becomes one per qubit, keys `key_q0`, `key_q1`, ...

    The tags are kept; a postselection that succeeds when all its qubits read 0 succeeds
    when each of the split measurements reads 0.
    """

    def split(op: cirq.Operation, _: int) -> cirq.OP_TREE:
        if not cirq.is_measurement(op) or len(op.qubits) == 1:
            return op
        gate = op.gate
        if not isinstance(gate, cirq.MeasurementGate) or gate.invert_mask or gate.confusion_map:
            raise ValueError(f"Only plain measurements can be split, got {op}.")
        key = gate.key
        return [
            cirq.measure(q, key=f"{key}{SPLIT_SEPARATOR}{i}").with_tags(*op.tags) for i, q in enumerate(op.qubits)
        ]

    return cirq.map_operations_and_unroll(circuit, split).unfreeze(copy=False)


def restore_swaps(
    graph: nx.Graph, start: Mapping[cirq.Qid, cirq.Qid], end: Mapping[cirq.Qid, cirq.Qid]
) -> list[cirq.Operation]:
    """SWAPs along `graph` that move each logical qubit from `end[q]` to `start[q]`.

    Token swapping on a tree: take a tree joining the used physical qubits, then repeatedly
    take a leaf, bring the token that belongs there (a logical qubit, or an empty qubit for a
    leaf no logical qubit ends on) along the tree and remove the leaf. At most `n (n - 1) / 2`
    SWAPs for `n` physical qubits; plenty for the few qubits of a cell. SWAPs between two
    empty qubits are left out (they hold |0>: SWAPs only permute qubit contents).
    """
    if set(start) != set(end):
        raise ValueError(f"`start` and `end` must place the same logical qubits, got {sorted(start)} and {sorted(end)}.")
    used = set(start.values()) | set(end.values())
    anchor = min(used)
    component = nx.node_connected_component(graph, anchor)
    missing = sorted(used - component)
    if missing:
        raise ValueError(f"Physical qubits {missing} are not connected to {anchor} on the device graph.")
    spanning = nx.minimum_spanning_tree(graph.subgraph(component))
    keep = set()
    for vertex in used:
        keep.update(nx.shortest_path(spanning, anchor, vertex))
    tree = nx.Graph(spanning.subgraph(keep))
    token_at = {vertex: None for vertex in tree}  # physical -> logical qubit on it (None: empty)
    token_at.update({physical: logical for logical, physical in end.items()})
    goal_of = {vertex: None for vertex in tree}  # physical -> logical qubit that must end there
    goal_of.update({physical: logical for logical, physical in start.items()})
    swaps: list[cirq.Operation] = []
    while tree.number_of_nodes() > 1:
        leaf = min(v for v in tree.nodes if tree.degree(v) == 1)
        wanted = goal_of[leaf]
        if token_at[leaf] != wanted:
            sources = [v for v in tree.nodes if token_at[v] == wanted]
            source = min(sources, key=lambda v: (nx.shortest_path_length(tree, v, leaf), v))
            path = nx.shortest_path(tree, source, leaf)
            for a, b in zip(path, path[1:]):
                if token_at[a] is not None or token_at[b] is not None:
                    swaps.append(cirq.SWAP(a, b).with_tags(cirq.RoutingSwapTag()))
                token_at[a], token_at[b] = token_at[b], token_at[a]
        tree.remove_node(leaf)
    return swaps


def swap_permutation(circuit: cirq.AbstractCircuit) -> dict[cirq.Qid, cirq.Qid]:
    """Physical qubit -> where its content ends, following the SWAPs tagged `cirq.RoutingSwapTag`."""
    content = {q: q for q in circuit.all_qubits()}  # physical qubit -> whose content it holds
    for op in circuit.all_operations():
        if cirq.RoutingSwapTag() in op.tags:
            a, b = op.qubits
            content[a], content[b] = content[b], content[a]
    return {origin: place for place, origin in content.items()}


def _final_placement(initial: Mapping[cirq.Qid, cirq.Qid], swap_map: Mapping[cirq.Qid, cirq.Qid]) -> dict:
    return {logical: swap_map.get(physical, physical) for logical, physical in initial.items()}


def route(
    circuit: cirq.AbstractCircuit, device: cirq_google.GridDevice, placement: Mapping[cirq.Qid, cirq.GridQubit] | None
) -> tuple[cirq.Circuit, dict, dict]:
    """`cirq.RouteCQC` on the device graph; returns (routed, placement, final placement)."""
    graph = device.metadata.nx_graph
    router = cirq.RouteCQC(graph)
    mapper = None if placement is None else cirq.HardCodedInitialMapper(dict(placement))
    routed, initial, swap_map = router.route_circuit(circuit, initial_mapper=mapper, tag_inserted_swaps=True)
    return cirq.Circuit(routed), dict(initial), _final_placement(initial, swap_map)


def two_qubit_form(circuit: cirq.AbstractCircuit) -> cirq.Circuit:
    """`circuit` with every operation on more than two qubits decomposed (what `RouteCQC` takes)."""
    with quiet_cirq():
        return cirq.expand_composite(circuit, no_decomp=lambda op: cirq.num_qubits(op) <= 2).unfreeze(copy=False)


@contextlib.contextmanager
def quiet_cirq() -> Iterator[None]:
    """Silences the FutureWarning Cirq 1.5's own transformers raise about `use_repetition_ids`."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*use_repetition_ids.*", category=FutureWarning)
        yield


def polish(ops: list[cirq.Operation], unitary: np.ndarray, qubits: list[cirq.Qid]) -> list[cirq.Operation]:
    """Refits the `PhasedXZGate`s of a decomposition so that it equals `unitary` to about 1e-15.

    Cirq's sqrt-iSWAP decompositions are accurate to about 1e-8 per gate, which thousands of
    gates would add up; a least-squares refit of the single-qubit gates removes that.
    """
    free = [i for i, op in enumerate(ops) if isinstance(op.gate, cirq.PhasedXZGate)]
    if not free:
        return ops

    def build(x: np.ndarray) -> list[cirq.Operation]:
        out = list(ops)
        for k, i in enumerate(free):
            gate = cirq.PhasedXZGate(x_exponent=x[3 * k], z_exponent=x[3 * k + 1], axis_phase_exponent=x[3 * k + 2])
            out[i] = gate.on(*ops[i].qubits)
        return out

    def residual(x: np.ndarray) -> np.ndarray:
        actual = cirq.Circuit(build(x)).unitary(qubit_order=qubits)
        overlap = np.vdot(unitary.ravel(), actual.ravel())
        difference = actual - overlap / abs(overlap) * unitary
        return np.concatenate([difference.real.ravel(), difference.imag.ravel()])

    start = np.array([[ops[i].gate.x_exponent, ops[i].gate.z_exponent, ops[i].gate.axis_phase_exponent] for i in free])
    fit = scipy.optimize.least_squares(residual, start.ravel(), xtol=1e-15, ftol=1e-15, gtol=1e-15)
    if np.max(np.abs(residual(fit.x))) < np.max(np.abs(residual(start.ravel()))):
        return build(fit.x)
    return ops


class NativeGates:
    """Rewrites a routed circuit in a target gate set, decomposing each distinct gate once.

    Cirq's decomposition of a two-qubit unitary (KAK) depends only on the gate, so it is
    computed on two template qubits (and polished, `polish`) and mapped onto every pair the
    gate acts on: a cell has thousands of CZs and SWAPs but only a few distinct gates. Then
    single-qubit gates are merged into `PhasedXZGate`s and identities dropped.
    """

    def __init__(self, gateset: str) -> None:
        self.target = target_gateset(gateset)
        self.cache: dict[cirq.Gate, list[cirq.Operation]] = {}
        self.template = cirq.LineQubit.range(2)

    def rewrite(self, op: cirq.Operation) -> cirq.OP_TREE:
        if cirq.num_qubits(op) != 2 or cirq.is_measurement(op) or op.untagged in self.target:
            return op
        gate = op.untagged.gate
        if gate is None:
            raise ValueError(f"Cannot compile the two-qubit operation {op!r}: it has no gate.")
        if gate not in self.cache:
            ops = self.target.decompose_to_target_gateset(gate.on(*self.template), 0)
            if ops is None:
                raise ValueError(f"{type(self.target).__name__} cannot decompose {gate!r}.")
            ops = [o for o in cirq.flatten_to_ops(ops) if not isinstance(o.gate, cirq.GlobalPhaseGate)]
            self.cache[gate] = polish(ops, cirq.unitary(gate), self.template)
        mapping = dict(zip(self.template, op.qubits))
        return [o.transform_qubits(mapping) for o in self.cache[gate]]

    def __call__(self, circuit: cirq.AbstractCircuit) -> cirq.Circuit:
        with quiet_cirq():
            native = cirq.map_operations_and_unroll(circuit, lambda op, _: self.rewrite(op))
            native = cirq.merge_single_qubit_gates_to_phxz(native)
            native = cirq.drop_negligible_operations(native)
            native = cirq.map_operations_and_unroll(
                native, lambda op, _: [] if isinstance(op.gate, (cirq.IdentityGate, cirq.GlobalPhaseGate)) else op
            )
            return cirq.drop_empty_moments(native).unfreeze(copy=False)


def compile_circuit(
    circuit: cirq.AbstractCircuit,
    device: str,
    gateset: str,
    *,
    placement: Mapping[cirq.Qid, cirq.GridQubit] | None = None,
    end_placement: Mapping[cirq.Qid, cirq.GridQubit] | None = None,
    restore: bool = True,
    synthesis: bool = True,
    validate: bool = True,
) -> CompiledCircuit:
    """Compiles a resolved circuit for `device` in `gateset` (see the module docstring).

    Args:
        circuit: resolved (no symbols), on logical qubits; may hold measurements.
        device: "rainbow" or "weber".
        gateset: "cz" or "sqrt_iswap".
        placement: logical -> physical qubit to start from; None lets `RouteCQC` choose.
            Logical qubits the circuit does not touch keep their place.
        end_placement: where the qubits must end (SWAPs are appended); None: where they
            started if `restore`, else wherever the routing left them.
        restore: with no `end_placement`, end where the qubits started.
        synthesis: parity networks for the parameter blocks (False: Cirq's generic
            decomposition of the multi-controlled rotations, much longer).
        validate: check the result with `device.validate_circuit`.

    Raises:
        ValueError: an unknown device or gate set, symbols left, or a circuit the device
            rejects (the message is the device's).
    """
    native_gates = NativeGates(gateset)
    grid = load_device(device)
    if cirq.is_parameterized(circuit):
        raise ValueError(f"`circuit` must be resolved, got symbols {sorted(cirq.parameter_names(circuit))}.")
    work = synthesize_parity_networks(circuit) if synthesis else cirq.Circuit(circuit)
    work = two_qubit_form(split_measurements(work))
    idle = sorted(set(placement or {}) - work.all_qubits())
    work.append(cirq.I(q) for q in idle)  # the router must know every placed qubit
    routed, start, end = route(work, grid, placement)
    target = end_placement if end_placement is not None else (start if restore else None)
    if target is not None and dict(target) != end:
        routed.append(restore_swaps(grid.metadata.nx_graph, target, end), strategy=cirq.InsertStrategy.NEW_THEN_INLINE)
        end = dict(target)
    permutation = swap_permutation(routed)
    native = _retag_postselections(native_gates(routed), circuit)
    if validate:
        grid.validate_circuit(native)
    permutation.update({q: q for q in native.all_qubits() - set(permutation)})
    return CompiledCircuit(native, start, end, permutation, device, gateset)


def _postselection_keys(circuit: cirq.AbstractCircuit) -> set[str]:
    keys = set()
    for op in circuit.all_operations():
        if cirq.is_measurement(op) and any(isinstance(tag, PostselectTag) for tag in op.tags):
            key = cirq.measurement_key_name(op)
            keys.add(key)
            keys.update(f"{key}{SPLIT_SEPARATOR}{i}" for i in range(len(op.qubits)))
    return keys


def _retag_postselections(compiled: cirq.AbstractCircuit, original: cirq.AbstractCircuit) -> cirq.Circuit:
    """Puts `PostselectTag` back on the measurements that carried it (compilation may drop tags)."""
    keys = _postselection_keys(original)

    def tag(op: cirq.Operation, _: int) -> cirq.Operation:
        if cirq.is_measurement(op) and cirq.measurement_key_name(op) in keys:
            return op.untagged.with_tags(PostselectTag())
        return op

    return cirq.map_operations(compiled, tag).unfreeze(copy=False)


def strip_tags(circuit: cirq.AbstractCircuit) -> cirq.Circuit:
    """`circuit` without operation tags (the device proto keeps only the tags it knows)."""
    return cirq.map_operations(circuit, lambda op, _: op.untagged).unfreeze(copy=False)
