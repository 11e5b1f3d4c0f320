"""The differentiable, XLA-compiled sequence run the engine uses for everything.

Forward and backward are two compiled functions joined by `tf.custom_gradient`: the
forward keeps the state before each step, the backward (`sequence_vjp`) recomputes each
step from it. Besides being fast, this keeps the loop's intermediates inside XLA, so the
run nests in any outer graph (Keras `fit`, a user's `tf.function`): a compiled loop whose
gradient were taken from outside would have to pass them across the XLA boundary, which
TensorFlow cannot do.

Compilations are cached by `tf.function`: `config` (a frozen dataclass) and the request's
`measurement` (a string) and absent mask are static, the tensors are keyed by dtype and
shape, so a second call with the same ones runs the compiled code without tracing again.
"""

from __future__ import annotations

import tensorflow as tf

from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.engine.backward import replay_request, sequence_vjp
from qrnn_tfq.engine.factors import QRNNWeights
from qrnn_tfq.engine.sequence import SequenceOutputs, SequenceRequest, scan_sequence


class CompiledRun:
    """`run_sequence` on a `filled` request, compiled forward and backward.

    Args:
        jit_compile: compile both passes with XLA (False: plain graphs, for debugging).

    Attributes:
        forward: the `tf.function` of `scan_sequence`.
        backward: the `tf.function` of `sequence_vjp`.
    """

    def __init__(self, jit_compile: bool = True) -> None:
        options = dict(jit_compile=jit_compile, reduce_retracing=True, autograph=False)
        self.forward = tf.function(scan_sequence, **options)
        self.backward = tf.function(sequence_vjp, **options)

    def __call__(self, config: QRNNConfig, weights: QRNNWeights, request: SequenceRequest) -> SequenceOutputs:
        """The sequence's outputs, differentiable with respect to `weights` and `request.state`."""

        @tf.custom_gradient
        def differentiable(theta, phi, work_angles, start):
            # stop_gradient: an outer tape must not record the compiled call itself.
            detached = [tf.stop_gradient(t) for t in (theta, phi, work_angles, start)]
            forward_request = request._replace(state=detached[3])
            out, states_before = self.forward(config, QRNNWeights(*detached[:3]), forward_request)

            def grad(d_probabilities, d_measured, d_postselection, d_final_state, d_ancilla_success):
                # `ancilla_success` is a diagnostic without gradient (see `workspace_stages`).
                upstream = [
                    tf.zeros_like(t) if d is None else d
                    for d, t in ((d_probabilities, out.probabilities), (d_postselection, out.postselection), (d_final_state, out.final_state))
                ]
                d_weights, d_start = self.backward(
                    config, QRNNWeights(*detached[:3]), replay_request(forward_request, out.measured),
                    states_before=states_before, d_probabilities=upstream[0], d_postselection=upstream[1],
                    d_final_state=upstream[2],
                )
                return (*d_weights, d_start)

            return tuple(out), grad

        return SequenceOutputs(*differentiable(*weights, request.state))
