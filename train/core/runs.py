"""One training run of a program in `train/`, shared by the sequence tasks
(`train.core.sequence_runs`) and MNIST (`train.core.mnist_train`): devices (`--distribute`), the model, the optimizer and
its schedule, training through `model.fit` with the run's callbacks (`Training` only wires them),
resuming, the progress bar, the summary and the files.

Under `--distribute` the strategy is made first, before TensorFlow runs anything
(`MultiWorkerMirroredStrategy`'s rule); the model and the optimizer are made
in its scope. Only the chief (worker 0) writes: the other workers take no lock, write no
checkpoint, summary, history or plot, and say so. `--resume` reads the run folder on every
worker, so the workers need the same folder (a shared filesystem, or a copy).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import math
import os
import time
from typing import Any, Callable, ContextManager, Mapping, Sequence

import tensorflow as tf

from qrnn_tfq.baselines import RecurrentBaseline
from qrnn_tfq.training import (
    BEST_CHECKPOINT,
    LATEST_CHECKPOINT,
    Lbfgs,
    MinibatchLbfgs,
    QRNNSequenceModel,
    RunRecord,
    ScaledSchedule,
    SequenceTaskModel,
    TrainerConfig,
    TrainingResult,
    fit_arguments,
    load_checkpoint,
    make_optimizer,
    run_callbacks as run_record_callbacks,
)
from qrnn_tfq.training import distribute
from qrnn_tfq.training.run_files import ResumeRun
from train.core import run_folder, warm_start
from train.core.config import LBFGS_OPTIMIZERS, RunConfig
from train.core.outputs import ProgressBar, plot_history, write_history_csv, write_json

LR_DECAY_FLOOR = 0.05  # the cosine decay ends at this fraction of the learning rate


# ---- devices -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Distribution:
    """The run's `tf.distribute` strategy (None: one device) and this process's part in it."""

    strategy: Any = None
    chief: bool = True
    worker: int = 0
    workers: int = 1

    @property
    def replicas(self) -> int:
        return distribute.replicas(self.strategy)

    def scope(self) -> ContextManager[Any]:
        """The strategy's scope, in which models and optimizers are made."""
        return contextlib.nullcontext() if self.strategy is None else self.strategy.scope()

    def lock(self, folder: str) -> ContextManager[Any]:
        """The chief holds `folder`'s run lock; the other workers touch nothing."""
        return run_folder.RunLock(folder) if self.chief else contextlib.nullcontext()


def _worker(strategy: Any) -> tuple[int, int]:
    """(this worker's index, workers) of a multi-worker strategy's cluster; (0, 1) otherwise."""
    resolver = getattr(strategy, "cluster_resolver", None)
    spec = None if resolver is None else resolver.cluster_spec()
    if not spec or not spec.jobs:
        return 0, 1
    jobs = [job for job in ("chief", "worker") if job in spec.jobs]
    first = {job: sum(spec.num_tasks(j) for j in jobs[: jobs.index(job)]) for job in jobs}
    return first.get(resolver.task_type, 0) + int(resolver.task_id or 0), sum(spec.num_tasks(j) for j in jobs)


def make_distribution(parser: argparse.ArgumentParser, args: RunConfig,
                      batches: Mapping[str, int] | None = None) -> Distribution:
    """The strategy of `--distribute` (call it before TensorFlow runs anything); a parser error
    for a bad TF_CONFIG, an L-BFGS optimizer over several replicas, or a global batch
    (`batches`: option -> sequences per step) the replicas cannot share equally."""
    try:
        strategy = distribute.make_strategy(args.distribute)
    except ValueError as error:
        parser.error(f"--distribute {args.distribute}: {error}")
    replicas = distribute.replicas(strategy)
    if replicas > 1 and args.optimizer in LBFGS_OPTIMIZERS:
        parser.error(f"--optimizer {args.optimizer} runs on one device; --distribute {args.distribute} has "
                     f"{replicas} replicas (use --distribute none, or Adam, SGD or RMSprop)")
    for option, size in (batches or {}).items():
        if size % replicas:
            parser.error(f"{option}: the {size} sequences of a step must split equally over the {replicas} replicas "
                         f"of --distribute {args.distribute}")
    worker, workers = _worker(strategy)
    result = Distribution(strategy, distribute.is_chief(strategy), worker, workers)
    if not result.chief:
        print(f"worker {worker} of {workers}: training with the chief (worker 0), which writes the run's outputs; "
              "this worker writes nothing", flush=True)
    return result


