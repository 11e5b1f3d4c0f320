"""A run's checkpoints as Keras callbacks: `RunCheckpoint` writes them, `ResumeRun` continues from one.

A run folder holds `latest.npz` (written after every validation and at the end of `fit`)
and `best.npz` (whenever the validation loss improves), in the format of
`qrnn_tfq.training.checkpoint`: the network's weights, the optimizer's state, the step,
the history, the best validation loss, the config (`{"trainer": TrainerConfig fields,
"run": the program's settings}`) and the rest of the record (`RunRecord.state`) with the
learning-rate scale. Only the chief writes under `tf.distribute`.

`ResumeRun` puts all of it back on `on_train_begin` (before the `RunRecord`, which then
makes `fit` continue at the restored step), so a resumed run repeats an uninterrupted one
exactly. The `Rollback` reads the best weights back from `best.npz` itself when it needs them.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import TYPE_CHECKING, Any, Callable, Mapping

import tensorflow as tf

from qrnn_tfq.training import distribute
from qrnn_tfq.training.callbacks import EarlyStopping, OnStep, Rollback, RunRecord
from qrnn_tfq.training.checkpoint import (
    BEST_CHECKPOINT,
    LATEST_CHECKPOINT,
    Checkpoint,
    assign_arrays,
    check_arrays,
    load_checkpoint,
    save_checkpoint,
)
from qrnn_tfq.training.records import StepRecord, TrainerConfig, history_columns, history_from_columns

if TYPE_CHECKING:
    from qrnn_tfq.training.task_model import SequenceTaskModel

logger = logging.getLogger(__name__)

# Settings a resumed run must share with its checkpoint to continue exactly.
RESUME_FIELDS = ("loss", "validate_every", "validation", "seed", "rollback_factor", "rollback_lr_factor")


def save_run(path: str | os.PathLike, model: "SequenceTaskModel", record: RunRecord,
             run_config: Mapping[str, Any] | None = None) -> None:
    """Write the model's weights and optimizer state with `record` and the settings to `path` (atomically)."""
    scale = model.learning_rate_scale
    save_checkpoint(
        path,
        model_weights=[w.numpy() for w in model.weights_to_train],
        optimizer_variables=[v.numpy() for v in model.optimizer_variables],
        step=int(model.steps_taken.numpy()),
        history=history_columns(record.history),
        best_validation_loss=record.best_loss,
        config={"trainer": dataclasses.asdict(record.config), "run": dict(run_config or {})},
        state={**record.state(), "lr_scale": None if scale is None else float(scale.numpy())},
    )


def check_settings(checkpoint: Checkpoint, config: TrainerConfig) -> None:
    """Raises ValueError naming the file if `checkpoint`'s settings (`RESUME_FIELDS`) differ from `config`'s."""
    saved = checkpoint.config.get("trainer", {})
    different = {name: (saved.get(name), getattr(config, name))
                 for name in RESUME_FIELDS if saved.get(name) != getattr(config, name)}
    if different:
        raise ValueError(f"Checkpoint {checkpoint.path!r} does not match: its trainer settings differ from this "
                         f"run's as (checkpoint, run): {different}.")


class RunCheckpoint(tf.keras.callbacks.Callback):
    """Atomic `latest.npz`/`best.npz` of a run in `folder` (see the module docstring).

    Args:
        folder: where the checkpoints go.
        record: the run's `RunRecord` (earlier in the callback list).
        run_config: JSON values stored beside the record's settings (topology, task, ...).
        chief: whether this process writes; None: whether the model's strategy checkpoints.
    """

    def __init__(self, folder: str | os.PathLike, record: RunRecord, run_config: Mapping[str, Any] | None = None,
                 chief: bool | None = None) -> None:
        super().__init__()
        self.folder, self.record, self.run_config = os.fspath(folder), record, dict(run_config or {})
        self.chief = chief
        self.saved_at: int | None = None

    def _save(self, name: str) -> None:
        chief = distribute.is_chief(self.model.distribute_strategy) if self.chief is None else self.chief
        if chief:
            save_run(os.path.join(self.folder, name), self.model, self.record, self.run_config)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.saved_at = self.record.history[-1].step if self.record.history else None  # on disk already

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


