"""An ensemble on augmented codes keeps its members and their codes together (issue 21): the
codes beside a trained member are never refitted to other settings, a member whose codes
differ is refused naming the field, and a missing `umap` extra is one line on stderr before
any image is loaded."""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from train import mnist
from train.core import mnist_data

TINY = ["--quick", "--workspace-lanes", "2", "--stages", "1", "--degree", "1", "--no-progress",
        "--max-steps", "2", "--validate-every", "2", "--test-size", "32", "--warm-start", "0"]
PCA = ["--augment", "pca", "--augment-input", "bits", "--coordinates", "2", "--bits", "3"]
ROOT = pathlib.Path(__file__).resolve().parents[2]


def run_args(*extra: str):
    return mnist.parse(mnist.make_parser(), [*TINY, *PCA, *extra])


def saved_meta(folder) -> dict:
    with np.load(folder / mnist_data.CODES_FILE, allow_pickle=False) as npz:
        return json.loads(str(npz["meta"][()]))


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory):
    out = tmp_path_factory.mktemp("pca") / "ensemble"
    return out, mnist.main([*TINY, *PCA, "--out", str(out), "--ensemble", "2"])


def test_members_on_codes_record_the_embedding_and_match(ensemble):
    out, summary = ensemble
    first, second = (member["trained_on"] for member in summary["members"])
    assert first == second
    assert first["embedding"] == {"augment": "pca", "coordinates": 2, "bits": 3, "supervised": False,
                                  "augment_input": "bits"}
    again = mnist.main([*TINY, *PCA, "--out", str(out), "--ensemble", "2", "--resume"])  # matching: accepted
    assert again["ensemble"]["test"] == summary["ensemble"]["test"]


def test_resuming_with_other_codes_settings_refuses_to_refit_them(ensemble):
    out, _ = ensemble
    before = (out / mnist_data.CODES_FILE).read_bytes()
    with pytest.raises(SystemExit, match=r"holds codes of other settings \(coordinates 2 there, 3 now\) and .*seed0 "
                                         r"a model trained on them"):
        mnist.main([*TINY, *PCA, "--coordinates", "3", "--out", str(out), "--ensemble", "2", "--resume"])
    assert (out / mnist_data.CODES_FILE).read_bytes() == before  # not overwritten


def test_a_member_trained_on_other_codes_is_refused_naming_the_codes(ensemble, tmp_path):
    out, summary = ensemble
    path = out / mnist_data.CODES_FILE
    original = path.read_bytes()
    with np.load(path, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    arrays["test_codes"] = arrays["test_codes"] ^ np.uint8(0xE0)  # the same settings, other codes
    np.savez(path, **arrays)
    try:
        recorded = summary["members"][0]["trained_on"]["codes"]
        with pytest.raises(SystemExit, match=rf"error: seed 0 in .*seed0 was trained on codes '{recorded}', "
                                             r"this ensemble on codes '[0-9a-f]{16}'; an ensemble averages"):
            mnist.main([*TINY, *PCA, "--out", str(out), "--ensemble", "2", "--resume"])
    finally:
        path.write_bytes(original)


def test_codes_without_a_trained_member_beside_them_are_refitted(tmp_path):
    mnist_data.encoded_splits(run_args(), str(tmp_path))
    assert saved_meta(tmp_path)["coordinates"] == 2
    mnist_data.encoded_splits(run_args("--coordinates", "3"), str(tmp_path))  # a fresh folder: refitted
    assert saved_meta(tmp_path)["coordinates"] == 3
    (tmp_path / "seed4").mkdir()
    (tmp_path / "seed4" / "latest.npz").write_bytes(b"")  # a member started there
    with pytest.raises(SystemExit, match=r"coordinates 3 there, 2 now.*seed4 a model trained on them"):
        mnist_data.encoded_splits(run_args(), str(tmp_path), write=False)
    assert saved_meta(tmp_path)["coordinates"] == 3
    assert mnist_data.encoded_splits(run_args("--coordinates", "3"), str(tmp_path)).train_codes.shape[1] == 3


def test_a_missing_umap_stops_before_any_image_is_loaded(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "umap" else real(name, *a))

    def no_loading(*args, **kwargs):
        raise AssertionError("images loaded before the umap check")

    monkeypatch.setattr(mnist_data, "load_bits", no_loading)
    monkeypatch.setattr(mnist_data, "load_mnist", no_loading)
    with pytest.raises(SystemExit) as stop:
        mnist.main([*TINY, "--augment", "umap", "--augment-input", "bits", "--out", str(tmp_path / "run")])
    assert str(stop.value) == mnist_data.UMAP_MISSING


def test_a_missing_umap_is_one_line_on_stderr_without_a_traceback(tmp_path):
    """The program as a user runs it, with `umap` unimportable (a sitecustomize sets it to None)."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text("import sys\nsys.modules['umap'] = None\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-m", "train.mnist", *TINY, "--augment", "umap", "--augment-input", "bits",
         "--out", str(tmp_path / "run")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [mnist_data.UMAP_MISSING]
    assert "Traceback" not in done.stdout + done.stderr
