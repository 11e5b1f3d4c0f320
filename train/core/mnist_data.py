"""Data of `python -m train.mnist`: loading, splitting, encoding and batching MNIST.

See `train/mnist.py` and docs/MNIST.md. `args` below is the run's
`train.core.config.MnistRun` (its data options). A missing or corrupt data file ends the program
with `SystemExit("error: cannot load MNIST from ...")`; `--augment umap` without umap-learn
ends it in one line before any image is loaded; and the codes beside a trained model are
never refitted to other settings (`encoded_splits`).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import logging
import os
import time
import zipfile
from typing import Any

import numpy as np

from data import mnist_augment
from data.mnist import load_mnist
from data.mnist_deskew import deskew
from data.mnist_sequences import PixelSequences, check_digits, load_bits, mnist_splits
from data.sequences import SequenceBatch
from qrnn_tfq.atomic import atomic_writer

SPLIT_SEED = 0  # the validation images, the fixed validation subset and test subsets: the same for every model
CODES_FILE = "augment_codes.npz"
_DATA_ERRORS = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, RuntimeError)
UMAP_MISSING = "error: --augment umap needs umap-learn: pip install -c requirements.lock -e '.[umap]'"

logger = logging.getLogger(__name__)


def parse_digits(text: str) -> tuple[int, ...]:
    """`--digits`: '0,1' -> (0, 1); 'all' -> 0..9 (train.mnist and train.mnist_knn)."""
    if text.strip().lower() == "all":
        return tuple(range(10))
    try:
        return check_digits(int(part) for part in text.split(","))
    except (TypeError, ValueError) as error:
        raise argparse.ArgumentTypeError(f"expected digits like 0,1 or 'all', got {text!r}: {error}") from error


@dataclasses.dataclass(frozen=True)
class MnistData:
    """The sequences a run trains, validates and tests on."""

    train: PixelSequences
    validation: PixelSequences  # the fixed subset validated on during training
    test: PixelSequences
    io_lanes: int
    description: dict[str, Any]


def subset(sequences: PixelSequences, indices: np.ndarray) -> PixelSequences:
    """The sequences at `indices`."""
    return PixelSequences(
        inputs=sequences.inputs[indices], targets=sequences.targets[indices], scored=sequences.scored[indices],
        labels=sequences.labels[indices], class_indices=sequences.class_indices[indices], digits=sequences.digits,
    )


def seeded_subset(sequences: PixelSequences, size: int | None, stream: int) -> PixelSequences:
    """A seeded random subset of `size` sequences (all when None or larger), in the original order."""
    if size is None or size >= len(sequences):
        return sequences
    chosen = np.random.default_rng([SPLIT_SEED, stream]).choice(len(sequences), size, replace=False)
    return subset(sequences, np.sort(chosen))


def per_digit_subset(sequences: PixelSequences, per_digit: int | None) -> PixelSequences:
    """The first `per_digit` sequences of every class after a seeded shuffle."""
    if per_digit is None:
        return sequences
    rng = np.random.default_rng([SPLIT_SEED, 4])
    chosen = [rng.permutation(np.flatnonzero(sequences.class_indices == c))[:per_digit]
              for c in range(len(sequences.digits))]
    return subset(sequences, np.sort(np.concatenate(chosen)))


class DeskewedImages:
    """Raw images (N, 28, 28) that `encode_splits` indexes (`images[indices]`), deskewed when
    indexed: the same float32 images as `deskew(images)[indices]` (each image is deskewed on
    its own), without deskewing the images a run does not use (other digits, beyond
    `--train-per-digit`)."""

    def __init__(self, images: np.ndarray) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, indices: Any) -> np.ndarray:
        return deskew(self.images[indices])


def _source_name(data: str | None) -> str:
    return "the embedded 10x10 data" if data in (None, "embedded") else repr(data)


def _augment_meta(args: Any) -> dict[str, Any]:
    return {"method": args.augment, "coordinates": args.coordinates, "supervised": args.supervised,
            "input": args.augment_input, "data": args.data, "digits": list(args.digits),
            "train_limit": None if args.train_per_digit is None else args.train_per_digit * len(args.digits),
            "encoder_seed": SPLIT_SEED, "split_seed": SPLIT_SEED}


def saved_meta(path: str) -> tuple[dict[str, Any] | None, mnist_augment.EncodedSplits | None]:
    """The settings and codes saved in the codes file at `path`; (None, None) if it cannot be read."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"][()]))
            return meta, mnist_augment.EncodedSplits(**{k: npz[k] for k in npz.files if k != "meta"})
    except _DATA_ERRORS as error:
        logger.warning("ignoring unreadable %s: %s", path, error)
        return None, None


