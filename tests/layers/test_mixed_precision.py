"""Keras precision policies (issue 11 item 5): float16 and bfloat16, plain and mixed.

The layers simulate in float32 under every half-precision policy (float16 underflows the
state vector, bfloat16 keeps 3 digits) and return the compute dtype; sampling runs in
float32 (TensorFlow's sampler takes no half precision).
"""

import numpy as np
import pytest

import qrnn_tfq
import tensorflow as tf
from qrnn_tfq import QRNN, QRNNCell
from qrnn_tfq.engine.step import choose_words

B, T, I = 8, 4, 2
POLICIES = ["float16", "mixed_float16", "bfloat16", "mixed_bfloat16"]
# Outputs rounded to the compute dtype: float16 keeps 11 bits, bfloat16 8.
TOLERANCE = {"float16": 2e-3, "bfloat16": 1e-2}


def sequences():
    rng = np.random.default_rng(0)
    return {
        "inputs": rng.integers(0, 2, (B, T, I)).astype("float32"),
        "targets": rng.integers(0, 2, (B, T, I)).astype("float32"),
        "scored": rng.random((B, T)) < 0.5,
    }


def compute_dtype(policy):
    return policy.removeprefix("mixed_")


@pytest.mark.parametrize("policy", POLICIES)
def test_policy_gives_the_float32_result_in_the_compute_dtype(policy):
    data = sequences()
    expected = QRNN(workspace_lanes=3, io_lanes=I, seed=0, measurement="argmax")(data).numpy()
    layer = QRNN(workspace_lanes=3, io_lanes=I, seed=0, measurement="argmax", dtype=policy)
    atol = TOLERANCE[compute_dtype(policy)]
    for output in (layer(data), layer(data, training=True)):
        assert output.dtype.name == compute_dtype(policy)
        np.testing.assert_allclose(tf.reduce_sum(tf.cast(output, tf.float32), -1).numpy(), 1.0, atol=4 * atol)
    np.testing.assert_allclose(tf.cast(layer(data), tf.float32).numpy(), expected, atol=atol)
    variable_dtype = "float32" if policy.startswith("mixed") else policy
    assert {w.dtype.name for w in layer.weights} == {variable_dtype}
    rnn = tf.keras.layers.RNN(layer.cell, return_sequences=True, dtype=policy)
    stepwise = rnn({**data, "scored": data["scored"][..., None]})
    assert stepwise.dtype.name == compute_dtype(policy)
    np.testing.assert_allclose(tf.cast(stepwise, tf.float32).numpy(), expected, atol=atol)


@pytest.mark.parametrize("policy", POLICIES)
def test_policy_samples_and_fits(policy):
    data = sequences()
    sampled = QRNN(workspace_lanes=3, io_lanes=I, seed=0, measurement="sample", dtype=policy)(data)
    assert np.isfinite(tf.cast(sampled, tf.float32).numpy()).all()
    inputs = {"inputs": tf.keras.Input((T, I)), "targets": tf.keras.Input((T, I)), "scored": tf.keras.Input((T,))}
    model = tf.keras.Model(inputs, QRNN(workspace_lanes=3, io_lanes=I, seed=0, dtype=policy)(inputs))
    # Keras's Adam leaves bfloat16 variables unchanged and blows up float16 ones (a Dense
    # layer's too): half-precision variables train with SGD, mixed policies with anything.
    optimizer = tf.keras.optimizers.Adam(0.05) if policy.startswith("mixed") else tf.keras.optimizers.SGD(0.5)
    model.compile(optimizer, loss=qrnn_tfq.WordCrossEntropy(), weighted_metrics=[qrnn_tfq.WordAccuracy()])
    before = [w.numpy().copy() for w in model.weights]
    history = model.fit(data, data["targets"], sample_weight=data["scored"].astype("float32"), epochs=1, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert not np.allclose(before[1], model.weights[1].numpy())
    assert np.isfinite(tf.cast(model.predict(data, verbose=0), tf.float32).numpy()).all()


def test_global_mixed_float16_policy_fits_compiled_with_loss_scaling():
    data = sequences()
    tf.keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        inputs = {"inputs": tf.keras.Input((T, I)), "targets": tf.keras.Input((T, I))}
        model = tf.keras.Model(inputs, QRNN(workspace_lanes=3, io_lanes=I, seed=0)(inputs))
        model.compile(tf.keras.optimizers.Adam(0.05), loss=qrnn_tfq.WordCrossEntropy(), jit_compile=True)
        history = model.fit({"inputs": data["inputs"], "targets": data["targets"]}, data["targets"], epochs=2, verbose=0)
    finally:
        tf.keras.mixed_precision.set_global_policy("float32")
    assert isinstance(model.optimizer, tf.keras.mixed_precision.LossScaleOptimizer)
    assert np.isfinite(history.history["loss"]).all()


@pytest.mark.parametrize("dtype", [tf.float16, tf.bfloat16, tf.float32, tf.float64])
def test_choose_words_samples_every_float_dtype(dtype):
    probabilities = tf.constant([[0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0]], dtype)
    words = choose_words(
        probabilities, target=tf.constant([3, 3]), scored=tf.constant([True, False]), measurement="sample",
        seed=tf.constant([1, 2]),
    )
    assert words.numpy().tolist() == [2, 3]  # the certain word where scored, the target elsewhere
