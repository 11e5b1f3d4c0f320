"""The training loop of the paper's sequence experiments (SPEC section 4), on Keras `fit`.

`Trainer` builds a `SequenceTaskModel` and its callbacks (`qrnn_tfq.training.callbacks`)
and runs `model.fit`, one step per epoch, optionally under a `tf.distribute` strategy.
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
from (seed, step), so a resumed run continues exactly as an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np
import tensorflow as tf

from qrnn_tfq.training.callbacks import (
    BEST_CHECKPOINT,
    LATEST_CHECKPOINT as LATEST_CHECKPOINT,
    EarlyStopping,
    OnStep,
    Rollback,
    RunCheckpoint,
    RunRecord,
    validation_steps,
)
from qrnn_tfq.training.checkpoint import Checkpoint, assign_arrays, check_arrays, load_checkpoint, save_checkpoint
from qrnn_tfq.training.models import SequenceModel
from qrnn_tfq.training.task_model import SequenceTaskModel
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

# Trainer settings a resumed run must share with the checkpoint to continue exactly.
_RESUME_FIELDS = ("loss", "validate_every", "validation", "seed", "rollback_factor", "rollback_lr_factor")


def _as_arrays(batch: "SequenceBatch") -> dict[str, np.ndarray]:
    if not all(hasattr(batch, key) for key in ("inputs", "targets", "scored")):
        raise TypeError(f"A batch must be a qrnn_tfq.batch.SequenceBatch, got {type(batch).__name__}.")
    return {"inputs": batch.inputs, "targets": batch.targets, "scored": batch.scored}  # (B, T, I), (B, T, I), (B, T)


def _signature(arrays: Mapping[str, np.ndarray]) -> dict[str, tf.TensorSpec]:
    """Batch and length left open: tasks may vary them from step to step."""
    return {key: tf.TensorSpec((None,) * 2 + value.shape[2:], tf.as_dtype(value.dtype)) for key, value in arrays.items()}


def replica_slices(arrays: Mapping[str, np.ndarray], context: tf.distribute.InputContext | None) -> list[dict]:
    """The parts of a global batch for this input pipeline's replicas, in replica order.

    Under `tf.distribute` each replica trains on `B / replicas` consecutive samples of the
    global batch; one input pipeline (one per worker) yields its replicas' parts one after
    another, which `MirroredStrategy` hands to its devices in turn.
    """
    if context is None or context.num_replicas_in_sync == 1:
        return [dict(arrays)]
    replicas, size = context.num_replicas_in_sync, len(arrays["inputs"])
    if size % replicas:
        raise ValueError(f"The batch size {size} must be divisible by the {replicas} replicas in sync.")
    local = replicas // context.num_input_pipelines
    part = size // replicas
    first = context.input_pipeline_id * local
    return [{key: value[(first + r) * part:(first + r + 1) * part] for key, value in arrays.items()}
            for r in range(local)]


class Trainer:
    """Trains a `SequenceModel` on batches of a sequence task through Keras `model.fit`.

    The `SequenceTaskModel` it builds (`task_model`) trains one step per epoch with the
    callbacks of `qrnn_tfq.training.callbacks` (record, early stopping, rollback,
    checkpoints, `on_step`) and any others given (TensorBoard, ...); see the module
    docstring for what a run does.

    Args:
        model: a `SequenceModel`; with `measure` (a `MeasuringSequenceModel`) the
            validation accuracies come from runs that measure; otherwise from the
            teacher-forced distributions.
        optimizer: a tf-keras optimizer (see `make_optimizer`).
        sample_batch: `step -> SequenceBatch`, the global batch of the step's update
            (0-based); it must depend on the step alone for a resumed run to repeat exactly.
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
        strategy: a `tf.distribute.Strategy` (data parallel: each step's batch is split
            over the replicas); the model's weights must have been made in its scope.
            Only the chief writes checkpoints.
        callbacks: more Keras callbacks for `fit` (e.g. `tf.keras.callbacks.TensorBoard`).

    Raises:
        TypeError: `model` lacks `trainable_weights`/`probabilities`, or a callable is not one.
        ValueError: `validation="sampled"` for a model without `measure`; `rollback_factor`
            without `lr_scale`; weights made outside `strategy.scope()`.
    """

    def __init__(
        self,
        model: SequenceModel,
        optimizer: Any,
        sample_batch: Callable[[int], "SequenceBatch"],
        validation_batch: "SequenceBatch",
        config: TrainerConfig | None = None,
        *,
        checkpoint_dir: str | os.PathLike | None = None,
        run_config: Mapping[str, Any] | None = None,
        on_step: Callable[[StepRecord], None] | None = None,
        lr_scale: tf.Variable | None = None,
        strategy: tf.distribute.Strategy | None = None,
        callbacks: Sequence[tf.keras.callbacks.Callback] = (),
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
        if self.config.rollback_factor is not None and lr_scale is None:
            raise ValueError(
                "`config.rollback_factor` needs `lr_scale`, the scale variable of the optimizer's ScaledSchedule."
            )
        self.strategy = strategy or tf.distribute.get_strategy()
        outside = [w.name for w in model.trainable_weights if not self.strategy.extended.variable_created_in_scope(w)]
        if strategy is not None and outside:
            raise ValueError(f"The model's weights {outside} were made outside `strategy.scope()`; build the model in it.")
        self.model = model
        self.optimizer = optimizer
        self.lr_scale = lr_scale
        self.sample_batch = sample_batch
        self.checkpoint_dir = None if checkpoint_dir is None else os.fspath(checkpoint_dir)
        self.run_config = dict(run_config or {})
        self.on_step = on_step
        self.callbacks = list(callbacks)
        self._validation = _as_arrays(validation_batch)
        self.record = RunRecord(self.config)
        keras_optimizer = isinstance(optimizer, tf.keras.optimizers.Optimizer)
        with self.strategy.scope():
            self.task_model = SequenceTaskModel(
                model, loss=self.config.loss, validation=self.config.validation, seed=self.config.seed
            )
            # The L-BFGS trainers step with their own optimizer (`use_python_step`); Keras still wants one.
            self.task_model.compile(optimizer=optimizer if keras_optimizer else tf.keras.optimizers.SGD(0.0))
        if keras_optimizer:  # its slots now, in the scope: made inside the first step, MultiWorkerMirroredStrategy fails
            self._optimizer_variables()
        cfg = self.config
        self._rollback = None if cfg.rollback_factor is None else Rollback(
            cfg.rollback_factor, cfg.rollback_lr_factor, lr_scale, self.record, self._optimizer_variables
        )
        self._step_function_ready = False

    # ---- state ---------------------------------------------------------------------------

    @property
    def step(self) -> int:
        """Optimizer steps taken."""
        return int(self.task_model.steps_taken.numpy())

    @property
    def history(self) -> tuple[StepRecord, ...]:
        return tuple(self.record.history)

    @property
    def best_validation_loss(self) -> float | None:
        return self.record.best_loss

    @property
    def steps_to_target(self) -> int | None:
        return self.record.steps_to_target

    @property
    def min_postselection(self) -> float:
        """Smallest postselection probability seen in training (1 before the first step)."""
        return self.record.min_postselection

    @property
    def chief(self) -> bool:
        """Whether this process writes checkpoints (always, but for non-chief workers)."""
        return bool(self.strategy.extended.should_checkpoint)

    # ---- one step -------------------------------------------------------------------------

    def _loss_and_gradients(self, inputs: tf.Tensor, targets: tf.Tensor,
                            scored: tf.Tensor) -> tuple[tf.Tensor, list[tf.Tensor], tf.Tensor]:
        """The batch's teacher-forced loss, its gradients with respect to the trainable
        weights, and the batch's smallest postselection probability (for the L-BFGS steps)."""
        return self.task_model.loss_and_gradients({"inputs": inputs, "targets": targets, "scored": scored})

    def _make_train_step(self) -> Callable[..., tuple[Any, Any]] | None:
        """A Python step `(inputs, targets, scored) -> (loss, min_postselection)` replacing the
        model's compiled `train_step`, or None to keep it (the L-BFGS trainers override this)."""
        return None

    def _for_strategy(self, make: Callable[[tf.distribute.InputContext | None], tf.data.Dataset]) -> Any:
        """`fit` data from `make(input context)`: the dataset itself on one replica, else a
        `DatasetCreator`, whose function each input pipeline calls with its context."""
        if self.strategy.num_replicas_in_sync == 1:
            return make(None)
        return tf.keras.utils.experimental.DatasetCreator(make)

    def _training_data(self, start: int) -> Any:
        """The batches of steps `start .. max_steps - 1`, each split across the replicas."""
        first = _as_arrays(self.sample_batch(start))  # checked here, where a TypeError is still a TypeError
        signature, steps = _signature(first), range(start, self.config.max_steps)

        def training(context: tf.distribute.InputContext | None) -> tf.data.Dataset:
            def parts():
                for step in steps:
                    yield from replica_slices(first if step == start else _as_arrays(self.sample_batch(step)), context)
            return tf.data.Dataset.from_generator(parts, output_signature=signature)

        return self._for_strategy(training)

    def _validation_data(self) -> Any:
        """The fixed validation batch, split across the replicas, repeated."""
        validation = self._validation

        def validating(context: tf.distribute.InputContext | None) -> tf.data.Dataset:
            return tf.data.Dataset.from_tensor_slices(
                {key: np.stack([part[key] for part in replica_slices(validation, context)]) for key in validation}
            ).repeat()

        return self._for_strategy(validating)

    def validate(self) -> dict[str, float]:
        """Validation loss and accuracies on the fixed validation batch, at the current weights."""
        logs = self.task_model.evaluate(self._validation_data(), steps=1, verbose=0, return_dict=True)
        return {"validation_loss": float(logs["loss"]), "validation_argmax_accuracy": float(logs["argmax_accuracy"]),
                "validation_sampled_accuracy": float(logs["sampled_accuracy"])}

    # ---- the loop -------------------------------------------------------------------------

    def keras_callbacks(self) -> list[tf.keras.callbacks.Callback]:
        """The run's callbacks, in the order they must see each step."""
        cfg, record = self.config, self.record
        callbacks: list[tf.keras.callbacks.Callback] = [record]
        if self._rollback is not None:
            callbacks.append(self._rollback)
        if self.checkpoint_dir is not None:
            callbacks.append(RunCheckpoint(self.checkpoint_dir, self.save, record, chief=self.chief))
        if cfg.patience is not None:
            callbacks.append(EarlyStopping(cfg.patience, record))
        if self.on_step is not None:
            callbacks.append(OnStep(self.on_step, record))
        return callbacks + self.callbacks

    def fit(self) -> TrainingResult:
        """Train from the current step until the stop loss, early stopping or `max_steps`."""
        begin = time.perf_counter()
        cfg, record = self.config, self.record
        if not self._step_function_ready:
            python_step = self._make_train_step()
            if python_step is not None:
                if self.strategy.num_replicas_in_sync > 1:
                    raise ValueError(f"{type(self).__name__} runs on one device; it cannot take a strategy with "
                                     f"{self.strategy.num_replicas_in_sync} replicas.")
                self.task_model.use_python_step(lambda batch: python_step(batch["inputs"], batch["targets"], batch["scored"]))
            self._step_function_ready = True
        record.stopped = None
        start = self.step
        if record.stop_reached():
            record.stopped = "stop_loss"
        elif cfg.patience is not None and record.validations_since_best() >= cfg.patience:
            record.stopped = "patience"
        elif start < cfg.max_steps:
            callbacks = self.keras_callbacks()
            early = next((c for c in callbacks if isinstance(c, EarlyStopping)), None)
            self.task_model.fit(
                self._training_data(start), epochs=cfg.max_steps, initial_epoch=start, steps_per_epoch=1, verbose=0,
                validation_data=self._validation_data(), validation_steps=1,
                validation_freq=validation_steps(start, cfg.max_steps, cfg.validate_every), callbacks=callbacks,
            )
            if record.stopped is None and early is not None and early.stopped_epoch > 0:
                record.stopped = "patience"
        return TrainingResult(
            steps=self.step,
            steps_to_target=record.steps_to_target,
            target_loss=cfg.target,
            best_validation_loss=record.best_loss,
            best_step=record.best_step,
            last_validation=record.last_validation,
            min_postselection=record.min_postselection,
            stopped=record.stopped or "max_steps",
            wall_time_s=time.perf_counter() - begin,
            history=tuple(record.history),
            rollbacks=tuple(record.rollbacks),
            lr_scale=1.0 if self.lr_scale is None else float(self.lr_scale.numpy()),
        )

    # ---- checkpoints ----------------------------------------------------------------------

    def _optimizer_variables(self) -> list[tf.Variable]:
        with self.strategy.scope():  # under tf.distribute the slots must be mirrored
            self.optimizer.build(list(self.model.trainable_weights))  # a no-op once built
        return list(self.optimizer.variables)

    def save(self, path: str | os.PathLike) -> None:
        """Write the model weights, optimizer state, step, history and config to `path`."""
        save_checkpoint(
            path,
            model_weights=[w.numpy() for w in self.model.trainable_weights],
            optimizer_variables=[v.numpy() for v in self._optimizer_variables()],
            step=self.step,
            history=history_columns(self.record.history),
            best_validation_loss=self.record.best_loss,
            config={"trainer": dataclasses.asdict(self.config), "run": self.run_config},
            state={
                "best_step": self.record.best_step,
                "steps_to_target": self.record.steps_to_target,
                "min_postselection": self.record.min_postselection,
                "rollbacks": list(self.record.rollbacks),
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
        record = self.record
        self.task_model.steps_taken.assign(checkpoint.step)
        record.history = history
        record.best_loss = checkpoint.best_validation_loss
        record.best_step = state.get("best_step")
        record.steps_to_target = state.get("steps_to_target")
        record.min_postselection = float(state.get("min_postselection", 1.0))
        record.rollbacks = [int(step) for step in state.get("rollbacks", [])]
        if self.lr_scale is not None:
            self.lr_scale.assign(float(state.get("lr_scale") or 1.0))
        best = None if self.checkpoint_dir is None else os.path.join(self.checkpoint_dir, BEST_CHECKPOINT)
        if self._rollback is not None:
            self._rollback.best_arrays = None
            if best is not None and os.path.exists(best):
                saved_best = load_checkpoint(best)
                check_arrays(weights, saved_best.model_weights, "model weights", saved_best.path)
                check_arrays(slots, saved_best.optimizer_variables, "optimizer variables", saved_best.path)
                self._rollback.best_arrays = (list(saved_best.model_weights), list(saved_best.optimizer_variables))
        logger.info("restored %s at step %d", checkpoint.path, self.step)
        return checkpoint


__all__ = ["BEST_CHECKPOINT", "LATEST_CHECKPOINT", "Trainer", "replica_slices"]