class ResumeRun(tf.keras.callbacks.Callback):
    """Continues a run from a checkpoint (`latest.npz` or `best.npz`) on `on_train_begin`:
    the weights, the optimizer state, the step, the learning-rate scale and `record`.
    Put it first in the callback list. The checkpoint is read and its settings checked at
    construction; its arrays are checked against the model's when `fit` begins.

    Raises:
        FileNotFoundError: no file at `path`.
        ValueError: a corrupt file, settings (`RESUME_FIELDS`) other than `record.config`'s,
            or (in `fit`) weights or optimizer variables of other shapes.
    """

    def __init__(self, path: str | os.PathLike, record: RunRecord) -> None:
        super().__init__()
        self.checkpoint = load_checkpoint(path)
        check_settings(self.checkpoint, record.config)
        self.record = record

    @property
    def step(self) -> int:
        """The step the run continues from."""
        return self.checkpoint.step

    def check(self, model: "SequenceTaskModel") -> None:
        """Raises ValueError if the checkpoint's arrays or history do not fit `model` (compiled)."""
        checkpoint = self.checkpoint
        check_arrays(model.weights_to_train, checkpoint.model_weights, "model weights", checkpoint.path)
        check_arrays(model.optimizer_variables, checkpoint.optimizer_variables, "optimizer variables", checkpoint.path)
        history_from_columns(checkpoint.history, checkpoint.path)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        checkpoint, model = self.checkpoint, self.model
        self.check(model)  # before anything changes
        self.record.restore(checkpoint)
        assign_arrays(model.weights_to_train, checkpoint.model_weights, "model weights", checkpoint.path)
        assign_arrays(model.optimizer_variables, checkpoint.optimizer_variables, "optimizer variables", checkpoint.path)
        model.steps_taken.assign(checkpoint.step)
        if model.learning_rate_scale is not None:
            model.learning_rate_scale.assign(float(checkpoint.state.get("lr_scale") or 1.0))
        logger.info("restored %s at step %d", checkpoint.path, checkpoint.step)


def run_callbacks(record: RunRecord, *, folder: str | os.PathLike | None = None, run_config: Any = None,
                  resume: str | os.PathLike | None = None, on_step: Callable[[StepRecord], None] | None = None,
                  chief: bool | None = None) -> list[tf.keras.callbacks.Callback]:
    """The callbacks of a run of `record.config`, in the order they must see each step.

    Args:
        record: the run's `RunRecord` (its `result()` after `fit`).
        folder: with it, `latest.npz`/`best.npz` are written there (`RunCheckpoint`).
        run_config: JSON values stored in the checkpoints beside the settings.
        resume: a checkpoint to continue from (`ResumeRun`, first in the list).
        on_step: called with every `StepRecord` (e.g. a progress bar).
        chief: whether this process writes (default: the model's strategy says).

    Raises:
        FileNotFoundError, ValueError: see `ResumeRun`.
    """
    config = record.config
    callbacks: list[tf.keras.callbacks.Callback] = [] if resume is None else [ResumeRun(resume, record)]
    callbacks.append(record)
    if config.rollback_factor is not None:
        callbacks.append(Rollback(config.rollback_factor, config.rollback_lr_factor, record, folder))
    if folder is not None:
        callbacks.append(RunCheckpoint(folder, record, run_config, chief))
    if config.patience is not None:
        callbacks.append(EarlyStopping(config.patience, record))
    if on_step is not None:
        callbacks.append(OnStep(on_step, record))
    return callbacks



__all__ = ["RESUME_FIELDS", "ResumeRun", "RunCheckpoint", "check_settings", "run_callbacks",
           "save_run"]
