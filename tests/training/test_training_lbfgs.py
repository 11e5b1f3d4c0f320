"""Tests for qrnn_tfq/training/lbfgs.py: full-batch L-BFGS as the optimizer of `SequenceTaskModel.fit`."""

from __future__ import annotations

import qrnn_tfq  # noqa: F401  (selects tf-keras before TensorFlow loads)

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from data.sequences import task_by_name
from qrnn_tfq.layers import bits_to_words
from qrnn_tfq.losses import LOSSES
from qrnn_tfq.training import Lbfgs, QRNNSequenceModel, TrainerConfig

TASK = task_by_name("xor", length=9)
BATCH = TASK.sample(8, seed=(5, 0, 0))
VALIDATION = TASK.sample(8, seed=(5, 1))


@pytest.fixture
def make(training_run):
    def make(folder=None, steps=6, batch=lambda step: BATCH, **config):
        model = QRNNSequenceModel(qrnn_tfq.QRNN(workspace_lanes=2, io_lanes=2, stages=1, degree=2, seed=0))
        config = TrainerConfig(**{"max_steps": steps, "stop_loss": None, "validate_every": 3, "seed": 3, "loss": "nll",
                                  **config})
        return training_run(model, Lbfgs(memory=5), batch, VALIDATION, config, folder=folder)

    return make


def flat(weights):
    return np.concatenate([w.numpy().ravel() for w in weights])


def test_steps_are_tfp_lbfgs_iterations_one_at_a_time_and_resume_continues_exactly(make, assert_resume_is_exact):
    start = flat(make().model.weights_to_train)  # the initial weights (seeded)
    run, result = assert_resume_is_exact(make, steps=4, split=2)  # an uninterrupted run, and one resumed after 2
    model = run.model.adapter
    weights = list(model.trainable_weights)
    # The same minimisation in one call of tfp's L-BFGS, from the same weights.
    sizes = [w.numpy().size for w in weights]
    batch = {"inputs": tf.constant(BATCH.inputs), "targets": tf.constant(BATCH.targets), "scored": tf.constant(BATCH.scored)}
    words = bits_to_words(batch["targets"], 2, "targets")

    scale = run.model.optimizer.scale

    @tf.function  # traced once, not at each of tfp's calls
    def value_and_gradients(position):  # L-BFGS runs on weights / scale
        for weight, part in zip(weights, tf.split(scale * position, sizes), strict=True):
            weight.assign(tf.reshape(part, weight.shape))
        with tf.GradientTape() as tape:
            loss = LOSSES["nll"](model.probabilities(batch, training=True), words, batch["scored"])
        return loss, scale * tf.concat([tf.reshape(g, [-1]) for g in tape.gradient(loss, weights)], 0)

    trained = flat(weights)
    minimize = tf.function(lambda position: tfp.optimizer.lbfgs_minimize(  # a graph: eager tfp is slow
        value_and_gradients, position, max_iterations=4, num_correction_pairs=5))
    reference = minimize(tf.constant(start / scale))
    np.testing.assert_allclose(trained, scale * reference.position.numpy(), rtol=1e-5, atol=1e-6)
    losses = [row.train_loss for row in result.history]
    assert losses[-1] < losses[0]  # it minimises
    assert int(run.model.optimizer.state("num_iterations").numpy()) == 4
    assert 0 < result.min_postselection <= 1


def test_a_changing_batch_and_bad_settings_are_errors(make):
    run = make(batch=lambda step: TASK.sample(8, seed=(5, 0, step)))
    with pytest.raises(ValueError, match=r"L-BFGS needs the same batch at every step; the batch of iteration 2"):
        run.fit()
    with pytest.raises(ValueError, match=r"`memory` must be a positive int, got 0"):
        Lbfgs(memory=0)
    with pytest.raises(ValueError, match=r"A rollback needs a learning rate to lower: .*; Lbfgs has none"):
        make(rollback_factor=2.0).fit()


def test_a_failed_or_stalled_iteration_restarts_from_the_current_weights(make):
    run = make(steps=2)
    run.fit()
    model, optimizer = run.model.adapter, run.model.optimizer
    assert (optimizer.restart_if_stalled(), optimizer.restarts, optimizer.started) == (False, 0, True)
    optimizer.state("converged").assign(1)  # a stop with the gradient above the tolerance: a stall
    assert (optimizer.restart_if_stalled(), optimizer.restarts, optimizer.started) == (True, 1, False)
    optimizer.state("started").assign(1)
    gradient = optimizer.state("objective_gradient")
    kept = gradient.numpy()
    gradient.assign(tf.zeros_like(gradient))  # converged for real: no restart
    assert (optimizer.restart_if_stalled(), optimizer.restarts) == (False, 1)
    gradient.assign(kept)
    optimizer.state("converged").assign(0)
    optimizer.state("failed").assign(1)  # as tfp leaves it after a failed line search
    assert (optimizer.restart_if_stalled(), optimizer.restarts, optimizer.started) == (True, 2, False)
    before = flat(model.trainable_weights)
    run.record = type(run.record)(TrainerConfig(max_steps=3, stop_loss=None, validate_every=3, seed=3, loss="nll"))
    run.fit()  # starts over: evaluates the current weights, then one iteration from there
    assert optimizer.started and int(optimizer.state("num_iterations").numpy()) == 1
    assert not np.array_equal(flat(model.trainable_weights), before)
