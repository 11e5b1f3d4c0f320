"""The benchmark command runs on a tiny configuration (it is a command, not a timed test)."""

import contextlib
import dataclasses
import io
import json
import shutil

import pytest
import tensorflow as tf

import qrnn_tfq
import qrnn_tfq.native
from train.core import roofline
from train.studies import bench

NATIVE = qrnn_tfq.native.available()
GXX = shutil.which("g++") is not None


@pytest.fixture(scope="module")
def tiny_run() -> tuple[str, list[dict]]:
    """The printed output and the BENCH_JSON rows of one run of the tiny case on the default engines."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert bench.main(["--cases", "tiny", "--repeats", "1"]) == 0
    text = out.getvalue()
    return text, json.loads(text.split("BENCH_JSON ", 1)[1])


def test_bench_runs_tiny_case(tiny_run):
    out, rows = tiny_run
    assert "tiny" in out.splitlines()[2]
    row = next(r for r in rows if r["engine"] == "state_vector")
    assert row["name"] == "tiny" and row["qubits"] == 3 and row["engine_run"] == "state_vector"
    assert row["train_s"] > 0 and row["eval_s"] > 0 and row["peak_rss_gib"] > 0
    if not NATIVE:
        assert [r["engine"] for r in rows] == ["state_vector"]
        assert "note: engine 'native' skipped:" in out


@pytest.mark.skipif(not NATIVE, reason=f"native op unavailable: {qrnn_tfq.native.unavailable_reason()}")
def test_bench_runs_both_engines(tiny_run):
    out, rows = tiny_run
    assert [(r["name"], r["engine"], r["engine_run"]) for r in rows] == [
        ("tiny", "native", "native"), ("tiny", "state_vector", "state_vector")]
    native, state_vector = rows
    for step in ("train", "eval"):
        ratio = state_vector[f"{step}_s"] / native[f"{step}_s"]
        assert native[f"state_vector_over_native_{step}"] == state_vector[f"state_vector_over_native_{step}"] == ratio
    assert "state_vector / native: train" in out


@pytest.mark.skipif(not GXX, reason="no g++")
def test_roofline_probe_builds_and_runs(tiny_run, tmp_path):
    binary, note = roofline.build_probe(str(tmp_path))
    assert binary is not None, note
    assert roofline.run_probe(binary, bench.CASES["tiny"], runs=1) > 0
    out, rows = tiny_run  # the run built its own
    for r in rows:
        assert r["probe_s"] > 0 and r["eval_over_probe"] == pytest.approx(r["eval_s"] / r["probe_s"])
    assert "eval/probe" in out.splitlines()[0] and "probe (1 core, forward)" in out


def test_probe_without_compiler(tmp_path):
    assert roofline.build_probe(str(tmp_path), compiler="no-such-g++") == (None, "no roofline probe: no-such-g++ is not installed")


def test_table_without_native_or_probe():
    """A run with one engine and no probe: no ratio line, no probe column."""
    row = {"name": "tiny", "engine": "state_vector", "qubits": 3, "batch": 4, "steps": 5, "train_s": 0.2, "eval_s": 0.1,
           "train_over_eval": 2.0, "eval_updates_per_s": 1e6, "peak_rss_gib": 0.5}
    rows = bench.add_case_figures([row], {})
    assert rows[0]["probe_s"] is None and rows[0]["state_vector_over_native_eval"] is None
    table = bench.format_table(rows).splitlines()
    assert len(table) == 3 and "probe" not in table[0]


def test_layer_for_a_checkout_without_engine_names(monkeypatch):
    """`--compare-with` an older checkout: a QRNN without `engine` gets none."""
    calls = []

    def old_qrnn(*args, **kwargs):
        calls.append(kwargs)
        if "engine" in kwargs:
            raise TypeError("unexpected keyword argument 'engine'")
        return "layer"

    monkeypatch.setattr(qrnn_tfq, "QRNN", old_qrnn)
    assert bench.make_layer(bench.CASES["tiny"], "native") == "layer"
    assert "engine" in calls[0] and "engine" not in calls[1]


def test_amplitude_update_count():
    case = bench.CASES["mnist"]
    # Per step: 24 neurons + 16 rotations on 2^8 amplitudes, 2 output neurons on 2^10.
    assert case.amplitude_updates() == (40 * 256 + 2 * 1024) * 99 * 100


def test_probe_renormalises_as_the_engine():
    from qrnn_tfq.engine.state_ops import normalize_interval

    assert [roofline.probe_arguments(dataclasses.replace(bench.CASES["mnist"], order=order))[-1] for order in range(5)] == [
        normalize_interval(order) for order in range(5)]


def test_gpu_without_gpu_is_refused(monkeypatch, capsys):
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])  # any machine: no GPU
    with pytest.raises(SystemExit, match="2"):
        bench.main(["--device", "gpu", "--cases", "tiny"])
    assert "error: --device gpu: TensorFlow sees no GPU on this machine." in capsys.readouterr().err
