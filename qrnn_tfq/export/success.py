"""How often a chip's shot of this model survives its postselections, from the engine.

A step of a hardware shot succeeds when every neuron's ancillas read 0 (the engine's
`SequenceOutputs.ancilla_success`, the product over the step's neurons) and, at a step
that is not scored, when the measured word is the target (`SequenceOutputs.postselection`,
the word's probability; training postselects it, SPEC section 4). At a scored step the word
is read, not postselected. A sequence succeeds when every step does, so its success
probability is the product over its steps. `success_probabilities` runs the engine (the
Keras layer, teacher-forced) on a batch of the model's own data and returns these numbers.

This is the one module of `qrnn_tfq.export` that imports TensorFlow (through `qrnn_tfq`),
and only when a function is called.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.export.cells import CellWeights


@dataclasses.dataclass(frozen=True, eq=False)
class SuccessEstimate:
    """Per-step success probabilities of a batch of sequences (all arrays (B, T) float64).

    Attributes:
        rounds: amplification rounds of the engine run (0: ideal postselection).
        word: the target word's probability at unscored steps, 1 at scored steps.
        ancilla: the probability that every neuron ancilla of the step reads 0.
        probabilities: the teacher-forced word distributions (B, T, 2^I).
        scored: (B, T) bool, the scored steps.
    """

    rounds: int
    word: np.ndarray
    ancilla: np.ndarray
    probabilities: np.ndarray
    scored: np.ndarray

    @property
    def step(self) -> np.ndarray:
        """(B, T): a step's success probability, word times ancillas."""
        return self.word * self.ancilla

    @property
    def log10_sequence(self) -> np.ndarray:
        """(B,): log10 of a whole sequence's success probability, the sum over its steps
        (the product itself underflows float64: an MNIST sequence is near 1e-1000)."""
        return np.sum(np.log10(np.maximum(self.step, np.finfo(np.float64).tiny)), axis=1)

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures: per step (mean, min) and per sequence (log10: mean, median, min)."""
        log10 = self.log10_sequence
        return {
            "amplification_rounds": self.rounds,
            "sequences": int(log10.size),
            "steps_per_sequence": int(self.step.shape[1]),
            "step_success_mean": float(self.step.mean()),
            "step_success_min": float(self.step.min()),
            "ancilla_success_mean": float(self.ancilla.mean()),
            "ancilla_success_min": float(self.ancilla.min()),
            "word_postselection_mean": float(self.word[~self.scored].mean()) if (~self.scored).any() else 1.0,
            "sequence_success_log10_mean": float(log10.mean()),
            "sequence_success_log10_median": float(np.median(log10)),
            "sequence_success_log10_min": float(log10.min()),
            # shots per accepted sequence = 1 / success: for the median sequence, as log10
            "shots_per_accepted_sequence_log10_median": float(-np.median(log10)),
        }


def make_layer(config: QRNNConfig, weights: CellWeights, rounds: int = 0) -> Any:
    """A built `qrnn_tfq.QRNN` of `config` with `rounds` amplification rounds and `weights`
    (float64 compute, so small probabilities survive)."""
    import qrnn_tfq  # pylint: disable=import-outside-toplevel  (imports TensorFlow)

    weights.check(config)
    bound = config.amplification_bound if rounds else None
    layer = qrnn_tfq.QRNN(dataclasses.replace(config, amplification=rounds, amplification_bound=bound), dtype="float64")
    layer.build(None)
    for variable, value in zip(layer.trainable_weights, (weights.theta, weights.phi, weights.work_angles)):
        variable.assign(np.asarray(value, dtype=np.float64))
    return layer


def success_probabilities(
    config: QRNNConfig, weights: CellWeights, batch: Mapping[str, np.ndarray], rounds: int = 0
) -> SuccessEstimate:
    """Runs the engine teacher-forced on `batch` and returns the success probabilities.

    Args:
        config: the model's configuration.
        weights: its trained values.
        batch: {"inputs": (B, T, I), "targets": (B, T, I), "scored": (B, T)} bits/flags.
        rounds: amplification rounds (0: ideal postselection).

    Raises:
        ValueError: a batch without the three arrays, or an engine without
            `ancilla_success`.
    """
    missing = sorted({"inputs", "targets", "scored"} - set(batch))
    if missing:
        raise ValueError(f"`batch` must hold 'inputs', 'targets' and 'scored', it lacks {missing}.")
    layer = make_layer(config, weights, rounds)
    arrays = {key: np.asarray(batch[key]) for key in ("inputs", "targets", "scored")}
    out = layer.run_sequences(arrays, teacher_forcing=True)
    if not hasattr(out, "ancilla_success"):
        raise ValueError("The engine's SequenceOutputs has no `ancilla_success`; update qrnn_tfq.engine.")
    scored = arrays["scored"].astype(bool)
    word = np.where(scored, 1.0, np.asarray(out.postselection, dtype=np.float64))
    ancilla = np.asarray(out.ancilla_success, dtype=np.float64)
    if not (np.all(np.isfinite(word)) and np.all(np.isfinite(ancilla))):
        raise ValueError("The engine returned non-finite success probabilities (NaN); the batch or model is bad.")
    return SuccessEstimate(rounds, word, ancilla, np.asarray(out.probabilities, dtype=np.float64), scored)

