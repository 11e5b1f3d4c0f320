"""One-bit sequence tasks for the hardware-native QRNN (docs/HARDWARE.md): input bits, readout targets.

A `BitTask` batch is `inputs` (B, T) bits (one per step), `scored` (T,) which steps are read
out (the same for every sequence: the readouts are built into the device circuit) and
`targets` (B, R) the bit each readout should give, R = scored.sum().

- "xor": Elman's XOR stream (SPEC section 5, `data.sequences.elman_xor_task`) of
  `length` bits, each bit its own input; read out right after each `b`, predicting
  `a xor b` (every XOR bit of the stream is scored).
- "parity": `length` random bits; read out once, after the last, their parity (a task
  that needs memory of every bit).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from data.sequences import elman_xor_task

BIT_TASKS = ("xor", "parity")


@dataclasses.dataclass(frozen=True, eq=False)
class BitBatch:
    """(B, T) input bits, (T,) scored steps and (B, R) readout targets."""

    inputs: np.ndarray
    scored: np.ndarray
    targets: np.ndarray


def bit_task(name: str, batch_size: int, *, length: int, seed: int) -> BitBatch:
    """A batch of task `name` with `length` bits per sequence; the same seed, the same batch."""
    if name not in BIT_TASKS:
        raise ValueError(f"`name` must be one of {list(BIT_TASKS)}, got {name!r}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer, got {batch_size!r}.")
    if name == "xor":
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 3 or length % 3:
            raise ValueError(f"`length` must be a positive multiple of 3 for task 'xor', got {length!r}.")
        batch = elman_xor_task(batch_size, length=length, seed=seed)
        scored = np.asarray(batch.scored[0], dtype=bool)
        return BitBatch(batch.inputs[..., -1].astype(np.float64), scored,
                        batch.targets[..., -1][:, scored].astype(np.float64))
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
        raise ValueError(f"`length` must be a positive integer for task 'parity', got {length!r}.")
    bits = np.random.default_rng(seed).integers(2, size=(batch_size, length))
    scored = np.arange(length) == length - 1
    return BitBatch(bits.astype(np.float64), scored, (bits.sum(axis=1, keepdims=True) % 2).astype(np.float64))
