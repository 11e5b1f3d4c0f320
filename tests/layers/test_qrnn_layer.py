"""The Keras layers: RNN(QRNNCell) == QRNN, config and .keras round trips, fit, errors."""

import importlib
import sys

import numpy as np
import pytest

import qrnn_tfq
import tensorflow as tf
from qrnn_tfq import QRNN, QRNNCell
from qrnn_tfq.circuits import reference

T, I = 6, 2


def sequences(batch=4, seed=0, steps=T, width=I):
    rng = np.random.default_rng(seed)
    return {
        "inputs": rng.integers(0, 2, (batch, steps, width)).astype("float32"),
        "targets": rng.integers(0, 2, (batch, steps, width)).astype("float32"),
        "scored": rng.random((batch, steps)) < 0.5,
    }


def as_cell_inputs(data):
    """`tf.keras.layers.RNN` needs every nested input of rank >= 3."""
    return {**{k: tf.constant(v) for k, v in data.items()}, "scored": tf.constant(data["scored"][..., None])}


@pytest.mark.parametrize("training", [True, False])
def test_rnn_of_cell_equals_fast_layer(training):
    layer = QRNN(
        workspace_lanes=3, io_lanes=I, stages=1, degree=2, seed=1, measurement="argmax", theta_stddev=1.0,
        phi_stddev=1.0,
    )
    data = sequences()
    fast = layer(data, training=training)
    stepwise = tf.keras.layers.RNN(layer.cell, return_sequences=True)(as_cell_inputs(data), training=training)
    np.testing.assert_allclose(fast.numpy(), stepwise.numpy(), atol=1e-5)


def test_weights_shapes_and_parameter_count():
    layer = QRNN(workspace_lanes=8, io_lanes=2, stages=2, degree=2)
    layer.build(None)  # the weights, without compiling a 10-qubit run
    assert [w.shape.as_list() for w in layer.weights] == [[26], [26, 45], [2, 8]]
    assert layer.count_params() == 1212


def test_seeded_initialisers_reproduce():
    data = sequences()
    a, b, c = (QRNN(workspace_lanes=3, io_lanes=I, seed=seed) for seed in (7, 7, 8))
    outs = [layer(data, training=True).numpy() for layer in (a, b, c)]
    np.testing.assert_array_equal(outs[0], outs[1])
    assert not np.allclose(outs[0], outs[2])


def test_return_state_and_last_output():
    layer = QRNN(workspace_lanes=3, io_lanes=I, seed=2, return_sequences=False, return_state=True, theta_stddev=1.0)
    data = sequences()
    output, state = layer(data, training=True)
    assert output.shape == (4, 4) and state.shape == (4, 8)
    np.testing.assert_allclose(tf.norm(state, axis=-1).numpy(), 1.0, atol=1e-6)
    # The values: the last step and final state of the step-by-step RNN(QRNNCell).
    stepwise, stepwise_state = tf.keras.layers.RNN(layer.cell, return_state=True)(as_cell_inputs(data), training=True)
    np.testing.assert_allclose(output.numpy(), stepwise.numpy(), atol=1e-5)
    np.testing.assert_allclose(state.numpy(), stepwise_state.numpy(), atol=1e-5)


def test_inputs_without_targets_run_free():
    # Without targets every step is scored and measures its most likely word.
    layer = QRNN(workspace_lanes=3, io_lanes=I, seed=3, measurement="argmax", theta_stddev=1.0, phi_stddev=1.0)
    bits = sequences()["inputs"]
    out = layer(bits).numpy()
    np.testing.assert_allclose(out.sum(-1), 1.0, atol=1e-5)
    stepwise = tf.keras.layers.RNN(layer.cell, return_sequences=True)(tf.constant(bits))
    np.testing.assert_allclose(out, stepwise.numpy(), atol=1e-5)
    # Teacher-forcing the words it measured replays the same run.
    run = layer.run_sequences(bits)
    measured = run.measured.numpy()  # (B, T) word indices
    np.testing.assert_array_equal(measured, run.probabilities.numpy().argmax(-1))  # one run: its own argmax
    shifts = np.arange(I - 1, -1, -1)
    targets = ((measured[..., None] >> shifts) & 1).astype("float32")  # words as bits, lane 0 first
    np.testing.assert_allclose(layer({"inputs": bits, "targets": targets}, training=True).numpy(), out, atol=1e-6)


