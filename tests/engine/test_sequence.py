"""The recurrence: unit norm, distributions, the zero-probability guard, gradients, dtypes."""

import numpy as np
import pytest

import qrnn_tfq  # noqa: F401
import tensorflow as tf
from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.engine import SequenceRequest, StateVectorEngine, initial_state, run_sequence
from qrnn_tfq.losses import paper_shifted_loss, word_nll
from qrnn_tfq.testing import random_weights, random_words


ENGINE = StateVectorEngine()  # one engine: tests of one configuration and shape share its compilations


def test_a_request_fills_its_defaults_in_one_place():
    cfg = QRNNConfig(2, 1, stages=1, degree=1)
    inputs, targets, scored = random_words(cfg, 3, 4, seed=0)
    filled = SequenceRequest(inputs, targets, tf.cast(scored, tf.int32)).filled(cfg, tf.float32)
    assert (filled.measurement, filled.mask, filled.scored.dtype) == ("target", None, tf.bool)  # no mask: no selects
    np.testing.assert_array_equal(filled.seed.numpy(), np.zeros(2, np.int32))
    np.testing.assert_array_equal(filled.state.numpy(), initial_state(cfg, 3, tf.float32).numpy())  # |0...0>
    amplified = QRNNConfig(2, 1, stages=1, degree=1, order=2, amplification=1)
    given = SequenceRequest(inputs, targets, scored, seed=tf.constant([1, 2], tf.int64), mask=tf.ones([3, 4]),
                            state=initial_state(cfg, 3, tf.float64))
    filled = given.filled(amplified, tf.float64)
    assert (filled.seed.dtype, filled.mask.dtype, filled.state.dtype) == (tf.int32, tf.bool, tf.complex128)
    np.testing.assert_array_equal(filled.seed.numpy(), [1, 2])


def test_norm_stays_one_over_300_steps():
    # Long enough for float32 drift or underflow between renormalisations to show.
    cfg = QRNNConfig(4, 2, stages=1, degree=2, order=2)
    weights = random_weights(cfg, seed=0, dtype=tf.float32, spread=0.5)
    inputs, targets, scored = random_words(cfg, 4, 300, seed=1)
    request = SequenceRequest(inputs, targets, scored, measurement="sample", seed=tf.constant([1, 2]))
    out = ENGINE.run(cfg, weights, request)
    np.testing.assert_allclose(tf.norm(out.final_state, axis=-1).numpy(), 1.0, atol=1e-5)
    np.testing.assert_allclose(tf.reduce_sum(out.probabilities, -1).numpy(), 1.0, atol=1e-5)
    assert np.all(out.postselection.numpy() > 0)


@pytest.mark.parametrize("measurement", ["target", "argmax", "sample"])
def test_measured_words_follow_the_protocol(measurement):
    cfg = QRNNConfig(3, 2, stages=1, degree=2)
    weights = random_weights(cfg, seed=2)
    inputs, targets, scored = random_words(cfg, 16, 12, seed=3)
    request = SequenceRequest(inputs, targets, scored, measurement=measurement, seed=tf.constant([5, 6]))
    out = run_sequence(cfg, weights, request)
    measured, probs = out.measured.numpy(), out.probabilities.numpy()
    unscored = ~scored.numpy()
    assert np.array_equal(measured[unscored], targets.numpy()[unscored])
    if measurement == "target":
        assert np.array_equal(measured, targets.numpy())
    if measurement == "argmax":
        assert np.array_equal(measured[~unscored], probs.argmax(-1)[~unscored])
    chosen_probability = np.take_along_axis(probs, measured[..., None], -1)[..., 0]
    np.testing.assert_allclose(out.postselection.numpy(), chosen_probability, atol=1e-12)


