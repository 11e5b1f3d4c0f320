"""Keras callbacks of a sequence-task run (SPEC section 4) for `SequenceTaskModel.fit`.

A run trains one step per Keras epoch (`steps_per_epoch=1`, the epoch index is the step):
Keras validates only at the end of an epoch, so validation every `validate_every` steps
is its `validation_freq` (`fit_data.validation_steps`), TensorBoard and early stopping see one row
per step, and a resumed run starts at the epoch of its step.

- `RunRecord`: the history (one `StepRecord` per step), the best validation, the first step
  that reached the target loss, the smallest postselection probability; stops on a
  non-finite training loss or once a validation loss reaches `stop_loss`; makes `fit`
  continue at the model's step (none if the run is over); `result()` after `fit`.
- `EarlyStopping`: Keras' early stopping on `val_loss`, which a resumed run continues
  (the validations since the best are counted from the restored history).
- `Rollback`: a validation loss `factor` times the best puts back the best validation's
  weights and optimizer state and lowers the learning rate.
- `OnStep`: calls a function with every finished `StepRecord` (progress bars).

The checkpoints and the resume are `RunCheckpoint` and `ResumeRun`, in
`qrnn_tfq.training.run_files`, whose `run_callbacks` puts them all in the order they must
see each step:

    record = RunRecord(config)
    model.fit(**fit_arguments(config, model, sample_batch, validation_batch),
              callbacks=run_callbacks(record, folder="runs/x"))
    result = record.result()

Library code: diagnostics go to `logging`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from typing import Any, Callable, Sequence

import numpy as np
import tensorflow as tf

from qrnn_tfq.training.checkpoint import BEST_CHECKPOINT, Checkpoint, assign_arrays, check_arrays, load_checkpoint
from qrnn_tfq.training.records import StepRecord, TrainerConfig, TrainingResult, history_from_columns

logger = logging.getLogger(__name__)

_VALIDATION_LOGS = {"val_loss": "validation_loss", "val_argmax_accuracy": "validation_argmax_accuracy",
                    "val_sampled_accuracy": "validation_sampled_accuracy"}


class RunRecord(tf.keras.callbacks.Callback):
    """The record of a run (see the module docstring); `ResumeRun` restores it.

    Args:
        config: the run's settings (budget, stop and target losses, patience, ...).
    """

    def __init__(self, config: TrainerConfig) -> None:
        super().__init__()
        if not isinstance(config, TrainerConfig):
            raise TypeError(f"`config` must be a TrainerConfig, got {type(config).__name__}.")
        self.config = config
        self.history: list[StepRecord] = []
        self.best_loss: float | None = None
        self.best_step: int | None = None
        self.steps_to_target: int | None = None
        self.min_postselection = 1.0
        self.rollbacks: list[int] = []
        self.stopped: str | None = None
        self.improved = False  # whether the latest validation lowered the best loss
        self.wall_time_s = 0.0
        self._began = 0.0

    @property
    def last_validation(self) -> StepRecord | None:
        return next((row for row in reversed(self.history) if row.validated), None)

    def stop_reached(self) -> bool:
        last, stop = self.last_validation, self.config.stop_loss
        return stop is not None and last is not None and last.validation_loss <= stop

    def validations_since_best(self) -> int:
        return sum(1 for row in self.history if row.validated and (self.best_step is None or row.step > self.best_step))

    # ---- state ----------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps of the record beside its history and best loss (JSON values)."""
        return {"best_step": self.best_step, "steps_to_target": self.steps_to_target,
                "min_postselection": self.min_postselection, "rollbacks": list(self.rollbacks)}

    def restore(self, checkpoint: Checkpoint) -> None:
        """The record saved in `checkpoint` (its history checked before anything changes)."""
        history = history_from_columns(checkpoint.history, checkpoint.path)
        state = checkpoint.state
        self.history = history
        self.best_loss = checkpoint.best_validation_loss
        self.best_step = state.get("best_step")
        self.steps_to_target = state.get("steps_to_target")
        self.min_postselection = float(state.get("min_postselection", 1.0))
        self.rollbacks = [int(step) for step in state.get("rollbacks", [])]

    def result(self) -> TrainingResult:
        """The run's result after `fit`."""
        scale = self.model.learning_rate_scale
        return TrainingResult(
            steps=int(self.model.steps_taken.numpy()), steps_to_target=self.steps_to_target,
            target_loss=self.config.target, best_validation_loss=self.best_loss, best_step=self.best_step,
            last_validation=self.last_validation, min_postselection=self.min_postselection,
            stopped=self.stopped or "max_steps", wall_time_s=self.wall_time_s, history=tuple(self.history),
            rollbacks=tuple(self.rollbacks), lr_scale=1.0 if scale is None else float(scale.numpy()),
        )

    # ---- callbacks ------------------------------------------------------------------------

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._began = time.perf_counter()
        self.stopped = None
        if self.stop_reached():
            self.stopped = "stop_loss"
        elif self.config.patience is not None and self.validations_since_best() >= self.config.patience:
            self.stopped = "patience"
        step = int(self.model.steps_taken.numpy())
        over = self.stopped or step >= self.config.max_steps  # also a run of no steps (`fit` has >= 1 epoch)
        self.model.continue_fit_at(max(step, self.params.get("epochs", self.config.max_steps)) if over else step)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.wall_time_s = time.perf_counter() - self._began

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
    """Keras' `EarlyStopping` on `val_loss` that continues a resumed run's count and tells
    the record why it stopped. Steps without a validation are skipped silently (Keras would
    warn at every step)."""

    def __init__(self, patience: int, record: RunRecord) -> None:
        super().__init__(monitor="val_loss", patience=patience, mode="min")
        self.record = record

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        super().on_train_begin(logs)
        if self.record.best_loss is not None:
            self.best = self.record.best_loss
        self.wait = self.record.validations_since_best()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        super().on_epoch_end(epoch, logs)
        if self.stopped_epoch == epoch > 0 and self.record.stopped is None:
            self.record.stopped = "patience"

    def get_monitor_value(self, logs: dict[str, Any] | None) -> float | None:
        return (logs or {}).get(self.monitor)


