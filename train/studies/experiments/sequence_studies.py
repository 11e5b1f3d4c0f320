"""The training studies: Elman XOR against the initial bias and spread (`xor-init`), Elman
letters against the topology (`letters-topology`) and DNA memory against the length for
the QRNN and the classical baselines (`dna-memory`): their jobs and plots."""

from __future__ import annotations

import argparse
import math

from train.core.outputs import save_figure, subplots
from train.studies.experiments.jobs import QUICK_BASELINE, QUICK_QRNN, TRAIN_FIELDS, Job, Study, budget, seeds, train_job
from train.studies.experiments.plots import LEGEND_NOTE, median_line

PI = math.pi

# -- xor-init

XOR_BIASES = (0.0, PI / 4, PI / 2, PI)
XOR_SPREADS = ((0.1, 0.01), (0.5, 0.1), (0.01, 0.001))  # (theta_stddev, phi_stddev = work_stddev)


def xor_jobs(args: argparse.Namespace) -> list[Job]:
    biases, spreads = (XOR_BIASES, XOR_SPREADS) if not args.quick else ((PI / 2, 0.0), XOR_SPREADS[:1])
    jobs = []
    for theta, phi in spreads:  # the default spread first: b = pi/2 against the others comes first
        for bias in sorted(biases, key=lambda b: b != PI / 2):
            for seed in seeds(args):
                # The exact bias (a change of 1e-6 in b changes a run's steps to the target).
                settings = {"task": "xor", "bias": bias, "theta_stddev": theta, "phi_stddev": phi, "work_stddev": phi,
                            "seed": seed, **budget(args)}
                if args.quick:
                    settings.update(length=9, **QUICK_QRNN)
                key = {"bias": round(bias, 6), "theta_stddev": theta, "phi_stddev": phi, "seed": seed}
                jobs.append(Job(key, "elman", settings))
    return jobs


def plot_xor(rows: list[dict[str, str]], path: str, args: argparse.Namespace) -> None:
    figure, axis = subplots(figsize=(7, 4.5))
    spreads = sorted({(r["theta_stddev"], r["phi_stddev"]) for r in rows}, key=lambda s: float(s[0]))
    for index, (theta, phi) in enumerate(spreads):
        group = [r for r in rows if (r["theta_stddev"], r["phi_stddev"]) == (theta, phi)]
        biases = sorted({float(r["bias"]) for r in group})
        offset = (index - (len(spreads) - 1) / 2) * 0.04
        label = f"spread theta {theta}, phi {phi}"
        median_line(axis, [b + offset for b in biases], [[r for r in group if float(r["bias"]) == b] for b in biases], label)
    axis.set_xticks(list(XOR_BIASES), ["0", "pi/4", "pi/2", "pi"])
    axis.set_xlabel("initial neuron bias b")
    axis.set_ylabel("steps to validation loss 1e-3")
    axis.set_yscale("log")
    axis.set_title(f"Elman XOR: median over seeds\n{LEGEND_NOTE}", fontsize=10)
    axis.legend(fontsize=8)
    save_figure(figure, path, dpi=100)


# -- letters-topology

TOPOLOGY = ("workspace_lanes", "stages", "degree")
LETTERS_BEST = (6, 2, 2)  # the paper's fastest: workspace lanes 6, stages 2, degree 2


def letters_jobs(args: argparse.Namespace) -> list[Job]:
    if args.quick:
        topologies = [(2, 1, 1), (3, 1, 1)]
    else:  # one parameter at a time around the paper's best, a reduced grid of 10 topologies
        w, s, d = LETTERS_BEST
        topologies = [(w, s, d)] + [(x, s, d) for x in (3, 4, 5, 7, 8)] + [(w, x, d) for x in (1, 3)] + [(w, s, x) for x in (1, 3)]
    jobs = []
    for topology in topologies:
        for seed in seeds(args):
            settings = {"task": "letters", **dict(zip(TOPOLOGY, topology)), "seed": seed, **budget(args)}
            if args.quick:
                settings.update(length=8, batch=4, val_batch=4)
            jobs.append(Job({**dict(zip(TOPOLOGY, topology)), "seed": seed}, "elman", settings))
    return jobs


