"""The batch contract of the QRNN's sequence tasks (SPEC section 4): bits in, bits out.

A `SequenceBatch` holds what the layer reads (`inputs`, `targets`, `scored`) as checked,
read-only numpy arrays. It lives in the library so that the training loops need nothing
from the programs' `data` package, which builds these batches for the paper's tasks.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt


@dataclasses.dataclass(frozen=True, eq=False)
class SequenceBatch:
    """One batch in the layer's data contract; the arrays are read-only copies.

    Attributes:
        inputs: (B, T, I) uint8 bits, the words `x_1..x_{L-1}` the cell reads.
        targets: (B, T, I) uint8 bits, the words `y_2..y_L`; `targets[:, t]` is what the
            output distribution at step `t` predicts and, in training, the measured word.
        scored: (B, T) bool, the predictions the loss counts; at the other steps the
            measured word is postselected onto the target.
    """

    inputs: np.ndarray
    targets: np.ndarray
    scored: np.ndarray

    def __post_init__(self) -> None:
        inputs = as_bits(self.inputs, "inputs")
        targets = as_bits(self.targets, "targets")
        scored = np.asarray(self.scored)
        if inputs.ndim != 3 or min(inputs.shape) < 1:
            raise ValueError(f"`inputs` must have a non-empty shape (B, T, I), got shape {inputs.shape}.")
        if targets.shape != inputs.shape:
            raise ValueError(f"`targets` must have the shape {inputs.shape} of `inputs`, got {targets.shape}.")
        if scored.dtype != np.bool_:
            raise TypeError(f"`scored` must be a bool array, got dtype {scored.dtype}.")
        if scored.shape != inputs.shape[:2]:
            raise ValueError(f"`scored` must have shape (B, T) = {inputs.shape[:2]}, got {scored.shape}.")
        for name, array in (("inputs", inputs), ("targets", targets), ("scored", scored.copy())):
            array.setflags(write=False)
            object.__setattr__(self, name, array)

    @property
    def batch_size(self) -> int:
        """`B`, the number of samples."""
        return self.inputs.shape[0]

    @property
    def steps(self) -> int:
        """`T = L - 1`, the number of steps (predictions) per sample."""
        return self.inputs.shape[1]

    @property
    def io_width(self) -> int:
        """`I`, the bits per word (the cell's `io_lanes`)."""
        return self.inputs.shape[2]


def as_bits(values: npt.ArrayLike, name: str) -> np.ndarray:
    """`values` as a fresh uint8 array of bits; a TypeError or ValueError names the bad value."""
    array = np.asarray(values)
    if array.dtype != np.bool_ and not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"`{name}` must be a bool or integer array of bits, got dtype {array.dtype}.")
    bad = array[(array != 0) & (array != 1)]
    if bad.size:
        raise ValueError(f"`{name}` must hold only bits 0 and 1, got {bad.flat[0]}.")
    return array.astype(np.uint8)  # a fresh copy
