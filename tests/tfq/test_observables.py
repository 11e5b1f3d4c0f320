"""The word projectors and Z strings of the in/out lanes (SPEC section 3, step 6)."""

from __future__ import annotations

import cirq
import numpy as np
import pytest

from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.tfq.observables import projector_signs, word_projectors, z_strings


@pytest.mark.parametrize("io", [1, 2, 3])
def test_projectors_are_the_word_projectors_and_the_z_string_combination(io):
    config = QRNNConfig(2, io, order=0, recurrence="coherent", degree=1)
    lanes = cirq.LineQubit.range(config.num_lanes)
    projectors = word_projectors(config, lanes)
    strings = [np.eye(2**config.num_lanes)] + [s.matrix(lanes) for s in z_strings(config, lanes)]
    signs = projector_signs(config)
    for word, projector in enumerate(projectors):
        # |w><w| on the in/out lanes (lane 0 the word's most significant bit), identity on the workspace.
        basis = np.zeros(config.num_words)
        basis[word] = 1
        expected = np.kron(np.outer(basis, basis), np.eye(2**config.workspace_lanes))
        np.testing.assert_allclose(projector.matrix(lanes), expected, atol=1e-12)
        combined = sum(sign * matrix for sign, matrix in zip(signs[word], strings))
        np.testing.assert_allclose(combined / config.num_words, expected, atol=1e-12)
    np.testing.assert_allclose(signs @ signs, config.num_words * np.eye(config.num_words))


def test_lanes_are_checked():
    config = QRNNConfig(2, 1, order=0, recurrence="coherent")
    with pytest.raises(ValueError, match="`lanes` must hold 3 qubits, got 2"):
        word_projectors(config, cirq.LineQubit.range(2))
