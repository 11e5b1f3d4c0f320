"""End-to-end tests of `python -m train.elman` (called as `main(argv)`), and of the
shared pieces in train/core/sequence_runs.py."""

from __future__ import annotations

import csv
import json

import pytest

from train import elman
from train.core import sequence_runs
from train.core.config import ElmanRun
from qrnn_tfq.training import LATEST_CHECKPOINT, load_checkpoint

TINY = ["--workspace-lanes", "2", "--degree", "1", "--length", "9", "--batch", "4", "--val-batch", "4", "--no-progress"]


def test_xor_end_to_end_and_resume(tmp_path, capsys):
    out = tmp_path / "run"
    [summary] = elman.main(["--task", "xor", "--max-steps", "20", "--out", str(out), *TINY])
    assert capsys.readouterr().out.startswith("seed 0: validation loss never <= 0.001 in 20 steps")
    written = json.loads((out / "summary.json").read_text())
    assert written["steps"] == summary["steps"] == 20
    assert written["stopped"] == "max_steps" and written["steps_to_target"] is None
    assert written["config"]["task"] == {"name": "xor", "length": 9, "protocol": None}
    assert written["config"]["workspace_lanes"] == 2 and "workspace" not in written["config"] and written["config"]["stages"] == 1  # xor default
    assert written["config"]["lr"] == 0.005 and written["trainer"]["loss"] == "paper"
    assert written["final_validation"]["step"] == 20
    assert 0 < written["min_postselection"] <= 1
    with open(out / "history.csv") as file:
        rows = list(csv.DictReader(file))
    assert [int(row["step"]) for row in rows] == list(range(1, 21))
    assert rows[9]["validation_loss"] != "" and rows[8]["validation_loss"] == ""
    assert (out / "training_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert load_checkpoint(out / LATEST_CHECKPOINT).step == 20

    [resumed] = elman.main(["--task", "xor", "--max-steps", "25", "--out", str(out), "--resume", *TINY])
    assert (resumed["steps"], resumed["resumed_from_step"]) == (25, 20)
    with open(out / "history.csv") as file:
        assert len(list(csv.DictReader(file))) == 25

    with pytest.raises(SystemExit, match=r"cannot resume from .*latest.npz: its settings differ .*'lr': \(0.005, 0.01\)"):
        elman.main(["--task", "xor", "--max-steps", "30", "--out", str(out), "--resume", "--lr", "0.01", *TINY])


def test_bad_arguments_exit_with_usage(capsys):
    with pytest.raises(SystemExit, match="2"):
        elman.main(["--task", "xor", "--length", "10"])
    assert "error: `length` must be a multiple of 3 for task 'xor', got 10" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="2"):
        elman.main(["--task", "parity"])
    assert "error: argument --task: invalid choice: 'parity'" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="2"):
        elman.main(["--task", "xor", "--lr", "-1"])
    assert "error: argument --lr: must be a finite number > 0, got -1" in capsys.readouterr().err


def test_defaults_per_task():
    args = sequence_runs.parse(elman.make_parser(), ["--task", "xor"], elman.TASK_DEFAULTS, ElmanRun)
    assert (args.workspace_lanes, args.stages, args.degree, args.order, args.batch, args.optimizer) == (4, 1, 3, 2, 8, "adam")
    assert (args.stop_loss, args.loss, args.lr, args.clip_norm) == (1e-3, "paper", 0.005, 0.5)
    assert (args.patience, args.lr_decay_steps, args.rollback, args.max_steps) == (None, None, None, 3000)  # off
    assert sequence_runs.seed_folder(args, "elman-xor", 0) == "runs/elman-xor-seed0"
    args = sequence_runs.parse(elman.make_parser(), ["--task", "letters", "--workspace-lanes", "3", "--seeds", "3",
                                                     "--seed", "4"], elman.TASK_DEFAULTS, ElmanRun)
    assert (args.workspace_lanes, args.stages, args.degree) == (3, 2, 2)
    assert sequence_runs.seed_folder(args, "elman-letters", 5) == "runs/elman-letters-seeds4-6/seed5"


@pytest.mark.parametrize(
    "steps, median", [([10, 30, 20], 20), ([10, None, 20], 20), ([None, None, 10], None), ([10, 20], 15), ([], None)]
)
def test_median_steps_counts_failures_as_longest(steps, median):
    assert sequence_runs.median_steps(steps) == median
