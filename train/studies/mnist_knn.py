"""How far the QRNN's input bits alone can go: a classical classifier on them.

    python -m train.studies.mnist_knn runs/mnist-0123456789-umap2-r6-deskewed-seed0 --bits 6
    python -m train.studies.mnist_knn --digits 0,1 --classifier logistic

With a run: reads `<run>/augment_codes.npz` (the 8-bit codes `python -m train.mnist
--augment ...` fitted on the training images) and keeps the `--bits` most significant
bits of each coordinate. With `--digits`: the pixel-by-pixel task's words (both lanes of
the 99 steps the cell reads) from the embedded data, with train.mnist's split. Fits
scikit-learn's `KNeighborsClassifier` (or `LogisticRegression`) on the training images
and prints its accuracy on the validation and test images, and the test errors. A
classical reference: the QRNN sees nothing but these bits.

`--classifier cells` is the code-cell majority classifier: a cell is the tuple of an
image's codes cut to `--bits` bits, and each image gets the majority label of the training
images in its cell (ties: the smallest label); a cell no training image fell in backs off
to the same cell at one bit fewer per coordinate, and so on, down to 0 bits (the majority
of all training images; the printed share of test images that needed a back-off). It is
the Bayes classifier of the quantised codes as the training images estimate it. Beside it,
the "cap": the majority label of the *test* images in each cell, an oracle bound that no
function of these bits can beat on this test set; at high resolution (many coordinates x
bits) cells hold single images and it tends to 100 %, so it is informative at low
resolution only. `--bits 3-8` (or `3,6`) prints one line per resolution.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from data.mnist_sequences import mnist_splits
from train.core.mnist_data import CODES_FILE, SPLIT_SEED, parse_digits

CLASSIFIERS = ("knn", "logistic", "cells")


def reference_accuracies(codes: dict[str, np.ndarray], bits: int, neighbours: int,
                         classifier: str = "knn") -> dict[str, Any]:
    """Validation and test accuracy (and test errors) of a classifier fitted on the training
    codes cut to `bits` bits."""
    extra = {}
    if classifier == "cells":
        cells, wrong = training_cells(codes, bits), {}
        for split in ("validation", "test"):
            predicted, backed_off = predict_cells(cells, codes[f"{split}_codes"], bits)
            wrong[split] = predicted != codes[f"{split}_labels"]
        extra = {"backed_off": backed_off, "cap": cell_cap(codes["test_codes"], codes["test_labels"], bits)}
    else:
        shift = 8 - bits
        model = KNeighborsClassifier(neighbours) if classifier == "knn" else LogisticRegression(max_iter=5000)
        model.fit(codes["train_codes"] >> shift, codes["train_labels"])
        wrong = {split: model.predict(codes[f"{split}_codes"] >> shift) != codes[f"{split}_labels"]
                 for split in ("validation", "test")}
    return {**{split: float(np.mean(~miss)) for split, miss in wrong.items()},
            "test_errors": np.flatnonzero(wrong["test"]).tolist(), **extra}


def cell_keys(codes: np.ndarray, bits: int) -> np.ndarray:
    """(N, k) 8-bit codes -> (N,) int64 keys of their cells at `bits` bits per coordinate."""
    if np.shape(codes)[1] * bits > 63:
        raise ValueError(f"cells of {np.shape(codes)[1]} coordinates x {bits} bits do not fit an int64 key (63 bits)")
    cut = np.asarray(codes, dtype=np.int64) >> (8 - bits)
    return (cut << (bits * np.arange(cut.shape[1], dtype=np.int64))).sum(axis=1)


def cell_counts(keys: np.ndarray, labels: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct cells (sorted keys) and each cell's count of every class (cells, classes)."""
    cells, index = np.unique(keys, return_inverse=True)
    counts = np.zeros((len(cells), len(classes)), dtype=np.int64)
    np.add.at(counts, (index, np.searchsorted(classes, labels)), 1)
    return cells, counts


def training_cells(codes: dict[str, np.ndarray], bits: int) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """The classes and, for every resolution from `bits` down to 0 bits, the training images'
    cells and class counts (`cell_counts`): what the code-cell majority looks up."""
    classes = np.unique(codes["train_labels"])
    return classes, [cell_counts(cell_keys(codes["train_codes"], level), codes["train_labels"], classes)
                     for level in range(bits, -1, -1)]  # level 0: one cell, the majority of all training images


def predict_cells(cells: tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]], queries: np.ndarray,
                  bits: int) -> tuple[np.ndarray, float]:
    """The code-cell majority of `queries` from `training_cells` (see the module docstring) and
    the share of them whose cell held no training image at `bits` bits (backed off)."""
    classes, levels = cells
    predicted = np.full(len(queries), -1, dtype=np.int64)
    backed_off = 0.0
    for level, (keys_seen, counts) in zip(range(bits, -1, -1), levels):
        open_ = np.flatnonzero(predicted < 0)
        keys = cell_keys(queries[open_], level)
        where = np.minimum(np.searchsorted(keys_seen, keys), len(keys_seen) - 1)
        found = keys_seen[where] == keys
        predicted[open_[found]] = classes[counts[where[found]].argmax(axis=1)]  # argmax: the smallest label on ties
        if level == bits and len(queries):
            backed_off = 1.0 - float(np.mean(found))
        if (predicted >= 0).all():
            break
    return predicted, backed_off


