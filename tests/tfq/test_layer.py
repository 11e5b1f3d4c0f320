"""`QRNN(..., recurrence="coherent", engine="tfq")`: the TFQ engine through the Keras layer."""

from __future__ import annotations

import numpy as np
import pytest

import qrnn_tfq
import tensorflow as tf
from qrnn_tfq import QRNN, QRNNCell
from qrnn_tfq.training import QRNNSequenceModel, label_code_distribution

COHERENT = dict(workspace_lanes=2, io_lanes=1, stages=1, degree=2, order=0, recurrence="coherent")


def sequences(batch=4, steps=4, width=1, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "inputs": rng.integers(0, 2, (batch, steps, width)).astype("float32"),
        "targets": rng.integers(0, 2, (batch, steps, width)).astype("float32"),
        "scored": np.ones((batch, steps), "float32"),
    }


def test_tfq_layer_equals_the_state_vector_layer_with_the_same_weights():
    data = sequences()
    tfq_layer = QRNN(**COHERENT, engine="tfq", seed=1, theta_stddev=1.0, phi_stddev=1.0, work_stddev=1.0)
    expected = tfq_layer(data, training=True).numpy()
    state_vector = QRNN(**COHERENT, seed=2)
    state_vector(data)
    state_vector.set_weights(tfq_layer.get_weights())  # one layout: a model trained with one engine runs in the other
    np.testing.assert_allclose(state_vector(data, training=True).numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(expected.sum(axis=-1), 1.0, atol=1e-5)
    # Without targets every step is read out; argmax measurements are the argmax.
    free = tfq_layer(data["inputs"]).numpy()
    np.testing.assert_allclose(free, expected, atol=1e-6)


def _fit(data, engine):
    inputs = {key: tf.keras.Input((None, 1) if key != "scored" else (None,), name=key) for key in data}
    layer = QRNN(**COHERENT, engine=engine, seed=0)
    model = tf.keras.Model(inputs, layer(inputs))
    model.compile(optimizer=tf.keras.optimizers.Adam(0.1), loss=qrnn_tfq.WordCrossEntropy())
    history = model.fit(data, data["targets"], sample_weight=data["scored"], epochs=4, batch_size=8, verbose=0)
    return model, layer, history.history["loss"]


def test_tfq_model_fits_as_the_state_vector_one_and_round_trips(tmp_path):
    data = sequences(batch=8, steps=3)
    data["targets"] = data["inputs"]  # memorise the input bit
    model, layer, losses = _fit(data, "tfq")
    assert losses[-1] < 0.9 * losses[0], losses
    _, _, expected = _fit(data, "state_vector")  # the same training, gradients from the other engine
    np.testing.assert_allclose(losses, expected, rtol=1e-3)
    config = layer.get_config()
    assert (config["engine"], config["recurrence"], config["shots"], config["noise"]) == ("tfq", "coherent", None, 0.0)
    path = str(tmp_path / "tfq.keras")
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    assert loaded.layers[-1].cell.engine is layer.cell.engine  # the shared "tfq" engine
    np.testing.assert_allclose(loaded(data, training=True).numpy(), model(data, training=True).numpy(), atol=1e-6)


def test_shots_and_noise_are_layer_arguments(density_matrix_probabilities):
    data = sequences(batch=2, steps=2)
    shots, noise = 2000, 0.05
    layer = QRNN(**COHERENT, engine="tfq", shots=shots, noise=noise, seed=0, theta_stddev=1.0, phi_stddev=1.0)
    config = layer.get_config()
    assert (config["shots"], config["noise"]) == (shots, noise)
    assert (layer.cell.engine.shots, layer.cell.engine.noise) == (shots, noise)
    restored = QRNN.from_config(config)
    assert restored.cell.engine is layer.cell.engine
    out = layer(data, training=True).numpy()
    np.testing.assert_allclose(out.sum(axis=-1), 1.0, atol=1e-6)
    # The values: estimates of the noisy circuits' exact distributions (cirq's density
    # matrices), which noise has moved away from the noiseless ones.
    words = data["inputs"][..., 0].astype(int)  # one in/out lane: the bit is the word
    expected = density_matrix_probabilities(layer.cell.engine, layer.qrnn_config, layer.get_weights(), words, range(2))
    exact = QRNN(**COHERENT, seed=0)
    exact(data)
    exact.set_weights(layer.get_weights())
    noiseless = exact(data, training=True).numpy()
    # One trajectory a shot: the standard error of p(0) = (1 + <Z>) / 2 is sqrt(1 - <Z>^2) / (2 sqrt(shots)).
    z = 2 * expected[..., 0] - 1
    error = np.sqrt(1 - z**2) / (2 * np.sqrt(shots))
    assert np.all(np.abs(out[..., 0] - expected[..., 0]) <= 5 * error + 1e-6), np.abs(out[..., 0] - expected[..., 0]) / error
    assert np.abs(noiseless - expected).max() > 10 * error.max()  # the noise is applied, and visible


def test_label_distribution_of_a_coherent_classifier():
    # The last step is the label step; the TFQ engine reads out only that step.
    data = sequences(batch=3, steps=4, width=2, seed=4)
    data["scored"] = np.zeros((3, 4), "float32")
    data["scored"][:, -1] = 1
    kwargs = dict(COHERENT, io_lanes=2, seed=5, theta_stddev=1.0, phi_stddev=1.0)
    tfq_model = QRNNSequenceModel(QRNN(**kwargs, engine="tfq"))
    exact_model = QRNNSequenceModel(QRNN(**kwargs))
    joint = label_code_distribution(tfq_model, data)
    expected = label_code_distribution(exact_model, data)
    np.testing.assert_allclose(joint, expected, atol=1e-5)
    probabilities = exact_model.layer.run_sequences(data, training=True).probabilities.numpy()[:, -1]
    np.testing.assert_allclose(expected, probabilities, atol=1e-6)


def test_errors_name_the_bad_value():
    with pytest.raises(ValueError, match="only the coherent recurrence.*got recurrence='postselected', order=2"):
        QRNN(workspace_lanes=2, io_lanes=1, engine="tfq")
    with pytest.raises(ValueError, match=r"`shots` and `noise` need engine='tfq', got engine='auto' with \{'shots': 10\}"):
        QRNN(**COHERENT, shots=10)
    with pytest.raises(ValueError, match="`shots` must be None .*got 0"):
        QRNN(**COHERENT, engine="tfq", shots=0)
    cell = QRNNCell(**COHERENT, engine="tfq")
    with pytest.raises(ValueError, match="runs whole sequences.*instead of tf.keras.layers.RNN"):
        tf.keras.layers.RNN(cell)(sequences()["inputs"])
