"""One time step of the QRNN cell on the carried workspace state (SPEC sections 3 and 4).

Between steps the in/out lanes are in 0 (step 7 flips them back), so only the workspace
state `psi` is carried. During the input and work stages the in/out lanes hold the basis
word `x` and are only read, so the full state stays `|x> (x) psi` and each workspace
neuron acts on `psi` with its factors at branch `x`; undoing the input flips (step 4)
leaves `|0> (x) psi`, and the output stage runs on the full state.

The `*_batch_last` functions work on the engine's internal layout, states (2^m, B); the
public `cell_step` and `apply_neuron` take and return batch-first states (B, 2^m). A step
is asked for with one `StepRequest` value, after the topology and the factors.
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.engine import state_ops
from qrnn_tfq.engine.factors import NeuronFactors

MEASUREMENTS = ("target", "sample", "argmax")


class StepRequest(NamedTuple):
    """What one step is asked to do: everything of a step call besides topology and factors.

    A `NamedTuple`, so a `tf.nest` structure: under `tf.function` the tensors are inputs
    and `measurement` (a Python str) is part of the trace key.
    """

    input_word: tf.Tensor  # (B,) int32 word index read at this step
    target_word: tf.Tensor  # (B,) int32 word the output predicts (measured in training)
    scored: tf.Tensor  # (B,) bool, where `measurement` chooses the measured word
    measurement: str  # "target" (teacher forcing), "sample" or "argmax"
    seed: tf.Tensor  # (2,) int32 seed of the sample at this step
    state: tf.Tensor  # workspace state, unit norm: (B, 2^W) in `cell_step`, (2^W, B) in `step_batch_last`


class StepOutputs(NamedTuple):
    """What one step emits."""

    probabilities: tf.Tensor  # (B, 2^I) output distribution p_i
    measured: tf.Tensor  # (B,) int32 word the in/out lanes were projected onto
    postselection: tf.Tensor  # (B,) p_i(measured): the measured word's probability
    state: tf.Tensor  # workspace state for the next step: (2^W, B) inside, (B, 2^W) public
    ancilla_success: tf.Tensor  # (B,) probability that every neuron ancilla of the step reads 0


def workspace_stages(
    config: QRNNConfig, factors: NeuronFactors, state: tf.Tensor, input_one_hot: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """SPEC section 3 steps 1-4: input stage and work stages on the workspace state (2^W, B).

    Returns:
        The renormalised state and (B,) the probability that all these neurons' ancillas
        succeed: the product of the squared norms the renormalisations divide out. It is a
        diagnostic and carries no gradient.
    """
    width, half = config.workspace_lanes, 2 ** (config.workspace_lanes - 1)
    interval = config.renormalization_interval
    success = tf.ones(tf.shape(state)[1:], state.dtype.real_dtype)

    def renormalize(state: tf.Tensor, success: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        norm2 = tf.stop_gradient(tf.reduce_sum(state_ops.abs2(state), axis=0))
        return state_ops.normalize(state), success * norm2

    # One small matmul per neuron selects its factors at each sample's input word; one big
    # selection cut into pieces costs more in the gradient (a stack or zero-filled slices).
    tables = tf.unstack(tf.reshape(factors.workspace_table, [config.num_words, config.num_workspace_neurons * 2, half]), axis=1)
    selected = [tf.matmul(table, input_one_hot, transpose_a=True, transpose_b=True) for table in tables]  # (2^(W-1), B) each
    work_cos = [tf.unstack(row) for row in tf.unstack(factors.work_cos)] if config.stages else []
    work_sin = [tf.unstack(row) for row in tf.unstack(factors.work_sin)] if config.stages else []
    neuron = 0
    for stage in range(config.stages + 1):
        if stage > 0:
            for lane in range(width):
                state = state_ops.mix_lane(state, lane, width, work_cos[stage - 1][lane], work_sin[stage - 1][lane])
        for lane in range(width):
            cos = state_ops.branch_factors(selected[2 * neuron], lane, width)
            sin = state_ops.branch_factors(selected[2 * neuron + 1], lane, width)
            state = state_ops.mix_lane(state, lane, width, cos, sin)
            neuron += 1
            if neuron % interval == 0:
                state, success = renormalize(state, success)
    if neuron % interval == 0:
        return state, success
    return renormalize(state, success)


def apply_neuron(config: QRNNConfig, state: tf.Tensor, neuron: int, cos: tf.Tensor, sin: tf.Tensor) -> tf.Tensor:
    """The postselected neuron of SPEC section 2 on a full state (B, 2^n), renormalised.

    Real or complex (amplified factors, SPEC section 8) alike.

    Renormalising after each neuron or once after several gives the same state (the
    neurons are linear); `workspace_stages` does the latter (`normalize_interval`).

    Args:
        config: the topology.
        state: (B, 2^n) amplitudes over all lanes.
        neuron: the neuron's index (it fixes the target lane).
        cos: (2^(n-1),) its factors `c(x)` over the source branches, big-endian.
        sin: (2^(n-1),) its factors `s(x)`.
    """
    lane, lanes = config.neuron_target(neuron), config.num_lanes
    mixed = state_ops.mix_lane(
        tf.transpose(state), lane, lanes, state_ops.branch_factors(cos, lane, lanes), state_ops.branch_factors(sin, lane, lanes)
    )
    return tf.transpose(state_ops.normalize(mixed))


def choose_words(
    probabilities: tf.Tensor, *, target: tf.Tensor, scored: tf.Tensor, measurement: str, seed: tf.Tensor
) -> tf.Tensor:
    """The word to measure (SPEC section 4): the target, or at scored steps a sample or argmax.

    A sample is drawn by inverse transform, in float64: the first word whose cumulative
    probability exceeds a uniform draw `u` times the total, `u` from `seed`
    (`uniform_draws`). Every engine draws this way from the same `u`
    (`step_uniforms`), so the engines measure the same words for the same seed; a sample
    whose distribution is all zero (a dead postselection) measures the last word.
    """
    if measurement == "target":
        return target
    if measurement == "argmax":
        chosen = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
    elif measurement == "sample":
        chosen = inverse_transform(probabilities, uniform_draws(tf.shape(probabilities)[:1], seed))
    else:
        raise ValueError(f"`measurement` must be one of {MEASUREMENTS}, got {measurement!r}.")
    return tf.where(scored, chosen, target)


def uniform_draws(shape: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """float64 draws in [0, 1) on a grid of 2^-32, from 32 random bits each.

    From the bits, not `stateless_uniform`'s floats: XLA and TensorFlow's kernels draw the
    same bits but turn them into different floats, and the engines must agree.
    """
    bits = tf.random.stateless_uniform(shape, seed=seed, minval=None, maxval=None, dtype=tf.uint32, alg="philox")
    return tf.cast(bits, tf.float64) * 2.0**-32


def inverse_transform(probabilities: tf.Tensor, uniform: tf.Tensor) -> tf.Tensor:
    """(B,) words drawn from (B, 2^I) probabilities (not necessarily summing to 1) by (B,) draws in [0, 1)."""
    cumulative = tf.cumsum(tf.cast(probabilities, tf.float64), axis=-1)
    below = tf.cast(cumulative <= uniform[:, None] * cumulative[:, -1:], tf.int32)
    return tf.minimum(tf.reduce_sum(below, axis=-1), tf.shape(probabilities)[-1] - 1)


@tf.function(reduce_retracing=True, autograph=False)
def step_uniforms(seed: tf.Tensor, shape: tf.Tensor) -> tf.Tensor:
    """(B, T) float64 draws of a sampled sequence: column t is what `choose_words` draws
    at step t, whose seed is `stateless_fold_in(seed, t)` (`scan_sequence`)."""

    def column(t: tf.Tensor) -> tf.Tensor:
        return uniform_draws(shape[:1], tf.random.experimental.stateless_fold_in(seed, t))

    return tf.transpose(tf.map_fn(column, tf.range(shape[1]), fn_output_signature=tf.float64))


def step_batch_last(config: QRNNConfig, factors: NeuronFactors, request: StepRequest) -> StepOutputs:
    """`cell_step` on the internal layout: `request.state` (2^W, B) in, `state` (2^W, B) out."""
    dtype = request.state.dtype  # complex with amplified neurons, else real
    state, success = workspace_stages(
        config, factors, request.state, tf.one_hot(request.input_word, config.num_words, dtype=dtype)
    )
    # Output stage (step 5) and read-out (step 6): word w's branch is gains[w] * psi.
    weights = tf.matmul(
        state_ops.abs2(state), state_ops.abs2(factors.output_gains), transpose_a=True, transpose_b=True
    )  # (B, 2^I)
    total = tf.reduce_sum(weights, axis=-1)  # (B,) the output neurons' ancilla success
    probabilities = weights * tf.square(state_ops.inverse_sqrt(total[:, None]))
    measured = choose_words(
        probabilities, target=request.target_word, scored=request.scored, measurement=request.measurement,
        seed=request.seed,
    )
    measured_one_hot = tf.one_hot(measured, config.num_words, dtype=probabilities.dtype)
    postselection = tf.reduce_sum(measured_one_hot * probabilities, axis=-1)  # (B,)
    # Measurement (step 7): project on the measured word's branch and renormalise.
    if config.recurrence == "coherent":
        # SPEC section 8: the output stage is only read out; the in/out lanes are back in
        # |0> after step 4, so the state carried forward is the workspace state as it is.
        next_state = state
    else:
        gains = tf.transpose(tf.matmul(state_ops.as_dtype(measured_one_hot, dtype), factors.output_gains))  # (2^W, B)
        branch_weight = tf.reduce_sum(measured_one_hot * weights, axis=-1)  # (B,)
        next_state = gains * state * state_ops.as_dtype(state_ops.inverse_sqrt(branch_weight), dtype)
    ancilla_success = success * tf.stop_gradient(total)
    return StepOutputs(probabilities, measured, postselection, next_state, ancilla_success)


def cell_step(config: QRNNConfig, factors: NeuronFactors, request: StepRequest) -> StepOutputs:
    """One step: write the input word, run the stages, read p, measure, reset the in/out lanes.

    Args:
        config: the topology.
        factors: `neuron_factors` of this forward pass.
        request: the step's words, measurement, seed and (B, 2^W) workspace state.

    Returns:
        `StepOutputs` with the next state (B, 2^W). A postselection of probability 0
        (or below `sqrt(tiny)`, 1e-19 in float32) leaves that sample in the zero state,
        with zero probabilities from then on and no gradient through it: the loss sees
        `log(tiny)` (`word_nll`), large and finite, never NaN.
    """
    out = step_batch_last(config, factors, request._replace(state=tf.transpose(request.state)))
    return out._replace(state=tf.transpose(out.state))
