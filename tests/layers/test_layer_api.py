"""The layers' one vocabulary (issue 14): keyword-only SPEC names or a `QRNNConfig`,
`get_config` derived from the config, old `.keras` files, deterministic `predict`,
teacher forcing as an argument and `initial_state`."""

import dataclasses
import inspect
import pathlib

import numpy as np
import pytest

import qrnn_tfq
import tensorflow as tf
from qrnn_tfq import QRNN, QRNNCell, QRNNConfig
from qrnn_tfq.layers.cell import LAYER_OPTIONS, TOPOLOGY_FIELDS

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
B, T, I, W = 3, 6, 1, 2
SMALL = dict(workspace_lanes=W, io_lanes=I, stages=1, degree=2)


def sequences(batch=B, steps=T, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "inputs": rng.integers(0, 2, (batch, steps, I)).astype("float32"),
        "targets": rng.integers(0, 2, (batch, steps, I)).astype("float32"),
        "scored": rng.random((batch, steps)) < 0.5,
    }


def part(data, steps):
    return {key: value[:, steps] for key, value in data.items()}


# ---- keyword-only SPEC names, or a QRNNConfig ------------------------------------------


CONFIG_FIELDS = tuple(field.name for field in dataclasses.fields(QRNNConfig))


@pytest.mark.parametrize("layer, own", [(QRNNCell, ()), (QRNN, ("return_sequences", "return_state"))])
def test_signatures_are_the_config_fields_then_the_layer_options(layer, own):
    # Written out for help() and IDEs; this keeps both from drifting from QRNNConfig.
    parameters = inspect.signature(layer.__init__).parameters
    keyword_only = tuple(name for name, p in parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY)
    assert keyword_only == CONFIG_FIELDS + LAYER_OPTIONS + own
    assert TOPOLOGY_FIELDS == CONFIG_FIELDS
    assert [name for name, p in parameters.items() if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD] == ["self", "config"]
    assert [name for name, p in parameters.items() if p.kind is inspect.Parameter.VAR_KEYWORD] == ["kwargs"]
    assert all(parameters[name].default is None for name in CONFIG_FIELDS)  # None: QRNNConfig's default


# Between them every field and option differs from its default, so an argument the
# constructors forgot to pass on would show.
NON_DEFAULT = [
    (dict(workspace_lanes=3, io_lanes=2, stages=2, degree=3, order=1, bias=0.25, amplification=1, amplification_bound=0.3),
     dict(theta_stddev=0.3, phi_stddev=0.02, work_stddev=0.03, measurement="sample", seed=7)),
    (dict(workspace_lanes=2, io_lanes=1, order=0, recurrence="coherent"), dict(engine="tfq", shots=10, noise=0.01)),
]


def test_the_non_default_values_cover_every_field_and_option():
    for name in CONFIG_FIELDS:
        default = next(f.default for f in dataclasses.fields(QRNNConfig) if f.name == name)
        assert any(name in fields and fields[name] != default for fields, _ in NON_DEFAULT), name
    defaults = inspect.signature(QRNNCell.__init__).parameters
    for name in LAYER_OPTIONS:
        assert any(name in options and options[name] != defaults[name].default for _, options in NON_DEFAULT), name


@pytest.mark.parametrize("fields, options", NON_DEFAULT)
@pytest.mark.parametrize("layer", [QRNN, QRNNCell])
def test_every_argument_reaches_the_config_or_the_options(layer, fields, options):
    made = layer(**fields, **options)
    cell = made.cell if layer is QRNN else made
    assert cell.config == QRNNConfig(**fields)
    assert {name: value for name, value in cell.options.items() if name in options} == options


def test_config_or_fields_give_the_same_layer():
    config = QRNNConfig(workspace_lanes=3, io_lanes=2, stages=2, degree=1, order=1, bias=0.5)
    by_config = QRNN(config, seed=4)
    by_fields = QRNN(workspace_lanes=3, io_lanes=2, stages=2, degree=1, order=1, bias=0.5, seed=4)
    assert by_config.qrnn_config == by_fields.qrnn_config == config
    assert by_config.get_config() == {**by_fields.get_config(), "name": by_config.name}
    data = {"inputs": np.ones((2, 3, 2), "float32"), "targets": np.zeros((2, 3, 2), "float32")}
    np.testing.assert_array_equal(by_config(data, training=True), by_fields(data, training=True))
    assert QRNNCell(config).config is config


def test_get_config_is_the_config_fields_plus_the_options():
    layer = QRNN(**SMALL, amplification=1, seed=2, theta_stddev=0.3, return_state=True)
    config = layer.get_config()
    assert {key: config[key] for key in TOPOLOGY_FIELDS} == dataclasses.asdict(layer.qrnn_config)
    assert {key: config[key] for key in LAYER_OPTIONS} == {
        "theta_stddev": 0.3, "phi_stddev": 0.01, "work_stddev": 0.01, "measurement": "argmax", "seed": 2,
        "engine": "auto", "shots": None, "noise": 0.0,
    }
    assert "workspace" not in config and "io_width" not in config and "cell" not in config
    assert QRNN.from_config(config).get_config() == config
    cell_config = layer.cell.get_config()
    assert QRNNCell.from_config(cell_config).get_config() == cell_config


