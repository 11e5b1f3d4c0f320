"""The recurrence over a whole sequence (SPEC section 4), one `tf.scan` over time steps.

The neuron factors are computed once per call; each step is `cell_step`. Everything is
TF ops on tensors, so the function runs under `tf.function(jit_compile=True)` and is
differentiable end to end with respect to the weights. A run is asked for with one
`SequenceRequest` value, after the topology and the weights.
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.engine import state_ops
from qrnn_tfq.engine.factors import QRNNWeights, neuron_factors
from qrnn_tfq.engine.step import StepRequest, step_batch_last


class SequenceOutputs(NamedTuple):
    """Per-step results of a sequence, batch-major."""

    probabilities: tf.Tensor  # (B, T, 2^I)
    measured: tf.Tensor  # (B, T) int32
    postselection: tf.Tensor  # (B, T) word probability: p_t(measured word)
    final_state: tf.Tensor  # (B, 2^W), complex with amplified neurons
    ancilla_success: tf.Tensor  # (B, T) probability that every neuron ancilla of step t reads 0


def state_dtype(config: QRNNConfig, dtype: tf.DType) -> tf.DType:
    """The state's dtype for weights of `dtype`: complex with amplified neurons (SPEC 8)."""
    dtype = tf.as_dtype(dtype)
    if config.amplification and not dtype.is_complex:
        return tf.complex64 if dtype == tf.float32 else tf.complex128
    return dtype


def initial_state(config: QRNNConfig, batch_size: tf.Tensor | int, dtype: tf.DType = tf.float32) -> tf.Tensor:
    """All lanes in 0: the workspace state `|0...0>`, shape (B, 2^W), in `state_dtype`."""
    return tf.one_hot(tf.zeros([batch_size], tf.int32), 2**config.workspace_lanes, dtype=state_dtype(config, dtype))


class SequenceRequest(NamedTuple):
    """What a sequence run is asked to do: everything of an engine call besides the
    topology and the weights (`Engine.run`, `run_sequence`).

    A `NamedTuple`, so a `tf.nest` structure: under `tf.function` the tensors are inputs,
    keyed by dtype and shape, while `measurement` (a Python str) and a None `mask` are
    part of the trace key. `filled` gives the defaults, in this one place.
    """

    input_words: tf.Tensor  # (B, T) int32 word read at each step
    target_words: tf.Tensor  # (B, T) int32 word the output at each step predicts
    scored: tf.Tensor  # (B, T) bool, steps where `measurement` picks the measured word
    # "target" (training: always postselect the target), "sample" or "argmax" (evaluation:
    # at scored steps; unscored steps take the target).
    measurement: str = "target"
    seed: tf.Tensor | None = None  # (2,) int32 seed for "sample", step t uses fold_in(seed, t); default zeros
    mask: tf.Tensor | None = None  # (B, T) bool, a masked step keeps the state and repeats the previous output
    state: tf.Tensor | None = None  # (B, 2^W) initial workspace state; default |0...0>

    def filled(self, config: QRNNConfig, dtype: tf.DType) -> SequenceRequest:
        """This request with the defaults given (seed zeros, state `|0...0>`) and every
        tensor in the dtype the engine runs on, for weights of `dtype`; the mask stays
        None when not given (static: without a mask the steps carry no selects)."""
        state = initial_state(config, tf.shape(self.input_words)[0], dtype) if self.state is None else self.state
        return self._replace(
            input_words=tf.cast(self.input_words, tf.int32),
            target_words=tf.cast(self.target_words, tf.int32),
            scored=tf.cast(self.scored, tf.bool),
            seed=tf.zeros([2], tf.int32) if self.seed is None else tf.cast(self.seed, tf.int32),
            mask=None if self.mask is None else tf.cast(self.mask, tf.bool),
            state=state_ops.as_dtype(state, state_dtype(config, dtype)),  # complex with amplified neurons
        )


def scan_sequence(
    config: QRNNConfig, weights: QRNNWeights, request: SequenceRequest
) -> tuple[SequenceOutputs, tf.Tensor]:
    """`run_sequence` on a `filled` request; also returns the state before each step.

    Returns:
        The outputs and the workspace states before each step, (T, 2^W, B) batch-last:
        all that the backward pass keeps (it recomputes the inside of each step).
    """
    dtype = weights.theta.dtype
    factors = neuron_factors(config, weights)
    input_words, target_words, scored, measurement, seed, mask, state = request
    batch = tf.shape(input_words)[0]
    steps = tf.range(tf.shape(input_words)[1])
    masked = mask is not None  # static: without a mask the steps carry no selects
    time_major = [tf.transpose(t) for t in (input_words, target_words, scored, mask if masked else scored)]  # (T, B)

    def step(carry, elems):
        previous_state, previous_probabilities, _, _, _ = carry
        input_word, target_word, step_scored, step_mask, t = elems
        step_seed = tf.random.experimental.stateless_fold_in(seed, t) if measurement == "sample" else seed
        step_request = StepRequest(
            input_word=input_word, target_word=target_word, scored=step_scored, measurement=measurement, seed=step_seed,
            state=previous_state,
        )
        out = step_batch_last(config, factors, step_request)
        if not masked:
            return out.state, out.probabilities, out.measured, out.postselection, out.ancilla_success
        ones = tf.ones_like(out.postselection)
        return (
            tf.where(step_mask[None, :], out.state, previous_state),
            tf.where(step_mask[:, None], out.probabilities, previous_probabilities),
            tf.where(step_mask, out.measured, target_word),
            tf.where(step_mask, out.postselection, ones),
            tf.where(step_mask, out.ancilla_success, ones),
        )

    state = tf.transpose(state)  # (2^W, B): the engine's internal layout, in `state_dtype` (`filled`)
    ones = tf.ones([batch], dtype)
    start = (state, tf.zeros([batch, config.num_words], dtype), tf.zeros([batch], tf.int32), ones, ones)
    states, probabilities, measured, postselection, ancilla_success = tf.scan(step, (*time_major, steps), initializer=start)
    outputs = SequenceOutputs(
        probabilities=tf.transpose(probabilities, [1, 0, 2]),
        measured=tf.transpose(measured),
        postselection=tf.transpose(postselection),
        final_state=tf.transpose(states[-1]),
        ancilla_success=tf.transpose(ancilla_success),
    )
    return outputs, tf.concat([state[None], states[:-1]], axis=0)


def run_sequence(config: QRNNConfig, weights: QRNNWeights, request: SequenceRequest) -> SequenceOutputs:
    """Run the cell over `T` steps (plain TF autodiff; the layer uses the compiled form).

    Args:
        config: the topology.
        weights: the parameters, all of one float dtype (the engine's dtype).
        request: the words, scored steps, measurement, seed, mask and start state
            (`SequenceRequest`; its defaults are filled here).

    Returns:
        `SequenceOutputs`.
    """
    outputs, _ = scan_sequence(config, weights, request.filled(config, weights.theta.dtype))
    return outputs
