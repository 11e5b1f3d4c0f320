"""Augmented MNIST (SPEC section 5): each image reduced to a few coordinates, fed as bits.

Exactly what this module does, every map fitted on the *training* images only (the
validation and test images are only transformed):

1. Images: the raw 28x28 images as 784 numbers in [0, 1] (`source="raw"`, the default);
   the raw images deskewed by their second moments (`source="deskewed"`,
   `data.mnist_deskew`: per image, unsupervised, nothing fitted; it raises the
   15-nearest-neighbour accuracy of the 2-d UMAP codes from 96.3 % to 97.8 %); or, where
   no raw data is at hand, the 100 bits of the embedded 10x10 data (`source="bits"`;
   weaker, the binarisation has thrown most of the information away).
2. Reduction to `coordinates` (2 to 4) numbers per image:
   - "pca": scikit-learn's PCA onto the leading `coordinates` components;
   - "umap": PCA onto 50 components (as the paper ran t-SNE after a PCA), then UMAP
     (umap-learn, `n_neighbors=15`, `min_dist=0.1`, `random_state=seed`), which can
     transform new points. Unsupervised by default; `supervised=True` fits it with the
     training labels, as the paper's UMAP was (its 96.7 % on all ten digits).
3. A fitted normal CDF per coordinate: `u = Phi((z - mean) / std)` with the mean and
   standard deviation of the training coordinates, about uniform on [0, 1].
4. Quantisation to 8 bits: `q = min(floor(256 u), 255)`.
5. Words: step `t` (t = 0 .. r-1) reads bit `t` (the most significant first) of every
   coordinate, so the input width `I` is the number of coordinates; then the label: the
   class index in `num_label_bits` bits, left-padded with zeros to whole words of width
   `I`, as the targets of the steps after the data (4 bits for ten classes: two words for
   I = 2 or 3, one for I = 4). While it emits the label the cell reads blank (all-zero)
   words, never the label itself, so an evaluation run cannot read the answer. With SPEC
   section 4's offset, `T = r + n - 1` steps of which the last `n` (the label) are scored.

`EncodedSplits` keeps the 8-bit codes of every split, so a run can store them and feed
any `r` without refitting; `augmented_sequences` turns codes into sequences in the
same container (`PixelSequences`) as the pixel-by-pixel task.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any, Sequence

import numpy as np

from .mnist_sequences import PixelSequences, check_digits, num_label_bits, split_indices

METHODS = ("pca", "umap")
SOURCES = ("raw", "deskewed", "bits")
QUANTISATION_BITS = 8
UMAP_PCA_COMPONENTS = 50
MIN_COORDINATES, MAX_COORDINATES = 2, 4

logger = logging.getLogger(__name__)
_ERF = np.frompyfunc(math.erf, 1, 1)


def normal_cdf(z: np.ndarray) -> np.ndarray:
    """The standard normal CDF `Phi(z) = (1 + erf(z / sqrt 2)) / 2`, elementwise, float64."""
    z = np.asarray(z, dtype=np.float64)
    return 0.5 * (1.0 + _ERF(z / math.sqrt(2.0)).astype(np.float64))


def _check_int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an int, got {value!r} of type {type(value).__name__}.")
    if not low <= value <= high:
        raise ValueError(f"`{name}` must be between {low} and {high}, got {value}.")
    return int(value)


def image_features(images: np.ndarray) -> np.ndarray:
    """Flattens images (N, H, W) to float32 features (N, H*W): uint8 scaled to [0, 1], bits as they are."""
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"`images` must have shape (N, height, width), got {images.shape}.")
    features = images.reshape(images.shape[0], -1).astype(np.float32)
    return features / 255.0 if images.dtype == np.uint8 and images.max(initial=0) > 1 else features


def quantise(uniform: np.ndarray) -> np.ndarray:
    """Numbers in [0, 1] -> uint8 codes `min(floor(256 u), 255)`."""
    uniform = np.asarray(uniform, dtype=np.float64)
    return np.clip(np.floor(uniform * 2**QUANTISATION_BITS), 0, 2**QUANTISATION_BITS - 1).astype(np.uint8)


class CoordinateEncoder:
    """Images -> `coordinates` 8-bit codes per image (steps 2-4 of the module docstring).

    `fit` learns the reduction and the normal CDF from training images; `transform`
    applies them to any images and never refits.

    Args:
        method: "pca" or "umap".
        coordinates: numbers per image, 2 to 4.
        supervised: fit UMAP with the training labels (the paper's choice); "umap" only.
        seed: seeds PCA's solver and UMAP.

    Raises:
        ValueError: an unknown method, a coordinate count outside 2..4, or `supervised`
            with "pca".
    """

    def __init__(self, method: str = "umap", coordinates: int = 2, supervised: bool = False, seed: int = 0) -> None:
        if method not in METHODS:
            raise ValueError(f"`method` must be one of {list(METHODS)}, got {method!r}.")
        if supervised and method != "umap":
            raise ValueError(f"`supervised=True` needs method 'umap', got {method!r}.")
        self.method = method
        self.coordinates = _check_int("coordinates", coordinates, MIN_COORDINATES, MAX_COORDINATES)
        self.supervised = bool(supervised)
        self.seed = _check_int("seed", seed, 0, 2**31 - 1)
        self.pca: Any = None
        self.umap: Any = None
        self.mean: np.ndarray | None = None  # (k,) of the training coordinates
        self.std: np.ndarray | None = None  # (k,)

    @property
    def fitted(self) -> bool:
        return self.mean is not None

    def _reduce(self, features: np.ndarray) -> np.ndarray:
        reduced = self.pca.transform(features)
        return reduced if self.umap is None else self.umap.transform(reduced)

    def fit(self, images: np.ndarray, labels: np.ndarray | None = None) -> "CoordinateEncoder":
        """Fits the reduction and the normal CDF on training images (and labels, if supervised)."""
        self.fit_transform(images, labels)
        return self

    def fit_transform(self, images: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """`fit`, returning the training images' codes; for UMAP from its fitted embedding
        (what `umap.UMAP.fit_transform` returns), not from a second `transform`.

        Raises:
            ValueError: `supervised` without labels, or labels that do not match.
            ImportError: "umap" without umap-learn installed.
        """
        from sklearn.decomposition import PCA  # pylint: disable=import-outside-toplevel

        features = image_features(images)  # (N, D)
        if self.supervised:
            if labels is None or np.asarray(labels).shape != (features.shape[0],):
                raise ValueError(
                    f"`labels` of shape ({features.shape[0]},) are needed for a supervised fit, got "
                    f"{None if labels is None else np.asarray(labels).shape}."
                )
        if self.method == "pca":
            self.pca = PCA(self.coordinates, random_state=self.seed).fit(features)
            coordinates = self.pca.transform(features)
        else:
            try:
                import umap  # pylint: disable=import-outside-toplevel  (imports TensorFlow: qrnn_tfq first)
            except ImportError as error:
                raise ImportError(
                    "method 'umap' needs umap-learn: pip install -c requirements.lock -e '.[umap]'"
                ) from error
            components = min(UMAP_PCA_COMPONENTS, *features.shape)
            self.pca = PCA(components, random_state=self.seed).fit(features)
            self.umap = umap.UMAP(
                n_components=self.coordinates, n_neighbors=15, min_dist=0.1, random_state=self.seed
            )
            target = np.asarray(labels) if self.supervised else None
            coordinates = self.umap.fit(self.pca.transform(features), y=target).embedding_
        coordinates = np.asarray(coordinates, dtype=np.float64)
        self.mean = coordinates.mean(axis=0)
        self.std = np.maximum(coordinates.std(axis=0), 1e-12)
        logger.info("fitted %s to %d coordinates on %d images", self.method, self.coordinates, features.shape[0])
        return quantise(normal_cdf((coordinates - self.mean) / self.std))

    def uniform(self, images: np.ndarray) -> np.ndarray:
        """(N, k) numbers in [0, 1]: the reduced coordinates through the fitted normal CDF."""
        if not self.fitted:
            raise ValueError("This CoordinateEncoder is not fitted yet; call `fit` with training images first.")
        coordinates = np.asarray(self._reduce(image_features(images)), dtype=np.float64)  # (N, k)
        return normal_cdf((coordinates - self.mean) / self.std)

    def transform(self, images: np.ndarray) -> np.ndarray:
        """(N, k) uint8 codes of any images, with the maps fitted on the training images."""
        return quantise(self.uniform(images))


def coordinate_words(codes: np.ndarray, bits: int) -> np.ndarray:
    """(N, k) uint8 codes -> (N, r, k) bits: step t holds bit t (most significant first) of each code."""
    bits = _check_int("bits", bits, 1, QUANTISATION_BITS)
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.dtype != np.uint8:
        raise ValueError(f"`codes` must be uint8 of shape (N, coordinates), got {codes.dtype} {codes.shape}.")
    shifts = QUANTISATION_BITS - 1 - np.arange(bits)  # (r,)
    return ((codes[:, None, :] >> shifts[None, :, None]) & 1).astype(np.uint8)  # (N, r, k)


def label_words(class_indices: np.ndarray, num_classes: int, width: int) -> np.ndarray:
    """Class indices -> (N, n, width) bits, `num_label_bits` bits left-padded to whole words."""
    label_bits = num_label_bits(num_classes)
    words = -(-label_bits // width)
    shifts = np.arange(words * width - 1, -1, -1)  # most significant first
    bits = (np.asarray(class_indices, dtype=np.int64)[:, None] >> shifts) & 1
    return bits.reshape(-1, words, width).astype(np.uint8)


def augmented_sequences(codes: np.ndarray, labels: np.ndarray, digits: Sequence[int], bits: int) -> PixelSequences:
    """Sequences of the augmented task (step 5 of the module docstring).

    Args:
        codes: (N, k) uint8 codes from `CoordinateEncoder.transform`.
        labels: (N,) digits, each one of `digits`.
        digits: the classes; a label's class index is its position here.
        bits: `r`, the most significant bits of each code fed, 1 to 8.

    Returns:
        `PixelSequences` with inputs and targets (N, r + n - 1, k) and scored (N, r + n - 1).
    """
    digits = check_digits(digits)
    labels = np.asarray(labels)
    data = coordinate_words(codes, bits)  # (N, r, k)
    size, width = data.shape[0], data.shape[2]
    if labels.shape != (size,):
        raise ValueError(f"`labels` must have shape ({size},) to match `codes`, got {labels.shape}.")
    lookup = {digit: index for index, digit in enumerate(digits)}
    unknown = sorted({int(label) for label in labels} - set(lookup))
    if unknown:
        raise ValueError(f"`labels` must all be in `digits` {digits}, got {unknown}.")
    class_indices = np.array([lookup[int(label)] for label in labels], dtype=np.int64)
    label = label_words(class_indices, len(digits), width)  # (N, n, k)
    num_labels = label.shape[1]
    blank = np.zeros((size, num_labels, width), np.uint8)
    words = np.concatenate([data, blank], axis=1)  # (N, r + n, k): x_1 .. x_L
    target_words = np.concatenate([np.zeros_like(data), label], axis=1)  # y_1 .. y_L
    steps = bits + num_labels - 1
    scored = np.zeros((size, steps), dtype=bool)
    scored[:, steps - num_labels :] = True
    return PixelSequences(
        inputs=words[:, :-1],  # (N, T, k)
        targets=target_words[:, 1:],  # (N, T, k)
        scored=scored,
        labels=labels.astype(np.uint8),
        class_indices=class_indices,
        digits=digits,
    )


@dataclasses.dataclass(frozen=True, eq=False)
class EncodedSplits:
    """8-bit codes (N, k) and labels of the training, validation and test images."""

    train_codes: np.ndarray
    train_labels: np.ndarray
    validation_codes: np.ndarray
    validation_labels: np.ndarray
    test_codes: np.ndarray
    test_labels: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}


def encode_splits(
    train_images: np.ndarray,
    train_labels: np.ndarray,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    digits: Sequence[int],
    encoder: CoordinateEncoder,
    split_seed: int = 0,
    train_limit: int | None = None,
) -> EncodedSplits:
    """Splits as the pixel task does (`split_indices`), fits `encoder` on the training part, encodes all.

    Args:
        train_images, train_labels, test_images, test_labels: the official MNIST sets
            (raw (N, 28, 28) uint8 or 10x10 bits).
        digits: the digits to keep.
        encoder: an unfitted `CoordinateEncoder`; it is fitted here, on training images only.
        split_seed: seed of the validation choice (500 images per digit).
        train_limit: keep only this many training images (evenly over digits, seeded), for quick runs.
    """
    digits = check_digits(digits)
    train_idx, validation_idx = split_indices(train_labels, digits, seed=split_seed)
    if train_limit is not None:
        rng = np.random.default_rng([split_seed, 1])
        per_digit = max(1, train_limit // len(digits))
        train_idx = np.sort(np.concatenate([
            rng.permutation(train_idx[train_labels[train_idx] == d])[:per_digit] for d in digits
        ]))
    test_idx = np.flatnonzero(np.isin(test_labels, digits))
    train_codes = encoder.fit_transform(train_images[train_idx], train_labels[train_idx])
    return EncodedSplits(
        train_codes=train_codes,
        train_labels=np.asarray(train_labels[train_idx], np.uint8),
        validation_codes=encoder.transform(train_images[validation_idx]),
        validation_labels=np.asarray(train_labels[validation_idx], np.uint8),
        test_codes=encoder.transform(test_images[test_idx]),
        test_labels=np.asarray(test_labels[test_idx], np.uint8),
    )
