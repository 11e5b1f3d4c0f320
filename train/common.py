"""What the training programs in `train/` share: arguments, output folders and the runs of
sequence tasks (`qrnn_tfq.training.Trainer`); bars, files and plots are `train.outputs`'.

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
from qrnn_tfq.baselines import BASELINE_KINDS, ENCODINGS, RecurrentBaseline
from qrnn_tfq.config import RECURRENCES
from qrnn_tfq.engine.base import engine_names
from qrnn_tfq.losses import LOSSES
from qrnn_tfq.training import (
    BEST_CHECKPOINT,
    LATEST_CHECKPOINT,
    OPTIMIZERS,
    QRNNSequenceModel,
    Trainer,
    TrainerConfig,
    TrainingResult,
    VALIDATIONS,
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
RESUME_SOURCES = ("latest", "best")
ENGINES = tuple(engine_names())
# Arguments that do not change what a run computes, so a resumed run may change them.
_NOT_RUN_CONFIG = ("out", "resume", "resume_from", "overwrite", "seeds", "seed", "max_steps", "stop_loss", "target_loss",
                   "progress", "verbose")


@dataclasses.dataclass(frozen=True)
class Defaults:
    """A program's (or task's) default topology and optimizer settings."""

    workspace: int
    stages: int
    degree: int
    batch: int
    validation_batch: int
    learning_rate: float
    order: int = 2
    optimizer: str = "adam"


# ---- arguments ---------------------------------------------------------------------------


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {value}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def probability(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a probability in [0, 1), got {text}")
    return value


def add_model_arguments(parser: argparse.ArgumentParser, default_help: str = "") -> None:
    """QRNN topology and initialisation (SPEC sections 2-3); defaults None mean "per program/task"."""
    group = parser.add_argument_group("model (QRNN topology, SPEC section 3)")
    group.add_argument("--workspace", type=positive_int, help=f"workspace lanes W {default_help}")
    group.add_argument("--stages", type=non_negative_int, help=f"work stages S {default_help}")
    group.add_argument("--degree", type=positive_int, help=f"neuron degree d {default_help}")
    group.add_argument("--order", type=non_negative_int, help="neuron order ord (default 2)")
    group.add_argument("--bias", type=float, default=math.pi / 2, help="neuron offset b (default pi/2)")
    group.add_argument("--theta-stddev", type=non_negative_float, default=0.1, help="spread of the initial biases")
    group.add_argument("--phi-stddev", type=non_negative_float, default=0.01, help="spread of the initial weights")
    group.add_argument("--work-stddev", type=non_negative_float, default=0.01, help="spread of the initial work angles")
    # Default None, not 0: runs from before the option resume with unchanged settings.
    group.add_argument("--amplification", type=non_negative_int, metavar="K",
                       help="K rounds of fixed-point amplitude amplification instead of each neuron's ideal "
                            "postselection, in training and evaluation (SPEC section 8; needs --order >= 1; default 0)")
    group.add_argument("--recurrence", choices=RECURRENCES,
                       help="postselected (the paper's QRNN) or coherent (SPEC section 8: order-0 neurons, nothing "
                            "measured; --order then defaults to 0) (default postselected)")
    group.add_argument("--engine", choices=ENGINES,
                       help="simulator: state_vector, or tfq (TensorFlow Quantum's layers; coherent recurrence only) "
                            "(default state_vector)")
    group.add_argument("--shots", type=positive_int,
                       help="with --engine tfq: estimate every word probability from this many measurements per "
                            "Z string (default: exact)")
    group.add_argument("--noise", type=probability,
                       help="with --engine tfq: depolarizing probability on every qubit of every gate (default 0)")


MODELS = ("qrnn", *BASELINE_KINDS)


def add_baseline_arguments(parser: argparse.ArgumentParser) -> None:
    """`--model {qrnn,rnn,lstm}` and the classical baselines' options (`qrnn_tfq.baselines`)."""
    group = parser.add_argument_group("classical baselines")
    group.add_argument("--model", choices=MODELS, default="qrnn",
                       help="qrnn, or a classical baseline: rnn (SimpleRNN) or lstm, each with a linear read-out (default qrnn)")
    group.add_argument("--hidden", type=positive_int, help="baseline hidden size (default: the paper's, rnn 22, lstm 10)")
    group.add_argument("--encoding", choices=ENCODINGS, default="one_hot",
                       help="how a baseline reads a word: one_hot over the 2^I words (the paper's) or its I bits")


