"""What limits the hardware-native QRNN on a device: noise scale, length, error budget, cross-device (issue 19, item 7).

    python -m train.studies.hardware_study --runs RUN [RUN ...] [--paper-run RUN] --out runs/hardware-study

RUN is a run folder of `train.hardware` (run.json, weights.npz); nothing is trained. Every
figure is the exact expected per-readout accuracy (the mean of p(target) over the readouts
of `--sequences` held-out sequences: the layer's marginals, infinitely many shots) on the
run's held-out data (seed `TEST_SEED + seed`, as train.hardware's estimate). Writes into OUT:

    noise_scale.csv, noise_scale.png   each run under its own device's noise at each `--scales`
                                       (and the paper's model, `--paper-run`, on rainbow)
    length.csv, length.png             accuracy per readout position at each of `--lengths` bits
    budget.csv, budget.md              the noise model's parts (thermal, depolarising, readout,
                                       coherent) switched off one at a time, and on alone
    summary.json, summary.md           all tables, cross-device rows and the command

The parts of the error budget are cirq_google's: thermal decay (T1, T_phi) in every moment,
coherent PhasedFSim errors after two-qubit gates, depolarising noise (the calibrated Pauli
error minus the thermal and coherent parts) and readout errors. A part is switched off with
the others held fixed: the Pauli errors are rewritten so that cirq's subtraction leaves the
same depolarising part (docs/HARDWARE.md, "Error budget").
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import math
import os
import shlex
import sys
import time
from typing import Any, Sequence

import cirq
import cirq_google
import numpy as np
from tqdm import tqdm

from data.bit_tasks import bit_task
from qrnn_tfq.atomic import atomic_write
from qrnn_tfq.hardware.cell import HardwareCell
from qrnn_tfq.hardware.devices import HARDWARE_DEVICES, noise_model, noise_properties
from qrnn_tfq.hardware.engine import DensityMatrixEngine
from qrnn_tfq.hardware.program import sequence_program
from train.core import quiet
from train.core.arguments import positive_int
from train.core.outputs import markdown_table, save_figure, subplots, write_json
from train.core.hardware_runs import PROGRAM as HARDWARE_PROGRAM, TEST_SEED, make_layer

SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)
LENGTHS = (24, 48, 96)
PARTS = ("thermal", "depolarising", "readout", "coherent")
SEQUENCES = 32


@dataclasses.dataclass(frozen=True)
class HardwareRun:
    folder: str
    name: str
    settings: dict[str, Any]
    kernel: np.ndarray

    @property
    def device(self) -> str:
        return self.settings["layer"]["device"]

    def batch(self, sequences: int, length: int | None = None) -> Any:
        """The run's held-out sequences (train.hardware's estimate data at its own length)."""
        return bit_task(self.settings["task"], sequences, length=length or self.settings["length"],
                        seed=TEST_SEED + self.settings["training"]["seed"])


def load_run(folder: str) -> HardwareRun:
    try:
        with open(os.path.join(folder, "run.json")) as file:
            settings = json.load(file)
        with np.load(os.path.join(folder, "weights.npz")) as saved:
            kernel = np.asarray(saved["kernel"], np.float64)
    except (OSError, KeyError, ValueError) as error:
        raise SystemExit(f"error: {folder} is not a finished train.hardware run ({error}).") from error
    if settings.get("program") != HARDWARE_PROGRAM:
        raise SystemExit(f"error: {folder} is a run of {settings.get('program')!r}, not {HARDWARE_PROGRAM}.")
    return HardwareRun(folder, os.path.basename(os.path.normpath(folder)), settings, kernel)


def accuracy_by_position(probabilities: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(B, R) P(read 1) and targets -> (R,) mean p(target) per readout."""
    return np.where(targets == 1, probabilities, 1.0 - probabilities).mean(axis=0)


def layer_accuracy(run: HardwareRun, batch: Any, **overrides: Any) -> np.ndarray:
    """Per-readout expected accuracy of the run's angles in `make_layer(..., **overrides)`."""
    layer = make_layer(run.settings, batch.scored, **overrides)
    layer.kernel.assign(run.kernel)
    return accuracy_by_position(layer(batch.inputs).numpy(), batch.targets)


def engine_accuracy(run: HardwareRun, batch: Any, noise: cirq.NoiseModel | None) -> np.ndarray:
    """The same with any Cirq noise model (the engine HardwareQRNN builds, on the run's cell)."""
    layer = run.settings["layer"]
    cell = HardwareCell(device=run.device, lanes=layer["lanes"], layers=layer["layers"])
    engine = DensityMatrixEngine(sequence_program(cell, batch.scored, noise))
    return accuracy_by_position(engine.probabilities(run.kernel, batch.inputs).numpy(), batch.targets)


