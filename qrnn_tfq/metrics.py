"""Accuracy and word-probability metrics (SPEC section 4).

Accuracy is taken on scored steps, with the argmax of `p_i` or with the word the
recurrence actually sampled.

Two probabilities are easy to confuse; this module tracks only the first:

- the *word probability* `p_i(m)`: the probability of the in/out word `m` measured (or,
  in training, postselected onto the target) at step `i` (SPEC section 3 step 7). It is
  what `SequenceOutputs.postselection` holds, and its smallest value over training is
  the paper's `p_min` (reported as the overhead `1 / sqrt(p_min)`);
- the *ancilla success probability*: the probability that every neuron ancilla of a step
  passes its postselection on |0> (SPEC section 2), which a chip's repeat-until-success
  must also pass (`SequenceOutputs.ancilla_success`). It is far smaller: at `b = pi/2`
  an order-2 neuron passes with about 1/8, so a freshly initialised Elman XOR cell (9
  neurons) passes with about 1e-8 per step. These metrics do NOT report it.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from qrnn_tfq.layers.words import bits_to_words
from qrnn_tfq.losses import _masked_mean, target_probability

_keras = tf.keras


def argmax_accuracy(probabilities: tf.Tensor, target_words: tf.Tensor, scored: tf.Tensor | None = None) -> tf.Tensor:
    """Fraction of scored steps whose most likely word is the target."""
    hits = tf.cast(tf.equal(tf.argmax(probabilities, -1, output_type=tf.int32), target_words), probabilities.dtype)
    return _masked_mean(hits, scored)


def sampled_accuracy(measured_words: tf.Tensor, target_words: tf.Tensor, scored: tf.Tensor | None = None) -> tf.Tensor:
    """Fraction of scored steps whose measured (sampled) word is the target (the paper's metric)."""
    return _masked_mean(tf.cast(tf.equal(measured_words, target_words), tf.float32), scored)


def min_word_probability(word_probability: tf.Tensor) -> tf.Tensor:
    """The smallest word probability (`SequenceOutputs.postselection`) over a batch of sequences."""
    return tf.reduce_min(word_probability)


def min_postselection(postselection: tf.Tensor) -> tf.Tensor:
    """Old name of `min_word_probability`: the smallest measured word's probability."""
    return min_word_probability(postselection)


def _words(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    width = y_pred.shape[-1].bit_length() - 1
    return bits_to_words(y_true, width, "targets")


@_keras.utils.register_keras_serializable(package="qrnn_tfq")
class WordAccuracy(_keras.metrics.MeanMetricWrapper):
    """Argmax accuracy; pass the scored mask as `sample_weight` (`weighted_metrics`)."""

    def __init__(self, name: str = "word_accuracy", dtype: Any = None) -> None:
        super().__init__(
            lambda y_true, y_pred: tf.cast(
                tf.equal(tf.argmax(y_pred, -1, output_type=tf.int32), _words(y_true, y_pred)), y_pred.dtype
            ),
            name=name, dtype=dtype,
        )

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


@_keras.utils.register_keras_serializable(package="qrnn_tfq")
class TargetProbability(_keras.metrics.MeanMetricWrapper):
    """Mean `p_i(target)`: the expected accuracy of one sampled word at a scored step."""

    def __init__(self, name: str = "target_probability", dtype: Any = None) -> None:
        super().__init__(lambda y_true, y_pred: target_probability(y_pred, _words(y_true, y_pred)), name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


@_keras.utils.register_keras_serializable(package="qrnn_tfq")
class MinWordProbability(_keras.metrics.Metric):
    """Smallest word probability `p_i(target)` over all steps seen (the paper's `p_min`).

    The word probability is the probability of the in/out word a step measures, here the
    target that teacher forcing postselects (SPEC section 3 step 7). It is NOT the
    hardware success probability: a chip must also pass every neuron ancilla's
    postselection (the ancilla success probability, SPEC section 2), which is far smaller.
    Use it as an unweighted metric: every step is postselected, scored or not.
    """

    def __init__(self, name: str = "min_word_probability", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.smallest = self.add_weight(name="smallest", initializer="ones")

    def update_state(self, y_true: tf.Tensor, y_pred: tf.Tensor, sample_weight: Any = None) -> None:
        value = tf.cast(tf.reduce_min(target_probability(y_pred, _words(y_true, y_pred))), self.dtype)
        self.smallest.assign(tf.minimum(self.smallest, value))

    def result(self) -> tf.Tensor:
        return tf.identity(self.smallest)

    def reset_state(self) -> None:
        self.smallest.assign(1.0)


@_keras.utils.register_keras_serializable(package="qrnn_tfq")
class MinPostselectionProbability(MinWordProbability):
    """Old name of `MinWordProbability`, kept so older code and `.keras` files load.

    It reports the word probability (the measured in/out word's), not the ancilla
    success probability a chip must pass; prefer `MinWordProbability`.
    """

    def __init__(self, name: str = "min_postselection", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
