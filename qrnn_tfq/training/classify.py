"""Classification read out of a QRNN's label steps (SPEC sections 4 and 5, MNIST).

A classification task ends with `n` scored steps whose targets are the label words: the
class index in `n * I` bits, most significant first, left-padded with zeros, so that the
label words read as one binary number *are* the class index. Over those steps a trained
QRNN defines a joint distribution of the `2^(n*I)` possible label-word sequences
("label codes"): at the first label step the word distribution `p(w_1)`; the recurrence
then measures `w_1`, and the next step gives `p(w_2 | w_1)`, and so on.

`label_code_distribution` computes that joint distribution exactly: one teacher-forced
run over the steps before the labels (identical for every code), then, from its final
state, every code's label steps teacher-forced onto the code, batched, and the product
of the probabilities of the code's words,

    p(code) = p(w_1) * p(w_2 | w_1) * ... * p(w_n | w_1 .. w_{n-1}).

For one label word (two classes with I = 2) this is simply the last step's word
distribution. The coherent recurrence (SPEC section 8) measures nothing, so its label
steps are not conditioned on each other: `p(code)` is the product of the label steps'
read-out distributions `p_t(w_t)`, from one run over the whole sequence (the only form
the TFQ engine runs: it starts every circuit from |0...0>).

The argmax over the valid classes (codes below the number of classes) is the model's
deterministic prediction; `sampled_label_codes` is the paper's metric, a run that samples
every label word from the recurrence. The inputs of the label steps must not depend on
the label (the MNIST sequences read pixels or blank words there), so that the runs for
the different codes differ only in their targets.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import tensorflow as tf

from qrnn_tfq.training.models import QRNNSequenceModel

Batch = Mapping[str, Any]  # {"inputs": (B, T, I), "targets": (B, T, I), "scored": (B, T)}


def label_steps(scored: Any) -> int:
    """The number `n` of label steps: the scored steps, which must be the same suffix of every row.

    Raises:
        ValueError: `scored` is not (B, T), no step is scored, the rows differ, or the
            scored steps are not the last ones.
    """
    scored = np.asarray(scored, dtype=bool)
    if scored.ndim != 2 or scored.shape[0] == 0:
        raise ValueError(f"`scored` must have a non-empty shape (B, T), got {scored.shape}.")
    if not (scored == scored[:1]).all():
        raise ValueError("`scored` must mark the same steps in every sequence (the label steps).")
    count = int(scored[0].sum())
    if count == 0 or not scored[0, scored.shape[1] - count :].all():
        raise ValueError(
            f"`scored` must mark a non-empty suffix of the steps (the label steps), got {scored[0].astype(int).tolist()}."
        )
    return count


def code_words(num_steps: int, io_lanes: int) -> np.ndarray:
    """Every label code as its words: (2^(n*I), n) int32, code c's word k = bits k*I .. k*I+I-1 of c."""
    codes = np.arange(2 ** (num_steps * io_lanes))
    shifts = io_lanes * np.arange(num_steps - 1, -1, -1)  # the first word is the most significant
    return ((codes[:, None] >> shifts) & (2**io_lanes - 1)).astype(np.int32)


def code_bits(num_steps: int, io_lanes: int) -> np.ndarray:
    """Every label code as the bits of its words: (2^(n*I), n, I) int32, the words of `code_words`."""
    width = num_steps * io_lanes
    codes = np.arange(2**width)
    bits = (codes[:, None] >> np.arange(width - 1, -1, -1)) & 1  # (C, n*I), the most significant bit first
    return bits.reshape(-1, num_steps, io_lanes).astype(np.int32)


def codes_of_words(words: Any, io_lanes: int) -> np.ndarray:
    """Inverse of `code_words`: (B, n) word indices -> (B,) int64 label codes."""
    words = np.asarray(words, dtype=np.int64)
    shifts = io_lanes * np.arange(words.shape[1] - 1, -1, -1)
    return (words << shifts).sum(axis=1)


def label_code_distribution(model: QRNNSequenceModel, batch: Batch) -> np.ndarray:
    """The exact joint distribution of the label words (see the module docstring).

    Args:
        model: the trained QRNN.
        batch: bits {"inputs", "targets"} (B, T, I) and "scored" (B, T); the scored steps
            are the label steps, a suffix shared by all rows (`label_steps`).

    Returns:
        float64 (B, 2^(n*I)): row b, column c is the probability that the recurrence
        emits code c's words at the label steps; each row sums to 1 (up to rounding).
    """
    layer = model.layer
    cfg = layer.qrnn_config
    num_labels = label_steps(batch["scored"])
    inputs, targets = tf.convert_to_tensor(batch["inputs"]), tf.convert_to_tensor(batch["targets"])  # (B, T, I)
    size, steps = int(inputs.shape[0]), int(inputs.shape[1])
    first = steps - num_labels
    seed = tf.zeros([2], tf.int32)  # teacher forcing samples nothing
    codes = code_words(num_labels, cfg.io_lanes)  # (C, n)
    if cfg.recurrence == "coherent":  # no measurement: the label steps' read-outs of one run
        out = layer.run_sequences(dict(batch), teacher_forcing=True, seed=seed)
        read = out.probabilities.numpy()[:, first:].astype(np.float64)  # (B, n, 2^I)
        return np.stack([read[:, np.arange(num_labels), code].prod(axis=1) for code in codes], axis=1)  # (B, C)
    state = None
    if first > 0:  # the steps before the labels: every one postselected onto its target
        prefix = {"inputs": inputs[:, :first], "targets": targets[:, :first]}
        state = layer.run_sequences(prefix, teacher_forcing=True, seed=seed).final_state  # (B, 2^W)
    count = codes.shape[0]
    labels = {
        "inputs": tf.repeat(inputs[:, first:], count, axis=0),  # (B*C, n, I): row b*C + c
        "targets": tf.tile(tf.constant(code_bits(num_labels, cfg.io_lanes)), [size, 1, 1]),  # (B*C, n, I)
    }
    if state is not None:
        state = tf.repeat(state, count, axis=0)  # (B*C, 2^W)
    out = layer.run_sequences(labels, teacher_forcing=True, seed=seed, initial_state=state)
    label_words = tf.tile(tf.constant(codes), [size, 1])  # (B*C, n)
    chosen = tf.gather(out.probabilities, label_words, axis=2, batch_dims=2).numpy().astype(np.float64)  # (B*C, n)
    chosen = np.where(np.isfinite(chosen), chosen, 0.0)  # a word of probability 0 cannot be renormalised onto
    return chosen.prod(axis=1).reshape(size, count)


def sampled_label_codes(model: QRNNSequenceModel, batch: Batch, seed: Any) -> np.ndarray:
    """The label code of a run that samples every label word (the paper's metric), seeded.

    Args:
        model: the trained QRNN.
        batch: as for `label_code_distribution`.
        seed: a (2,) integer seed of the stateless sampling.

    Returns:
        int64 (B,) codes; a code >= the number of classes is a wrong (invalid) answer.
    """
    num_labels = label_steps(batch["scored"])
    _, measured = model.measure(batch, "sample", tf.constant(np.asarray(seed), tf.int32))
    return codes_of_words(measured.numpy()[:, -num_labels:], model.io_lanes)
