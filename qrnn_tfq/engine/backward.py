"""Hand-written backward pass through time (reverse-mode, one step at a time).

TF's gradient of `tf.scan` stacks every intermediate of every step and costs over ten
forward passes. Here the forward pass keeps only the workspace state before each step
(B, 2^W); the backward pass walks the steps in reverse, recomputes one step from its
stored state under a tape, and pulls the upstream gradients through that step alone.
The measured words are replayed as targets (`replay_request`), so the recomputed step is
the same one.
"""

from __future__ import annotations

import tensorflow as tf

from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.engine.factors import QRNNWeights, neuron_factors
from qrnn_tfq.engine.sequence import SequenceRequest
from qrnn_tfq.engine.step import StepRequest, step_batch_last


def replay_request(request: SequenceRequest, measured_words: tf.Tensor) -> SequenceRequest:
    """The `filled` request that repeats a forward pass step for step: its measured words
    (B, T) as the targets, every step teacher-forced ("target", nothing scored). The
    measurement is part of the trace key, so one backward compilation serves them all."""
    return request._replace(target_words=measured_words, scored=tf.zeros_like(request.scored), measurement="target")


def sequence_vjp(
    config: QRNNConfig,
    weights: QRNNWeights,
    replay: SequenceRequest,
    *,
    states_before: tf.Tensor,
    d_probabilities: tf.Tensor,
    d_postselection: tf.Tensor,
    d_final_state: tf.Tensor,
) -> tuple[QRNNWeights, tf.Tensor]:
    """Gradients of a sequence's outputs, pulled back to the weights and the initial state.

    Args:
        config: the topology.
        weights: the parameters of the forward pass.
        replay: `replay_request` of the forward pass's request: the input words, the measured
            words as targets, nothing scored, "target", the seed, the mask or None.
        states_before: (T, 2^W, B) workspace state before each step (batch-last).
        d_probabilities: (B, T, 2^I) upstream gradient of the word distributions.
        d_postselection: (B, T) upstream gradient of the postselection probabilities.
        d_final_state: (B, 2^W) upstream gradient of the final state.

    Returns:
        The gradient for each weight and for the initial state.
    """
    assert replay.measurement == "target", "the backward pass replays the measured words as targets"
    with tf.GradientTape() as factor_tape:
        factor_tape.watch(list(weights))
        factors = neuron_factors(config, weights)
    leaves = list(factors)
    input_words, measured_words, scored, mask = replay.input_words, replay.target_words, replay.scored, replay.mask
    masked = mask is not None
    mask = mask if masked else tf.ones_like(input_words, tf.bool)
    time_major = [tf.transpose(t) for t in (input_words, measured_words, scored, mask)]  # (T, B)
    d_probabilities = tf.transpose(d_probabilities, [1, 0, 2])  # (T, B, 2^I)
    d_postselection = tf.transpose(d_postselection)  # (T, B)
    num_steps = tf.shape(input_words)[1]

    def body(t, d_state, d_carried, d_leaves):
        previous = states_before[t]
        input_word, measured, step_scored, step_mask = (x[t] for x in time_major)
        keep = step_mask[:, None]  # (B, 1) for probabilities; step_mask[None] for states (2^W, B)
        d_step_probabilities = d_probabilities[t] + d_carried  # a masked step repeats the previous output
        with tf.GradientTape() as tape:
            tape.watch([previous, *leaves])
            request = StepRequest(
                input_word=input_word, target_word=measured, scored=step_scored, measurement=replay.measurement,
                seed=replay.seed, state=previous,
            )
            out = step_batch_last(config, type(factors)(*leaves), request)
            outputs = [out.probabilities, out.postselection, out.state]
            if masked:
                outputs = [
                    tf.where(keep, out.probabilities, tf.zeros_like(out.probabilities)),
                    tf.where(step_mask, out.postselection, tf.ones_like(out.postselection)),
                    tf.where(step_mask[None, :], out.state, previous),
                ]
        grads = tape.gradient(
            outputs, [previous, *leaves], output_gradients=[d_step_probabilities, d_postselection[t], d_state],
            unconnected_gradients=tf.UnconnectedGradients.ZERO,
        )
        d_carried = tf.where(keep, tf.zeros_like(d_step_probabilities), d_step_probabilities) if masked else d_carried
        return t - 1, grads[0], d_carried, [a + g for a, g in zip(d_leaves, grads[1:])]

    _, d_initial, _, d_leaves = tf.while_loop(
        lambda t, *_: t >= 0,
        body,
        (num_steps - 1, tf.transpose(d_final_state), tf.zeros_like(d_probabilities[0]), [tf.zeros_like(x) for x in leaves]),
    )
    d_weights = factor_tape.gradient(leaves, list(weights), output_gradients=d_leaves, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return QRNNWeights(*d_weights), tf.transpose(d_initial)