def cell_majority(codes: dict[str, np.ndarray], bits: int, split: str) -> tuple[np.ndarray, float]:
    """The code-cell majority prediction for `split`'s images and the share backed off (`predict_cells`)."""
    return predict_cells(training_cells(codes, bits), codes[f"{split}_codes"], bits)


def cell_cap(codes: np.ndarray, labels: np.ndarray, bits: int) -> float:
    """The oracle bound: the share of images that carry their cell's majority label (cells of `codes` at `bits`)."""
    _, counts = cell_counts(cell_keys(codes, bits), labels, np.unique(labels))
    return float(counts.max(axis=1).sum() / max(len(labels), 1))


def pixel_codes(digits: Sequence[int]) -> dict[str, np.ndarray]:
    """The words of the pixel-by-pixel task (both lanes, 99 steps) as 0/1 features, with class
    indices, split as `python -m train.mnist` splits them (embedded data)."""
    splits = mnist_splits(digits, seed=SPLIT_SEED)
    codes = {}
    for name in ("train", "validation", "test"):
        sequences = getattr(splits, name)
        codes[f"{name}_codes"] = sequences.inputs.reshape(len(sequences), -1).astype(np.int64)
        codes[f"{name}_labels"] = sequences.class_indices
    return codes


def bit_range(text: str) -> list[int]:
    """'6' -> [6]; '3-8' -> [3, ..., 8]; '3,6' -> [3, 6]; each 1..8."""
    try:
        if "-" in text:
            low, high = (int(part) for part in text.split("-"))
            values = list(range(low, high + 1))
        else:
            values = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"bits must be N, N-M or N,M,... with each 1..8, got {text!r}") from None
    if not values or not all(1 <= value <= 8 for value in values):
        raise argparse.ArgumentTypeError(f"bits must be N, N-M or N,M,... with each 1..8, got {text!r}")
    return values


def describe(name: str, source: str, result: dict[str, Any]) -> str:
    errors = result["test_errors"]
    line = (f"{name} on {source}: validation {100 * result['validation']:.2f} %, test {100 * result['test']:.2f} % "
            f"({len(errors)} errors: {errors[:20]}{' ...' if len(errors) > 20 else ''})")
    if "cap" in result:
        line += (f"; {100 * result['backed_off']:.1f} % of the test images fell in a cell with no training image (backed off); "
                 f"cap (test majority per cell) {100 * result['cap']:.2f} % (an oracle bound; it tends to 100 % "
                 "where cells hold single images, so it tells at low resolution only)")
    return line


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Prints and returns the classifier's figures: one result, or {bits: result} for several `--bits`."""
    parser = argparse.ArgumentParser(prog="python -m train.studies.mnist_knn", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", nargs="?", help=f"a run folder with {CODES_FILE}, or the file itself")
    parser.add_argument("--digits", type=parse_digits, help="instead of a run: the pixel-by-pixel task of these digits")
    parser.add_argument("--bits", type=bit_range, default=[6], help="bits per coordinate: N, N-M or N,M,... (default 6)")
    parser.add_argument("--classifier", choices=CLASSIFIERS, default="knn",
                        help="k-nearest neighbours, logistic regression or the code-cell majority (default knn)")
    parser.add_argument("--neighbours", type=int, default=15, help="k (default 15)")
    parser.add_argument("-v", "--verbose", action="store_true", help="show TensorFlow's messages")
    args = parser.parse_args(argv)
    if (args.run is None) == (args.digits is None):
        parser.error("give a run folder or --digits, not both")
    if args.digits is not None and args.classifier == "cells":
        parser.error("--classifier cells reads a run's codes: the pixel words have 198 coordinates, too many for cells")
    name = {"knn": f"{args.neighbours}-NN", "logistic": "logistic regression", "cells": "code-cell majority"}[args.classifier]
    if args.digits is not None:
        codes = pixel_codes(args.digits)
        result = reference_accuracies(codes, 8, args.neighbours, args.classifier)
        print(describe(name, f"the pixel words of digits {list(args.digits)}", result))
        return result
    path = args.run if args.run.endswith(".npz") else os.path.join(args.run, CODES_FILE)
    try:
        with np.load(path, allow_pickle=False) as npz:
            codes = {key: npz[key] for key in npz.files if key != "meta"}
    except (OSError, ValueError, KeyError) as error:
        raise SystemExit(f"error: cannot read the augmented codes {path!r}: {error}") from error
    results = {}
    for bits in args.bits:
        results[bits] = reference_accuracies(codes, bits, args.neighbours, args.classifier)
        print(describe(name, f"{path} at {bits} bits", results[bits]), flush=True)
    return results[args.bits[0]] if len(args.bits) == 1 else results


if __name__ == "__main__":
    main(sys.argv[1:])
