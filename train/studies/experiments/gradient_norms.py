"""The gradient study's measurement: how much of the loss gradient comes from the start of a sequence.

Why here and not in `qrnn_tfq` (where it was `qrnn_tfq.gradients` until issue 18): it is
the measurement of one study (`python -m train.studies.experiments gradients`), not
something a user of the layers calls; it only reads models the library builds, through
their public API (`QRNN.run_sequences(initial_state=...)`, `RecurrentBaseline.run_segment`),
so it needs nothing inside the library, and the library keeps to layers, engine,
circuits and training. It sits inside the `experiments` study that uses it, since studies
do not import each other (`tests/train/test_layout.py`).

The paper claims the QRNN learns long-range dependencies (DNA, SPEC section 5) but did
not measure whether its gradients vanish. `measure_gradients` does, for any model whose
recurrence can be continued from a given state: the QRNN (through its layer's
`initial_state`, which the gradient flows through) and the classical baselines
(`RecurrentBaseline.run_segment`).

Definitions. A batch of `T` steps is split after step `k = split_step(T, fraction)`
(`max(1, floor(fraction * T))`, the first 10% by default). `s_k` is the recurrent state
after step `k`: the QRNN's workspace state vector (B, 2^W), the RNN's `h`, the LSTM's
`(h, c)`; `p_1..p_k` are the word distributions of those steps and `L` is the training
loss (teacher-forced, mean over the scored steps). The chain rule splits the gradient
with respect to all trainable weights `theta` into the part that flows through steps
`k+1..T` with `s_k` and `p_1..p_k` held fixed, and the rest:

    early = (dL/ds_k) (ds_k/dtheta) + (dL/dp_{1..k}) (dp_{1..k}/dtheta)

`early` is what the weights learn from the first `k` steps: for a long-range task it
carries the credit for what happened early in the sequence (the DNA mark lies in the
first half), and it is what vanishes when gradients vanish. It is computed directly as a
vector-Jacobian product, not as a difference of two gradients, which would cancel
catastrophically once it is small. Recorded per batch:

- `gradient_norm`: `||dL/dtheta||`, all weights together (the read-out included).
- `early_gradient_norm`: `||early||`; `early_fraction` is the ratio of the two (it may
  exceed 1: the early and the late part can point in opposite directions).
- `state_gradient_norm`: `sum_b ||dL/ds_{k,b}||`, the norm of the loss gradient with
  respect to each sample's state after step `k`, summed over the batch (for a mean loss
  with one scored step per sample, as DNA's, the mean per-sample `||dl_b/ds_{k,b}||`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Mapping, Sequence

import tensorflow as tf

from qrnn_tfq.baselines import RecurrentBaseline
from qrnn_tfq.layers.words import bits_to_words
from qrnn_tfq.losses import LOSSES
from qrnn_tfq.training.models import QRNNSequenceModel

DEFAULT_FRACTION = 0.1
_KEYS = ("inputs", "targets", "scored")
# A segment runner: (batch slice, state or None for the model's initial state) -> (probabilities, state parts).
SegmentRunner = Callable[[Mapping[str, tf.Tensor], "Sequence[tf.Tensor] | None"], "tuple[tf.Tensor, list[tf.Tensor]]"]


@dataclasses.dataclass(frozen=True)
class GradientMeasurement:
    """The gradient study's numbers for one batch (see the module docstring).

    Attributes:
        steps: `T`, the steps per sample.
        split_step: `k`, the steps counted as the start of the sequence.
        loss: the training loss `L` at the current weights.
        gradient_norm: `||dL/dtheta||` over all trainable weights.
        early_gradient_norm: norm of the part of `dL/dtheta` that flows through steps 1..k.
        state_gradient_norm: `sum_b ||dL/ds_{k,b}||`.
        early_gradient: the part of `dL/dtheta` through steps 1..k itself, one array per
            trainable weight (float64).
    """

    steps: int
    split_step: int
    loss: float
    gradient_norm: float
    early_gradient_norm: float
    state_gradient_norm: float
    early_gradient: tuple[Any, ...] = ()

    @property
    def early_fraction(self) -> float:
        """`early_gradient_norm / gradient_norm` (NaN for a zero gradient)."""
        return self.early_gradient_norm / self.gradient_norm if self.gradient_norm > 0 else math.nan


def split_step(steps: int, fraction: float = DEFAULT_FRACTION) -> int:
    """`k = max(1, floor(fraction * steps))`, the steps counted as the start.

    Raises:
        ValueError: fewer than 2 steps (nothing to split), or `fraction` not in (0, 1).
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ValueError(f"`steps` must be an int >= 2 to split a sequence, got {steps!r}.")
    if not 0 < fraction < 1:
        raise ValueError(f"`fraction` must lie strictly between 0 and 1, got {fraction!r}.")
    return min(steps - 1, max(1, math.floor(fraction * steps)))


