"""What the training programs show and write: the progress bar, result files, the training
curve and its title, markdown tables, and the closing line that says where the results are.

Figures are `matplotlib.figure.Figure`s made by `subplots` and written by `save_figure`,
without pyplot: no backend is selected and no global figure state is kept."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from tqdm import tqdm

from qrnn_tfq.training import (
    BEST_CHECKPOINT,
    HISTORY_FIELDS,
    LATEST_CHECKPOINT,
    StepRecord,
    atomic_write_text,
    atomic_writer,
    history_columns,
)

CHECKPOINTS = (LATEST_CHECKPOINT, BEST_CHECKPOINT)
_PROGRAM_NAMES = {"train.elman": "Elman", "train.dna": "DNA", "train.mnist": "MNIST"}


# ---- the progress bar --------------------------------------------------------------------


def progress_postfix(record: StepRecord, last_validation: StepRecord | None, accuracy: bool) -> dict[str, str]:
    """The numbers after the bar: the step's loss, the last validation's (none before the
    first validation) and the smallest postselection probability."""
    postfix = {"loss": f"{record.train_loss:.3g}"}
    if last_validation is not None:
        if accuracy:
            postfix["val_acc"] = f"{last_validation.validation_argmax_accuracy:.3f}"
            postfix["val_loss"] = f"{last_validation.validation_loss:.3g}"
        else:
            postfix["val"] = f"{last_validation.validation_loss:.3g}"
    postfix["p_min"] = f"{record.min_postselection:.2g}"
    return postfix


class ProgressBar:
    """A tqdm bar over the step budget (see `progress_postfix`); `history` is a resumed run's."""

    def __init__(self, total: int, initial: int, description: str, enabled: bool, *, accuracy: bool = False,
                 history: Sequence[StepRecord] = ()) -> None:
        self.bar = tqdm(total=total, initial=initial, desc=description, unit="step", disable=not enabled, dynamic_ncols=True)
        self.accuracy = accuracy
        self.last_validation = next((row for row in reversed(history) if row.validated), None)

    def __call__(self, record: StepRecord) -> None:
        if record.validated:
            self.last_validation = record
        self.bar.update(1)
        self.bar.set_postfix(progress_postfix(record, self.last_validation, self.accuracy), refresh=False)

    def close(self) -> None:
        self.bar.close()


# ---- result files ------------------------------------------------------------------------


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


def run_title(args: Any, task: Mapping[str, Any], seed: int, hidden: int | None = None) -> str:
    """A training curve's title: task, model and optimizer settings, seed.

    Args:
        args: the run's `train.core.config.SequenceRun`.
        task: the task's fields (name, length, protocol).
        seed: the run's seed.
        hidden: a classical baseline's hidden size (default `args.hidden`).
    """
    details = [f"length {task['length']}"] + ([f"{task['protocol']} protocol"] if task.get("protocol") else [])
    name = _PROGRAM_NAMES.get(args.PROGRAM, args.PROGRAM)
    what = name if task["name"] == "dna" else f"{name} {task['name']}"
    kind = getattr(args, "model", "qrnn")
    if kind == "qrnn":
        model = f"QRNN W={args.workspace_lanes} S={args.stages} d={args.degree} ord={args.order}"
    else:
        model = f"{kind.upper()} hidden {hidden if hidden is not None else args.hidden} ({args.encoding} input)"
    return (f"{what} ({', '.join(details)}): {model}\n{args.optimizer} lr {args.lr:g}, batch {args.batch}, "
            f"{args.loss} loss, seed {seed}")


def plot_history(path: str, history: Sequence[StepRecord], stop_loss: float | None, title: str) -> None:
    columns = history_columns(history)
    steps, validated = columns["step"], ~np.isnan(columns["validation_loss"])
    floor = 1e-12  # the shifted loss reaches 0; keep the log axis finite
    figure, (losses, accuracies) = subplots(2, 1, figsize=(7, 6), sharex=True, height_ratios=(2, 1))
    losses.semilogy(steps, columns["train_loss"].clip(floor), lw=0.6, alpha=0.6, label="training loss")
    losses.semilogy(steps[validated], columns["validation_loss"][validated].clip(floor), "o-", ms=2, label="validation loss")
    if stop_loss is not None and stop_loss > 0:
        losses.axhline(stop_loss, color="k", ls="--", lw=0.8, label=f"stop loss {stop_loss:g}")
    losses.set_ylabel("loss")
    losses.set_title(title, fontsize=10)
    losses.legend()
    for name, label in (("validation_argmax_accuracy", "argmax accuracy"), ("validation_sampled_accuracy", "sampled accuracy")):
        accuracies.plot(steps[validated], columns[name][validated], ".-", ms=2, label=label)
    accuracies.set_xlabel("step")
    accuracies.set_ylabel("validation accuracy")
    accuracies.set_ylim(-0.02, 1.02)
    accuracies.legend()
    save_figure(figure, path, dpi=120)


def subplots(*grid: int, figsize: tuple[float, float] | None = None, **options: Any) -> tuple[Figure, Any]:
    """A new figure and its axes, as `matplotlib.pyplot.subplots` (`options` go to `Figure.subplots`)."""
    figure = Figure(figsize=figsize)
    return figure, figure.subplots(*grid, **options)


def save_figure(figure: Figure, path: str, dpi: int = 110) -> None:
    """Lay out `figure` and write it as a PNG atomically."""
    figure.tight_layout()
    with atomic_writer(path) as file:
        figure.savefig(file, format="png", dpi=dpi)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def markdown_table(rows: list[dict[str, Any]], keys: Sequence[str]) -> str:
    """`rows` as a markdown table of the columns `keys` (floats to 4 digits, None as -)."""
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(_cell(row.get(key)) for key in keys) + " |" for row in rows]
    return "\n".join(lines)


# ---- where the results are ---------------------------------------------------------------


def _listing(folder: str, names: Sequence[str]) -> str:
    present = [name for name in names if os.path.exists(os.path.join(folder, name))]
    files = [name for name in present if name not in CHECKPOINTS]
    checkpoints = [name for name in present if name in CHECKPOINTS]
    return ", ".join(files + ([f"checkpoints {' and '.join(checkpoints)}"] if checkpoints else []))


def outputs_line(folder: str, names: Sequence[str], members: Sequence[str] = (), member_names: Sequence[str] = ()) -> str:
    """"Wrote <folder>/: <the files among `names` that exist>", and for a group the member
    folders and what the first one holds among `member_names`."""
    line = f"Wrote {os.path.join(folder, '')}: {_listing(folder, names)}"
    if members:
        shown = ", ".join(os.path.relpath(member, folder) for member in members)
        line += f"; the runs in {shown} (each: {_listing(members[0], member_names)})"
    return line
