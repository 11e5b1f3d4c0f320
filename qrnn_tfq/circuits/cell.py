"""The symbolic hardware circuit of one QRNN cell step (SPEC section 3, steps 1-5).

Qubits: the `n = I + W` lanes plus ancillas. In reuse mode the cell needs `ord` ancillas,
shared by all neurons (each neuron leaves them in |0> after its postselections). In fresh
mode every neuron gets its own `2^ord - 1` fresh ancillas, `N (2^ord - 1)` in all, and the
circuit has no measurement ops; that is what TensorFlow Quantum can run, but it grows fast
(`(W, I, S, ord) = (2, 1, 1, 2)` already needs 3 + 15 = 18 qubits), so it is for tests and
tiny configurations only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cirq
import numpy as np
import sympy

from qrnn_tfq.circuits.neuron import check_disjoint, check_qubits, neuron_circuit, num_neuron_ancillas
from qrnn_tfq.config import QRNNConfig

OUTPUT_KEY = "output"


def num_cell_ancillas(config: QRNNConfig, fresh_ancillas: bool = False) -> int:
    """Ancillas of a cell circuit: `ord` reused, or `N (2^ord - 1)` fresh ones."""
    per_neuron = num_neuron_ancillas(config.order, fresh_ancillas)
    return config.num_neurons * per_neuron if fresh_ancillas else per_neuron


def check_input_word(config: QRNNConfig, input_word: Sequence[int] | np.ndarray) -> tuple[int, ...]:
    """Checks an input word (I bits, lane 0 first) and returns it as a tuple of ints."""
    word = np.asarray(input_word)
    if word.shape != (config.io_lanes,):
        raise ValueError(
            f"`input_word` must hold {config.io_lanes} bits (one per in/out lane), got {np.ravel(word).tolist()} "
            f"of shape {word.shape}."
        )
    if not np.all((word == 0) | (word == 1)):
        raise ValueError(f"`input_word` must hold only bits 0 and 1, got {word.tolist()}.")
    return tuple(int(bit) for bit in word)


def word_writes(lanes: Sequence[cirq.Qid], word: Sequence[int | sympy.Expr]) -> list[cirq.Operation]:
    """SPEC section 3 step 1 (and 4): `X` on every in/out lane whose bit is 1.

    A bit may also be a sympy symbol (a bit only known when the circuit runs, as in the
    coherent sequence circuit): its lane gets `X ** symbol`, which is `X` at 1 and the
    identity at 0.
    """
    return [
        cirq.X(lanes[lane]) ** bit if isinstance(bit, sympy.Expr) else cirq.X(lanes[lane])
        for lane, bit in enumerate(word)
        if isinstance(bit, sympy.Expr) or bit
    ]


def cell_blocks(
    config: QRNNConfig, lanes: tuple[cirq.Qid, ...], neuron: Callable[[int], cirq.Circuit]
) -> tuple[cirq.Circuit, cirq.Circuit]:
    """The blocks `(stages, output)` of a cell around `neuron(k)`, the circuit of neuron `k`.

    `stages` is SPEC section 3 steps 2-3 (input stage, work stages), `output` step 5 (the
    output stage); a step is `X(word) + stages + X(word) + output`. Neither block depends
    on the input word.
    """
    W = config.workspace_lanes
    stages = cirq.Circuit()
    for k in range(W):  # step 2: input stage
        stages += neuron(k)
    for stage in range(config.stages):  # step 3: work stages
        stages += cirq.Circuit(
            cirq.ry(sympy.Symbol(config.work_name(stage, w))).on(lanes[config.io_lanes + w]) for w in range(W)
        )
        for k in range(W * (stage + 1), W * (stage + 2)):
            stages += neuron(k)
    output = cirq.Circuit()
    for k in range(config.num_workspace_neurons, config.num_neurons):  # step 5: output stage
        output += neuron(k)
    return stages, output


def assemble_cell(
    config: QRNNConfig,
    lanes: tuple[cirq.Qid, ...],
    word: tuple[int, ...],
    neuron: Callable[[int], cirq.Circuit],
    measure_output: bool,
) -> cirq.Circuit:
    """SPEC section 3 steps 1-5 around `neuron(k)`, the circuit of neuron `k` (any form)."""
    write = cirq.Circuit(word_writes(lanes, word))
    stages, output = cell_blocks(config, lanes, neuron)
    circuit = write + stages + write + output  # steps 1, 2-3, 4 (undo step 1), 5
    if measure_output:
        circuit.append(cirq.measure(*lanes[: config.io_lanes], key=OUTPUT_KEY))
    return circuit


def cell_circuit(
    config: QRNNConfig,
    lanes: Sequence[cirq.Qid],
    ancillas: Sequence[cirq.Qid],
    input_word: Sequence[int] | np.ndarray | None = None,
    *,
    fresh_ancillas: bool = False,
    measure_output: bool = False,
) -> cirq.Circuit:
    """One cell step, SPEC section 3 steps 1-5 (and optionally the measurement of step 7).

    Args:
        config: the cell layout and order.
        lanes: the `n` lane qubits, lane 0 first (in/out lanes, then workspace lanes).
        ancillas: exactly `num_cell_ancillas(config, fresh_ancillas)` qubits; in fresh mode
            neuron `k` uses `ancillas[k * m:(k + 1) * m]` with `m = 2^ord - 1`.
        input_word: `I` bits, lane 0 first; None writes nothing (all bits 0).
        fresh_ancillas: fresh ancillas per postselection and no measurement ops.
        measure_output: append `cirq.measure(*in/out lanes, key="output")`.

    Returns:
        The symbolic circuit; its symbols are exactly `config.symbol_names()`.

    Raises:
        ValueError: wrong number of qubits, or a bad `input_word`.
    """
    lanes = check_qubits("lanes", lanes, config.num_lanes)
    ancillas = check_qubits("ancillas", ancillas, num_cell_ancillas(config, fresh_ancillas))
    check_disjoint(lanes, ancillas)
    word = (0,) * config.io_lanes if input_word is None else check_input_word(config, input_word)
    per_neuron = num_neuron_ancillas(config.order, fresh_ancillas)

    def neuron(k: int) -> cirq.Circuit:
        own = ancillas[k * per_neuron : (k + 1) * per_neuron] if fresh_ancillas else ancillas
        return neuron_circuit(config, k, lanes, own, fresh_ancillas=fresh_ancillas)

    return assemble_cell(config, lanes, word, neuron, measure_output)


def symbols(config: QRNNConfig) -> list[sympy.Symbol]:
    """The cell's sympy symbols in `config.symbol_names()` order (weight order)."""
    return [sympy.Symbol(name) for name in config.symbol_names()]


