"""Tests for a run of the paper's protocol through `model.fit` (callbacks.py, run_files.py,
fit_data.py) and models.py: the QRNN and a classical stand-in, validation, stopping,
checkpoints and exact resumption."""

from __future__ import annotations

import dataclasses

import qrnn_tfq  # noqa: F401  (selects tf-keras before TensorFlow loads)

import numpy as np
import pytest
import tensorflow as tf

from data.sequences import task_by_name
from qrnn_tfq.training import (
    BEST_CHECKPOINT,
    LATEST_CHECKPOINT,
    QRNNSequenceModel,
    RunRecord,
    SequenceModel,
    SequenceTaskModel,
    TrainerConfig,
    load_checkpoint,
    make_optimizer,
)
from qrnn_tfq.training.run_files import ResumeRun

TASK = task_by_name("xor", length=9)  # 8 steps, 2 of them scored
STEPS = 10  # interrupt after STEPS, resume to 2 * STEPS


def sample_batch(step):
    return TASK.sample(4, seed=(5, 0, step))


VALIDATION = TASK.sample(8, seed=(5, 1))


class SoftmaxBaseline:
    """A classical stand-in for `SequenceModel`: a softmax over words of each input word alone."""

    def __init__(self, seed=0):
        self.dense = tf.keras.layers.Dense(4, kernel_initializer=tf.keras.initializers.GlorotUniform(seed))
        self.dense.build((None, None, 2))

    @property
    def trainable_weights(self):
        return self.dense.trainable_weights

    def probabilities(self, batch, training):
        return tf.nn.softmax(self.dense(tf.cast(batch["inputs"], tf.float32)))


def tiny_qrnn(seed):
    return QRNNSequenceModel(qrnn_tfq.QRNN(workspace_lanes=2, io_lanes=2, stages=1, degree=2, order=2, seed=seed))


def make_run(run_class, model, max_steps, folder=None, **config):
    config = TrainerConfig(**{"max_steps": max_steps, "stop_loss": None, "validate_every": 5, "seed": 3, **config})
    return run_class(model, make_optimizer("adam", 0.05), sample_batch, VALIDATION, config, folder=folder)


# ---- configuration and the model protocol -----------------------------------------------------


@pytest.mark.parametrize(
    "field, value, error, match",
    [
        ("max_steps", -1, ValueError, r"`max_steps` must be at least 0, got -1"),
        ("max_steps", 2.0, TypeError, r"`max_steps` must be an int, got 2.0"),
        ("validate_every", 0, ValueError, r"`validate_every` must be at least 1, got 0"),
        ("loss", "mse", ValueError, r"`loss` must be one of \['nll', 'paper'\], got 'mse'"),
        ("validation", "fresh", ValueError, r"`validation` must be one of \['teacher', 'sampled'\], got 'fresh'"),
        ("stop_loss", float("inf"), ValueError, r"`stop_loss` must be a finite number or None, got inf"),
    ],
)
def test_config_checks(field, value, error, match):
    with pytest.raises(error, match=match):
        TrainerConfig(**{field: value})


def test_model_checks():
    with pytest.raises(TypeError, match="`network` must be a qrnn_tfq.QRNN or a SequenceModel"):
        SequenceTaskModel(object())
    with pytest.raises(ValueError, match="`validation='sampled'` needs a model with `measure`"):
        SequenceTaskModel(SoftmaxBaseline(), validation="sampled")
    with pytest.raises(TypeError, match="`layer` must be a qrnn_tfq.QRNN"):
        QRNNSequenceModel(tf.keras.layers.Dense(2))
    with pytest.raises(TypeError, match="`config` must be a TrainerConfig, got dict"):
        RunRecord({"max_steps": 3})


def test_classical_model_plugs_in(training_run):
    model = SoftmaxBaseline()
    assert isinstance(model, SequenceModel)
    seen = []
    run = training_run(model, make_optimizer("sgd", 0.5), sample_batch, VALIDATION,
                       TrainerConfig(max_steps=12, stop_loss=None, validate_every=5, loss="nll"), on_step=seen.append)
    result = run.fit()
    assert [row.step for row in seen] == list(range(1, 13))
    assert [row.step for row in result.history if row.validated] == [5, 10, 12]  # and after the last step
    assert result.stopped == "max_steps" and result.steps == 12 and result.steps_to_target is None
    last = result.last_validation
    assert 0 <= last.validation_argmax_accuracy <= 1 and 0 <= last.validation_sampled_accuracy <= 1
    assert 0 < result.min_postselection == min(row.train_min_postselection for row in seen) <= 1


def test_stop_loss_and_target_loss(training_run):
    run = training_run(SoftmaxBaseline(), make_optimizer("sgd", 0.1), sample_batch, VALIDATION,
                       TrainerConfig(max_steps=50, stop_loss=10.0, validate_every=5))
    result = run.fit()
    assert (result.stopped, result.steps, result.steps_to_target) == ("stop_loss", 5, 5)
    assert run.fit().steps == 5  # already there: nothing more to do
    run = training_run(SoftmaxBaseline(), make_optimizer("sgd", 0.1), sample_batch, VALIDATION,
                       TrainerConfig(max_steps=12, stop_loss=None, target_loss=10.0, validate_every=5))
    result = run.fit()
    assert (result.stopped, result.steps, result.steps_to_target, result.target_loss) == ("max_steps", 12, 5, 10.0)


