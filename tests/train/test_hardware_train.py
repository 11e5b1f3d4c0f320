"""`python -m train.hardware`: a run folder, same seed same result, resume, refusals."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from train import hardware

TINY = ["--task", "parity", "--length", "3", "--curriculum", "1", "--epochs", "2", "--train-sequences", "32",
        "--batch", "16", "--sequences", "3", "--shots", "20", "--no-progress"]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    folder = str(tmp_path_factory.mktemp("hw") / "run")
    return folder, hardware.main([*TINY, "--out", folder])


def test_run_folder_holds_settings_weights_history_and_estimate(run: tuple[str, dict]) -> None:
    folder, summary = run
    assert {"run.json", "weights.npz", "history.csv", "history.png", "estimate.json", "phase0.npz",
            "phase1.npz"} <= set(os.listdir(folder))
    assert not os.path.exists(os.path.join(folder, "backup"))
    with open(os.path.join(folder, "run.json")) as file:
        settings = json.load(file)
    assert settings["layer"] == {"device": "willow", "lanes": 1, "layers": 1, "noisy": True, "noise_scale": 1.0,
                                 "seed": 0, "input_angle": 0.75 * np.pi}
    assert settings["training"]["curriculum"] == [1]
    assert summary["two_qubit_gates"] == {"gate": "cz", "step": 0, "scored_step": 1, "readout": 1, "sequence": 1}
    assert 0 <= summary["estimate"]["accuracy"] <= 1 and summary["estimate"]["shots_per_sequence"] == 20
    with open(os.path.join(folder, "history.csv")) as file:
        assert len(file.read().splitlines()) == 1 + 2 * 2  # header, two phases of two epochs


def test_same_command_continues_from_the_finished_phases(run: tuple[str, dict]) -> None:
    folder, summary = run
    os.remove(os.path.join(folder, "estimate.json"))
    before = {name: os.path.getmtime(os.path.join(folder, name)) for name in ("phase0.npz", "phase1.npz")}
    again = hardware.main([*TINY, "--out", folder])
    assert again["estimate"] == summary["estimate"]
    assert {name: os.path.getmtime(os.path.join(folder, name)) for name in before} == before


def test_same_seed_same_weights(run: tuple[str, dict], tmp_path: pytest.TempPathFactory) -> None:
    folder, _ = run
    other = str(tmp_path / "again")
    hardware.main([*TINY, "--out", other])
    np.testing.assert_array_equal(np.load(os.path.join(folder, "weights.npz"))["kernel"],
                                  np.load(os.path.join(other, "weights.npz"))["kernel"])


def test_a_folder_with_other_settings_is_refused(run: tuple[str, dict]) -> None:
    folder, _ = run
    with pytest.raises(SystemExit, match="holds a run with other settings"):
        hardware.main([*TINY, "--seed", "1", "--out", folder])


def test_bad_options_are_refused(capsys: pytest.CaptureFixture, tmp_path: pytest.TempPathFactory) -> None:
    with pytest.raises(SystemExit, match="2"):
        hardware.main([*TINY, "--noise-scale", "9", "--out", str(tmp_path / "x")])
    assert "--noise-scale: must be in [0.25, 4], got 9.0" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="2"):
        hardware.main([*TINY, "--curriculum", "1,a", "--out", str(tmp_path / "x")])
    assert "expected lengths like 1,2,4, got '1,a'" in capsys.readouterr().err
