"""The runs of sequence tasks (`train.elman`, `train.dna`): their arguments, seeds and folders.

Every run writes into its folder: `latest.npz` and `best.npz` (checkpoints),
`history.csv` (one row per step), `training_curve.png` and `summary.json`. With
`--seeds N` the seeds `seed .. seed+N-1` run one after another, each in its own folder,
and a `summary.json` over all of them goes to the parent folder. A run locks its (top)
folder and starts over a run there only with `--overwrite` (`train.core.run_folder`). The
settings are a typed `train.core.config.SequenceRun` built by `parse`; one seed is
trained by `train.core.runs.train_member` (shared with `train.mnist`); bars and plots by
`train.core.outputs`.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import statistics
import time
from typing import Any, Sequence

from data.sequences import TaskSpec
from train.core import arguments, quiet, run_folder, runs
from train.core.config import SequenceRun, run_data
from train.core.outputs import CHECKPOINTS, outputs_line, run_title, write_json

RUNS_FOLDER = "runs"
RUN_OUTPUTS = ("summary.json", "history.csv", "training_curve.png", *CHECKPOINTS)


def add_shared_arguments(parser: argparse.ArgumentParser,
                         defaults: arguments.Defaults | arguments.DefaultsTable) -> None:
    """The model, baseline, training and run groups of a sequence program, and `--seeds`."""
    arguments.add_model_arguments(parser, defaults)
    arguments.add_baseline_arguments(parser)
    arguments.add_training_arguments(parser, defaults)
    group = arguments.add_run_arguments(parser, out_help="output folder (default runs/<program>-seed<N>)",
                                        resume_help="continue from <out>/latest.npz (each seed's) if it exists")
    group.add_argument("--seeds", type=arguments.positive_int, default=1,
                       help="run this many seeds and report the median steps")


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None,
          defaults: arguments.Defaults | arguments.DefaultsTable, kind: type[SequenceRun]) -> SequenceRun:
    """`argv` parsed, checked and filled (per task: `defaults[args.task]` when a table) into
    the program's typed configuration; a task length the task refuses is a parser error."""
    parsed = arguments.check_run_arguments(parser, parser.parse_args(argv))
    arguments.check_baseline_arguments(parser, parsed)
    chosen = defaults if isinstance(defaults, arguments.Defaults) else defaults[parsed.task]
    run = arguments.run_config(parser, kind, arguments.fill_defaults(parsed, chosen))
    try:
        run.task_spec()
    except ValueError as error:  # a length the task refuses
        parser.error(str(error))
    return run


def run_program(parser: argparse.ArgumentParser, run: SequenceRun, prefix: str,
                callbacks: Sequence[Any] | None) -> list[dict[str, Any]]:
    """A sequence program's `main` after parsing: make (first of anything in TensorFlow) the
    strategy, train every seed; returns the per-seed summaries."""
    distribution = runs.make_distribution(parser, run, {"--batch": run.batch, "--val-batch": run.val_batch})
    return run_seeds(run, prefix, distribution, callbacks)


# ---- one run -----------------------------------------------------------------------------


def seed_folder(run: SequenceRun, prefix: str, seed: int) -> str:
    if run.seeds == 1:
        return run.out or os.path.join(RUNS_FOLDER, f"{prefix}-seed{seed}")
    return os.path.join(group_folder(run, prefix), f"seed{seed}")


def group_folder(run: SequenceRun, prefix: str) -> str:
    return run.out or os.path.join(RUNS_FOLDER, f"{prefix}-seeds{run.seed}-{run.seed + run.seeds - 1}")


def make_trainer(args: argparse.Namespace, task: TaskSpec, model: Any, seed: int, **options: Any) -> runs.Training:
    """The training of one seed of a sequence task (`runs.make_trainer`; `options`: folder,
    config, distribution, callbacks): batch `step` is seeded by (seed, 0, step), the fixed
    validation batch by (seed, 1)."""
    return runs.make_trainer(args, model, lambda step: task.sample(args.batch, seed=(seed, 0, step)),
                             task.sample(args.val_batch, seed=(seed, 1)), seed, **options)