def _check_array(argument: str, value: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.shape != shape:
        raise ValueError(f"`{argument}` must have shape {shape}, got {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"`{argument}` must be finite, got {array.tolist()}.")
    return array


def resolver_values(
    config: QRNNConfig, theta: np.ndarray, phi: np.ndarray, work_angles: np.ndarray
) -> dict[str, float]:
    """Symbol name -> value for weights `theta (N,)`, `phi (N, K)`, `work_angles (S, W)`.

    The values come out in `config.symbol_names()` order (theta, phi row-major, work).
    """
    N, K, S, W = config.num_neurons, config.num_subsets, config.stages, config.workspace_lanes
    theta = _check_array("theta", theta, (N,))
    phi = _check_array("phi", phi, (N, K))
    work_angles = _check_array("work_angles", work_angles, (S, W))
    values = np.concatenate([theta, phi.ravel(), work_angles.ravel()])
    return dict(zip(config.symbol_names(), (float(v) for v in values)))


def resolver(config: QRNNConfig, theta: np.ndarray, phi: np.ndarray, work_angles: np.ndarray) -> cirq.ParamResolver:
    """A `cirq.ParamResolver` for weights `theta (N,)`, `phi (N, K)`, `work_angles (S, W)`."""
    return cirq.ParamResolver(resolver_values(config, theta, phi, work_angles))

