"""The coherent QRNN as Cirq circuits: a whole sequence is one unitary circuit (SPEC section 8).

Neurons of order 0 (the uniformly controlled `ry(2 eta(x))` of `neuron_circuit(order=0)`),
no ancilla, no measurement. Step `t` is SPEC section 3 steps 1-4 with the input bits as
symbols (`X ** x_t_i` on in/out lane `i`); after it the in/out lanes are back in |0>
exactly. The output stage (step 5) is only read out: the readout circuit of step `t` is the
prefix of steps `0..t` followed by one output stage, and `p_t(w)` is the probability of
word `w` on the in/out lanes at its end. These are the circuits the TFQ engine
(`qrnn_tfq.tfq`) simulates and the ones to export; every block comes from
`qrnn_tfq.circuits.cell.cell_blocks` with `neuron_circuit`, as in the postselected cell.

Symbols: the weights' names (`QRNNConfig.symbol_names`, all starting with `phi_`,
`theta_` or `work_`), then the input bits `x_<step>_<lane>`, zero-padded, step-major,
which sort after every weight name (TFQ's `PQC` sorts symbols by name).
"""

from __future__ import annotations

from collections.abc import Sequence

import cirq
import numpy as np
import sympy

from qrnn_tfq.circuits.cell import cell_blocks, word_writes
from qrnn_tfq.circuits.neuron import check_qubits, neuron_circuit
from qrnn_tfq.config import QRNNConfig


def check_coherent(config: QRNNConfig) -> QRNNConfig:
    """Returns `config` if its recurrence is "coherent", else raises ValueError naming it."""
    if not isinstance(config, QRNNConfig):
        raise TypeError(f"`config` must be a QRNNConfig, got {config!r}.")
    if config.recurrence != "coherent":
        raise ValueError(
            "Coherent circuits need a config with recurrence='coherent' (SPEC section 8: order-0 neurons, "
            f"no measurement), got recurrence={config.recurrence!r}, order={config.order}."
        )
    return config


def _check_steps(steps: int) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"`steps` must be an int >= 1 (the sequence length), got {steps!r}.")
    return int(steps)


def input_symbol_name(config: QRNNConfig, steps: int, step: int, lane: int) -> str:
    """Name of the input bit of in/out lane `lane` at step `step` of a `steps`-step sequence.

    Example: `x_004_1`. The step's width is that of `steps - 1` (at least 3 digits), so
    that a sort by name keeps the step order.
    """
    steps = _check_steps(steps)
    if not 0 <= step < steps:
        raise ValueError(f"`step` must be between 0 and {steps - 1}, got {step}.")
    if not 0 <= lane < config.io_lanes:
        raise ValueError(f"`lane` must be between 0 and {config.io_lanes - 1}, got {lane}.")
    width = max(3, len(str(steps - 1)))
    return f"x_{step:0{width}d}_{lane:0{max(1, len(str(config.io_lanes - 1)))}d}"


def input_symbol_names(config: QRNNConfig, steps: int) -> list[str]:
    """The input bits' names, step-major then lane order: `(T * I,)`."""
    return [input_symbol_name(config, steps, t, i) for t in range(_check_steps(steps)) for i in range(config.io_lanes)]


def coherent_symbol_names(config: QRNNConfig, steps: int) -> list[str]:
    """Every symbol of the `steps`-step circuits: the weights' names, then the input bits'."""
    return config.symbol_names() + input_symbol_names(config, steps)


def coherent_blocks(config: QRNNConfig, lanes: Sequence[cirq.Qid]) -> tuple[cirq.Circuit, cirq.Circuit]:
    """`(stages, output)` of the coherent cell: `cell_blocks` with order-0 neurons."""
    check_coherent(config)
    lanes = check_qubits("lanes", lanes, config.num_lanes)
    return cell_blocks(config, lanes, lambda k: neuron_circuit(config, k, lanes, (), order=0))


def step_writes(config: QRNNConfig, lanes: Sequence[cirq.Qid], steps: int, step: int) -> cirq.Circuit:
    """`X ** x_<step>_<i>` on every in/out lane `i`: writes (or undoes) the step's input word."""
    symbols = [sympy.Symbol(input_symbol_name(config, steps, step, i)) for i in range(config.io_lanes)]
    return cirq.Circuit(word_writes(lanes, symbols))