def test_sampling_is_seeded():
    cfg = QRNNConfig(3, 2, stages=1, degree=2)
    weights = random_weights(cfg, seed=4)
    inputs, targets, _ = random_words(cfg, 64, 10, seed=5)
    scored = tf.ones_like(inputs, tf.bool)
    seeds = ([1, 2], [1, 2], [3, 4])
    requests = [SequenceRequest(inputs, targets, scored, measurement="sample", seed=tf.constant(s)) for s in seeds]
    runs = [run_sequence(cfg, weights, request).measured.numpy() for request in requests]
    assert np.array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_zero_probability_postselection_gives_no_nan():
    # eta = 0 for every neuron: no rotation anywhere, the output word is always 0, so
    # postselecting word 3 has probability exactly 0.
    cfg = QRNNConfig(2, 2, stages=1, degree=1, order=2, bias=0.0)
    zeros = random_weights(cfg, seed=0, spread=0.0)
    weights = type(zeros)(*(tf.Variable(w) for w in zeros))
    inputs = tf.zeros([2, 4], tf.int32)
    targets = tf.constant([[3, 0, 1, 2], [0, 0, 0, 0]], tf.int32)
    scored = tf.ones_like(inputs, tf.bool)
    for loss_fn in (word_nll, paper_shifted_loss):  # the paper's loss has a gradient at p = 0
        with tf.GradientTape() as tape:
            out = ENGINE.run(cfg, weights, SequenceRequest(inputs, targets, scored))
            loss = loss_fn(out.probabilities, targets, scored)
        grads = tape.gradient(loss, list(weights))
        assert out.postselection.numpy()[0, 0] == 0.0
        assert np.all(np.isfinite(out.probabilities.numpy())) and np.all(np.isfinite(out.final_state.numpy()))
        assert np.isfinite(loss.numpy())
        assert all(np.all(np.isfinite(g.numpy())) for g in grads), loss_fn.__name__
    assert word_nll(out.probabilities, targets, scored).numpy() > 100


def test_underflowing_postselection_in_float32_gives_no_nan():
    # b = pi makes every neuron start near a rotation by pi (c ~ 0): in float32 the
    # postselection probabilities underflow within a few steps (a reported NaN).
    cfg = QRNNConfig(4, 2, stages=1, degree=3, order=2, bias=np.pi)
    weights = [tf.Variable(w) for w in random_weights(cfg, seed=3, dtype=tf.float32, spread=0.01)]
    inputs, targets, scored = random_words(cfg, 8, 36, seed=4)
    with tf.GradientTape() as tape:
        out = ENGINE.run(cfg, type(random_weights(cfg, 0))(*weights), SequenceRequest(inputs, targets, scored))
        loss = paper_shifted_loss(out.probabilities, targets, scored)
    grads = tape.gradient(loss, weights)
    assert np.isfinite(loss.numpy())
    assert all(np.all(np.isfinite(g.numpy())) for g in grads)


def test_mask_freezes_state_and_repeats_output():
    cfg = QRNNConfig(3, 1, stages=1, degree=2)
    weights = random_weights(cfg, seed=6)
    inputs, targets, scored = random_words(cfg, 4, 6, seed=7)
    mask = tf.constant([[True] * 6, [True, True, False, False, True, True], [True] * 6, [True, False, True, True, True, True]])
    masked = run_sequence(cfg, weights, SequenceRequest(inputs, targets, scored, mask=mask))
    # Dropping the masked steps gives the same final state.
    for row in range(4):
        keep = mask.numpy()[row]
        kept = [tf.boolean_mask(t[row : row + 1], keep, axis=1) for t in (inputs, targets, scored)]
        sub = run_sequence(cfg, weights, SequenceRequest(*kept))
        np.testing.assert_allclose(masked.final_state.numpy()[row], sub.final_state.numpy()[0], atol=1e-12)
    np.testing.assert_allclose(masked.probabilities.numpy()[1, 2], masked.probabilities.numpy()[1, 1])


