"""`python -m train.export RUN` on run folders of `train.hardware` (train/core/hardware_export.py)."""

from __future__ import annotations

import json
import os

import cirq
import numpy as np
import pytest

from data.bit_tasks import bit_task
from qrnn_tfq.export.files import read_json, read_proto
from qrnn_tfq.hardware.cell import HardwareCell, resolver, sequence_circuit
from qrnn_tfq.hardware.devices import hardware_device
from qrnn_tfq.hardware.report import circuit_duration_ns
from qrnn_tfq.layers.hardware import HardwareQRNN
from train import export
from train.core.hardware_runs import TEST_SEED

LENGTH = 6  # xor: 5 steps, 2 readouts
WEIGHTS = np.array([0.0, np.pi])  # 1 lane, 1 layer: ry(pi x) per step


def write_run(folder, *, lanes=1, length=LENGTH, weights=WEIGHTS, device="willow"):
    os.makedirs(folder, exist_ok=True)
    settings = {"program": "train.hardware", "task": "xor", "length": length,
                "layer": {"device": device, "lanes": lanes, "layers": 1, "noisy": True, "noise_scale": 1.0, "seed": 0,
                          "input_angle": 0.75 * np.pi},
                "training": {"curriculum": [], "train_sequences": 8, "batch": 4, "epochs": 1, "lr": 0.05, "seed": 0}}
    with open(os.path.join(folder, "run.json"), "w", encoding="utf-8") as file:
        json.dump(settings, file)
    np.savez(os.path.join(folder, "weights.npz"), kernel=np.asarray(weights, dtype=np.float64))
    return str(folder)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("hw") / "run")


@pytest.mark.parametrize("device", ["willow", "rainbow"])
def test_sequence_circuit_is_the_resolved_protocol_and_validates(run, tmp_path, device):
    out = tmp_path / device
    report = export.main([run, "--device", device, "--sequence", "1", "--out", str(out), "--no-progress"])
    circuit = read_json(out / "sequence_device.json")
    hardware_device(device).validate_circuit(circuit)
    data = bit_task("xor", 2, length=LENGTH, seed=TEST_SEED)
    cell = HardwareCell(device=device, lanes=1, layers=1)
    expected = cirq.resolve_parameters(sequence_circuit(cell, data.scored), resolver(cell, WEIGHTS, data.inputs[1]))
    assert circuit == expected
    assert report["input_bits"] == [int(b) for b in data.inputs[1]]
    assert len(read_proto(out / "sequence_device.pb")) == len(circuit)
    assert (out / "sequence_device.qasm").read_text().startswith("// Generated from Cirq")


def test_report_fields_and_counts(run, tmp_path, capsys):
    report = export.main([run, "--out", str(tmp_path), "--no-progress"])
    assert f"Wrote {os.path.join(str(tmp_path), '')}" in capsys.readouterr().out
    saved = json.loads((tmp_path / "report.json").read_text())
    for key in ("device", "gate_set", "qubits", "per_step", "sequence", "two_qubit_gate", "gate_times_ns"):
        assert key in saved
    assert saved["device"] == "willow" and saved["two_qubit_gate"] == "cz"
    assert saved["gate_set"] == ["CZPowGate", "MeasurementGate", "PhasedXZGate"]
    circuit = read_json(tmp_path / "sequence_device.json")
    two = sum(1 for op in circuit.all_operations() if len(op.qubits) == 2)
    seq, step = saved["sequence"], saved["per_step"]
    assert seq["two_qubit"] == two == report["sequence"]["two_qubit"]
    unscored = saved["steps"] - saved["scored_steps"]
    for kind in ("one_qubit", "two_qubit"):
        assert seq[kind] == step["scored"][kind] * saved["scored_steps"] + step["unscored"][kind] * unscored
    assert seq["measurements"] == saved["scored_steps"] == 2
    assert seq["depth"] == len(circuit) and seq["qubits"] == len(saved["qubits"]) == 3
    assert seq["time_per_shot_us"] == pytest.approx(circuit_duration_ns(circuit, "willow") / 1000)
    assert "| sequence (5 steps, 2 scored) |" in (tmp_path / "report.md").read_text()