def train_seed(run: SequenceRun, prefix: str, seed: int, distribution: runs.Distribution,
               callbacks: Sequence[Any] | None = None) -> dict[str, Any]:
    """Train one seed into its folder (the chief writes it) and return its summary: batch
    `step` seeded by (seed, 0, step), the fixed validation batch by (seed, 1)."""
    folder = seed_folder(run, prefix, seed)
    config = run.to_dict()
    task = run_data(run, folder)
    trained = runs.train_member(
        run, seed=seed, folder=folder, config=config, io_lanes=task.io_width,
        sample_batch=lambda step: task.sample(run.batch, seed=(seed, 0, step)),
        validation_batch=task.sample(run.val_batch, seed=(seed, 1)), distribution=distribution, callbacks=callbacks,
        member=f"seed{seed}" if run.seeds > 1 else None, description=f"{prefix} seed {seed}",
    )
    result = trained.result
    summary = {
        **runs.result_summary(result, seed=seed, folder=folder, resumed_from=trained.resumed_from,
                              num_parameters=runs.count_parameters(trained.model), train_seconds=result.wall_time_s),
        "wall_time_s": result.wall_time_s, "trainer": dataclasses.asdict(trained.trainer.config), "config": config,
    }
    if distribution.chief:
        title = run_title(run, config["task"], seed, getattr(trained.model, "hidden", None))
        runs.write_run_files(folder, result, stop_loss=run.stop_loss, title=title)
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


def run_seeds(run: SequenceRun, prefix: str, distribution: runs.Distribution | None = None,
              callbacks: Sequence[Any] | None = None) -> list[dict[str, Any]]:
    """Train every seed, print what each reached and, for several, the median; the chief writes
    the summaries and says where they are, holding the (top) folder's lock meanwhile.

    Args:
        distribution: the run's devices (`runs.make_distribution`; default one device).
        callbacks: more Keras callbacks for every seed's training.
    """
    quiet.configure_logging(run.verbose)
    distribution = distribution or runs.Distribution()
    seeds = range(run.seed, run.seed + run.seeds)
    top = group_folder(run, prefix) if run.seeds > 1 else seed_folder(run, prefix, run.seed)
    start = time.perf_counter()
    with distribution.lock(top):
        config = run.to_dict()
        wanted = {seed_folder(run, prefix, seed): {**config, "seed": seed} for seed in seeds}
        if distribution.chief:
            run_folder.check_out_folder(top, wanted, resume=run.resume, overwrite=run.overwrite)
        summaries = []
        for seed in seeds:
            summary = train_seed(run, prefix, seed, distribution, callbacks)
            print(describe(summary), flush=True)
            summaries.append(summary)
        if run.seeds > 1:
            _group_summary(run, prefix, summaries, time.perf_counter() - start, distribution.chief)
    if not distribution.chief:
        return summaries
    if run.seeds == 1:
        print(outputs_line(top, RUN_OUTPUTS), flush=True)
    else:
        print(outputs_line(top, ("summary.json",), list(wanted), RUN_OUTPUTS), flush=True)
    return summaries


def _group_summary(run: SequenceRun, prefix: str, summaries: list[dict[str, Any]], total: float, chief: bool) -> None:
    """Print the median over the seeds; the chief writes the group's summary.json."""
    steps = [s["steps_to_target"] for s in summaries]
    median = median_steps(steps)
    reached = sum(s is not None for s in steps)
    print(f"median steps to validation loss <= {summaries[0]['target_loss']}: {median} "
          f"({reached}/{len(steps)} seeds reached it; steps per seed {steps}; {total:.1f} s in all)")
    group = {
        "program": run.PROGRAM, "seeds": [s["seed"] for s in summaries], "steps_to_target": steps,
        "median_steps_to_target": median, "reached_target": reached, "target_loss": summaries[0]["target_loss"],
        "learning_rate": run.lr, "wall_time_s": total, "runs": [s["folder"] for s in summaries],
        "config": summaries[0]["config"],
    }
    if chief:
        write_json(os.path.join(group_folder(run, prefix), "summary.json"), group)
