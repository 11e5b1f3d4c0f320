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


def hand_codes():
    """One coordinate, classes 3 and 5, cells by the top bits:
    training cell 0b00.. holds labels [3, 3, 5] (majority 3), cell 0b01.. [5, 5] (5), cell 0b10.. [3, 5] (a tie: 3);
    nothing in 0b11.., whose test image backs off to the 1-bit cell 0b1... ([3, 5]: a tie, 3)."""
    top = lambda two_bits: np.uint8(two_bits << 6)  # noqa: E731
    train = np.array([[top(0)], [top(0)], [top(0)], [top(1)], [top(1)], [top(2)], [top(2)]], np.uint8)
    test = np.array([[top(0)], [top(0)], [top(1)], [top(2)], [top(3)], [top(3)]], np.uint8)
    return {"train_codes": train, "train_labels": np.array([3, 3, 5, 5, 5, 3, 5], np.uint8),
            "validation_codes": test[:2], "validation_labels": np.array([3, 5], np.uint8),
            "test_codes": test, "test_labels": np.array([3, 5, 5, 3, 5, 5], np.uint8)}


def test_the_code_cell_majority_by_hand():
    codes = hand_codes()
    predicted, backed_off = mnist_knn.cell_majority(codes, 2, "test")
    np.testing.assert_array_equal(predicted, [3, 3, 5, 3, 3, 3])
    assert backed_off == pytest.approx(2 / 6)
    result = mnist_knn.reference_accuracies(codes, 2, 15, "cells")
    assert result["test"] == pytest.approx(3 / 6) and result["test_errors"] == [1, 4, 5]
    assert result["validation"] == pytest.approx(1 / 2)
    # The cap: test cells 00 [3, 5], 01 [5], 10 [3], 11 [5, 5] -> 1 + 1 + 1 + 2 of 6.
    assert result["cap"] == pytest.approx(5 / 6) and result["cap"] >= result["test"]
    assert mnist_knn.cell_cap(codes["test_codes"], codes["test_labels"], 1) == pytest.approx(4 / 6)


def test_a_range_of_bits_prints_a_line_per_resolution(tmp_path, capsys):
    np.savez(tmp_path / "augment_codes.npz", meta=np.array("{}"), **hand_codes())
    results = mnist_knn.main([str(tmp_path), "--classifier", "cells", "--bits", "1-2"])
    assert sorted(results) == [1, 2] and results[2]["test"] == pytest.approx(3 / 6)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "at 1 bits" in lines[0] and "cap (test majority per cell) 83.33 %" in lines[1]
    with pytest.raises(SystemExit):
        mnist_knn.main([str(tmp_path), "--bits", "0-3"])
    assert "bits must be N, N-M or N,M" in capsys.readouterr().err


def test_a_cell_empty_at_every_resolution_backs_off_to_the_training_majority():
    """Training codes all have the top bit 0 (labels [7, 2, 7]: majority 7); a test image with the
    top bit 1 finds no training cell at 2 or 1 bits and takes the majority of all, 7."""
    codes = {"train_codes": np.array([[0], [64], [0]], np.uint8), "train_labels": np.array([7, 2, 7], np.uint8),
             "validation_codes": np.array([[64]], np.uint8), "validation_labels": np.array([2], np.uint8),
             "test_codes": np.array([[0], [64], [128], [192]], np.uint8), "test_labels": np.array([7, 2, 7, 2], np.uint8)}
    predicted, backed_off = mnist_knn.cell_majority(codes, 2, "test")
    np.testing.assert_array_equal(predicted, [7, 2, 7, 7])
    assert backed_off == pytest.approx(2 / 4)
    result = mnist_knn.reference_accuracies(codes, 2, 15, "cells")
    assert result["test"] == pytest.approx(3 / 4) and result["test_errors"] == [3] and result["validation"] == 1.0
    assert result["cap"] == pytest.approx(1.0)  # every test cell holds one image: the cap's blind spot


def test_bits_3_to_4_print_two_lines_with_the_cap_beside(tmp_path, capsys):
    codes = hand_codes()  # two bits carry everything: 3 and 4 bits give the same cells
    np.savez(tmp_path / "augment_codes.npz", meta=np.array("{}"), **codes)
    results = mnist_knn.main([str(tmp_path), "--classifier", "cells", "--bits", "3-4"])
    assert sorted(results) == [3, 4]
    for bits in (3, 4):
        assert results[bits]["test"] == pytest.approx(3 / 6) and results[bits]["cap"] == pytest.approx(5 / 6)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" at ")[1].split(" bits")[0] for line in lines] == ["3", "4"]
    assert all("test 50.00 %" in line and "cap (test majority per cell) 83.33 %" in line
               and "low resolution only" in line for line in lines)
    results = mnist_knn.main([str(tmp_path), "--classifier", "knn", "--neighbours", "1", "--bits", "2,8"])
    assert sorted(results) == [2, 8]  # a list, for any classifier


def test_cells_too_wide_for_a_key_are_refused():
    with pytest.raises(ValueError, match="cells of 8 coordinates x 8 bits do not fit an int64 key"):
        mnist_knn.cell_keys(np.zeros((1, 8), np.uint8), 8)