def test_circuit_duration_sums_the_slowest_gate_per_moment():
    a, b = cirq.GridQubit(5, 5), cirq.GridQubit(5, 6)
    x = cirq.PhasedXZGate(x_exponent=0.5, z_exponent=0, axis_phase_exponent=0.5)
    circuit = cirq.Circuit([cirq.Moment(x(a)), cirq.Moment(cirq.CZ(a, b)), cirq.Moment(x(a), cirq.Z(b)),
                            cirq.Moment(cirq.measure(a, b))])
    assert circuit_duration_ns(circuit, "willow") == 25 + 42 + 25 + 600
    iswap = cirq.Circuit(cirq.Moment((cirq.ISWAP**0.5)(a, b)), cirq.Moment(cirq.measure(a)))
    assert circuit_duration_ns(iswap, "rainbow") == 32 + 4000


def test_estimate_restarts_from_its_state_file(run, tmp_path, monkeypatch, capsys):
    args = [run, "--out", str(tmp_path), "--noisy-shots", "40", "--sequences", "2", "--noise-scale", "2",
            "--no-progress"]
    first = export.main(args)["estimate"]
    assert (tmp_path / "estimate_state.npz").exists() and (tmp_path / "estimate_state_noiseless.npz").exists()
    assert first["noise_scale"] == 2 and first["noisy"]["sequences"] == 2
    assert first["noiseless"]["accuracy"] >= first["noisy"]["accuracy"]

    def no_sampling(*_args, **_kwargs):
        raise AssertionError("sampled again")

    monkeypatch.setattr(HardwareQRNN, "sample", no_sampling)  # finished sequences come from the state files
    again = export.main(args)["estimate"]
    for side in ("noisy", "noiseless"):
        assert {k: v for k, v in again[side].items() if k != "wall_time_s"} == \
            {k: v for k, v in first[side].items() if k != "wall_time_s"}
    monkeypatch.undo()
    capsys.readouterr()
    with pytest.raises(SystemExit, match="2"):
        export.main([*args[:-2], "1", "--no-progress"])  # noise scale 1: other settings
    assert "estimate_state.npz holds an estimate with other settings" in capsys.readouterr().err


@pytest.mark.parametrize("option", [["--gateset", "cz"], ["--amplification", "1"], ["--input", "01"],
                                    ["--samples", "3"], ["--noisy-steps", "2"]])
def test_paper_options_are_refused_on_a_hardware_run(run, tmp_path, capsys, option):
    with pytest.raises(SystemExit, match="2"):
        export.main([run, *option, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert f"error: {option[0]} does not apply to a hardware-native run" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("option", [["--noise-scale", "2"], ["--device", "willow"]])
def test_hardware_options_are_refused_on_a_paper_run(tmp_path, capsys, option):
    folder = tmp_path / "paper"
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps({"program": "train.elman"}))
    with pytest.raises(SystemExit, match="2"):
        export.main([str(folder), *option, "--out", str(tmp_path / "out")])
    assert option[0] in capsys.readouterr().err


def test_a_device_too_small_for_the_protocol_is_refused_by_name(tmp_path, capsys):
    run = write_run(tmp_path / "two", lanes=2, length=24, weights=np.zeros(8))
    with pytest.raises(SystemExit, match="2"):
        export.main([run, "--device", "rainbow", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert "--device rainbow cannot hold this protocol" in err and "18 qubits" in err
    assert not (tmp_path / "out" / "sequence_device.json").exists()


def test_noise_scale_out_of_range_is_refused(run, tmp_path, capsys):
    with pytest.raises(SystemExit, match="2"):
        export.main([run, "--noise-scale", "5", "--out", str(tmp_path)])
    assert "--noise-scale must be in [0.25, 4.0]" in capsys.readouterr().err
