"""Neuron factors `c(x)`, `s(x)` for every neuron and source branch (SPEC section 2).

They depend on the parameters only, so one forward pass computes them once and every time
step reuses them. The weighted subset sums `sum_S phi_S prod_{i in S} x_i` over all
`2^(n-1)` branches are a zeta (subset-sum) transform of the weights placed on the
hypercube: `n - 1` adds over a `(2,)*(n-1)` tensor instead of a `2^(n-1) x K` matrix.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import tensorflow as tf

from qrnn_tfq.amplification import FixedPointSchedule
from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.engine import state_ops


class QRNNWeights(NamedTuple):
    """The trainable parameters, in the layout of `QRNNConfig`."""

    theta: tf.Tensor  # (N,)
    phi: tf.Tensor  # (N, K)
    work_angles: tf.Tensor  # (S, W)


class NeuronFactors(NamedTuple):
    """Per-forward-pass constants of the step (SPEC section 2, note).

    `workspace_table` holds the input and work-stage neurons' factors indexed by the input
    word, so a step selects its slice with one matmul against the words' one-hot vectors.
    """

    workspace_table: tf.Tensor  # (2^I, N_ws * 2 * 2^(W-1)): [c, s] per neuron, by input word
    output_gains: tf.Tensor  # (2^I, 2^W): the output stage's factor on each word's branch
    work_cos: tf.Tensor  # (S, W): cos(angle / 2) of the work-stage ry
    work_sin: tf.Tensor  # (S, W)


def subset_masks(config: QRNNConfig) -> np.ndarray:
    """Branch index of each subset: the source positions of `S` set, position 0 the MSB."""
    width = config.num_lanes - 1
    return np.array([sum(1 << (width - 1 - p) for p in subset) for subset in config.subsets], dtype=np.int32)


def subset_sums(config: QRNNConfig, phi: tf.Tensor) -> tf.Tensor:
    """`sum_S phi[k, S] prod_{i in S} x_i` for every neuron `k` and branch `x`.

    Args:
        config: the topology.
        phi: (N, K) weights.

    Returns:
        (N, 2^(n-1)) tensor, branch index big-endian over the source lanes.
    """
    width = config.num_lanes - 1
    num_neurons = tf.shape(phi)[0]
    # Weights on the hypercube: weight of subset S at the branch whose bits are S.
    cube = tf.scatter_nd(
        subset_masks(config)[:, None], tf.transpose(phi), shape=tf.stack([2**width, num_neurons])
    )  # (2^(n-1), N)
    cube = tf.reshape(tf.transpose(cube), [-1] + [2] * width)  # (N, 2, ..., 2)
    for axis in range(1, width + 1):  # zeta transform: x=1 on an axis adds the x=0 half
        low, high = tf.unstack(cube, axis=axis)
        cube = tf.stack([low, low + high], axis=axis)
    return tf.reshape(cube, [-1, 2**width])


def neuron_angles(config: QRNNConfig, weights: QRNNWeights) -> tf.Tensor:
    """`eta(x) = (b + theta + sum_S phi_S prod x) / 2`, shape (N, 2^(n-1))."""
    dtype = weights.phi.dtype
    sums = subset_sums(config, weights.phi)
    return 0.5 * (tf.constant(config.bias, dtype) + weights.theta[:, None] + sums)


def neuron_cos_sin(config: QRNNConfig, weights: QRNNWeights) -> tuple[tf.Tensor, tf.Tensor]:
    """`c = cos(eta)^(2^ord)`, `s = sin(eta)^(2^ord)` for every neuron, each (N, 2^(n-1))."""
    eta = neuron_angles(config, weights)
    cos, sin = tf.cos(eta), tf.sin(eta)
    for _ in range(config.order):  # repeated squaring: x^(2^ord)
        cos, sin = cos * cos, sin * sin
    return cos, sin


def output_gains(config: QRNNConfig, cos: tf.Tensor, sin: tf.Tensor) -> tf.Tensor:
    """The output stage as one factor per (output word, workspace branch), (2^I, 2^W).

    The output neurons start from `|0...0>` on the in/out lanes and act in lane order, so
    when neuron `j` acts, lanes `> j` are still 0 and lanes `< j` hold the word's bits so
    far: the branch of word `w` is `psi` times the product over `j` of `c_j` (bit `j` of
    `w` is 0) or `s_j` (bit 1), each at the branch (w's bits `< j`, zeros `> j`, v).

    Args:
        config: the topology.
        cos: (I, 2^(n-1)) factors of the output neurons.
        sin: (I, 2^(n-1)).
    """
    io, words, size = config.io_lanes, config.num_words, 2**config.workspace_lanes
    gains = tf.ones([words, size], cos.dtype)
    for lane in range(io):
        # Source branches of output neuron `lane`: in/out lanes but `lane`, then the workspace.
        tables = [tf.reshape(t[lane], [2**lane, 2 ** (io - 1 - lane), size])[:, 0, :] for t in (cos, sin)]
        table = tf.concat(tables, axis=0)  # (2 * 2^lane, 2^W): rows [c at prefix..., s at prefix...]
        rows = [((w >> (io - 1 - lane)) & 1) * 2**lane + (w >> (io - lane)) for w in range(words)]
        gains = gains * tf.gather(table, rows)
    return gains


def amplified_gain(success: tf.Tensor, schedule: FixedPointSchedule) -> tf.Tensor:
    """`h(lambda)` of `qrnn_tfq.amplification.amplified_gain` in TensorFlow, complex.

    A polynomial in `lambda` (no square roots), so its gradient is finite everywhere.
    """
    dtype = tf.complex64 if success.dtype == tf.float32 else tf.complex128
    lam = state_ops.as_dtype(success, dtype)
    a, b = tf.ones_like(lam), tf.zeros_like(lam)
    for alpha, beta in zip(schedule.alphas, schedule.betas):
        b = b - tf.constant(1 - np.exp(1j * beta), dtype) * (a + b)
        a = a - tf.constant(1 - np.exp(-1j * alpha), dtype) * (a + b * lam)
    return a + b


def applied_cos_sin(config: QRNNConfig, weights: QRNNWeights) -> tuple[tf.Tensor, tf.Tensor]:
    """The factors each neuron applies, each (N, 2^(n-1)): `c`, `s` of SPEC section 2, or
    with amplification (SPEC section 8) both times the complex `h(c^2 + s^2)`."""
    cos, sin = neuron_cos_sin(config, weights)
    if config.schedule is None:
        return cos, sin
    gain = amplified_gain(cos * cos + sin * sin, config.schedule)
    return state_ops.as_dtype(cos, gain.dtype) * gain, state_ops.as_dtype(sin, gain.dtype) * gain


def neuron_factors(config: QRNNConfig, weights: QRNNWeights) -> NeuronFactors:
    """All factors of one forward pass, laid out for `cell_step`: real, or complex with
    amplified neurons (`applied_cos_sin`)."""
    cos, sin = applied_cos_sin(config, weights)
    work_cos = state_ops.as_dtype(tf.cos(0.5 * weights.work_angles), cos.dtype)
    work_sin = state_ops.as_dtype(tf.sin(0.5 * weights.work_angles), cos.dtype)
    num_ws = config.num_workspace_neurons
    words, half_ws = config.num_words, 2 ** (config.workspace_lanes - 1)
    # Workspace neurons: the source index is (input word, other workspace lanes).
    table = tf.stack([cos[:num_ws], sin[:num_ws]], axis=1)  # (N_ws, 2, 2^(n-1))
    table = tf.reshape(table, [num_ws, 2, words, half_ws])
    table = tf.reshape(tf.transpose(table, [2, 0, 1, 3]), [words, num_ws * 2 * half_ws])
    return NeuronFactors(
        workspace_table=table,
        output_gains=output_gains(config, cos[num_ws:], sin[num_ws:]),
        work_cos=work_cos,
        work_sin=work_sin,
    )
