"""Named studies of the sequence tasks (issue 4), each to a CSV and a PNG plot.

    python -m train.experiments xor-init            # steps to loss 1e-3 vs bias b and initial spread
    python -m train.experiments letters-topology    # steps vs workspace, stages, degree (one at a time)
    python -m train.experiments dna-memory          # steps vs length for QRNN (both protocols), RNN, LSTM
    python -m train.experiments gradients           # gradient norms vs length, at init and after training
    python -m train.experiments dna-memory --quick  # a tiny grid in seconds (what the tests run)

Each study writes `<out>/<name>.csv` (one row per run) and `<out>/<name>.png` (default
`docs/results/`; with `--quick`, `<name>-quick.*`). Rows already in the CSV are skipped,
so an interrupted study continues where it stopped; delete rows (or the file) to rerun
them. A run is exactly what the training programs do with the same settings: the same
model construction, batches seeded by (seed, 0, step), the validation batch by (seed, 1),
Adam with clipping 0.5, validation every 10 steps, the paper's shifted loss. So a row
with seed N is reproduced by `python -m train.elman`/`train.dna` with `--seed N` and the
row's settings (the `command` column spells it out).

"Steps to target" is the first validation step whose loss is <= 1e-3 (`--target-loss`),
empty if the budget (`--max-steps`) ran out; medians count such runs as infinitely long.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import math
import os
import statistics
import time
from typing import Any, Callable, Iterable, Sequence

from train import common  # first: it selects tf-keras before TensorFlow loads

import matplotlib.pyplot as plt  # noqa: E402  (common selected the Agg backend)
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from data.sequences import TaskSpec, task_by_name  # noqa: E402
from qrnn_tfq.gradients import measure_gradients  # noqa: E402
from qrnn_tfq.training import TrainingResult, atomic_write_text  # noqa: E402
from train import dna, elman, quiet, run_folder  # noqa: E402
from train.outputs import save_figure  # noqa: E402

RESULTS_FOLDER = os.path.join("docs", "results")
_LEGEND_NOTE = "bars: quartiles; x: a run that did not reach the loss, drawn at its step budget"
PI = math.pi


# ---- one training run --------------------------------------------------------------------


def parse_program(program: str, argv: Sequence[str]) -> argparse.Namespace:
    """The arguments `python -m train.<program> argv` would run with, defaults filled in."""
    if program == "elman":
        parsed = elman.make_parser().parse_args(argv)
        return common.fill_defaults(parsed, elman.TASK_DEFAULTS[parsed.task])
    return common.fill_defaults(dna.make_parser().parse_args(argv), dna.DEFAULTS)


def task_of(args: argparse.Namespace) -> TaskSpec:
    if getattr(args, "task", None) is not None:
        options = {} if args.length is None else {"length": args.length}
        return task_by_name(args.task, **options)
    return task_by_name("dna", length=args.length, protocol=args.protocol)


def train_run(args: argparse.Namespace, seed: int, model: Any = None) -> tuple[TrainingResult, Any]:
    """Train one seed as `common.train_seed` does, without writing a run folder.

    `model` (default: built from `args` as the training programs do) is trained in place.
    """
    task = task_of(args)
    if model is None:
        model = common.build_model(args, task.io_width, seed)
    return common.make_trainer(args, task, model, seed).fit(), model


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
        "num_parameters": common.count_parameters(model),
        "wall_s": result.wall_time_s,
    }


TRAIN_FIELDS = (
    "steps_to_target", "steps", "stopped", "best_validation_loss", "final_argmax_accuracy", "final_sampled_accuracy",
    "min_postselection", "num_parameters", "wall_s",
)


# ---- studies -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Job:
    """One unit of work: its key columns (what identifies its rows) and its CLI arguments."""

    key: dict[str, Any]
    program: str
    argv: tuple[str, ...]

    def command(self) -> str:
        return f"python -m train.{self.program} " + " ".join(self.argv)


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


def _budget(args: argparse.Namespace) -> list[str]:
    return ["--max-steps", str(args.max_steps), "--target-loss", str(args.target_loss), "--stop-loss", str(args.target_loss)]


def _train_job(job: Job, args: argparse.Namespace) -> list[dict[str, Any]]:
    parsed = parse_program(job.program, job.argv)
    result, model = train_run(parsed, parsed.seed)
    return [{**job.key, **result_columns(result, model), "command": job.command()}]


# -- xor-init

XOR_BIASES = (0.0, PI / 4, PI / 2, PI)
XOR_SPREADS = ((0.1, 0.01), (0.5, 0.1), (0.01, 0.001))  # (theta_stddev, phi_stddev = work_stddev)
QUICK_QRNN = ("--workspace", "2", "--degree", "1", "--batch", "4", "--val-batch", "4")


def _xor_jobs(args: argparse.Namespace) -> list[Job]:
    biases, spreads = (XOR_BIASES, XOR_SPREADS) if not args.quick else ((PI / 2, 0.0), XOR_SPREADS[:1])
    jobs = []
    for theta, phi in spreads:  # the default spread first: b = pi/2 against the others comes first
        for bias in sorted(biases, key=lambda b: b != PI / 2):
            for seed in _seeds(args):
                # repr: the exact bias (a change of 1e-6 in b changes a run's steps to the target).
                argv = ["--task", "xor", "--bias", repr(bias), "--theta-stddev", f"{theta:g}", "--phi-stddev", f"{phi:g}",
                        "--work-stddev", f"{phi:g}", "--seed", str(seed), *_budget(args)]
                if args.quick:
                    argv += ["--length", "9", *QUICK_QRNN]
                key = {"bias": round(bias, 6), "theta_stddev": theta, "phi_stddev": phi, "seed": seed}
                jobs.append(Job(key, "elman", tuple(argv)))
    return jobs


def _plot_xor(rows: list[dict[str, str]], path: str, args: argparse.Namespace) -> None:
    figure, axis = plt.subplots(figsize=(7, 4.5))
    spreads = sorted({(r["theta_stddev"], r["phi_stddev"]) for r in rows}, key=lambda s: float(s[0]))
    for index, (theta, phi) in enumerate(spreads):
        group = [r for r in rows if (r["theta_stddev"], r["phi_stddev"]) == (theta, phi)]
        biases = sorted({float(r["bias"]) for r in group})
        offset = (index - (len(spreads) - 1) / 2) * 0.04
        label = f"spread theta {theta}, phi {phi}"
        _median_line(axis, [b + offset for b in biases], [[r for r in group if float(r["bias"]) == b] for b in biases], label)
    axis.set_xticks(list(XOR_BIASES), ["0", "pi/4", "pi/2", "pi"])
    axis.set_xlabel("initial neuron bias b")
    axis.set_ylabel("steps to validation loss 1e-3")
    axis.set_yscale("log")
    axis.set_title(f"Elman XOR: median over seeds\n{_LEGEND_NOTE}", fontsize=10)
    axis.legend(fontsize=8)
    save_figure(figure, path, dpi=100)


# -- letters-topology

LETTERS_BEST = (6, 2, 2)  # the paper's fastest: workspace 6, stages 2, degree 2


def _letters_jobs(args: argparse.Namespace) -> list[Job]:
    if args.quick:
        topologies = [(2, 1, 1), (3, 1, 1)]
    else:  # one parameter at a time around the paper's best, a reduced grid of 10 topologies
        w, s, d = LETTERS_BEST
        topologies = [(w, s, d)] + [(x, s, d) for x in (3, 4, 5, 7, 8)] + [(w, x, d) for x in (1, 3)] + [(w, s, x) for x in (1, 3)]
    jobs = []
    for workspace, stages, degree in topologies:
        for seed in _seeds(args):
            argv = ["--task", "letters", "--workspace", str(workspace), "--stages", str(stages), "--degree", str(degree),
                    "--seed", str(seed), *_budget(args)]
            if args.quick:
                argv += ["--length", "8", "--batch", "4", "--val-batch", "4"]
            jobs.append(Job({"workspace": workspace, "stages": stages, "degree": degree, "seed": seed}, "elman", tuple(argv)))
    return jobs


def _plot_letters(rows: list[dict[str, str]], path: str, args: argparse.Namespace) -> None:
    figure, axes = plt.subplots(1, 3, figsize=(11, 4), sharey=True)
    best = dict(zip(("workspace", "stages", "degree"), map(str, LETTERS_BEST)))
    for axis, varied in zip(axes, ("workspace", "stages", "degree")):
        fixed = [name for name in best if name != varied]
        group = [r for r in rows if all(r[name] == best[name] for name in fixed)] if not args.quick else rows
        values = sorted({int(r[varied]) for r in group})
        _median_line(axis, values, [[r for r in group if int(r[varied]) == v] for v in values], None)
        axis.set_xticks(values)
        axis.set_xlabel(varied + ("" if args.quick else f" ({', '.join(f'{n} {best[n]}' for n in fixed)})"))
        axis.set_yscale("log")
    axes[0].set_ylabel("steps to validation loss 1e-3")
    figure.suptitle(f"Elman letters: median over seeds\n{_LEGEND_NOTE}", fontsize=10)
    save_figure(figure, path, dpi=100)


# -- dna-memory

DNA_LENGTHS = (5, 10, 20, 50, 100, 200, 500, 1000)
# (model, protocol): a classical model reads only the inputs, and the two protocols differ
# only in unscored targets, so for it they are one problem ("any", trained on "paper" data).
DNA_SERIES = (("qrnn", "paper"), ("qrnn", "honest"), ("rnn", "any"), ("lstm", "any"))


def _dna_jobs(args: argparse.Namespace) -> list[Job]:
    lengths = args.lengths or ((6, 10) if args.quick else DNA_LENGTHS)
    jobs = []
    for length in lengths:
        for model, protocol in DNA_SERIES:
            if model not in args.models or (protocol != "any" and protocol not in args.protocols):
                continue
            for seed in _seeds(args):
                argv = ["--length", str(length), "--protocol", "paper" if protocol == "any" else protocol,
                        "--model", model, "--seed", str(seed), *_budget(args)]
                if args.quick:
                    argv += list(QUICK_QRNN) if model == "qrnn" else ["--hidden", "4", "--batch", "4", "--val-batch", "4"]
                jobs.append(Job({"model": model, "protocol": protocol, "length": length, "seed": seed}, "dna", tuple(argv)))
    return jobs


def _plot_dna(rows: list[dict[str, str]], path: str, args: argparse.Namespace) -> None:
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for model, protocol in DNA_SERIES:
        group = [r for r in rows if (r["model"], r["protocol"]) == (model, protocol)]
        if not group:
            continue
        lengths = sorted({int(r["length"]) for r in group})
        label = f"{model.upper()} ({protocol} protocol)" if model == "qrnn" else f"{model.upper()} (either protocol)"
        _median_line(axis, lengths, [[r for r in group if int(r["length"]) == n] for n in lengths], label)
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("sequence length L")
    axis.set_ylabel("steps to validation loss 1e-3")
    axis.set_title(f"DNA long-range memory: median over seeds\n{_LEGEND_NOTE}", fontsize=10)
    axis.legend(fontsize=8)
    save_figure(figure, path, dpi=100)


# -- gradients

GRADIENT_LENGTHS = (10, 20, 50, 100, 200, 500, 1000)
GRADIENT_MODELS = ("qrnn", "rnn", "lstm")
GRADIENT_FIELDS = ("loss", "gradient_norm", "early_gradient_norm", "early_fraction", "state_gradient_norm", "split_step",
                   "train_steps", "steps_to_target", "wall_s")


def _gradient_jobs(args: argparse.Namespace) -> list[Job]:
    lengths = args.lengths or ((6, 12) if args.quick else GRADIENT_LENGTHS)
    jobs = []
    for length in lengths:
        for model in GRADIENT_MODELS:
            if model not in args.models:
                continue
            for seed in _seeds(args):
                argv = ["--length", str(length), "--protocol", args.protocol, "--model", model, "--seed", str(seed), *_budget(args)]
                if args.quick:
                    argv += list(QUICK_QRNN) if model == "qrnn" else ["--hidden", "4", "--batch", "4", "--val-batch", "4"]
                key = {"model": model, "protocol": args.protocol, "length": length, "seed": seed}
                jobs.append(Job(key, "dna", tuple(argv)))
    return jobs


def _gradient_run(job: Job, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Measure at initialisation, train (up to the budget or the target loss), measure again."""
    start = time.perf_counter()
    parsed = parse_program(job.program, job.argv)
    task = task_of(parsed)
    batch = task.sample(args.gradient_batch, seed=(parsed.seed, 2))  # a batch neither trained nor validated on
    model = common.build_model(parsed, task.io_width, parsed.seed)
    rows = [_gradient_row(job, "init", measure_gradients(model, batch, parsed.loss), 0, None, start)]
    start = time.perf_counter()
    trained, _ = train_run(parsed, parsed.seed, model)  # the same model: its compiled runs are reused
    measured = measure_gradients(model, batch, parsed.loss)
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


