"""Load the raw MNIST images (28x28 uint8) from IDX files, a Keras npz or the network.

The MNIST database of handwritten digits is by Yann LeCun, Corinna Cortes and
Christopher J.C. Burges (CC BY-SA 3.0). This module only reads it; the cropped,
downscaled and binarised 10x10 version the tasks use lives in `mnist_preprocess`
(SPEC section 5, "MNIST, pixel by pixel").

Where `load_mnist` looks, in this order:

1. the explicit `path` argument: a folder with the four IDX files (gzipped or not)
   or a Keras-style `mnist.npz` file (keys `x_train`, `y_train`, `x_test`, `y_test`);
2. the environment variable `QRNN_MNIST_PATH` (same two forms);
3. the Keras cache `$KERAS_HOME/datasets/mnist.npz` (`~/.keras` when unset);
4. a download with `tf_keras.datasets.mnist.load_data()` (TensorFlow imported lazily).

An explicit path or environment variable that does not exist is an error; it never
falls through to the next source.
"""

from __future__ import annotations

import gzip
import logging
import os
import zlib
from pathlib import Path
from typing import Union

import numpy as np

PathLike = Union[str, "os.PathLike[str]"]
MnistArrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]

ENV_VAR = "QRNN_MNIST_PATH"
IMAGE_SIDE = 28

# IDX header: two zero bytes, a type code (0x08 = unsigned byte), the number of
# dimensions, then one big-endian uint32 per dimension.
_IDX_UBYTE = 0x08
IDX_IMAGES_MAGIC = 0x00000803  # uint8, 3 dimensions (count, rows, columns)
IDX_LABELS_MAGIC = 0x00000801  # uint8, 1 dimension (count)

# Stems of the four files; both the official dash and the common dot spelling.
_IDX_STEMS = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}
_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")

logger = logging.getLogger(__name__)


def _read_bytes(path: Path) -> bytes:
    """Reads a file, gunzipping it when its name ends in `.gz`."""
    raw = path.read_bytes()
    if path.suffix != ".gz":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(
            f"MNIST file {str(path)!r} is not a valid gzip file (corrupt or truncated): "
            f"{error}."
        ) from error


