"""End-to-end test of `python -m train.dna` (called as `main(argv)`)."""

from __future__ import annotations

import json

import pytest

from train import dna


def test_dna_end_to_end(tmp_path):
    out = tmp_path / "dna"
    argv = ["--length", "6", "--protocol", "honest", "--max-steps", "3", "--workspace", "2", "--degree", "1",
            "--batch", "4", "--val-batch", "4", "--out", str(out), "--no-progress"]
    [summary] = dna.main(argv)
    written = json.loads((out / "summary.json").read_text())
    assert written["steps"] == summary["steps"] == 3
    assert written["config"]["task"] == {"name": "dna", "length": 6, "protocol": "honest"}
    assert written["config"]["lr"] == 0.01 and written["config"]["stages"] == 1
    assert (out / "history.csv").exists() and (out / "training_curve.png").exists()


def test_dna_defaults_and_required_length(capsys):
    args = dna.make_parser().parse_args(["--length", "100"])
    assert args.protocol == "paper"
    with pytest.raises(SystemExit, match="2"):
        dna.make_parser().parse_args([])
    assert "error: the following arguments are required: --length" in capsys.readouterr().err