# ---- model, optimizer, trainer -----------------------------------------------------------


def count_parameters(model: QRNNSequenceModel | RecurrentBaseline) -> int:
    """Trainable scalars of a QRNN (SPEC section 3's count) or a baseline."""
    if isinstance(model, RecurrentBaseline):
        return model.num_parameters
    return model.layer.qrnn_config.num_parameters


def learning_rate_schedule(args: RunConfig) -> float | tf.keras.optimizers.schedules.LearningRateSchedule:
    """`--lr`; with `--lr-decay-steps` the cosine decay to 5 % of it, after a linear rise from 0
    over `--lr-warmup` steps if the program has that option and it is set."""
    warmup = getattr(args, "lr_warmup", None)
    if args.lr_decay_steps is None:
        return args.lr
    if warmup:
        return tf.keras.optimizers.schedules.CosineDecay(0.0, args.lr_decay_steps, alpha=LR_DECAY_FLOOR,
                                                         warmup_target=args.lr, warmup_steps=warmup)
    return tf.keras.optimizers.schedules.CosineDecay(args.lr, args.lr_decay_steps, alpha=LR_DECAY_FLOOR)


def make_keras_optimizer(args: RunConfig) -> tuple[Any, tf.Variable | None]:
    """`make_optimizer`; with `--lr-decay-steps` or `--rollback` its learning rate is a
    `ScaledSchedule` (the cosine decay, a function of the optimizer's step counter, which
    checkpoints keep, so a resumed run continues it; the scale `--rollback` lowers).
    Returns the optimizer and the schedule's scale (None without one)."""
    if getattr(args, "lr_decay_steps", None) is None and getattr(args, "rollback", None) is None:
        return make_optimizer(args.optimizer, args.lr, args.clip_norm), None
    schedule = ScaledSchedule(learning_rate_schedule(args))  # given at construction: MultiWorkerMirroredStrategy needs it (make_optimizer)
    return make_optimizer(args.optimizer, schedule, args.clip_norm), schedule.scale


@dataclasses.dataclass
class Training:
    """One seed's training wired for `model.fit` (no loop of its own): the compiled
    `SequenceTaskModel`, the run's `RunRecord`, `fit`'s arguments, where the run's files go,
    the checkpoint it resumes from (`resume`) and the caller's callbacks."""

    model: SequenceTaskModel
    record: RunRecord
    fit_arguments: dict[str, Any]
    folder: str | None = None
    run_config: dict[str, Any] = dataclasses.field(default_factory=dict)
    chief: bool = True
    callbacks: list[Any] = dataclasses.field(default_factory=list)
    resume_from: str | None = None

    @property
    def config(self) -> TrainerConfig:
        return self.record.config

    def callback_list(self, *more: Any) -> list[Any]:
        """The run's callbacks (resume first), then `more`, then the caller's."""
        return [*run_record_callbacks(self.record, folder=self.folder, run_config=self.run_config,
                                      resume=self.resume_from, chief=self.chief), *more, *self.callbacks]

    def fit(self, *more_callbacks: Any) -> TrainingResult:
        """`model.fit` with the run's callbacks; the record's result (a run of no steps,
        `--max-steps 0`, trains nothing: its `RunRecord` starts `fit` past the end)."""
        self.model.fit(**self.fit_arguments, callbacks=self.callback_list(*more_callbacks))
        return self.record.result()


