"""Tests for rolling a collapsed run back (`TrainerConfig.rollback_factor`, the `Rollback`
callback, `ScaledSchedule`)."""

from __future__ import annotations

import qrnn_tfq  # noqa: F401  (selects tf-keras before TensorFlow loads)

import numpy as np
import pytest
import tensorflow as tf

from data.sequences import task_by_name
from qrnn_tfq.training import (
    BEST_CHECKPOINT,
    LATEST_CHECKPOINT,
    QRNNSequenceModel,
    ScaledSchedule,
    TrainerConfig,
    load_checkpoint,
    make_optimizer,
)

TASK = task_by_name("xor", length=9)
CORRUPT_AT = 12  # after this step the weights are wrecked; the validation at step 15 sees it
RESUME_ATOL = 1e-6  # in-process resumes agree to the last bit; the check allows round-off


def make_run(training_run, folder, max_steps, corrupt=True, **config):
    model = QRNNSequenceModel(qrnn_tfq.QRNN(workspace_lanes=2, io_lanes=2, stages=1, degree=2, seed=0))
    optimizer = make_optimizer("adam", 0.05)
    schedule = ScaledSchedule(tf.keras.optimizers.schedules.CosineDecay(0.05, 100))
    optimizer.learning_rate = schedule
    config = TrainerConfig(**{"max_steps": max_steps, "stop_loss": None, "validate_every": 5, "seed": 3,
                              "loss": "nll", "rollback_factor": 2.0, **config})

    def wreck(record):
        if corrupt and record.step == CORRUPT_AT:
            for weight in model.trainable_weights:  # a collapse: weights far from any good ones
                values = weight.numpy()
                weight.assign(values + 3.0 * np.cos(1.7 * np.arange(values.size)).reshape(values.shape))

    return training_run(model, optimizer, lambda step: TASK.sample(4, seed=(5, 0, step)), TASK.sample(8, seed=(5, 1)),
                        config, folder=folder, on_step=wreck)


def test_a_collapse_is_rolled_back_to_the_best_weights_with_half_the_learning_rate(tmp_path, training_run):
    run = make_run(training_run, tmp_path, 15)
    result = run.fit()
    assert result.rollbacks == (15,)
    assert result.lr_scale == pytest.approx(0.5)
    best = load_checkpoint(tmp_path / BEST_CHECKPOINT)
    assert best.step == result.best_step <= 10
    for weight, saved in zip(run.model.weights_to_train, best.model_weights, strict=True):
        np.testing.assert_array_equal(weight.numpy(), saved)
    # The optimizer state went back too (its step counter included).
    assert int(run.model.optimizer.iterations.numpy()) == best.step


def test_no_rollback_without_a_collapse(tmp_path, training_run):
    result = make_run(training_run, tmp_path, 20, corrupt=False, rollback_factor=50.0).fit()
    assert (result.rollbacks, result.lr_scale) == ((), 1.0)


def test_resume_across_a_rollback_repeats_the_uninterrupted_run(tmp_path, training_run):
    whole = make_run(training_run, tmp_path / "whole", 25)
    expected = whole.fit()
    make_run(training_run, tmp_path / "parts", 10).fit()  # interrupted before the collapse
    second = make_run(training_run, tmp_path / "parts", 25)
    result = second.fit(resume=tmp_path / "parts" / LATEST_CHECKPOINT)  # the rollback reads best.npz
    assert result.rollbacks == expected.rollbacks == (15,)
    assert result.lr_scale == expected.lr_scale
    np.testing.assert_allclose([row.train_loss for row in result.history], [row.train_loss for row in expected.history],
                               rtol=0, atol=RESUME_ATOL)
    for a, b in zip(second.model.weights_to_train, whole.model.weights_to_train, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=RESUME_ATOL)


def test_rollback_settings_are_checked(training_run):
    with pytest.raises(ValueError, match=r"`rollback_factor` must be a finite number > 1 or None, got 1.0"):
        TrainerConfig(rollback_factor=1.0)
    with pytest.raises(ValueError, match=r"`rollback_lr_factor` must be in \(0, 1\], got 0"):
        TrainerConfig(rollback_lr_factor=0)
    model = QRNNSequenceModel(qrnn_tfq.QRNN(workspace_lanes=2, io_lanes=2, stages=1, degree=2, seed=0))
    run = training_run(model, make_optimizer("adam", 0.05), lambda step: TASK.sample(4, seed=(5, 0, step)),
                       TASK.sample(8, seed=(5, 1)), TrainerConfig(max_steps=2, rollback_factor=2.0))
    with pytest.raises(ValueError, match=r"A rollback needs a learning rate to lower: .*; Adam has none"):
        run.fit()


def test_scaled_schedule_scales_and_round_trips():
    schedule = ScaledSchedule(tf.keras.optimizers.schedules.CosineDecay(0.1, 10), scale=0.5)
    assert float(schedule(0)) == pytest.approx(0.05)
    again = ScaledSchedule.from_config(schedule.get_config())
    assert float(again(5)) == pytest.approx(float(schedule(5)))
    assert float(ScaledSchedule(0.2)(3)) == pytest.approx(0.2)
    with pytest.raises(ValueError, match=r"`base` must be a learning rate > 0 or a LearningRateSchedule, got -1"):
        ScaledSchedule(-1)
