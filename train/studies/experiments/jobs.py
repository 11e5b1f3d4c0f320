"""A study's jobs (the settings of one training run each), the studies, one training run
without a run folder, and the CSV a study keeps its rows in."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import math
import os
from types import ModuleType
from typing import Any, Callable, Iterable, Sequence

from qrnn_tfq.export.load import upgrade_run_settings
from qrnn_tfq.training import TrainingResult, atomic_write_text
from train import dna, elman
from train.core import runs, sequence_runs
from train.core.config import SequenceRun

PROGRAMS: dict[str, ModuleType] = {"elman": elman, "dna": dna}


@dataclasses.dataclass(frozen=True)
class Job:
    """One unit of work: its key columns (what identifies its rows) and the settings (option
    dest -> value) of `python -m train.<program>` that it trains with."""

    key: dict[str, Any]
    program: str
    settings: dict[str, Any]

    def args(self) -> SequenceRun:
        """The configuration the program's `main` would run these settings with."""
        return PROGRAMS[self.program].settings(**self.settings)

    def command(self) -> str:
        """The equivalent command line."""
        return PROGRAMS[self.program].command(self.settings)


@dataclasses.dataclass(frozen=True)
class Study:
    """A named study: its columns, its grid of jobs, how to run one and how to plot the rows."""

    name: str
    key_fields: tuple[str, ...]
    result_fields: tuple[str, ...]
    jobs: Callable[[argparse.Namespace], list[Job]]
    run: Callable[[Job, argparse.Namespace], list[dict[str, Any]]]
    plot: Callable[[list[dict[str, str]], str, argparse.Namespace], None]
    default_seeds: int
    default_max_steps: int

    @property
    def fields(self) -> tuple[str, ...]:
        return (*self.key_fields, *self.result_fields, "command")


def seeds(args: argparse.Namespace) -> range:
    return range(args.seed, args.seed + args.seeds)


def budget(args: argparse.Namespace) -> dict[str, Any]:
    """The settings of a study's step budget and target (`--max-steps`, `--target-loss`)."""
    return {"max_steps": args.max_steps, "target_loss": args.target_loss, "stop_loss": args.target_loss}


QUICK_QRNN = {"workspace_lanes": 2, "degree": 1, "batch": 4, "val_batch": 4}
QUICK_BASELINE = {"hidden": 4, "batch": 4, "val_batch": 4}


# ---- one training run --------------------------------------------------------------------


def train_run(args: SequenceRun, seed: int, model: Any = None) -> tuple[TrainingResult, Any]:
    """Train one seed as `sequence_runs.train_seed` does, without writing a run folder.

    `model` (default: built from `args` as the training programs do) is trained in place.
    """
    task = args.task_spec()
    if model is None:
        model = args.build_model(task.io_width, seed)
    return sequence_runs.make_trainer(args, task, model, seed).fit(), model


TRAIN_FIELDS = (
    "steps_to_target", "steps", "stopped", "best_validation_loss", "final_argmax_accuracy", "final_sampled_accuracy",
    "min_postselection", "num_parameters", "wall_s",
)


def result_columns(result: TrainingResult, model: Any) -> dict[str, Any]:
    last = result.last_validation
    return {
        "steps_to_target": result.steps_to_target,
        "steps": result.steps,
        "stopped": result.stopped,
        "best_validation_loss": result.best_validation_loss,
        "final_argmax_accuracy": None if last is None else last.validation_argmax_accuracy,
        "final_sampled_accuracy": None if last is None else last.validation_sampled_accuracy,
        "min_postselection": result.min_postselection,
        "num_parameters": runs.count_parameters(model),
        "wall_s": result.wall_time_s,
    }


def train_job(job: Job, args: argparse.Namespace) -> list[dict[str, Any]]:
    """A job's one row: what its training run reached."""
    settings = job.args()
    result, model = train_run(settings, settings.seed)
    return [{**job.key, **result_columns(result, model), "command": job.command()}]


# ---- the CSV -----------------------------------------------------------------------------


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def row_cells(row: dict[str, Any], fields: Sequence[str]) -> dict[str, str]:
    return {name: row[name] if isinstance(row.get(name), str) else cell(row.get(name)) for name in fields}


def read_rows(path: str) -> list[dict[str, str]]:
    """The CSV's rows; a column of an older name (`workspace`) is read under today's."""
    if not os.path.exists(path):
        return []
    with open(path, newline="") as file:
        return [upgrade_run_settings(row) for row in csv.DictReader(file)]


def write_rows(path: str, fields: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(fields), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row_cells(row, fields))
    atomic_write_text(path, text.getvalue())


def key_of(row: dict[str, Any], fields: Sequence[str]) -> tuple[str, ...]:
    return tuple(row[name] if isinstance(row[name], str) else cell(row[name]) for name in fields)
