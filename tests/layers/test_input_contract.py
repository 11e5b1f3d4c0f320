"""The QRNN layers' input contract (issue 11 items 1, 4, 6, 7, 8): bad bits and `scored`
flags, zero steps and too-large runs fail loudly in eager, graph and XLA mode;
`Bidirectional(QRNN)` works; `RNN(QRNNCell)` takes the dict the `QRNN` takes."""

import numpy as np
import pytest

import qrnn_tfq
import tensorflow as tf
from qrnn_tfq import QRNN, QRNNCell
from qrnn_tfq.engine import base as engine_base

B, T, I = 3, 4, 2
BAD = (1, 2)  # the sample and step that get a bad value
LAYER = dict(seed=0, measurement="argmax", theta_stddev=1.0, phi_stddev=1.0)


def sequences(batch=B, steps=T, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "inputs": rng.integers(0, 2, (batch, steps, I)).astype("float32"),
        "targets": rng.integers(0, 2, (batch, steps, I)).astype("float32"),
        "scored": (rng.random((batch, steps)) < 0.5).astype("float32"),
    }


def with_bad_value(key, value):
    data = sequences()
    data[key][BAD] = value
    return data


def for_rnn(data):
    """Keras's RNN takes no input of rank below 3: `scored` as (B, T, 1)."""
    return {**data, "scored": data["scored"][..., None]}


def assert_only_bad_sample_is_nan(output, clean):
    output, clean = np.asarray(output), np.asarray(clean)
    assert np.isnan(output[BAD[0]]).all()
    others = [b for b in range(B) if b != BAD[0]]
    np.testing.assert_allclose(output[others], clean[others], atol=1e-6)


BAD_VALUES = [("inputs", 0.5), ("inputs", np.nan), ("targets", 0.5), ("scored", 0.5), ("scored", np.nan)]


@pytest.mark.parametrize("key, value", BAD_VALUES)
def test_bad_value_raises_in_eager_mode(key, value):
    what = "must hold 0 or 1 \\(or booleans\\)" if key == "scored" else "must hold binary words \\(bits 0 or 1\\)"
    index = "\\(1, 2\\)" if key == "scored" else "\\(1, 2, 0\\)"
    with pytest.raises(ValueError, match=f"`{key}` {what}, got {value} at index {index}"):
        QRNN(workspace_lanes=3, io_lanes=I, **LAYER)(with_bad_value(key, value))


@pytest.fixture(scope="module")
def layer_functions():
    """One layer in a graph and under XLA, traced and compiled once for the cases below,
    and its clean XLA output."""
    layer = QRNN(workspace_lanes=3, io_lanes=I, **LAYER)
    graph = tf.function(lambda data: layer(data))
    compiled = tf.function(lambda data: layer(data), jit_compile=True)
    return graph, compiled, compiled(sequences()).numpy()


@pytest.mark.parametrize("key, value", BAD_VALUES)
def test_bad_value_asserts_in_a_graph(layer_functions, key, value):
    graph, _, _ = layer_functions
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"`{key}` must hold"):
        graph(with_bad_value(key, value))


@pytest.mark.parametrize("key, value", BAD_VALUES)
def test_bad_value_turns_its_sample_into_nan_under_xla(layer_functions, key, value):
    _, compiled, clean = layer_functions
    assert_only_bad_sample_is_nan(compiled(with_bad_value(key, value)), clean)


@pytest.fixture(scope="module")
def compiled_rnn_of_cell():
    """An XLA-compiled RNN(QRNNCell), compiled once for the cases below, and its clean output."""
    rnn = tf.keras.layers.RNN(QRNNCell(workspace_lanes=3, io_lanes=I, **LAYER), return_sequences=True)
    compiled = tf.function(lambda data: rnn(data), jit_compile=True)
    return compiled, compiled(for_rnn(sequences())).numpy()


@pytest.mark.parametrize("key, value", [("inputs", 0.5), ("scored", np.nan)])
def test_rnn_of_cell_turns_a_bad_step_into_nan_under_xla(compiled_rnn_of_cell, key, value):
    compiled, clean = compiled_rnn_of_cell
    output = compiled(for_rnn(with_bad_value(key, value))).numpy()
    step = BAD[1]
    assert np.isnan(output[BAD[0], step:]).all()  # the state is NaN from the bad step on
    np.testing.assert_allclose(output[BAD[0], :step], clean[BAD[0], :step], atol=1e-6)
    assert np.isfinite(np.delete(output, BAD[0], axis=0)).all()


@pytest.fixture(scope="module")
def jit_model():
    """One XLA-compiled model for the bad-bit cases (its compiled functions are reused), and
    its initial weights."""
    inputs = {"inputs": tf.keras.Input((T, I)), "targets": tf.keras.Input((T, I)), "scored": tf.keras.Input((T,))}
    model = tf.keras.Model(inputs, QRNN(workspace_lanes=3, io_lanes=I, **LAYER)(inputs))
    model.compile(tf.keras.optimizers.Adam(0.01), loss=qrnn_tfq.WordCrossEntropy(), jit_compile=True)
    return model, model.get_weights()


