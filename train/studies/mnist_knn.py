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

CLASSIFIERS = ("knn", "logistic")


def reference_accuracies(codes: dict[str, np.ndarray], bits: int, neighbours: int,
                         classifier: str = "knn") -> dict[str, Any]:
    """Validation and test accuracy (and test errors) of a classifier fitted on the training
    codes cut to `bits` bits."""
    shift = 8 - bits
    model = KNeighborsClassifier(neighbours) if classifier == "knn" else LogisticRegression(max_iter=5000)
    model.fit(codes["train_codes"] >> shift, codes["train_labels"])
    wrong = {split: model.predict(codes[f"{split}_codes"] >> shift) != codes[f"{split}_labels"]
             for split in ("validation", "test")}
    return {**{split: float(np.mean(~miss)) for split, miss in wrong.items()},
            "test_errors": np.flatnonzero(wrong["test"]).tolist()}


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


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m train.studies.mnist_knn", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", nargs="?", help=f"a run folder with {CODES_FILE}, or the file itself")
    parser.add_argument("--digits", type=parse_digits, help="instead of a run: the pixel-by-pixel task of these digits")
    parser.add_argument("--bits", type=int, choices=range(1, 9), default=6, help="bits per coordinate (default 6)")
    parser.add_argument("--classifier", choices=CLASSIFIERS, default="knn", help="k-nearest neighbours or logistic "
                                                                                 "regression (default knn)")
    parser.add_argument("--neighbours", type=int, default=15, help="k (default 15)")
    parser.add_argument("-v", "--verbose", action="store_true", help="show TensorFlow's messages")
    args = parser.parse_args(argv)
    if (args.run is None) == (args.digits is None):
        parser.error("give a run folder or --digits, not both")
    name = f"{args.neighbours}-NN" if args.classifier == "knn" else "logistic regression"
    if args.digits is not None:
        codes, bits, source = pixel_codes(args.digits), 8, f"the pixel words of digits {list(args.digits)}"
    else:
        path = args.run if args.run.endswith(".npz") else os.path.join(args.run, CODES_FILE)
        try:
            with np.load(path, allow_pickle=False) as npz:
                codes = {key: npz[key] for key in npz.files if key != "meta"}
        except (OSError, ValueError, KeyError) as error:
            raise SystemExit(f"error: cannot read the augmented codes {path!r}: {error}") from error
        bits, source = args.bits, f"{path} at {args.bits} bits"
    result = reference_accuracies(codes, bits, args.neighbours, args.classifier)
    print(f"{name} on {source}: validation {100 * result['validation']:.2f} %, test {100 * result['test']:.2f} % "
          f"({len(result['test_errors'])} errors: {result['test_errors'][:20]}{' ...' if len(result['test_errors']) > 20 else ''})")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