def plot_letters(rows: list[dict[str, str]], path: str, args: argparse.Namespace) -> None:
    figure, axes = subplots(1, 3, figsize=(11, 4), sharey=True)
    best = dict(zip(TOPOLOGY, map(str, LETTERS_BEST)))
    for axis, varied in zip(axes, TOPOLOGY):
        fixed = [name for name in best if name != varied]
        group = [r for r in rows if all(r[name] == best[name] for name in fixed)] if not args.quick else rows
        values = sorted({int(r[varied]) for r in group})
        median_line(axis, values, [[r for r in group if int(r[varied]) == v] for v in values], None)
        axis.set_xticks(values)
        axis.set_xlabel(varied.replace("_", " ") + ("" if args.quick else f" ({', '.join(f'{n} {best[n]}' for n in fixed)})"))
        axis.set_yscale("log")
    axes[0].set_ylabel("steps to validation loss 1e-3")
    figure.suptitle(f"Elman letters: median over seeds\n{LEGEND_NOTE}", fontsize=10)
    save_figure(figure, path, dpi=100)


# -- dna-memory

DNA_LENGTHS = (5, 10, 20, 50, 100, 200, 500, 1000)
# (model, protocol): a classical model reads only the inputs, and the two protocols differ
# only in unscored targets, so for it they are one problem ("any", trained on "paper" data).
DNA_SERIES = (("qrnn", "paper"), ("qrnn", "honest"), ("rnn", "any"), ("lstm", "any"))


def dna_jobs(args: argparse.Namespace) -> list[Job]:
    lengths = args.lengths or ((6, 10) if args.quick else DNA_LENGTHS)
    jobs = []
    for length in lengths:
        for model, protocol in DNA_SERIES:
            if model not in args.models or (protocol != "any" and protocol not in args.protocols):
                continue
            for seed in seeds(args):
                settings = {"length": length, "protocol": "paper" if protocol == "any" else protocol, "model": model,
                            "seed": seed, **budget(args)}
                if args.quick:
                    settings.update(QUICK_QRNN if model == "qrnn" else QUICK_BASELINE)
                jobs.append(Job({"model": model, "protocol": protocol, "length": length, "seed": seed}, "dna", settings))
    return jobs


def plot_dna(rows: list[dict[str, str]], path: str, args: argparse.Namespace) -> None:
    figure, axis = subplots(figsize=(7, 4.5))
    for model, protocol in DNA_SERIES:
        group = [r for r in rows if (r["model"], r["protocol"]) == (model, protocol)]
        if not group:
            continue
        lengths = sorted({int(r["length"]) for r in group})
        label = f"{model.upper()} ({protocol} protocol)" if model == "qrnn" else f"{model.upper()} (either protocol)"
        median_line(axis, lengths, [[r for r in group if int(r["length"]) == n] for n in lengths], label)
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("sequence length L")
    axis.set_ylabel("steps to validation loss 1e-3")
    axis.set_title(f"DNA long-range memory: median over seeds\n{LEGEND_NOTE}", fontsize=10)
    axis.legend(fontsize=8)
    save_figure(figure, path, dpi=100)


STUDIES = {
    "xor-init": Study("xor-init", ("bias", "theta_stddev", "phi_stddev", "seed"), TRAIN_FIELDS,
                      xor_jobs, train_job, plot_xor, default_seeds=5, default_max_steps=2000),
    "letters-topology": Study("letters-topology", (*TOPOLOGY, "seed"), TRAIN_FIELDS,
                              letters_jobs, train_job, plot_letters, default_seeds=3, default_max_steps=1500),
    "dna-memory": Study("dna-memory", ("model", "protocol", "length", "seed"), TRAIN_FIELDS,
                        dna_jobs, train_job, plot_dna, default_seeds=3, default_max_steps=1000),
}
