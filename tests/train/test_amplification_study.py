"""`--amplification K` in the training programs and the `train.studies.amplification` study."""

import json

import numpy as np
import pytest

from train import elman
from train.studies import amplification

TINY = ["--length", "9", "--workspace", "2", "--degree", "2", "--batch", "4", "--val-batch", "4", "--no-progress"]


def test_xor_trains_with_amplification_and_the_study_reads_it(tmp_path, capsys):
    out = tmp_path / "run"
    [summary] = elman.main(["--task", "xor", "--max-steps", "2", "--amplification", "2", "--out", str(out), *TINY])
    assert summary["config"]["amplification"] == 2
    assert json.loads((out / "summary.json").read_text())["config"]["amplification"] == 2
    # Without the option the stored setting stays None, as in runs from before it: they resume.
    assert elman.settings(task="xor").to_dict()["amplification"] is None
    capsys.readouterr()
    result = amplification.main(["--xor", str(out), "--xor-sequences", "64", "--rounds", "0", "2", "--orders", "2",
                                 "--out", str(tmp_path / "study")])
    assert [row["run"] for row in result["models"]] == ["run (trained k=2)"] * 2
    rows = {row["rounds"]: row for row in result["models"]}
    assert rows[0]["fidelity"] is None and 0 <= rows[2]["fidelity"] <= 1
    # Amplification raises every step's ancilla success (SPEC section 8).
    assert rows[2]["log10_ancilla_success_per_step"] > rows[0]["log10_ancilla_success_per_step"]
    neuron = {row["rounds"]: row for row in result["neuron"]}
    assert neuron[0]["min_success"] == pytest.approx(0.125) and neuron[2]["min_success"] >= 1 - neuron[2]["delta"] ** 2 - 1e-12
    assert (tmp_path / "study" / "models.png").stat().st_size > 0
    assert f"Wrote {tmp_path / 'study'}/" in capsys.readouterr().out


def test_amplification_needs_an_order(tmp_path):
    with pytest.raises(SystemExit, match="amplification=1 with order=0"):
        elman.main(["--task", "xor", "--max-steps", "1", "--amplification", "1", "--order", "0", "--out", str(tmp_path), *TINY])