# ---- the parts of the noise model ----------------------------------------------------------


def part_properties(device: str, parts: Sequence[str], scale: float = 1.0) -> cirq_google.GoogleNoiseProperties:
    """`noise_properties(device, scale)` with only `parts` (of `PARTS`) on, the others' figures unchanged.

    cirq_google's depolarising error is the Pauli error minus the thermal part (T1, T_phi over
    the gate's duration) and the coherent part (the fsim error's entanglement infidelity). So
    the Pauli error given to cirq is the sum of the parts that are on: with thermal off,
    depolarising keeps its own size instead of absorbing the thermal share.
    """
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"Unknown noise parts {sorted(unknown)}: choose from {PARTS}.")
    full = noise_properties(device, scale)
    depolarising = full._depolarizing_error  # pylint: disable=protected-access
    pauli = {}
    for op_id, p in full.gate_pauli_errors.items():
        time_ns = float(full.gate_times_ns.get(op_id.gate_type, 0.0))
        thermal = sum(cirq.qis.decoherence_pauli_error(full.t1_ns[q], full.tphi_ns[q], time_ns) for q in op_id.qubits)
        depol = depolarising.get(op_id, 0.0)
        coherent = p - thermal - depol  # the entangling error cirq subtracts (0 for one-qubit gates)
        pauli[op_id] = (("thermal" in parts) * thermal + ("coherent" in parts) * coherent
                        + ("depolarising" in parts) * depol)
    return dataclasses.replace(
        full,
        t1_ns=full.t1_ns if "thermal" in parts else {q: math.inf for q in full.t1_ns},
        tphi_ns=full.tphi_ns if "thermal" in parts else {q: math.inf for q in full.tphi_ns},
        readout_errors=full.readout_errors if "readout" in parts else {},
        fsim_errors=full.fsim_errors if "coherent" in parts else {},
        gate_pauli_errors=pauli,
    )


def part_noise(device: str, parts: Sequence[str], scale: float = 1.0) -> cirq.NoiseModel:
    return cirq_google.NoiseModelFromGoogleNoiseProperties(part_properties(device, parts, scale))


# ---- the studies ---------------------------------------------------------------------------


def noise_scale_rows(runs: Sequence[HardwareRun], scales: Sequence[float], sequences: int) -> list[dict[str, Any]]:
    rows = []
    for run in tqdm(runs, desc="noise scale", unit="run", dynamic_ncols=True):
        batch = run.batch(sequences)
        rows.append({"model": run.name, "device": run.device, "scale": 0.0,
                     "accuracy": float(layer_accuracy(run, batch, noisy=False).mean())})
        for scale in scales:
            rows.append({"model": run.name, "device": run.device, "scale": scale,
                         "accuracy": float(layer_accuracy(run, batch, noisy=True, noise_scale=scale).mean())})
    return rows


def paper_rows(folder: str, scales: Sequence[float], sequences: int) -> list[dict[str, Any]]:
    """The paper's postselected model (train.elman xor) under rainbow's noise, sqrt-iSWAP cell,
    teacher-forced step by step (qrnn_tfq.export.noisy): expected XOR-bit accuracy."""
    from qrnn_tfq.export.load import load_run as load_paper_run  # noqa: PLC0415
    from qrnn_tfq.export.noisy import NoisySimulator  # noqa: PLC0415
    from qrnn_tfq.export.steps import compile_cell  # noqa: PLC0415
    from train.export import run_batch  # noqa: PLC0415

    loaded = load_paper_run(folder)
    data, _ = run_batch(loaded, folder, sequences)
    cell = compile_cell(loaded.config, loaded.weights, "rainbow", "sqrt_iswap")
    name = "paper: " + os.path.basename(os.path.normpath(folder))
    rows = []
    for scale in tqdm((0.0, *scales), desc="paper's model", unit="scale", dynamic_ncols=True):
        start = time.perf_counter()
        simulator = NoisySimulator(cell, None if scale == 0 else noise_model("rainbow", scale))
        right = []
        for inputs, targets, scored in zip(data["inputs"], data["targets"], data["scored"]):
            trace = simulator.run_sequence(inputs, targets)
            p1 = trace.probabilities[:, 1] + trace.probabilities[:, 3]  # the last lane (the XOR bit) reads 1
            right += list(np.where(targets[:, -1] == 1, p1, 1 - p1)[np.asarray(scored, bool)])
        rows.append({"model": name, "device": "rainbow", "scale": scale, "accuracy": float(np.mean(right)),
                     "seconds": round(time.perf_counter() - start, 1)})
    return rows


