"""`QRNN(..., amplification=k)`: amplified neurons (SPEC section 8) through the Keras layers."""

import numpy as np
import pytest

import qrnn_tfq
import tensorflow as tf
from qrnn_tfq import QRNN, QRNNCell


def sequences(batch=4, steps=5, width=1, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "inputs": rng.integers(0, 2, (batch, steps, width)).astype("float32"),
        "targets": rng.integers(0, 2, (batch, steps, width)).astype("float32"),
        "scored": (rng.random((batch, steps)) < 0.5).astype("float32"),
    }


def test_amplified_layer_differs_from_postselected_and_rnn_of_cell_agrees():
    data = sequences()
    kwargs = dict(
        workspace_lanes=2, io_lanes=1, stages=1, degree=2, seed=3, measurement="argmax", theta_stddev=1.0, phi_stddev=1.0
    )
    ideal = QRNN(**kwargs)(data, training=True).numpy()
    layer = QRNN(**kwargs, amplification=2)
    amplified = layer(data, training=True).numpy()
    np.testing.assert_allclose(amplified.sum(-1), 1.0, atol=1e-5)
    assert np.max(np.abs(amplified - ideal)) > 1e-3  # a different model: the branch weights change
    cell_inputs = {**data, "scored": data["scored"][..., None]}
    stepwise = tf.keras.layers.RNN(layer.cell, return_sequences=True)(cell_inputs, training=True)
    np.testing.assert_allclose(stepwise.numpy(), amplified, atol=1e-5)
    _, state = QRNN(**kwargs, amplification=2, return_state=True)(data, training=True)
    assert state.dtype == tf.complex64


def test_amplified_layer_trains_and_round_trips(tmp_path):
    data = sequences(batch=8)
    inputs = {key: tf.keras.Input((None, 1) if key != "scored" else (None,), name=key) for key in data}
    layer = QRNN(workspace_lanes=2, io_lanes=1, stages=1, degree=2, seed=0, amplification=1, amplification_bound=0.2)
    model = tf.keras.Model(inputs, layer(inputs))
    model.compile(optimizer=tf.keras.optimizers.Adam(0.05), loss=qrnn_tfq.WordCrossEntropy())
    history = model.fit(data, data["targets"], sample_weight=data["scored"], epochs=3, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    config = layer.get_config()
    assert config["amplification"] == 1 and config["amplification_bound"] == 0.2
    assert QRNN.from_config(config).qrnn_config == layer.qrnn_config
    path = str(tmp_path / "amplified.keras")
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    np.testing.assert_allclose(loaded(data, training=True).numpy(), model(data, training=True).numpy(), atol=1e-6)


def test_amplification_needs_ancillas():
    with pytest.raises(ValueError, match="amplification=1 with order=0"):
        QRNNCell(workspace_lanes=2, io_lanes=1, order=0, amplification=1)
