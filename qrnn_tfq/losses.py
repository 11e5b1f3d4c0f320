"""Losses over the scored steps of a sequence (SPEC section 4).

`word_nll` is the proper loss, `-log p_i(target)`. `paper_shifted_loss` is what the
paper's code optimised (the probabilities fed as logits to a cross-entropy, minus its
reachable minimum `log(2^I - 1 + e) - 1`); the paper's stopping thresholds refer to it.
Both average over scored steps only. The Keras classes take target bits as `y_true`, the
layer's distributions as `y_pred` and the scored mask as `sample_weight`.
"""

from __future__ import annotations

import math
from typing import Any

import tensorflow as tf

from qrnn_tfq.engine.state_ops import tiny
from qrnn_tfq.layers.words import bits_to_words

_keras = tf.keras


def _masked_mean(values: tf.Tensor, scored: tf.Tensor | None) -> tf.Tensor:
    if scored is None:
        return tf.reduce_mean(values)
    weights = tf.cast(scored, values.dtype)
    weights = tf.reshape(weights, tf.shape(values))
    return tf.reduce_sum(values * weights) / tf.maximum(tf.reduce_sum(weights), 1.0)


def target_probability(probabilities: tf.Tensor, target_words: tf.Tensor) -> tf.Tensor:
    """`p_i(target_i)`: (B, T, 2^I), (B, T) -> (B, T)."""
    one_hot = tf.one_hot(target_words, tf.shape(probabilities)[-1], dtype=probabilities.dtype)
    return tf.reduce_sum(probabilities * one_hot, axis=-1)


def word_nll_per_step(probabilities: tf.Tensor, target_words: tf.Tensor) -> tf.Tensor:
    """`-log p_i(target)` per step, with `p` floored at the dtype's tiny (finite, never NaN)."""
    floor = tiny(probabilities.dtype)
    return -tf.math.log(tf.maximum(target_probability(probabilities, target_words), floor))


def paper_shift(num_words: int) -> float:
    """Minimum of the paper's loss, `log(2^I - 1 + e) - 1`."""
    return math.log(num_words - 1 + math.e) - 1.0


def paper_shifted_per_step(probabilities: tf.Tensor, target_words: tf.Tensor) -> tf.Tensor:
    """The paper's loss per step: cross-entropy with `p` as logits, minus its minimum."""
    cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=target_words, logits=probabilities)
    return cross_entropy - paper_shift(probabilities.shape[-1])


def word_nll(probabilities: tf.Tensor, target_words: tf.Tensor, scored: tf.Tensor | None = None) -> tf.Tensor:
    """Mean `-log p_i(target)` over scored steps (the default loss)."""
    return _masked_mean(word_nll_per_step(probabilities, target_words), scored)


def paper_shifted_loss(probabilities: tf.Tensor, target_words: tf.Tensor, scored: tf.Tensor | None = None) -> tf.Tensor:
    """Mean of the paper's shifted loss over scored steps (for comparison with its thresholds)."""
    return _masked_mean(paper_shifted_per_step(probabilities, target_words), scored)


LOSSES = {"nll": word_nll, "paper": paper_shifted_loss}


class _ScoredStepLoss(_keras.losses.Loss):
    """A per-step loss whose `sample_weight` (the scored mask) gives the mean over scored steps."""

    _per_step: Any = None

    def __init__(self, name: str | None = None, **kwargs: Any) -> None:
        kwargs.pop("reduction", None)
        super().__init__(name=name or self.__class__.__name__, **kwargs)

    def call(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        width = int(math.log2(y_pred.shape[-1]))
        return type(self)._per_step(y_pred, bits_to_words(y_true, width, "targets"))

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> tf.Tensor:
        return _masked_mean(self.call(y_true, y_pred), sample_weight)


@_keras.utils.register_keras_serializable(package="qrnn_tfq")
class WordCrossEntropy(_ScoredStepLoss):
    """Keras form of `word_nll`: `y_true` target bits (B, T, I), `sample_weight` the scored mask."""

    _per_step = staticmethod(word_nll_per_step)


@_keras.utils.register_keras_serializable(package="qrnn_tfq")
class PaperShiftedLoss(_ScoredStepLoss):
    """Keras form of `paper_shifted_loss`."""

    _per_step = staticmethod(paper_shifted_per_step)
