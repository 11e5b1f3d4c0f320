"""End-to-end tests of `python -m train.mnist` (called as `main(argv)`): a `--quick` run,
resuming an interrupted run, loading an ensemble member, and clear errors for bad data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from qrnn_tfq import QRNNConfig
from qrnn_tfq.training import BEST_CHECKPOINT, LATEST_CHECKPOINT, load_checkpoint
from qrnn_tfq.training.lbfgs import DEFAULT_MEMORY
from train import mnist
from train.core.config import MnistRun, rebuild
from train.core.mnist_data import CODES_FILE, parse_digits
from train.core.mnist_train import default_folder

# A tiny QRNN keeps compilation short; the pipeline is the same as with the default one.
TINY = ["--quick", "--workspace-lanes", "2", "--stages", "1", "--degree", "1", "--no-progress",
        "--max-steps", "4", "--validate-every", "2", "--test-size", "64"]
PNG = b"\x89PNG\r\n\x1a\n"
RAW_DIR = (Path(__file__).parents[2] / ".." / "shared/data/mnist").resolve()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("mnist") / "seed0"
    return out, mnist.main([*TINY, "--out", str(out)])


def history(folder):
    with open(folder / "history.csv") as file:
        return list(csv.DictReader(file))


def test_quick_run_writes_every_output(uninterrupted):
    out, summary = uninterrupted
    written = json.loads((out / "summary.json").read_text())
    assert written == json.loads(json.dumps(summary))
    assert written["command"] == "python -m train.mnist " + " ".join([*TINY, "--out", str(out)])
    assert written["steps"] == 4 and written["stopped"] == "max_steps" and written["wall_time_s"] > 0
    assert written["data"]["train_images"] == 200 and written["data"]["validation_images"] == 40
    assert written["data"]["steps_per_sequence"] == 99 and written["num_parameters"] == QRNNConfig(
        workspace_lanes=2, io_lanes=2, stages=1, degree=1).num_parameters
    test = written["test"]
    assert test["images"] == 64 and sum(map(sum, test["confusion_matrix"])) == 64
    assert 0 <= test["argmax_accuracy"] <= 1 and 0 <= test["sampled_accuracy"] <= 1
    assert test["argmax_errors"] == round(64 * (1 - test["argmax_accuracy"]))
    assert test["weights"] == f"{BEST_CHECKPOINT} (step {written['best_step']})"
    assert written["config"]["digits"] == [0, 1] and written["config"]["lr"] == 0.003
    assert [int(row["step"]) for row in history(out)] == [1, 2, 3, 4]
    for name in ("training_curve.png", "confusion_matrix.png"):
        assert (out / name).read_bytes()[:8] == PNG
    assert load_checkpoint(out / LATEST_CHECKPOINT).step == 4


def test_a_run_folder_is_rebuilt_into_its_configuration_data_and_weights(uninterrupted):
    out, summary = uninterrupted
    rebuilt = rebuild(str(out), test_size=64)
    stored = {k: v for k, v in summary["config"].items() if k not in ("model_seed", "max_steps", "patience")}
    assert isinstance(rebuilt.run, MnistRun) and rebuilt.run.to_dict() == stored and rebuilt.run.test_size == 64
    assert rebuilt.io_lanes == 2 and len(rebuilt.data.test) == 64 and rebuilt.seed == 0
    best = load_checkpoint(out / BEST_CHECKPOINT)
    assert rebuilt.checkpoint == str(out / BEST_CHECKPOINT) and rebuilt.step == best.step
    layer = rebuilt.qrnn_layer(amplification=1)
    assert layer.qrnn_config.amplification == 1 and layer.qrnn_config.workspace_lanes == 2
    for got, want in zip(layer.weights, best.model_weights, strict=True):
        np.testing.assert_array_equal(got.numpy(), want)


class InterruptAtStep(tf.keras.callbacks.Callback):
    """Ctrl-C as the program sees it: a KeyboardInterrupt in the main thread, as step `step` (1-based) begins."""

    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_epoch_begin(self, epoch, logs=None):
        if epoch + 1 == self.step:
            raise KeyboardInterrupt


def test_resume_after_an_interruption_loses_nothing(uninterrupted, tmp_path):
    reference_folder, reference = uninterrupted
    out = tmp_path / "seed0"
    with pytest.raises(SystemExit, match=r"interrupted; `--resume` continues from .*latest.npz"):
        mnist.main([*TINY, "--out", str(out)], callbacks=[InterruptAtStep(4)])  # steps 1-3 done
    assert load_checkpoint(out / LATEST_CHECKPOINT).step == 2  # the last validation's

    resumed = mnist.main([*TINY, "--out", str(out), "--resume"])
    assert resumed["resumed_from_step"] == 2 and resumed["steps"] == 4
    assert history(out) == history(reference_folder)  # every step's numbers, as without the interruption
    for name in (LATEST_CHECKPOINT, BEST_CHECKPOINT):
        for got, want in zip(load_checkpoint(out / name).model_weights, load_checkpoint(reference_folder / name).model_weights):
            np.testing.assert_array_equal(got, want)
    assert resumed["test"] == reference["test"]

    with pytest.raises(SystemExit, match=r"cannot resume from .*: its settings differ .*'lr': \(0.003, 0.01\)"):
        mnist.main([*TINY, "--out", str(out), "--resume", "--lr", "0.01"])


def test_ensemble_loads_a_trained_member_and_averages(uninterrupted):
    reference_folder, reference = uninterrupted
    group = reference_folder.parent  # the fixture's run is member seed0 of this ensemble
    summary = mnist.main([*TINY, "--out", str(group), "--resume", "--ensemble", "2", "--max-steps", "2"])
    first, second = summary["members"]
    assert first["test"] == reference["test"] and first["steps"] == 4  # loaded, not retrained
    assert second["seed"] == 1 and second["steps"] == 2
    ensemble = summary["ensemble"]["test"]
    assert ensemble["images"] == 64 and summary["ensemble"]["seeds"] == [0, 1]
    for name in ("summary.json", "confusion_matrix.png", "seed1/summary.json", "seed1/confusion_matrix.png"):
        assert (group / name).exists()


def test_replace_above_sets_aside_the_worse_member_and_trains_the_next_seed(tmp_path):
    out = tmp_path / "ensemble"
    argv = [*TINY, "--out", str(out), "--ensemble", "2", "--max-steps", "2"]
    kept = mnist.main(argv)
    losses = {m["seed"]: m["best_validation_loss"] for m in kept["members"]}
    assert kept["set_aside"] == [] and losses[0] != losses[1]
    worse = max(losses, key=losses.get)
    bound = (losses[0] + losses[1]) / 2
    replaced = mnist.main([*argv, "--resume", "--replace-above", str(bound)])  # the two members are loaded, not retrained
    assert [m["seed"] for m in replaced["set_aside"]] == [worse]
    assert replaced["set_aside"][0]["test"] == next(m["test"] for m in kept["members"] if m["seed"] == worse)
    assert sorted(replaced["ensemble"]["seeds"]) == sorted([1 - worse, 2]) and (out / "seed2" / BEST_CHECKPOINT).exists()
    never = mnist.main([*argv, "--resume", "--replace-above", "1e-9"])  # all fail: K replacements, then kept
    assert [m["seed"] for m in never["set_aside"]] == [0, 1] and never["ensemble"]["seeds"] == [2, 3]


def test_replace_above_needs_an_ensemble(capsys):
    with pytest.raises(SystemExit, match="2"):
        mnist.main([*TINY, "--replace-above", "0.2"])
    assert "error: --replace-above 0.2 needs --ensemble K with K > 1" in capsys.readouterr().err


@pytest.mark.skipif(not RAW_DIR.is_dir(), reason="raw MNIST not in ../shared/data/mnist")
@pytest.mark.parametrize("images", ["raw", "deskewed"])
def test_quick_augmented_run_on_all_ten_digits(tmp_path, images):
    out = tmp_path / "augmented"
    argv = [*TINY, "--digits", "all", "--augment", "pca", "--coordinates", "2", "--bits", "4", "--data", str(RAW_DIR),
            "--augment-input", images, "--out", str(out)]
    summary = mnist.main(argv)
    assert summary["data"]["io_lanes"] == 2 and summary["data"]["steps_per_sequence"] == 4 + 2 - 1
    assert summary["data"]["train_images"] == 1000 and summary["test"]["images"] == 64
    assert len(summary["test"]["confusion_matrix"]) == 10
    assert 0 <= summary["test"]["invalid_probability"] <= 1
    codes = out / CODES_FILE
    assert codes.exists()
    before = codes.stat().st_mtime_ns
    mnist.main([*argv, "--resume"])  # the fitted codes are reused, not refitted
    assert codes.stat().st_mtime_ns == before


def test_quick_lbfgs_run_trains_on_one_fixed_batch(tmp_path):
    summary = mnist.main([*TINY, "--digits", "3,6", "--optimizer", "lbfgs", "--max-steps", "2",
                          "--out", str(tmp_path / "lbfgs")])
    config = summary["config"]
    assert (config["optimizer"], config["lr"], config["rollback"], config["batch"]) == ("lbfgs", None, None, 10)
    assert config["lbfgs_memory"] == DEFAULT_MEMORY
    assert summary["steps"] == 2 and summary["rollbacks"] == []
    losses = [float(row["train_loss"]) for row in history(tmp_path / "lbfgs")]
    assert losses[-1] < losses[0]  # one objective, minimised
    assert mnist.fill_defaults(mnist.make_parser().parse_args(["--optimizer", "lbfgs"])).batch == mnist.LBFGS_BATCH


def test_quick_minibatch_lbfgs_run_takes_fixed_steps_on_new_batches(tmp_path):
    out = tmp_path / "lbfgs-minibatch"
    summary = mnist.main([*TINY, "--digits", "3,6", "--optimizer", "lbfgs-minibatch", "--lbfgs-iterations", "3",
                          "--out", str(out)])
    config = summary["config"]
    assert (config["optimizer"], config["lr"], config["lr_decay_steps"], config["clip_norm"]) == (
        "lbfgs-minibatch", 0.1, None, None)
    assert (config["lbfgs_memory"], config["lbfgs_iterations"], config["rollback"]) == (100, 3, 3.0)
    assert summary["steps"] == 4
    assert len(load_checkpoint(out / LATEST_CHECKPOINT).optimizer_variables) == 11  # the L-BFGS state
    args = mnist.fill_defaults(mnist.make_parser().parse_args(["--optimizer", "lbfgs-minibatch", "--lr", "0.03"]))
    assert (args.lr, args.batch, args.lbfgs_iterations, args.lbfgs_line_search) == (0.03, 50, 20, None)
    searched = mnist.main([*TINY, "--digits", "3,6", "--optimizer", "lbfgs-minibatch", "--lbfgs-iterations", "2",
                           "--lbfgs-line-search", "--max-steps", "2", "--out", str(tmp_path / "searched")])
    assert searched["config"]["lbfgs_line_search"] is True and searched["steps"] == 2
    kept = mnist.main([*TINY, "--digits", "3,6", "--optimizer", "lbfgs-minibatch", "--lbfgs-iterations", "2",
                       "--lbfgs-keep-best", "--max-steps", "2", "--out", str(tmp_path / "kept")])
    assert kept["config"]["lbfgs_keep_best"] is True and kept["config"]["lbfgs_line_search"] is None
    assert mnist.fill_defaults(mnist.make_parser().parse_args(["--lbfgs-keep-best"])).lbfgs_keep_best is None  # Adam


def test_keep_best_and_line_search_exclude_each_other(capsys):
    with pytest.raises(SystemExit, match="2"):
        mnist.main([*TINY, "--optimizer", "lbfgs-minibatch", "--lbfgs-line-search", "--lbfgs-keep-best"])
    assert "error: --lbfgs-keep-best is for the fixed step" in capsys.readouterr().err


def test_init_from_starts_from_an_earlier_runs_best_weights(uninterrupted, tmp_path):
    source, trained = uninterrupted
    out = tmp_path / "polished"
    summary = mnist.main([*TINY, "--init-from", str(source), "--max-steps", "0", "--out", str(out)])
    assert summary["steps"] == 0 and summary["config"]["init_from"] == str(source)
    assert summary["test"]["argmax_accuracy"] == trained["test"]["argmax_accuracy"]  # no step: the source's weights
    with pytest.raises(SystemExit, match=r"--init-from '.*nowhere': .*"):
        mnist.main([*TINY, "--init-from", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")])
    with pytest.raises(SystemExit, match=r"--init-from '.*': .*model weights"):
        mnist.main([*TINY, "--workspace-lanes", "3", "--init-from", str(source), "--out", str(tmp_path / "y")])


@pytest.mark.parametrize(
    "content, match",
    [
        (None, r"cannot load MNIST from '.*missing.npz': .*does not exist"),
        (b"not an npz file", r"cannot load MNIST from '.*missing.npz': .*(corrupt|pickled)"),
    ],
)
def test_missing_or_corrupt_data_file_is_a_clear_error(tmp_path, content, match):
    path = tmp_path / "missing.npz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SystemExit, match=match):
        mnist.main([*TINY, "--data", str(path), "--out", str(tmp_path / "run")])


def test_bad_arguments_exit_with_usage(capsys):
    with pytest.raises(SystemExit, match="2"):
        mnist.main(["--digits", "3,3"])
    assert "must not repeat a digit" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="2"):
        mnist.main(["--supervised"])
    assert "error: --supervised and --augment-input need --augment pca or umap" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="2"):
        mnist.main(["--rollback", "0.5"])
    assert "expected 0 (off) or a factor > 1, got '0.5'" in capsys.readouterr().err


def test_defaults():
    args = mnist.fill_defaults(mnist.make_parser().parse_args([]))
    assert (args.digits, args.workspace_lanes, args.stages, args.degree, args.order) == ([0, 1], 8, 2, 2, 2)
    assert (args.optimizer, args.lr, args.lr_decay_steps, args.clip_norm, args.batch) == ("adam", 0.003, 1200, 0.5, 50)
    assert (args.warm_start, args.warm_start_lr, args.lr_warmup) == (20, 0.1, 300)
    assert (args.val_batch, args.validate_every, args.patience, args.max_steps, args.loss) == (200, 10, 40, 1500, "nll")
    quick = mnist.fill_defaults(mnist.make_parser().parse_args(["--quick", "--patience", "5"]))
    assert (quick.max_steps, quick.lr_decay_steps, quick.patience, quick.batch, quick.test_size) == (6, None, 5, 10, 200)
    assert default_folder(mnist.parse(mnist.make_parser(), [])) == "runs/mnist-01-seed0"
    assert args.rollback == 3.0 and args.lbfgs_memory is None and args.lbfgs_iterations is None  # Adam: no L-BFGS setting in the run's config
    augmented = mnist.fill_defaults(mnist.make_parser().parse_args(
        ["--digits", "all", "--augment", "umap", "--augment-input", "deskewed", "--rollback", "0"]))
    assert default_folder(mnist.parse(mnist.make_parser(), ["--digits", "all", "--augment", "umap", "--augment-input",
                                                             "deskewed"])) == "runs/mnist-0123456789-umap2-r6-deskewed-seed0"
    assert augmented.rollback is None
    assert parse_digits("all") == tuple(range(10))
