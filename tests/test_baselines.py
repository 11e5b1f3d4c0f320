"""Tests for qrnn_tfq/baselines.py: the paper's 888-parameter sizes, the PyTorch cell
equations, initialisation, serialization, and that a few training steps reduce the loss
on every sequence task (also for the QRNN on the tasks tests/training does not train)."""

from __future__ import annotations

import qrnn_tfq  # noqa: F401  (selects tf-keras before TensorFlow loads)

import numpy as np
import pytest
import tensorflow as tf

from data.sequences import task_by_name
from qrnn_tfq.baselines import PAPER_HIDDEN, RecurrentBaseline, TorchLSTMCell, TorchSimpleRNNCell
from qrnn_tfq.training import (
    QRNNSequenceModel,
    RunRecord,
    SequenceModel,
    SequenceTaskModel,
    TrainerConfig,
    fit_arguments,
    make_optimizer,
    run_callbacks,
)


@pytest.mark.parametrize("kind, hidden", [("rnn", 22), ("lstm", 10)])
def test_paper_sizes_give_888_parameters(kind, hidden):
    model = RecurrentBaseline(kind, io_width=3, seed=0)  # DNA: 3-bit words, read one-hot
    assert PAPER_HIDDEN[kind] == model.hidden == hidden
    assert model.num_parameters == 888
    assert isinstance(model, SequenceModel)


@pytest.mark.parametrize("kind, io_width, hidden, encoding, expected", [
    # gates * (features * h + h * h + 2 h) + h * 2^I + 2^I
    ("rnn", 2, 5, "one_hot", (4 * 5 + 25 + 10) + 5 * 4 + 4),
    ("rnn", 3, 7, "bits", (3 * 7 + 49 + 14) + 7 * 8 + 8),
    ("lstm", 2, 3, "bits", 4 * (2 * 3 + 9 + 6) + 3 * 4 + 4),
])
def test_parameter_count(kind, io_width, hidden, encoding, expected):
    assert RecurrentBaseline(kind, io_width, hidden, encoding, seed=1).num_parameters == expected


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_run_matches_the_pytorch_equations(kind):
    model = RecurrentBaseline(kind, io_width=2, hidden=3, seed=4, dtype="float64")
    for weight in model.trainable_weights:  # nonzero biases, so that both bias vectors count
        weight.assign(np.random.default_rng(len(weight.name)).normal(0, 0.7, weight.shape))
    bits = np.array([[[0, 1], [1, 1], [1, 0], [0, 0]]], np.uint8)  # words 1, 3, 2, 0
    kernel, recurrent, bias, recurrent_bias, readout, readout_bias = (w.numpy() for w in model.trainable_weights)
    hidden, carry, expected = np.zeros(3), np.zeros(3), []
    for word in (1, 3, 2, 0):
        z = np.eye(4)[word] @ kernel + bias + hidden @ recurrent + recurrent_bias
        if kind == "rnn":
            hidden = np.tanh(z)
        else:
            i, f, g, o = np.split(z, 4)
            carry = _sigmoid(f) * carry + _sigmoid(i) * np.tanh(g)
            hidden = _sigmoid(o) * np.tanh(carry)
        logits = hidden @ readout + readout_bias
        expected.append(np.exp(logits) / np.exp(logits).sum())
    np.testing.assert_allclose(model(bits).numpy()[0], expected, rtol=1e-12)


def test_paper_initialisation_and_seeds():
    model = RecurrentBaseline("lstm", io_width=3, seed=7)
    kernel, recurrent, bias, recurrent_bias, _, _ = (w.numpy() for w in model.trainable_weights)
    for gate in range(4):  # orthogonal per gate, as the paper's reset()
        block = recurrent[:, 10 * gate:10 * (gate + 1)]
        np.testing.assert_allclose(block @ block.T, np.eye(10), atol=1e-5)
    assert not bias.any() and not recurrent_bias.any()
    assert np.abs(kernel).max() <= np.sqrt(6 / (8 + 40))  # Glorot uniform
    again = RecurrentBaseline("lstm", io_width=3, seed=7)
    other = RecurrentBaseline("lstm", io_width=3, seed=8)
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(model.trainable_weights, again.trainable_weights))
    assert not np.array_equal(model.trainable_weights[0].numpy(), other.trainable_weights[0].numpy())