def check_refit(path: str, saved: dict[str, Any], meta: dict[str, Any]) -> None:
    """Refuse to refit the codes at `path` (saved with `saved`) to `meta` while a model trained on
    them sits beside them: `path`'s folder or a `seed<N>` folder in it holds a checkpoint.

    Raises:
        SystemExit: names each differing setting with its saved and wanted value.
    """
    # run_folder reads checkpoints (TensorFlow): imported only here, so loading data stays light.
    from train.core.run_folder import differences, run_folders  # pylint: disable=import-outside-toplevel

    trained = run_folders(os.path.dirname(path) or ".")
    if trained:
        different = ", ".join(f"{key} {old!r} there, {new!r} now" for key, (old, new) in differences(saved, meta).items())
        raise SystemExit(
            f"error: {path} holds codes of other settings ({different}) and {trained[0]} a model trained on them; "
            "refitting would change the codes under it: use the settings it was fitted with, another --out, or "
            "--overwrite to train afresh")


def encoded_splits(args: Any, folder: str, write: bool = True) -> mnist_augment.EncodedSplits:
    """The augmented codes: from `folder`/augment_codes.npz when fitted alike before, else fitted
    now (and saved there unless `write` is False: a worker that is not the chief writes nothing).

    Raises:
        SystemExit: the saved codes have other settings and a model trained on them is beside
            them (`check_refit`), or `--augment umap` must fit without umap-learn installed
            (checked before any image is loaded).
    """
    path, meta = os.path.join(folder, CODES_FILE), _augment_meta(args)
    if os.path.exists(path):
        saved, splits = saved_meta(path)
        if saved == meta:
            logger.info("reusing the augmented codes in %s", path)
            return splits
        if saved is not None:
            check_refit(path, saved, meta)
    if args.augment == "umap" and importlib.util.find_spec("umap") is None:
        raise SystemExit(UMAP_MISSING)
    if args.augment_input in ("raw", "deskewed"):
        images = load_mnist(None if args.data in (None, "raw") else args.data)
        if args.augment_input == "deskewed":
            train_images, train_labels, test_images, test_labels = images
            images = (DeskewedImages(train_images), train_labels, DeskewedImages(test_images), test_labels)
    else:
        images = load_bits(args.data)
    train_limit = meta["train_limit"]
    encoder = mnist_augment.CoordinateEncoder(args.augment, args.coordinates, args.supervised, seed=SPLIT_SEED)
    start = time.perf_counter()
    splits = mnist_augment.encode_splits(*images, args.digits, encoder, split_seed=SPLIT_SEED, train_limit=train_limit)
    logger.info("fitted %s in %.1f s", args.augment, time.perf_counter() - start)
    if write:
        with atomic_writer(path) as file:
            np.savez(file, meta=np.array(json.dumps(meta)), **splits.arrays())
    return splits


def load_data(args: Any, folder: str, write: bool = True) -> MnistData:
    """Loads, splits and encodes the data of a run (augmented codes are cached in `folder`
    unless `write` is False); a missing or corrupt file exits with a clear message."""
    try:
        if args.augment == "none":
            splits = mnist_splits(args.digits, source=args.data, seed=SPLIT_SEED)
            train, validation, test, io_lanes = splits.train, splits.validation, splits.test, 2
        else:
            codes = encoded_splits(args, folder, write)
            make = lambda c, y: mnist_augment.augmented_sequences(c, y, args.digits, args.bits)  # noqa: E731
            train = make(codes.train_codes, codes.train_labels)
            validation = make(codes.validation_codes, codes.validation_labels)
            test = make(codes.test_codes, codes.test_labels)
            io_lanes = args.coordinates
    except ImportError as error:  # umap-learn missing
        raise SystemExit(f"error: {error}") from error
    except _DATA_ERRORS as error:
        hint = "" if args.augment == "none" or args.data else (
            " Augmentation needs the raw images: pass --data with an IDX folder or mnist.npz, or --augment-input bits.")
        raise SystemExit(f"error: cannot load MNIST from {_source_name(args.data)}: {error}{hint}") from error
    train = per_digit_subset(train, args.train_per_digit)
    validation = seeded_subset(validation, args.val_batch, stream=2)
    test = seeded_subset(test, args.test_size, stream=3)
    description = {"source": args.data or "embedded", "train_images": len(train), "validation_images": len(validation),
                   "test_images": len(test), "steps_per_sequence": int(train.inputs.shape[1]), "io_lanes": io_lanes}
    return MnistData(train, validation, test, io_lanes, description)


class BalancedBatches:
    """`step -> SequenceBatch`: `per_digit` images of every digit, each digit's images
    reshuffled every epoch with a seed of (seed, digit, epoch), so a batch depends on the step alone."""

    def __init__(self, sequences: PixelSequences, per_digit: int, seed: int) -> None:
        self.sequences, self.per_digit, self.seed = sequences, per_digit, seed
        self.by_class = [np.flatnonzero(sequences.class_indices == c) for c in range(len(sequences.digits))]

    def __call__(self, step: int) -> SequenceBatch:
        chosen = []
        for digit, indices in enumerate(self.by_class):
            per_epoch = max(1, len(indices) // self.per_digit)
            epoch, position = divmod(step, per_epoch)
            order = np.random.default_rng([self.seed, digit, epoch]).permutation(len(indices))
            chosen.append(indices[order[position * self.per_digit : (position + 1) * self.per_digit]])
        return self.sequences.to_batch(np.concatenate(chosen))