def length_rows(runs: Sequence[HardwareRun], lengths: Sequence[int], sequences: int) -> list[dict[str, Any]]:
    rows = []
    jobs = [(run, length) for run in runs for length in lengths]
    for run, length in tqdm(jobs, desc="length", unit="sequence shape", dynamic_ncols=True):
        try:
            batch = run.batch(sequences, length)
            accuracy = layer_accuracy(run, batch, noisy=True, noise_scale=1.0)
        except ValueError as error:
            rows.append({"model": run.name, "device": run.device, "length": length, "readout": None,
                         "bits_read": None, "accuracy": None, "refused": str(error)})
            continue
        positions = np.flatnonzero(batch.scored) + 1  # input bits read before each readout
        rows += [{"model": run.name, "device": run.device, "length": length, "readout": k + 1,
                  "bits_read": int(p), "accuracy": float(a), "refused": None}
                 for k, (p, a) in enumerate(zip(positions, accuracy))]
    return rows


def budget_rows(runs: Sequence[HardwareRun], sequences: int) -> list[dict[str, Any]]:
    configurations = [("all", PARTS), ("none", ())]
    configurations += [(f"without {part}", tuple(p for p in PARTS if p != part)) for part in PARTS]
    configurations += [(f"only {part}", (part,)) for part in PARTS]
    rows = []
    jobs = [(run, c) for run in runs for c in configurations]
    for run, (label, parts) in tqdm(jobs, desc="error budget", unit="model", dynamic_ncols=True):
        accuracy = engine_accuracy(run, run.batch(sequences), part_noise(run.device, parts))
        rows.append({"model": run.name, "device": run.device, "noise": label, "parts_on": " ".join(parts) or "-",
                     "accuracy": float(accuracy.mean()), "last_readout": float(accuracy[-1])})
    return rows


