"""Whole-sequence success figures stay right where the product underflows (MNIST: ~1e-1000)."""

import numpy as np
import pytest

from qrnn_tfq.export.success import SuccessEstimate


def test_log10_sequence_success_does_not_underflow():
    steps = 99
    ancilla = np.full((2, steps), 1e-10)
    word = np.ones((2, steps))
    word[1, :50] = 0.5
    estimate = SuccessEstimate(0, word, ancilla, np.zeros((2, steps, 4)), np.zeros((2, steps), bool))
    summary = estimate.summary()
    assert np.prod(ancilla[0]) == 0.0  # what a plain product gives in float64
    assert summary["sequence_success_log10_min"] == pytest.approx(-990 + 50 * np.log10(0.5))
    assert summary["sequence_success_log10_median"] == pytest.approx(-990 + 25 * np.log10(0.5))
    assert summary["shots_per_accepted_sequence_log10_median"] == pytest.approx(990 - 25 * np.log10(0.5))
