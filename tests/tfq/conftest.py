"""Shared reference for the TFQ tests: the engine's noisy circuits simulated by cirq."""

from __future__ import annotations

import cirq
import numpy as np
import pytest

from qrnn_tfq.circuits import resolver_values
from qrnn_tfq.circuits.coherent import sequence_resolver


def density_matrix_probabilities(engine, config, weights, input_words, read_steps):
    """`p_t(w)` (B, R, 2^I) of the circuits `engine` simulates (its noise channels
    included), from `cirq.DensityMatrixSimulator`: the exact noisy distributions that
    TFQ's trajectories and shots estimate.

    Args:
        engine: a `TFQEngine` (its `readout_circuit` gives the circuits).
        weights: (theta, phi, work_angles) as arrays.
        input_words: (B, T) word indices.
        read_steps: the steps to read out.
    """
    values = resolver_values(config, *(np.asarray(w, np.float64) for w in weights))
    simulator = cirq.DensityMatrixSimulator(dtype=np.complex128)
    lanes = cirq.LineQubit.range(config.num_lanes)  # the engine's lanes, lane 0 first
    words = np.asarray(input_words)
    circuits = [engine.readout_circuit(config, words.shape[1], int(t)) for t in read_steps]
    out = np.zeros((words.shape[0], len(circuits), config.num_words))
    for b, sequence in enumerate(words):
        resolver = sequence_resolver(config, values, sequence)
        for r, circuit in enumerate(circuits):
            rho = simulator.simulate(circuit, resolver, qubit_order=lanes).final_density_matrix
            out[b, r] = np.real(np.diag(rho)).reshape(config.num_words, -1).sum(axis=1)
    return out


@pytest.fixture(name="density_matrix_probabilities")
def density_matrix_probabilities_fixture():
    return density_matrix_probabilities
