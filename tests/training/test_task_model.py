"""Tests for qrnn_tfq/training/task_model.py, fit_data.py and distribute.py: training a QRNN
with plain `model.fit`, deterministic `predict`, the data contract, L-BFGS as the model's
optimizer, and data parallelism on `tf.distribute` equal to one device on the combined batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import qrnn_tfq  # noqa: F401  (selects tf-keras before TensorFlow loads)

import numpy as np
import pytest
import tensorflow as tf

from data.sequences import task_by_name
from qrnn_tfq.training import QRNNSequenceModel, TrainerConfig, make_optimizer
from qrnn_tfq.training.distribute import local_tf_configs, make_strategy
from qrnn_tfq.training.minibatch_lbfgs import MinibatchLbfgs
from qrnn_tfq.training.fit_data import validation_steps
from qrnn_tfq.training.task_model import SequenceTaskModel

TASK = task_by_name("xor", length=9)  # 8 steps, 2 of them scored
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def batch_dict(batch):
    return {"inputs": batch.inputs, "targets": batch.targets, "scored": batch.scored}


def layer(seed=0):
    return qrnn_tfq.QRNN(workspace_lanes=2, io_lanes=2, stages=1, degree=2, seed=seed)


def test_fit_trains_and_matches_a_run_with_the_run_callbacks(training_run):
    """`model.fit` on a dataset of batch dicts takes the same steps as a run of the paper's
    protocol (one step per epoch, the run's callbacks)."""
    batches = [TASK.sample(4, seed=(5, 0, step)) for step in range(3)]
    model = SequenceTaskModel(layer(), loss="nll")
    model.compile(optimizer=make_optimizer("adam", 0.05))
    data = tf.data.Dataset.from_tensor_slices({k: np.stack([batch_dict(b)[k] for b in batches]) for k in ("inputs", "targets", "scored")})
    history = model.fit(data, epochs=1, verbose=0)
    assert int(model.steps_taken.numpy()) == 3
    assert np.isfinite(history.history["loss"][-1])

    run = training_run(QRNNSequenceModel(layer()), make_optimizer("adam", 0.05), lambda step: batches[step], batches[0],
                       TrainerConfig(max_steps=3, stop_loss=None, loss="nll", validate_every=10))
    assert run.fit().steps == 3
    for ours, theirs in zip(model.weights_to_train, run.model.weights_to_train, strict=True):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-6)


def test_predict_is_deterministic_and_evaluate_reports_the_metrics():
    model = SequenceTaskModel(layer(seed=2))
    model.compile(optimizer=make_optimizer("adam", 0.05))
    batch = batch_dict(TASK.sample(6, seed=(1, 1)))
    first, second = model.predict(batch, verbose=0), model.predict(batch, verbose=0)
    np.testing.assert_array_equal(first, second)
    assert first.shape == (6, 8, 4)
    logs = model.evaluate(batch, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "argmax_accuracy", "sampled_accuracy"}
    assert 0 <= logs["argmax_accuracy"] <= 1 and np.isfinite(logs["loss"])


def test_bad_data_and_arguments_are_clear_errors():
    model = SequenceTaskModel(layer())
    model.compile(optimizer=make_optimizer("adam", 0.05))
    batch = batch_dict(TASK.sample(4, seed=(1, 1)))
    with pytest.raises(ValueError, match=r"targets inside `x`"):
        model.fit(batch, batch["targets"], epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"keys \['inputs', 'targets', 'scored'\] as `x`, got \['inputs'\]"):
        model.fit({"inputs": batch["inputs"]}, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"`loss` must be one of \['nll', 'paper'\], got 'mse'"):
        SequenceTaskModel(layer(), loss="mse")
    with pytest.raises(TypeError, match=r"`network` must be a qrnn_tfq.QRNN or a SequenceModel"):
        SequenceTaskModel(tf.keras.layers.Dense(3))
    with pytest.raises(ValueError, match=r"`distribute` must be one of \['none', 'mirrored', 'multi-worker'\], got 'tpu'"):
        make_strategy("tpu")


def test_multi_worker_needs_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="needs TF_CONFIG"):
        make_strategy("multi-worker")
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["localhost:1"]}, "task": {"index": 3}}')
    with pytest.raises(ValueError, match=r"task.index 3 must name one of its 1 workers"):
        make_strategy("multi-worker")


def test_local_tf_configs_name_each_worker_of_one_cluster():
    configs = [json.loads(text) for text in local_tf_configs(2)]
    assert [c["task"] for c in configs] == [{"type": "worker", "index": 0}, {"type": "worker", "index": 1}]
    assert configs[0]["cluster"] == configs[1]["cluster"] and len(set(configs[0]["cluster"]["worker"])) == 2
    with pytest.raises(ValueError, match=r"`workers` must be an int >= 1, got 0"):
        local_tf_configs(0)


def test_validation_steps_are_every_kth_and_the_last():
    assert validation_steps(0, 12, 5) == [5, 10, 12]
    assert validation_steps(5, 12, 5) == [10, 12]
    assert validation_steps(10, 10, 5) == []