def make_trainer(args: argparse.Namespace, model: Any, sample_batch: Callable[[int], Any], validation_batch: Any,
                 seed: int, *, distribution: Distribution | None = None, folder: str | None = None,
                 config: Mapping[str, Any] | None = None, callbacks: Sequence[Any] = ()) -> Training:
    """One seed's training from the program's (filled) arguments: a `SequenceTaskModel` around
    `model` compiled with Adam, SGD or RMSprop (`make_keras_optimizer`), full-batch L-BFGS on
    the first batch (`lbfgs`) or minibatch L-BFGS (`lbfgs-minibatch`). Make it in
    `distribution.scope()`. Batches are seeded per step, so a resumed run repeats an
    uninterrupted one exactly."""
    distribution = distribution or Distribution()
    trainer_config = TrainerConfig(
        max_steps=args.max_steps, stop_loss=args.stop_loss, target_loss=getattr(args, "target_loss", None),
        loss=args.loss, validate_every=args.validate_every, validation=args.validation, seed=seed,
        patience=getattr(args, "patience", None), rollback_factor=getattr(args, "rollback", None),
    )
    if args.optimizer == "lbfgs":  # one fixed batch: the first
        fixed = sample_batch(0)
        sample_batch, optimizer = (lambda step: fixed), Lbfgs(memory=args.lbfgs_memory)
    elif args.optimizer == "lbfgs-minibatch":
        optimizer = MinibatchLbfgs(args.lr, args.lbfgs_iterations, args.lbfgs_memory,
                                   line_search=bool(args.lbfgs_line_search), keep_best=bool(args.lbfgs_keep_best))
    else:
        optimizer, _ = make_keras_optimizer(args)
    task_model = SequenceTaskModel(model, loss=trainer_config.loss, validation=trainer_config.validation, seed=seed)
    task_model.compile(optimizer=optimizer)
    return Training(task_model, RunRecord(trainer_config),
                   fit_arguments(trainer_config, task_model, sample_batch, validation_batch), folder,
                   dict(config or {}), distribution.chief, list(callbacks))


def run_callbacks(args: RunConfig, distribution: Distribution, callbacks: Sequence[Any] | None,
                  member: str | None) -> list[Any]:
    """`callbacks` (from the program's caller) and, on the chief, TensorBoard's with
    `--tensorboard DIR` (DIR/`member` for one of several seeds or members)."""
    result = list(callbacks or ())
    if getattr(args, "tensorboard", None) and distribution.chief:
        result.append(tf.keras.callbacks.TensorBoard(os.path.join(args.tensorboard, member or "")))
    return result


# ---- resuming and training ---------------------------------------------------------------


def resume(trainer: Training, folder: str, config: Mapping[str, Any], source: str | None = None) -> int | None:
    """Makes `trainer`'s `fit` continue from `folder`/latest.npz (or best.npz, `source`) if it
    exists (a `ResumeRun` callback; its run settings must equal `config`; older names are
    read as today's); returns the step it resumes from. A mismatch or a corrupt file exits
    with a clear message, which offers an intact best.npz."""
    name = BEST_CHECKPOINT if source == "best" else LATEST_CHECKPOINT
    path = os.path.join(folder, name)
    if not os.path.exists(path):
        if source == "best" and os.path.exists(os.path.join(folder, LATEST_CHECKPOINT)):
            raise SystemExit(f"error: cannot resume from {path}: there is none (--resume-from latest continues from "
                             f"{os.path.join(folder, LATEST_CHECKPOINT)})")
        print(f"no checkpoint at {path}; starting a new run")
        return None
    try:
        saved = run_folder.current_names(load_checkpoint(path).config.get("run", {}))
    except ValueError as error:
        raise SystemExit(f"error: cannot resume from {path}: {error}{_best_hint(folder, name)}") from error
    different = run_folder.differences(saved, config)
    if different:
        raise SystemExit(
            f"error: cannot resume from {path}: its settings differ from this run's as (checkpoint, now): {different}"
        )
    try:
        ResumeRun(path, trainer.record).check(trainer.model)
    except ValueError as error:
        raise SystemExit(f"error: cannot resume from {path}: {error}") from error
    trainer.resume_from = path
    return load_checkpoint(path).step


