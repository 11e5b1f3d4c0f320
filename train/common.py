"""The runs of sequence tasks (`train.elman`, `train.dna`): their arguments, seeds and folders.

Every run writes into its folder: `latest.npz` and `best.npz` (checkpoints),
`history.csv` (one row per step), `training_curve.png` and `summary.json`. With
`--seeds N` the seeds `seed .. seed+N-1` run one after another, each in its own folder,
and a `summary.json` over all of them goes to the parent folder. A run locks its (top)
folder and starts over a run there only with `--overwrite` (`train.run_folder`). The
arguments are built by `train.arguments`; one run's model, trainer, resume, progress bar
and files by `train.runs` (shared with `train.mnist`); bars and plots by `train.outputs`.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import statistics
import time
from typing import Any, Callable, Sequence

from train import runs  # first: selects tf-keras before TensorFlow loads

from data.sequences import TaskSpec  # noqa: E402
from qrnn_tfq.baselines import RecurrentBaseline  # noqa: E402
from qrnn_tfq.training import Trainer  # noqa: E402
from train import arguments, quiet, run_folder  # noqa: E402
from train.outputs import CHECKPOINTS, outputs_line, run_title  # noqa: E402
from train.outputs import write_json as write_json  # noqa: E402
from train.runs import build_model as build_model  # noqa: E402
from train.runs import count_parameters as count_parameters  # noqa: E402

# The argument types, for the programs that build their own parsers (train.export, ...).
from train.arguments import (  # noqa: E402
    Defaults as Defaults,
    positive_int as positive_int,
    non_negative_int as non_negative_int,
    positive_float as positive_float,
    non_negative_float as non_negative_float,
    probability as probability,
)

RUNS_FOLDER = "runs"
RUN_OUTPUTS = ("summary.json", "history.csv", "training_curve.png", *CHECKPOINTS)


def add_shared_arguments(parser: argparse.ArgumentParser, defaults: Defaults | arguments.DefaultsTable) -> None:
    """The model, baseline, training and run groups of a sequence program, and `--seeds`."""
    arguments.add_model_arguments(parser, defaults)
    arguments.add_baseline_arguments(parser)
    arguments.add_training_arguments(parser, defaults)
    group = arguments.add_run_arguments(parser, out_help="output folder (default runs/<program>-seed<N>)",
                                        resume_help="continue from <out>/latest.npz (each seed's) if it exists")
    group.add_argument("--seeds", type=positive_int, default=1, help="run this many seeds and report the median steps")


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None,
          defaults: Defaults | arguments.DefaultsTable) -> argparse.Namespace:
    """`argv` parsed, checked and filled (per task: `defaults[args.task]` when a table)."""
    parsed = arguments.check_run_arguments(parser, parser.parse_args(argv))
    arguments.check_baseline_arguments(parser, parsed)
    chosen = defaults if isinstance(defaults, Defaults) else defaults[parsed.task]
    return arguments.fill_defaults(parsed, chosen)


def run_program(parser: argparse.ArgumentParser, argv: Sequence[str] | None,
                defaults: Defaults | arguments.DefaultsTable, task_of: Callable[[argparse.Namespace], TaskSpec],
                prefix: Callable[[argparse.Namespace], str], program: str,
                callbacks: Sequence[Any] | None) -> list[dict[str, Any]]:
    """A sequence program's `main`: parse `argv`, make the task and (first of anything in
    TensorFlow) the strategy, train every seed; returns the per-seed summaries."""
    args = parse(parser, argv, defaults)
    try:
        task = task_of(args)
    except ValueError as error:  # a length the task refuses
        parser.error(str(error))
    distribution = runs.make_distribution(parser, args, {"--batch": args.batch, "--val-batch": args.val_batch})
    return run_seeds(args, task, program, prefix(args), distribution, callbacks)


def run_config(args: argparse.Namespace, task: TaskSpec, program: str) -> dict[str, Any]:
    """The settings that determine what a run computes (stored in checkpoints and summaries)."""
    return runs.run_config(args, program, task=dataclasses.asdict(task))


# ---- one run -----------------------------------------------------------------------------


def seed_folder(args: argparse.Namespace, prefix: str, seed: int) -> str:
    if args.seeds == 1:
        return args.out or os.path.join(RUNS_FOLDER, f"{prefix}-seed{seed}")
    return os.path.join(group_folder(args, prefix), f"seed{seed}")


def group_folder(args: argparse.Namespace, prefix: str) -> str:
    return args.out or os.path.join(RUNS_FOLDER, f"{prefix}-seeds{args.seed}-{args.seed + args.seeds - 1}")


def make_trainer(args: argparse.Namespace, task: TaskSpec, model: Any, seed: int, **options: Any) -> Trainer:
    """The `Trainer` of one seed of a sequence task (`runs.make_trainer`; `options`: folder,
    config, distribution, callbacks): batch `step` is seeded by (seed, 0, step), the fixed
    validation batch by (seed, 1)."""
    return runs.make_trainer(args, model, lambda step: task.sample(args.batch, seed=(seed, 0, step)),
                             task.sample(args.val_batch, seed=(seed, 1)), seed, **options)


def train_seed(args: argparse.Namespace, task: TaskSpec, program: str, prefix: str, seed: int,
               distribution: runs.Distribution, callbacks: Sequence[Any] | None = None) -> dict[str, Any]:
    """Train one seed into its folder (the chief writes it) and return its summary."""
    folder = seed_folder(args, prefix, seed)
    if distribution.chief:
        os.makedirs(folder, exist_ok=True)
    config = run_config(args, task, program)
    member = f"seed{seed}" if args.seeds > 1 else None
    with distribution.scope():
        model = build_model(args, task.io_width, seed)
        trainer = make_trainer(args, task, model, seed, distribution=distribution, folder=folder, config=config,
                               callbacks=runs.run_callbacks(args, distribution, callbacks, member))
    if isinstance(model, RecurrentBaseline):
        print(f"{model.kind} baseline (hidden {model.hidden}, {model.encoding} input): {model.num_parameters} parameters", flush=True)
    resumed_from = runs.resume(trainer, folder, config, args.resume_from) if args.resume else None
    result = runs.fit(trainer, args, f"{prefix} seed {seed}")
    summary = {
        **runs.result_summary(result, seed=seed, folder=folder, resumed_from=resumed_from,
                              num_parameters=count_parameters(model), train_seconds=result.wall_time_s),
        "wall_time_s": result.wall_time_s, "trainer": dataclasses.asdict(trainer.config), "config": config,
    }
    if distribution.chief:
        title = run_title(program, args, config["task"], seed, getattr(model, "hidden", None))
        runs.write_run_files(folder, result, stop_loss=args.stop_loss, title=title)
        runs.write_summary(folder, summary)
    return summary


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


def run_seeds(args: argparse.Namespace, task: TaskSpec, program: str, prefix: str,
              distribution: runs.Distribution | None = None, callbacks: Sequence[Any] | None = None) -> list[dict[str, Any]]:
    """Train every seed, print what each reached and, for several, the median; the chief writes
    the summaries and says where they are, holding the (top) folder's lock meanwhile.

    Args:
        distribution: the run's devices (`runs.make_distribution`; default one device).
        callbacks: more Keras callbacks for every seed's `Trainer`.
    """
    quiet.configure_logging(args.verbose)
    distribution = distribution or runs.Distribution()
    seeds = range(args.seed, args.seed + args.seeds)
    top = group_folder(args, prefix) if args.seeds > 1 else seed_folder(args, prefix, args.seed)
    with distribution.lock(top):
        config = run_config(args, task, program)
        wanted = {seed_folder(args, prefix, seed): {**config, "seed": seed} for seed in seeds}
        if distribution.chief:
            run_folder.check_out_folder(top, wanted, resume=args.resume, overwrite=args.overwrite)
        summaries = _run_seeds(args, task, program, prefix, seeds, distribution, callbacks)
    if not distribution.chief:
        return summaries
    if args.seeds == 1:
        print(outputs_line(top, RUN_OUTPUTS), flush=True)
    else:
        print(outputs_line(top, ("summary.json",), list(wanted), RUN_OUTPUTS), flush=True)
    return summaries


def _run_seeds(args: argparse.Namespace, task: TaskSpec, program: str, prefix: str, seeds: range,
               distribution: runs.Distribution, callbacks: Sequence[Any] | None) -> list[dict[str, Any]]:
    start = time.perf_counter()
    summaries = []
    for seed in seeds:
        summary = train_seed(args, task, program, prefix, seed, distribution, callbacks)
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
        if distribution.chief:
            write_json(os.path.join(group_folder(args, prefix), "summary.json"), group)
    return summaries
