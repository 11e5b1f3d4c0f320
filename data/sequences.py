"""Seeded generators of the sequence tasks (SPEC sections 4 and 5) in the layer's data contract.

Tasks are written in the paper's terms (words `x_1..x_L`, targets `y_1..y_L`, scored target
positions) and `make_batch` applies SPEC section 4's offset in one place: at step `i` the
cell reads `x_i` and its output predicts `y_{i+1}`, so `L` words give `T = L - 1` steps:

    inputs[:, t]  = x_{t+1}                      t = 0 .. L-2
    targets[:, t] = y_{t+2}                      what the output at step t predicts
    scored[:, t]  = target position t+2 is scored

`x_L` is never read and `y_1` is never predicted, so position 1 may not be scored. A word
is stored as bits with lane 0 first, the most significant bit (`QRNNConfig`'s lane order):
word index = sum_j bits[j] * 2^(I-1-j).
"""

from __future__ import annotations

import dataclasses
import types
from typing import Callable, Mapping, Sequence, Union

import numpy as np
import numpy.typing as npt

from qrnn_tfq.batch import SequenceBatch as SequenceBatch  # the batch contract, re-exported
from qrnn_tfq.batch import as_bits

Seed = Union[int, Sequence[int]]

MAX_WIDTH = 62  # Words are int64; 2^62 still leaves room for the range check.
PROTOCOLS = ("paper", "honest")
TASK_NAMES = ("memorize", "xor", "letters", "dna")

# Word widths and word indices of SPEC section 5.
WORD_WIDTH = 3  # memorize, letters and dna
XOR_WIDTH = 2
XOR_CANT_KNOW = 2  # [1, 0]: the target of the two free bits of a triple.
LETTERS_CONSONANT_TARGET = 7  # 111: "some consonant".
DNA_MARK = 4  # A marked base is written as base + 4 (its leading bit set).


def words_to_bits(words: npt.ArrayLike, width: int) -> np.ndarray:
    """Writes integer words of shape (...) as (..., width) uint8 bits, most significant first.

    Args:
        words: integer array of any shape, each in `[0, 2^width)`.
        width: bits per word, 1 to `MAX_WIDTH`.

    Raises:
        TypeError: `words` is not an integer array or `width` not an int.
        ValueError: `width` is out of range or a word does not fit in `width` bits.
    """
    _check_int(width, "width", 1, MAX_WIDTH)
    array = np.asarray(words)
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"`words` must be an integer array, got dtype {array.dtype}.")
    bad = array[(array < 0) | (array >= 2**width)]
    if bad.size:
        raise ValueError(f"`words` must lie in [0, {2**width}) for `width` {width}, got {bad.flat[0]}.")
    shifts = np.arange(width - 1, -1, -1, dtype=np.int64)  # (I,) lane 0 is the top bit
    return ((array.astype(np.int64)[..., None] >> shifts) & 1).astype(np.uint8)


def bits_to_words(bits: npt.ArrayLike) -> np.ndarray:
    """Reads (..., I) bits as int64 words of shape (...); the inverse of `words_to_bits`.

    Args:
        bits: 0/1 values (bool or integer), lane 0 most significant, 1 <= I <= `MAX_WIDTH`.

    Raises:
        TypeError: `bits` is not a bool or integer array.
        ValueError: a value is not 0 or 1, or the last axis is empty or too long.
    """
    array = as_bits(bits, "bits")
    if array.ndim < 1 or not 1 <= array.shape[-1] <= MAX_WIDTH:
        raise ValueError(f"`bits` must have a last axis of 1 to {MAX_WIDTH} lanes, got shape {array.shape}.")
    shifts = np.arange(array.shape[-1] - 1, -1, -1, dtype=np.int64)
    return (array.astype(np.int64) << shifts).sum(axis=-1)