def _best_hint(folder: str, damaged: str) -> str:
    """How to go on when `damaged` cannot be read: from an intact best.npz, or afresh."""
    try:
        best = None if damaged == BEST_CHECKPOINT else load_checkpoint(os.path.join(folder, BEST_CHECKPOINT))
    except (FileNotFoundError, ValueError):
        best = None
    if best is None:
        return "\nThere is no intact best.npz to continue from; --overwrite starts afresh."
    loss = "" if best.best_validation_loss is None else f", validation loss {best.best_validation_loss:.4g}"
    return (f"\n{best.path} is intact (step {best.step}{loss}): add --resume-from best to continue from it "
            f"(the steps after {best.step} run again), or --overwrite to start afresh.")


class _Progress(tf.keras.callbacks.Callback):
    """A `ProgressBar` over the step budget, from the step `fit` starts at (after a resume)."""

    def __init__(self, record: RunRecord, total: int, description: str, enabled: bool, accuracy: bool) -> None:
        super().__init__()
        self.record, self.options = record, (total, description, enabled, accuracy)
        self.bar: ProgressBar | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        total, description, enabled, accuracy = self.options
        self.bar = ProgressBar(total, int(self.model.steps_taken.numpy()), description, enabled, accuracy=accuracy,
                               history=self.record.history)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.bar(self.record.history[-1])

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.bar.close()


def fit(trainer: Training, args: argparse.Namespace, description: str, *, accuracy: bool = False) -> TrainingResult:
    """`model.fit` with the run's callbacks and a progress bar over the step budget (unless `--no-progress`)."""
    return trainer.fit(_Progress(trainer.record, args.max_steps, description, args.progress, accuracy))


@dataclasses.dataclass(frozen=True, eq=False)
class Trained:
    """One seed (or ensemble member) trained by `train_member`."""

    model: QRNNSequenceModel | RecurrentBaseline
    trainer: Any
    result: TrainingResult
    resumed_from: int | None
    warm_start: dict[str, Any] | None = None  # the warm start's steps, time and best validation (`--warm-start`)


ENGINE_LINES = {
    "native": "native (the fused C++ op, qrnn_tfq/native)",
    "state_vector": "state_vector (XLA-compiled TensorFlow)",
    "tfq": "tfq (TensorFlow Quantum)",
}


@functools.cache
def say_engine(name: str) -> None:
    """Print once per program which engine the QRNN runs on."""
    print(f"engine: {ENGINE_LINES.get(name, name)}", flush=True)


