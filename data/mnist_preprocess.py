"""Crop, downscale and binarise MNIST to 10x10 bits; ship and load the embedded copy.

SPEC section 5, "MNIST, pixel by pixel": crop the centre 20x20, downscale to 10x10,
binarise with an Otsu-style threshold; the paper's data has background 1 and ink 0.
Exactly what this module does to one 28x28 uint8 image:

1. Crop rows and columns 4..23 (inclusive), the centre 20x20.
2. Sum each non-overlapping 2x2 block (an integer 0..1020; the 2x2 mean is sum / 4).
3. A block is *ink* when its sum is greater than `OTSU_BLOCK_SUM_THRESHOLD` (412, i.e.
   a mean intensity above 103 of 255), else *background*.
4. Write ink as `ink_bit` (default 0, the paper's polarity) and background as
   `1 - ink_bit`.

The threshold is one global number, not one per image: Otsu's method (maximise the
between-class variance) applied, with exact integer arithmetic, to the histogram of
all 6,000,000 block sums of the 60,000 *training* images (no test data involved).
`compute_threshold` recomputes it; the tests check it equals the constant.

The embedded file `mnist10x10.npz` next to this module holds the result for all 70,000
images (bit-packed, in the paper's polarity) so that training needs no download;
`build_embedded` regenerates it from the raw files. MNIST is by Yann LeCun, Corinna
Cortes and Christopher J.C. Burges, CC BY-SA 3.0; see `MNIST_LICENSE.md`.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import tempfile
import zipfile
from fractions import Fraction
from pathlib import Path
from typing import Union

import numpy as np

from .mnist import IMAGE_SIDE, MnistArrays, load_mnist

PathLike = Union[str, "os.PathLike[str]"]

CROP_START = 4  # first row/column kept; the crop is [4, 24) in both directions
CROP_SIZE = 20
POOL = 2  # 2x2 blocks
SIDE = CROP_SIZE // POOL  # 10
MAX_BLOCK_SUM = 255 * POOL * POOL  # 1020
OTSU_BLOCK_SUM_THRESHOLD = 412  # ink iff 2x2 block sum > 412 (mean > 103)
PAPER_INK_BIT = 0  # the paper's data: background 1, ink 0

EMBEDDED_PATH = Path(__file__).with_name("mnist10x10.npz")
_EMBEDDED_KEYS = ("train_bits", "train_labels", "test_bits", "test_labels")
# A fixed zip timestamp makes `build_embedded` byte-for-byte reproducible.
_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)

logger = logging.getLogger(__name__)


def _check_images(images: np.ndarray) -> np.ndarray:
    """Checks for uint8 images of shape (N, 28, 28)."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise TypeError(f"`images` must be a uint8 array, got dtype {images.dtype}.")
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise ValueError(f"`images` must have shape (N, 28, 28), got {images.shape}.")
    return images


def block_sums(images: np.ndarray) -> np.ndarray:
    """Crops the centre 20x20 of each image and sums its 2x2 blocks.

    Args:
        images: uint8 array (N, 28, 28).

    Returns:
        int64 array (N, 10, 10) with values 0..1020 (4 times the 2x2 mean).
    """
    images = _check_images(images)
    end = CROP_START + CROP_SIZE
    crop = images[:, CROP_START:end, CROP_START:end].astype(np.int64)  # (N, 20, 20)
    blocks = crop.reshape(-1, SIDE, POOL, SIDE, POOL)  # (N, row, dy, col, dx)
    return blocks.sum(axis=(2, 4))  # (N, 10, 10)


