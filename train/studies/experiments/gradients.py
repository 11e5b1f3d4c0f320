"""The `gradients` study: loss-gradient norms against the DNA length for the QRNN and the
classical baselines, at initialisation and after training (`gradient_norms`)."""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from train.core.outputs import save_figure, subplots
from train.studies.experiments.gradient_norms import measure_gradients
from train.studies.experiments.jobs import QUICK_BASELINE, QUICK_QRNN, Job, Study, budget, seeds, train_run

GRADIENT_LENGTHS = (10, 20, 50, 100, 200, 500, 1000)
GRADIENT_MODELS = ("qrnn", "rnn", "lstm")
GRADIENT_FIELDS = ("loss", "gradient_norm", "early_gradient_norm", "early_fraction", "state_gradient_norm", "split_step",
                   "train_steps", "steps_to_target", "wall_s")


def gradient_jobs(args: argparse.Namespace) -> list[Job]:
    lengths = args.lengths or ((6, 12) if args.quick else GRADIENT_LENGTHS)
    jobs = []
    for length in lengths:
        for model in GRADIENT_MODELS:
            if model not in args.models:
                continue
            for seed in seeds(args):
                settings = {"length": length, "protocol": args.protocol, "model": model, "seed": seed, **budget(args)}
                if args.quick:
                    settings.update(QUICK_QRNN if model == "qrnn" else QUICK_BASELINE)
                key = {"model": model, "protocol": args.protocol, "length": length, "seed": seed}
                jobs.append(Job(key, "dna", settings))
    return jobs


def gradient_run(job: Job, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Measure at initialisation, train (up to the budget or the target loss), measure again."""
    start = time.perf_counter()
    settings = job.args()
    task = settings.task_spec()
    batch = task.sample(args.gradient_batch, seed=(settings.seed, 2))  # a batch neither trained nor validated on
    model = settings.build_model(task.io_width, settings.seed)
    rows = [_gradient_row(job, "init", measure_gradients(model, batch, settings.loss), 0, None, start)]
    start = time.perf_counter()
    trained, _ = train_run(settings, settings.seed, model)  # the same model: its compiled runs are reused
    measured = measure_gradients(model, batch, settings.loss)
    rows.append(_gradient_row(job, "trained", measured, trained.steps, trained.steps_to_target, start))
    return rows


def _gradient_row(job: Job, phase: str, m: Any, steps: int, to_target: int | None, start: float) -> dict[str, Any]:
    """One row; `wall_s` counts this phase's measurement (and training, for "trained")."""
    return {
        **job.key, "phase": phase, "loss": m.loss, "gradient_norm": m.gradient_norm,
        "early_gradient_norm": m.early_gradient_norm, "early_fraction": m.early_fraction,
        "state_gradient_norm": m.state_gradient_norm, "split_step": m.split_step, "train_steps": steps,
        "steps_to_target": to_target, "wall_s": time.perf_counter() - start, "command": job.command(),
    }


def plot_gradients(rows: list[dict[str, str]], path: str, args: argparse.Namespace) -> None:
    figure, axes = subplots(2, 2, figsize=(10, 7), sharex=True)
    floor = 1e-40  # exact zeros (float underflow) on the log axis
    for column, phase in enumerate(("init", "trained")):
        for model in GRADIENT_MODELS:
            group = [r for r in rows if r["model"] == model and r["phase"] == phase]
            lengths = sorted({int(r["length"]) for r in group})
            if not lengths:
                continue
            for row_index, field in enumerate(("early_gradient_norm", "gradient_norm")):
                medians = [statistics.median(max(float(r[field]), floor) for r in group if int(r["length"]) == n) for n in lengths]
                axes[row_index, column].plot(lengths, medians, "o-", label=model.upper())
        axes[0, column].set_title(f"{'at initialisation' if phase == 'init' else 'after training'}")
        axes[1, column].set_xlabel("sequence length L")
    axes[0, 0].set_ylabel("||gradient through the first 10% of steps||")
    axes[1, 0].set_ylabel("||loss gradient||")
    for axis in axes.flat:
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.legend(fontsize=8)
    figure.suptitle(f"DNA ({rows[0]['protocol'] if rows else ''} protocol): loss-gradient norms, median over seeds")
    figure.text(0.5, 0.003, f"points at {floor:g}: the norm underflowed to 0 (float32)", ha="center", fontsize=8)
    save_figure(figure, path, dpi=100)


STUDY = Study("gradients", ("model", "protocol", "length", "seed", "phase"), GRADIENT_FIELDS,
              gradient_jobs, gradient_run, plot_gradients, default_seeds=3, default_max_steps=200)
