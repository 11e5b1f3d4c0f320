"""Tests for `python -m train.studies.mnist_knn`: the classical reference on augmented codes and pixel words."""

from __future__ import annotations

import numpy as np
import pytest

from train.studies import mnist_knn


def write_codes(path, rng):
    """Two classes: bit 6 (the second most significant) of coordinate 0 is the label; the
    top bit and the low bits of both coordinates are noise."""
    def split(n):
        labels = rng.integers(0, 2, n).astype(np.uint8)
        first = 128 * rng.integers(0, 2, n) + 64 * labels + rng.integers(0, 8, n)
        codes = np.stack([first, rng.integers(0, 8, n)], axis=1).astype(np.uint8)
        return codes, labels
    arrays = {}
    for name, n in (("train", 400), ("validation", 100), ("test", 100)):
        arrays[f"{name}_codes"], arrays[f"{name}_labels"] = split(n)
    np.savez(path, meta=np.array("{}"), **arrays)


def test_knn_sees_only_the_kept_bits(tmp_path, capsys):
    write_codes(tmp_path / "augment_codes.npz", np.random.default_rng(0))
    assert mnist_knn.main([str(tmp_path), "--bits", "2"]) == {"validation": 1.0, "test": 1.0, "test_errors": []}
    assert "test 100.00 %" in capsys.readouterr().out
    # One bit keeps only the noise bit: chance level.
    assert mnist_knn.main([str(tmp_path / "augment_codes.npz"), "--bits", "1"])["test"] < 0.7


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match=r"cannot read the augmented codes '.*nothing/augment_codes.npz'"):
        mnist_knn.main([str(tmp_path / "nothing")])


def test_pixel_words_of_the_embedded_data(capsys):
    result = mnist_knn.main(["--digits", "0,1", "--classifier", "logistic"])
    assert result["test"] > 0.99  # the 10x10 words separate 0 from 1 almost perfectly
    assert len(result["test_errors"]) == round((1 - result["test"]) * 2115)  # 2115 test images of 0 and 1
    assert "logistic regression on the pixel words of digits [0, 1]" in capsys.readouterr().out
    for argv in ([], ["some-run", "--digits", "0,1"]):  # neither a run nor --digits; both
        with pytest.raises(SystemExit, match="2"):
            mnist_knn.main(argv)
        assert "error: give a run folder or --digits, not both" in capsys.readouterr().err
