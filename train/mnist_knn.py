"""How far the augmented codes alone can go: a k-nearest-neighbour classifier on them.

    python -m train.mnist_knn runs/mnist-0123456789-umap2-r6-deskewed-seed0 --bits 6

Reads `<run>/augment_codes.npz` (the 8-bit codes `python -m train.mnist --augment ...`
fitted on the training images), keeps the `--bits` most significant bits of each
coordinate (what the QRNN reads), fits scikit-learn's `KNeighborsClassifier` on the
training codes and prints its accuracy on the validation and test codes. A classical
reference for the augmented task: the QRNN sees nothing but these bits.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

import numpy as np
from sklearn.neighbors import KNeighborsClassifier

from train.mnist_data import CODES_FILE


def knn_accuracies(codes: dict[str, np.ndarray], bits: int, neighbours: int) -> dict[str, float]:
    """Validation and test accuracy of a kNN fitted on the training codes cut to `bits` bits."""
    shift = 8 - bits
    model = KNeighborsClassifier(neighbours).fit(codes["train_codes"] >> shift, codes["train_labels"])
    return {split: float(model.score(codes[f"{split}_codes"] >> shift, codes[f"{split}_labels"]))
            for split in ("validation", "test")}


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(prog="python -m train.mnist_knn", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help=f"a run folder with {CODES_FILE}, or the file itself")
    parser.add_argument("--bits", type=int, choices=range(1, 9), default=6, help="bits per coordinate (default 6)")
    parser.add_argument("--neighbours", type=int, default=15, help="k (default 15)")
    args = parser.parse_args(argv)
    path = args.run if args.run.endswith(".npz") else os.path.join(args.run, CODES_FILE)
    try:
        with np.load(path, allow_pickle=False) as npz:
            codes = {key: npz[key] for key in npz.files if key != "meta"}
    except (OSError, ValueError, KeyError) as error:
        raise SystemExit(f"error: cannot read the augmented codes {path!r}: {error}") from error
    result = knn_accuracies(codes, args.bits, args.neighbours)
    print(f"{args.neighbours}-NN on {path} at {args.bits} bits: validation {100 * result['validation']:.2f} %, "
          f"test {100 * result['test']:.2f} %")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
