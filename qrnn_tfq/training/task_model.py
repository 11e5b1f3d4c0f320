"""`SequenceTaskModel`: a sequence model (the QRNN or a classical baseline) trained with `model.fit`.

Keras' default `train_step` cannot train a QRNN on a sequence task: the loss needs the
whole batch contract (`inputs`, `targets`, `scored`, SPEC section 4), every training
step must postselect its targets (teacher forcing), and validation must also run the
recurrence with its own measurements (argmax and sampled accuracies). This model's
`train_step`/`test_step` know that contract, so a task trains with plain `model.fit`,
Keras callbacks (`qrnn_tfq.training.callbacks`, TensorBoard, ...) and `tf.distribute`:

    with strategy.scope():
        model = SequenceTaskModel(qrnn_tfq.QRNN(workspace_lanes=4, io_lanes=1, seed=0), loss="paper")
        model.compile(optimizer=make_optimizer("adam", 0.005))
    model.fit(dataset_of_batch_dicts, validation_data=..., epochs=..., steps_per_epoch=1)

`x` is a dict {"inputs": (B, T, I) bits, "targets": (B, T, I) bits, "scored": (B, T)}
and there is no `y`: the targets are part of `x`, once. `predict` is deterministic: the
teacher-forced word distributions when `x` has targets (SPEC section 4's loss inputs),
else the layer's own (argmax) run.

Distribution: each replica computes the loss *sum* of its part of the batch divided by the
number of scored steps of the *global* batch (an all-reduce), so the gradients the
optimizer sums over replicas are exactly those of the global batch's mean loss, and the
weights equal a single device trained on the combined batch (up to float32 round-off).

Optimizers: a tf-keras optimizer, or a `BatchOptimizer` (`qrnn_tfq.training.optimizers`:
the L-BFGS variants, which take a whole step on the batch from the loss and gradients and
keep NumPy bookkeeping). `compile(optimizer=Lbfgs())` is all it takes: the train step then
runs eagerly and hands the batch to the optimizer, on one replica.

A run of the paper's protocol (validation schedule, record, early stopping, rollback,
checkpoints, resume) is this model's `fit` with the callbacks of
`qrnn_tfq.training.callbacks` and the data of `qrnn_tfq.training.fit_data`.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import tensorflow as tf

from qrnn_tfq.layers import QRNN, bits_to_words
from qrnn_tfq.losses import paper_shifted_per_step, target_probability, word_nll_per_step
from qrnn_tfq.training.models import MeasuringSequenceModel, QRNNSequenceModel, SequenceModel
from qrnn_tfq.training.optimizers import is_batch_optimizer
from qrnn_tfq.training.records import VALIDATIONS
from qrnn_tfq.training.schedules import ScaledSchedule

PER_STEP_LOSSES = {"nll": word_nll_per_step, "paper": paper_shifted_per_step}
BATCH_KEYS = ("inputs", "targets", "scored")


def _all_reduce(value: tf.Tensor, reduction: str) -> tf.Tensor:
    """`value` reduced over the replicas in sync ("sum" or "min"); itself on one replica."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    if reduction == "min":  # ReduceOp has SUM and MEAN only: gather the replicas' values, take the min
        gathered = context.all_gather(tf.reshape(value, [1]), axis=0)
        return tf.reduce_min(gathered)
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)


def _scored_mean(values: tf.Tensor, scored: tf.Tensor) -> tf.Tensor:
    """Mean of `values` over the scored steps of the *global* batch (see the module docstring)."""
    weights = tf.reshape(tf.cast(scored, values.dtype), tf.shape(values))
    count = _all_reduce(tf.reduce_sum(weights), "sum")
    return tf.reduce_sum(values * weights) / tf.maximum(count, 1.0)


def check_batch(data: Any) -> dict[str, tf.Tensor]:
    """The batch dict of `fit`/`evaluate` data: `x` (a dict with `BATCH_KEYS`), no `y`."""
    x, y, sample_weight = tf.keras.utils.unpack_x_y_sample_weight(data)
    if not isinstance(x, Mapping) or any(key not in x for key in BATCH_KEYS):
        keys = sorted(x) if isinstance(x, Mapping) else type(x).__name__
        raise ValueError(f"A SequenceTaskModel trains on dicts with keys {list(BATCH_KEYS)} as `x`, got {keys}.")
    if y is not None or sample_weight is not None:
        raise ValueError("A SequenceTaskModel takes the targets inside `x` (x['targets']), not as `y` or sample weights.")
    return {key: x[key] for key in BATCH_KEYS}