def _plot_gradients(rows: list[dict[str, str]], path: str, args: argparse.Namespace) -> None:
    figure, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
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


STUDIES = {
    "xor-init": Study("xor-init", ("bias", "theta_stddev", "phi_stddev", "seed"), TRAIN_FIELDS,
                      _xor_jobs, _train_job, _plot_xor, default_seeds=5, default_max_steps=2000),
    "letters-topology": Study("letters-topology", ("workspace", "stages", "degree", "seed"), TRAIN_FIELDS,
                              _letters_jobs, _train_job, _plot_letters, default_seeds=3, default_max_steps=1500),
    "dna-memory": Study("dna-memory", ("model", "protocol", "length", "seed"), TRAIN_FIELDS,
                        _dna_jobs, _train_job, _plot_dna, default_seeds=3, default_max_steps=1000),
    "gradients": Study("gradients", ("model", "protocol", "length", "seed", "phase"), GRADIENT_FIELDS,
                       _gradient_jobs, _gradient_run, _plot_gradients, default_seeds=3, default_max_steps=200),
}


# ---- shared plotting and CSV pieces ------------------------------------------------------


def _seeds(args: argparse.Namespace) -> range:
    return range(args.seed, args.seed + args.seeds)


def _steps(row: dict[str, str]) -> float:
    return math.inf if row["steps_to_target"] in ("", "None") else float(row["steps_to_target"])


