"""Input checking and bit/word conversion at the Keras boundary (SPEC section 4).

Words arrive as bits, lane 0 first (the most significant bit); the engine wants word
indices. Bad input is refused here with a message that names the value.
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple

import numpy as np
import tensorflow as tf

_KEYS = ("inputs", "targets", "scored")


class SequenceWords(NamedTuple):
    """Checked sequences as word indices."""

    inputs: tf.Tensor  # (B, T) int32
    targets: tf.Tensor | None  # (B, T) int32
    scored: tf.Tensor  # (B, T) bool


def _check_binary(bits: tf.Tensor, name: str) -> list:
    """Refuse non-binary values: ValueError in eager mode, a graph assertion otherwise."""
    if tf.executing_eagerly():
        values = bits.numpy()
        bad = np.argwhere((values != 0) & (values != 1))
        if bad.size:
            index = tuple(int(i) for i in bad[0])
            raise ValueError(
                f"`{name}` must hold binary words (bits 0 or 1), got {values[index].item()!r} at index {index}."
            )
        return []
    ok = tf.reduce_all(tf.logical_or(tf.equal(bits, 0), tf.equal(bits, 1)))
    return [tf.debugging.Assert(ok, [f"`{name}` must hold binary words (bits 0 or 1)."])]


def bits_to_words(bits: Any, width: int, name: str = "inputs") -> tf.Tensor:
    """(..., width) bits -> (...) int32 word indices, lane 0 the most significant bit.

    Raises:
        ValueError: the last axis is not `width` long, or a bit is neither 0 nor 1.
    """
    bits = tf.convert_to_tensor(bits)
    if bits.shape.rank is None or bits.shape.rank < 1 or bits.shape[-1] != width:
        raise ValueError(
            f"`{name}` must have words of width io_width={width} on its last axis, got shape {bits.shape}."
        )
    checks = _check_binary(bits, name)
    with tf.control_dependencies(checks):
        place_values = tf.constant([2 ** (width - 1 - j) for j in range(width)], tf.int32)
        return tf.reduce_sum(tf.cast(bits, tf.int32) * place_values, axis=-1)


def split_inputs(inputs: Any) -> tuple[Any, Any, Any]:
    """`inputs` as (input bits, target bits or None, scored or None).

    The layer takes either the input bits alone (B, T, I) or a dict with the keys
    "inputs", "targets" (B, T, I) and optionally "scored" (B, T).
    """
    if isinstance(inputs, Mapping):
        unknown = sorted(set(inputs) - set(_KEYS))
        if unknown or "inputs" not in inputs:
            raise ValueError(f"A QRNN's dict input needs the key 'inputs' and may have {_KEYS[1:]}, got keys {sorted(inputs)}.")
        return inputs["inputs"], inputs.get("targets"), inputs.get("scored")
    if isinstance(inputs, (list, tuple)):
        raise TypeError(
            "A QRNN takes its input bits as one tensor, or a dict {'inputs', 'targets', 'scored'}; "
            f"got a {type(inputs).__name__} of {len(inputs)} items."
        )
    return inputs, None, None


def _check_same_steps(reference: tf.Tensor, other: tf.Tensor, name: str, other_name: str) -> None:
    for axis, what in ((0, "batch size"), (1, "number of steps")):
        a, b = reference.shape[axis], other.shape[axis]
        if a is not None and b is not None and a != b:
            raise ValueError(f"`{other_name}` must have the same {what} as `{name}`: got {b} and {a}.")


def sequence_words(inputs: Any, width: int) -> SequenceWords:
    """Check and convert a QRNN's inputs (see `split_inputs`) to word indices.

    Raises:
        ValueError: wrong word width, non-binary bits, no time steps, or targets/scored
            whose batch size or length differ from the inputs'.
    """
    input_bits, target_bits, scored = split_inputs(inputs)
    words = bits_to_words(input_bits, width, "inputs")
    if words.shape.rank != 2:
        raise ValueError(f"`inputs` must have shape (batch, steps, {width}), got {tf.convert_to_tensor(input_bits).shape}.")
    if words.shape[1] == 0:
        raise ValueError("`inputs` must have at least one time step, got 0.")
    targets = None
    if target_bits is not None:
        targets = bits_to_words(target_bits, width, "targets")
        _check_same_steps(words, targets, "inputs", "targets")
    if scored is None:
        scored = tf.ones_like(words, dtype=tf.bool)
    else:
        scored = tf.convert_to_tensor(scored)
        if scored.shape.rank == 3 and scored.shape[-1] == 1:
            scored = scored[..., 0]
        if scored.shape.rank != 2:
            raise ValueError(f"`scored` must have shape (batch, steps), got {scored.shape}.")
        _check_same_steps(words, scored, "inputs", "scored")
        scored = tf.cast(scored, tf.bool)
    return SequenceWords(words, targets, scored)