def test_config_round_trip():
    layer = QRNN(
        workspace_lanes=4, io_lanes=3, stages=2, degree=3, order=1, bias=0.5, theta_stddev=0.2, seed=5,
        measurement="sample", return_sequences=False,
    )
    config = layer.get_config()
    clone = QRNN.from_config(config)
    assert clone.get_config() == config
    cell = QRNNCell(workspace_lanes=3, io_lanes=2, seed=1)
    assert QRNNCell.from_config(cell.get_config()).get_config() == cell.get_config()


def functional_model(seed=3):
    inputs = {"inputs": tf.keras.Input((T, I)), "targets": tf.keras.Input((T, I)), "scored": tf.keras.Input((T,))}
    probabilities = QRNN(workspace_lanes=3, io_lanes=I, seed=seed, measurement="argmax", name="qrnn")(inputs)
    # An ordinary layer beside the QRNN: a confidence read-out of the last distribution.
    confidence = tf.keras.layers.Dense(
        1, name="confidence", kernel_initializer=tf.keras.initializers.GlorotUniform(seed=seed)
    )(probabilities[:, -1])
    return tf.keras.Model(inputs, {"probabilities": probabilities, "confidence": confidence})


def test_functional_model_fits_and_round_trips(tmp_path):
    model = functional_model()
    model.compile(
        tf.keras.optimizers.Adam(0.05),
        loss={"probabilities": qrnn_tfq.WordCrossEntropy(), "confidence": None},
        weighted_metrics={"probabilities": [qrnn_tfq.WordAccuracy()]},
    )
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, (64, T, I)).astype("float32")
    data = {"inputs": bits, "targets": bits, "scored": np.ones((64, T), bool)}  # memorise the input word
    history = model.fit(data, {"probabilities": bits}, sample_weight={"probabilities": np.ones((64, T), "float32")},
                        epochs=8, batch_size=16, shuffle=False, verbose=0)  # no unseeded shuffle: deterministic
    losses = history.history["loss"]
    assert losses[-1] < 0.7 * losses[0]
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(
        model.predict(data, verbose=0)["probabilities"], loaded.predict(data, verbose=0)["probabilities"], atol=1e-6
    )


def reference_forced(config, weights, data):
    """Teacher-forced word distributions (B, T, 2^I) from the numpy reference cell (float64)."""
    theta, phi, work = (np.asarray(w, np.float64) for w in weights)
    out = np.zeros((*data["inputs"].shape[:2], config.num_words))
    for b, (inputs, targets) in enumerate(zip(data["inputs"], data["targets"], strict=True)):
        psi = np.eye(2**config.workspace_lanes)[0]
        for t, (bits, target_bits) in enumerate(zip(inputs.astype(int), targets.astype(int), strict=True)):
            full, _ = reference.cell_step(config, list(bits), theta, phi, work, np.kron(np.eye(config.num_words)[0], psi))
            blocks = full.reshape(config.num_words, -1)
            out[b, t] = np.sum(blocks**2, axis=1)
            target = int("".join(map(str, target_bits)), 2)
            psi = blocks[target] / np.linalg.norm(blocks[target])
    return out


def test_float64_layer():
    layer = QRNN(workspace_lanes=3, io_lanes=I, seed=4, dtype="float64", theta_stddev=1.0, phi_stddev=1.0)
    data = sequences()
    out = layer(data, training=True)
    assert out.dtype == tf.float64 and layer.weights[0].dtype == tf.float64
    expected = reference_forced(layer.qrnn_config, layer.get_weights(), data)
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-12)  # float64 all through
    single = QRNN(workspace_lanes=3, io_lanes=I, seed=4, theta_stddev=1.0, phi_stddev=1.0)
    single(data)
    single.set_weights([w.astype("float32") for w in layer.get_weights()])
    float32 = single(data, training=True).numpy()
    np.testing.assert_allclose(float32, expected, atol=1e-5)
    assert np.abs(float32 - expected).max() > np.abs(out.numpy() - expected).max()  # float64 is the more precise


def test_masking_layer_freezes_state():
    inputs = tf.keras.Input((T, I))
    masked = tf.keras.layers.Masking(mask_value=-1.0)(inputs)
    layer = QRNN(workspace_lanes=3, io_lanes=I, seed=6, return_state=True, measurement="argmax")
    model = tf.keras.Model(inputs, layer(masked)[1])
    bits = sequences()["inputs"]
    padded = np.concatenate([bits, -np.ones((4, 3, I), "float32")], axis=1)
    assert model.input_shape == (None, T, I)
    short = tf.keras.Model(inputs, model.layers[-1](inputs)[1])
    np.testing.assert_allclose(model(padded[:, :T]).numpy(), short(bits).numpy(), atol=1e-6)
    longer_in = tf.keras.Input((T + 3, I))
    longer = tf.keras.Model(longer_in, model.layers[-1](tf.keras.layers.Masking(-1.0)(longer_in))[1])
    np.testing.assert_allclose(longer(padded).numpy(), short(bits).numpy(), atol=1e-6)