@pytest.mark.parametrize("layer", [QRNN, QRNNCell])
def test_bad_topology_arguments(layer):
    name = layer.__name__
    with pytest.raises(TypeError, match="`config` must be a QRNNConfig or None, got 2 of type int; give the topology by keyword"):
        layer(2)
    with pytest.raises(TypeError, match="positional argument"):
        layer(2, 1)
    with pytest.raises(ValueError, match=rf"{name} takes either a QRNNConfig or its fields, not both: .* \['degree', 'stages'\]"):
        layer(QRNNConfig(workspace_lanes=2, io_lanes=1), stages=2, degree=1)
    with pytest.raises(TypeError, match=rf"{name} needs a QRNNConfig or the keyword arguments .* missing \['io_lanes'\]"):
        layer(workspace_lanes=2)
    with pytest.raises(TypeError, match=r"old argument names \['io_width', 'workspace'\]: `io_width` is now `io_lanes`"):
        layer(workspace=2, io_width=1)


def test_legacy_config_keys_load_and_both_names_are_refused():
    config = QRNN(**SMALL, seed=1).get_config()
    legacy = {**{k: v for k, v in config.items() if k not in ("workspace_lanes", "io_lanes")}, "workspace": W, "io_width": I}
    assert QRNN.from_config(legacy).get_config() == config
    with pytest.raises(ValueError, match="must not hold both `workspace` and `workspace_lanes`"):
        QRNN.from_config({**config, "workspace": W})


# ---- files saved by the API before issue 14 (tests/fixtures/make_legacy_keras.py) -------


def test_legacy_qrnn_file_loads_with_its_weights_and_outputs():
    expected = np.load(FIXTURES / "legacy_qrnn_186c535_expected.npz")
    model = tf.keras.models.load_model(FIXTURES / "legacy_qrnn_186c535.keras")
    layer = model.layers[-1]
    assert isinstance(layer, QRNN) and layer.qrnn_config == QRNNConfig(workspace_lanes=2, io_lanes=1, stages=1, degree=2)
    for i, weight in enumerate(model.weights):
        np.testing.assert_array_equal(weight.numpy(), expected[f"w{i}"])
    np.testing.assert_allclose(model(expected["inputs"]).numpy(), expected["outputs"], atol=1e-6)
    np.testing.assert_allclose(model.predict(expected["inputs"], verbose=0), expected["outputs"], atol=1e-6)


def test_legacy_cell_file_loads_with_its_weights_and_outputs():
    expected = np.load(FIXTURES / "legacy_cell_186c535_expected.npz")
    model = tf.keras.models.load_model(FIXTURES / "legacy_cell_186c535.keras")
    cell = model.layers[-1].cell
    assert isinstance(cell, QRNNCell) and cell.config.workspace_lanes == 2 and cell.config.io_lanes == 1
    assert cell.measurement == "sample"  # a saved config keeps its measurement; only the default changed
    for i, weight in enumerate(model.weights):
        np.testing.assert_array_equal(weight.numpy(), expected[f"w{i}"])
    forced = model({"inputs": expected["inputs"], "targets": expected["targets"]}, training=True)
    np.testing.assert_allclose(forced.numpy(), expected["outputs"], atol=1e-6)


def test_new_model_round_trips_through_a_keras_file(tmp_path):
    inputs = {"inputs": tf.keras.Input((T, I), name="inputs"), "targets": tf.keras.Input((T, I), name="targets"),
              "scored": tf.keras.Input((T,), name="scored")}
    model = tf.keras.Model(inputs, QRNN(QRNNConfig(W, I, stages=2), seed=5, theta_stddev=1.0)(inputs))
    model.save(tmp_path / "model.keras")
    loaded = tf.keras.models.load_model(tmp_path / "model.keras")
    assert loaded.layers[-1].get_config() == model.layers[-1].get_config()
    data = sequences()
    np.testing.assert_array_equal(loaded.predict(data, verbose=0), model.predict(data, verbose=0))


# ---- deterministic predict, teacher forcing as an argument -----------------------------


def test_predict_is_deterministic_by_default():
    inputs = {"inputs": tf.keras.Input((T, I)), "targets": tf.keras.Input((T, I)), "scored": tf.keras.Input((T,))}
    model = tf.keras.Model(inputs, QRNN(**SMALL, seed=0, theta_stddev=1.0, phi_stddev=1.0)(inputs))
    data = sequences(batch=16)
    np.testing.assert_array_equal(model.predict(data, verbose=0), model.predict(data, verbose=0))
    sampling = QRNN(**SMALL, seed=0, theta_stddev=1.0, phi_stddev=1.0, measurement="sample")
    draws = [sampling.run_sequences(data).measured.numpy() for _ in range(4)]
    assert any((d != draws[0]).any() for d in draws[1:])  # sampling is asked for, and samples


