"""What a program shows (issue 11, items 12, 13 and 15): its own output only (TensorFlow's
messages with `-v`), a closing line naming the output folder, a progress bar without
`nan` before the first validation, readable confusion-matrix counts, a descriptive title."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from qrnn_tfq.training import StepRecord
from train import dna, elman
from train.core import mnist_eval, outputs, quiet, runs, sequence_runs

ROOT = Path(__file__).parents[2]
NOISE = ("cuFFT", "cuDNN", "cuBLAS", "cuInit", "absl::InitializeLog", "XLA service", "StreamExecutor")
RETRACING = "triggered tf.function retracing"
MNIST_TINY = ["--quick", "--workspace-lanes", "2", "--stages", "1", "--degree", "1", "--max-steps", "4", "--validate-every", "2",
              "--test-size", "64"]


def run_program(*argv):
    """`python -m <argv>` as a user runs it (no TF_CPP_MIN_LOG_LEVEL of the test session)."""
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def assert_quiet(process):
    assert process.returncode == 0, process.stderr
    text = process.stdout + process.stderr
    assert [word for word in NOISE if word in text] == []
    assert text.count(RETRACING) <= 1


def test_help_prints_nothing_of_tensorflows():
    process = run_program("train.mnist", "--help")
    assert_quiet(process)
    assert process.stdout.startswith("usage: python -m train.mnist") and process.stderr == ""


def test_a_run_prints_its_own_output_only_and_where_it_wrote(tmp_path):
    out = tmp_path / "run"
    process = run_program("train.mnist", *MNIST_TINY, "--out", str(out))
    assert_quiet(process)
    assert "nan" not in process.stderr  # the bar shows no validation before the first one
    assert re.search(r"val_acc=[01]\.\d{3}", process.stderr)  # the last validation's accuracy
    last = process.stdout.strip().splitlines()[-1]
    assert last == (f"Wrote {out}/: summary.json, history.csv, training_curve.png, confusion_matrix.png, "
                    "checkpoints latest.npz and best.npz")


# ---- quiet -------------------------------------------------------------------------------


def test_program_arguments_and_verbose():
    assert quiet.program_arguments(["python", "-m", "train.mnist", "--quick", "-v"]) == ["--quick", "-v"]
    assert quiet.program_arguments(["python", "-X", "dev", "-m", "train.elman"]) == []
    assert quiet.program_arguments(["python", "-m", "pytest", "tests"]) is None
    assert quiet.program_arguments(["python", "script.py", "-m", "train.mnist"]) is None
    assert quiet.program_arguments(["python", "-mtrain.dna", "--length", "6"]) == ["--length", "6"]
    assert quiet.verbose_requested(["--quick", "-v"]) and quiet.verbose_requested(["--verb"])
    assert not quiet.verbose_requested(["--quick", "--out", "x"]) and not quiet.verbose_requested(["--", "-v"])


@pytest.mark.parametrize("line, noise", [
    ("2026-11-28 04:45:20.643959: E external/local_xla/xla/stream_executor/cuda/cuda_fft.cc:477] Unable to register "
     "cuFFT factory", True),
    ("E0000 00:00:1795841120.655965    5281 cuda_dnn.cc:8310] Unable to register cuDNN factory", True),
    ("I0000 00:00:1795841126.115863    5288 service.cc:156]   StreamExecutor device (0): Host, Default Version", True),
    ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR", True),
    ("F0000 00:00:1795841126.115863    5288 file.cc:1] Check failed: fatal", False),  # fatal errors stay
    ("error: runs/x is in use by another run", False),
    ("Traceback (most recent call last):", False),
])
def test_noise_pattern(line, noise):
    assert bool(quiet.NOISE.match(line.encode())) == noise


def test_configure_logging_leaves_one_handler_for_tensorflows_warnings():
    import tensorflow as tf

    quiet.configure_logging(verbose=False)
    assert tf.get_logger().handlers == []  # its messages reach the root's handler only: printed once


# ---- progress bar, closing line, titles, confusion matrix -------------------------------


@pytest.mark.parametrize("accuracy, keys", [(False, ["loss", "val", "p_min"]), (True, ["loss", "val_acc", "val_loss", "p_min"])])
def test_progress_postfix_shows_validation_only_once_there_is_one(accuracy, keys):
    first = StepRecord(1, 0.5, 0.2, 0.2)
    assert list(outputs.progress_postfix(first, None, accuracy)) == ["loss", "p_min"]
    validated = StepRecord(2, 0.4, 0.2, 0.2, 0.45, 0.75, 0.5)
    bar = outputs.ProgressBar(3, 0, "test", enabled=False, accuracy=accuracy)
    bar(first)
    assert bar.last_validation is None
    bar(validated)
    postfix = outputs.progress_postfix(StepRecord(3, 0.3, 0.2, 0.2), bar.last_validation, accuracy)
    assert list(postfix) == keys and "nan" not in "".join(postfix.values())
    resumed = outputs.ProgressBar(3, 2, "test", enabled=False, accuracy=accuracy, history=[first, validated])
    assert resumed.last_validation == validated  # a resumed run shows its last validation from the start


def test_elman_run_titles_its_plot_and_names_its_folder(tmp_path, capsys, monkeypatch):
    titles = []
    monkeypatch.setattr(runs, "plot_history", lambda path, history, stop, title: titles.append(title))
    out = tmp_path / "run"
    elman.main(["--task", "xor", "--workspace-lanes", "2", "--degree", "1", "--length", "9", "--batch", "4", "--val-batch", "4",
                "--max-steps", "2", "--seed", "3", "--out", str(out), "--no-progress"])
    assert titles == ["Elman xor (length 9): QRNN W=2 S=1 d=1 ord=2\nadam lr 0.005, batch 4, paper loss, seed 3"]
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == f"Wrote {out}/: summary.json, history.csv, checkpoints latest.npz and best.npz"


def test_titles_of_dna_and_baselines():
    args = dna.settings(length=100, protocol="honest", model="lstm", optimizer="adam", lr=0.01, batch=128, loss="nll")
    title = outputs.run_title(args, {"name": "dna", "length": 100, "protocol": "honest"}, 2, hidden=10)
    assert title == "DNA (length 100, honest protocol): LSTM hidden 10 (one_hot input)\nadam lr 0.01, batch 128, nll loss, seed 2"


def test_outputs_line_of_a_group(tmp_path):
    for name in ("summary.json", "seed0/summary.json", "seed0/latest.npz", "seed1/summary.json"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("{}")
    line = outputs.outputs_line(str(tmp_path), ["summary.json", "confusion_matrix.png"],
                                [str(tmp_path / "seed0"), str(tmp_path / "seed1")], sequence_runs.RUN_OUTPUTS)
    assert line == f"Wrote {tmp_path}/: summary.json; the runs in seed0, seed1 (each: summary.json, checkpoints latest.npz)"


def test_confusion_counts_are_written_in_a_colour_that_reads_on_their_cell():
    # Row 0: 1 right of 10, a light diagonal cell (fraction 0.1) beside a dark one (0.9).
    figure = mnist_eval.confusion_figure([[1, 9], [0, 10]], [3, 6], "title")
    colours = {text.get_text(): text.get_color() for text in figure.axes[0].texts}
    assert colours == {"1": "black", "9": "white", "0": "black", "10": "white"}
    blues = matplotlib.colormaps["Blues"]
    assert list(mnist_eval.text_colours(blues(np.array([0.0, 0.3, 0.9, 1.0])))) == ["black", "black", "white", "white"]
