"""MNIST pixel-by-pixel sequences and the train/validation/test split (SPEC section 5).

Each 10x10 binary image becomes 100 words of `IO_LANES = 2` bits: word `k` holds the
k-th pixel in row-major order (lane 0, the most significant bit) and the k-th pixel in
column-major order (lane 1). The target words are `00` except the label, written in
the last word(s): its class index (the label's position in `digits`) in
`num_label_bits(len(digits))` bits, most significant first, left-padded with zeros to
whole words. Two digits: the last target word is `[0, class]`; ten digits: 4 bits in
the last two words.

Section 4's one-step offset is applied here: the cell reads words 1..99 and the output
after word `i` predicts target word `i + 1`, so `inputs = words[:, :-1]` and
`targets = target_words[:, 1:]`, both (B, 99, 2); `scored` is True at the label steps.
The paper's code never reads the last pixel pair; neither do we.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Sequence, Union

import numpy as np

from .mnist import load_mnist
from .mnist_preprocess import SIDE, load_embedded, preprocess

if TYPE_CHECKING:
    from .sequences import SequenceBatch

PathLike = Union[str, "os.PathLike[str]"]

IO_LANES = 2
NUM_WORDS = SIDE * SIDE  # 100 words per image
VALIDATION_PER_DIGIT = 500


@dataclasses.dataclass(frozen=True, eq=False)
class PixelSequences:
    """A batch of MNIST pixel sequences in the project's data contract.

    Attributes:
        inputs: uint8 bits (B, 99, 2), the words the cell reads.
        targets: uint8 bits (B, 99, 2); `targets[:, i]` is what the output at step
            `i` predicts.
        scored: bool (B, 99), True only at the label steps.
        labels: uint8 (B,), the original digits 0-9.
        class_indices: int64 (B,), each label's position in `digits`.
        digits: The digits in class-index order.
    """

    inputs: np.ndarray
    targets: np.ndarray
    scored: np.ndarray
    labels: np.ndarray
    class_indices: np.ndarray
    digits: tuple[int, ...]

    def __post_init__(self) -> None:
        for name in ("inputs", "targets", "scored", "labels", "class_indices"):
            getattr(self, name).setflags(write=False)

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    def to_batch(self, indices: np.ndarray | None = None) -> "SequenceBatch":
        """Returns the (selected) samples as a `data.sequences.SequenceBatch`.

        Args:
            indices: Integer indices or a boolean mask of the samples; None: all.
        """
        from .sequences import SequenceBatch  # pylint: disable=import-outside-toplevel

        chosen = slice(None) if indices is None else np.asarray(indices)
        return SequenceBatch(
            inputs=self.inputs[chosen], targets=self.targets[chosen], scored=self.scored[chosen]
        )


@dataclasses.dataclass(frozen=True, eq=False)
class MnistSplits:
    """Training, validation and test sequences for one choice of digits."""

    train: PixelSequences
    validation: PixelSequences
    test: PixelSequences
    digits: tuple[int, ...]


def check_digits(digits: Sequence[int]) -> tuple[int, ...]:
    """Validates a list of at least two distinct digits 0-9 and returns it as a tuple.

    Raises:
        TypeError: If a digit is not an integer.
        ValueError: If a digit is outside 0-9, repeated, or there are fewer than two.
    """
    digits = tuple(digits)
    for digit in digits:
        if isinstance(digit, (bool, np.bool_)) or not isinstance(digit, (int, np.integer)):
            raise TypeError(f"`digits` must hold integers, got {digit!r} in {digits}.")
    digits = tuple(int(d) for d in digits)
    unknown = [d for d in digits if not 0 <= d <= 9]
    if unknown:
        raise ValueError(f"`digits` must be digits 0-9, got unknown digits {unknown}.")
    if len(set(digits)) != len(digits):
        raise ValueError(f"`digits` must not repeat a digit, got {digits}.")
    if len(digits) < 2:
        raise ValueError(f"`digits` must hold at least 2 digits, got {digits}.")
    return digits


def num_label_bits(num_digits: int) -> int:
    """Bits needed for a class index among `num_digits` classes (2 -> 1, 10 -> 4)."""
    return max(1, (num_digits - 1).bit_length())


def num_label_words(num_digits: int) -> int:
    """Words of `IO_LANES` bits that carry the label (2 digits -> 1, 10 -> 2)."""
    return -(-num_label_bits(num_digits) // IO_LANES)


def label_words(class_indices: np.ndarray, num_digits: int) -> np.ndarray:
    """Encodes class indices as label words, most significant bit first.

    Args:
        class_indices: Integers (B,) in 0..num_digits-1.
        num_digits: The number of classes.

    Returns:
        uint8 bits (B, num_label_words, 2), left-padded with zeros.
    """
    class_indices = np.asarray(class_indices, dtype=np.int64)
    words = num_label_words(num_digits)
    shifts = np.arange(words * IO_LANES - 1, -1, -1)  # MSB first
    bits = (class_indices[:, None] >> shifts) & 1  # (B, words * 2)
    return bits.reshape(-1, words, IO_LANES).astype(np.uint8)


def decode_label_words(words: np.ndarray) -> np.ndarray:
    """Inverts `label_words`: (B, num_label_words, 2) bits -> int64 class indices (B,)."""
    words = np.asarray(words, dtype=np.int64)
    bits = words.reshape(words.shape[0], -1)  # (B, words * 2), MSB first
    weights = 1 << np.arange(bits.shape[1] - 1, -1, -1)
    return bits @ weights


def pixel_words(bits: np.ndarray) -> np.ndarray:
    """Turns (B, 10, 10) bits into (B, 100, 2) words: row-major and column-major pixels."""
    rows = bits.reshape(bits.shape[0], NUM_WORDS)  # (B, 100) row-major
    cols = bits.transpose(0, 2, 1).reshape(bits.shape[0], NUM_WORDS)  # column-major
    return np.stack([rows, cols], axis=-1).astype(np.uint8)  # (B, 100, 2)


def pixel_sequences(
    bits10x10: np.ndarray, labels: np.ndarray, digits: Sequence[int]
) -> PixelSequences:
    """Builds the pixel-by-pixel sequences of SPEC section 5 with section 4's offset.

    Args:
        bits10x10: uint8 bits (B, 10, 10), e.g. from `preprocess`.
        labels: Digits (B,), each one of `digits`.
        digits: The classes, at least two distinct digits 0-9; a label's class index
            is its position here.

    Returns:
        `PixelSequences` with `inputs` and `targets` (B, 99, 2) and `scored` (B, 99).

    Raises:
        TypeError: If `labels` is not an integer array.
        ValueError: If the shapes are wrong, the bits are not 0/1, a label is not in
            `digits`, or `digits` is invalid.
    """
    digits = check_digits(digits)
    bits = np.asarray(bits10x10)
    labels = np.asarray(labels)
    if bits.ndim != 3 or bits.shape[1:] != (SIDE, SIDE):
        raise ValueError(f"`bits10x10` must have shape (B, 10, 10), got {bits.shape}.")
    if bits.size and not np.isin(bits, (0, 1)).all():
        raise ValueError(
            f"`bits10x10` must hold only 0 and 1, got values {np.unique(bits)[:10]}."
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"`labels` must be an integer array, got dtype {labels.dtype}.")
    if labels.shape != (bits.shape[0],):
        raise ValueError(
            f"`labels` must have shape ({bits.shape[0]},) to match `bits10x10`, got "
            f"{labels.shape}."
        )
    lookup = np.full(256, -1, dtype=np.int64)
    lookup[list(digits)] = np.arange(len(digits))
    in_range = (labels >= 0) & (labels <= 9)
    class_indices = np.where(in_range, lookup[np.clip(labels, 0, 9).astype(np.int64)], -1)
    if (class_indices < 0).any():
        bad = np.unique(labels[class_indices < 0])
        raise ValueError(f"`labels` must all be in `digits` {digits}, got {bad.tolist()}.")

    words = pixel_words(bits)  # (B, 100, 2)
    num_words = num_label_words(len(digits))
    target_words = np.zeros_like(words)  # (B, 100, 2)
    target_words[:, NUM_WORDS - num_words :] = label_words(class_indices, len(digits))
    scored = np.zeros((bits.shape[0], NUM_WORDS - 1), dtype=bool)  # (B, 99)
    scored[:, NUM_WORDS - 1 - num_words :] = True
    return PixelSequences(
        inputs=words[:, :-1],  # (B, 99, 2): words 1..99
        targets=target_words[:, 1:],  # (B, 99, 2): words 2..100
        scored=scored,
        labels=labels.astype(np.uint8),
        class_indices=class_indices,
        digits=digits,
    )


def split_indices(
    labels: np.ndarray,
    digits: Sequence[int],
    seed: int = 0,
    validation_per_digit: int = VALIDATION_PER_DIGIT,
) -> tuple[np.ndarray, np.ndarray]:
    """Chooses per digit `validation_per_digit` training images for validation.

    Each digit draws from its own generator `np.random.default_rng([seed, digit])`,
    so a digit's validation images do not depend on which other digits are used.

    Args:
        labels: The training labels (N,).
        digits: The digits to keep.
        seed: A non-negative integer seed.
        validation_per_digit: Validation images per digit.

    Returns:
        `(train_indices, validation_indices)`, sorted int64 indices into `labels`.

    Raises:
        ValueError: If `seed` is negative or a digit has too few images.
    """
    digits = check_digits(digits)
    if int(seed) < 0:
        raise ValueError(f"`seed` must be a non-negative integer, got {seed}.")
    labels = np.asarray(labels)
    train, validation = [], []
    for digit in sorted(digits):
        indices = np.flatnonzero(labels == digit)
        if indices.size <= validation_per_digit:
            raise ValueError(
                f"Digit {digit} has {indices.size} training images, need more than "
                f"`validation_per_digit`={validation_per_digit}."
            )
        rng = np.random.default_rng([int(seed), digit])
        chosen = np.zeros(indices.size, dtype=bool)
        chosen[rng.choice(indices.size, validation_per_digit, replace=False)] = True
        validation.append(indices[chosen])
        train.append(indices[~chosen])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(validation))


def load_bits(source: PathLike | None = None) -> tuple[np.ndarray, ...]:
    """Loads preprocessed 10x10 bits (paper polarity) from the chosen source.

    Args:
        source: None or "embedded": the shipped file; "raw": `load_mnist()`'s search
            (env var, Keras cache, download); otherwise a path: an embedded-format
            npz (key `train_bits`), a Keras `mnist.npz` or a folder of IDX files.

    Returns:
        `(train_bits, train_labels, test_bits, test_labels)`.
    """
    if source is None or source == "embedded":
        return load_embedded()
    if source == "raw":
        x_train, y_train, x_test, y_test = load_mnist()
    else:
        path = Path(source)
        if path.is_file() and path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                is_embedded = "train_bits" in npz.files
            if is_embedded:
                return load_embedded(path)
        x_train, y_train, x_test, y_test = load_mnist(path)
    return preprocess(x_train), y_train, preprocess(x_test), y_test


def mnist_splits(
    digits: Sequence[int],
    source: PathLike | None = None,
    seed: int = 0,
    validation_per_digit: int = VALIDATION_PER_DIGIT,
) -> MnistSplits:
    """The train/validation/test sequences of the MNIST task for some digits.

    Validation: per digit `validation_per_digit` (500) training images chosen with
    `seed`; train: the other training images of those digits; test: the official
    test images of those digits. Images keep their original order.

    Args:
        digits: At least two distinct digits; class index = position in this list.
        source: Where the images come from, see `load_bits` (default: embedded).
        seed: Seed of the validation choice.
        validation_per_digit: Validation images per digit.

    Returns:
        `MnistSplits` with three `PixelSequences`.
    """
    digits = check_digits(digits)
    train_bits, train_labels, test_bits, test_labels = load_bits(source)
    train_idx, validation_idx = split_indices(
        train_labels, digits, seed=seed, validation_per_digit=validation_per_digit
    )
    test_idx = np.flatnonzero(np.isin(test_labels, digits))
    return MnistSplits(
        train=pixel_sequences(train_bits[train_idx], train_labels[train_idx], digits),
        validation=pixel_sequences(
            train_bits[validation_idx], train_labels[validation_idx], digits
        ),
        test=pixel_sequences(test_bits[test_idx], test_labels[test_idx], digits),
        digits=digits,
    )
