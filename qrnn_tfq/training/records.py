"""The records of a training run: its settings, one row per step, and the result (SPEC section 4).

The history is kept as `StepRecord`s and stored (in checkpoints and `history.csv`) as
float64 columns named by `HISTORY_FIELDS`, NaN where a step did not validate.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Mapping, Sequence

import numpy as np

from qrnn_tfq.losses import LOSSES

VALIDATIONS = ("teacher", "sampled")
STOP_REASONS = ("stop_loss", "max_steps", "non_finite_loss", "patience")


def _check_int(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"`{name}` must be an int, got {value!r} of type {type(value).__name__}.")
    if value < low:
        raise ValueError(f"`{name}` must be at least {low}, got {value}.")


def _check_loss_level(name: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"`{name}` must be a finite number or None, got {value!r}.")


@dataclasses.dataclass(frozen=True)
class TrainerConfig:
    """Settings of a training run.

    Attributes:
        max_steps: optimizer steps at most (the step budget).
        stop_loss: stop once a validation loss is <= this; None trains to `max_steps`.
        target_loss: `steps_to_target` counts the steps until a validation loss is <= this;
            None means `stop_loss`.
        loss: "paper" (the paper's shifted loss, which its thresholds such as 1e-3 refer
            to) or "nll" (the proper `-log p(target)`).
        validate_every: validate after every this many steps (10 in the paper).
        validation: "teacher" (validation loss of a teacher-forced run) or "sampled" (of a
            run that samples the scored steps, as the paper's code did).
        seed: seeds the sampling of validation runs, with the step.
        patience: early stopping: stop once this many validations in a row have not
            lowered the best validation loss; None never stops early.
        rollback_factor: roll a collapsing run back: when a validation loss exceeds this
            many times the best one (or is not finite), the weights and optimizer state go
            back to those of the best validation and the learning rate is multiplied by
            `rollback_lr_factor` (the optimizer needs a learning-rate scale: `ScaledSchedule`). None: never.
            Not in the paper; see docs/MNIST.md for why MNIST uses it.
        rollback_lr_factor: the learning-rate factor of a rollback, in (0, 1].
    """

    max_steps: int = 1000
    stop_loss: float | None = 1e-3
    target_loss: float | None = None
    loss: str = "paper"
    validate_every: int = 10
    validation: str = "teacher"
    seed: int = 0
    patience: int | None = None
    rollback_factor: float | None = None
    rollback_lr_factor: float = 0.5

    def __post_init__(self) -> None:
        _check_int("max_steps", self.max_steps, 0)
        if self.patience is not None:
            _check_int("patience", self.patience, 1)
        _check_int("validate_every", self.validate_every, 1)
        _check_int("seed", self.seed, 0)
        _check_loss_level("stop_loss", self.stop_loss)
        _check_loss_level("target_loss", self.target_loss)
        if self.rollback_factor is not None and (
            isinstance(self.rollback_factor, bool) or not isinstance(self.rollback_factor, (int, float))
            or not 1 < self.rollback_factor < math.inf
        ):
            raise ValueError(f"`rollback_factor` must be a finite number > 1 or None, got {self.rollback_factor!r}.")
        if isinstance(self.rollback_lr_factor, bool) or not isinstance(self.rollback_lr_factor, (int, float)) or not (
            0 < self.rollback_lr_factor <= 1
        ):
            raise ValueError(f"`rollback_lr_factor` must be in (0, 1], got {self.rollback_lr_factor!r}.")
        if self.loss not in LOSSES:
            raise ValueError(f"`loss` must be one of {sorted(LOSSES)}, got {self.loss!r}.")
        if self.validation not in VALIDATIONS:
            raise ValueError(f"`validation` must be one of {list(VALIDATIONS)}, got {self.validation!r}.")

    @property
    def target(self) -> float | None:
        """The validation loss `steps_to_target` refers to."""
        return self.stop_loss if self.target_loss is None else self.target_loss


@dataclasses.dataclass(frozen=True)
class StepRecord:
    """One row of the history: the step's training numbers and, if it validated, the validation's.

    Attributes:
        step: optimizer steps taken (1 for the first).
        train_loss: the loss of this step's batch, before the update.
        train_min_postselection: smallest postselection probability of this batch.
        min_postselection: smallest postselection probability of training so far.
        validation_loss, validation_argmax_accuracy, validation_sampled_accuracy: None
            unless the step validated.
    """

    step: int
    train_loss: float
    train_min_postselection: float
    min_postselection: float
    validation_loss: float | None = None
    validation_argmax_accuracy: float | None = None
    validation_sampled_accuracy: float | None = None

    @property
    def validated(self) -> bool:
        return self.validation_loss is not None


HISTORY_FIELDS = tuple(field.name for field in dataclasses.fields(StepRecord))


@dataclasses.dataclass(frozen=True)
class TrainingResult:
    """What a run reached: `RunRecord.result()` after `fit`.

    Attributes:
        steps: optimizer steps taken in all (across resumes).
        steps_to_target: first step whose validation loss was <= the target, or None.
        target_loss: that target.
        best_validation_loss: the lowest validation loss, None if never validated.
        best_step: the step it was reached at.
        last_validation: the history row of the last validation, or None.
        min_postselection: smallest postselection probability seen in training.
        stopped: "stop_loss", "max_steps", "non_finite_loss" or "patience" (early stopping).
        wall_time_s: seconds this `fit` call took.
        history: every row, across resumes.
        rollbacks: the steps (across resumes) at which the run was rolled back to its best
            weights (`TrainerConfig.rollback_factor`).
        lr_scale: the learning-rate scale at the end (each rollback multiplies it).
    """

    steps: int
    steps_to_target: int | None
    target_loss: float | None
    best_validation_loss: float | None
    best_step: int | None
    last_validation: StepRecord | None
    min_postselection: float
    stopped: str
    wall_time_s: float
    history: tuple[StepRecord, ...]
    rollbacks: tuple[int, ...] = ()
    lr_scale: float = 1.0


def history_columns(history: Sequence[StepRecord]) -> dict[str, np.ndarray]:
    """The history as float64 columns named by `HISTORY_FIELDS` (NaN where not recorded)."""
    return {
        name: np.array([np.nan if getattr(row, name) is None else getattr(row, name) for row in history], np.float64)
        for name in HISTORY_FIELDS
    }


def history_from_columns(columns: Mapping[str, np.ndarray], path: str) -> list[StepRecord]:
    """Inverse of `history_columns`; raises ValueError naming `path` if a column is missing."""
    missing = [name for name in HISTORY_FIELDS if name not in columns]
    if missing:
        raise ValueError(f"Checkpoint {path!r} does not match: its history lacks the columns {missing}.")
    rows = []
    for values in zip(*(columns[name] for name in HISTORY_FIELDS)):
        row = {name: (None if math.isnan(v) else float(v)) for name, v in zip(HISTORY_FIELDS, values)}
        row["step"] = int(row["step"])
        rows.append(StepRecord(**row))
    return rows
