"""XLA-compiled, differentiable `run_sequence` that nests inside any outer graph.

A `jit_compile=True` function whose gradient is taken from outside (Keras `fit`, a user's
`tf.function`) would have to pass its loop's intermediate TensorLists across the XLA
boundary, which TensorFlow cannot do. So the forward pass and the backward pass are two
compiled functions joined by `tf.custom_gradient`; the backward one recomputes the
forward under its own tape (only the inputs are kept between the two, not every step).
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf

from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.engine.factors import QRNNWeights
from qrnn_tfq.engine.sequence import SequenceOutputs, run_sequence


def _forward(config, measurement, weights, input_words, target_words, scored, seed, mask, state):
    return run_sequence(config, weights, input_words, target_words, scored, measurement, seed, mask, state)


def _backward(config, measurement, weights, input_words, target_words, scored, seed, mask, state, upstream):
    """Vector-Jacobian product of `_forward` for (weights, state), given output gradients."""
    sources = [*weights, state]
    with tf.GradientTape() as tape:
        tape.watch(sources)
        out = run_sequence(config, QRNNWeights(*sources[:3]), input_words, target_words, scored, measurement, seed, mask, sources[3])
    targets = [out.probabilities, out.postselection, out.final_state]
    return tape.gradient(targets, sources, output_gradients=upstream, unconnected_gradients=tf.UnconnectedGradients.ZERO)


def compiled_run(jit_compile: bool = True) -> Callable[..., SequenceOutputs]:
    """A differentiable `run_sequence(config, measurement, weights, words..., seed, mask, state)`."""
    forward = tf.function(_forward, jit_compile=jit_compile, reduce_retracing=True, autograph=False)
    backward = tf.function(_backward, jit_compile=jit_compile, reduce_retracing=True, autograph=False)

    def run(
        config: QRNNConfig,
        measurement: str,
        weights: QRNNWeights,
        input_words: tf.Tensor,
        target_words: tf.Tensor,
        scored: tf.Tensor,
        seed: tf.Tensor,
        mask: tf.Tensor,
        state: tf.Tensor,
    ) -> SequenceOutputs:
        words = (input_words, target_words, scored, seed, mask)

        @tf.custom_gradient
        def differentiable(theta, phi, work_angles, start):
            # stop_gradient: an outer tape must not record the compiled call itself.
            detached = [tf.stop_gradient(t) for t in (theta, phi, work_angles, start)]
            out = forward(config, measurement, QRNNWeights(*detached[:3]), *words, detached[3])

            def grad(d_probabilities, d_measured, d_postselection, d_final_state):
                upstream = [
                    tf.zeros_like(t) if d is None else d
                    for d, t in ((d_probabilities, out.probabilities), (d_postselection, out.postselection), (d_final_state, out.final_state))
                ]
                return backward(config, measurement, QRNNWeights(theta, phi, work_angles), *words, start, upstream)

            return tuple(out), grad

        return SequenceOutputs(*differentiable(*weights, state))

    return run
