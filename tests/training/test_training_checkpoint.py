"""Tests for qrnn_tfq/training/checkpoint.py: atomic writes, round trips, damaged files."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from qrnn_tfq.training import atomic_write_text, load_checkpoint, save_checkpoint
from qrnn_tfq.training.checkpoint import assign_arrays, check_arrays


def _save(path, **overrides):
    contents = dict(
        model_weights=[np.arange(3, dtype=np.float32), np.ones((2, 4), np.float32)],
        optimizer_variables=[np.array(7, np.int64), np.zeros(3, np.float32)],
        step=7,
        history={"step": [1.0, 2.0], "loss": [0.5, float("nan")]},
        best_validation_loss=0.25,
        config={"trainer": {"loss": "paper"}, "run": {"workspace": 4}},
        state={"best_step": 2},
    )
    contents.update(overrides)
    save_checkpoint(path, **contents)
    return contents


def test_round_trip(tmp_path):
    path = tmp_path / "sub" / "latest.npz"
    saved = _save(path)
    checkpoint = load_checkpoint(path)
    assert checkpoint.path == os.fspath(path)
    for got, want in zip(checkpoint.model_weights, saved["model_weights"], strict=True):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype
    for got, want in zip(checkpoint.optimizer_variables, saved["optimizer_variables"], strict=True):
        np.testing.assert_array_equal(got, want)
    assert checkpoint.step == 7
    assert checkpoint.best_validation_loss == 0.25
    np.testing.assert_array_equal(checkpoint.history["loss"], [0.5, np.nan])
    assert list(checkpoint.history) == ["step", "loss"]
    assert checkpoint.config == saved["config"]
    assert checkpoint.state == {"best_step": 2}
    assert os.listdir(path.parent) == ["latest.npz"]  # no temporary file left behind


def test_no_best_loss_yet(tmp_path):
    _save(tmp_path / "c.npz", best_validation_loss=None)
    assert load_checkpoint(tmp_path / "c.npz").best_validation_loss is None


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "c.npz"
    _save(path)
    with pytest.raises(ValueError, match="JSON-serialisable"):
        _save(path, step=8, config={"bad": object()})
    assert load_checkpoint(path).step == 7
    assert os.listdir(tmp_path) == ["c.npz"]


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"step": -1}, r"`step` must be an int >= 0, got -1"),
        ({"history": {"a": [1.0], "b": [1.0, 2.0]}}, "equally long 1-d columns"),
    ],
)
def test_bad_save_arguments(tmp_path, overrides, match):
    with pytest.raises(ValueError, match=match):
        _save(tmp_path / "c.npz", **overrides)


def test_atomic_write_text(tmp_path):
    atomic_write_text(tmp_path / "a.json", "{}\n")
    atomic_write_text(tmp_path / "a.json", "[]\n")
    assert (tmp_path / "a.json").read_text() == "[]\n"
    assert os.listdir(tmp_path) == ["a.json"]


def _corrupt_garbage(path):
    path.write_bytes(b"this is not a checkpoint at all")


def _corrupt_truncated(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _corrupt_missing_array(path):
    with np.load(path) as npz:
        arrays = {key: npz[key] for key in npz.files if key != "model_001"}
    np.savez(path, **arrays)


def _corrupt_wrong_shape(path):
    with np.load(path) as npz:
        arrays = {key: npz[key] for key in npz.files}
    arrays["model_000"] = np.zeros(5, np.float32)
    with open(path, "wb") as file:
        np.savez(file, **arrays)


def _corrupt_not_ours(path):
    np.savez(path, metadata=np.array('{"format": "something else"}'))


@pytest.mark.parametrize(
    "corrupt, reason",
    [
        (_corrupt_garbage, ""),
        (_corrupt_truncated, ""),
        (_corrupt_missing_array, "model_001"),
        (_corrupt_wrong_shape, r"model_000 has shape \(5,\), its metadata says \(3,\)"),
        (_corrupt_not_ours, "not a qrnn_tfq.training.checkpoint file"),
    ],
)
def test_damaged_checkpoint_raises_value_error_naming_the_file(tmp_path, corrupt, reason):
    path = tmp_path / "latest.npz"
    _save(path)
    corrupt(path)
    with pytest.raises(ValueError, match=re.escape(f"Checkpoint {os.fspath(path)!r} is corrupt or truncated") + ".*" + reason):
        load_checkpoint(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="No checkpoint at"):
        load_checkpoint(tmp_path / "none.npz")


class _Variable:
    def __init__(self, shape):
        self.shape, self.name, self.value = shape, "v", None

    def assign(self, value):
        self.value = value


def test_assign_arrays_checks_count_and_shapes():
    variables = [_Variable((3,)), _Variable((2, 2))]
    with pytest.raises(ValueError, match=r"Checkpoint 'c.npz' does not match: it has 1 model weights, the run has 2"):
        check_arrays(variables, [np.zeros(3)], "model weights", "c.npz")
    with pytest.raises(ValueError, match=r"model weights 1 \(v\) has shape \(4,\) in the checkpoint and \(2, 2\) in the run"):
        assign_arrays(variables, [np.zeros(3), np.zeros(4)], "model weights", "c.npz")
    assert variables[0].value is None  # nothing assigned on a mismatch
    assign_arrays(variables, [np.ones(3), np.ones((2, 2))], "model weights", "c.npz")
    np.testing.assert_array_equal(variables[1].value, np.ones((2, 2)))