def _budget_of(row: dict[str, str]) -> float:
    """The run's step budget (`--max-steps` of its command): where a failed run is drawn,
    also one stopped early by a non-finite loss."""
    words = row["command"].split()
    return float(words[words.index("--max-steps") + 1])


def _median_line(axis: Any, xs: Sequence[float], groups: Sequence[list[dict[str, str]]], label: str | None) -> None:
    """Median steps per x with quartile bars (failed runs counted at their budget); runs
    that never converged count as infinite in the median and are drawn as x at their budget."""
    medians, low, high = [], [], []
    for group in groups:
        steps = np.array([_steps(r) for r in group])
        capped = np.array([_budget_of(r) if math.isinf(s) else s for r, s in zip(group, steps)])
        medians.append(np.median(capped) if np.median(steps) < math.inf else np.nan)
        low.append(np.percentile(capped, 25))
        high.append(np.percentile(capped, 75))
    medians, low, high = map(np.array, (medians, low, high))
    line = axis.errorbar(xs, medians, yerr=np.vstack([np.nan_to_num(medians - low), np.nan_to_num(high - medians)]),
                         fmt="o-", capsize=3, label=label)
    for x, group in zip(xs, groups):
        failed = [_budget_of(r) for r in group if math.isinf(_steps(r))]
        if failed:
            axis.plot([x] * len(failed), failed, "x", color=line[0].get_color())


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def read_rows(path: str) -> list[dict[str, str]]:
    if not os.path.exists(path):
        return []
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def write_rows(path: str, fields: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(fields), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: _cell(row.get(name)) if not isinstance(row.get(name), str) else row[name] for name in fields})
    atomic_write_text(path, text.getvalue())


