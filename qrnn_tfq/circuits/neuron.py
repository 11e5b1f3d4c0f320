"""The symbolic hardware circuit of one quantum neuron (SPEC section 2).

Order 0 is the coherent neuron: the target itself gets the uniformly controlled rotation
by `2 eta(x)`. Order `k >= 1` nests the repeat-until-success circuit of Cao et al.:

    neuron_k(target) = neuron_{k-1}(a_{k-1}), C(-iY)[a_{k-1} -> target],
                       neuron_{k-1}(a_{k-1})^dagger, postselect a_{k-1} on |0>

with neuron_0 = the parameter block `P` and neuron_0^dagger = `P^dagger`. The dagger of a
whole neuron_k (its gates reversed and inverted, its postselections kept after the gates
they close) is neuron_k with its outermost `C(-iY)` replaced by `C(+iY)` = controlled
`ry(-pi)`; the inner nested neurons stay as they are. On every branch `x` of the source
lanes the postselected (unnormalised) result is exactly SPEC section 2's linear map with
`c = cos(eta)^(2^k)`, `s = sin(eta)^(2^k)`, and the dagger gives the same with `s -> -s`.

Ancillas come in two modes:
    reused  `k` ancillas; each postselection is a `cirq.measure` tagged `PostselectTag`,
            after which the ancilla is back in |0> and is used again;
    fresh   `2^k - 1` ancillas, one per postselection, no measurement ops at all; every
            ancilla is postselected on |0> at the end. Equivalent because a projection
            commutes with the gates after it that do not touch its qubit; this is the
            form TensorFlow Quantum can run (it has no mid-circuit measurement).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import cirq
import numpy as np
import sympy

from qrnn_tfq.config import QRNNConfig


@dataclasses.dataclass(frozen=True)
class PostselectTag:
    """Tags a `cirq.measure` that postselects its qubit on |0> (SPEC section 2).

    Serializes through Cirq's JSON protocol as `cirq_type` "qrnn_tfq.PostselectTag";
    read it back with `cirq.read_json(..., resolvers=json_resolvers())`.
    """

    def __str__(self) -> str:
        return "postselect"

    @classmethod
    def _json_namespace_(cls) -> str:
        return "qrnn_tfq"

    def _json_dict_(self) -> dict[str, Any]:
        return {}

    @classmethod
    def _from_json_dict_(cls, **kwargs: Any) -> PostselectTag:
        return cls()


def json_resolver(cirq_type: str) -> type | None:
    """Cirq JSON resolver for this package's classes: "qrnn_tfq.PostselectTag" -> the class.

    Returns None for any other `cirq_type`, so the next resolver in the list is tried.
    """
    return {"qrnn_tfq.PostselectTag": PostselectTag}.get(cirq_type)


def json_resolvers() -> list[Any]:
    """The resolvers `cirq.read_json` needs for circuits of this package.

    Cirq's documented way for third-party classes: this package's resolver followed by
    `cirq.DEFAULT_RESOLVERS` (read at call time, since Cirq modules such as cirq_google
    add to it when imported). Usage:
    `cirq.read_json(json_text=text, resolvers=qrnn_tfq.circuits.json_resolvers())`.
    """
    return [json_resolver, *cirq.DEFAULT_RESOLVERS]


def num_neuron_ancillas(order: int, fresh_ancillas: bool = False) -> int:
    """Ancillas one neuron of `order` needs: `order` reused or `2^order - 1` fresh ones."""
    if isinstance(order, bool) or not isinstance(order, int):
        raise TypeError(f"`order` must be an int, got {order!r}.")
    if order < 0:
        raise ValueError(f"`order` must be at least 0, got {order}.")
    return 2**order - 1 if fresh_ancillas else order


def postselect_key(config: QRNNConfig, neuron: int, level: int, count: int) -> str:
    """Key of the `count`-th postselection of ancilla `a_level` in neuron `neuron`.

    Example: `post_n003_a0_2`. Unique within a cell circuit in reuse mode.
    """
    width = max(3, len(str(config.num_neurons - 1)))
    return f"post_n{neuron:0{width}d}_a{level}_{count}"


def check_qubits(argument: str, qubits: Sequence[cirq.Qid], expected: int) -> tuple[cirq.Qid, ...]:
    """Checks that `qubits` is a sequence of `expected` distinct qubits and returns it as a tuple."""
    if isinstance(qubits, cirq.Qid) or not isinstance(qubits, Sequence):
        raise TypeError(f"`{argument}` must be a sequence of cirq qubits, got {qubits!r}.")
    qubits = tuple(qubits)
    for qubit in qubits:
        if not isinstance(qubit, cirq.Qid):
            raise TypeError(f"`{argument}` must contain cirq qubits, got {qubit!r} of type {type(qubit).__name__}.")
    if len(qubits) != expected:
        raise ValueError(f"`{argument}` must hold {expected} qubits, got {len(qubits)}: {list(qubits)}.")
    if len(set(qubits)) != len(qubits):
        raise ValueError(f"`{argument}` must hold distinct qubits, got {list(qubits)}.")
    return qubits


def check_disjoint(lanes: Sequence[cirq.Qid], ancillas: Sequence[cirq.Qid]) -> None:
    """Raises ValueError when `lanes` and `ancillas` share a qubit."""
    shared = sorted(set(lanes) & set(ancillas))
    if shared:
        raise ValueError(f"`lanes` and `ancillas` must not share qubits, both hold {shared}.")


def parameter_block(
    config: QRNNConfig, neuron: int, lanes: Sequence[cirq.Qid], target: cirq.Qid, *, dagger: bool = False
) -> list[cirq.Operation]:
    """The block `P` (or `P^dagger`) of SPEC section 2 acting on `target`.

    `P` = one `ry(phi_S)` on `target` controlled by the lanes of each subset `S`, then
    `ry(b)`, then `ry(theta)`; on branch `x` it is `ry(2 eta(x))`. `P^dagger` is the same
    gates reversed, with angles `-b` and `-1 * symbol`.
    """
    sign = -1 if dagger else 1
    ops: list[cirq.Operation] = []
    for subset in range(config.num_subsets):
        phi = sympy.Symbol(config.phi_name(neuron, subset))
        controls = [lanes[lane] for lane in config.neuron_subset_lanes(neuron, subset)]
        ops.append(cirq.ry(sign * phi).on(target).controlled_by(*controls))
    ops.append(cirq.ry(sign * config.bias).on(target))
    ops.append(cirq.ry(sign * sympy.Symbol(config.theta_name(neuron))).on(target))
    return ops[::-1] if dagger else ops


class _Builder:
    """Emits the nested neuron's operations, handing out ancillas by mode."""

    def __init__(
        self, config: QRNNConfig, neuron: int, lanes: tuple[cirq.Qid, ...], ancillas: tuple[cirq.Qid, ...], fresh: bool
    ) -> None:
        self.config = config
        self.neuron = neuron
        self.lanes = lanes
        self.ancillas = ancillas
        self.fresh = fresh
        self.next_fresh = 0
        self.counts: dict[int, int] = {}

    def ancilla(self, level: int) -> cirq.Qid:
        if not self.fresh:
            return self.ancillas[level]
        qubit = self.ancillas[self.next_fresh]
        self.next_fresh += 1
        return qubit

    def postselect(self, ancilla: cirq.Qid, level: int) -> list[cirq.Operation]:
        if self.fresh:
            return []  # projected at the end of the circuit
        count = self.counts.get(level, 0)
        self.counts[level] = count + 1
        key = postselect_key(self.config, self.neuron, level, count)
        return [cirq.measure(ancilla, key=key).with_tags(PostselectTag())]

    def neuron_ops(self, level: int, target: cirq.Qid, dagger: bool) -> list[cirq.Operation]:
        """neuron_level on `target` (SPEC section 2, circuit form), or its dagger."""
        if level == 0:
            return parameter_block(self.config, self.neuron, self.lanes, target, dagger=dagger)
        ancilla = self.ancilla(level - 1)
        ops = self.neuron_ops(level - 1, ancilla, dagger=False)
        ops.append(cirq.ry(-np.pi if dagger else np.pi).on(target).controlled_by(ancilla))  # C(-iY) or C(+iY)
        ops += self.neuron_ops(level - 1, ancilla, dagger=True)
        ops += self.postselect(ancilla, level - 1)
        return ops


