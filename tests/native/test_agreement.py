"""The native engine (the fused C++ op) against the XLA engine, the reference.

Forward outputs and gradients (of the weights and of the start state) agree to float
round-off for every order, degree, work-stage count, amplification, recurrence, mask and
measurement: in float64 to 1e-12 (outputs, and gradients relative to the largest). In
float32 the two differ by round-off (observed up to 2.4e-6 on a state, 6e-6 of the largest
gradient), so there each engine is compared with the float64 result: the native engine's
error is at most twice the XLA engine's, plus 1e-6. The sampled measurement draws the same words from the same seed in
both engines (`qrnn_tfq.engine.step.uniform_draws`).
"""

import numpy as np
import pytest

import qrnn_tfq  # noqa: F401
import tensorflow as tf
from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.engine import SequenceRequest, StateVectorEngine
from qrnn_tfq.layers.engines import get_engine
from qrnn_tfq.native import available, unavailable_reason
from qrnn_tfq.testing import random_weights, random_words

pytestmark = pytest.mark.skipif(not available(), reason=f"native op: {unavailable_reason()}")

# (workspace, io, stages, degree, order, amplification, recurrence)
CONFIGS = {
    "paper order 2": (3, 1, 1, 2, 2, 0, "postselected"),
    "order 1, two stages": (4, 2, 2, 2, 1, 0, "postselected"),
    "order 3, no stage, degree 3": (4, 2, 0, 3, 3, 0, "postselected"),
    "degree 1": (3, 2, 1, 1, 2, 0, "postselected"),
    "one workspace lane": (1, 2, 1, 2, 2, 0, "postselected"),
    "amplified, complex": (3, 1, 1, 2, 1, 1, "postselected"),
    "amplified, two rounds": (2, 2, 1, 2, 2, 2, "postselected"),
    "coherent": (3, 2, 1, 2, 0, 0, "coherent"),
}


def _run(engine, config, weights, request, start):
    """Outputs and the gradients of a loss that reads every output, weights and start state."""
    with tf.GradientTape() as tape:
        tape.watch([*weights, start])
        out = engine.run(config, weights, request._replace(state=start))
        words = tf.cast(tf.range(config.num_words) + 1, out.probabilities.dtype)
        spread = tf.cast(tf.range(2**config.workspace_lanes) % 3 - 1, out.final_state.dtype)
        loss = (tf.reduce_sum(tf.math.log(out.probabilities + 0.1) * words) + tf.reduce_sum(out.postselection)
                + tf.reduce_sum(tf.math.real(out.final_state * spread)))
    return out, tape.gradient(loss, [*weights, start])


def _results(engine, config, dtype, measurement, masked, seed, batch, steps):
    """(outputs by name, gradients by name) of `engine` on seeded random weights and words."""
    weights = random_weights(config, seed=seed, dtype=dtype)
    inputs, targets, scored = random_words(config, batch, steps, seed=seed + 1)
    mask = tf.constant(np.random.default_rng(seed + 2).random((batch, steps)) < 0.7) if masked else None
    request = SequenceRequest(inputs, targets, scored, measurement=measurement, seed=tf.constant([5, seed]), mask=mask)
    start = request.filled(config, dtype).state  # |0...0>, complex when amplified
    out, grads = _run(engine, config, weights, request, start)
    return out._asdict(), dict(zip(("theta", "phi", "work_angles", "start"), grads))


def _largest(values):
    return max(1.0, float(np.max(np.abs(values)))) if np.size(values) else 1.0


def _compare(config, dtype, measurement="target", masked=False, seed=0, batch=6, steps=7):
    case = (config, dtype, measurement, masked, seed, batch, steps)
    want, want_grads = _results(StateVectorEngine(), *case)
    got, got_grads = _results(get_engine("native"), *case)
    np.testing.assert_array_equal(got["measured"], want["measured"])
    if dtype == tf.float64:
        for name in ("probabilities", "postselection", "final_state", "ancilla_success"):
            np.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=1e-12, err_msg=name)
        for name, g in got_grads.items():
            np.testing.assert_allclose(g, want_grads[name], rtol=0, atol=1e-12 * _largest(want_grads[name]), err_msg=name)
        return
    exact, exact_grads = _results(StateVectorEngine(), config, tf.float64, *case[2:])
    pairs = [(name, got[name], want[name], exact[name]) for name in ("probabilities", "postselection", "final_state")]
    pairs += [(f"d {name}", got_grads[name], want_grads[name], exact_grads[name]) for name in got_grads]
    for name, native, xla, truth in pairs:
        if not np.size(truth):  # no work stage: no work angles
            continue
        native_error = np.max(np.abs(np.asarray(native) - np.asarray(truth))) / _largest(truth)
        xla_error = np.max(np.abs(np.asarray(xla) - np.asarray(truth))) / _largest(truth)
        assert native_error <= 2 * xla_error + 1e-6, f"{name}: native error {native_error:.2e}, XLA error {xla_error:.2e}"


@pytest.mark.parametrize("dtype", [tf.float64, tf.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_native_equals_xla_forward_and_gradients(name, dtype):
    workspace, io, stages, degree, order, rounds, recurrence = CONFIGS[name]
    config = QRNNConfig(workspace, io, stages=stages, degree=degree, order=order, amplification=rounds,
                        recurrence=recurrence)
    _compare(config, dtype)


@pytest.mark.parametrize("measurement", ["argmax", "sample"])
@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
def test_native_equals_xla_when_measuring(measurement, masked):
    for seed, config in enumerate([QRNNConfig(3, 2, stages=1, degree=2, order=2), QRNNConfig(2, 2, order=1, amplification=1)]):
        _compare(config, tf.float64, measurement=measurement, masked=masked, seed=seed, batch=16, steps=9)


def test_native_equals_xla_on_every_lane_stride_in_float32():
    """Six workspace lanes: runs of 32, 16 and 8 amplitudes and the short ones (4, 2, 1) the
    kernel special-cases, with the MNIST model's two work stages."""
    _compare(QRNNConfig(6, 2, stages=2, degree=2, order=2), tf.float32, seed=3, batch=4, steps=5)