def test_teacher_forcing_argument_overrides_the_training_flag():
    layer = QRNN(**SMALL, seed=1, theta_stddev=1.0, phi_stddev=1.0)
    data = sequences(batch=8)
    forced, measured = layer(data, training=True).numpy(), layer(data, training=False).numpy()
    assert not np.allclose(forced, measured)  # some scored step measures another word than its target
    np.testing.assert_array_equal(layer(data, teacher_forcing=True), forced)
    np.testing.assert_array_equal(layer(data, training=False, teacher_forcing=True), forced)
    np.testing.assert_array_equal(layer(data, training=True, teacher_forcing=False), measured)
    out = layer.run_sequences(data, teacher_forcing=True)
    target_words = qrnn_tfq.layers.bits_to_words(data["targets"], I)
    np.testing.assert_array_equal(out.measured, target_words)


def test_teacher_forcing_errors():
    layer = QRNN(**SMALL, seed=1)
    data = sequences()
    with pytest.raises(ValueError, match="`teacher_forcing=True` postselects every step onto its target, so it needs"):
        layer(data["inputs"], teacher_forcing=True)
    with pytest.raises(TypeError, match="`teacher_forcing` must be True, False or None, got 'yes'"):
        layer(data, teacher_forcing="yes")


# ---- initial_state --------------------------------------------------------------------


@pytest.mark.parametrize("split", [1, 4])
def test_two_runs_from_the_returned_state_equal_one_run(split):
    layer = QRNN(**SMALL, seed=2, theta_stddev=1.0, phi_stddev=1.0, return_state=True)
    data = sequences()
    whole, final = layer(data, teacher_forcing=True)
    first, state = layer(part(data, slice(None, split)), teacher_forcing=True)
    second, second_final = layer(part(data, slice(split, None)), teacher_forcing=True, initial_state=state)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, atol=1e-6)
    np.testing.assert_allclose(second_final, final, atol=1e-6)
    listed, _ = layer(part(data, slice(split, None)), teacher_forcing=True, initial_state=[state])  # Keras style
    np.testing.assert_array_equal(listed, second)


def test_default_initial_state_is_all_lanes_zero():
    layer = QRNN(**SMALL, seed=3, theta_stddev=1.0)
    data = sequences()
    zero = tf.one_hot(tf.zeros([B], tf.int32), 2**W)
    np.testing.assert_array_equal(layer(data, training=True), layer(data, training=True, initial_state=zero))
    other = tf.one_hot(tf.fill([B], 3), 2**W)
    assert not np.allclose(layer(data, training=True), layer(data, training=True, initial_state=other))


def test_initial_state_as_a_model_input_saves_and_loads(tmp_path):
    bits, state = tf.keras.Input((None, I)), tf.keras.Input((2**W,))
    model = tf.keras.Model([bits, state], QRNN(**SMALL, seed=4, theta_stddev=1.0)(bits, initial_state=state))
    model.save(tmp_path / "model.keras")
    loaded = tf.keras.models.load_model(tmp_path / "model.keras")
    start = tf.nn.l2_normalize(tf.random.stateless_uniform((B, 2**W), seed=(1, 2)), axis=-1)
    data = sequences()["inputs"]
    np.testing.assert_array_equal(loaded([data, start]), model([data, start]))
    assert not np.allclose(model([data, start]), QRNN.from_config(model.layers[-1].get_config())(data))


@pytest.mark.parametrize("state, got", [
    (np.zeros((B, 8), "float32"), r"\(3, 8\)"),
    (np.zeros((B + 1, 4), "float32"), r"\(4, 4\)"),
    (np.zeros((4,), "float32"), r"\(4,\)"),
])
def test_initial_state_of_the_wrong_shape_is_refused(state, got):
    layer = QRNN(**SMALL, seed=0)
    with pytest.raises(ValueError, match=rf"`initial_state` must have shape \(B, 2\^W\) = \(3, 4\) .*workspace_lanes=2\), got {got}"):
        layer(sequences(), initial_state=state)
    with pytest.raises(ValueError, match="`initial_state` must be one tensor .* got a list of 2"):
        layer(sequences(), initial_state=[state, state])


def test_a_masked_model_input_with_an_initial_state_freezes_the_padding():
    bits, state = tf.keras.Input((None, I)), tf.keras.Input((2**W,))
    layer = QRNN(**SMALL, seed=5, theta_stddev=1.0, return_state=True)
    _, final = layer(tf.keras.layers.Masking(mask_value=-1.0)(bits), initial_state=state)
    model = tf.keras.Model([bits, state], final)
    start = tf.nn.l2_normalize(tf.random.stateless_uniform((B, 2**W), seed=(3, 4)), axis=-1)
    data = sequences()["inputs"]
    padded = np.concatenate([data, -np.ones((B, 2, I), "float32")], axis=1)
    np.testing.assert_allclose(model([padded, start]), layer(data, initial_state=start)[1], atol=1e-6)
