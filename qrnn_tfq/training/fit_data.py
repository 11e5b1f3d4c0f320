"""The data a sequence-task run gives `SequenceTaskModel.fit`: one batch per step, split over replicas.

A run trains one step per Keras epoch (see `qrnn_tfq.training.callbacks`). Its batches come
from `sample_batch(step)`, a function of the step alone, so that a resumed run repeats an
uninterrupted one exactly: `training_data` yields the batches from the step the model has
reached when `fit` starts iterating (after a `ResumeRun` callback restored it) up to the
budget. Under `tf.distribute` each replica trains on `B / replicas` consecutive sequences of
every global batch (`replica_slices`); validation repeats one fixed batch, split the same way.
`fit_arguments` gives all of `fit`'s arguments but the callbacks:

    model.fit(**fit_arguments(config, model, sample_batch, validation_batch), callbacks=[...])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

import numpy as np
import tensorflow as tf

from qrnn_tfq.training.records import TrainerConfig

if TYPE_CHECKING:
    from qrnn_tfq.batch import SequenceBatch
    from qrnn_tfq.training.task_model import SequenceTaskModel


def as_arrays(batch: "SequenceBatch") -> dict[str, np.ndarray]:
    """The batch dict of a `SequenceBatch`: (B, T, I) inputs and targets, (B, T) scored.

    Raises:
        TypeError: `batch` lacks `inputs`, `targets` or `scored`.
    """
    if not all(hasattr(batch, key) for key in ("inputs", "targets", "scored")):
        raise TypeError(f"A batch must be a qrnn_tfq.batch.SequenceBatch, got {type(batch).__name__}.")
    return {"inputs": batch.inputs, "targets": batch.targets, "scored": batch.scored}


def _signature(arrays: Mapping[str, np.ndarray]) -> dict[str, tf.TensorSpec]:
    """Batch and length left open: tasks may vary them from step to step."""
    return {key: tf.TensorSpec((None,) * 2 + value.shape[2:], tf.as_dtype(value.dtype)) for key, value in arrays.items()}


def replica_slices(arrays: Mapping[str, np.ndarray], context: tf.distribute.InputContext | None) -> list[dict]:
    """The parts of a global batch for this input pipeline's replicas, in replica order.

    One input pipeline (one per worker) yields its replicas' parts one after another, which
    `MirroredStrategy` hands to its devices in turn.

    Raises:
        ValueError: the batch does not split equally over the replicas.
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


def _for_strategy(strategy: tf.distribute.Strategy,
                  make: Callable[[tf.distribute.InputContext | None], tf.data.Dataset]) -> Any:
    """`fit` data from `make(input context)`: the dataset itself on one replica, else a
    `DatasetCreator`, whose function each input pipeline calls with its context."""
    if strategy.num_replicas_in_sync == 1:
        return make(None)
    return tf.keras.utils.experimental.DatasetCreator(make)


def training_data(sample_batch: Callable[[int], "SequenceBatch"], model: "SequenceTaskModel", max_steps: int) -> Any:
    """The batches of steps `model.steps_taken .. max_steps - 1`, each split over the model's
    replicas. The count is read when `fit` starts iterating: after `on_train_begin` (a
    `ResumeRun` restores it there), before the first step counts (its train step counts
    once the batch is read).

    Raises:
        TypeError: `sample_batch` is not callable or does not return a `SequenceBatch`.
    """
    if not callable(sample_batch):
        raise TypeError(f"`sample_batch` must be callable as sample_batch(step), got {sample_batch!r}.")
    signature = _signature(as_arrays(sample_batch(0)))  # checked here, where a TypeError is still a TypeError

    def training(context: tf.distribute.InputContext | None) -> tf.data.Dataset:
        def parts() -> Iterator[dict[str, np.ndarray]]:
            for step in range(int(model.steps_taken.numpy()), max_steps):
                yield from replica_slices(as_arrays(sample_batch(step)), context)
        return tf.data.Dataset.from_generator(parts, output_signature=signature)

    return _for_strategy(model.distribute_strategy, training)


def validation_data(batch: "SequenceBatch", model: "SequenceTaskModel") -> Any:
    """The fixed validation batch, split over the model's replicas, repeated."""
    arrays = as_arrays(batch)

    def validating(context: tf.distribute.InputContext | None) -> tf.data.Dataset:
        return tf.data.Dataset.from_tensor_slices(
            {key: np.stack([part[key] for part in replica_slices(arrays, context)]) for key in arrays}
        ).repeat()

    return _for_strategy(model.distribute_strategy, validating)


def validation_steps(first: int, max_steps: int, every: int) -> list[int]:
    """The steps (1-based, Keras' `validation_freq` epochs) after `first` that validate:
    every `every`-th and the last."""
    return sorted({s for s in range(every, max_steps + 1, every) if s > first} | ({max_steps} if max_steps > first else set()))


def fit_arguments(config: TrainerConfig, model: "SequenceTaskModel", sample_batch: Callable[[int], "SequenceBatch"],
                  validation_batch: "SequenceBatch") -> dict[str, Any]:
    """`model.fit`'s arguments (but the callbacks) for a run of `config`: one step per epoch up
    to `max_steps`, validation every `validate_every` steps and after the last, no Keras bar."""
    return {
        "x": training_data(sample_batch, model, config.max_steps),
        "epochs": max(config.max_steps, 1), "steps_per_epoch": 1,  # Keras refuses 0 epochs: `RunRecord` runs none then
        "validation_data": validation_data(validation_batch, model), "validation_steps": 1,
        "validation_freq": validation_steps(0, config.max_steps, config.validate_every), "verbose": 0,
    }


__all__ = ["as_arrays", "fit_arguments", "replica_slices", "training_data", "validation_data", "validation_steps"]