def coherent_sequence_circuit(config: QRNNConfig, lanes: Sequence[cirq.Qid], steps: int) -> cirq.Circuit:
    """SPEC section 3 steps 1-4 for `steps` steps, the input bits as symbols (no output stage).

    Args:
        config: a coherent config (`recurrence="coherent"`).
        lanes: the `n = I + W` lane qubits, lane 0 first.
        steps: the sequence length `T`.

    Returns:
        The symbolic unitary circuit; its symbols are `coherent_symbol_names(config, steps)`
        (the weights, then `x_<t>_<i>`). From |0...0> it leaves the in/out lanes in |0>
        and the workspace in the state the coherent recurrence carries after step `T - 1`.
    """
    steps = _check_steps(steps)
    stages, _ = coherent_blocks(config, lanes)
    circuit = cirq.Circuit()
    for t in range(steps):
        write = step_writes(config, lanes, steps, t)
        circuit += write + stages + write
    return circuit


def coherent_readout_circuits(
    config: QRNNConfig, lanes: Sequence[cirq.Qid], steps: int, readout_steps: Sequence[int] | None = None
) -> list[cirq.Circuit]:
    """The readout circuit of each step `t` in `readout_steps` (default all `0..T-1`).

    Readout `t` = steps `0..t` of `coherent_sequence_circuit(config, lanes, steps)` (the
    same symbol names), then the output stage; `p_t(w)` is the probability of word `w` on
    the in/out lanes at its end (`qrnn_tfq.tfq.word_projectors`).

    Raises:
        ValueError: a readout step outside `0..T-1`.
    """
    steps = _check_steps(steps)
    readout_steps = range(steps) if readout_steps is None else [int(t) for t in readout_steps]
    bad = [t for t in readout_steps if not 0 <= t < steps]
    if bad:
        raise ValueError(f"`readout_steps` must lie in 0..{steps - 1}, got {bad}.")
    stages, output = coherent_blocks(config, lanes)
    wanted = set(readout_steps)
    prefix, readouts = cirq.Circuit(), {}
    for t in range(max(wanted, default=-1) + 1):
        write = step_writes(config, lanes, steps, t)
        prefix += write + stages + write
        if t in wanted:
            readouts[t] = prefix + output
    return [readouts[t] for t in readout_steps]


def split_controlled_rotations(circuit: cirq.Circuit) -> cirq.Circuit:
    """`circuit` with every controlled symbolic `ry(a)` written with two-eigenvalue gates.

    A rotation controlled by lanes `C` becomes `C-X`, `ry(-a/2)`, `C-X`, `ry(a/2)` on the
    target (the same unitary: with every control 1 the two halves add up to `ry(a)`, else
    they cancel). Parameter-shift gradients need gates with two eigenvalues; a controlled
    rotation has three, and TensorFlow Quantum's own decomposition gets the rotations with
    two or more controls wrong. Other operations are kept as they are.
    """
    ops: list[cirq.Operation] = []
    for op in circuit.all_operations():
        inner = getattr(op, "sub_operation", None)
        if isinstance(op, cirq.ControlledOperation) and isinstance(inner.gate, cirq.Ry) and cirq.is_parameterized(inner.gate):
            (target,) = inner.qubits
            # A ControlledOperation as such: `controlled_by` would make it a TOFFOLI, which TFQ cannot read.
            flip = cirq.ControlledOperation(op.controls, cirq.X(target), op.control_values)
            angle = inner.gate.exponent * sympy.pi  # ry(a) has exponent a / pi
            ops += [flip, cirq.ry(-0.5 * angle).on(target), flip, cirq.ry(0.5 * angle).on(target)]
        else:
            ops.append(op)
    return cirq.Circuit(ops)


def input_values(config: QRNNConfig, input_words: Sequence[int] | np.ndarray) -> np.ndarray:
    """The input bits' values for word indices `(..., T)`: `(..., T * I)`, in
    `input_symbol_names` order (lane 0 is the word's most significant bit)."""
    words = np.asarray(input_words)
    if not np.issubdtype(words.dtype, np.integer) or np.any((words < 0) | (words >= config.num_words)):
        raise ValueError(f"`input_words` must be word indices in 0..{config.num_words - 1}, got {words.tolist()}.")
    shifts = np.arange(config.io_lanes - 1, -1, -1)
    bits = (words[..., None] >> shifts) & 1  # (..., T, I)
    return bits.reshape(*words.shape[:-1], -1).astype(np.float64)


def sequence_resolver(
    config: QRNNConfig, weights: dict[str, float], input_words: Sequence[int] | np.ndarray
) -> cirq.ParamResolver:
    """A resolver of the `T`-step circuits for one sequence: `weights` (name -> value, as
    `qrnn_tfq.circuits.resolver_values` gives) and the bits of `input_words` (T,)."""
    words = np.asarray(input_words)
    if words.ndim != 1:
        raise ValueError(f"`input_words` must be one sequence of shape (T,), got shape {words.shape}.")
    names = input_symbol_names(config, words.shape[0])
    return cirq.ParamResolver({**weights, **dict(zip(names, input_values(config, words).tolist()))})
