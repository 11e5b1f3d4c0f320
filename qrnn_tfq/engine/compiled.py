"""The differentiable, XLA-compiled sequence run the engine uses for everything.

Forward and backward are two compiled functions joined by `tf.custom_gradient`: the
forward keeps the state before each step, the backward (`sequence_vjp`) recomputes each
step from it. Besides being fast, this keeps the loop's intermediates inside XLA, so the
run nests in any outer graph (Keras `fit`, a user's `tf.function`): a compiled loop whose
gradient were taken from outside would have to pass them across the XLA boundary, which
TensorFlow cannot do.
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf

from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.engine.backward import sequence_vjp
from qrnn_tfq.engine.factors import QRNNWeights
from qrnn_tfq.engine.sequence import SequenceOutputs, scan_sequence


def compiled_run(jit_compile: bool = True) -> Callable[..., SequenceOutputs]:
    """`run(config, measurement, weights, input_words, target_words, scored, seed, mask, state)`."""
    options = dict(jit_compile=jit_compile, reduce_retracing=True, autograph=False)
    forward = tf.function(scan_sequence, **options)
    backward = tf.function(sequence_vjp, **options)

    def run(
        config: QRNNConfig,
        measurement: str,
        weights: QRNNWeights,
        input_words: tf.Tensor,
        target_words: tf.Tensor,
        scored: tf.Tensor,
        seed: tf.Tensor,
        mask: tf.Tensor | None,
        state: tf.Tensor,
    ) -> SequenceOutputs:
        @tf.custom_gradient
        def differentiable(theta, phi, work_angles, start):
            # stop_gradient: an outer tape must not record the compiled call itself.
            detached = [tf.stop_gradient(t) for t in (theta, phi, work_angles, start)]
            out, states_before = forward(
                config, QRNNWeights(*detached[:3]), input_words, target_words, scored, measurement, seed, mask, detached[3]
            )

            def grad(d_probabilities, d_measured, d_postselection, d_final_state, d_ancilla_success):
                # `ancilla_success` is a diagnostic without gradient (see `workspace_stages`).
                upstream = [
                    tf.zeros_like(t) if d is None else d
                    for d, t in ((d_probabilities, out.probabilities), (d_postselection, out.postselection), (d_final_state, out.final_state))
                ]
                d_weights, d_start = backward(
                    config, QRNNWeights(*detached[:3]), input_words, out.measured, mask, states_before, *upstream
                )
                return (*d_weights, d_start)

            return tuple(out), grad

        return SequenceOutputs(*differentiable(*weights, state))

    return run