def neuron_circuit(
    config: QRNNConfig,
    neuron: int,
    lanes: Sequence[cirq.Qid],
    ancillas: Sequence[cirq.Qid],
    *,
    order: int | None = None,
    fresh_ancillas: bool = False,
) -> cirq.Circuit:
    """The hardware circuit of neuron `neuron` of `config` (SPEC section 2).

    Args:
        config: the cell layout; gives the target lane, the subsets and the symbol names.
        neuron: neuron index, 0 .. N-1.
        lanes: the `n = I + W` lane qubits, lane 0 first.
        ancillas: exactly `num_neuron_ancillas(order, fresh_ancillas)` qubits, disjoint
            from `lanes`. In reuse mode `ancillas[k]` is `a_k` (`a_{order-1}` drives the
            target); in fresh mode they are used in the order the recursion allocates them
            (outermost first, depth first).
        order: nesting order; `config.order` if None. 0 gives the coherent neuron.
        fresh_ancillas: one fresh ancilla per postselection and no measurement ops.

    Returns:
        The symbolic circuit. Its postselected simulation maps each branch `x` of the
        target's amplitudes by `[[c, -s], [s, c]]` exactly, with `c, s` of SPEC section 2.

    Raises:
        ValueError: `neuron` out of range, `order` negative, or the wrong number of qubits.
    """
    if isinstance(neuron, bool) or not isinstance(neuron, (int, np.integer)):
        raise TypeError(f"`neuron` must be an int, got {neuron!r}.")
    if not 0 <= neuron < config.num_neurons:
        raise ValueError(f"`neuron` must be between 0 and {config.num_neurons - 1}, got {neuron}.")
    order = config.order if order is None else order
    needed = num_neuron_ancillas(order, fresh_ancillas)
    lanes = check_qubits("lanes", lanes, config.num_lanes)
    ancillas = check_qubits("ancillas", ancillas, needed)
    check_disjoint(lanes, ancillas)
    builder = _Builder(config, int(neuron), lanes, ancillas, fresh_ancillas)
    target = lanes[config.neuron_target(neuron)]
    return cirq.Circuit(builder.neuron_ops(order, target, dagger=False))
