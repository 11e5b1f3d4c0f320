"""Tests for qrnn_tfq/training/optimizers.py: the paper's optimizers and gradient clipping."""

from __future__ import annotations

import math

import qrnn_tfq  # noqa: F401  (selects tf-keras before TensorFlow loads)

import numpy as np
import pytest
import tensorflow as tf

from qrnn_tfq.training import OPTIMIZERS, make_optimizer


@pytest.mark.parametrize(
    "name, kind", [("adam", tf.keras.optimizers.Adam), ("sgd", tf.keras.optimizers.SGD), ("rmsprop", tf.keras.optimizers.RMSprop)]
)
def test_make_optimizer_kinds_and_paper_clipping(name, kind):
    optimizer = make_optimizer(name, 0.01)
    assert isinstance(optimizer, kind)
    assert optimizer.global_clipnorm == 0.5
    assert math.isclose(float(optimizer.learning_rate), 0.01, rel_tol=1e-6)
    assert set(OPTIMIZERS) == {"adam", "sgd", "rmsprop"}


def test_torch_constants():
    assert make_optimizer("adam", 0.01).epsilon == 1e-8
    rmsprop = make_optimizer("rmsprop", 0.01)
    assert (rmsprop.rho, rmsprop.epsilon) == (0.99, 1e-8)


def test_global_norm_is_clipped():
    variable = tf.Variable([0.0, 0.0])
    optimizer = make_optimizer("sgd", 1.0, clip_norm=0.5)
    optimizer.apply_gradients([(tf.constant([3.0, 4.0]), variable)])  # norm 5 -> 0.5
    np.testing.assert_allclose(variable.numpy(), [-0.3, -0.4], rtol=1e-6)


def test_no_clipping():
    variable = tf.Variable([0.0, 0.0])
    optimizer = make_optimizer("sgd", 1.0, clip_norm=None)
    assert optimizer.global_clipnorm is None
    optimizer.apply_gradients([(tf.constant([3.0, 4.0]), variable)])
    np.testing.assert_allclose(variable.numpy(), [-3.0, -4.0])


@pytest.mark.parametrize(
    "args, error, match",
    [
        (("adamw", 0.01), ValueError, r"`name` must be one of \['adam', 'sgd', 'rmsprop'\], got 'adamw'"),
        (("lbfgs", 0.01), ValueError, "compile the SequenceTaskModel with qrnn_tfq.training.Lbfgs"),
        (("adam", 0.0), ValueError, r"`learning_rate` must be a finite number > 0, got 0.0"),
        (("adam", float("nan")), ValueError, "`learning_rate` must be a finite number > 0"),
        (("adam", "0.01"), TypeError, "`learning_rate` must be a number"),
        (("adam", 0.01, -1.0), ValueError, r"`clip_norm` must be a finite number > 0, got -1.0"),
    ],
)
def test_bad_arguments(args, error, match):
    with pytest.raises(error, match=match):
        make_optimizer(*args)


def test_a_schedule_is_taken_at_construction():
    """The learning-rate variable of a schedule exists before the first step (MultiWorkerMirroredStrategy
    fails on a variable made inside a step, as setting `optimizer.learning_rate` later does)."""
    from qrnn_tfq.training import ScaledSchedule

    optimizer = make_optimizer("adam", ScaledSchedule(0.01, 0.5), 0.5)
    assert float(optimizer.learning_rate) == pytest.approx(0.005)
    with pytest.raises(ValueError, match="`learning_rate` must be a finite number > 0, got -1"):
        make_optimizer("adam", -1)
