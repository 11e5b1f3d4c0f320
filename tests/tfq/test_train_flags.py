"""`--recurrence`, `--engine`, `--shots` and `--noise` in the training programs (train/core)."""

from __future__ import annotations

import json

from train import dna  # first: selects tf-keras before TensorFlow loads

import numpy as np
import pytest

TINY = ["--length", "4", "--protocol", "honest", "--workspace", "2", "--stages", "0", "--degree", "1",
        "--batch", "4", "--val-batch", "4", "--no-progress"]


def test_dna_trains_coherent_with_the_tfq_engine(tmp_path):
    out = tmp_path / "tfq"
    [summary] = dna.main([*TINY, "--recurrence", "coherent", "--engine", "tfq", "--max-steps", "2", "--out", str(out)])
    config = json.loads((out / "summary.json").read_text())["config"]
    assert (config["recurrence"], config["engine"], config["order"], config["shots"]) == ("coherent", "tfq", 0, None)
    assert summary["steps"] == 2 and np.isfinite(summary["best_validation_loss"])
    # The same run in the state-vector engine: the same model, so the same losses.
    [exact] = dna.main([*TINY, "--recurrence", "coherent", "--max-steps", "2", "--out", str(tmp_path / "sv")])
    np.testing.assert_allclose(summary["best_validation_loss"], exact["best_validation_loss"], rtol=1e-4)
    plain = json.loads((tmp_path / "sv" / "summary.json").read_text())["config"]
    assert (plain["engine"], plain["noise"]) == (None, None)  # older runs resume unchanged


def test_flags_the_layer_refuses_exit_with_its_message(tmp_path):
    with pytest.raises(SystemExit, match="only the coherent recurrence.*got recurrence='postselected', order=2"):
        dna.main([*TINY, "--engine", "tfq", "--max-steps", "1", "--out", str(tmp_path / "a")])
    with pytest.raises(SystemExit, match="`shots` and `noise` need engine='tfq'"):
        dna.main([*TINY, "--recurrence", "coherent", "--shots", "100", "--max-steps", "1", "--out", str(tmp_path / "b")])
    with pytest.raises(SystemExit, match="order 0 and no amplification, got order=2"):
        dna.main([*TINY, "--recurrence", "coherent", "--order", "2", "--max-steps", "1", "--out", str(tmp_path / "c")])


def test_noise_must_be_a_probability(capsys):
    with pytest.raises(SystemExit, match="^2$"):  # argparse's exit status for a usage error
        dna.make_parser().parse_args([*TINY, "--noise", "1.5"])
    assert "must be a probability in [0, 1), got 1.5" in capsys.readouterr().err
