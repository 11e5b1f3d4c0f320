"""Tests for early stopping (`TrainerConfig.patience`) in qrnn_tfq/training/loop.py."""

from __future__ import annotations

import qrnn_tfq  # noqa: F401  (selects tf-keras before TensorFlow loads)

import pytest

from data.sequences import task_by_name
from qrnn_tfq.training import QRNNSequenceModel, Trainer, TrainerConfig, make_optimizer

TASK = task_by_name("xor", length=9)


def make_trainer(learning_rate, folder=None, **config):
    model = QRNNSequenceModel(qrnn_tfq.QRNN(workspace_lanes=2, io_lanes=2, stages=1, degree=2, seed=0))
    config = TrainerConfig(**{"max_steps": 40, "stop_loss": None, "validate_every": 2, "seed": 3, **config})
    return Trainer(model, make_optimizer("sgd", learning_rate), lambda step: TASK.sample(4, seed=(5, 0, step)),
                   TASK.sample(8, seed=(5, 1)), config, checkpoint_dir=folder)


def test_patience_stops_after_that_many_validations_without_improvement(tmp_path):
    # A learning rate this small leaves the validation loss as good as flat, so it improves
    # at most rarely; the run must stop `patience` validations after its best one.
    trainer = make_trainer(1e-9, tmp_path, patience=3)
    result = trainer.fit()
    assert result.stopped == "patience"
    validated = [row.step for row in result.history if row.validated]
    assert validated[-1] == result.steps
    assert sum(step > result.best_step for step in validated) == 3
    # A resumed (here: refitted) run that has exhausted its patience does not train on.
    again = trainer.fit()
    assert (again.stopped, again.steps) == ("patience", result.steps)


def test_no_patience_trains_to_the_budget():
    result = make_trainer(1e-9, max_steps=8).fit()
    assert (result.stopped, result.steps) == ("max_steps", 8)


def test_patience_must_be_positive():
    with pytest.raises(ValueError, match=r"`patience` must be at least 1, got 0"):
        TrainerConfig(patience=0)
