"""Tests for early stopping (`TrainerConfig.patience`, the `EarlyStopping` callback)."""

from __future__ import annotations

import qrnn_tfq  # noqa: F401  (selects tf-keras before TensorFlow loads)

import pytest

from data.sequences import task_by_name
from qrnn_tfq.training import QRNNSequenceModel, TrainerConfig, make_optimizer

TASK = task_by_name("xor", length=9)
# A step this small rounds away in float32 (w + 1e-30 g == w for every weight): the weights, and
# so the teacher-forced validation loss, stay exactly as they were; no validation improves on the first.
FROZEN = 1e-30


def make_run(training_run, learning_rate, folder=None, **config):
    model = QRNNSequenceModel(qrnn_tfq.QRNN(workspace_lanes=2, io_lanes=2, stages=1, degree=2, seed=0))
    config = TrainerConfig(**{"max_steps": 40, "stop_loss": None, "validate_every": 2, "seed": 3, **config})
    return training_run(model, make_optimizer("sgd", learning_rate), lambda step: TASK.sample(4, seed=(5, 0, step)),
                        TASK.sample(8, seed=(5, 1)), config, folder=folder)


def test_patience_stops_after_that_many_validations_without_improvement(tmp_path, training_run):
    run = make_run(training_run, FROZEN, tmp_path, patience=3)
    result = run.fit()
    assert result.stopped == "patience"
    validated = [row.step for row in result.history if row.validated]
    assert (result.best_step, validated) == (2, [2, 4, 6, 8])  # the best is the first; three more, then stop
    assert result.steps == 8
    # A resumed (here: refitted) run that has exhausted its patience does not train on.
    again = run.fit()
    assert (again.stopped, again.steps) == ("patience", result.steps)


def test_no_patience_trains_to_the_budget(training_run):
    result = make_run(training_run, FROZEN, max_steps=8).fit()
    assert (result.stopped, result.steps) == ("max_steps", 8)


def test_patience_must_be_positive():
    with pytest.raises(ValueError, match=r"`patience` must be at least 1, got 0"):
        TrainerConfig(patience=0)
