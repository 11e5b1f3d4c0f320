"""`python -m train.studies.hardware_study` on a hand-written one-lane XOR run (exact XOR angles)."""

import csv
import json

import numpy as np
import pytest

from qrnn_tfq.hardware.devices import noise_properties
from train.studies import hardware_study


def write_run(folder, program="train.hardware"):
    """A run folder as train.hardware writes it: the one-lane cell turning its lane by `pi x` (the parity)."""
    folder.mkdir()
    settings = {"program": program, "task": "xor", "length": 6,
                "layer": {"device": "willow", "lanes": 1, "layers": 1, "noisy": True, "noise_scale": 1.0, "seed": 0,
                          "input_angle": 0.75 * np.pi},
                "training": {"curriculum": [], "train_sequences": 8, "batch": 4, "epochs": 1, "lr": 0.05, "seed": 0}}
    (folder / "run.json").write_text(json.dumps(settings))
    np.savez(folder / "weights.npz", kernel=np.array([0.0, np.pi]))
    return folder


def test_the_study_writes_its_files_and_the_noiseless_parts_give_the_exact_answer(tmp_path, capsys):
    run, out = write_run(tmp_path / "xor-1lane"), tmp_path / "study"
    result = hardware_study.main(["--runs", str(run), "--sequences", "2", "--scales", "0.25", "1", "--lengths", "6", "9",
                                  "--out", str(out)])
    for name in ("noise_scale.csv", "noise_scale.png", "length.csv", "length.png", "budget.csv", "budget.md",
                 "summary.json", "summary.md"):
        assert (out / name).stat().st_size > 0, name
    assert f"Wrote {out}/" in capsys.readouterr().out
    accuracies = [row["accuracy"] for key in ("noise_scale", "length", "budget", "cross_device") for row in result[key]]
    assert accuracies and all(0 <= a <= 1 for a in accuracies)
    scale = {row["scale"]: row["accuracy"] for row in result["noise_scale"]}
    assert scale[0.0] == pytest.approx(1.0, abs=1e-9) and scale[1.0] < scale[0.25] < 1.0  # more noise, less accuracy
    budget = {row["noise"]: row["accuracy"] for row in result["budget"]}
    assert budget["none"] == pytest.approx(1.0, abs=1e-9)  # every part off: the noiseless channel
    assert budget["all"] == pytest.approx(scale[1.0], abs=1e-12)  # all parts on: the device's noise model
    assert all(budget["all"] <= budget[f"without {part}"] + 1e-12 for part in hardware_study.PARTS)
    with open(out / "length.csv") as file:
        rows = list(csv.DictReader(file))
    assert [(r["length"], r["bits_read"]) for r in rows] == [("6", "2"), ("6", "5"), ("9", "2"), ("9", "5"), ("9", "8")]
    assert {row["evaluated on"] for row in result["cross_device"]} == {"willow", "rainbow", "weber"}
    saved = json.loads((out / "summary.json").read_text())
    assert saved["command"].startswith("python -m train.studies.hardware_study --runs")


def test_the_parts_add_up_to_the_device_noise_model():
    full, rebuilt = noise_properties("rainbow"), hardware_study.part_properties("rainbow", hardware_study.PARTS)
    assert rebuilt.t1_ns == full.t1_ns and rebuilt.fsim_errors == full.fsim_errors
    for op_id, p in full.gate_pauli_errors.items():
        assert rebuilt.gate_pauli_errors[op_id] == pytest.approx(p, abs=1e-15)
    alone = hardware_study.part_properties("rainbow", ["depolarising"])
    assert alone.readout_errors == {} and alone.fsim_errors == {}
    # Without thermal and coherent parts, cirq's depolarising share is what it was in the full model.
    depolarising = full._depolarizing_error  # pylint: disable=protected-access
    for op_id, p in alone._depolarizing_error.items():  # pylint: disable=protected-access
        assert p == pytest.approx(depolarising[op_id], abs=1e-15)
    with pytest.raises(ValueError, match="Unknown noise parts"):
        hardware_study.part_properties("willow", ["gravity"])


def test_the_study_refuses_other_runs(tmp_path):
    run = write_run(tmp_path / "elman", program="train.elman")
    with pytest.raises(SystemExit, match="not train.hardware"):
        hardware_study.main(["--runs", str(run), "--out", str(tmp_path / "study")])
