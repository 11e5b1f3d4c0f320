"""The native engine as the layers use it: the default ("auto") and its fallback, the
op's own checks, XLA callers, gradients nobody recorded for, seeds, training with
`model.fit` against the XLA engine, and the build's failure path."""

import logging
import os

import numpy as np
import pytest

import qrnn_tfq
import tensorflow as tf
from data.sequences import task_by_name
from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.engine import SequenceRequest, neuron_factors
from qrnn_tfq.layers import engines
from qrnn_tfq.native import available, build, library, unavailable_reason
from qrnn_tfq.native.engine import run_native
from qrnn_tfq.testing import random_weights, random_words
from qrnn_tfq.training import make_optimizer
from qrnn_tfq.training.task_model import SequenceTaskModel

needs_op = pytest.mark.skipif(not available(), reason=f"native op: {unavailable_reason()}")
TASK = task_by_name("xor", length=9)
CONFIG = QRNNConfig(3, 2, stages=1, degree=2, order=2)


def _request(measurement="target", seed=(1, 2), batch=5, steps=6):
    inputs, targets, scored = random_words(CONFIG, batch, steps, seed=4)
    return SequenceRequest(inputs, targets, scored, measurement=measurement, seed=tf.constant(seed)).filled(CONFIG, tf.float32)


@needs_op
def test_auto_runs_native_and_the_layer_says_so():
    layer = qrnn_tfq.QRNN(workspace_lanes=2, io_lanes=2)
    assert layer.engine_name == "native"
    assert layer.get_config()["engine"] == "auto"  # a saved model picks the best engine where it is loaded
    assert qrnn_tfq.QRNN(workspace_lanes=2, io_lanes=2, engine="state_vector").engine_name == "state_vector"


def test_without_the_op_auto_falls_back_in_one_line_and_native_says_how_to_build(monkeypatch, caplog):
    monkeypatch.setattr(library, "_load", lambda: (None, "the native op is not built (x.so is missing)"))
    engines._say_fallback_once.cache_clear()
    with caplog.at_level(logging.WARNING, logger="qrnn_tfq"):
        assert engines.resolve_engine_name("auto") == "state_vector"
        assert engines.resolve_engine_name("auto") == "state_vector"
    assert [r.getMessage() for r in caplog.records] == [
        "running on the XLA engine (state_vector): the native op is not built (x.so is missing)."]
    assert qrnn_tfq.QRNN(workspace_lanes=2, io_lanes=2).engine_name == "state_vector"
    engines._shared_engine.cache_clear()
    with pytest.raises(RuntimeError, match=r"engine='native' is unavailable: the native op is not built"):
        engines.get_engine("native")
    engines._shared_engine.cache_clear()
    engines._say_fallback_once.cache_clear()


@needs_op
@pytest.mark.parametrize("mode", ["eager", "graph"])
def test_a_word_out_of_range_is_refused_naming_it(mode):
    factors = neuron_factors(CONFIG, random_weights(CONFIG, seed=0, dtype=tf.float32))
    request = _request()
    bad = request._replace(input_words=tf.tensor_scatter_nd_update(request.input_words, [[1, 2]], [7]))
    run = (lambda: run_native(CONFIG, factors, bad)) if mode == "eager" else tf.function(lambda: run_native(CONFIG, factors, bad))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"`input_words` holds word 7 at sample 1, step 2: words are 0\.\.3"):
        run()


@needs_op
def test_inside_xla_the_layer_runs_the_xla_engine_with_the_same_results():
    layer = qrnn_tfq.QRNN(workspace_lanes=3, io_lanes=2, seed=1)
    batch = TASK.sample(4, seed=(2, 2))
    data = {"inputs": batch.inputs, "targets": batch.targets, "scored": batch.scored}
    eager = layer(data, training=True)
    compiled = tf.function(lambda: layer(data, training=True), jit_compile=True)()
    np.testing.assert_allclose(compiled, eager, atol=2e-6)


@needs_op
def test_a_gradient_taken_without_a_tape_replays_the_states():
    """`tf.gradients` in a graph: the forward kept no states (no tape recorded it), so the
    backward runs the forward again, keeping them; the gradient equals the tape's."""
    weights = random_weights(CONFIG, seed=3, dtype=tf.float32)
    request = _request()

    def loss(factors):
        return tf.reduce_sum(tf.math.log(run_native(CONFIG, factors, request).postselection))

    with tf.GradientTape() as tape:
        tape.watch(list(weights))
        taped = loss(neuron_factors(CONFIG, weights))
    want = tape.gradient(taped, list(weights))

    @tf.function
    def graph_gradients():
        return tf.gradients(loss(neuron_factors(CONFIG, weights)), list(weights))

    for got, expected in zip(graph_gradients(), want):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


@needs_op
def test_same_seed_same_samples_another_seed_others():
    factors = neuron_factors(CONFIG, random_weights(CONFIG, seed=5, dtype=tf.float32))
    first, again = (run_native(CONFIG, factors, _request("sample", (7, 7), batch=64)).measured for _ in range(2))
    other = run_native(CONFIG, factors, _request("sample", (7, 8), batch=64)).measured
    np.testing.assert_array_equal(first, again)
    assert np.any(np.asarray(first) != np.asarray(other))


@needs_op
def test_training_histories_agree_with_the_xla_engine_over_40_adam_steps():
    """In float64. The losses differ by 2e-16 at the first step, and the difference grows
    about 1.6-fold a step (the training's own sensitivity: Adam divides each gradient by
    its running RMS): 1e-13 after 12 steps, up to 6e-6 after 40 (in float32 the engines'
    1e-7 differences grow the same way to different trajectories)."""
    batches = [TASK.sample(8, seed=(3, step)) for step in range(40)]
    data = tf.data.Dataset.from_tensor_slices(
        {k: np.stack([getattr(b, k) for b in batches]) for k in ("inputs", "targets", "scored")})
    histories, weights = {}, {}
    for engine in ("native", "state_vector"):
        model = SequenceTaskModel(qrnn_tfq.QRNN(workspace_lanes=3, io_lanes=2, seed=4, engine=engine, dtype="float64"),
                                  loss="nll")
        model.compile(optimizer=make_optimizer("adam", 0.05))
        history = model.fit(data, epochs=1, verbose=0, callbacks=[_StepLosses()])
        histories[engine], weights[engine] = history.model.step_losses, [w.numpy() for w in model.weights_to_train]
    assert len(histories["native"]) == 40
    np.testing.assert_allclose(histories["native"][:10], histories["state_vector"][:10], rtol=1e-12)
    np.testing.assert_allclose(histories["native"], histories["state_vector"], rtol=1e-4)
    assert histories["native"][-1] < 0.8 * histories["native"][0]  # it trained
    for ours, theirs in zip(weights["native"], weights["state_vector"], strict=True):
        np.testing.assert_allclose(ours, theirs, atol=1e-4)


class _StepLosses(tf.keras.callbacks.Callback):
    """The loss of every batch, on the model (`model.step_losses`)."""

    def on_train_begin(self, logs=None):
        self.model.step_losses = []

    def on_train_batch_end(self, batch, logs=None):
        self.model.step_losses.append(float(logs["loss"]))


def test_a_failed_build_leaves_no_library_and_says_why(tmp_path):
    output = tmp_path / "ops.so"
    ok, message = build.build(str(output), compiler="no-such-compiler")
    assert not ok and message == "no C++ compiler `no-such-compiler` on PATH"
    ok, message = build.build(str(output), compiler="false")  # a compiler that fails
    assert not ok and not output.exists() and os.listdir(tmp_path) == []
