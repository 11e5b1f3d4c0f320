"""Optimizers of the paper's training runs (SPEC section 4), as tf-keras optimizers.

The paper trained with PyTorch's AdamW (weight decay 0, i.e. Adam), RMSprop or SGD, and
clipped the global gradient norm at 0.5 before every step. The tf-keras optimizers here
use PyTorch's default constants (Adam and RMSprop `epsilon=1e-8`, RMSprop `rho=0.99`)
and `global_clipnorm`, which clips the gradients of all weights together as
`torch.nn.utils.clip_grad_norm_` does. L-BFGS (used once in the paper, for MNIST 3 vs 6)
is not a tf-keras optimizer: it is a `BatchOptimizer`, an object that takes a whole step
on a batch itself from the model's loss and gradients, which `SequenceTaskModel.compile`
takes in place of a tf-keras optimizer: `qrnn_tfq.training.minibatch_lbfgs.MinibatchLbfgs`
(as the paper's code ran it) or `qrnn_tfq.training.lbfgs.Lbfgs` (full-batch).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Protocol, Sequence, runtime_checkable

import tensorflow as tf

OPTIMIZERS = ("adam", "sgd", "rmsprop")
PAPER_CLIP_NORM = 0.5
TORCH_EPSILON = 1e-8  # torch.optim.AdamW / RMSprop default `eps`
TORCH_RMSPROP_RHO = 0.99  # torch.optim.RMSprop default `alpha`


# The model's objective on a batch: (loss, gradients in the order of the weights, smallest target probability).
Objective = Callable[[Mapping[str, tf.Tensor]], tuple[tf.Tensor, list[tf.Tensor], tf.Tensor]]


@runtime_checkable
class BatchOptimizer(Protocol):
    """An optimizer that takes each training step on its batch itself, evaluating the loss
    and gradients as often as it needs (the L-BFGS variants). Its bookkeeping may be Python
    and NumPy: `SequenceTaskModel` runs its train step eagerly, on one replica."""

    @property
    def variables(self) -> list[tf.Variable]:
        """The optimizer's state, in a fixed order (what checkpoints store)."""

    @property
    def learning_rate_scale(self) -> tf.Variable | None:
        """The variable that scales the step size (a rollback lowers it), or None."""

    def build(self, var_list: Sequence[tf.Variable]) -> None:
        """Creates the state for these weights (once)."""

    def minimize_batch(self, objective: Objective, var_list: Sequence[tf.Variable],
                       batch: Mapping[str, tf.Tensor]) -> tuple[Any, Any]:
        """One training step on `batch`; returns (the batch's loss before the step, the
        smallest target probability of the step's evaluations)."""


def is_batch_optimizer(value: object) -> bool:
    """Whether `value` is a `BatchOptimizer` (it has `minimize_batch`; `isinstance` would read
    the properties of an unbuilt one)."""
    return callable(getattr(type(value), "minimize_batch", None))


def _check_positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"`{name}` must be a number, got {value!r} of type {type(value).__name__}.")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"`{name}` must be a finite number > 0, got {value!r}.")
    return float(value)


def make_optimizer(
    name: str,
    learning_rate: float | tf.keras.optimizers.schedules.LearningRateSchedule,
    clip_norm: float | None = PAPER_CLIP_NORM,
) -> tf.keras.optimizers.Optimizer:
    """A tf-keras optimizer as the paper's code configured it.

    Args:
        name: "adam" (the paper's AdamW with weight decay 0), "sgd" or "rmsprop".
        learning_rate: step size (the paper used 0.005 to 0.03), or a tf-keras
            `LearningRateSchedule` (such as a `ScaledSchedule`). Give a schedule here rather
            than setting `optimizer.learning_rate` later: only then does the optimizer make
            its learning-rate variable at once, which `MultiWorkerMirroredStrategy` needs
            (a variable made inside the first training step fails there).
        clip_norm: the global gradient norm is clipped to this before each step
            (0.5 in the paper); None turns clipping off.

    Returns:
        A fresh, unbuilt optimizer.

    Raises:
        ValueError: unknown `name` ("lbfgs" included: see `qrnn_tfq.training.lbfgs`), or a
            learning rate or clip norm that is not a finite number > 0.
        TypeError: `learning_rate` or `clip_norm` is not a number.
    """
    if name == "lbfgs":
        raise ValueError(
            "`name` 'lbfgs' is not a tf-keras optimizer: compile the SequenceTaskModel with qrnn_tfq.training.Lbfgs "
            f"(full-batch L-BFGS) or MinibatchLbfgs, or use one of {list(OPTIMIZERS)}."
        )
    if name not in OPTIMIZERS:
        raise ValueError(f"`name` must be one of {list(OPTIMIZERS)}, got {name!r}.")
    if not isinstance(learning_rate, tf.keras.optimizers.schedules.LearningRateSchedule):
        learning_rate = _check_positive("learning_rate", learning_rate)
    if clip_norm is not None:
        clip_norm = _check_positive("clip_norm", clip_norm)
    optimizers = tf.keras.optimizers
    if name == "adam":
        return optimizers.Adam(learning_rate, epsilon=TORCH_EPSILON, global_clipnorm=clip_norm)
    if name == "rmsprop":
        return optimizers.RMSprop(learning_rate, rho=TORCH_RMSPROP_RHO, epsilon=TORCH_EPSILON, global_clipnorm=clip_norm)
    return optimizers.SGD(learning_rate, global_clipnorm=clip_norm)