def train_member(run: RunConfig, *, seed: int, folder: str, config: Mapping[str, Any], io_lanes: int,
                 sample_batch: Callable[[int], Any], validation_batch: Any, distribution: Distribution,
                 callbacks: Sequence[Any] | None, member: str | None, description: str, accuracy: bool = False,
                 start: Callable[[Any], None] | None = None) -> Trained:
    """Train (or resume) one seed of any program into `folder` (the chief makes it): its model
    (`run.build_model`) and training made in the strategy's scope, resumed with `--resume`,
    fitted with a progress bar.

    Args:
        config: the run config its checkpoints store and `--resume` compares.
        sample_batch: step -> that step's batch; `validation_batch`: the fixed validation batch.
        callbacks: the program caller's Keras callbacks; `member`: the TensorBoard subfolder.
        start: called with the model before a run that does not resume (`--init-from`).

    With `run.warm_start` a run that does not resume first trains its warm start
    (`train.core.warm_start`) in `folder`/warm-start and starts from its best weights.
    """
    if distribution.chief:
        os.makedirs(folder, exist_ok=True)
    with distribution.scope():
        model = run.build_model(io_lanes, seed)
        trainer = make_trainer(run, model, sample_batch, validation_batch, seed, distribution=distribution,
                               folder=folder, config=config,
                               callbacks=run_callbacks(run, distribution, callbacks, member))
    if isinstance(model, RecurrentBaseline):
        print(f"{model.kind} baseline (hidden {model.hidden}, {model.encoding} input): {model.num_parameters} parameters",
              flush=True)
    elif distribution.chief:
        say_engine(model.layer.engine_name)
    resumed_from = resume(trainer, folder, config, run.resume_from) if run.resume else None
    if start is not None and resumed_from is None:
        start(model)
    warm_run, warmed = warm_start.warm_start_run(run), None
    if warm_run is not None and resumed_from is None:
        warm_folder = os.path.join(folder, warm_start.FOLDER)
        began = time.perf_counter()
        trained = train_member(warm_run, seed=seed, folder=warm_folder, config=warm_start.warm_start_config(config, warm_run),
                               io_lanes=io_lanes, sample_batch=sample_batch, validation_batch=validation_batch,
                               distribution=distribution, callbacks=None, member=member,
                               description=f"{description} warm start", accuracy=accuracy)
        if distribution.chief:
            write_run_files(warm_folder, trained.result, stop_loss=None, title=f"{description} warm start")
        warmed = {**warm_start.load_warm_weights(model, warm_folder), "steps": trained.result.steps,
                  "seconds": time.perf_counter() - began}
    elif warm_run is not None:  # resumed after its warm start: report it
        warmed = warm_start.warm_summary(os.path.join(folder, warm_start.FOLDER))
    result = fit(trainer, run, description, accuracy=accuracy)
    return Trained(model, trainer, result, resumed_from, warmed)


# ---- summaries and files -----------------------------------------------------------------


def result_summary(result: TrainingResult, *, seed: int, folder: str, resumed_from: int | None, num_parameters: int,
                   train_seconds: float, word_accuracy: bool = False) -> dict[str, Any]:
    """What every run's summary reports of its training (the programs add their own fields)."""
    last, p_min = result.last_validation, result.min_postselection
    new_steps = result.steps - (resumed_from or 0)
    accuracy = "word_accuracy" if word_accuracy else "accuracy"
    return {
        "seed": seed,
        "folder": folder,
        "steps": result.steps,
        "steps_to_target": result.steps_to_target,
        "target_loss": result.target_loss,
        "stopped": result.stopped,
        "best_step": result.best_step,
        "best_validation_loss": result.best_validation_loss,
        "final_validation": None if last is None else {
            "step": last.step, "loss": last.validation_loss, f"argmax_{accuracy}": last.validation_argmax_accuracy,
            f"sampled_{accuracy}": last.validation_sampled_accuracy,
        },
        "rollbacks": list(result.rollbacks),
        "final_lr_scale": result.lr_scale,
        "min_postselection": p_min,
        "amplification_overhead": 1 / math.sqrt(p_min) if p_min > 0 else None,
        "num_parameters": num_parameters,
        "seconds_per_step": train_seconds / new_steps if new_steps else None,
        "resumed_from_step": resumed_from,
    }


def write_run_files(folder: str, result: TrainingResult, *, stop_loss: float | None, title: str) -> None:
    """A run's history.csv and training_curve.png (the chief's)."""
    write_history_csv(os.path.join(folder, "history.csv"), result.history)
    plot_history(os.path.join(folder, "training_curve.png"), result.history, stop_loss, title)


def write_summary(folder: str, summary: Mapping[str, Any]) -> None:
    write_json(os.path.join(folder, "summary.json"), summary)