def check_baseline_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse options a classical baseline cannot honour (it has no measurement to sample)."""
    if getattr(args, "model", "qrnn") != "qrnn" and args.validation == "sampled":
        parser.error(f"--validation sampled needs the QRNN's measurements; --model {args.model} has none (use teacher)")


def add_training_arguments(parser: argparse.ArgumentParser, default_help: str = "") -> None:
    """Optimizer, loss, validation and run options."""
    group = parser.add_argument_group("training")
    group.add_argument("--optimizer", choices=OPTIMIZERS, help="optimizer (default adam; L-BFGS: train.mnist --optimizer lbfgs)")
    group.add_argument("--lr", type=positive_float, help=f"learning rate {default_help}")
    group.add_argument("--clip-norm", type=positive_float, default=0.5, help="global gradient-norm clip (default 0.5)")
    group.add_argument("--batch", type=positive_int, help=f"sequences per step {default_help}")
    group.add_argument("--val-batch", type=positive_int, help=f"sequences in the fixed validation batch {default_help}")
    group.add_argument("--loss", choices=sorted(LOSSES), default="paper",
                       help="'paper': the paper's shifted loss (its thresholds refer to it); 'nll': -log p (default paper)")
    group.add_argument("--validation", choices=VALIDATIONS, default="teacher",
                       help="validation loss of a teacher-forced run, or of one that samples the scored steps "
                            "as the paper's code did (default teacher)")
    group.add_argument("--validate-every", type=positive_int, default=10, help="steps between validations (default 10)")
    group.add_argument("--stop-loss", type=float, default=1e-3, help="stop at this validation loss (default 1e-3; a negative value never stops)")
    group.add_argument("--target-loss", type=float, help="report the steps to this validation loss (default: --stop-loss)")
    group.add_argument("--max-steps", type=non_negative_int, default=3000, help="step budget (default 3000)")

    group = parser.add_argument_group("run")
    group.add_argument("--seed", type=non_negative_int, default=0, help="first seed (default 0)")
    group.add_argument("--seeds", type=positive_int, default=1, help="run this many seeds and report the median steps")
    group.add_argument("--out", help="output folder (default runs/<program>-seed<N>)")
    add_resume_arguments(group, "continue from <out>/latest.npz (each seed's) if it exists")
    group.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    group.add_argument("-v", "--verbose", action="store_true", help="log every validation; show TensorFlow's messages")


def add_resume_arguments(group: argparse._ArgumentGroup, resume_help: str) -> None:
    """`--resume`, `--resume-from` and `--overwrite`: what a run does with a run already in its folder."""
    group.add_argument("--resume", action="store_true", help=resume_help)
    group.add_argument("--resume-from", choices=RESUME_SOURCES,
                       help="the checkpoint --resume continues from (implies --resume): latest.npz (default) or "
                            "best.npz, e.g. when latest.npz is damaged (the steps after the best one run again)")
    group.add_argument("--overwrite", action="store_true",
                       help="delete a run already in the folder and start afresh (else such a folder is refused)")


def check_run_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    """`--resume-from` implies `--resume`, which excludes `--overwrite`; returns the completed arguments."""
    if args.resume_from is not None:
        args = argparse.Namespace(**{**vars(args), "resume": True})
    if args.resume and args.overwrite:
        parser.error("--overwrite starts afresh; it cannot be combined with --resume or --resume-from")
    return args


def fill_defaults(args: argparse.Namespace, defaults: Defaults) -> argparse.Namespace:
    """A copy of `args` with the options left at None set from `defaults`."""
    values = dict(vars(args))
    for name, value in (
        ("workspace", defaults.workspace), ("stages", defaults.stages), ("degree", defaults.degree),
        ("order", defaults.order), ("batch", defaults.batch), ("val_batch", defaults.validation_batch),
        ("lr", defaults.learning_rate), ("optimizer", defaults.optimizer),
    ):
        if values.get(name) is None:
            values[name] = 0 if name == "order" and values.get("recurrence") == "coherent" else value
    return argparse.Namespace(**values)


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
