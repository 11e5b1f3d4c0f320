"""Tests for train/studies/experiments/gradient_norms.py: the split of the loss gradient into
the part through the first steps and the rest, against finite differences, for the QRNN
and a baseline."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import qrnn_tfq
from data.sequences import task_by_name
from qrnn_tfq.baselines import RecurrentBaseline
from qrnn_tfq.layers.words import bits_to_words
from qrnn_tfq.losses import LOSSES
from qrnn_tfq.training import QRNNSequenceModel
from train.studies.experiments.gradient_norms import measure_gradients, segment_runner, split_step

BATCH = task_by_name("dna", length=8, protocol="paper").sample(3, seed=2)  # 7 steps
FRACTION = 0.3  # k = 2


def _models():
    return {
        "qrnn": QRNNSequenceModel(qrnn_tfq.QRNN(
            workspace_lanes=2, io_lanes=3, stages=1, degree=2, theta_stddev=1.0, phi_stddev=1.0, work_stddev=1.0,
            seed=1, dtype="float64",
        )),
        "rnn": RecurrentBaseline("rnn", 3, hidden=3, seed=1, dtype="float64"),
    }


def _split_loss(model, first_weights, loss):
    """L with `first_weights` in steps 1..k and the model's own weights in k+1..T."""
    run, k = segment_runner(model), split_step(BATCH.steps, FRACTION)
    first = {key: getattr(BATCH, key)[:, :k] for key in ("inputs", "targets", "scored")}
    rest = {key: getattr(BATCH, key)[:, k:] for key in ("inputs", "targets", "scored")}
    own = [w.numpy() for w in model.trainable_weights]
    for weight, value in zip(model.trainable_weights, first_weights):
        weight.assign(value)
    early, state = run(first, None)
    for weight, value in zip(model.trainable_weights, own):
        weight.assign(value)
    late, _ = run(rest, state)
    probabilities = tf.concat([early, late], axis=1)
    return float(LOSSES[loss](probabilities, bits_to_words(BATCH.targets, 3), BATCH.scored))


@pytest.mark.parametrize("name, loss", [("qrnn", "paper"), ("rnn", "paper"), ("rnn", "nll")])
def test_early_gradient_matches_finite_differences(name, loss):
    """The early gradient against central differences of the split loss along random
    directions (and along itself, which gives its norm): a wrong vector fails almost surely."""
    model = _models()[name]
    measured = measure_gradients(model, BATCH, loss, FRACTION)
    own = [w.numpy() for w in model.trainable_weights]
    early = np.concatenate([g.ravel() for g in measured.early_gradient])
    rng = np.random.default_rng(0)
    directions = [rng.normal(size=early.size) for _ in range(3)] + [early / np.linalg.norm(early)]
    step = 1e-6
    for direction in directions:
        shifted = []
        for sign in (1, -1):
            flat = np.concatenate([v.ravel() for v in own]) + sign * step * direction
            weights = np.split(flat, np.cumsum([v.size for v in own])[:-1])
            shifted.append(_split_loss(model, [w.reshape(v.shape) for w, v in zip(weights, own, strict=True)], loss))
        np.testing.assert_allclose((shifted[0] - shifted[1]) / (2 * step), early @ direction,
                                   rtol=1e-6, atol=1e-9 * np.linalg.norm(direction) * np.linalg.norm(early))
    assert measured.split_step == 2 and measured.steps == 7
    np.testing.assert_allclose(measured.early_gradient_norm, np.linalg.norm(early), rtol=1e-12)
    assert measured.loss == pytest.approx(_split_loss(model, own, loss), rel=1e-12)


@pytest.mark.parametrize("name", ["qrnn", "rnn"])
def test_total_gradient_is_the_trainers(name):
    model = _models()[name]
    with tf.GradientTape() as tape:
        probabilities = model.probabilities({k: getattr(BATCH, k) for k in ("inputs", "targets", "scored")}, True)
        loss = LOSSES["paper"](probabilities, bits_to_words(BATCH.targets, 3), BATCH.scored)
    expected = float(tf.linalg.global_norm(tape.gradient(loss, model.trainable_weights)))
    measured = measure_gradients(model, BATCH, "paper", FRACTION)
    assert measured.gradient_norm == pytest.approx(expected, rel=1e-9)
    assert measured.loss == pytest.approx(float(loss), rel=1e-12)
    assert measured.early_fraction > 0  # may exceed 1: the early and late parts can partly cancel


def test_no_recurrence_means_no_early_gradient():
    # Without recurrent weights the state after step k cannot reach the only scored (last) step.
    model = RecurrentBaseline("rnn", 3, hidden=3, seed=1, dtype="float64")
    model.recurrent.cell.recurrent_kernel.assign(tf.zeros_like(model.recurrent.cell.recurrent_kernel))
    measured = measure_gradients(model, BATCH, "nll", FRACTION)
    assert measured.early_gradient_norm == 0 and measured.state_gradient_norm == 0
    assert measured.gradient_norm > 0


@pytest.mark.parametrize("steps, fraction, expected", [(2, 0.1, 1), (9, 0.1, 1), (99, 0.1, 9), (999, 0.1, 99), (10, 0.95, 9)])
def test_split_step(steps, fraction, expected):
    assert split_step(steps, fraction) == expected


@pytest.mark.parametrize("arguments, error, match", [
    (dict(steps=1), ValueError, "`steps` must be an int >= 2"),
    (dict(steps=10, fraction=0.0), ValueError, "`fraction` must lie strictly between 0 and 1, got 0.0"),
])
def test_split_step_errors(arguments, error, match):
    with pytest.raises(error, match=match):
        split_step(**arguments)


def test_bad_arguments():
    model = _models()["rnn"]
    with pytest.raises(ValueError, match="`loss` must be one of"):
        measure_gradients(model, BATCH, "mse")
    with pytest.raises(TypeError, match="must be a QRNNSequenceModel or a RecurrentBaseline"):
        measure_gradients(object(), BATCH)
    with pytest.raises(ValueError, match=r"missing \['scored'\]"):
        measure_gradients(model, {"inputs": BATCH.inputs, "targets": BATCH.targets})
