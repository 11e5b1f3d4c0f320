"""Losses and metrics over scored steps (SPEC section 4), on hand-checkable numbers."""

import math

import numpy as np
import pytest

import qrnn_tfq
import tensorflow as tf
from qrnn_tfq import losses, metrics

PROBS = tf.constant([[[0.7, 0.1, 0.1, 0.1], [0.25, 0.25, 0.25, 0.25]], [[0.0, 1.0, 0.0, 0.0], [0.1, 0.2, 0.3, 0.4]]], tf.float64)
TARGETS = tf.constant([[0, 3], [1, 2]], tf.int32)
SCORED = tf.constant([[True, False], [True, True]])


def test_word_nll_averages_scored_steps_only():
    expected = -(math.log(0.7) + math.log(1.0) + math.log(0.3)) / 3
    assert losses.word_nll(PROBS, TARGETS, SCORED).numpy() == pytest.approx(expected)
    assert losses.word_nll(PROBS, TARGETS).numpy() == pytest.approx(-(math.log(0.7) + math.log(0.25) + math.log(0.3)) / 4)


def test_paper_loss_is_cross_entropy_of_probabilities_as_logits_minus_its_minimum():
    shift = math.log(3 + math.e) - 1
    assert losses.paper_shift(4) == pytest.approx(shift)
    perfect = tf.constant([[[0.0, 1.0, 0.0, 0.0]]], tf.float64)
    assert losses.paper_shifted_loss(perfect, tf.constant([[1]])).numpy() == pytest.approx(0.0, abs=1e-12)
    p = PROBS.numpy()[0, 0]
    expected = -p[0] + math.log(np.exp(p).sum()) - shift
    assert losses.paper_shifted_loss(PROBS[:1, :1], TARGETS[:1, :1]).numpy() == pytest.approx(expected)


def test_zero_probability_gives_a_large_finite_loss():
    value = losses.word_nll(tf.constant([[[1.0, 0.0]]]), tf.constant([[1]])).numpy()
    assert np.isfinite(value) and value > 80


def test_keras_losses_use_sample_weight_as_the_scored_mask():
    target_bits = tf.constant([[[0, 0], [1, 1]], [[0, 1], [1, 0]]], tf.float32)
    weight = tf.cast(SCORED, tf.float64)
    assert qrnn_tfq.WordCrossEntropy()(target_bits, PROBS, sample_weight=weight).numpy() == pytest.approx(
        losses.word_nll(PROBS, TARGETS, SCORED).numpy()
    )
    assert qrnn_tfq.PaperShiftedLoss()(target_bits, PROBS, sample_weight=weight).numpy() == pytest.approx(
        losses.paper_shifted_loss(PROBS, TARGETS, SCORED).numpy()
    )


def test_accuracies():
    # argmax hits: step (0,0) yes, (1,0) yes, (1,1) no (argmax 3, target 2) -> 2/3 on scored steps
    assert metrics.argmax_accuracy(PROBS, TARGETS, SCORED).numpy() == pytest.approx(2 / 3)
    measured = tf.constant([[0, 0], [1, 2]], tf.int32)
    assert metrics.sampled_accuracy(measured, TARGETS, SCORED).numpy() == pytest.approx(1.0)
    assert metrics.sampled_accuracy(measured, TARGETS).numpy() == pytest.approx(0.75)


def test_keras_metrics():
    target_bits = tf.constant([[[0, 0], [1, 1]], [[0, 1], [1, 0]]], tf.float32)
    accuracy = qrnn_tfq.WordAccuracy()
    accuracy.update_state(target_bits, PROBS, sample_weight=tf.cast(SCORED, tf.float32))
    assert accuracy.result().numpy() == pytest.approx(2 / 3)
    expected_p = qrnn_tfq.TargetProbability()
    expected_p.update_state(target_bits, PROBS, sample_weight=tf.cast(SCORED, tf.float32))
    assert expected_p.result().numpy() == pytest.approx((0.7 + 1.0 + 0.3) / 3)


@pytest.mark.parametrize("metric_class", ["MinWordProbability", "MinPostselectionProbability"])
def test_min_word_probability_tracks_the_smallest_target_probability(metric_class):
    target_bits = tf.constant([[[0, 0], [1, 1]], [[0, 1], [1, 0]]], tf.float32)
    smallest = getattr(qrnn_tfq, metric_class)()
    smallest.update_state(target_bits, PROBS)
    assert smallest.result().numpy() == pytest.approx(0.25)
    smallest.update_state(target_bits[:, :1], PROBS[:, :1])
    assert smallest.result().numpy() == pytest.approx(0.25)
    smallest.reset_state()
    assert smallest.result().numpy() == pytest.approx(1.0)


def test_min_word_probability_is_the_new_name_and_the_old_one_an_alias():
    assert "MinWordProbability" in qrnn_tfq.__all__
    assert qrnn_tfq.MinWordProbability().name == "min_word_probability"
    old = qrnn_tfq.MinPostselectionProbability()
    assert isinstance(old, qrnn_tfq.MinWordProbability)
    assert old.name == "min_postselection"  # old histories keep their column name
    assert "word probability" in " ".join(qrnn_tfq.MinPostselectionProbability.__doc__.split())
    assert "NOT the hardware success probability" in " ".join(qrnn_tfq.MinWordProbability.__doc__.split())
    assert metrics.min_word_probability(tf.constant([[0.5, 0.2]])).numpy() == pytest.approx(0.2)
    assert metrics.min_postselection(tf.constant([[0.5, 0.2]])).numpy() == pytest.approx(0.2)


@pytest.mark.parametrize(
    "metric_class, name",
    [("MinWordProbability", "min_word_probability"), ("MinPostselectionProbability", "min_postselection")],
)
def test_min_word_probability_metrics_round_trip_keras_serialization(metric_class, name):
    # An older saved model names the metric "qrnn_tfq>MinPostselectionProbability".
    config = {
        "module": "qrnn_tfq.metrics", "class_name": metric_class,
        "config": {"name": name, "dtype": "float32"}, "registered_name": f"qrnn_tfq>{metric_class}",
    }
    assert tf.keras.metrics.serialize(getattr(qrnn_tfq, metric_class)()) == config
    restored = tf.keras.metrics.deserialize(config)
    assert type(restored) is getattr(qrnn_tfq, metric_class) and restored.name == name
