"""Export a trained QRNN's circuits for a Google device (docs/EXPORT.md).

    python -m train.export runs/xor-export --device rainbow --gateset sqrt_iswap --out runs/xor-export/device
    python -m train.export RUN --device weber --gateset cz --amplification 1 --input 01 --out DIR
    python -m train.export RUN --gateset sqrt_iswap --noisy-shots 300 --sequences 5 --out DIR

RUN is a run folder of `train.elman`, `train.dna` or `train.mnist` (its `best.npz`, else
`latest.npz`) or a checkpoint file. Writes into DIR:

    cell.json, cell.qasm, cell.pb   one time step with the trained values, input word
                                    `--input` (default: the first word of the exported
                                    sequence), compiled for the device and gate set, placed
                                    and routed; postselected form, or amplified with
                                    `--amplification K` rounds
    sequence.json                   the whole circuit of data sequence `--sequence`: per
                                    step the cell, the word measurement and the reset of the
                                    in/out lanes by classical control (the device rejects it)
    sequence_device.json            the same with the reset by the target word (teacher
                                    forcing; the device accepts it)
    report.json, report.md          qubits, depth, gate counts per step and per sequence for
                                    each form and gate set, the expected success probability
                                    per step and per sequence on the run's own data (its
                                    validation batch; MNIST: `--samples` test images), run
                                    time per shot from the device's gate durations and, with
                                    `--noisy-shots`, the noisy estimate

RUN may also be a run folder of `train.hardware` (hardware-native QRNN): then DIR gets
sequence_device.json/.qasm/.pb and report.json/.md of the whole sequence on `--device`
(default: the run's own; willow, rainbow or weber), and `--noisy-shots N --sequences M
[--noise-scale S]` estimates it shot by shot under the device's noise and without
(train/core/hardware_export.py, docs/HARDWARE.md). The options of the paper's model
(--gateset, --amplification, --input, --samples, --noisy-steps) are refused there.

`--noisy-shots N --sequences M` runs the first M data sequences of the sqrt-iSWAP cell on
the device's calibrated noise model step by step on a density matrix
(`qrnn_tfq.export.noisy`) and samples N shots per sequence from it, beside the noiseless
engine. Its cost grows as 4^qubits: fine for small models (5-6 qubits), not for 9.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from typing import Any, Sequence

import numpy as np
from tqdm import tqdm

from qrnn_tfq.export import report as reports
from qrnn_tfq.export.compile import DEVICES, GATESETS
from qrnn_tfq.export.files import write_circuit_files, write_json
from qrnn_tfq.export.load import LoadedRun, load_run
from qrnn_tfq.export.steps import CompiledCell, compile_cell, sequence_circuit
from qrnn_tfq.export.success import success_probabilities
from qrnn_tfq.hardware.devices import HARDWARE_DEVICES
from train.core import hardware_export, quiet
from train.core.arguments import non_negative_int, positive_int
from train.core.config import MnistData, rebuild
from train.core.outputs import write_json as write_report_json

PROGRAM = "train.export"
MNIST_SAMPLES = 64


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m {PROGRAM}", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", metavar="RUN", help="run folder (best.npz, else latest.npz) or checkpoint file")
    parser.add_argument("--device", choices=HARDWARE_DEVICES,
                        help="Google processor (default rainbow; a hardware run: its own; willow only for those)")
    parser.add_argument("--gateset", choices=GATESETS, help="gate set of the files (default cz)")
    parser.add_argument("--amplification", type=non_negative_int,
                        help="K >= 1: files of the amplified form with K rounds, and its rows in the report")
    parser.add_argument("--input", metavar="BITS", help="input word of cell.* as I bits, lane 0 first, e.g. 01")
    parser.add_argument("--sequence", type=non_negative_int, default=0, help="data sequence of sequence*.json")
    parser.add_argument("--samples", type=positive_int,
                        help=f"sequences for the success estimate (default: the validation batch; MNIST {MNIST_SAMPLES})")
    parser.add_argument("--noisy-shots", type=non_negative_int, default=0,
                        help="shots per sequence of the noisy estimate (default 0: no noisy estimate)")
    parser.add_argument("--sequences", type=positive_int, default=5, help="sequences of the noisy estimate")
    parser.add_argument("--noisy-steps", type=positive_int,
                        help="only the first N steps of each sequence in the noisy estimate (large models)")
    parser.add_argument("--noise-scale", type=float,
                        help="hardware runs: scale of the noise model in the estimate (0.25 to 4, default 1)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    parser.add_argument("-v", "--verbose", action="store_true", help="show TensorFlow's and Cirq's messages")
    return parser


def parse_bits(text: str, width: int) -> np.ndarray:
    """'01' -> array([0, 1]); exits with a message naming the text if it is not `width` bits."""
    if len(text) != width or set(text) - {"0", "1"}:
        raise SystemExit(f"error: --input must be {width} bits (0 or 1, lane 0 first), got {text!r}.")
    return np.array([int(c) for c in text], dtype=np.int64)


def run_batch(loaded: LoadedRun, run_path: str, samples: int | None) -> tuple[dict[str, np.ndarray], str]:
    """The run's own data (`train.core.config.rebuild`): its validation batch (Elman, DNA) or
    a seeded subset of its test images (MNIST)."""
    program = loaded.run.get("program")
    if program not in ("train.elman", "train.dna", "train.mnist"):
        raise SystemExit(f"error: cannot tell the data of {run_path}: its program is {program!r} "
                         "(expected train.elman, train.dna or train.mnist).")
    if program == "train.mnist":
        rebuilt = rebuild(loaded.checkpoint, test_size=samples or MNIST_SAMPLES)
        assert isinstance(rebuilt.data, MnistData)
        test = rebuilt.data.test
        batch = test.to_batch()
        description = f"{len(test)} seeded test images of digits {list(rebuilt.run.digits)} (train.mnist's test subset)"
        return {"inputs": batch.inputs, "targets": batch.targets, "scored": batch.scored}, description
    rebuilt = rebuild(loaded.checkpoint)
    task, size, seed = rebuilt.data, rebuilt.run.val_batch, loaded.seed or 0
    batch = task.sample(size, seed=(seed, 1))  # exactly the batch the run validated on
    count = min(samples or size, size)
    arrays = {"inputs": batch.inputs[:count], "targets": batch.targets[:count], "scored": batch.scored[:count]}
    return arrays, f"the run's validation batch: {count} sequences of task {task.name!r} (seed ({seed}, 1))"


def compile_cells(loaded: LoadedRun, args: argparse.Namespace, forms: list[tuple[str, int]]) -> dict:
    """(form, rounds, gateset) -> CompiledCell, for every form and both gate sets (same placement)."""
    cells: dict[tuple[str, int, str], CompiledCell] = {}
    jobs = [(form, rounds, gateset) for form, rounds in forms for gateset in GATESETS]
    bar = tqdm(jobs, desc="compiling", unit="cell", disable=not args.progress, dynamic_ncols=True)
    for form, rounds, gateset in bar:
        bar.set_postfix(form=form + (f" k={rounds}" if rounds else ""), gateset=gateset, refresh=True)
        placement = next((c.placement for (f, _, _), c in cells.items() if f == form), None)
        cells[(form, rounds, gateset)] = compile_cell(
            loaded.config, loaded.weights, args.device, gateset, form=form, rounds=rounds, placement=placement
        )
    return cells


def circuit_rows(cells: dict, word: np.ndarray, data: dict[str, np.ndarray], index: int, table: Any) -> list[dict]:
    rows = []
    for (form, rounds, gateset), cell in cells.items():
        sequence = sequence_circuit(cell, data["inputs"][index], data["targets"][index], reset="target")
        rows.append({"form": form, "amplification": rounds, "gateset": gateset,
                     "placement": {str(k): str(v) for k, v in cell.placement.items()},
                     "step": reports.circuit_summary(cell.step_circuit(word), table),
                     "sequence": reports.sequence_summary(sequence, table)})
    return rows


def noisy_section(cell: CompiledCell, data: dict, estimate: Any, args: argparse.Namespace) -> dict[str, Any]:
    from qrnn_tfq.export.noisy import NoisySimulator, calibrated_noise_model, noisy_estimate  # noqa: PLC0415

    count = min(args.sequences, data["inputs"].shape[0])
    steps = min(args.noisy_steps or data["inputs"].shape[1], data["inputs"].shape[1])
    subset = {key: value[:count, :steps] for key, value in data.items()}  # teacher-forced: a prefix is exact
    simulator = NoisySimulator(cell, calibrated_noise_model(args.device))
    bar = tqdm(total=count, desc="noisy estimate", unit="sequence", disable=not args.progress, dynamic_ncols=True)
    start = time.perf_counter()
    try:
        result = noisy_estimate(simulator, subset, estimate.probabilities[:count, :steps],
                                estimate.ancilla[:count, :steps], shots=args.noisy_shots, seed=0, progress=bar.update)
    finally:
        bar.close()
    return {**result, "device": args.device, "gateset": cell.gateset, "form": cell.form,
            "qubits": len(simulator.qubits), "wall_time_s": time.perf_counter() - start}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse `argv`, export the run and return the report."""
    args = make_parser().parse_args(argv)
    quiet.configure_logging(args.verbose)
    if hardware_export.is_hardware_run(args.run):
        return hardware_export.export(args, argv)
    hardware_export.refuse_options(args, hardware_export.HARDWARE_OPTIONS, "the paper's model (only to train.hardware runs)")
    if args.device not in (None, *DEVICES):
        hardware_export.refuse(f"--device {args.device} only takes train.hardware runs; the paper's model: {DEVICES}.")
    args.device, args.gateset = args.device or "rainbow", args.gateset or "cz"
    args.amplification = args.amplification or 0
    try:
        loaded = load_run(args.run)
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"error: {error}") from error
    config = loaded.config
    data, data_description = run_batch(loaded, args.run, args.samples)
    if args.sequence >= data["inputs"].shape[0]:
        raise SystemExit(f"error: --sequence must be below {data['inputs'].shape[0]} (the data's sequences), "
                         f"got {args.sequence}.")
    word = parse_bits(args.input, config.io_lanes) if args.input else data["inputs"][args.sequence][0]
    if args.amplification and config.order < 1:
        raise SystemExit(f"error: --amplification needs neurons of order >= 1, the run has order {config.order}.")
    forms = [("postselected", 0)] + ([("amplified", args.amplification)] if args.amplification else [])
    file_form = forms[-1]

    cells = compile_cells(loaded, args, forms)
    table = reports.duration_table(args.device)
    chosen = cells[(*file_form, args.gateset)]
    os.makedirs(args.out, exist_ok=True)
    written = write_circuit_files(args.out, "cell", chosen.step_circuit(word))
    inputs, targets = data["inputs"][args.sequence], data["targets"][args.sequence]
    for name, reset in (("sequence.json", "measured"), ("sequence_device.json", "target")):
        write_json(os.path.join(args.out, name), sequence_circuit(chosen, inputs, targets, reset=reset))
    from qrnn_tfq.export.compile import load_device  # noqa: PLC0415

    load_device(args.device).validate_circuit(sequence_circuit(chosen, inputs, targets, reset="target"))

    estimates = {}
    for form, rounds in tqdm(forms, desc="success estimate", disable=not args.progress, dynamic_ncols=True):
        estimates[(form, rounds)] = success_probabilities(config, loaded.weights, data, rounds)
    report = {
        "run": args.run, "checkpoint": loaded.checkpoint, "step": loaded.step,
        "command": "python -m " + PROGRAM + " " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)),
        "model": {"workspace_lanes": config.workspace_lanes, "io_lanes": config.io_lanes, "stages": config.stages,
                  "degree": config.degree, "order": config.order, "parameters": config.num_parameters},
        "device": args.device, "gateset": args.gateset, "form": file_form[0], "amplification": file_form[1],
        "input_word": [int(b) for b in word], "sequence_index": args.sequence, "data": data_description,
        "circuits": circuit_rows(cells, word, data, args.sequence, table),
        "success": [{"form": form, **estimates[(form, rounds)].summary()} for form, rounds in forms],
        "durations": table.sources,
        "files": {
            "cell.json": "Cirq JSON of the compiled, routed step (postselections tagged PostselectTag)",
            "cell.qasm": "OpenQASM 2 of the same step", "cell.pb": "cirq_google program proto of the same step",
            "sequence.json": "the whole data sequence, in/out lanes reset by classical control (not device-valid)",
            "sequence_device.json": "the whole data sequence, reset by the target word (device-valid)",
        },
        "notes": [
            "Postselections are mid-circuit measurements (keys post_... or success_...): a shot counts only when "
            "all of them read 0; the device has no feed-forward, so a failed shot runs on and is discarded.",
            f"Success probabilities: {data_description}; engine teacher-forced, float64.",
        ],
    }
    if args.noisy_shots:
        report["noisy"] = noisy_section(cells[(*file_form, "sqrt_iswap")], data, estimates[file_form], args)
    write_report_json(os.path.join(args.out, "report.json"), report)
    from qrnn_tfq.export.files import atomic_write  # noqa: PLC0415

    atomic_write(os.path.join(args.out, "report.md"), reports.markdown(report) + noisy_markdown(report.get("noisy")))
    print(f"Wrote {os.path.join(args.out, '')}: {', '.join(sorted([*map(os.path.basename, written.values()), 'sequence.json', 'sequence_device.json', 'report.json', 'report.md']))}")
    for row in report["success"]:
        print(f"{row['form']}: step success {row['step_success_mean']:.3g} (mean), whole sequence 10^"
              f"{row['sequence_success_log10_mean']:.1f} (mean of log10)")
    if "noisy" in report:
        noisy = report["noisy"]
        shown = {side: {k: "-" if v is None else f"{v:.3f}" for k, v in noisy[side].items()} for side in ("noisy", "noiseless")}
        print(f"noisy ({args.device}, sqrt_iswap, {noisy['sequences']} sequences x {noisy['shots_per_sequence']} shots): "
              f"word accuracy {shown['noisy']['word']}, last bit {shown['noisy']['last_bit']}; noiseless "
              f"{shown['noiseless']['word']}, {shown['noiseless']['last_bit']}")
    return report


def noisy_markdown(noisy: dict[str, Any] | None) -> str:
    if not noisy:
        return ""
    lines = ["", f"## Noisy estimate ({noisy['device']} median calibration, {noisy['gateset']}, {noisy['form']}, "
             f"{noisy['qubits']} qubits, {noisy['sequences']} sequences of {noisy['steps_per_sequence']} steps x "
             f"{noisy['shots_per_sequence']} shots, "
             f"{noisy['wall_time_s']:.0f} s)", "",
             "| | word accuracy (sampled) | last-bit accuracy (sampled) | expected word accuracy | ancilla success "
             "per step | word postselection (unscored) | log10 sequence acceptance |", "|---|---|---|---|---|---|---|"]
    for name in ("noiseless", "noisy"):
        row = {key: "-" if value is None else f"{value:.4g}" for key, value in noisy[name].items()}
        lines.append(f"| {name} | {row['word']} | {row['last_bit']} | {row['expected_word']} | "
                     f"{row['ancilla_per_step_mean']} | {row['word_postselection_mean']} | {row['sequence_log10_mean']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
