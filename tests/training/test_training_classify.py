"""Tests for qrnn_tfq/training/classify.py: the exact joint distribution of the label words
against brute-force teacher-forced runs, and the sampling run's codes."""

from __future__ import annotations

import qrnn_tfq  # noqa: F401  (selects tf-keras before TensorFlow loads)

import numpy as np
import pytest

from qrnn_tfq.training import (
    QRNNSequenceModel,
    codes_of_words,
    label_code_distribution,
    label_steps,
    sampled_label_codes,
)
from qrnn_tfq.training.classify import code_words


def random_batch(size, steps, width, labels, seed):
    rng = np.random.default_rng(seed)
    inputs = rng.integers(0, 2, (size, steps, width)).astype(np.uint8)
    targets = np.zeros_like(inputs)
    targets[:, steps - labels :] = rng.integers(0, 2, (size, labels, width))
    scored = np.zeros((size, steps), bool)
    scored[:, steps - labels :] = True
    return {"inputs": inputs, "targets": targets, "scored": scored}


def word_bits(words, width):
    return ((np.asarray(words)[..., None] >> np.arange(width - 1, -1, -1)) & 1).astype(np.uint8)


@pytest.fixture(scope="module")
def model():
    return QRNNSequenceModel(qrnn_tfq.QRNN(workspace_lanes=3, io_lanes=2, stages=1, degree=2, theta_stddev=0.8, phi_stddev=0.5, seed=4))


def test_code_words_round_trip():
    words = code_words(2, 2)
    assert words.shape == (16, 2)
    assert words[9].tolist() == [2, 1]  # 9 = 10 01
    np.testing.assert_array_equal(codes_of_words(words, 2), np.arange(16))


@pytest.mark.parametrize("labels", [1, 2])
def test_joint_distribution_equals_teacher_forced_runs(model, labels):
    batch = random_batch(3, 6, 2, labels, seed=labels)
    joint = label_code_distribution(model, batch)
    assert joint.shape == (3, 4**labels)
    np.testing.assert_allclose(joint.sum(axis=1), 1.0, atol=1e-5)
    # Brute force: every code as the targets of a full teacher-forced run; p(code) is the
    # product of the probabilities of its words at the label steps.
    for code, words in enumerate(code_words(labels, 2)):
        targets = batch["targets"].copy()
        targets[:, -labels:] = word_bits(words, 2)
        probabilities = model.probabilities({**batch, "targets": targets}).numpy()  # (B, T, 4)
        expected = np.prod([probabilities[:, -labels + k, w] for k, w in enumerate(words)], axis=0)
        np.testing.assert_allclose(joint[:, code], expected, rtol=1e-4, atol=1e-6)


def test_sampled_codes_follow_the_joint_distribution(model):
    batch = random_batch(1, 5, 2, 2, seed=7)
    repeated = {key: np.repeat(value, 4000, axis=0) for key, value in batch.items()}
    codes = sampled_label_codes(model, repeated, (1, 2))
    frequencies = np.bincount(codes, minlength=16) / len(codes)
    exact = label_code_distribution(model, batch)[0]
    # Each frequency of n = 4000 draws is binomial: within 5 standard deviations of its probability
    # (a chance of about 1e-5 for 16 codes), plus the float32 round-off of the distribution.
    bound = 5 * np.sqrt(exact * (1 - exact) / len(codes)) + 1e-5
    assert np.all(np.abs(frequencies - exact) <= bound), (frequencies, exact, bound)
    np.testing.assert_array_equal(codes, sampled_label_codes(model, repeated, (1, 2)))  # seeded


@pytest.mark.parametrize(
    "scored, match",
    [
        (np.zeros((2, 4), bool), r"non-empty suffix"),
        (np.array([[0, 0, 1, 0]], bool), r"non-empty suffix of the steps .*\[0, 0, 1, 0\]"),
        (np.array([[0, 0, 1, 1], [0, 0, 0, 1]], bool), r"same steps in every sequence"),
        (np.zeros((4,), bool), r"shape \(B, T\), got \(4,\)"),
    ],
)
def test_label_steps_checks(scored, match):
    with pytest.raises(ValueError, match=match):
        label_steps(scored)
    assert label_steps(np.array([[0, 1, 1]] * 2, bool)) == 2
