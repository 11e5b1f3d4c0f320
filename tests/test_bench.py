"""The benchmark command runs on a tiny configuration (it is a command, not a timed test)."""

import json

import pytest
import tensorflow as tf

from train.studies import bench


def test_bench_runs_tiny_case(capsys):
    assert bench.main(["--cases", "tiny", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "tiny" in out.splitlines()[2]
    rows = json.loads(out.split("BENCH_JSON ", 1)[1])
    assert rows[0]["name"] == "tiny" and rows[0]["qubits"] == 3
    assert rows[0]["train_s"] > 0 and rows[0]["eval_s"] > 0 and rows[0]["peak_rss_gib"] > 0


def test_amplitude_update_count():
    case = bench.CASES["mnist"]
    # Per step: 24 neurons + 16 rotations on 2^8 amplitudes, 2 output neurons on 2^10.
    assert case.amplitude_updates() == (40 * 256 + 2 * 1024) * 99 * 100


def test_gpu_without_gpu_is_refused(monkeypatch, capsys):
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])  # any machine: no GPU
    with pytest.raises(SystemExit, match="2"):
        bench.main(["--device", "gpu", "--cases", "tiny"])
    assert "error: --device gpu: TensorFlow sees no GPU on this machine." in capsys.readouterr().err