def parse_idx(data: bytes, magic: int, name: str = "<bytes>") -> np.ndarray:
    """Parses an unsigned-byte IDX file (the MNIST format) into a uint8 array.

    Args:
        data: The whole (already gunzipped) file content.
        magic: The expected magic number, `IDX_IMAGES_MAGIC` or `IDX_LABELS_MAGIC`.
        name: The file name used in error messages.

    Returns:
        A uint8 array with the shape the header declares.

    Raises:
        ValueError: If the magic number is wrong or the data length does not match
            the header (a truncated or padded file).
    """
    if len(data) < 4:
        raise ValueError(
            f"MNIST file {name!r} is too short for an IDX header: {len(data)} bytes."
        )
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise ValueError(
            f"MNIST file {name!r} has IDX magic number 0x{found:08x}, expected "
            f"0x{magic:08x}; wrong or corrupt file."
        )
    ndim = magic & 0xFF
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise ValueError(
            f"MNIST file {name!r} is truncated inside its IDX header: {len(data)} "
            f"bytes, expected at least {header_len}."
        )
    shape = tuple(
        int.from_bytes(data[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim)
    )
    expected = header_len + int(np.prod(shape, dtype=np.int64))
    if len(data) != expected:
        raise ValueError(
            f"MNIST file {name!r} has {len(data)} bytes but its IDX header declares "
            f"shape {shape}, i.e. {expected} bytes; the file is truncated or corrupt."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_len).reshape(shape).copy()


def _find_idx_file(folder: Path, key: str) -> Path:
    """Returns the first existing spelling of one of the four IDX files."""
    candidates = [
        folder / (stem + suffix) for stem in _IDX_STEMS[key] for suffix in (".gz", "")
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"MNIST folder {str(folder)!r} has no {key.replace('_', ' ')} file; looked "
        f"for {[c.name for c in candidates]}."
    )


def _check_arrays(arrays: MnistArrays, source: str) -> MnistArrays:
    """Checks dtypes, shapes, matching counts and label range of the four arrays."""
    x_train, y_train, x_test, y_test = arrays
    for split, images, labels in (("train", x_train, y_train), ("test", x_test, y_test)):
        if images.dtype != np.uint8 or labels.dtype != np.uint8:
            raise ValueError(
                f"MNIST {split} data from {source!r} must be uint8, got images "
                f"{images.dtype} and labels {labels.dtype}."
            )
        if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
            raise ValueError(
                f"MNIST {split} images from {source!r} must have shape (N, 28, 28), "
                f"got {images.shape}."
            )
        if labels.shape != (images.shape[0],):
            raise ValueError(
                f"MNIST {split} labels from {source!r} must have shape "
                f"({images.shape[0]},) to match the images, got {labels.shape}."
            )
        if labels.size and int(labels.max()) > 9:
            raise ValueError(
                f"MNIST {split} labels from {source!r} must be digits 0-9, got "
                f"{int(labels.max())}."
            )
    return arrays


def load_idx_folder(folder: PathLike) -> MnistArrays:
    """Loads the four MNIST IDX files (gzipped or not) from a folder.

    Args:
        folder: A folder holding `train-images-idx3-ubyte[.gz]`,
            `train-labels-idx1-ubyte[.gz]`, `t10k-images-idx3-ubyte[.gz]` and
            `t10k-labels-idx1-ubyte[.gz]`.

    Returns:
        `(x_train, y_train, x_test, y_test)` as uint8 arrays, images (N, 28, 28).

    Raises:
        FileNotFoundError: If a file is missing.
        ValueError: If a file is corrupt or truncated, or the files do not match.
    """
    folder = Path(folder)
    arrays = []
    for key in ("train_images", "train_labels", "test_images", "test_labels"):
        path = _find_idx_file(folder, key)
        magic = IDX_IMAGES_MAGIC if key.endswith("images") else IDX_LABELS_MAGIC
        arrays.append(parse_idx(_read_bytes(path), magic, name=str(path)))
    return _check_arrays(tuple(arrays), str(folder))  # type: ignore[arg-type]


def load_keras_npz(path: PathLike) -> MnistArrays:
    """Loads a Keras-style `mnist.npz` (keys `x_train`, `y_train`, `x_test`, `y_test`).

    Args:
        path: The npz file.

    Returns:
        `(x_train, y_train, x_test, y_test)` as uint8 arrays, images (N, 28, 28).

    Raises:
        ValueError: If the file is not a readable npz or lacks a key.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            found = {key: np.asarray(npz[key]) for key in _NPZ_KEYS if key in npz.files}
    except Exception as error:  # zipfile.BadZipFile, OSError, EOFError, ValueError
        raise ValueError(
            f"MNIST npz file {str(path)!r} is corrupt or not an npz file: "
            f"{type(error).__name__}: {error}."
        ) from error
    missing = [key for key in _NPZ_KEYS if key not in found]
    if missing:
        raise ValueError(
            f"MNIST npz file {str(path)!r} lacks keys {missing}; expected "
            f"{list(_NPZ_KEYS)}."
        )
    arrays = tuple(found[key] for key in _NPZ_KEYS)
    return _check_arrays(arrays, str(path))  # type: ignore[arg-type]


def load_from_path(path: PathLike) -> MnistArrays:
    """Loads MNIST from a folder of IDX files or a Keras-style npz file.

    Raises:
        FileNotFoundError: If `path` does not exist or a file is missing.
        ValueError: If a file is corrupt.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        return load_idx_folder(path)
    if path.is_file():
        return load_keras_npz(path)
    raise FileNotFoundError(
        f"MNIST path {str(path)!r} does not exist; give a folder with the four IDX "
        f"files (gzipped or not) or a Keras-style mnist.npz file."
    )


def keras_cache_path() -> Path:
    """Returns where Keras caches `mnist.npz` (`$KERAS_HOME` or `~/.keras`)."""
    keras_home = os.environ.get("KERAS_HOME") or os.path.join("~", ".keras")
    return Path(keras_home).expanduser() / "datasets" / "mnist.npz"


def _download() -> MnistArrays:
    """Downloads MNIST with `tf_keras` (imported only here)."""
    from tf_keras.datasets import mnist as keras_mnist  # pylint: disable=import-outside-toplevel

    (x_train, y_train), (x_test, y_test) = keras_mnist.load_data()
    arrays = (x_train, y_train, x_test, y_test)
    return tuple(np.asarray(a, dtype=np.uint8) for a in arrays)  # type: ignore[return-value]


def load_mnist(path: PathLike | None = None) -> MnistArrays:
    """Loads the raw MNIST images and labels.

    Args:
        path: A folder with the four IDX files (gzipped or not) or a Keras-style
            `mnist.npz`. When None, the environment variable `QRNN_MNIST_PATH`, then
            the Keras cache, then a download with `tf_keras` are tried.

    Returns:
        `(x_train, y_train, x_test, y_test)`: uint8 images (60000, 28, 28) and
        (10000, 28, 28) with values 0-255, and uint8 labels 0-9.

    Raises:
        FileNotFoundError: If `path` or `QRNN_MNIST_PATH` names a missing file.
        ValueError: If a file is corrupt or truncated.
        RuntimeError: If no local copy exists and the download fails.
    """
    if path is not None:
        return load_from_path(path)
    env_path = os.environ.get(ENV_VAR)
    if env_path:
        logger.info("Loading MNIST from $%s=%s.", ENV_VAR, env_path)
        return load_from_path(env_path)
    cache = keras_cache_path()
    if cache.is_file():
        logger.info("Loading MNIST from the Keras cache %s.", cache)
        return load_keras_npz(cache)
    logger.info("MNIST not found locally; downloading with tf_keras.")
    try:
        return _check_arrays(_download(), "tf_keras.datasets.mnist")
    except Exception as error:
        raise RuntimeError(
            f"Could not find or download MNIST. Looked at: no `path` argument, "
            f"environment variable {ENV_VAR} unset, Keras cache {str(cache)!r} absent; "
            f"then tf_keras.datasets.mnist.load_data() failed with "
            f"{type(error).__name__}: {error}. Provide the data by passing `path` or "
            f"setting {ENV_VAR} to a folder with the four IDX files "
            f"(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
            f"t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) or to a "
            f"Keras-style mnist.npz."
        ) from error
