"""Keras callbacks of a sequence-task run (SPEC section 4) for `SequenceTaskModel.fit`.

A run trains one step per Keras epoch (`steps_per_epoch=1`, the epoch index is the step),
so that validation every `validate_every` steps is Keras' `validation_freq`, a resumed run
is `initial_epoch`, and TensorBoard and early stopping see one row per step.

- `RunRecord`: the history (one `StepRecord` per step), the best validation, the first step
  that reached the target loss, the smallest postselection probability; stops on a
  non-finite training loss or once a validation loss reaches `stop_loss`.
- `EarlyStopping`: Keras' early stopping on `val_loss`, which a resumed run continues
  (the validations since the best are counted from the restored history).
- `Rollback`: a validation loss `factor` times the best puts back the best validation's
  weights and optimizer state and lowers the learning rate.
- `RunCheckpoint`: atomic `latest.npz` after every validation and at the end, `best.npz`
  when the validation loss improves; only the chief writes under `tf.distribute`.
- `OnStep`: calls a function with every finished `StepRecord` (progress bars).

Library code: diagnostics go to `logging`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from typing import Any, Callable, Sequence

import numpy as np
import tensorflow as tf

from qrnn_tfq.training.checkpoint import assign_arrays
from qrnn_tfq.training.records import StepRecord, TrainerConfig

logger = logging.getLogger(__name__)

BEST_CHECKPOINT = "best.npz"
LATEST_CHECKPOINT = "latest.npz"
_VALIDATION_LOGS = {"val_loss": "validation_loss", "val_argmax_accuracy": "validation_argmax_accuracy",
                    "val_sampled_accuracy": "validation_sampled_accuracy"}


def validation_steps(first: int, max_steps: int, every: int) -> list[int]:
    """The steps (1-based, Keras' `validation_freq` epochs) after `first` that validate:
    every `every`-th and the last."""
    return sorted({s for s in range(every, max_steps + 1, every) if s > first} | ({max_steps} if max_steps > first else set()))


class RunRecord(tf.keras.callbacks.Callback):
    """The record of a run (see the module docstring); restored from a checkpoint on resume."""

    def __init__(self, config: TrainerConfig) -> None:
        super().__init__()
        self.config = config
        self.history: list[StepRecord] = []
        self.best_loss: float | None = None
        self.best_step: int | None = None
        self.steps_to_target: int | None = None
        self.min_postselection = 1.0
        self.rollbacks: list[int] = []
        self.stopped: str | None = None
        self.improved = False  # whether the latest validation lowered the best loss

    @property
    def last_validation(self) -> StepRecord | None:
        return next((row for row in reversed(self.history) if row.validated), None)

    def stop_reached(self) -> bool:
        last, stop = self.last_validation, self.config.stop_loss
        return stop is not None and last is not None and last.validation_loss <= stop

    def validations_since_best(self) -> int:
        return sum(1 for row in self.history if row.validated and (self.best_step is None or row.step > self.best_step))

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        step = int(self.model.steps_taken.numpy())
        loss, batch_min = float(logs["loss"]), float(logs["min_postselection"])
        if math.isfinite(batch_min):
            self.min_postselection = min(self.min_postselection, batch_min)
        self.history.append(StepRecord(step, loss, batch_min, self.min_postselection))
        self.improved = False
        if not math.isfinite(loss):
            logger.warning("step %d: the training loss is %s; stopping.", step, loss)
            self.stopped = "non_finite_loss"
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs if logs is not None else {}
        if "val_loss" not in logs or not self.history:
            return
        row = self.history[-1]
        if not math.isfinite(row.train_loss):  # no validation after a non-finite step (later callbacks see none)
            for key in _VALIDATION_LOGS:
                logs.pop(key, None)
            return
        row = dataclasses.replace(row, **{name: float(logs[key]) for key, name in _VALIDATION_LOGS.items()})
        self.history[-1] = row
        loss, target = row.validation_loss, self.config.target
        if self.steps_to_target is None and target is not None and loss <= target:
            self.steps_to_target = row.step
        self.improved = math.isfinite(loss) and (self.best_loss is None or loss < self.best_loss)
        if self.improved:
            self.best_loss, self.best_step = loss, row.step
        logger.info(
            "step %d: train loss %.4g, validation loss %.4g, argmax accuracy %.3f, sampled accuracy %.3f, p_min %.3g",
            row.step, row.train_loss, loss, row.validation_argmax_accuracy, row.validation_sampled_accuracy,
            row.min_postselection,
        )
        if self.stop_reached():
            self.stopped = "stop_loss"
            self.model.stop_training = True


class EarlyStopping(tf.keras.callbacks.EarlyStopping):
    """Keras' `EarlyStopping` on `val_loss` that continues a resumed run's count.

    Steps without a validation are skipped silently (Keras would warn at every step).
    """

    def __init__(self, patience: int, record: RunRecord) -> None:
        super().__init__(monitor="val_loss", patience=patience, mode="min")
        self.record = record

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        super().on_train_begin(logs)
        if self.record.best_loss is not None:
            self.best = self.record.best_loss
        self.wait = self.record.validations_since_best()

    def get_monitor_value(self, logs: dict[str, Any] | None) -> float | None:
        return (logs or {}).get(self.monitor)


class Rollback(tf.keras.callbacks.Callback):
    """Back to the best validation's weights and optimizer state, with a lower learning rate,
    when a validation loss exceeds `factor` times the best (or is not finite).

    Args:
        factor, lr_factor: `TrainerConfig.rollback_factor` and `rollback_lr_factor`.
        lr_scale: the variable scaling the learning rate (`ScaledSchedule.scale`).
        record: the run's `RunRecord` (earlier in the callback list).
        optimizer_variables: the optimizer's variables, in checkpoint order.
    """

    def __init__(self, factor: float, lr_factor: float, lr_scale: tf.Variable, record: RunRecord,
                 optimizer_variables: Callable[[], list[tf.Variable]]) -> None:
        super().__init__()
        self.factor, self.lr_factor, self.lr_scale = factor, lr_factor, lr_scale
        self.record, self.optimizer_variables = record, optimizer_variables
        self.best_arrays: tuple[list[np.ndarray], list[np.ndarray]] | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if "val_loss" not in (logs or {}):
            return
        record, loss = self.record, float(logs["val_loss"])
        if record.improved:
            self.best_arrays = ([w.numpy() for w in self.model.trainable_weights],
                                [v.numpy() for v in self.optimizer_variables()])
        elif self.best_arrays is not None and record.best_loss is not None and not loss <= self.factor * record.best_loss:
            weights, slots = self.best_arrays
            assign_arrays(list(self.model.trainable_weights), weights, "model weights", "the best validation")
            assign_arrays(self.optimizer_variables(), slots, "optimizer variables", "the best validation")
            self.lr_scale.assign(self.lr_scale * self.lr_factor)
            step = record.history[-1].step
            record.rollbacks.append(step)
            logger.warning(
                "step %d: validation loss %.4g > %g x the best %.4g (step %s); rolled back to the best weights, "
                "learning-rate scale now %.4g", step, loss, self.factor, record.best_loss, record.best_step,
                float(self.lr_scale.numpy()),
            )


class RunCheckpoint(tf.keras.callbacks.Callback):
    """Atomic `.npz` checkpoints of a run in `folder` (see the module docstring).

    Args:
        folder: where `latest.npz` and `best.npz` go.
        save: writes the run's checkpoint to a path (`Trainer.save`).
        record: the run's `RunRecord`.
        chief: whether this process writes (under `tf.distribute` only the chief does).
    """

    def __init__(self, folder: str, save: Callable[[str], None], record: RunRecord, chief: bool = True) -> None:
        super().__init__()
        self.folder, self.save, self.record, self.chief = folder, save, record, chief
        self.saved_at: int | None = None

    def _save(self, name: str) -> None:
        if self.chief:
            self.save(os.path.join(self.folder, name))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if "val_loss" not in (logs or {}):
            return
        if self.record.improved:
            self._save(BEST_CHECKPOINT)
        self._save(LATEST_CHECKPOINT)
        self.saved_at = self.record.history[-1].step

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.record.history and self.saved_at != self.record.history[-1].step:
            self._save(LATEST_CHECKPOINT)


class OnStep(tf.keras.callbacks.Callback):
    """Calls `function` with each step's finished `StepRecord` (after its validation)."""

    def __init__(self, function: Callable[[StepRecord], None], record: RunRecord) -> None:
        super().__init__()
        self.function, self.record = function, record

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.record.history:
            self.function(self.record.history[-1])


__all__: Sequence[str] = ("BEST_CHECKPOINT", "EarlyStopping", "LATEST_CHECKPOINT", "OnStep", "Rollback", "RunCheckpoint",
                          "RunRecord", "validation_steps")