class _ContinueAt:
    """Where one `fit` starts: Keras asks the model's `_training_state` (the hook of its
    `BackupAndRestore`) right after `on_train_begin`. Used once, then forgotten."""

    def __init__(self, model: tf.keras.Model, epoch: int) -> None:
        self.model, self.epoch = model, epoch

    def maybe_load_initial_counters_from_ckpt(self, steps_per_epoch: int, initial_epoch: int,
                                              mode: Any = None) -> tuple[int, int]:
        self.model._training_state = None
        return self.epoch, 0


@tf.keras.utils.register_keras_serializable(package="qrnn_tfq")
class SequenceTaskModel(tf.keras.Model):
    """Trains a sequence model on the batch contract of SPEC section 4 through `model.fit`.

    Args:
        network: a `qrnn_tfq.QRNN` layer (or its `QRNNSequenceModel`), or any
            `SequenceModel` (such as `qrnn_tfq.baselines.RecurrentBaseline`); the model
            trains its `trainable_weights`.
        loss: "paper" (the paper's shifted loss) or "nll" (`-log p(target)`), averaged over
            the scored steps.
        validation: "teacher" (the validation loss of a teacher-forced run) or "sampled"
            (of a run that samples the scored steps; needs a model that measures).
        seed: seeds the sampling of validation runs, together with the step, so that a
            resumed run validates exactly as an uninterrupted one.

    Logs: `fit` reports per step `loss` (the step's batch, before the update) and
    `min_postselection` (the batch's smallest target probability, the paper's p_min); a
    validation reports `loss`, `argmax_accuracy` and `sampled_accuracy` (as `val_*`).
    """

    def __init__(self, network: Any, *, loss: str = "paper", validation: str = "teacher", seed: int = 0,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(network, QRNNSequenceModel):
            network = network.layer
        if isinstance(network, QRNN):
            adapter: SequenceModel = QRNNSequenceModel(network)
        elif isinstance(network, SequenceModel):
            adapter = network
        else:
            raise TypeError(
                "`network` must be a qrnn_tfq.QRNN or a SequenceModel (`trainable_weights` and "
                f"`probabilities(batch, training)`), got {type(network).__name__}."
            )
        if loss not in PER_STEP_LOSSES:
            raise ValueError(f"`loss` must be one of {sorted(PER_STEP_LOSSES)}, got {loss!r}.")
        if validation not in VALIDATIONS:
            raise ValueError(f"`validation` must be one of {list(VALIDATIONS)}, got {validation!r}.")
        self.measures = isinstance(adapter, MeasuringSequenceModel)
        if validation == "sampled" and not self.measures:
            raise ValueError(f"`validation='sampled'` needs a model with `measure`; {type(network).__name__} has none.")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"`seed` must be an int >= 0, got {seed!r}.")
        strategy = tf.distribute.get_strategy()
        outside = [w.name for w in adapter.trainable_weights if not strategy.extended.variable_created_in_scope(w)]
        if tf.distribute.has_strategy() and outside:
            raise ValueError(f"The network's weights {outside} were made outside `strategy.scope()`; build it in the scope.")
        self.network = network
        self.adapter = adapter
        self.loss_name, self.validation, self.seed = loss, validation, seed
        self._per_step = PER_STEP_LOSSES[loss]
        # Optimizer steps taken; seeds the validation's sampling (with `seed`).
        self.steps_taken = tf.Variable(0, trainable=False, dtype=tf.int64, name="steps_taken",
                                       aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        self.built = True  # the network's weights exist (the adapter builds a QRNN)
        # The logs are all-reduced in the steps already: Keras reports the first replica's.
        self.distribute_reduction_method = "first"

    # ---- optimizer ----------------------------------------------------------------------------

    def compile(self, optimizer: Any = "rmsprop", **kwargs: Any) -> None:
        """Keras' `compile`; `optimizer` may also be a `BatchOptimizer` (L-BFGS). The
        optimizer's state is made at once, in the model's strategy scope (made inside the
        first step, `MultiWorkerMirroredStrategy` fails).

        Raises:
            ValueError: a `BatchOptimizer` for a model on several replicas.
        """
        replicas = self.distribute_strategy.num_replicas_in_sync
        if is_batch_optimizer(optimizer) and replicas > 1:
            raise ValueError(f"{type(optimizer).__name__} runs on one device; it cannot train a model on a strategy "
                             f"with {replicas} replicas.")
        super().compile(optimizer=optimizer, **kwargs)
        if callable(getattr(self.optimizer, "build", None)):  # tf-keras' legacy optimizers build in their first step
            with self.distribute_strategy.scope():
                self.optimizer.build(self.weights_to_train)

    def _get_optimizer(self, optimizer: Any) -> Any:
        """Keras' lookup of `compile`'s optimizer, which also takes a `BatchOptimizer` as it is."""
        return optimizer if is_batch_optimizer(optimizer) else super()._get_optimizer(optimizer)

    def get_compile_config(self) -> dict[str, Any] | None:
        """Keras' compile config; None (saved uncompiled) with a `BatchOptimizer`, which Keras cannot serialize."""
        return None if is_batch_optimizer(getattr(self, "optimizer", None)) else super().get_compile_config()

    @property
    def optimizer_variables(self) -> list[tf.Variable]:
        """The optimizer's state, in its order (the order of checkpoints)."""
        return list(self.optimizer.variables)

    @property
    def learning_rate_scale(self) -> tf.Variable | None:
        """The variable that scales the learning rate, which a rollback lowers: the `scale` of a
        `ScaledSchedule` given to a tf-keras optimizer at construction, or a `BatchOptimizer`'s
        `learning_rate_scale`; None without one."""
        optimizer = getattr(self, "optimizer", None)
        if is_batch_optimizer(optimizer):
            return optimizer.learning_rate_scale
        schedule = getattr(optimizer, "_learning_rate", None)  # a schedule, as Keras' TensorBoard reads it
        return schedule.scale if isinstance(schedule, ScaledSchedule) else None

    def make_train_function(self, force: bool = False) -> Callable[..., Any]:
        """Keras' compiled train function, or with a `BatchOptimizer` one that runs `train_step`
        eagerly (its bookkeeping is Python; its loss and gradients are compiled functions)."""
        if not is_batch_optimizer(self.optimizer):
            return super().make_train_function(force)
        if self.train_function is None or force:
            self.train_function = lambda iterator: self.train_step(next(iterator))
        return self.train_function

    def continue_fit_at(self, epoch: int) -> None:
        """From a callback's `on_train_begin`: the epoch this `fit` starts at, in place of its
        `initial_epoch` (a resumed run; `epochs` or more: train no more)."""
        self._training_state = _ContinueAt(self, epoch)

    def call(self, inputs: Any, training: bool | None = None) -> tf.Tensor:
        """Word distributions (B, T, 2^I): teacher-forced when `inputs` has targets."""
        if isinstance(inputs, Mapping) and "targets" in inputs or not callable(self.network):
            return self.adapter.probabilities(dict(inputs), training=bool(training))
        return self.network(inputs, training=training)

    @property
    def weights_to_train(self) -> list[tf.Variable]:
        """The network's trainable weights, in its order (the order of checkpoints)."""
        return list(self.adapter.trainable_weights)

    # ---- steps ------------------------------------------------------------------------------

    def _words(self, batch: Mapping[str, tf.Tensor]) -> tf.Tensor:
        return bits_to_words(batch["targets"], batch["targets"].shape[-1], "targets")  # (B, T)

    def loss_and_gradients(self, batch: Mapping[str, tf.Tensor]) -> tuple[tf.Tensor, list[tf.Tensor], tf.Tensor]:
        """The teacher-forced loss of `batch` (this replica's share of the global mean), its
        gradients with respect to the trainable weights, and the batch's smallest target
        probability. Every training step (Adam's, L-BFGS') is built on this."""
        words = self._words(batch)
        with tf.GradientTape() as tape:
            probabilities = self.adapter.probabilities(dict(batch), training=True)  # (B, T, 2^I)
            loss = _scored_mean(self._per_step(probabilities, words), batch["scored"])
        gradients = tape.gradient(loss, self.weights_to_train)
        return loss, gradients, tf.reduce_min(target_probability(probabilities, words))

    def train_step(self, data: Any) -> dict[str, Any]:
        """One optimizer step on the batch: Keras' (gradients, then `apply_gradients`) or the
        `BatchOptimizer`'s own. Logs the batch's loss before the step and its p_min."""
        batch = check_batch(data)
        if is_batch_optimizer(self.optimizer):
            local = {key: self.distribute_strategy.experimental_local_results(value)[0] for key, value in batch.items()}
            loss, batch_min = self.optimizer.minimize_batch(self._replica_loss_and_gradients, self.weights_to_train, local)
            self.steps_taken.assign_add(1)
            return {"loss": loss, "min_postselection": batch_min}
        loss, gradients, batch_min = self.loss_and_gradients(batch)
        self.optimizer.apply_gradients(zip(gradients, self.weights_to_train))  # clipping is the optimizer's
        with tf.control_dependencies([loss]):  # counted once the batch is read (`fit_data` reads the count first)
            self.steps_taken.assign_add(1)
        return {"loss": _all_reduce(loss, "sum"), "min_postselection": _all_reduce(batch_min, "min")}

    def _replica_loss_and_gradients(self, batch: Mapping[str, tf.Tensor]) -> tuple[tf.Tensor, list[tf.Tensor], tf.Tensor]:
        """`loss_and_gradients` for a `BatchOptimizer`, which steps in the cross-replica
        context: computed on the (one) replica, where its weights can be watched."""
        strategy = self.distribute_strategy
        if not (tf.distribute.has_strategy() and tf.distribute.in_cross_replica_context()):
            return self.loss_and_gradients(batch)
        results = strategy.run(self.loss_and_gradients, args=(batch,))
        return tf.nest.map_structure(lambda value: strategy.experimental_local_results(value)[0], results)

    def validation_seed(self) -> tf.Tensor:
        """The (2,) seed of a validation's sampling: (seed, steps taken)."""
        step = tf.cast(self.steps_taken % 2**31, tf.int32)
        return tf.stack([tf.constant(self.seed % 2**31, tf.int32), step])

    def test_step(self, data: Any) -> dict[str, tf.Tensor]:
        batch = check_batch(data)
        words, scored = self._words(batch), batch["scored"]
        seed = self.validation_seed()
        teacher = None
        if self.validation == "teacher" or not self.measures:
            teacher = self.adapter.probabilities(dict(batch), training=False)  # (B, T, 2^I)
        if self.measures:
            sampled_probabilities, sampled_words = self.adapter.measure(dict(batch), "sample", seed)
            argmax_probabilities, _ = self.adapter.measure(dict(batch), "argmax", seed)
        else:
            logits = tf.math.log(tf.reshape(teacher, [-1, teacher.shape[-1]]))
            sampled_words = tf.reshape(tf.random.stateless_categorical(logits, 1, seed, dtype=tf.int32), tf.shape(words))
            sampled_probabilities, argmax_probabilities = None, teacher
        probabilities = teacher if self.validation == "teacher" else sampled_probabilities
        argmax_hits = tf.cast(tf.equal(tf.argmax(argmax_probabilities, -1, output_type=tf.int32), words), tf.float32)
        sampled_hits = tf.cast(tf.equal(sampled_words, words), tf.float32)
        return {
            "loss": _all_reduce(_scored_mean(self._per_step(probabilities, words), scored), "sum"),
            "argmax_accuracy": _all_reduce(_scored_mean(argmax_hits, scored), "sum"),
            "sampled_accuracy": _all_reduce(_scored_mean(sampled_hits, scored), "sum"),
        }

    def get_config(self) -> dict[str, Any]:
        """The network (a Keras layer or model) serialized, with the loss, validation and seed:
        `model.save("run.keras")` and `tf.keras.models.load_model` round-trip it."""
        if not isinstance(self.network, tf.keras.layers.Layer):
            raise NotImplementedError(f"Only a Keras network can be saved, got {type(self.network).__name__}.")
        return {"network": tf.keras.utils.serialize_keras_object(self.network), "loss": self.loss_name,
                "validation": self.validation, "seed": self.seed, "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "SequenceTaskModel":
        config = dict(config)
        network = tf.keras.utils.deserialize_keras_object(config.pop("network"))
        return cls(network, **config)

    def predict_step(self, data: Any) -> tf.Tensor:
        """Deterministic: the teacher-forced distributions given targets, else the network's run."""
        x, _, _ = tf.keras.utils.unpack_x_y_sample_weight(data)
        return self(x, training=False)