def make_batch(
    words_in: npt.ArrayLike,
    words_target: npt.ArrayLike,
    scored_positions: npt.ArrayLike,
    width: int,
) -> SequenceBatch:
    """Turns a task in the paper's terms into the layer's contract (SPEC section 4).

    Args:
        words_in: (B, L) integer words `x_1..x_L`.
        words_target: (B, L) integer words `y_1..y_L`.
        scored_positions: (B, L) bool, which *target positions* are scored; column 0
            (`y_1`) must be False because no step predicts it.
        width: bits per word `I`.

    Returns:
        `SequenceBatch(inputs=x[:, :-1], targets=y[:, 1:], scored=mask[:, 1:])` as bits.

    Raises:
        ValueError: bad shapes (`L < 2`, `B < 1`), `y_1` scored or a word too wide.
        TypeError: `scored_positions` is not bool or the words are not integers.
    """
    _check_int(width, "width", 1, MAX_WIDTH)
    x, y, mask = np.asarray(words_in), np.asarray(words_target), np.asarray(scored_positions)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 2:
        raise ValueError(f"`words_in` must have shape (B, L) with B >= 1 and L >= 2, got shape {x.shape}.")
    if y.shape != x.shape:
        raise ValueError(f"`words_target` must have the shape of `words_in` {x.shape}, got {y.shape}.")
    if mask.shape != x.shape:
        raise ValueError(f"`scored_positions` must have the shape of `words_in` {x.shape}, got {mask.shape}.")
    if mask.dtype != np.bool_:
        raise TypeError(f"`scored_positions` must be a bool array, got dtype {mask.dtype}.")
    if mask[:, 0].any():  # no step predicts y_1
        sample = int(np.flatnonzero(mask[:, 0])[0])
        raise ValueError(f"`scored_positions[:, 0]` must be False, got True in sample {sample}.")
    return SequenceBatch(
        inputs=words_to_bits(x, width)[:, :-1],  # (B, T, I); x_L is checked, never read
        targets=words_to_bits(y, width)[:, 1:],  # (B, T, I)
        scored=mask[:, 1:],  # (B, T)
    )


def memorize_task(batch_size: int, *, length: int = 20, seed: Seed) -> SequenceBatch:
    """Memorisation (SPEC section 5): the fixed sequences 0,1,2,3,0,... and 4,4,4,....

    Targets equal inputs and every prediction is scored. The batch alternates the two
    sequences (equal counts for an even `batch_size`, one extra of a seed-chosen sequence
    otherwise), in a seed-shuffled row order. The default length 20 is the paper code's.

    Args:
        batch_size: number of samples, at least 1.
        length: words per sequence `L`, at least 2.
        seed: an int >= 0 or a sequence of them, passed to `np.random.default_rng`.

    Returns:
        The batch, with `io_width` 3.
    """
    _check_int(batch_size, "batch_size", 1)
    _check_task_options("memorize", length, None)
    rng = _rng(seed)
    counting = np.arange(length) % 4  # (L,)
    constant = np.full(length, 4)  # (L,)
    which = rng.permutation((np.arange(batch_size) + rng.integers(2)) % 2)  # (B,)
    words = np.where(which[:, None] == 0, counting, constant)  # (B, L)
    scored = np.broadcast_to(np.arange(length) > 0, words.shape)  # y_1 is never predicted
    return make_batch(words, words, scored, WORD_WIDTH)


