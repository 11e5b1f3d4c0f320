"""Where the hardware cell's lanes walk on a device: rungs of neighbouring qubits, no routing.

A walk is a list of rungs, one tuple of `lanes` qubits per readout plus the first. The
lanes of a rung are neighbours (so the neurons need no SWAP), and each lane's next qubit
is a fresh neighbour of its current one (so the readout copy is one native CZ). With one
lane a walk is a simple path; with two it is a ladder: consecutive rungs form a square.
"""

from __future__ import annotations

import cirq
import cirq_google
import networkx as nx


def _graph(device: cirq_google.GridDevice) -> nx.Graph:
    graph = device.metadata.nx_graph
    if graph is None:
        raise ValueError(f"Device {device} has no qubit graph.")
    return graph


def _next_rungs(graph: nx.Graph, rung: tuple[cirq.Qid, ...], used: set) -> list[tuple[cirq.Qid, ...]]:
    """Rungs that can follow `rung`: each lane steps to a fresh neighbour, the lanes stay neighbours."""
    if len(rung) == 1:
        return [(q,) for q in sorted(graph.neighbors(rung[0])) if q not in used]
    a, b = rung
    options = []
    for a_next in sorted(graph.neighbors(a)):
        for b_next in sorted(graph.neighbors(b)):
            if a_next in used or b_next in used or a_next == b_next or a_next in (a, b) or b_next in (a, b):
                continue
            if graph.has_edge(a_next, b_next):
                options.append((a_next, b_next))
    return options


def walk(device: cirq_google.GridDevice, lanes: int, readouts: int) -> list[tuple[cirq.Qid, ...]]:
    """The first walk of `readouts + 1` rungs of `lanes` qubits found on `device` (deterministic).

    Raises:
        ValueError: the device has no such walk (too few qubits for the fresh readouts),
            naming the qubits it would need.
    """
    graph = _graph(device)
    length = readouts + 1
    if lanes * length > graph.number_of_nodes():
        raise ValueError(f"{lanes} lane(s) with {readouts} readouts need {lanes * length} qubits; the device has "
                         f"{graph.number_of_nodes()}.")
    centre = _centre(graph)
    starts = sorted(graph.nodes, key=lambda q: (_distance(q, centre), q))
    first_rungs = [(q,) for q in starts] if lanes == 1 else [
        (a, b) for a in starts for b in sorted(graph.neighbors(a))]
    budget = [200_000]  # search steps: a device with no walk is refused, not searched forever

    def extend(path: list[tuple[cirq.Qid, ...]], used: set) -> list[tuple[cirq.Qid, ...]] | None:
        if len(path) == length:
            return path
        budget[0] -= 1
        if budget[0] < 0:
            return None
        for rung in _next_rungs(graph, path[-1], used):
            found = extend(path + [rung], used | set(rung))
            if found is not None:
                return found
        return None

    for rung in first_rungs:
        found = extend([rung], set(rung))
        if found is not None:
            return found
    raise ValueError(f"No walk of {length} rungs of {lanes} neighbouring lane(s) with fresh neighbours on the device "
                     f"({graph.number_of_nodes()} qubits): {lanes * length} qubits in that shape are needed.")


def _centre(graph: nx.Graph) -> tuple[float, float]:
    rows = [q.row for q in graph.nodes]
    cols = [q.col for q in graph.nodes]
    return (sum(rows) / len(rows), sum(cols) / len(cols))


def _distance(q: cirq.Qid, centre: tuple[float, float]) -> float:
    return abs(q.row - centre[0]) + abs(q.col - centre[1])
