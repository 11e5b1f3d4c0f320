"""Elementary operations on a batch of real state vectors (SPEC sections 1-3).

A state is a `(B, 2^m)` tensor over `m` lanes, lane 0 the most significant bit. Every gate
of the model is a real 2x2 rotation-like mix on one lane, possibly scaled per branch, so
one function, `mix_lane`, serves neurons and work-stage rotations alike.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def tiny(dtype: tf.DType) -> float:
    """Smallest positive normal number of `dtype`: the floor of every norm and probability."""
    return float(np.finfo(dtype.as_numpy_dtype).tiny)


def mix_lane(state: tf.Tensor, lane: int, num_lanes: int, cos: tf.Tensor, sin: tf.Tensor) -> tf.Tensor:
    """Apply `a0' = c a0 - s a1`, `a1' = s a0 + c a1` to `lane` on every branch.

    Args:
        state: (B, 2^m) amplitudes.
        lane: the target lane, 0 .. m-1.
        num_lanes: `m`.
        cos: factors broadcastable to (B, 2^lane, 2^(m-1-lane)): a scalar, or one value
            per branch of the other lanes (big-endian), per sample or shared.
        sin: same shape as `cos`.

    Returns:
        (B, 2^m) amplitudes, not renormalised.
    """
    high, low = 2**lane, 2 ** (num_lanes - 1 - lane)
    split = tf.reshape(state, [-1, high, 2, low])  # (B, 2^lane, 2, 2^(m-1-lane))
    a0, a1 = split[:, :, 0, :], split[:, :, 1, :]
    mixed = tf.stack([cos * a0 - sin * a1, sin * a0 + cos * a1], axis=2)
    return tf.reshape(mixed, [-1, 2**num_lanes])


def branch_factors(factors: tf.Tensor, lane: int, num_lanes: int) -> tf.Tensor:
    """Reshape (..., 2^(m-1)) factors to (..., 2^lane, 2^(m-1-lane)) for `mix_lane`."""
    shape = tf.concat([tf.shape(factors)[:-1], [2**lane, 2 ** (num_lanes - 1 - lane)]], axis=0)
    return tf.reshape(factors, shape)


def normalize(state: tf.Tensor) -> tf.Tensor:
    """Rescale every sample to unit norm; an all-zero sample stays zero (no NaN)."""
    norm2 = tf.reduce_sum(tf.square(state), axis=-1, keepdims=True)
    return state * tf.math.rsqrt(tf.maximum(norm2, tiny(state.dtype)))


def embed_workspace(workspace_state: tf.Tensor, num_words: int) -> tf.Tensor:
    """`|0...0>_io (x) psi`: (B, 2^W) -> (B, 2^I * 2^W) with the in/out lanes in 0."""
    padded = tf.pad(workspace_state[:, None, :], [[0, 0], [0, num_words - 1], [0, 0]])
    return tf.reshape(padded, [-1, num_words * workspace_state.shape[-1]])


def word_probabilities(state: tf.Tensor, num_words: int) -> tf.Tensor:
    """Marginal probability of each in/out word: (B, 2^n) -> (B, 2^I)."""
    return tf.reduce_sum(tf.square(tf.reshape(state, [-1, num_words, state.shape[-1] // num_words])), axis=-1)


def project_word(state: tf.Tensor, word_one_hot: tf.Tensor) -> tf.Tensor:
    """Workspace part of the branch with in/out word `m`, unnormalised: (B, 2^n) -> (B, 2^W)."""
    num_words = word_one_hot.shape[-1]
    split = tf.reshape(state, [-1, num_words, state.shape[-1] // num_words])
    return tf.einsum("bw,bwv->bv", word_one_hot, split)
