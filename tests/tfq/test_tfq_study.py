"""`python -m train.studies.tfq_study`: a coherent run evaluated exactly, with shots and with noise."""

from __future__ import annotations

import json

from train import dna
from train.studies import tfq_study

import numpy as np
import pytest

TINY = ["--length", "4", "--protocol", "honest", "--workspace", "2", "--stages", "0", "--degree", "1",
        "--batch", "4", "--val-batch", "4", "--no-progress", "--max-steps", "2"]


def test_study_of_a_coherent_dna_run(tmp_path):
    run = tmp_path / "run"
    dna.main([*TINY, "--recurrence", "coherent", "--out", str(run)])
    rows = tfq_study.main(["--dna", str(run), "--shots", "200", "--noise", "0.01", "--noise-shots", "200",
                           "--sequences", "8", "--out", str(tmp_path / "study")])
    assert [(r["engine"], r["shots"], r["noise"]) for r in rows] == [
        ("state_vector", None, 0.0), ("tfq", None, 0.0), ("tfq", 200, 0.0), ("tfq", 200, 0.01)]
    exact, tfq_exact = rows[0], rows[1]
    assert tfq_exact["argmax_accuracy"] == exact["argmax_accuracy"]
    np.testing.assert_allclose(tfq_exact["expected_sampled_accuracy"], exact["expected_sampled_accuracy"], atol=1e-5)
    assert all(0 <= r["expected_sampled_accuracy"] <= 1 and r["samples"] == 8 for r in rows)
    written = json.loads((tmp_path / "study" / "tfq_study.json").read_text())
    assert len(written["rows"]) == 4 and (tmp_path / "study" / "tfq_study.md").read_text().startswith("# Coherent QRNN")


def test_study_refuses_a_postselected_run(tmp_path):
    run = tmp_path / "run"
    dna.main([*TINY, "--out", str(run)])
    with pytest.raises(SystemExit, match="only coherent runs .*got recurrence=None"):
        tfq_study.main(["--dna", str(run), "--out", str(tmp_path / "study")])
