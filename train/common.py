"""What the training programs in `train/` share: arguments, output folders, progress
bars, result files and plots. The training itself is `qrnn_tfq.training.Trainer`.

Every run writes into its folder: `latest.npz` and `best.npz` (checkpoints),
`history.csv` (one row per step), `training_curve.png` and `summary.json`. With
`--seeds N` the seeds `seed .. seed+N-1` run one after another, each in its own folder,
and a `summary.json` over all of them goes to the parent folder.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter off the terminal

import argparse  # noqa: E402
import csv  # noqa: E402
import dataclasses  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from typing import Any, Sequence  # noqa: E402

import qrnn_tfq  # noqa: E402  (selects tf-keras before TensorFlow loads)

import matplotlib  # noqa: E402
import numpy as np  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from tqdm import tqdm  # noqa: E402

from data.sequences import TaskSpec  # noqa: E402
from qrnn_tfq.baselines import BASELINE_KINDS, ENCODINGS, RecurrentBaseline  # noqa: E402
from qrnn_tfq.losses import LOSSES  # noqa: E402
from qrnn_tfq.training import (  # noqa: E402
    HISTORY_FIELDS,
    LATEST_CHECKPOINT,
    OPTIMIZERS,
    QRNNSequenceModel,
    StepRecord,
    Trainer,
    TrainerConfig,
    TrainingResult,
    VALIDATIONS,
    atomic_write_text,
    atomic_writer,
    history_columns,
    load_checkpoint,
    make_optimizer,
)

RUNS_FOLDER = "runs"
# Arguments that do not change what a run computes, so a resumed run may change them.
_NOT_RUN_CONFIG = ("out", "resume", "seeds", "seed", "max_steps", "stop_loss", "target_loss", "progress", "verbose")


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
    group.add_argument("--resume", action="store_true", help="continue from <out>/latest.npz if it exists")
    group.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    group.add_argument("-v", "--verbose", action="store_true", help="log every validation")


def fill_defaults(args: argparse.Namespace, defaults: Defaults) -> argparse.Namespace:
    """A copy of `args` with the options left at None set from `defaults`."""
    values = dict(vars(args))
    for name, value in (
        ("workspace", defaults.workspace), ("stages", defaults.stages), ("degree", defaults.degree),
        ("order", defaults.order), ("batch", defaults.batch), ("val_batch", defaults.validation_batch),
        ("lr", defaults.learning_rate), ("optimizer", defaults.optimizer),
    ):
        if values.get(name) is None:
            values[name] = value
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
    layer = qrnn_tfq.QRNN(
        args.workspace, io_width, args.stages, args.degree, args.order, args.bias,
        args.theta_stddev, args.phi_stddev, args.work_stddev, "sample", seed,
    )
    return QRNNSequenceModel(layer)


def seed_folder(args: argparse.Namespace, prefix: str, seed: int) -> str:
    if args.seeds == 1:
        return args.out or os.path.join(RUNS_FOLDER, f"{prefix}-seed{seed}")
    return os.path.join(group_folder(args, prefix), f"seed{seed}")


def group_folder(args: argparse.Namespace, prefix: str) -> str:
    return args.out or os.path.join(RUNS_FOLDER, f"{prefix}-seeds{args.seed}-{args.seed + args.seeds - 1}")


class ProgressBar:
    """A tqdm bar over the step budget that shows the loss, validation loss and p_min."""

    def __init__(self, total: int, initial: int, description: str, enabled: bool) -> None:
        self.bar = tqdm(total=total, initial=initial, desc=description, unit="step", disable=not enabled, dynamic_ncols=True)
        self.validation_loss = float("nan")

    def __call__(self, record: StepRecord) -> None:
        if record.validated:
            self.validation_loss = record.validation_loss
        self.bar.update(1)
        self.bar.set_postfix(
            loss=f"{record.train_loss:.3g}", val=f"{self.validation_loss:.3g}", p_min=f"{record.min_postselection:.2g}",
            refresh=False,
        )

    def close(self) -> None:
        self.bar.close()


def resume(trainer: Trainer, path: str, config: dict[str, Any]) -> int | None:
    """Restores `path` into `trainer` if it exists (its run settings must equal `config`);
    returns the step it resumed from. A mismatch or a corrupt file exits with a clear message."""
    if not os.path.exists(path):
        print(f"no checkpoint at {path}; starting a new run")
        return None
    try:
        saved = load_checkpoint(path).config.get("run", {})
        different = {key: (saved.get(key), config.get(key)) for key in sorted(set(saved) | set(config))
                     if saved.get(key) != config.get(key)}
        if different:
            raise SystemExit(
                f"error: cannot resume from {path}: its settings differ from this run's as (checkpoint, now): {different}"
            )
        return trainer.restore(path).step
    except ValueError as error:
        raise SystemExit(f"error: cannot resume from {path}: {error}") from error


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
    latest = os.path.join(folder, LATEST_CHECKPOINT)
    if args.resume:
        resumed_from = resume(trainer, latest, config)
    else:
        resumed_from = None
        if os.path.exists(latest):
            print(f"note: a new run replaces the checkpoints in {folder} (--resume continues one)")
    bar = ProgressBar(args.max_steps, trainer.step, f"{prefix} seed {seed}", args.progress)
    trainer.on_step = bar
    try:
        result = trainer.fit()
    finally:
        bar.close()
    summary = summarize(result, trainer.config, config, seed, folder, resumed_from, model)
    write_outputs(folder, result, summary, args.stop_loss)
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


# ---- outputs -----------------------------------------------------------------------------


def write_json(path: str, value: Any) -> None:
    """Writes `value` as JSON atomically; non-finite floats become null (JSON has no NaN)."""
    def clean(item: Any) -> Any:
        if isinstance(item, float) and not math.isfinite(item):
            return None
        if isinstance(item, dict):
            return {key: clean(v) for key, v in item.items()}
        if isinstance(item, (list, tuple)):
            return [clean(v) for v in item]
        return item

    atomic_write_text(path, json.dumps(clean(value), indent=2, allow_nan=False) + "\n")


def write_history_csv(path: str, history: Sequence[StepRecord]) -> None:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HISTORY_FIELDS)
    for row in history:
        writer.writerow(["" if getattr(row, name) is None else getattr(row, name) for name in HISTORY_FIELDS])
    atomic_write_text(path, text.getvalue())


def plot_history(path: str, history: Sequence[StepRecord], stop_loss: float | None, title: str) -> None:
    columns = history_columns(history)
    steps, validated = columns["step"], ~np.isnan(columns["validation_loss"])
    floor = 1e-12  # the shifted loss reaches 0; keep the log axis finite
    figure, (losses, accuracies) = plt.subplots(2, 1, figsize=(7, 6), sharex=True, height_ratios=(2, 1))
    losses.semilogy(steps, columns["train_loss"].clip(floor), lw=0.6, alpha=0.6, label="training loss")
    losses.semilogy(steps[validated], columns["validation_loss"][validated].clip(floor), "o-", ms=2, label="validation loss")
    if stop_loss is not None and stop_loss > 0:
        losses.axhline(stop_loss, color="k", ls="--", lw=0.8, label=f"stop loss {stop_loss:g}")
    losses.set_ylabel("loss")
    losses.set_title(title)
    losses.legend()
    for name, label in (("validation_argmax_accuracy", "argmax accuracy"), ("validation_sampled_accuracy", "sampled accuracy")):
        accuracies.plot(steps[validated], columns[name][validated], ".-", ms=2, label=label)
    accuracies.set_xlabel("step")
    accuracies.set_ylabel("validation accuracy")
    accuracies.set_ylim(-0.02, 1.02)
    accuracies.legend()
    figure.tight_layout()
    with atomic_writer(path) as file:
        figure.savefig(file, format="png", dpi=120)
    plt.close(figure)


def write_outputs(folder: str, result: TrainingResult, summary: dict[str, Any], stop_loss: float | None) -> None:
    write_history_csv(os.path.join(folder, "history.csv"), result.history)
    plot_history(os.path.join(folder, "training_curve.png"), result.history, stop_loss, os.path.basename(folder))
    write_json(os.path.join(folder, "summary.json"), summary)


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
    """Train every seed, print what each reached and, for several, the median; write the summaries."""
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    start = time.perf_counter()
    summaries = []
    for seed in range(args.seed, args.seed + args.seeds):
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