def budget_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per model and part: what switching it off gains, what it alone costs."""
    table = []
    for model in dict.fromkeys(row["model"] for row in rows):
        acc = {row["noise"]: row["accuracy"] for row in rows if row["model"] == model}
        for part in PARTS:
            table.append({"model": model, "part": part, "all": acc["all"], "without it": acc[f"without {part}"],
                          "gain if off": acc[f"without {part}"] - acc["all"], "only it": acc[f"only {part}"],
                          "cost alone": acc["none"] - acc[f"only {part}"]})
    return table


def cross_rows(runs: Sequence[HardwareRun], sequences: int) -> list[dict[str, Any]]:
    rows = []
    jobs = [(run, device) for run in runs for device in HARDWARE_DEVICES]
    for run, device in tqdm(jobs, desc="cross-device", unit="device", dynamic_ncols=True):
        row = {"model": run.name, "trained on": run.device, "evaluated on": device, "accuracy": None, "refused": None}
        try:
            row["accuracy"] = float(layer_accuracy(run, run.batch(sequences), device=device, noisy=True, noise_scale=1.0).mean())
        except ValueError as error:
            row["refused"] = str(error)
        rows.append(row)
    return rows


# ---- output --------------------------------------------------------------------------------


def write_csv(path: str, rows: list[dict[str, Any]], keys: Sequence[str]) -> None:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(keys)
    writer.writerows([["" if row.get(k) is None else row.get(k) for k in keys] for row in rows])
    atomic_write(path, text.getvalue())


def plot_noise_scale(path: str, rows: list[dict[str, Any]]) -> None:
    figure, axes = subplots(figsize=(6.5, 4.2))
    for model in dict.fromkeys(row["model"] for row in rows):
        mine = [row for row in rows if row["model"] == model and row["scale"] > 0]
        device = mine[0]["device"]
        axes.plot([r["scale"] for r in mine], [r["accuracy"] for r in mine], "o-", label=f"{model} ({device})")
    axes.axhline(0.5, color="k", lw=0.8, ls=":", label="chance")
    axes.set_xscale("log", base=2)
    axes.set_xlabel("noise scale (x the device's calibrated noise)")
    axes.set_ylabel("expected accuracy per readout")
    axes.set_ylim(0.4, 1.02)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7)
    axes.set_title("Accuracy against noise scale (own device's noise)", fontsize=10)
    save_figure(figure, path)


def plot_length(path: str, rows: list[dict[str, Any]]) -> None:
    figure, axes = subplots(figsize=(6.5, 4.2))
    shown = [row for row in rows if row["accuracy"] is not None]
    for model in dict.fromkeys(row["model"] for row in shown):
        for length in dict.fromkeys(row["length"] for row in shown if row["model"] == model):
            mine = [r for r in shown if r["model"] == model and r["length"] == length]
            style = "o-" if len(mine) > 1 else "s"
            axes.plot([r["bits_read"] for r in mine], [r["accuracy"] for r in mine], style, ms=3,
                      label=f"{model}, {length} bits")
    axes.axhline(0.5, color="k", lw=0.8, ls=":")
    axes.set_xlabel("input bits before the readout")
    axes.set_ylabel("expected accuracy of the readout")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=6)
    axes.set_title("Accuracy along the sequence (each run's own device noise)", fontsize=10)
    save_figure(figure, path)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m train.studies.hardware_study", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", metavar="RUN", nargs="+", required=True, help="run folders of train.hardware")
    parser.add_argument("--paper-run", metavar="RUN", help="a train.elman --task xor run: the paper's model on rainbow")
    parser.add_argument("--sequences", type=positive_int, default=SEQUENCES, help=f"held-out sequences (default {SEQUENCES})")
    parser.add_argument("--paper-sequences", type=positive_int, default=4, help="sequences of the paper's model (default 4)")
    parser.add_argument("--scales", type=float, nargs="+", default=list(SCALES), help="noise scales (0.25 to 4)")
    parser.add_argument("--lengths", type=positive_int, nargs="+", default=list(LENGTHS), help="bits per sequence")
    parser.add_argument("--out", default="runs/hardware-study", help="output folder")
    parser.add_argument("-v", "--verbose", action="store_true", help="show TensorFlow's messages")
    args = parser.parse_args(argv)
    if any(not 0.25 <= s <= 4 for s in args.scales):
        parser.error(f"--scales must lie in [0.25, 4], got {args.scales}")
    quiet.configure_logging(args.verbose)
    runs = [load_run(folder) for folder in args.runs]
    os.makedirs(args.out, exist_ok=True)
    start = time.perf_counter()
    scale = noise_scale_rows(runs, args.scales, args.sequences)
    if args.paper_run:
        scale += paper_rows(args.paper_run, args.scales, args.paper_sequences)
    length = length_rows(runs, args.lengths, args.sequences)
    budget = budget_rows(runs, args.sequences)
    cross = cross_rows(runs, args.sequences)
    command = "python -m train.studies.hardware_study " + shlex.join(sys.argv[1:] if argv is None else list(argv))
    result = {"command": command, "sequences": args.sequences, "noise_scale": scale, "length": length,
              "budget": budget, "budget_table": budget_table(budget), "cross_device": cross,
              "seconds": round(time.perf_counter() - start, 1)}
    write_csv(os.path.join(args.out, "noise_scale.csv"), scale, ["model", "device", "scale", "accuracy"])
    write_csv(os.path.join(args.out, "length.csv"), length,
              ["model", "device", "length", "readout", "bits_read", "accuracy", "refused"])
    write_csv(os.path.join(args.out, "budget.csv"), budget, ["model", "device", "noise", "parts_on", "accuracy", "last_readout"])
    plot_noise_scale(os.path.join(args.out, "noise_scale.png"), scale)
    plot_length(os.path.join(args.out, "length.png"), length)
    budget_md = "\n".join(["# Error budget", "", markdown_table(result["budget_table"], [
        "model", "part", "all", "without it", "gain if off", "only it", "cost alone"]), "",
        markdown_table(budget, ["model", "noise", "accuracy", "last_readout"])])
    atomic_write(os.path.join(args.out, "budget.md"), budget_md + "\n")
    pivot = [{"model": m, **{f"x{r['scale']:g}" if r["scale"] else "noiseless": r["accuracy"]
                             for r in scale if r["model"] == m}} for m in dict.fromkeys(r["model"] for r in scale)]
    ends = [r for r in length if r["refused"] or r["readout"] in (1, None) or
            r["readout"] == max(x["readout"] or 0 for x in length if x["model"] == r["model"] and x["length"] == r["length"])]
    text = ["# Hardware study", "", f"`{command}` ({result['seconds']} s; {args.sequences} held-out sequences, "
            "exact expected accuracy per readout)", "", "## Noise scale", "",
            markdown_table(pivot, list(dict.fromkeys(k for row in pivot for k in row))), "", "## Length", "",
            markdown_table(ends, ["model", "length", "readout", "bits_read", "accuracy", "refused"]), "",
            budget_md.replace("# Error budget", "## Error budget"), "", "## Cross-device", "",
            markdown_table(cross, ["model", "trained on", "evaluated on", "accuracy", "refused"])]
    atomic_write(os.path.join(args.out, "summary.md"), "\n".join(text) + "\n")
    write_json(os.path.join(args.out, "summary.json"), result)
    print("\n".join(text))
    print(f"Wrote {os.path.join(args.out, '')}: noise_scale.csv, noise_scale.png, length.csv, length.png, budget.csv, "
          "budget.md, summary.json, summary.md")
    return result


if __name__ == "__main__":
    main()