def test_weights_made_outside_the_scope_are_refused():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    network = QRNNSequenceModel(layer())  # builds the layer: its weights exist, outside the scope
    with strategy.scope(), pytest.raises(ValueError, match=r"made outside `strategy.scope\(\)`"):
        SequenceTaskModel(network)


MIRRORED = textwrap.dedent("""
    import qrnn_tfq, numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from data.sequences import task_by_name
    from qrnn_tfq.training import (RunRecord, SequenceTaskModel, TrainerConfig, fit_arguments, make_optimizer,
                                   run_callbacks)
    from qrnn_tfq.training.minibatch_lbfgs import MinibatchLbfgs
    task = task_by_name("xor", length=9)
    def run(strategy, optimizer, steps):
        with (strategy or tf.distribute.get_strategy()).scope():
            model = SequenceTaskModel(qrnn_tfq.QRNN(workspace_lanes=2, io_lanes=2, stages=1, degree=1, seed=0))
            model.compile(optimizer=optimizer())
        record = RunRecord(TrainerConfig(max_steps=steps, stop_loss=None, validate_every=2))
        model.fit(**fit_arguments(record.config, model, lambda s: task.sample(8, seed=(1, 0, s)), task.sample(8, seed=(1, 1))),
                  callbacks=run_callbacks(record))
        return np.concatenate([w.numpy().ravel() for w in model.weights_to_train]), record.result()
    sgd = lambda: make_optimizer("sgd", 0.5, None)
    one, one_result = run(None, sgd, 4)
    two, two_result = run(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]), sgd, 4)
    print("WEIGHTS", np.abs(one - two).max())
    print("LOSSES", max(abs(a.train_loss - b.train_loss) for a, b in zip(one_result.history, two_result.history, strict=True)))
    print("VALIDATION", abs(one_result.best_validation_loss - two_result.best_validation_loss))
    # L-BFGS on a strategy of one replica trains as on no strategy (DistributedVariable.handle was not
    # available outside the replica context); on two it is refused.
    lbfgs = lambda: MinibatchLbfgs(max_iterations=2)
    one, _ = run(None, lbfgs, 2)
    mirrored, _ = run(tf.distribute.MirroredStrategy(["/cpu:0"]), lbfgs, 2)
    print("LBFGS_ONE_REPLICA", np.abs(one - mirrored).max())
    try:
        run(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]), lbfgs, 1)
    except ValueError as error:
        print("LBFGS", str(error).replace(" ", "_"))
""")


def test_two_replicas_equal_one_device_on_the_combined_batch():
    """MirroredStrategy over two logical CPUs: each replica gets half of every batch, and the
    weights, training losses and validation loss equal one device's (float32 round-off).
    Minibatch L-BFGS trains on a strategy of one replica, and is refused on two."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ROOT}
    result = subprocess.run([sys.executable, "-c", MIRRORED], capture_output=True, text=True, env=env, cwd=ROOT,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = dict(line.split() for line in result.stdout.splitlines()
                   if line.split()[0] in ("WEIGHTS", "LOSSES", "VALIDATION", "LBFGS_ONE_REPLICA", "LBFGS"))
    assert float(figures["WEIGHTS"]) < 1e-5
    assert float(figures["LOSSES"]) < 1e-5
    assert float(figures["VALIDATION"]) < 1e-5
    assert float(figures["LBFGS_ONE_REPLICA"]) < 1e-6
    # The L-BFGS steps are NumPy bookkeeping on one device: a strategy of two replicas is refused.
    assert "MinibatchLbfgs_runs_on_one_device;_it_cannot_train_a_model_on_a_strategy_with_2_replicas" in figures["LBFGS"]


def test_a_trained_model_saves_and_loads(tmp_path):
    """`.keras` round trip: the same weights, settings and deterministic predictions."""
    batch = batch_dict(TASK.sample(4, seed=(1, 1)))
    model = SequenceTaskModel(layer(seed=4), loss="nll", validation="sampled", seed=7)
    model.compile(optimizer=make_optimizer("adam", 0.05))
    model.fit(tf.data.Dataset.from_tensors(batch).repeat(2), epochs=1, verbose=0)
    path = str(tmp_path / "task.keras")
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    assert isinstance(loaded, SequenceTaskModel)
    assert (loaded.loss_name, loaded.validation, loaded.seed) == ("nll", "sampled", 7)
    for ours, theirs in zip(model.weights_to_train, loaded.weights_to_train, strict=True):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(model.predict(batch, verbose=0), loaded.predict(batch, verbose=0))


def test_a_model_compiled_with_lbfgs_saves_uncompiled(tmp_path):
    """Keras cannot serialize a `BatchOptimizer`: the model saves without its compile config."""
    model = SequenceTaskModel(layer(seed=4), loss="nll")
    model.compile(optimizer=MinibatchLbfgs())
    assert model.get_compile_config() is None
    model.save(tmp_path / "lbfgs.keras")
    loaded = tf.keras.models.load_model(tmp_path / "lbfgs.keras")
    assert isinstance(loaded, SequenceTaskModel) and loaded.optimizer is None
    for ours, theirs in zip(model.weights_to_train, loaded.weights_to_train, strict=True):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
