"""`python -m train.studies.tfq_study`: a coherent run evaluated exactly, with shots and with noise."""

from __future__ import annotations

import dataclasses
import json

from train import dna
from train.studies import tfq_study

import numpy as np
import pytest

TINY = ["--length", "4", "--protocol", "honest", "--workspace", "2", "--stages", "0", "--degree", "1",
        "--batch", "4", "--val-batch", "4", "--no-progress", "--max-steps", "2"]


@pytest.fixture(scope="module")
def coherent_run(tmp_path_factory):
    """A tiny coherent DNA run, trained once for the module."""
    run = tmp_path_factory.mktemp("tfq_study") / "run"
    dna.main([*TINY, "--recurrence", "coherent", "--out", str(run)])
    return run


def test_study_of_a_coherent_dna_run(coherent_run, tmp_path):
    rows = tfq_study.main(["--dna", str(coherent_run), "--shots", "200", "--noise", "0.01", "--noise-shots", "200",
                           "--sequences", "8", "--out", str(tmp_path / "study")])
    assert [(r["engine"], r["shots"], r["noise"]) for r in rows] == [
        ("state_vector", None, 0.0), ("tfq", None, 0.0), ("tfq", 200, 0.0), ("tfq", 200, 0.01)]
    exact, tfq_exact = rows[0], rows[1]
    atol = 1e-5  # TFQ simulates in float32
    np.testing.assert_allclose(tfq_exact["expected_sampled_accuracy"], exact["expected_sampled_accuracy"], atol=atol)
    # The argmax accuracies may differ only by steps whose top two words are within 2 atol
    # (the study's own sample and weights, read back as the study reads them).
    rebuilt = tfq_study.rebuild(str(coherent_run))
    sample = rebuilt.data.sample(8, seed=tfq_study.EVAL_SEED)
    batch = {"inputs": sample.inputs, "targets": sample.targets, "scored": sample.scored.astype(np.float32)}
    layer = tfq_study.make_layer(rebuilt, {"engine": "state_vector", "shots": None, "noise": 0.0})
    scored = np.asarray(sample.scored, bool)
    probabilities = layer.run_sequences(batch, training=True).probabilities.numpy()[scored]  # (scored steps, 2^I)
    top_two = np.sort(probabilities, -1)[:, -2:]
    near_ties = int(np.sum(top_two[:, 1] - top_two[:, 0] <= 2 * atol))
    assert abs(tfq_exact["argmax_accuracy"] - exact["argmax_accuracy"]) * len(probabilities) <= near_ties + 1e-9
    assert all(0 <= r["expected_sampled_accuracy"] <= 1 and r["samples"] == 8 for r in rows)
    written = json.loads((tmp_path / "study" / "tfq_study.json").read_text())
    assert len(written["rows"]) == 4 and (tmp_path / "study" / "tfq_study.md").read_text().startswith("# Coherent QRNN")


def test_study_refuses_a_postselected_run(coherent_run):
    # The trained run read back as a postselected one (the programs' default, recurrence
    # None), instead of training a second run only to be refused.
    rebuilt = tfq_study.rebuild(str(coherent_run))
    postselected = dataclasses.replace(rebuilt, run=dataclasses.replace(rebuilt.run, recurrence=None))
    with pytest.raises(SystemExit, match="only coherent runs .*got recurrence=None"):
        tfq_study.make_layer(postselected, {"engine": "tfq", "shots": None, "noise": 0.0})