def _key(row: dict[str, Any], fields: Sequence[str]) -> tuple[str, ...]:
    return tuple(row[name] if isinstance(row[name], str) else _cell(row[name]) for name in fields)


# ---- the program -------------------------------------------------------------------------


def _models(text: str) -> tuple[str, ...]:
    models = tuple(text.split(","))
    unknown = [m for m in models if m not in common.MODELS]
    if unknown:
        raise argparse.ArgumentTypeError(f"models must be among {list(common.MODELS)}, got {unknown}")
    return models


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m train.experiments", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("name", choices=sorted(STUDIES), help="the study")
    parser.add_argument("--quick", action="store_true", help="a tiny grid with tiny models and a few steps (for tests)")
    parser.add_argument("--seeds", type=common.positive_int, help="seeds per setting (default: xor 5, others 3)")
    parser.add_argument("--seed", type=common.non_negative_int, default=0, help="first seed (default 0)")
    parser.add_argument("--max-steps", type=common.non_negative_int,
                        help="step budget per run (default: xor 2000, letters 1500, dna 1000, gradients 200 training steps)")
    parser.add_argument("--target-loss", type=float, default=1e-3, help="validation loss to reach (default 1e-3)")
    parser.add_argument("--lengths", type=lambda text: tuple(int(x) for x in text.split(",")),
                        help="dna-memory/gradients: comma-separated lengths (default: the study's)")
    parser.add_argument("--models", type=_models, default=common.MODELS,
                        help="dna-memory/gradients: comma-separated models among qrnn,rnn,lstm (default all)")
    parser.add_argument("--protocols", type=lambda text: tuple(text.split(",")), default=("paper", "honest"),
                        help="dna-memory: the QRNN's protocols, comma-separated (default paper,honest)")
    parser.add_argument("--protocol", choices=("paper", "honest"), default="honest",
                        help="gradients: DNA protocol (default honest; 'paper' writes gradients-paper.*)")
    parser.add_argument("--gradient-batch", type=common.positive_int, default=64,
                        help="gradients: samples in the measured batch (default 64)")
    parser.add_argument("--limit", type=common.non_negative_int, help="run at most this many new jobs, then stop")
    parser.add_argument("--plot-only", action="store_true", help="run nothing: redraw the plot from the CSV (as --limit 0)")
    parser.add_argument("--out", default=RESULTS_FOLDER, help=f"output folder (default {RESULTS_FOLDER})")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every validation; show TensorFlow's messages")
    return parser