def test_run_segment_continues_from_a_state():
    model = RecurrentBaseline("lstm", io_width=3, hidden=4, seed=0)
    batch = task_by_name("dna", length=9).sample(2, seed=0)
    whole, final = model.run_segment({"inputs": batch.inputs})
    first, state = model.run_segment({"inputs": batch.inputs[:, :3]})
    rest, final_again = model.run_segment({"inputs": batch.inputs[:, 3:]}, state)
    assert len(state) == model.state_parts == 2
    np.testing.assert_allclose(np.concatenate([first, rest], axis=1), whole.numpy(), atol=1e-6)
    np.testing.assert_allclose(final_again[1], final[1].numpy(), atol=1e-6)


def test_config_round_trip_and_keras_file(tmp_path):
    model = RecurrentBaseline("rnn", io_width=2, hidden=5, encoding="bits", seed=3)
    bits = task_by_name("xor", length=9).sample(3, seed=1).inputs
    config = model.get_config()
    assert {key: config[key] for key in ("kind", "io_width", "hidden", "encoding", "seed")} == {
        "kind": "rnn", "io_width": 2, "hidden": 5, "encoding": "bits", "seed": 3}
    clone = RecurrentBaseline.from_config(config)
    np.testing.assert_array_equal(clone(bits).numpy(), model(bits).numpy())  # the seed repeats the weights
    path = str(tmp_path / "baseline.keras")
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    assert isinstance(loaded, RecurrentBaseline)
    np.testing.assert_allclose(loaded(bits).numpy(), model(bits).numpy(), rtol=1e-6)
    cell = TorchLSTMCell(4, seed=2)
    assert TorchLSTMCell.from_config(cell.get_config()).get_config() == cell.get_config()
    assert TorchSimpleRNNCell(3).state_size == 3 and cell.state_size == [4, 4]


@pytest.mark.parametrize("arguments, match", [
    (dict(kind="gru", io_width=3), "`kind` must be one of"),
    (dict(kind="rnn", io_width=3, encoding="ascii"), "`encoding` must be one of"),
    (dict(kind="rnn", io_width=0), "argument `io_width`, expected a positive integer, got 0"),
    (dict(kind="lstm", io_width=3, hidden=-2), "argument `hidden`, expected a positive integer, got -2"),
    (dict(kind="lstm", io_width=3, seed=-1), "`seed` must be None or an int >= 0, got -1"),
])
def test_bad_arguments(arguments, match):
    with pytest.raises(ValueError, match=match):
        RecurrentBaseline(**arguments)


def test_bad_inputs():
    model = RecurrentBaseline("rnn", io_width=3, hidden=2, encoding="bits", seed=0)
    with pytest.raises(ValueError, match=r"must have shape \(B, T, 3\)"):
        model(np.zeros((1, 4, 2), np.uint8))
    with pytest.raises(ValueError, match="binary words"):
        RecurrentBaseline("rnn", io_width=2, seed=0)(np.full((1, 4, 2), 3, np.uint8))


TASKS = {  # small lengths, a fixed batch: a few steps must lower its loss
    "memorize": task_by_name("memorize", length=8),
    "xor": task_by_name("xor", length=9),
    "letters": task_by_name("letters", length=8),
    "dna": task_by_name("dna", length=6, protocol="honest"),
}


def _loss_before_and_after(model, task, steps, learning_rate):
    batch = task.sample(8, seed=3)
    config = TrainerConfig(max_steps=steps, stop_loss=None, validate_every=steps, loss="nll")
    task_model = SequenceTaskModel(model, loss=config.loss, validation=config.validation, seed=config.seed)
    task_model.compile(optimizer=make_optimizer("adam", learning_rate))
    x = {"inputs": batch.inputs, "targets": batch.targets, "scored": batch.scored}
    before = task_model.evaluate(x, verbose=0, return_dict=True)["loss"]
    record = RunRecord(config)
    task_model.fit(**fit_arguments(config, task_model, lambda step: batch, batch), callbacks=run_callbacks(record))
    return before, record.result().last_validation.validation_loss


@pytest.mark.parametrize("task", sorted(TASKS))
@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_a_few_steps_reduce_the_loss(kind, task):
    model = RecurrentBaseline(kind, TASKS[task].io_width, hidden=8, seed=0)
    before, after = _loss_before_and_after(model, TASKS[task], steps=20, learning_rate=0.05)
    assert after < 0.9 * before


@pytest.mark.parametrize("task", ["memorize", "letters", "dna"])  # xor: tests/training/test_training_loop.py
def test_a_few_steps_reduce_the_qrnn_loss(task):
    model = QRNNSequenceModel(qrnn_tfq.QRNN(workspace_lanes=2, io_lanes=3, stages=1, degree=1, seed=0))
    before, after = _loss_before_and_after(model, TASKS[task], steps=10, learning_rate=0.05)
    assert after < before