@pytest.mark.parametrize(
    "data, match",
    [
        ({"inputs": np.zeros((2, 4, 3))}, "words of width io_lanes=2 on its last axis, got shape \\(2, 4, 3\\)"),
        ({"inputs": np.full((2, 4, 2), 2.0)}, "`inputs` must hold binary words \\(bits 0 or 1\\), got 2.0 at index \\(0, 0, 0\\)"),
        ({"inputs": np.zeros((2, 4, 2)), "targets": np.full((2, 4, 2), 0.5)}, "`targets` must hold binary words .* got 0.5"),
        ({"inputs": np.zeros((2, 4, 2)), "targets": np.zeros((2, 5, 2))}, "`targets` must have the same number of steps as `inputs`: got 5 and 4"),
        ({"inputs": np.zeros((2, 4, 2)), "targets": np.zeros((2, 4, 2)), "scored": np.ones((2, 3))}, "`scored` must have the same number of steps as `inputs`: got 3 and 4"),
        ({"inputs": np.zeros((2, 0, 2))}, "at least one time step, got 0"),
        ({"inputs": np.zeros((2, 4, 2)), "labels": np.zeros(2)}, "may have .* got keys \\['inputs', 'labels'\\]"),
    ],
)
def test_bad_inputs(data, match):
    layer = QRNN(workspace_lanes=3, io_lanes=I, seed=0)
    with pytest.raises(ValueError, match=match):
        layer(data)


def test_bad_layer_arguments():
    with pytest.raises(ValueError, match="`degree` must be between 1 and the number of source lanes 4 .* got 5"):
        QRNN(workspace_lanes=3, io_lanes=2, degree=5)
    with pytest.raises(ValueError, match="`measurement` must be 'sample' or 'argmax', got 'mode'"):
        QRNN(workspace_lanes=3, io_lanes=2, measurement="mode")
    with pytest.raises(ValueError, match="`phi_stddev` must be a finite number >= 0, got -1"):
        QRNN(workspace_lanes=3, io_lanes=2, phi_stddev=-1)
    with pytest.raises(ValueError, match="`engine` must be one of \\['auto', 'native', 'state_vector', 'tfq'\\], got 'gpu'"):
        QRNN(workspace_lanes=3, io_lanes=2, engine="gpu")
    with pytest.raises(ValueError, match="does not support `stateful=True`"):
        QRNN(workspace_lanes=3, io_lanes=2, stateful=True)
    with pytest.raises(TypeError, match="`seed` must be an int or None, got 1.5"):
        QRNN(workspace_lanes=3, io_lanes=2, seed=1.5)


def test_configuration_too_large_for_memory():
    layer = QRNN(workspace_lanes=24, io_lanes=2, degree=1, phi_stddev=0.0)
    with pytest.raises(ValueError, match="26 lanes .* batch of 512 x 200 steps needs about .* GiB"):
        layer.run_sequences({"inputs": np.zeros((512, 200, 2)), "targets": np.zeros((512, 200, 2))}, training=True)


def test_keras3_already_loaded_is_refused(monkeypatch):
    # TensorFlow is loaded in this process; with TF_USE_LEGACY_KERAS unset or 0 its tf.keras
    # would have been Keras 3, which importing the package (re-run here) refuses. (In-process:
    # a fresh interpreter importing TensorFlow with Keras 3 costs several seconds.)
    assert "tensorflow" in sys.modules
    for value in ("0", None):
        if value is None:
            monkeypatch.delenv("TF_USE_LEGACY_KERAS")
        else:
            monkeypatch.setenv("TF_USE_LEGACY_KERAS", value)
        with pytest.raises(ImportError, match=r"qrnn_tfq needs tf-keras \(Keras 2\), but TensorFlow was imported before it"):
            importlib.reload(qrnn_tfq)
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", "1")
    importlib.reload(qrnn_tfq)  # tf-keras already in charge: accepted
    assert qrnn_tfq.QRNN is QRNN


def test_package_selects_legacy_keras():
    assert "tf_keras" in type(tf.keras.layers.Layer).__module__ or tf.keras.__name__.startswith("tf_keras")