# ---- the QRNN: learning, checkpoints, resumption ------------------------------------------------


@pytest.fixture(scope="module")
def runs(tmp_path_factory, training_run):
    """An uninterrupted 2N-step run, an N-step run that is interrupted, and its resumption
    in a fresh model and optimizer (initialised differently, so the restore must do it all)."""
    folder = tmp_path_factory.mktemp("runs")
    whole = make_run(training_run, tiny_qrnn(seed=11), 2 * STEPS)
    before = whole.validate()
    whole_result = whole.fit()
    first = make_run(training_run, tiny_qrnn(seed=11), STEPS, folder / "first")
    first_result = first.fit()
    resumed = make_run(training_run, tiny_qrnn(seed=99), 2 * STEPS, folder / "first")
    resumed_result = resumed.fit(resume=folder / "first" / LATEST_CHECKPOINT)
    return dict(whole=whole, before=before, whole_result=whole_result, first=first, first_result=first_result,
                resumed=resumed, resumed_result=resumed_result, folder=folder / "first")


def test_a_few_steps_reduce_the_loss(runs):
    after = runs["whole_result"].last_validation
    assert after.validation_loss < 0.9 * runs["before"]["loss"]
    assert runs["whole_result"].history[-1].train_loss < runs["whole_result"].history[0].train_loss


def test_checkpoint_holds_the_weights_and_optimizer_state(runs):
    first, folder = runs["first"], runs["folder"]
    assert (folder / BEST_CHECKPOINT).exists()
    checkpoint = load_checkpoint(folder / LATEST_CHECKPOINT)
    # `folder` now holds the resumed run's final state; compare with that run.
    resumed = runs["resumed"]
    assert checkpoint.step == resumed.step == 2 * STEPS
    for array, variable in zip(checkpoint.model_weights, resumed.model.weights_to_train, strict=True):
        np.testing.assert_array_equal(array, variable.numpy())
    for array, variable in zip(checkpoint.optimizer_variables, resumed.model.optimizer.variables, strict=True):
        np.testing.assert_array_equal(array, variable.numpy())
    assert int(checkpoint.optimizer_variables[0]) == 2 * STEPS  # the optimizer's iteration count
    assert checkpoint.config["trainer"]["max_steps"] == 2 * STEPS
    assert len(checkpoint.history["step"]) == 2 * STEPS
    assert first.step == STEPS


def test_resumed_run_continues_exactly(runs):
    whole, resumed = runs["whole"], runs["resumed"]
    for a, b in zip(whole.model.weights_to_train, resumed.model.weights_to_train, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6, rtol=0)
    for a, b in zip(whole.model.optimizer.variables, resumed.model.optimizer.variables, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6, rtol=0)
    whole_rows, resumed_rows = runs["whole_result"].history, runs["resumed_result"].history
    np.testing.assert_allclose([r.train_loss for r in whole_rows], [r.train_loss for r in resumed_rows], atol=1e-6)
    last_whole, last_resumed = whole_rows[-1], resumed_rows[-1]
    assert last_whole.validation_loss == pytest.approx(last_resumed.validation_loss, abs=1e-6)
    # Sampled with the same seed from weights equal to 1e-6: a sample at a probability that close
    # to a draw's threshold may differ, so one scored step of the validation batch may count differently.
    scored = int(VALIDATION.scored.sum())
    assert abs(last_whole.validation_sampled_accuracy - last_resumed.validation_sampled_accuracy) <= 1 / scored + 1e-9


def test_resume_refuses_a_mismatched_checkpoint(runs, training_run):
    path = runs["folder"] / LATEST_CHECKPOINT
    other = make_run(training_run, QRNNSequenceModel(qrnn_tfq.QRNN(workspace_lanes=3, io_lanes=2, stages=1, degree=2,
                                                                     seed=0)), 5)
    with pytest.raises(ValueError, match=r"does not match: model weights 0 \(.*theta.*\) has shape \(6,\) in the checkpoint and \(8,\) in the run"):
        other.fit(resume=path)
    assert other.step == 0
    other = make_run(training_run, tiny_qrnn(seed=0), 5, loss="nll")
    with pytest.raises(ValueError, match=r"does not match: its trainer settings differ .*'loss': \('paper', 'nll'\)"):
        ResumeRun(path, other.record)
    assert other.step == 0


def test_history_survives_the_round_trip(runs):
    first_rows = runs["first_result"].history
    resumed_rows = runs["resumed_result"].history[:STEPS]
    assert [dataclasses.asdict(r) for r in first_rows] == [dataclasses.asdict(r) for r in resumed_rows]