def elman_xor_task(batch_size: int, *, length: int = 36, seed: Seed) -> SequenceBatch:
    """Elman's XOR stream (SPEC section 5): triples `a b (a xor b)`, `a`, `b` uniform.

    Each bit `v` is read as the word `[0, v]`. The target of a free bit is `[1, 0]`
    ("can't know"), of an XOR bit `[0, c]`; only XOR bits are scored, i.e. the
    predictions made right after reading `b` (steps t = 1, 4, 7, ...).

    Args:
        batch_size: number of samples, at least 1.
        length: words per sample `L`, a positive multiple of 3 (the paper uses 36).
        seed: an int >= 0 or a sequence of them, passed to `np.random.default_rng`.

    Returns:
        The batch, with `io_width` 2.
    """
    _check_int(batch_size, "batch_size", 1)
    _check_task_options("xor", length, None)
    rng = _rng(seed)
    free = rng.integers(2, size=(batch_size, length // 3, 2))  # (B, L/3, 2)
    xor = free[..., 0] ^ free[..., 1]  # (B, L/3)
    stream = np.concatenate([free, xor[..., None]], axis=-1).reshape(batch_size, length)  # (B, L)
    is_xor = np.arange(length) % 3 == 2  # (L,)
    targets = np.where(is_xor, stream, XOR_CANT_KNOW)  # [0, c] has index c
    scored = np.broadcast_to(is_xor, stream.shape)
    return make_batch(stream, targets, scored, XOR_WIDTH)


def elman_letters_task(batch_size: int, *, length: int = 36, seed: Seed) -> SequenceBatch:
    """Elman's letters (SPEC section 5): random b, d, g expanded to ba, dii, guuu.

    Codes b=100, d=101, g=110, a=000, i=001, u=010. The target of a consonant is 111,
    of a vowel its code; every prediction is scored. Each sample starts with a consonant
    and is cut to `length` words, possibly inside a syllable. The default length 36 is
    the paper's experiments'.

    Args:
        batch_size: number of samples, at least 1.
        length: words per sample `L`, at least 2.
        seed: an int >= 0 or a sequence of them, passed to `np.random.default_rng`.

    Returns:
        The batch, with `io_width` 3.
    """
    _check_int(batch_size, "batch_size", 1)
    _check_task_options("letters", length, None)
    rng = _rng(seed)
    # Consonant k (b, d, g = 0, 1, 2) has code 4 + k, then k + 1 vowels of code k (a, i, u).
    # A syllable has >= 2 letters, so ceil(L/2) consonants always fill L words.
    consonants = rng.integers(3, size=(batch_size, (length + 1) // 2))  # (B, K)
    words = np.empty((batch_size, length), dtype=np.int64)
    targets = np.empty((batch_size, length), dtype=np.int64)
    for row, kinds in enumerate(consonants):
        sizes = kinds + 2  # (K,) letters per syllable
        kind = np.repeat(kinds, sizes)[:length]  # (L,) syllable kind of each letter
        starts = np.repeat(np.cumsum(sizes) - sizes, sizes)[:length]
        is_consonant = np.arange(length) == starts  # (L,)
        words[row] = np.where(is_consonant, 4 + kind, kind)
        targets[row] = np.where(is_consonant, LETTERS_CONSONANT_TARGET, kind)
    scored = np.broadcast_to(np.arange(length) > 0, words.shape)  # y_1 is never predicted
    return make_batch(words, targets, scored, WORD_WIDTH)


def dna_task(batch_size: int, *, length: int, protocol: str = "paper", seed: Seed) -> SequenceBatch:
    """DNA long-range memory (SPEC section 5): recall the marked base at the last step.

    Bases 0..3 are uniform; one position `m`, uniform in the first half `1..floor(L/2)`,
    is marked (`x_m = base + 4`). Only target position `L` is scored; it holds the marked
    base and, after the offset, is predicted at the last step `t = L-2`, from the state
    after reading `x_{L-1}` (`x_L` is never read). The unscored targets are:

    - "paper": 0 for positions before `m`, the marked base at `m` and after. After the
      offset `y_m` is predicted one step *before* the cell reads the mark, so training
      postselects the answer into the state before it is even read (for `m = 1`, `y_1`
      is dropped).
    - "honest": 0 at every position before `L`.

    Args:
        batch_size: number of samples, at least 1.
        length: words per sample `L`, at least 2.
        protocol: "paper" or "honest".
        seed: an int >= 0 or a sequence of them, passed to `np.random.default_rng`.

    Returns:
        The batch, with `io_width` 3.
    """
    _check_int(batch_size, "batch_size", 1)
    _check_task_options("dna", length, protocol)
    rng = _rng(seed)
    rows = np.arange(batch_size)
    bases = rng.integers(4, size=(batch_size, length))  # (B, L)
    mark = rng.integers(length // 2, size=batch_size)  # (B,) 0-based index m - 1
    marked_base = bases[rows, mark]  # (B,)
    words = bases.copy()
    words[rows, mark] += DNA_MARK
    if protocol == "paper":
        after_mark = np.arange(length) >= mark[:, None]  # (B, L)
        targets = np.where(after_mark, marked_base[:, None], 0)
    else:
        targets = np.zeros_like(bases)
        targets[:, -1] = marked_base
    scored = np.broadcast_to(np.arange(length) == length - 1, words.shape)
    return make_batch(words, targets, scored, WORD_WIDTH)


# name -> (generator, io_width, default length or None when the option is required)
_TASKS: Mapping[str, tuple[Callable[..., SequenceBatch], int, int | None]] = types.MappingProxyType({
    "memorize": (memorize_task, WORD_WIDTH, 20),
    "xor": (elman_xor_task, XOR_WIDTH, 36),
    "letters": (elman_letters_task, WORD_WIDTH, 36),
    "dna": (dna_task, WORD_WIDTH, None),
})


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """A named task with its options, validated; `sample` draws batches from it.

    Attributes:
        name: "memorize", "xor", "letters" or "dna".
        length: words per sample `L` (the batch has `L - 1` steps).
        protocol: "paper" or "honest" for "dna", None for the other tasks.
    """

    name: str
    length: int
    protocol: str | None = None

    def __post_init__(self) -> None:
        _check_task_options(self.name, self.length, self.protocol)

    @property
    def io_width(self) -> int:
        """`I`, the bits per word of this task."""
        return _TASKS[self.name][1]

    def sample(self, batch_size: int, seed: Seed) -> SequenceBatch:
        """Draws a batch; the same `seed` gives identical arrays."""
        generator = _TASKS[self.name][0]
        options = {"protocol": self.protocol} if self.name == "dna" else {}
        return generator(batch_size, length=self.length, seed=seed, **options)


def task_by_name(name: str, **options: object) -> TaskSpec:
    """Returns the validated `TaskSpec` of a task given by its CLI name, defaults filled in.

    Args:
        name: "memorize", "xor", "letters" or "dna".
        **options: `length` (required for "dna") and, for "dna", `protocol`
            (default "paper").

    Raises:
        ValueError: unknown task, missing `length` or a bad option value.
        TypeError: an option the task does not take.
    """
    if name not in _TASKS:
        raise ValueError(f"`name` must be one of {list(TASK_NAMES)}, got {name!r}.")
    allowed = ("length", "protocol") if name == "dna" else ("length",)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(f"Task {name!r} takes the options {list(allowed)}, got unexpected {unknown}.")
    length = options.get("length", _TASKS[name][2])
    if length is None:
        raise ValueError(f"Task {name!r} needs the option `length`, got none.")
    protocol = options.get("protocol", "paper") if name == "dna" else None
    return TaskSpec(name=name, length=length, protocol=protocol)  # type: ignore[arg-type]


def _check_task_options(name: str, length: object, protocol: object) -> None:
    if name not in TASK_NAMES:
        raise ValueError(f"`name` must be one of {list(TASK_NAMES)}, got {name!r}.")
    _check_int(length, "length", 2)  # L = 2 gives one prediction
    if name == "xor" and length % 3:  # type: ignore[operator]
        raise ValueError(f"`length` must be a multiple of 3 for task 'xor', got {length}.")
    if name == "dna":
        if protocol not in PROTOCOLS:
            raise ValueError(f"`protocol` must be one of {list(PROTOCOLS)}, got {protocol!r}.")
    elif protocol is not None:
        raise ValueError(f"`protocol` only applies to task 'dna', got {protocol!r} for task {name!r}.")


def _check_int(value: object, name: str, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an int, got {value!r} of type {type(value).__name__}.")
    if high is not None and not low <= value <= high:
        raise ValueError(f"`{name}` must be between {low} and {high}, got {value}.")
    if value < low:
        raise ValueError(f"`{name}` must be at least {low}, got {value}.")


def _rng(seed: object) -> np.random.Generator:
    entries = list(seed) if isinstance(seed, (tuple, list)) else [seed]
    expected = "`seed` must be a non-negative int or a non-empty sequence of them"
    if any(isinstance(entry, bool) or not isinstance(entry, (int, np.integer)) for entry in entries):
        raise TypeError(f"{expected}, got {seed!r}.")
    if not entries or min(entries) < 0:
        raise ValueError(f"{expected}, got {seed!r}.")
    return np.random.default_rng([int(entry) for entry in entries])
