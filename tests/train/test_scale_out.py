"""`--distribute`, `--tensorboard` and `main(argv, callbacks)` of the training programs:
one replica under MirroredStrategy trains as no strategy does, a worker that is not the
chief writes nothing, the parser refuses what cannot run, TensorBoard gets its logs, and
callbacks see every step. (Two real workers: tests/train/test_distribute.py.)"""

from __future__ import annotations

import tensorflow as tf

from train import elman, mnist  # first: selects tf-keras before TensorFlow loads
from train.core import runs

import numpy as np
import pytest

from qrnn_tfq.training import LATEST_CHECKPOINT, distribute, load_checkpoint

TINY = ["--task", "xor", "--workspace-lanes", "2", "--degree", "1", "--length", "9", "--batch", "4", "--val-batch", "4",
        "--validate-every", "2", "--no-progress"]
MNIST_TINY = ["--quick", "--workspace-lanes", "2", "--stages", "1", "--degree", "1", "--no-progress", "--max-steps", "2",
              "--validate-every", "2", "--test-size", "64"]


class FakeStrategy:
    """What `make_distribution` reads of a strategy before anything runs on it."""

    num_replicas_in_sync = 2


def test_mirrored_on_one_device_trains_as_no_strategy(tmp_path):
    [plain] = elman.main([*TINY, "--max-steps", "4", "--out", str(tmp_path / "none")])
    [mirrored] = elman.main([*TINY, "--max-steps", "4", "--out", str(tmp_path / "mirrored"), "--distribute", "mirrored"])
    assert mirrored["config"] == plain["config"]  # --distribute is not a setting of the run: either resumes the other
    for got, want in zip(load_checkpoint(tmp_path / "mirrored" / LATEST_CHECKPOINT).model_weights,
                         load_checkpoint(tmp_path / "none" / LATEST_CHECKPOINT).model_weights, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(mirrored["best_validation_loss"], plain["best_validation_loss"], rtol=1e-6)


def test_minibatch_lbfgs_on_one_replica_of_mirrored_trains_as_no_strategy(tmp_path):
    """`--distribute mirrored --optimizer lbfgs-minibatch` on a machine without GPUs (one
    replica, so not refused) trains: the L-BFGS step reads its weights on the replica."""
    argv = [*MNIST_TINY, "--optimizer", "lbfgs-minibatch", "--lbfgs-iterations", "2"]
    plain = mnist.main([*argv, "--out", str(tmp_path / "none")])
    mirrored = mnist.main([*argv, "--out", str(tmp_path / "mirrored"), "--distribute", "mirrored"])
    assert mirrored["steps"] == plain["steps"] == 2
    for got, want in zip(load_checkpoint(tmp_path / "mirrored" / LATEST_CHECKPOINT).model_weights,
                         load_checkpoint(tmp_path / "none" / LATEST_CHECKPOINT).model_weights, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


@pytest.fixture
def not_the_chief(monkeypatch):
    """This process plays worker 1 of 2: `is_chief` false, and so its run's checkpoints' `chief`."""
    monkeypatch.setattr(distribute, "is_chief", lambda strategy: False)
    monkeypatch.setattr(runs, "_worker", lambda strategy: (1, 2))


def test_a_worker_that_is_not_the_chief_writes_nothing(tmp_path, capsys, not_the_chief):
    out = tmp_path / "run"
    summaries = elman.main([*TINY, "--max-steps", "4", "--seeds", "2", "--out", str(out)])
    assert not out.exists()  # no lock, checkpoint, history, plot or summary
    printed = capsys.readouterr().out
    assert printed.startswith("worker 1 of 2: training with the chief (worker 0), which writes the run's outputs; "
                              "this worker writes nothing")
    assert "Wrote" not in printed and [s["steps"] for s in summaries] == [4, 4]


def test_an_mnist_worker_that_is_not_the_chief_writes_nothing(tmp_path, capsys, not_the_chief):
    out = tmp_path / "run"
    summary = mnist.main([*MNIST_TINY, "--out", str(out)])
    assert not out.exists()
    assert summary["worker"] == 1 and summary["test"] is None and summary["steps"] == 2  # trained, scored nothing
    assert "worker 1 of 2" in capsys.readouterr().out


def test_multi_worker_without_tf_config_is_a_parser_error(monkeypatch, capsys):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    for program, argv in ((elman, TINY), (mnist, [*MNIST_TINY, "--optimizer", "lbfgs"])):
        with pytest.raises(SystemExit, match="^2$"):  # argparse's exit status of a usage error
            program.main([*argv, "--distribute", "multi-worker"])
        error = capsys.readouterr().err
        assert "error: --distribute multi-worker: `multi-worker` needs TF_CONFIG" in error and "usage:" in error


@pytest.mark.parametrize("optimizer", ["lbfgs", "lbfgs-minibatch"])
def test_lbfgs_over_several_replicas_is_a_parser_error(monkeypatch, capsys, optimizer):
    monkeypatch.setattr(distribute, "make_strategy", lambda name: FakeStrategy())
    with pytest.raises(SystemExit, match="^2$"):  # argparse's exit status of a usage error
        mnist.main([*MNIST_TINY, "--optimizer", optimizer, "--distribute", "mirrored"])
    assert (f"error: --optimizer {optimizer} runs on one device; --distribute mirrored has 2 replicas"
            in capsys.readouterr().err)


def test_a_batch_the_replicas_cannot_share_is_a_parser_error(monkeypatch, capsys):
    monkeypatch.setattr(distribute, "make_strategy", lambda name: FakeStrategy())
    with pytest.raises(SystemExit, match="^2$"):  # argparse's exit status of a usage error
        elman.main([*TINY, "--batch", "3", "--distribute", "mirrored"])
    assert ("error: --batch: the 3 sequences of a step must split equally over the 2 replicas of --distribute mirrored"
            in capsys.readouterr().err)
    with pytest.raises(SystemExit, match="^2$"):
        elman.main([*TINY, "--distribute", "all"])
    assert "invalid choice: 'all'" in capsys.readouterr().err


def test_tensorboard_writes_event_files(tmp_path):
    logs = tmp_path / "logs"
    elman.main([*TINY, "--max-steps", "2", "--out", str(tmp_path / "run"), "--tensorboard", str(logs)])
    assert list((logs / "train").glob("events.out.tfevents.*")) and list((logs / "validation").glob("events.out.tfevents.*"))
    elman.main([*TINY, "--max-steps", "2", "--seeds", "2", "--out", str(tmp_path / "group"), "--tensorboard", str(logs)])
    assert all(list((logs / f"seed{seed}" / "train").glob("events.out.tfevents.*")) for seed in (0, 1))


class RecordSteps(tf.keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.steps: list[int] = []

    def on_epoch_end(self, epoch, logs=None):
        self.steps.append(epoch + 1)


def test_callbacks_see_every_step_of_every_seed_and_member(tmp_path):
    record = RecordSteps()
    elman.main([*TINY, "--max-steps", "3", "--seeds", "2", "--out", str(tmp_path / "elman")], callbacks=[record])
    assert record.steps == [1, 2, 3, 1, 2, 3]
    record = RecordSteps()
    mnist.main([*MNIST_TINY, "--ensemble", "2", "--out", str(tmp_path / "mnist")], callbacks=[record])
    assert record.steps == [1, 2, 1, 2]