def main(argv: Sequence[str] | None = None) -> str:
    """Run the study's jobs not yet in its CSV, then plot; returns the CSV's path."""
    args = make_parser().parse_args(argv)
    study = STUDIES[args.name]
    if args.seeds is None:
        args.seeds = 1 if args.quick else study.default_seeds
    if args.max_steps is None:
        args.max_steps = 3 if args.quick else study.default_max_steps
    suffix = f"-{args.protocol}" if args.name == "gradients" and args.protocol != "honest" else ""
    stem = os.path.join(args.out, args.name + suffix + ("-quick" if args.quick else ""))
    csv_path, png_path = stem + ".csv", stem + ".png"
    quiet.configure_logging(args.verbose)
    start = time.perf_counter()
    with run_folder.RunLock(args.out, os.path.basename(stem) + ".lock"):  # one run of a study at a time
        rows = _run_study(study, args, csv_path)
        if rows:
            study.plot(rows, png_path, args)
    plot = f"plot {png_path}" if rows else "no plot (no rows)"
    print(f"{args.name}: {len(rows)} rows in {csv_path}, {plot} ({time.perf_counter() - start:.1f} s)", flush=True)
    return csv_path


def _run_study(study: Study, args: argparse.Namespace, csv_path: str) -> list[dict[str, str]]:
    """Run the study's jobs not yet in its CSV, rewriting the CSV after each; returns all rows."""
    rows = read_rows(csv_path)
    job_fields = [name for name in study.key_fields if name != "phase"]
    done = {_key(row, job_fields) for row in rows}
    todo = [job for job in study.jobs(args) if _key(job.key, job_fields) not in done]
    if args.plot_only:
        todo = []
    elif args.limit is not None:
        todo = todo[: args.limit]
    print(f"{args.name}: {len(todo)} runs to do, {len(rows)} rows already in {csv_path}", flush=True)
    bar = tqdm(todo, desc=args.name, unit="run", disable=not args.progress, dynamic_ncols=True)
    for job in bar:
        bar.set_postfix_str(" ".join(f"{k}={v}" for k, v in job.key.items()), refresh=True)
        new = study.run(job, args)
        rows.extend({name: _cell(row.get(name)) if not isinstance(row.get(name), str) else row[name] for name in study.fields}
                    for row in new)
        write_rows(csv_path, study.fields, rows)  # after every run: an interruption loses one run at most
        for row in new:
            tqdm.write(_describe(row), file=None)
    bar.close()
    return rows


def _describe(row: dict[str, str]) -> str:
    shown = [f"{name}={row[name]}" for name in ("model", "protocol", "length", "bias", "theta_stddev", "workspace", "stages",
                                               "degree", "seed", "phase") if name in row]
    if "early_gradient_norm" in row:
        shown += [f"grad {row['gradient_norm']}", f"early {row['early_gradient_norm']}"]
    else:
        shown += [f"steps_to_target {row['steps_to_target'] or 'never'} (of {row['steps']})"]
    return f"{' '.join(shown)}; {float(row['wall_s']):.1f} s"


if __name__ == "__main__":
    main()
