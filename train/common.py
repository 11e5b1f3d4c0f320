"""What the training programs in `train/` share: output folders and the runs of sequence
tasks (`qrnn_tfq.training.Trainer`). The arguments are in `train.arguments` (re-exported
here); bars, files and plots in `train.outputs`.

Every run writes into its folder: `latest.npz` and `best.npz` (checkpoints),
`history.csv` (one row per step), `training_curve.png` and `summary.json`. With
`--seeds N` the seeds `seed .. seed+N-1` run one after another, each in its own folder,
and a `summary.json` over all of them goes to the parent folder. A run locks its (top)
folder and starts over a run there only with `--overwrite` (`train.run_folder`).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import statistics
import time
from typing import Any, Sequence

import qrnn_tfq  # (selects tf-keras before TensorFlow loads)

from data.sequences import TaskSpec
from qrnn_tfq.baselines import RecurrentBaseline
from qrnn_tfq.training import (
    BEST_CHECKPOINT,
    LATEST_CHECKPOINT,
    QRNNSequenceModel,
    Trainer,
    TrainerConfig,
    TrainingResult,
    load_checkpoint,
    make_optimizer,
)
from train import quiet, run_folder
from train.outputs import CHECKPOINTS, ProgressBar, outputs_line, run_title
from train.outputs import plot_history as plot_history
from train.outputs import write_history_csv as write_history_csv
from train.outputs import write_json as write_json

RUNS_FOLDER = "runs"
RUN_OUTPUTS = ("summary.json", "history.csv", "training_curve.png", *CHECKPOINTS)
# Arguments that do not change what a run computes, so a resumed run may change them.
_NOT_RUN_CONFIG = ("out", "resume", "resume_from", "overwrite", "seeds", "seed", "max_steps", "stop_loss", "target_loss",
                   "progress", "verbose")


# The shared arguments live in train.arguments; programs and tests use them through here too.
from train.arguments import (  # noqa: E402
    Defaults as Defaults,
    positive_int as positive_int,
    non_negative_int as non_negative_int,
    positive_float as positive_float,
    non_negative_float as non_negative_float,
    probability as probability,
    add_model_arguments as add_model_arguments,
    MODELS as MODELS,
    add_baseline_arguments as add_baseline_arguments,
    check_baseline_arguments as check_baseline_arguments,
    add_training_arguments as add_training_arguments,
    add_resume_arguments as add_resume_arguments,
    check_run_arguments as check_run_arguments,
    fill_defaults as fill_defaults,
    RESUME_SOURCES as RESUME_SOURCES,
    ENGINES as ENGINES,
)


def run_config(args: argparse.Namespace, task: TaskSpec, program: str) -> dict[str, Any]:
    """The settings that determine what a run computes (stored in checkpoints and summaries)."""
    config = {key: value for key, value in sorted(vars(args).items()) if key not in _NOT_RUN_CONFIG}
    config.update(program=program, task=dataclasses.asdict(task))
    return config


# ---- one run -----------------------------------------------------------------------------


def build_model(args: argparse.Namespace, io_width: int, seed: int) -> QRNNSequenceModel | RecurrentBaseline:
    kind = getattr(args, "model", "qrnn")
    if kind != "qrnn":
        return RecurrentBaseline(kind, io_width, getattr(args, "hidden", None), getattr(args, "encoding", "one_hot"), seed)
    try:
        layer = qrnn_tfq.QRNN(
            args.workspace, io_width, args.stages, args.degree, args.order, args.bias,
            args.theta_stddev, args.phi_stddev, args.work_stddev, "sample", seed,
            engine=getattr(args, "engine", None) or "state_vector",
            amplification=getattr(args, "amplification", None) or 0,
            recurrence=getattr(args, "recurrence", None) or "postselected",
            shots=getattr(args, "shots", None), noise=getattr(args, "noise", None) or 0.0,
        )
    except (TypeError, ValueError) as error:  # a topology the layer refuses, e.g. --amplification with --order 0
        raise SystemExit(f"error: {error}") from error
    return QRNNSequenceModel(layer)


def seed_folder(args: argparse.Namespace, prefix: str, seed: int) -> str:
    if args.seeds == 1:
        return args.out or os.path.join(RUNS_FOLDER, f"{prefix}-seed{seed}")
    return os.path.join(group_folder(args, prefix), f"seed{seed}")


def group_folder(args: argparse.Namespace, prefix: str) -> str:
    return args.out or os.path.join(RUNS_FOLDER, f"{prefix}-seeds{args.seed}-{args.seed + args.seeds - 1}")


def resume(trainer: Trainer, folder: str, config: dict[str, Any], source: str | None = None) -> int | None:
    """Restores `folder`/latest.npz (or best.npz, `source`) into `trainer` if it exists (its run
    settings must equal `config`); returns the step it resumed from. A mismatch or a corrupt
    file exits with a clear message, which offers an intact best.npz."""
    name = BEST_CHECKPOINT if source == "best" else LATEST_CHECKPOINT
    path = os.path.join(folder, name)
    if not os.path.exists(path):
        if source == "best" and os.path.exists(os.path.join(folder, LATEST_CHECKPOINT)):
            raise SystemExit(f"error: cannot resume from {path}: there is none (--resume-from latest continues from "
                             f"{os.path.join(folder, LATEST_CHECKPOINT)})")
        print(f"no checkpoint at {path}; starting a new run")
        return None
    try:
        saved = load_checkpoint(path).config.get("run", {})
    except ValueError as error:
        raise SystemExit(f"error: cannot resume from {path}: {error}{_best_hint(folder, name)}") from error
    different = {key: (saved.get(key), config.get(key)) for key in sorted(set(saved) | set(config))
                 if saved.get(key) != config.get(key)}
    if different:
        raise SystemExit(
            f"error: cannot resume from {path}: its settings differ from this run's as (checkpoint, now): {different}"
        )
    try:
        return trainer.restore(path).step
    except ValueError as error:
        raise SystemExit(f"error: cannot resume from {path}: {error}") from error


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


def make_trainer(args: argparse.Namespace, task: TaskSpec, model: Any, seed: int, **kwargs: Any) -> Trainer:
    """The `Trainer` of one seed of a sequence task, from the program's arguments; `kwargs`
    (checkpoint_dir, run_config, ...) go to `Trainer`. Batches are seeded per step, so a
    resumed run repeats an uninterrupted one exactly."""
    config = TrainerConfig(
        max_steps=args.max_steps, stop_loss=args.stop_loss, target_loss=args.target_loss, loss=args.loss,
        validate_every=args.validate_every, validation=args.validation, seed=seed,
    )
    return Trainer(
        model,
        make_optimizer(args.optimizer, args.lr, args.clip_norm),
        lambda step: task.sample(args.batch, seed=(seed, 0, step)),
        task.sample(args.val_batch, seed=(seed, 1)),
        config,
        **kwargs,
    )


def train_seed(args: argparse.Namespace, task: TaskSpec, program: str, prefix: str, seed: int) -> dict[str, Any]:
    """Train one seed into its folder and return its summary."""
    folder = seed_folder(args, prefix, seed)
    os.makedirs(folder, exist_ok=True)
    config = run_config(args, task, program)
    model = build_model(args, task.io_width, seed)
    if isinstance(model, RecurrentBaseline):
        print(f"{model.kind} baseline (hidden {model.hidden}, {model.encoding} input): {model.num_parameters} parameters", flush=True)
    trainer = make_trainer(args, task, model, seed, checkpoint_dir=folder, run_config=config)
    resumed_from = resume(trainer, folder, config, args.resume_from) if args.resume else None
    bar = ProgressBar(args.max_steps, trainer.step, f"{prefix} seed {seed}", args.progress, history=trainer.history)
    trainer.on_step = bar
    try:
        result = trainer.fit()
    finally:
        bar.close()
    summary = summarize(result, trainer.config, config, seed, folder, resumed_from, model)
    write_history_csv(os.path.join(folder, "history.csv"), result.history)
    title = run_title(program, args, config["task"], seed, getattr(model, "hidden", None))
    plot_history(os.path.join(folder, "training_curve.png"), result.history, args.stop_loss, title)
    write_json(os.path.join(folder, "summary.json"), summary)
    return summary


def count_parameters(model: QRNNSequenceModel | RecurrentBaseline) -> int:
    """Trainable scalars of a QRNN (SPEC section 3's count) or a baseline."""
    if isinstance(model, RecurrentBaseline):
        return model.num_parameters
    return model.layer.qrnn_config.num_parameters


def summarize(
    result: TrainingResult, trainer_config: TrainerConfig, config: dict[str, Any], seed: int, folder: str,
    resumed_from: int | None, model: QRNNSequenceModel | RecurrentBaseline,
) -> dict[str, Any]:
    last = result.last_validation
    p_min = result.min_postselection
    new_steps = result.steps - (resumed_from or 0)
    return {
        "seed": seed,
        "folder": folder,
        "steps": result.steps,
        "steps_to_target": result.steps_to_target,
        "target_loss": result.target_loss,
        "stopped": result.stopped,
        "best_validation_loss": result.best_validation_loss,
        "best_step": result.best_step,
        "final_validation": None if last is None else {
            "step": last.step,
            "loss": last.validation_loss,
            "argmax_accuracy": last.validation_argmax_accuracy,
            "sampled_accuracy": last.validation_sampled_accuracy,
        },
        "min_postselection": p_min,
        "amplification_overhead": 1 / math.sqrt(p_min) if p_min > 0 else None,
        "num_parameters": count_parameters(model),
        "wall_time_s": result.wall_time_s,
        "seconds_per_step": result.wall_time_s / new_steps if new_steps else None,
        "resumed_from_step": resumed_from,
        "trainer": dataclasses.asdict(trainer_config),
        "config": config,
    }


# ---- results -----------------------------------------------------------------------------


def median_steps(steps: Sequence[int | None]) -> float | None:
    """Median steps to the target, a run that never reached it counting as infinitely long."""
    if not steps:
        return None
    median = statistics.median([math.inf if s is None else s for s in steps])
    return None if math.isinf(median) else median


def describe(summary: dict[str, Any]) -> str:
    target, steps = summary["target_loss"], summary["steps_to_target"]
    reached = (f"validation loss <= {target:g} after {steps} steps" if steps is not None
               else f"validation loss never <= {target} in {summary['steps']} steps (best {summary['best_validation_loss']})")
    return f"seed {summary['seed']}: {reached}; p_min {summary['min_postselection']:.3g}; {summary['wall_time_s']:.1f} s"


def run_seeds(args: argparse.Namespace, task: TaskSpec, program: str, prefix: str) -> list[dict[str, Any]]:
    """Train every seed, print what each reached and, for several, the median; write the
    summaries and say where they are. The (top) folder is locked meanwhile."""
    quiet.configure_logging(args.verbose)
    seeds = range(args.seed, args.seed + args.seeds)
    top = group_folder(args, prefix) if args.seeds > 1 else seed_folder(args, prefix, args.seed)
    with run_folder.RunLock(top):
        config = run_config(args, task, program)
        wanted = {seed_folder(args, prefix, seed): {**config, "seed": seed} for seed in seeds}
        run_folder.check_out_folder(top, wanted, resume=args.resume, overwrite=args.overwrite)
        summaries = _run_seeds(args, task, program, prefix, seeds)
    if args.seeds == 1:
        print(outputs_line(top, RUN_OUTPUTS), flush=True)
    else:
        print(outputs_line(top, ("summary.json",), list(wanted), RUN_OUTPUTS), flush=True)
    return summaries


def _run_seeds(args: argparse.Namespace, task: TaskSpec, program: str, prefix: str, seeds: range) -> list[dict[str, Any]]:
    start = time.perf_counter()
    summaries = []
    for seed in seeds:
        summary = train_seed(args, task, program, prefix, seed)
        print(describe(summary), flush=True)
        summaries.append(summary)
    if args.seeds > 1:
        steps = [s["steps_to_target"] for s in summaries]
        median = median_steps(steps)
        reached = sum(s is not None for s in steps)
        total = time.perf_counter() - start
        print(f"median steps to validation loss <= {summaries[0]['target_loss']}: {median} "
              f"({reached}/{len(steps)} seeds reached it; steps per seed {steps}; {total:.1f} s in all)")
        group = {
            "program": program, "seeds": [s["seed"] for s in summaries], "steps_to_target": steps,
            "median_steps_to_target": median, "reached_target": reached, "target_loss": summaries[0]["target_loss"],
            "learning_rate": args.lr, "wall_time_s": total, "runs": [s["folder"] for s in summaries],
            "config": summaries[0]["config"],
        }
        write_json(os.path.join(group_folder(args, prefix), "summary.json"), group)
    return summaries
