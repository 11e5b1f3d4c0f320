"""The start of the MNIST recipe (issue 21): `--warm-start N` (N steps of minibatch L-BFGS in
the member's warm-start/ folder, then the optimizer from its best weights) and `--lr-warmup N`
(the learning rate rising linearly to --lr, then the cosine)."""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest
import tensorflow as tf

from qrnn_tfq.training import BEST_CHECKPOINT, LATEST_CHECKPOINT, load_checkpoint
from train import mnist
from train.core import runs, warm_start

TINY = ["--quick", "--workspace-lanes", "2", "--stages", "1", "--degree", "1", "--no-progress",
        "--max-steps", "2", "--validate-every", "2", "--test-size", "32"]


def parse(*argv: str):
    return mnist.parse(mnist.make_parser(), list(argv))


def test_the_default_recipe_warm_starts_with_twenty_lbfgs_steps():
    run = parse()
    assert (run.warm_start, run.warm_start_lr, run.lr_warmup, run.lr_decay_steps) == (20, 0.1, 300, 1200)
    warm = warm_start.warm_start_run(run)
    assert (warm.optimizer, warm.lr, warm.max_steps, warm.validate_every) == ("lbfgs-minibatch", 0.1, 20, 5)
    assert warm.lbfgs_keep_best and not warm.lbfgs_line_search and warm.lbfgs_iterations == 20
    assert (warm.lr_decay_steps, warm.rollback, warm.patience, warm.clip_norm, warm.warm_start) == (None,) * 5
    assert warm_start.warm_start_run(parse("--warm-start", "0")) is None
    assert parse("--warm-start", "0").warm_start_lr is None  # off: not stored as a setting


@pytest.mark.parametrize("argv, message", [
    (["--optimizer", "lbfgs-minibatch", "--warm-start", "5"], "--warm-start and --lr-warmup start a first-order"),
    (["--init-from", "runs/x", "--warm-start", "5"], "--warm-start and --init-from both choose"),
    (["--lr-warmup", "10", "--lr-decay-steps", "0"], "`lr_warmup` \\(10\\) rises to the cosine schedule"),
])
def test_combinations_that_cannot_run_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit):
        parse(*argv)
    assert re.search(message, capsys.readouterr().err)


def test_lr_warmup_rises_linearly_then_decays():
    run = parse("--lr", "0.01", "--lr-warmup", "10", "--lr-decay-steps", "100")
    schedule = runs.learning_rate_schedule(run)
    rates = [float(schedule(tf.constant(step))) for step in (0, 5, 10, 60, 110, 500)]
    np.testing.assert_allclose(rates[:3], [0.0, 0.005, 0.01], rtol=1e-6)
    np.testing.assert_allclose(rates[3], 0.01 * (0.05 + 0.95 * 0.5), rtol=1e-5)  # half way through the cosine
    np.testing.assert_allclose(rates[4:], [0.0005, 0.0005], rtol=1e-5)  # the floor, 5 %


class WeightsAtStart(tf.keras.callbacks.Callback):
    """The model's weights when the run's own training begins (after the warm start)."""

    def on_train_begin(self, logs=None):
        self.weights = [w.numpy() for w in self.model.weights_to_train]


def test_a_warm_started_run_starts_from_the_warm_start_best_weights(tmp_path, capsys):
    out, seen = tmp_path / "run", WeightsAtStart()
    summary = mnist.main([*TINY, "--warm-start", "3", "--out", str(out)], callbacks=[seen])
    assert "warm-start/, checkpoints latest.npz and best.npz" in capsys.readouterr().out  # says where it wrote
    folder = out / warm_start.FOLDER
    warm_best = load_checkpoint(folder / BEST_CHECKPOINT)
    assert load_checkpoint(folder / LATEST_CHECKPOINT).step == 3
    assert warm_best.config["run"]["optimizer"] == "lbfgs-minibatch" and warm_best.config["run"]["lbfgs_keep_best"]
    with open(folder / "history.csv") as file:
        assert [int(row["step"]) for row in csv.DictReader(file)] == [1, 2, 3]
    assert summary["warm_start"]["best_step"] == warm_best.step and summary["warm_start"]["steps"] == 3
    assert len(seen.weights) == len(warm_best.model_weights) == 3
    for got, want in zip(seen.weights, warm_best.model_weights):
        np.testing.assert_array_equal(got, want)


def test_resume_does_not_train_a_finished_warm_start_again(tmp_path):
    out = tmp_path / "run"
    first = mnist.main([*TINY, "--warm-start", "2", "--out", str(out)])
    history = (out / warm_start.FOLDER / "history.csv").read_text()
    again = mnist.main([*TINY, "--warm-start", "2", "--out", str(out), "--resume", "--max-steps", "4"])
    assert (out / warm_start.FOLDER / "history.csv").read_text() == history
    assert again["resumed_from_step"] == 2 and again["steps"] == 4 and first["steps"] == 2