@pytest.mark.parametrize("value", [0.5, np.nan])
def test_keras_jit_fit_and_predict_show_bad_bits_as_nan(jit_model, value):
    model, initial = jit_model
    model.set_weights(initial)
    data = with_bad_value("inputs", value)
    # Predict first: the NaN step of `fit` below leaves NaN weights, which would make every output NaN.
    clean = model.predict(sequences(), verbose=0)
    assert np.isfinite(clean).all()
    assert_only_bad_sample_is_nan(model.predict(data, verbose=0), clean)
    history = model.fit(data, data["targets"], batch_size=B, epochs=3, verbose=0,
                        callbacks=[tf.keras.callbacks.TerminateOnNaN()])
    assert len(history.history["loss"]) == 1 and np.isnan(history.history["loss"][0])


def test_scored_without_targets_is_refused():
    data = sequences()
    match = "a dict input with 'scored' needs 'targets' too, got keys \\['inputs', 'scored'\\]"
    with pytest.raises(ValueError, match=match):
        QRNN(workspace_lanes=3, io_lanes=I, **LAYER)({"inputs": data["inputs"], "scored": data["scored"]})
    with pytest.raises(ValueError, match=match):
        cell = QRNNCell(workspace_lanes=3, io_lanes=I, **LAYER)
        cell({"inputs": data["inputs"][:, 0], "scored": data["scored"][:, 0]}, [tf.zeros((B, 8))])


def test_zero_steps_fail_with_the_layers_message_in_a_graph():
    layer = QRNN(workspace_lanes=3, io_lanes=I, **LAYER)
    unknown_steps = tf.function(lambda x: layer(x), input_signature=[tf.TensorSpec((None, None, I))])
    with pytest.raises(tf.errors.InvalidArgumentError, match="`inputs` must have at least one time step, got 0."):
        unknown_steps(tf.zeros((2, 0, I)))
    inputs = tf.keras.Input((None, I))
    model = tf.keras.Model(inputs, QRNN(workspace_lanes=3, io_lanes=I, **LAYER)(inputs))
    model.predict(np.zeros((2, 3, I), "float32"), verbose=0)  # a second shape retraces with steps unknown
    with pytest.raises(tf.errors.InvalidArgumentError, match="`inputs` must have at least one time step, got 0."):
        model.predict(np.zeros((2, 0, I), "float32"), verbose=0)


# ---- memory: a batch whose size a graph learns only when it runs ---------------------------

BIG = (16384, 64)  # needs about 1.5 GiB to train: refused when the machine "has" 1 GiB


@pytest.fixture
def one_gib_machine(monkeypatch):
    monkeypatch.setattr(engine_base, "physical_memory_bytes", lambda: 2**30)


def test_unknown_batch_too_large_for_memory_asserts_in_a_graph(one_gib_machine):
    layer = QRNN(workspace_lanes=3, io_lanes=I, **LAYER)
    run = tf.function(lambda x: layer(x, training=True), input_signature=[tf.TensorSpec((None, None, I))])
    assert np.isfinite(run(tf.zeros((2, T, I))).numpy()).all()
    message = r"on a batch of 16384 x 64 steps needs about 1\.5 GiB \(float32, training=True\), more than the 1\.0 GiB"
    with pytest.raises(ValueError, match=message) as static:  # the message when the sizes are known up front
        engine_base.check_memory(layer.qrnn_config, *BIG, dtype=tf.float32, training=True)
    with pytest.raises(tf.errors.InvalidArgumentError, match=message) as graph:
        run(tf.zeros((*BIG, I)))
    assert str(static.value) in str(graph.value)


def test_unknown_batch_too_large_for_memory_is_nan_under_xla(one_gib_machine):
    layer = QRNN(workspace_lanes=3, io_lanes=I, **LAYER)
    run = tf.function(lambda x: layer(x, training=True), input_signature=[tf.TensorSpec((None, None, I))], jit_compile=True)
    assert np.isfinite(run(tf.zeros((2, T, I))).numpy()).all()
    assert np.isnan(run(tf.zeros((*BIG, I))).numpy()).all()  # and nothing was simulated


@pytest.mark.parametrize("jit_compile", [False, True])
def test_keras_fit_on_a_tf_data_batch_too_large_for_memory_fails(one_gib_machine, jit_compile):
    inputs = {"inputs": tf.keras.Input((None, I)), "targets": tf.keras.Input((None, I))}
    model = tf.keras.Model(inputs, QRNN(workspace_lanes=3, io_lanes=I, **LAYER)(inputs))
    model.compile("adam", loss=qrnn_tfq.WordCrossEntropy(), jit_compile=jit_compile)
    bits = np.zeros((*BIG, I), "float32")
    data = tf.data.Dataset.from_tensor_slices(({"inputs": bits, "targets": bits}, bits)).batch(BIG[0])
    if not jit_compile:
        with pytest.raises(tf.errors.InvalidArgumentError, match="on a batch of 16384 x 64 steps needs about"):
            model.fit(data, verbose=0)
        return
    history = model.fit(data, epochs=2, verbose=0, callbacks=[tf.keras.callbacks.TerminateOnNaN()])
    assert np.isnan(history.history["loss"]).all()


