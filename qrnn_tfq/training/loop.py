"""The training loop of the paper's sequence experiments (SPEC section 4).

One optimizer step per batch; the loss averages over the scored steps of a teacher-forced
run (every measurement postselected onto its target). Every `validate_every` steps, and
after the last one, the loop validates on one fixed batch: the loss (teacher-forced by
default, or along a run that samples the scored steps, as the paper's code did), the
argmax accuracy (a run that measures the most likely word) and the sampled accuracy (a
run that samples it, the paper's metric). It stops once the validation loss reaches
`stop_loss` or (early stopping, with `patience`) once that many validations in a row have
not improved on the best, records the first step at which it reached `target_loss`, and
tracks the smallest postselection probability of training (SPEC section 4: the overhead
of amplitude amplification is about `1/sqrt(p_min)`). With `rollback_factor` a validation
loss that far above the best one puts the best weights and optimizer state back and lowers
the learning rate (through `lr_scale`, see `qrnn_tfq.training.schedules`).

Batches come from `sample_batch(step)`, a function of the step alone, and sampling seeds
from (seed, step), so a run restored from a checkpoint continues exactly as it would have
without the interruption.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from typing import TYPE_CHECKING, Any, Callable, Mapping

import tensorflow as tf

from qrnn_tfq.layers import bits_to_words
from qrnn_tfq.losses import LOSSES, target_probability
from qrnn_tfq.metrics import argmax_accuracy, sampled_accuracy
from qrnn_tfq.training.checkpoint import Checkpoint, assign_arrays, check_arrays, load_checkpoint, save_checkpoint
from qrnn_tfq.training.models import MeasuringSequenceModel, SequenceModel
from qrnn_tfq.training.records import (
    StepRecord,
    TrainerConfig,
    TrainingResult,
    history_columns,
    history_from_columns,
)

if TYPE_CHECKING:
    from qrnn_tfq.batch import SequenceBatch

logger = logging.getLogger(__name__)

BEST_CHECKPOINT = "best.npz"
LATEST_CHECKPOINT = "latest.npz"
# Trainer settings a resumed run must share with the checkpoint to continue exactly.
_RESUME_FIELDS = ("loss", "validate_every", "validation", "seed", "rollback_factor", "rollback_lr_factor")


def _as_tensors(batch: "SequenceBatch") -> dict[str, tf.Tensor]:
    if not all(hasattr(batch, key) for key in ("inputs", "targets", "scored")):
        raise TypeError(f"A batch must be a qrnn_tfq.batch.SequenceBatch, got {type(batch).__name__}.")
    return {
        "inputs": tf.constant(batch.inputs),  # (B, T, I)
        "targets": tf.constant(batch.targets),  # (B, T, I)
        "scored": tf.constant(batch.scored),  # (B, T)
    }


class Trainer:
    """Trains a `SequenceModel` on batches of a sequence task (see the module docstring).

    Args:
        model: a `SequenceModel`; with `measure` (a `MeasuringSequenceModel`) the
            validation accuracies come from runs that measure; otherwise from the
            teacher-forced distributions.
        optimizer: a tf-keras optimizer (see `make_optimizer`).
        sample_batch: `step -> SequenceBatch`, the batch of the step's update (0-based);
            it must depend on the step alone for a resumed run to repeat exactly.
        validation_batch: the fixed validation batch.
        config: the run's `TrainerConfig`.
        checkpoint_dir: if given, `latest.npz` is written there after every validation
            and at the end of `fit`, `best.npz` whenever the validation loss improves.
        run_config: JSON values stored in checkpoints beside the trainer's config (the
            model topology, the task, ...).
        on_step: called with every `StepRecord` (e.g. to drive a progress bar).
        lr_scale: the variable that scales the optimizer's learning rate (the `scale` of a
            `ScaledSchedule` given to the optimizer); a rollback multiplies it by
            `config.rollback_lr_factor`. Needed with `config.rollback_factor`.

    Raises:
        TypeError: `model` lacks `trainable_weights`/`probabilities`, or a callable is not one.
        ValueError: `validation="sampled"` for a model without `measure`; `rollback_factor`
            without `lr_scale`.
    """

    def __init__(
        self,
        model: SequenceModel,
        optimizer: tf.keras.optimizers.Optimizer,
        sample_batch: Callable[[int], "SequenceBatch"],
        validation_batch: "SequenceBatch",
        config: TrainerConfig | None = None,
        *,
        checkpoint_dir: str | os.PathLike | None = None,
        run_config: Mapping[str, Any] | None = None,
        on_step: Callable[[StepRecord], None] | None = None,
        lr_scale: tf.Variable | None = None,
    ) -> None:
        if not isinstance(model, SequenceModel):
            raise TypeError(
                f"`model` must have `trainable_weights` and `probabilities(batch, training)`, got {type(model).__name__}."
            )
        if not callable(sample_batch):
            raise TypeError(f"`sample_batch` must be callable as sample_batch(step), got {sample_batch!r}.")
        if on_step is not None and not callable(on_step):
            raise TypeError(f"`on_step` must be callable or None, got {on_step!r}.")
        self.config = config or TrainerConfig()
        if not isinstance(self.config, TrainerConfig):
            raise TypeError(f"`config` must be a TrainerConfig, got {type(self.config).__name__}.")
        self.measures = isinstance(model, MeasuringSequenceModel)
        if self.config.validation == "sampled" and not self.measures:
            raise ValueError(
                f"`validation='sampled'` needs a model with `measure`; {type(model).__name__} has none."
            )
        if self.config.rollback_factor is not None and lr_scale is None:
            raise ValueError(
                "`config.rollback_factor` needs `lr_scale`, the scale variable of the optimizer's ScaledSchedule."
            )
        self.model = model
        self.optimizer = optimizer
        self.lr_scale = lr_scale
        self.sample_batch = sample_batch
        self.checkpoint_dir = None if checkpoint_dir is None else os.fspath(checkpoint_dir)
        self.run_config = dict(run_config or {})
        self.on_step = on_step
        self._validation = _as_tensors(validation_batch)
        width = validation_batch.inputs.shape[-1]
        self._validation_words = bits_to_words(self._validation["targets"], width, "targets")  # (B, T)
        self._loss = LOSSES[self.config.loss]
        self._train_step = None
        self._step = 0
        self._history: list[StepRecord] = []
        self._best_loss: float | None = None
        self._best_step: int | None = None
        self._steps_to_target: int | None = None
        self._min_postselection = 1.0
        self._rollbacks: list[int] = []
        # Weights and optimizer variables of the best validation, for rollbacks.
        self._best_arrays: tuple[list[Any], list[Any]] | None = None

    # ---- state ---------------------------------------------------------------------------

    @property
    def step(self) -> int:
        """Optimizer steps taken."""
        return self._step

    @property
    def history(self) -> tuple[StepRecord, ...]:
        return tuple(self._history)

    @property
    def best_validation_loss(self) -> float | None:
        return self._best_loss

    @property
    def steps_to_target(self) -> int | None:
        return self._steps_to_target

    @property
    def min_postselection(self) -> float:
        """Smallest postselection probability seen in training (1 before the first step)."""
        return self._min_postselection

    # ---- one step -------------------------------------------------------------------------

    def _loss_and_gradients(self, inputs: tf.Tensor, targets: tf.Tensor,
                            scored: tf.Tensor) -> tuple[tf.Tensor, list[tf.Tensor], tf.Tensor]:
        """The batch's teacher-forced loss, its gradients with respect to the trainable
        weights, and the batch's smallest postselection probability (teacher forcing
        postselects every step onto its target). Every trainer's step is built on this."""
        target_words = bits_to_words(targets, inputs.shape[-1], "targets")  # (B, T)
        with tf.GradientTape() as tape:
            probabilities = self.model.probabilities(
                {"inputs": inputs, "targets": targets, "scored": scored}, training=True
            )  # (B, T, 2^I)
            loss = self._loss(probabilities, target_words, scored)
        gradients = tape.gradient(loss, list(self.model.trainable_weights))
        return loss, gradients, tf.reduce_min(target_probability(probabilities, target_words))

    def _make_train_step(self) -> Callable[..., tuple[tf.Tensor, tf.Tensor]]:
        optimizer, weights = self.optimizer, list(self.model.trainable_weights)

        @tf.function(reduce_retracing=True)
        def train_step(inputs: tf.Tensor, targets: tf.Tensor, scored: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            loss, gradients, min_postselection = self._loss_and_gradients(inputs, targets, scored)
            optimizer.apply_gradients(zip(gradients, weights))  # clipping is the optimizer's
            return loss, min_postselection

        return train_step

    def validate(self) -> dict[str, float]:
        """Validation loss and accuracies on the fixed validation batch, at the current weights."""
        batch, words, scored = self._validation, self._validation_words, self._validation["scored"]
        seed = tf.constant([self.config.seed % 2**31, self._step % 2**31], tf.int32)
        teacher = None
        if self.config.validation == "teacher" or not self.measures:
            teacher = self.model.probabilities(batch, training=False)  # (B, T, 2^I)
        if self.measures:
            sampled_probabilities, sampled_words = self.model.measure(batch, "sample", seed)
            argmax_probabilities, _ = self.model.measure(batch, "argmax", seed)
        else:
            logits = tf.math.log(tf.reshape(teacher, [-1, teacher.shape[-1]]))
            sampled_words = tf.reshape(
                tf.random.stateless_categorical(logits, 1, seed, dtype=tf.int32), tf.shape(words)
            )
            sampled_probabilities, argmax_probabilities = None, teacher
        probabilities = teacher if self.config.validation == "teacher" else sampled_probabilities
        return {
            "validation_loss": float(self._loss(probabilities, words, scored)),
            "validation_argmax_accuracy": float(argmax_accuracy(argmax_probabilities, words, scored)),
            "validation_sampled_accuracy": float(sampled_accuracy(sampled_words, words, scored)),
        }

    def _stop_reached(self) -> bool:
        stop = self.config.stop_loss
        last = next((row for row in reversed(self._history) if row.validated), None)
        return stop is not None and last is not None and last.validation_loss <= stop

    def _patience_exhausted(self) -> bool:
        """Early stopping: `patience` validations since the best one (or since the start)."""
        patience = self.config.patience
        if patience is None:
            return False
        validated_since_best = sum(
            1 for row in self._history if row.validated and (self._best_step is None or row.step > self._best_step)
        )
        return validated_since_best >= patience

    def _after_validation(self, record: StepRecord) -> None:
        loss = record.validation_loss
        target = self.config.target
        if self._steps_to_target is None and target is not None and loss <= target:
            self._steps_to_target = record.step
        improved = math.isfinite(loss) and (self._best_loss is None or loss < self._best_loss)
        if improved:
            self._best_loss, self._best_step = loss, record.step
            if self.config.rollback_factor is not None:
                self._best_arrays = ([w.numpy() for w in self.model.trainable_weights],
                                     [v.numpy() for v in self._optimizer_variables()])
        elif self._collapsed(loss):
            self._roll_back(record.step, loss)
        logger.info(
            "step %d: train loss %.4g, validation loss %.4g, argmax accuracy %.3f, sampled accuracy %.3f, p_min %.3g",
            record.step, record.train_loss, loss, record.validation_argmax_accuracy,
            record.validation_sampled_accuracy, record.min_postselection,
        )
        if self.checkpoint_dir is not None:
            if improved:
                self.save(os.path.join(self.checkpoint_dir, BEST_CHECKPOINT))
            self.save(os.path.join(self.checkpoint_dir, LATEST_CHECKPOINT))

    def _collapsed(self, loss: float) -> bool:
        factor = self.config.rollback_factor
        return (factor is not None and self._best_arrays is not None and self._best_loss is not None
                and not loss <= factor * self._best_loss)

    def _roll_back(self, step: int, loss: float) -> None:
        """Back to the best validation's weights and optimizer state, with a lower learning rate."""
        weights, slots = self._best_arrays
        assign_arrays(list(self.model.trainable_weights), weights, "model weights", "the best validation")
        assign_arrays(self._optimizer_variables(), slots, "optimizer variables", "the best validation")
        self.lr_scale.assign(self.lr_scale * self.config.rollback_lr_factor)
        self._rollbacks.append(step)
        logger.warning(
            "step %d: validation loss %.4g > %g x the best %.4g (step %s); rolled back to the best weights, "
            "learning-rate scale now %.4g", step, loss, self.config.rollback_factor, self._best_loss,
            self._best_step, float(self.lr_scale.numpy()),
        )

    # ---- the loop -------------------------------------------------------------------------

    def fit(self) -> TrainingResult:
        """Train from the current step until the stop loss or `max_steps`."""
        start = time.perf_counter()
        cfg = self.config
        if self._train_step is None:
            self._train_step = self._make_train_step()
        stopped = "stop_loss" if self._stop_reached() else ("patience" if self._patience_exhausted() else None)
        saved_at = None
        while stopped is None and self._step < cfg.max_steps:
            batch = _as_tensors(self.sample_batch(self._step))
            loss, batch_min = self._train_step(batch["inputs"], batch["targets"], batch["scored"])
            loss, batch_min = float(loss), float(batch_min)
            self._step += 1
            finite = math.isfinite(loss)
            if math.isfinite(batch_min):
                self._min_postselection = min(self._min_postselection, batch_min)
            record = StepRecord(self._step, loss, batch_min, self._min_postselection)
            if finite and (self._step % cfg.validate_every == 0 or self._step == cfg.max_steps):
                record = dataclasses.replace(record, **self.validate())
            self._history.append(record)
            if record.validated:
                self._after_validation(record)
                saved_at = self._step
            if self.on_step is not None:
                self.on_step(record)
            if not finite:
                logger.warning("step %d: the training loss is %s; stopping.", self._step, loss)
                stopped = "non_finite_loss"
            elif self._stop_reached():
                stopped = "stop_loss"
            elif record.validated and self._patience_exhausted():
                stopped = "patience"
        if self.checkpoint_dir is not None and saved_at != self._step:
            self.save(os.path.join(self.checkpoint_dir, LATEST_CHECKPOINT))
        last = next((row for row in reversed(self._history) if row.validated), None)
        return TrainingResult(
            steps=self._step,
            steps_to_target=self._steps_to_target,
            target_loss=cfg.target,
            best_validation_loss=self._best_loss,
            best_step=self._best_step,
            last_validation=last,
            min_postselection=self._min_postselection,
            stopped=stopped or "max_steps",
            wall_time_s=time.perf_counter() - start,
            history=tuple(self._history),
            rollbacks=tuple(self._rollbacks),
            lr_scale=1.0 if self.lr_scale is None else float(self.lr_scale.numpy()),
        )

    # ---- checkpoints ----------------------------------------------------------------------

    def _optimizer_variables(self) -> list[tf.Variable]:
        self.optimizer.build(list(self.model.trainable_weights))  # a no-op once built
        return list(self.optimizer.variables)

    def save(self, path: str | os.PathLike) -> None:
        """Write the model weights, optimizer state, step, history and config to `path`."""
        save_checkpoint(
            path,
            model_weights=[w.numpy() for w in self.model.trainable_weights],
            optimizer_variables=[v.numpy() for v in self._optimizer_variables()],
            step=self._step,
            history=history_columns(self._history),
            best_validation_loss=self._best_loss,
            config={"trainer": dataclasses.asdict(self.config), "run": self.run_config},
            state={
                "best_step": self._best_step,
                "steps_to_target": self._steps_to_target,
                "min_postselection": self._min_postselection,
                "rollbacks": list(self._rollbacks),
                "lr_scale": None if self.lr_scale is None else float(self.lr_scale.numpy()),
            },
        )

    def restore(self, path: str | os.PathLike) -> Checkpoint:
        """Load a checkpoint written by `save` and continue from it.

        Raises:
            FileNotFoundError: no file at `path`.
            ValueError: the file is corrupt, or its weights, optimizer variables or
                trainer settings (loss, validation, seed) do not match this run's.
        """
        checkpoint = load_checkpoint(path)
        saved = checkpoint.config.get("trainer", {})
        different = {
            name: (saved.get(name), getattr(self.config, name))
            for name in _RESUME_FIELDS if saved.get(name) != getattr(self.config, name)
        }
        if different:
            raise ValueError(
                f"Checkpoint {checkpoint.path!r} does not match: its trainer settings differ from this run's "
                f"as (checkpoint, run): {different}."
            )
        history = history_from_columns(checkpoint.history, checkpoint.path)
        weights, slots = list(self.model.trainable_weights), self._optimizer_variables()
        check_arrays(weights, checkpoint.model_weights, "model weights", checkpoint.path)
        check_arrays(slots, checkpoint.optimizer_variables, "optimizer variables", checkpoint.path)
        assign_arrays(weights, checkpoint.model_weights, "model weights", checkpoint.path)
        assign_arrays(slots, checkpoint.optimizer_variables, "optimizer variables", checkpoint.path)
        state = checkpoint.state
        self._step = checkpoint.step
        self._history = history
        self._best_loss = checkpoint.best_validation_loss
        self._best_step = state.get("best_step")
        self._steps_to_target = state.get("steps_to_target")
        self._min_postselection = float(state.get("min_postselection", 1.0))
        self._rollbacks = [int(step) for step in state.get("rollbacks", [])]
        if self.lr_scale is not None:
            self.lr_scale.assign(float(state.get("lr_scale") or 1.0))
        self._best_arrays = None
        best = None if self.checkpoint_dir is None else os.path.join(self.checkpoint_dir, BEST_CHECKPOINT)
        if self.config.rollback_factor is not None and best is not None and os.path.exists(best):
            saved_best = load_checkpoint(best)
            check_arrays(weights, saved_best.model_weights, "model weights", saved_best.path)
            check_arrays(slots, saved_best.optimizer_variables, "optimizer variables", saved_best.path)
            self._best_arrays = (list(saved_best.model_weights), list(saved_best.optimizer_variables))
        logger.info("restored %s at step %d", checkpoint.path, self._step)
        return checkpoint
