"""`python -m train.studies.experiments NAME`: the studies by name, the command's options, and the
run of a study's jobs not yet in its CSV (see `train.studies.experiments`)."""

from __future__ import annotations

import argparse
import os
import time
from typing import Sequence

from tqdm import tqdm

from train.core import arguments, quiet, run_folder
from train.core.config import MODELS
from train.studies import experiments
from train.studies.experiments import gradients, sequence_studies
from train.studies.experiments.jobs import Study, key_of, read_rows, row_cells, write_rows

RESULTS_FOLDER = os.path.join("docs", "results")
STUDIES: dict[str, Study] = {**sequence_studies.STUDIES, "gradients": gradients.STUDY}


# ---- the program -------------------------------------------------------------------------


def _models(text: str) -> tuple[str, ...]:
    models = tuple(text.split(","))
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise argparse.ArgumentTypeError(f"models must be among {list(MODELS)}, got {unknown}")
    return models


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m train.studies.experiments", description=experiments.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", choices=sorted(STUDIES), help="the study")
    parser.add_argument("--quick", action="store_true", help="a tiny grid with tiny models and a few steps (for tests)")
    parser.add_argument("--seeds", type=arguments.positive_int, help="seeds per setting (default: xor 5, others 3)")
    parser.add_argument("--seed", type=arguments.non_negative_int, default=0, help="first seed (default 0)")
    parser.add_argument("--max-steps", type=arguments.non_negative_int,
                        help="step budget per run (default: xor 2000, letters 1500, dna 1000, gradients 200 training steps)")
    parser.add_argument("--target-loss", type=float, default=1e-3, help="validation loss to reach (default 1e-3)")
    parser.add_argument("--lengths", type=lambda text: tuple(int(x) for x in text.split(",")),
                        help="dna-memory/gradients: comma-separated lengths (default: the study's)")
    parser.add_argument("--models", type=_models, default=MODELS,
                        help="dna-memory/gradients: comma-separated models among qrnn,rnn,lstm (default all)")
    parser.add_argument("--protocols", type=lambda text: tuple(text.split(",")), default=("paper", "honest"),
                        help="dna-memory: the QRNN's protocols, comma-separated (default paper,honest)")
    parser.add_argument("--protocol", choices=("paper", "honest"), default="honest",
                        help="gradients: DNA protocol (default honest; 'paper' writes gradients-paper.*)")
    parser.add_argument("--gradient-batch", type=arguments.positive_int, default=64,
                        help="gradients: samples in the measured batch (default 64)")
    parser.add_argument("--limit", type=arguments.non_negative_int, help="run at most this many new jobs, then stop")
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
        rows = run_study(study, args, csv_path)
        if rows:
            study.plot(rows, png_path, args)
    plot = f"plot {png_path}" if rows else "no plot (no rows)"
    print(f"{args.name}: {len(rows)} rows in {csv_path}, {plot} ({time.perf_counter() - start:.1f} s)", flush=True)
    return csv_path


def run_study(study: Study, args: argparse.Namespace, csv_path: str) -> list[dict[str, str]]:
    """Run the study's jobs not yet in its CSV, rewriting the CSV after each; returns all rows."""
    rows = read_rows(csv_path)
    job_fields = [name for name in study.key_fields if name != "phase"]
    done = {key_of(row, job_fields) for row in rows}
    todo = [job for job in study.jobs(args) if key_of(job.key, job_fields) not in done]
    if args.plot_only:
        todo = []
    elif args.limit is not None:
        todo = todo[: args.limit]
    print(f"{args.name}: {len(todo)} runs to do, {len(rows)} rows already in {csv_path}", flush=True)
    bar = tqdm(todo, desc=args.name, unit="run", disable=not args.progress, dynamic_ncols=True)
    for job in bar:
        bar.set_postfix_str(" ".join(f"{k}={v}" for k, v in job.key.items()), refresh=True)
        new = study.run(job, args)
        rows.extend(row_cells(row, study.fields) for row in new)
        write_rows(csv_path, study.fields, rows)  # after every run: an interruption loses one run at most
        for row in new:
            tqdm.write(_describe(row), file=None)
    bar.close()
    return rows


def _describe(row: dict[str, str]) -> str:
    shown = [f"{name}={row[name]}" for name in ("model", "protocol", "length", "bias", "theta_stddev", "workspace_lanes",
                                               "stages", "degree", "seed", "phase") if name in row]
    if "early_gradient_norm" in row:
        shown += [f"grad {row['gradient_norm']}", f"early {row['early_gradient_norm']}"]
    else:
        shown += [f"steps_to_target {row['steps_to_target'] or 'never'} (of {row['steps']})"]
    return f"{' '.join(shown)}; {float(row['wall_s']):.1f} s"


if __name__ == "__main__":
    main()