def _qrnn_runner(model: QRNNSequenceModel) -> SegmentRunner:
    layer = model.layer
    no_seed = tf.zeros([2], tf.int32)  # teacher forcing samples nothing: leave the layer's generator alone

    def run(batch: Mapping[str, tf.Tensor], state: Sequence[tf.Tensor] | None) -> tuple[tf.Tensor, list[tf.Tensor]]:
        out = layer.run_sequences(dict(batch), teacher_forcing=True, initial_state=state, seed=no_seed)
        return out.probabilities, [out.final_state]  # (B, T, 2^I), [(B, 2^W)]

    return run


def segment_runner(model: Any) -> SegmentRunner:
    """How to run `model` over part of a batch from a given state.

    Raises:
        TypeError: `model` is neither a `QRNNSequenceModel` nor a `RecurrentBaseline`.
    """
    if isinstance(model, QRNNSequenceModel):
        return _qrnn_runner(model)
    if isinstance(model, RecurrentBaseline):
        return model.run_segment
    raise TypeError(
        f"`model` must be a QRNNSequenceModel or a RecurrentBaseline (a model that continues from a state), "
        f"got {type(model).__name__}."
    )


def _as_tensors(batch: Any) -> dict[str, tf.Tensor]:
    if isinstance(batch, Mapping):
        missing = [key for key in _KEYS if key not in batch]
        if missing:
            raise ValueError(f"`batch` must have the keys {list(_KEYS)}, missing {missing}.")
        return {key: tf.convert_to_tensor(batch[key]) for key in _KEYS}
    if not all(hasattr(batch, key) for key in _KEYS):
        raise TypeError(f"`batch` must be a SequenceBatch or a dict with {list(_KEYS)}, got {type(batch).__name__}.")
    return {key: tf.convert_to_tensor(getattr(batch, key)) for key in _KEYS}


def _norm(tensors: Sequence[tf.Tensor | None]) -> float:
    present = [tf.cast(t, tf.float64) for t in tensors if t is not None]
    return float(tf.linalg.global_norm(present)) if present else 0.0


def measure_gradients(
    model: Any, batch: Any, loss: str = "paper", fraction: float = DEFAULT_FRACTION
) -> GradientMeasurement:
    """Loss gradient norms of `model` on `batch`, in all and from the first `fraction` of steps.

    Args:
        model: a `QRNNSequenceModel` or `RecurrentBaseline`.
        batch: a `qrnn_tfq.batch.SequenceBatch` or a dict of its arrays; every scored
            step counts in `L`, wherever it lies.
        loss: "paper" (the shifted loss) or "nll", as the trainer's `TrainerConfig.loss`.
        fraction: the share of the steps counted as the start (0.1: the first 10%).

    Returns:
        A `GradientMeasurement`.

    Raises:
        ValueError: an unknown loss, a batch of fewer than 2 steps or a bad fraction.
        TypeError: an unsupported model or batch.
    """
    if loss not in LOSSES:
        raise ValueError(f"`loss` must be one of {sorted(LOSSES)}, got {loss!r}.")
    run = segment_runner(model)
    tensors = _as_tensors(batch)
    steps, width = int(tensors["inputs"].shape[1]), int(tensors["inputs"].shape[2])
    k = split_step(steps, fraction)
    first = {key: value[:, :k] for key, value in tensors.items()}
    rest = {key: value[:, k:] for key, value in tensors.items()}
    target_words = bits_to_words(tensors["targets"], width, "targets")  # (B, T)
    weights = list(model.trainable_weights)
    zero = tf.UnconnectedGradients.ZERO
    with tf.GradientTape(persistent=True) as tape:
        early_probabilities, state = run(first, None)  # (B, k, 2^I), parts (B, n)
        late_probabilities, _ = run(rest, state)  # (B, T-k, 2^I)
        probabilities = tf.concat([early_probabilities, late_probabilities], axis=1)  # (B, T, 2^I)
        value = LOSSES[loss](probabilities, target_words, tensors["scored"])
    total = tape.gradient(value, weights, unconnected_gradients=zero)
    d_state = tape.gradient(value, state, unconnected_gradients=zero)  # parts (B, n)
    d_early_probabilities = tape.gradient(value, early_probabilities, unconnected_gradients=zero)
    early = tape.gradient(
        [early_probabilities, *state], weights,
        output_gradients=[d_early_probabilities, *d_state], unconnected_gradients=zero,
    )
    del tape
    per_sample = tf.sqrt(tf.add_n([tf.reduce_sum(tf.cast(d, tf.float64) ** 2, axis=-1) for d in d_state]))  # (B,)
    return GradientMeasurement(
        steps=steps,
        split_step=k,
        loss=float(value),
        gradient_norm=_norm(total),
        early_gradient_norm=_norm(early),
        state_gradient_norm=float(tf.reduce_sum(per_sample)),
        early_gradient=tuple(tf.cast(g, tf.float64).numpy() for g in early),
    )