# ---- Bidirectional and go_backwards ---------------------------------------------------------


def test_go_backwards_reads_the_sequence_from_its_end():
    data = sequences()
    forward = QRNN(workspace_lanes=3, io_lanes=I, **LAYER)
    backward = QRNN.from_config({**forward.get_config(), "go_backwards": True})
    reversed_data = {key: value[:, ::-1] for key, value in data.items()}
    expected = forward(reversed_data).numpy()  # in reading order, as Keras RNN layers return it
    backward(data)
    backward.set_weights(forward.get_weights())
    np.testing.assert_allclose(backward(data).numpy(), expected, atol=1e-6)
    rnn = tf.keras.layers.RNN(forward.cell, return_sequences=True, go_backwards=True)
    np.testing.assert_allclose(rnn(for_rnn(data)).numpy(), expected, atol=1e-5)


@pytest.mark.parametrize("return_sequences", [True, False])
def test_bidirectional_qrnn_equals_bidirectional_rnn_of_cell(return_sequences):
    data = sequences()
    fast = tf.keras.layers.Bidirectional(QRNN(workspace_lanes=3, io_lanes=I, return_sequences=return_sequences, **LAYER))
    cell = QRNNCell(workspace_lanes=3, io_lanes=I, **LAYER)
    stepwise = tf.keras.layers.Bidirectional(tf.keras.layers.RNN(cell, return_sequences=return_sequences))
    fast_out = fast(data).numpy()
    stepwise(for_rnn(data))
    stepwise.set_weights(fast.get_weights())
    np.testing.assert_allclose(fast_out, stepwise(for_rnn(data)).numpy(), atol=1e-5)
    half = 2**I
    assert not np.allclose(fast_out[..., :half], fast_out[..., half:])  # two different directions
    clone = tf.keras.layers.Bidirectional.from_config(fast.get_config())
    assert clone.backward_layer.go_backwards and not clone.forward_layer.go_backwards


def test_bidirectional_qrnn_with_a_mask_equals_rnn_of_cell():
    inputs = tf.keras.Input((T + 2, I))
    masked = tf.keras.layers.Masking(-1.0)(inputs)
    fast = tf.keras.layers.Bidirectional(QRNN(workspace_lanes=3, io_lanes=I, **LAYER))
    cell = QRNNCell(workspace_lanes=3, io_lanes=I, **LAYER)
    stepwise = tf.keras.layers.Bidirectional(tf.keras.layers.RNN(cell, return_sequences=True))
    fast_model, stepwise_model = tf.keras.Model(inputs, fast(masked)), tf.keras.Model(inputs, stepwise(masked))
    stepwise.set_weights(fast.get_weights())
    padded = np.concatenate([sequences()["inputs"], -np.ones((B, 2, I), "float32")], axis=1)
    np.testing.assert_allclose(fast_model(padded).numpy(), stepwise_model(padded).numpy(), atol=1e-5)


# ---- one dict for QRNN and RNN(QRNNCell) -----------------------------------------------------


@pytest.mark.parametrize("training", [False, True])
def test_rnn_of_cell_takes_the_qrnn_dict(training):
    data = sequences()
    layer = QRNN(workspace_lanes=3, io_lanes=I, **LAYER)
    expected = layer(data, training=training).numpy()  # scored (B, T)
    np.testing.assert_allclose(layer(for_rnn(data), training=training).numpy(), expected, atol=1e-6)
    rnn = tf.keras.layers.RNN(layer.cell, return_sequences=True)
    np.testing.assert_allclose(rnn(for_rnn(data), training=training).numpy(), expected, atol=1e-5)


def test_cell_step_takes_scored_as_b_or_b1():
    data = {key: value[:, 0] for key, value in sequences().items()}
    cell = QRNNCell(workspace_lanes=3, io_lanes=I, **LAYER)
    state = cell.get_initial_state(batch_size=B)
    flat, _ = cell(data, state)
    column, _ = cell({**data, "scored": data["scored"][:, None]}, state)
    np.testing.assert_array_equal(flat.numpy(), column.numpy())
    with pytest.raises(ValueError, match="`scored` must have shape \\(batch,\\) or \\(batch, 1\\) at a QRNNCell step.* got \\(3, 2\\)"):
        cell({**data, "scored": np.ones((B, 2))}, state)


def test_keras_rnn_itself_refuses_rank_2_scored():
    """Why `RNN(QRNNCell)` needs `scored` (B, T, 1): Keras's RNN checks every input's rank
    before the cell sees a step (the QRNN docstrings say so; update them if this changes)."""
    with pytest.raises(ValueError, match="must have rank at least 3"):
        tf.keras.layers.RNN(QRNNCell(workspace_lanes=3, io_lanes=I, **LAYER), return_sequences=True)(sequences())
