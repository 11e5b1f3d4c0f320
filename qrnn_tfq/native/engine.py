"""`NativeEngine`: the layers' engine on the fused C++ op (`engine="native"`).

The neuron factors come from the TensorFlow engine's own `neuron_factors` (cheap, once per
call, differentiable by autodiff); the recurrence over every step is one op call forward
and one backward, joined by `tf.custom_gradient` as `qrnn_tfq.engine.compiled` joins the
XLA engine's two passes. The forward keeps the state before each step only when a
gradient tape records it (training); the backward replays each step from those states.
A single `step` (for `tf.keras.layers.RNN(QRNNCell)`) runs the TensorFlow step, which is
the same arithmetic.

The op runs on the CPU, in eager mode and in graphs. XLA cannot compile a custom op, so
inside `tf.function(jit_compile=True)` the engine runs the XLA engine instead (the same
results to round-off); on GPUs, use `engine="state_vector"` ("auto" does).
"""

from __future__ import annotations

import tensorflow as tf
from tensorflow.python.eager import record  # pylint: disable=no-name-in-module  (whether a tape records)
from tensorflow.python.ops import control_flow_util  # pylint: disable=no-name-in-module  (inside XLA?)

from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.engine import Engine, QRNNWeights, StateVectorEngine, SequenceOutputs, SequenceRequest, StepOutputs, StepRequest
from qrnn_tfq.engine import cell_step, neuron_factors
from qrnn_tfq.engine.factors import NeuronFactors
from qrnn_tfq.engine.step import step_uniforms
from qrnn_tfq.native.library import ops


def op_attributes(config: QRNNConfig) -> dict:
    """The ops' attributes that fix the cell (SPEC section 3), read as the XLA engine reads them."""
    return dict(
        lanes=config.workspace_lanes, stages=config.stages, interval=min(config.renormalization_interval, 1 << 30),
        coherent=config.recurrence == "coherent",
    )


def run_native(config: QRNNConfig, factors: NeuronFactors, request: SequenceRequest) -> SequenceOutputs:
    """The whole sequence through the op, differentiable in the factors and the start state.

    Args:
        config: the topology.
        factors: `neuron_factors` of the weights (real, or complex with amplification).
        request: a `filled` request (int32 words, bool flags, start state in the state dtype).
    """
    library = ops()
    dtype = factors.output_gains.dtype
    attrs = op_attributes(config)
    mask = tf.zeros([0], tf.bool) if request.mask is None else request.mask
    if request.measurement == "sample":
        uniform = step_uniforms(request.seed, tf.shape(request.input_words))
    else:
        uniform = tf.zeros([0], tf.float64)
    keep_states = record.should_record_backprop([*tf.nest.flatten(factors), request.state])

    @tf.custom_gradient
    def differentiable(table, gains, work_cos, work_sin, start):
        out = library.qrnn_sequence_forward(
            table, gains, work_cos, work_sin, request.input_words, request.target_words, request.scored, mask, uniform,
            start, measurement=request.measurement, keep_states=keep_states, Treal=dtype.real_dtype, **attrs,
        )

        def grad(d_probabilities, d_measured, d_postselection, d_final_state, d_success):
            del d_measured, d_success  # integers; and a diagnostic without gradient (`workspace_stages`)
            upstream = [
                tf.zeros_like(t) if d is None else d
                for d, t in ((d_probabilities, out.probabilities), (d_postselection, out.postselection),
                             (d_final_state, out.final_state))
            ]
            states = out.states
            if not keep_states:  # a gradient nobody recorded for (tf.gradients of a graph): run again, keeping them
                states = library.qrnn_sequence_forward(
                    table, gains, work_cos, work_sin, request.input_words, out.measured, request.scored, mask, uniform,
                    start, measurement="target", keep_states=True, Treal=dtype.real_dtype, **attrs,
                ).states
            return library.qrnn_sequence_backward(
                table, gains, work_cos, work_sin, request.input_words, out.measured, mask, states, *upstream, **attrs
            )

        outputs = (out.probabilities, out.measured, out.postselection, out.final_state, out.ancilla_success)
        return outputs, grad

    probabilities, measured, postselection, final_state, success = differentiable(*factors, request.state)
    return SequenceOutputs(probabilities, measured, postselection, final_state, success)


class NativeEngine(Engine):
    """The postselected (or coherent, or amplified) recurrence on the fused C++ op."""

    name = "native"

    def __init__(self) -> None:
        ops()  # RuntimeError with the reason and the build command when the op is missing
        self.inside_xla = StateVectorEngine()  # what runs where XLA compiles the caller

    def run(self, config: QRNNConfig, weights: QRNNWeights, request: SequenceRequest) -> SequenceOutputs:
        if control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph()):
            return self.inside_xla.run(config, weights, request)
        request = request.filled(config, weights.theta.dtype)
        return run_native(config, neuron_factors(config, weights), request)

    def step(self, config: QRNNConfig, weights: QRNNWeights, request: StepRequest) -> StepOutputs:
        return cell_step(config, neuron_factors(config, weights), request)
