"""The word probabilities `p(w)` of the in/out lanes as Pauli observables (SPEC section 3, step 6).

The projector on word `w` (lane 0 its most significant bit) is

    |w><w| = prod_i (1 + (-1)^{w_i} Z_i) / 2 = 2^-I sum_S (-1)^{|w & S|} Z_S,

a sum over every subset `S` of the in/out lanes of the Z string `Z_S` (`Z_{}` = 1).
`word_projectors` gives these Pauli sums. The TFQ engine measures the `2^I - 1` strings
`Z_S` (`z_strings`) once per circuit and forms every `p(w)` with the fixed signs of
`projector_signs`: the same numbers as the projectors' expectations, from `2^I - 1`
observables instead of `2^I` of `2^I` terms each, and with a finite number of shots the
estimated `p` sums to 1 exactly (each projector estimated on its own would not).

This module builds Cirq objects only; it imports no TensorFlow itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import cirq
import numpy as np

from qrnn_tfq.circuits.neuron import check_qubits
from qrnn_tfq.config import QRNNConfig


def _subset_lanes(config: QRNNConfig, subset: int) -> list[int]:
    """The in/out lanes of subset `subset` (a bit mask over the word, lane 0 the MSB)."""
    return [i for i in range(config.io_lanes) if subset >> (config.io_lanes - 1 - i) & 1]


def word_projectors(config: QRNNConfig, lanes: Sequence[cirq.Qid]) -> list[cirq.PauliSum]:
    """`|w><w|` on the in/out lanes for every word `w = 0 .. 2^I - 1`, as Pauli sums.

    Args:
        config: the layout (its `io_lanes`).
        lanes: the `n = I + W` lane qubits, lane 0 first.
    """
    lanes = check_qubits("lanes", lanes, config.num_lanes)
    projectors = []
    for word in range(config.num_words):
        projector = cirq.PauliSum.from_pauli_strings([cirq.PauliString()])
        for i in range(config.io_lanes):
            sign = -1.0 if word >> (config.io_lanes - 1 - i) & 1 else 1.0
            projector *= 0.5 * cirq.PauliString() + 0.5 * sign * cirq.Z(lanes[i])
        projectors.append(projector)
    return projectors


def z_strings(config: QRNNConfig, lanes: Sequence[cirq.Qid]) -> list[cirq.PauliSum]:
    """`Z_S` for every non-empty subset `S` of the in/out lanes, `S = 1 .. 2^I - 1` (a bit
    mask, lane 0 the MSB), each as a one-term Pauli sum."""
    lanes = check_qubits("lanes", lanes, config.num_lanes)
    strings = []
    for subset in range(1, config.num_words):
        string = cirq.PauliString({lanes[i]: cirq.Z for i in _subset_lanes(config, subset)})
        strings.append(cirq.PauliSum.from_pauli_strings([string]))
    return strings


def projector_signs(config: QRNNConfig) -> np.ndarray:
    """`(2^I, 2^I)` signs `(-1)^{|w & S|}`: `p = 2^-I signs @ [1, <Z_1>, ..., <Z_{2^I-1}>]`."""
    words = np.arange(config.num_words)
    overlap = words[:, None] & words[None, :]
    parity = np.array([bin(int(v)).count("1") % 2 for v in overlap.ravel()]).reshape(overlap.shape)
    return 1.0 - 2.0 * parity