def otsu_threshold(histogram: np.ndarray) -> int:
    """Otsu's threshold of an integer histogram, computed exactly.

    Level `t` splits the levels into `<= t` and `> t`; the returned `t` maximises the
    between-class variance `w0 * w1 * (mu0 - mu1)^2` (ties: the smallest `t`). Python
    integers and fractions make the result independent of floating-point rounding.

    Args:
        histogram: Non-negative integer counts, one per level 0..L-1.

    Returns:
        The threshold level `t`, 0 <= t < L - 1.

    Raises:
        ValueError: If the histogram is not 1-D, has a negative count or fewer than
            two occupied levels.
    """
    histogram = np.asarray(histogram)
    if histogram.ndim != 1 or not np.issubdtype(histogram.dtype, np.integer):
        raise ValueError(
            f"`histogram` must be a 1-D integer array, got shape {histogram.shape} "
            f"and dtype {histogram.dtype}."
        )
    if (histogram < 0).any() or np.count_nonzero(histogram) < 2:
        raise ValueError(
            "`histogram` must have non-negative counts on at least two levels, got "
            f"{np.count_nonzero(histogram)} occupied levels."
        )
    counts = [int(c) for c in histogram]
    total = sum(counts)
    total_mass = sum(level * c for level, c in enumerate(counts))
    best_level, best_score = 0, Fraction(-1)
    w0 = mass0 = 0
    for level, count in enumerate(counts[:-1]):
        w0 += count
        mass0 += level * count
        w1 = total - w0
        if w0 == 0 or w1 == 0:
            continue
        # w0 * w1 * (mu0 - mu1)^2 = (w0 * M - N * m0)^2 / (w0 * w1)
        score = Fraction((w0 * total_mass - total * mass0) ** 2, w0 * w1)
        if score > best_score:
            best_level, best_score = level, score
    return best_level


def compute_threshold(train_images: np.ndarray) -> int:
    """Recomputes the global Otsu threshold on the block-sum scale 0..1020.

    Args:
        train_images: The uint8 MNIST training images (N, 28, 28); the shipped
            constant `OTSU_BLOCK_SUM_THRESHOLD` is this function on all 60,000.

    Returns:
        The threshold: a 2x2 block is ink when its sum is greater than it.
    """
    sums = block_sums(train_images)
    histogram = np.bincount(sums.ravel(), minlength=MAX_BLOCK_SUM + 1)
    return otsu_threshold(histogram)


def preprocess(
    images: np.ndarray,
    threshold: int = OTSU_BLOCK_SUM_THRESHOLD,
    ink_bit: int = PAPER_INK_BIT,
) -> np.ndarray:
    """Crops, downscales and binarises MNIST images (SPEC section 5).

    Args:
        images: uint8 array (N, 28, 28) with values 0..255.
        threshold: A 2x2 block of the centre 20x20 is ink when its sum (0..1020) is
            greater than this.
        ink_bit: The bit written for ink: 0 (default, the paper's polarity with
            background 1) or 1.

    Returns:
        uint8 bits (N, 10, 10).

    Raises:
        TypeError: If `images` is not uint8.
        ValueError: If `images` has the wrong shape or `ink_bit` is not 0 or 1.
    """
    if ink_bit not in (0, 1):
        raise ValueError(f"`ink_bit` must be 0 or 1, got {ink_bit!r}.")
    ink = block_sums(images) > threshold  # (N, 10, 10) bool
    return (ink if ink_bit == 1 else ~ink).astype(np.uint8)


