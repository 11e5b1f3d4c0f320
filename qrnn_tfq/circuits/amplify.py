"""Neurons and cells whose postselection is replaced by fixed-point amplification (SPEC 2, 8).

A neuron of order `ord >= 1` in its fresh-ancilla form is a unitary `U` on the lanes and
`m = 2^ord - 1` ancillas; it succeeds when every ancilla reads 0. The amplified neuron is

    U, then per round j = 1..l:  S_t(beta_j), U^dagger, S_0(alpha_j), U

with `S_t(beta)` the phase `e^{i beta}` and `S_0(alpha)` the phase `e^{-i alpha}` on the
ancillas' `|0...0>` (so `U S_0 U^dagger` reflects about the start state `U |0>|psi>`), and
then a measurement of the ancillas tagged `PostselectTag` (success: all 0). The ancillas
are back in |0> after a success, so one set of `m` serves every neuron of a cell. The
phases are numbers (`qrnn_tfq.amplification`), the neuron's weights stay symbols.
"""

from __future__ import annotations

from collections.abc import Sequence

import cirq
import numpy as np

from qrnn_tfq.amplification import FixedPointSchedule
from qrnn_tfq.circuits.cell import assemble_cell, check_input_word
from qrnn_tfq.circuits.neuron import PostselectTag, check_disjoint, check_qubits, neuron_circuit
from qrnn_tfq.config import QRNNConfig


def num_amplified_ancillas(config: QRNNConfig) -> int:
    """Ancillas of an amplified neuron or cell: `2^ord - 1`, reused by every neuron."""
    if config.order < 1:
        raise ValueError(f"Amplification needs neurons of order >= 1 (order 0 has nothing to postselect), got order {config.order}.")
    return 2**config.order - 1


def success_key(config: QRNNConfig, neuron: int) -> str:
    """Key of the measurement that checks neuron `neuron`'s success, e.g. `success_n003`."""
    return f"success_n{neuron:0{max(3, len(str(config.num_neurons - 1)))}d}"


def zero_phase(ancillas: Sequence[cirq.Qid], phase: float) -> list[cirq.Operation]:
    """Multiply the ancillas' `|0...0>` by `e^{i phase}` (every other basis state unchanged)."""
    flips = [cirq.X(q) for q in ancillas]
    exponent = phase / np.pi
    *controls, last = ancillas
    phase = cirq.ZPowGate(exponent=exponent).on(last)
    # An explicit ControlledOperation: `controlled_by` would turn two controls into a
    # CCZPowGate, which TFQ cannot serialize.
    return [*flips, cirq.ControlledOperation(controls, phase) if controls else phase, *flips]


def amplified_neuron_circuit(
    config: QRNNConfig,
    neuron: int,
    lanes: Sequence[cirq.Qid],
    ancillas: Sequence[cirq.Qid],
    schedule: FixedPointSchedule,
    *,
    measure_success: bool = True,
) -> cirq.Circuit:
    """Neuron `neuron` with `schedule.rounds` rounds of fixed-point amplification.

    Args:
        config: the cell layout (order >= 1).
        neuron: neuron index, 0 .. N-1.
        lanes: the `n` lane qubits, lane 0 first.
        ancillas: `num_amplified_ancillas(config)` qubits, disjoint from `lanes`, in |0>.
        schedule: the phases (`qrnn_tfq.amplification.fixed_point_schedule`).
        measure_success: end with the ancillas' measurement tagged `PostselectTag`; False
            leaves the circuit unitary (for TFQ, unitaries and projecting afterwards).

    Returns:
        The symbolic circuit. On every source branch `x` its success branch maps the
        target by `h(lambda(x)) [[c, -s], [s, c]]` (`qrnn_tfq.amplification.amplified_gain`).
    """
    if not isinstance(schedule, FixedPointSchedule):
        raise TypeError(f"`schedule` must be a FixedPointSchedule, got {schedule!r}.")
    ancillas = check_qubits("ancillas", ancillas, num_amplified_ancillas(config))
    lanes = check_qubits("lanes", lanes, config.num_lanes)
    check_disjoint(lanes, ancillas)
    forward = neuron_circuit(config, neuron, lanes, ancillas, fresh_ancillas=True)
    backward = cirq.inverse(forward)
    circuit = cirq.Circuit(forward)
    for alpha, beta in zip(schedule.alphas, schedule.betas):
        circuit += zero_phase(ancillas, beta)  # S_t(beta): success is every ancilla in 0
        circuit += backward
        circuit += zero_phase(ancillas, -alpha)  # S_0(alpha) = I - (1 - e^{-i alpha}) |0><0|
        circuit += forward
    if measure_success:
        circuit.append(cirq.measure(*ancillas, key=success_key(config, neuron)).with_tags(PostselectTag()))
    return circuit


def amplified_cell_circuit(
    config: QRNNConfig,
    lanes: Sequence[cirq.Qid],
    ancillas: Sequence[cirq.Qid],
    input_word: Sequence[int] | np.ndarray | None = None,
    *,
    schedule: FixedPointSchedule,
    measure_output: bool = False,
) -> cirq.Circuit:
    """One cell step (SPEC section 3 steps 1-5) with every neuron amplified.

    Args and the returned circuit are those of `qrnn_tfq.circuits.cell_circuit`, with
    `num_amplified_ancillas(config)` ancillas shared by the neurons and the `schedule`.
    """
    lanes = check_qubits("lanes", lanes, config.num_lanes)
    ancillas = check_qubits("ancillas", ancillas, num_amplified_ancillas(config))
    check_disjoint(lanes, ancillas)
    word = (0,) * config.io_lanes if input_word is None else check_input_word(config, input_word)

    def neuron(k: int) -> cirq.Circuit:
        return amplified_neuron_circuit(config, k, lanes, ancillas, schedule)

    return assemble_cell(config, lanes, word, neuron, measure_output)
