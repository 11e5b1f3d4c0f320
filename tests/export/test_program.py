"""`python -m train.export` and what it reads: run folders, checkpoints, reports."""

import json
import math
import os

import cirq
import numpy as np
import pytest

from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.export.files import read_json, read_proto
from qrnn_tfq.export.load import find_checkpoint, load_run
from qrnn_tfq.export.report import circuit_summary, duration_table, sequence_summary
from qrnn_tfq.export.steps import compile_cell, sequence_circuit
from qrnn_tfq.training.checkpoint import save_checkpoint

# A tiny XOR run: W=1, S=0, d=1, ord=1 and the task's 2 in/out lanes: N = 3 neurons, 2 subsets.
RUN = {"program": "train.elman", "model": "qrnn", "task": {"name": "xor", "length": 6, "protocol": None},
       "workspace": 1, "stages": 0, "degree": 1, "order": 1, "bias": math.pi / 2, "val_batch": 3,
       "optimizer": "adam", "lr": 0.005, "batch": 3, "loss": "paper", "validate_every": 2}  # a run's settings


def write_run(folder, run=RUN, shapes=((3,), (3, 2), (0, 1)), name="best.npz"):
    rng = np.random.default_rng(0)
    weights = [rng.normal(0, 0.5, size=shape) for shape in shapes]
    save_checkpoint(os.path.join(folder, name), model_weights=weights, optimizer_variables=[], step=7, history={},
                    best_validation_loss=0.1, config={"run": run, "trainer": {"seed": 2}})
    return weights


@pytest.mark.parametrize("name", ["workspace", "workspace_lanes"])  # the run settings' name before and after issue 14
def test_load_run_reads_topology_and_weights(tmp_path, name):
    run = {**{k: v for k, v in RUN.items() if k != "workspace"}, name: 1}
    weights = write_run(tmp_path, run=run)
    loaded = load_run(tmp_path)
    assert loaded.config == QRNNConfig(workspace_lanes=1, io_lanes=2, stages=0, degree=1, order=1)
    assert loaded.seed == 2 and loaded.step == 7
    np.testing.assert_array_equal(loaded.weights.phi, weights[1])
    assert find_checkpoint(tmp_path / "best.npz") == str(tmp_path / "best.npz")


def test_load_run_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="No run folder or checkpoint"):
        load_run(tmp_path / "missing")
    (tmp_path / "seed0").mkdir()
    write_run(tmp_path / "seed0")
    with pytest.raises(FileNotFoundError, match=r"it holds the runs \['seed0'\]"):
        load_run(tmp_path)
    write_run(tmp_path / "rnn", run={**RUN, "model": "rnn"})
    with pytest.raises(ValueError, match="classical 'rnn' baseline"):
        load_run(tmp_path / "rnn")
    write_run(tmp_path / "bad", shapes=((3,), (3, 5), (0, 1)))
    with pytest.raises(ValueError, match=r"`phi` must have shape \(3, 2\)"):
        load_run(tmp_path / "bad")


def test_durations_fill_the_gaps_of_the_device_specification():
    table = duration_table("rainbow")
    assert table.two_qubit_ns == {"cz": 32.0, "sqrt_iswap": 32.0}
    assert table.measurement_ns == 4000.0 and table.one_qubit_ns == 25.0
    assert "missing" in table.sources["cz"] and "implausible" in table.sources["measurement"]
    a, b = sorted(cirq.GridQubit.rect(1, 2, 5, 3))
    circuit = cirq.Circuit(cirq.X(a), cirq.CZ(a, b), cirq.Z(b), cirq.measure(a, key="m"))
    summary = circuit_summary(circuit, table)
    assert summary["time_per_shot_us"] == pytest.approx((25 + 32 + 0 + 4000) / 1000)
    assert (summary["one_qubit"], summary["virtual_z"], summary["two_qubit"], summary["measurements"]) == (1, 1, 1, 1)


def test_sequence_summary_equals_the_unrolled_count(tmp_path):
    write_run(tmp_path)
    loaded = load_run(tmp_path)
    cell = compile_cell(loaded.config, loaded.weights, "rainbow", "cz")
    inputs, targets = np.array([[0, 1], [0, 0], [0, 1]]), np.array([[1, 0], [1, 0], [0, 1]])
    sequence = sequence_circuit(cell, inputs, targets, reset="target")
    table = duration_table("rainbow")
    flat = cirq.unroll_circuit_op(sequence, deep=True, tags_to_check=None)
    assert sequence_summary(sequence, table) == pytest.approx(circuit_summary(flat, table))


def test_the_program_writes_valid_files_and_a_report(tmp_path, capsys):
    from train import export

    write_run(tmp_path / "run")
    out = tmp_path / "out"
    report = export.main([str(tmp_path / "run"), "--device", "weber", "--gateset", "sqrt_iswap", "--input", "01",
                          "--noisy-shots", "20", "--sequences", "1", "--out", str(out), "--no-progress"])
    assert sorted(os.listdir(out)) == ["cell.json", "cell.pb", "cell.qasm", "report.json", "report.md",
                                       "sequence.json", "sequence_device.json"]
    assert f"Wrote {out}" in capsys.readouterr().out
    from qrnn_tfq.export.compile import load_device

    device = load_device("weber")
    device.validate_circuit(read_proto(out / "cell.pb"))
    device.validate_circuit(read_json(out / "sequence_device.json"))
    with pytest.raises(ValueError, match="not supported"):  # classical control: the device refuses it
        device.validate_circuit(read_json(out / "sequence.json"))
    saved = json.loads((out / "report.json").read_text())
    assert saved["input_word"] == [0, 1] and saved["device"] == "weber"
    assert {(row["form"], row["gateset"]) for row in saved["circuits"]} == {("postselected", "cz"),
                                                                             ("postselected", "sqrt_iswap")}
    success = saved["success"][0]
    assert 0 < success["step_success_min"] <= success["step_success_mean"] <= 1
    assert saved["noisy"]["sequences"] == 1 and 0 <= saved["noisy"]["noisy"]["word"] <= 1
    assert report["circuits"][0]["step"]["two_qubit"] > 0
    assert "## Noisy estimate" in (out / "report.md").read_text()


def test_the_program_refuses_bad_input_bits(tmp_path):
    from train import export

    write_run(tmp_path / "run")
    with pytest.raises(SystemExit, match="--input must be 2 bits"):
        export.main([str(tmp_path / "run"), "--input", "012", "--out", str(tmp_path / "out"), "--no-progress"])