def _write_npz_atomic(arrays: dict[str, np.ndarray], out_path: Path) -> None:
    """Writes a reproducible compressed npz via a temporary file and `os.replace`."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=out_path.name, suffix=".tmp", dir=out_path.parent)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w") as archive:
            for key, array in arrays.items():
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
                info = zipfile.ZipInfo(key + ".npy", date_time=_ZIP_DATE_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, buffer.getvalue())
        os.chmod(tmp_name, 0o644)  # mkstemp creates 0o600
        os.replace(tmp_name, out_path)
    except BaseException:
        os.unlink(tmp_name)
        raise


def build_embedded(raw_path: PathLike | None = None, out_path: PathLike | None = None) -> Path:
    """Regenerates the embedded 10x10 MNIST file from the raw data.

    Args:
        raw_path: Where the raw MNIST lives, as for `load_mnist` (None: its search).
        out_path: The npz to write (default: `mnist10x10.npz` next to this module).

    Returns:
        The path written. The file holds `train_bits` (60000, 13) and `test_bits`
        (10000, 13) uint8 (each image's 100 bits, row-major, `np.packbits`), the
        uint8 labels, and the `threshold` and `ink_bit` used.
    """
    out = Path(out_path) if out_path is not None else EMBEDDED_PATH
    x_train, y_train, x_test, y_test = load_mnist(raw_path)
    arrays = {
        "train_bits": np.packbits(preprocess(x_train).reshape(-1, SIDE * SIDE), axis=1),
        "train_labels": y_train,
        "test_bits": np.packbits(preprocess(x_test).reshape(-1, SIDE * SIDE), axis=1),
        "test_labels": y_test,
        "threshold": np.array(OTSU_BLOCK_SUM_THRESHOLD, dtype=np.int64),
        "ink_bit": np.array(PAPER_INK_BIT, dtype=np.int64),
    }
    _write_npz_atomic(arrays, out)
    logger.info("Wrote %s (%d bytes).", out, out.stat().st_size)
    return out


def load_embedded(path: PathLike | None = None, ink_bit: int = PAPER_INK_BIT) -> MnistArrays:
    """Loads the preprocessed 10x10 MNIST bits shipped with the package.

    Args:
        path: The embedded npz (default: `mnist10x10.npz` next to this module).
        ink_bit: The bit for ink in the returned images: 0 (default, the paper's
            polarity, background 1) or 1.

    Returns:
        `(train_bits, train_labels, test_bits, test_labels)`: uint8 bits
        (60000, 10, 10) and (10000, 10, 10), uint8 labels 0-9.

    Raises:
        FileNotFoundError: If the file is missing.
        ValueError: If the file is corrupt or `ink_bit` is not 0 or 1.
    """
    if ink_bit not in (0, 1):
        raise ValueError(f"`ink_bit` must be 0 or 1, got {ink_bit!r}.")
    source = Path(path) if path is not None else EMBEDDED_PATH
    if not source.is_file():
        raise FileNotFoundError(
            f"Embedded MNIST file {str(source)!r} is missing; regenerate it with "
            f"`python -m data.mnist_preprocess RAW_PATH` (RAW_PATH: a folder with the "
            f"four MNIST IDX files or a Keras mnist.npz)."
        )
    try:
        with np.load(source, allow_pickle=False) as npz:
            stored = {key: np.asarray(npz[key]) for key in npz.files}
    except Exception as error:
        raise ValueError(
            f"Embedded MNIST file {str(source)!r} is corrupt: {type(error).__name__}: "
            f"{error}."
        ) from error
    missing = [key for key in (*_EMBEDDED_KEYS, "ink_bit") if key not in stored]
    if missing:
        raise ValueError(f"Embedded MNIST file {str(source)!r} lacks keys {missing}.")
    flip = int(stored["ink_bit"]) != ink_bit
    result = []
    for split in ("train", "test"):
        packed, labels = stored[f"{split}_bits"], stored[f"{split}_labels"]
        if packed.ndim != 2 or labels.shape != (packed.shape[0],):
            raise ValueError(
                f"Embedded MNIST file {str(source)!r} has inconsistent {split} shapes "
                f"{packed.shape} and {labels.shape}."
            )
        bits = np.unpackbits(packed, axis=1, count=SIDE * SIDE).reshape(-1, SIDE, SIDE)
        result += [bits ^ np.uint8(flip), labels.astype(np.uint8)]
    return tuple(result)  # type: ignore[return-value]


def main(argv: list[str] | None = None) -> None:
    """Command line: `python -m data.mnist_preprocess [RAW_PATH] [--out OUT]`."""
    parser = argparse.ArgumentParser(description="Rebuild the embedded 10x10 MNIST file.")
    parser.add_argument("raw_path", nargs="?", default=None, help="IDX folder or mnist.npz")
    parser.add_argument("--out", default=None, help=f"output (default {EMBEDDED_PATH})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    build_embedded(args.raw_path, args.out)


if __name__ == "__main__":
    main()