def test_float32_agrees_with_float64():
    cfg = QRNNConfig(4, 2, stages=2, degree=2)
    weights = random_weights(cfg, seed=8, spread=0.3)
    weights32 = type(weights)(*(tf.cast(w, tf.float32) for w in weights))
    inputs, targets, scored = random_words(cfg, 8, 30, seed=9)
    engine = ENGINE
    out64 = engine.run(cfg, weights, SequenceRequest(inputs, targets, scored))
    out32 = engine.run(cfg, weights32, SequenceRequest(inputs, targets, scored))
    assert out64.probabilities.dtype == tf.float64 and out32.probabilities.dtype == tf.float32
    # 30 steps of about 20 neurons each: float32 rounding adds up to a few 1e-5.
    np.testing.assert_allclose(out32.probabilities.numpy(), out64.probabilities.numpy(), atol=1e-4)


@pytest.mark.parametrize("jit_compile", [True, False])
def test_gradient_matches_finite_differences(jit_compile):
    cfg = QRNNConfig(3, 2, stages=1, degree=2, order=2)
    weights = random_weights(cfg, seed=10, spread=0.5)
    inputs, targets, scored = random_words(cfg, 4, 5, seed=11)
    engine = StateVectorEngine(jit_compile=jit_compile)

    def loss_of(w):
        out = engine.run(cfg, w, SequenceRequest(inputs, targets, scored))
        return word_nll(out.probabilities, targets, scored) + 0.3 * tf.reduce_mean(out.final_state)

    variables = [tf.Variable(w) for w in weights]
    with tf.GradientTape() as tape:
        loss = loss_of(type(weights)(*variables))
    grads = tape.gradient(loss, variables)
    rng = np.random.default_rng(12)
    eps = 1e-6
    for index, w in enumerate(weights):
        direction = rng.normal(size=w.shape)
        shifted = [list(weights), list(weights)]
        shifted[0][index] = w + eps * direction
        shifted[1][index] = w - eps * direction
        numeric = (loss_of(type(weights)(*shifted[0])) - loss_of(type(weights)(*shifted[1]))).numpy() / (2 * eps)
        analytic = float(tf.reduce_sum(grads[index] * direction))
        assert analytic == pytest.approx(numeric, rel=1e-5, abs=1e-8)


def test_a_second_call_with_the_same_shapes_does_not_retrace():
    # `config` (a frozen dataclass) and the request's `measurement` (a string) are static in
    # the compiled functions; a request value must keep them cached, forward and backward.
    engine = StateVectorEngine()
    cfg = QRNNConfig(2, 1, stages=1, degree=1)
    variables = [tf.Variable(w) for w in random_weights(cfg, seed=13, dtype=tf.float32)]
    for seed in range(3):
        inputs, targets, scored = random_words(cfg, 2, 3, seed=seed)
        with tf.GradientTape() as tape:
            request = SequenceRequest(inputs, targets, scored, measurement="argmax", seed=tf.constant([seed, 1]))
            out = engine.run(cfg, type(random_weights(cfg, 0))(*variables), request)
            loss = tf.reduce_sum(out.probabilities)
        tape.gradient(loss, variables)
    assert engine.compiled.forward.experimental_get_tracing_count() == 1
    assert engine.compiled.backward.experimental_get_tracing_count() == 1
    engine.run(QRNNConfig(2, 1, stages=1, degree=1), random_weights(cfg, seed=0, dtype=tf.float32),
               SequenceRequest(inputs, targets, scored, measurement="argmax"))  # an equal config, made anew
    assert engine.compiled.forward.experimental_get_tracing_count() == 1
    with tf.GradientTape() as tape:  # another measurement: another forward compilation
        request = SequenceRequest(inputs, targets, scored, measurement="sample")
        out = engine.run(cfg, type(random_weights(cfg, 0))(*variables), request)
    tape.gradient(tf.reduce_sum(out.probabilities), variables)
    assert engine.compiled.forward.experimental_get_tracing_count() == 2
    # The backward pass replays the measured words as targets: one compilation for every measurement.
    assert engine.compiled.backward.experimental_get_tracing_count() == 1