class Rollback(tf.keras.callbacks.Callback):
    """Back to the best validation's weights and optimizer state, with a lower learning rate,
    when a validation loss exceeds `factor` times the best (or is not finite).

    The learning rate is the model's `learning_rate_scale` (a `ScaledSchedule`'s or
    `MinibatchLbfgs`'s). The best state is kept in memory from the validation that set it;
    a resumed run reads it from `folder`'s `best.npz`.

    Args:
        factor, lr_factor: `TrainerConfig.rollback_factor` and `rollback_lr_factor`.
        record: the run's `RunRecord` (earlier in the callback list).
        folder: the run folder (`RunCheckpoint`'s), if any.

    Raises:
        ValueError: (when `fit` begins) a model whose learning rate has no scale to lower.
    """

    def __init__(self, factor: float, lr_factor: float, record: RunRecord, folder: str | os.PathLike | None = None) -> None:
        super().__init__()
        self.factor, self.lr_factor, self.record = factor, lr_factor, record
        self.folder = None if folder is None else os.fspath(folder)
        self.best_arrays: tuple[list[np.ndarray], list[np.ndarray]] | None = None
        self._best_step: int | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.model.learning_rate_scale is None:
            raise ValueError(f"A rollback needs a learning rate to lower: a ScaledSchedule given to the optimizer at "
                             f"construction, or MinibatchLbfgs; {type(self.model.optimizer).__name__} has none.")

    def _best(self) -> tuple[list[np.ndarray], list[np.ndarray]] | None:
        """The best validation's weights and optimizer state: kept, or read from best.npz."""
        step = self.record.best_step
        if self._best_step != step and self.folder is not None and os.path.exists(os.path.join(self.folder, BEST_CHECKPOINT)):
            best = load_checkpoint(os.path.join(self.folder, BEST_CHECKPOINT))
            if best.step == step:
                check_arrays(self.model.weights_to_train, best.model_weights, "model weights", best.path)
                check_arrays(self.model.optimizer_variables, best.optimizer_variables, "optimizer variables", best.path)
                self.best_arrays, self._best_step = (list(best.model_weights), list(best.optimizer_variables)), step
        return self.best_arrays if self._best_step == step else None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if "val_loss" not in (logs or {}):
            return
        record, loss, model = self.record, float(logs["val_loss"]), self.model
        if record.improved:
            self.best_arrays = ([w.numpy() for w in model.weights_to_train], [v.numpy() for v in model.optimizer_variables])
            self._best_step = record.best_step
            return
        best = None if record.best_loss is None or loss <= self.factor * record.best_loss else self._best()
        if best is None:
            return
        assign_arrays(model.weights_to_train, best[0], "model weights", "the best validation")
        assign_arrays(model.optimizer_variables, best[1], "optimizer variables", "the best validation")
        scale = model.learning_rate_scale
        scale.assign(scale * self.lr_factor)
        step = record.history[-1].step
        record.rollbacks.append(step)
        logger.warning(
            "step %d: validation loss %.4g > %g x the best %.4g (step %s); rolled back to the best weights, "
            "learning-rate scale now %.4g", step, loss, self.factor, record.best_loss, record.best_step,
            float(scale.numpy()),
        )


class OnStep(tf.keras.callbacks.Callback):
    """Calls `function` with each step's finished `StepRecord` (after its validation)."""

    def __init__(self, function: Callable[[StepRecord], None], record: RunRecord) -> None:
        super().__init__()
        if not callable(function):
            raise TypeError(f"`function` must be callable, got {function!r}.")
        self.function, self.record = function, record

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.record.history:
            self.function(self.record.history[-1])


__all__: Sequence[str] = ("EarlyStopping", "OnStep", "Rollback", "RunRecord")
