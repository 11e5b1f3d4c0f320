"""Input checking and bit/word conversion at the Keras boundary (SPEC section 4).

Words arrive as bits, lane 0 first (the most significant bit); the engine wants word
indices. Bad input is refused here with a message that names the value: a ValueError in
eager mode, an assertion when a graph runs. XLA (`jit_compile=True`) drops assertions and
cannot raise at run time, so in a graph the checks also say which samples are valid, and
the layers turn every output of an invalid sample into NaN (`poison`): loss, metrics and
predictions then read NaN instead of a plausible answer computed from misread bits.
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple

import numpy as np
import tensorflow as tf

_KEYS = ("inputs", "targets", "scored")
_BITS = "must hold binary words (bits 0 or 1)"
_FLAGS = "must hold 0 or 1 (or booleans)"


class SequenceWords(NamedTuple):
    """Checked sequences as word indices."""

    inputs: tf.Tensor  # (B, T) int32
    targets: tf.Tensor | None  # (B, T) int32
    scored: tf.Tensor  # (B, T) bool
    valid: tf.Tensor | None  # (B,) bool in a graph, False for a sample with a bad bit or flag; None: all valid


def _check_binary(values: tf.Tensor, name: str, what: str = _BITS) -> tuple[list, tf.Tensor | None]:
    """Check that `values` are 0 or 1: (graph assertions, elementwise flags or None).

    Eager mode raises ValueError naming the first bad value and its index (no flags). A
    graph gets an assertion, for a control dependency, and the flags: XLA drops the
    assertion, and the caller poisons what the bad values produce. Booleans need no check.
    """
    if values.dtype == tf.bool:
        return [], None
    ok = tf.logical_or(tf.equal(values, 0), tf.equal(values, 1))
    if tf.executing_eagerly():
        bad = np.argwhere(~ok.numpy())
        if bad.size:
            index = tuple(int(i) for i in bad[0])
            raise ValueError(f"`{name}` {what}, got {values.numpy()[index].item()!r} at index {index}.")
        return [], None
    return [tf.debugging.Assert(tf.reduce_all(ok), [f"`{name}` {what}."])], ok


def words_and_flags(bits: Any, width: int, name: str = "inputs") -> tuple[tf.Tensor, tf.Tensor | None]:
    """(..., width) bits -> (...) int32 word indices, and (...) bool flags, False where a
    word has a bit that is neither 0 nor 1 (None in eager mode, where such a bit raises).

    A bad bit counts as 0, so every word index is in range even where XLA dropped the check.

    Raises:
        ValueError: the last axis is not `width` long, or (eager) a bit is neither 0 nor 1.
    """
    bits = tf.convert_to_tensor(bits)
    if bits.shape.rank is None or bits.shape.rank < 1 or bits.shape[-1] != width:
        raise ValueError(
            f"`{name}` must have words of width io_lanes={width} on its last axis, got shape {bits.shape}."
        )
    checks, ok = _check_binary(bits, name)
    ones = bits if bits.dtype == tf.bool else tf.equal(bits, 1)
    with tf.control_dependencies(checks):
        place_values = tf.constant([2 ** (width - 1 - j) for j in range(width)], tf.int32)
        words = tf.reduce_sum(tf.cast(ones, tf.int32) * place_values, axis=-1)
    return words, None if ok is None else tf.reduce_all(ok, axis=-1)


def bits_to_words(bits: Any, width: int, name: str = "inputs") -> tf.Tensor:
    """(..., width) bits -> (...) int32 word indices, lane 0 the most significant bit.

    Raises:
        ValueError: the last axis is not `width` long, or a bit is neither 0 nor 1.
    """
    return words_and_flags(bits, width, name)[0]


def scored_and_flags(scored: Any, name: str = "scored") -> tuple[tf.Tensor, tf.Tensor | None]:
    """`scored` as bool, and bool flags, False where a value is neither 0 nor 1 (None when
    all are checked: eager mode raises ValueError, booleans need no check)."""
    scored = tf.convert_to_tensor(scored)
    checks, ok = _check_binary(scored, name, _FLAGS)
    with tf.control_dependencies(checks):
        flags = scored if scored.dtype == tf.bool else tf.equal(scored, 1)
    return flags, ok


def all_valid(*flags: tf.Tensor | None) -> tf.Tensor | None:
    """The conjunction of (B,) flags; None (all valid) when every one is None."""
    given = [f for f in flags if f is not None]
    if not given:
        return None
    return tf.reduce_all(tf.stack(given), axis=0)


def poison(value: tf.Tensor, valid: tf.Tensor | None) -> tf.Tensor:
    """NaN in every entry of an invalid sample (`valid` (B,) bool, `value` batch-first).

    Integer tensors (measured words) are returned as they are.
    """
    if valid is None or not (value.dtype.is_floating or value.dtype.is_complex):
        return value
    shape = tf.concat([tf.shape(valid), tf.ones([tf.rank(value) - 1], tf.int32)], axis=0)
    return tf.where(tf.reshape(valid, shape), value, tf.cast(float("nan"), value.dtype))


def split_inputs(inputs: Any) -> tuple[Any, Any, Any]:
    """`inputs` as (input bits, target bits or None, scored or None).

    The layer takes either the input bits alone (B, T, I) or a dict with the keys
    "inputs", "targets" (B, T, I) and optionally "scored" (B, T). `scored` marks the steps
    measured against `targets`, so it needs them.
    """
    if isinstance(inputs, Mapping):
        unknown = sorted(set(inputs) - set(_KEYS))
        if unknown or "inputs" not in inputs:
            raise ValueError(f"A QRNN's dict input needs the key 'inputs' and may have {_KEYS[1:]}, got keys {sorted(inputs)}.")
        if "scored" in inputs and "targets" not in inputs:
            raise ValueError(
                "`scored` marks the steps a QRNN scores against `targets`, so a dict input with 'scored' "
                f"needs 'targets' too, got keys {sorted(inputs)}."
            )
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


def _with_steps(words: tf.Tensor) -> tf.Tensor:
    """`words`, asserting at run time that it has a step (when a graph left it unknown)."""
    if words.shape[1] is not None:
        return words
    has_steps = tf.debugging.Assert(tf.shape(words)[1] > 0, ["`inputs` must have at least one time step, got 0."])
    with tf.control_dependencies([has_steps]):
        return tf.identity(words)


def sequence_words(inputs: Any, width: int) -> SequenceWords:
    """Check and convert a QRNN's inputs (see `split_inputs`) to word indices.

    Raises:
        ValueError: wrong word width, non-binary bits or `scored` flags, no time steps,
            `scored` without `targets`, or targets/scored whose batch size or length
            differ from the inputs'.
    """
    input_bits, target_bits, scored = split_inputs(inputs)
    words, input_ok = words_and_flags(input_bits, width, "inputs")
    if words.shape.rank != 2:
        raise ValueError(f"`inputs` must have shape (batch, steps, {width}), got {tf.convert_to_tensor(input_bits).shape}.")
    if words.shape[1] == 0:
        raise ValueError("`inputs` must have at least one time step, got 0.")
    words = _with_steps(words)
    flags = [None if input_ok is None else tf.reduce_all(input_ok, axis=1)]
    targets = None
    if target_bits is not None:
        targets, target_ok = words_and_flags(target_bits, width, "targets")
        _check_same_steps(words, targets, "inputs", "targets")
        flags.append(None if target_ok is None else tf.reduce_all(target_ok, axis=1))
    if scored is None:
        scored = tf.ones_like(words, dtype=tf.bool)
    else:
        scored = tf.convert_to_tensor(scored)
        if scored.shape.rank == 3 and scored.shape[-1] == 1:
            scored = scored[..., 0]
        if scored.shape.rank != 2:
            raise ValueError(f"`scored` must have shape (batch, steps) or (batch, steps, 1), got {scored.shape}.")
        _check_same_steps(words, scored, "inputs", "scored")
        scored, scored_ok = scored_and_flags(scored)
        flags.append(None if scored_ok is None else tf.reduce_all(scored_ok, axis=1))
    return SequenceWords(words, targets, scored, all_valid(*flags))
