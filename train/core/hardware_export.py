"""`python -m train.export RUN ...` for a run folder of `train.hardware` (docs/HARDWARE.md, "Export").

Writes into `--out`: `sequence_device.json/.qasm/.pb` (the device circuit of held-out
sequence `--sequence` with the trained angles, compiled for `--device`, default the run's
own, and validated on it), `report.json` and `report.md` (device, gate set, qubits, depth,
gate counts per step and per sequence, measurements, run time per shot and, with
`--noisy-shots N --sequences M`, the shot-by-shot estimate on M held-out sequences under
the device's noise at `--noise-scale` beside the same estimate without noise). The
estimates keep finished sequences in `estimate_state.npz` (noisy) and
`estimate_state_noiseless.npz`, so a stopped export restarts where it stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from typing import Any, NoReturn, Sequence

import cirq
import numpy as np
from tqdm import tqdm

from data.bit_tasks import bit_task
from qrnn_tfq.atomic import atomic_write
from qrnn_tfq.export.files import write_circuit_files
from qrnn_tfq.hardware import report as reports
from qrnn_tfq.hardware.cell import HardwareCell, device_circuit
from qrnn_tfq.hardware.devices import SCALE_RANGE, hardware_device, noise_figures
from qrnn_tfq.hardware.estimate import shot_estimate
from train.core.hardware_runs import PROGRAM, TEST_SEED, make_layer
from train.core.outputs import write_json

PAPER_OPTIONS = {"gateset": "--gateset", "amplification": "--amplification", "input": "--input",
                 "samples": "--samples", "noisy_steps": "--noisy-steps"}
HARDWARE_OPTIONS = {"noise_scale": "--noise-scale"}
STATE_FILES = {True: "estimate_state.npz", False: "estimate_state_noiseless.npz"}


def refuse(message: str) -> NoReturn:
    """One line on stderr, exit status 2 (as argparse's errors)."""
    print(f"python -m train.export: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def is_hardware_run(path: str) -> bool:
    """Whether `path` is a run folder whose run.json says "program": "train.hardware"."""
    try:
        with open(os.path.join(path, "run.json"), encoding="utf-8") as file:
            return json.load(file).get("program") == PROGRAM
    except (OSError, ValueError, AttributeError):
        return False


def refuse_options(args: argparse.Namespace, options: dict[str, str], kind: str) -> None:
    for dest, option in options.items():
        if getattr(args, dest, None) is not None:
            refuse(f"{option} does not apply to {kind}.")


def validated_circuit(cell: HardwareCell, scored: np.ndarray, weights: np.ndarray, bits: np.ndarray) -> cirq.Circuit:
    """`device_circuit` on `cell.device`, validated; refuses a device that cannot hold it."""
    try:
        circuit = device_circuit(cell, scored, weights, bits)
    except ValueError as error:
        refuse(f"--device {cell.device} cannot hold this protocol: {error}")
    try:
        hardware_device(cell.device).validate_circuit(circuit)
    except ValueError as error:
        refuse(f"--device {cell.device} rejects the sequence circuit: {error}")
    return circuit


def estimates(settings: dict, weights: np.ndarray, args: argparse.Namespace, device: str, scale: float) -> dict:
    """`shot_estimate` of the first `--sequences` held-out sequences, noisy and noiseless."""
    seed = settings["training"]["seed"]
    data = bit_task(settings["task"], args.sequences, length=settings["length"], seed=TEST_SEED + seed)
    result: dict[str, Any] = {"device": device, "noise_scale": scale, "sequences": args.sequences,
                              "shots_per_sequence": args.noisy_shots, "seed": seed}
    for noisy in (True, False):
        start = time.perf_counter()
        extra = {"noise_scale": scale} if noisy else {}
        layer = make_layer(settings, data.scored, device=device, noisy=noisy, **extra)
        layer.kernel.assign(weights)
        path = os.path.join(args.out, STATE_FILES[noisy])
        name = "noisy" if noisy else "noiseless"
        with tqdm(total=args.sequences, desc=f"{name} estimate", unit="sequence", disable=not args.progress,
                  dynamic_ncols=True) as bar:
            try:
                figures = shot_estimate(layer, data.inputs, data.targets, shots=args.noisy_shots, seed=seed,
                                        state_path=path, progress=bar.update)
            except ValueError as error:
                refuse(str(error))
        result[name] = {**figures, "state_file": os.path.basename(path), "wall_time_s": time.perf_counter() - start}
    return result


def export(args: argparse.Namespace, argv: Sequence[str] | None) -> dict[str, Any]:
    """The hardware export of run folder `args.run` (module docstring); returns the report."""
    refuse_options(args, PAPER_OPTIONS, "a hardware-native run (train.hardware); it is an option of the paper's model")
    scale = 1.0 if args.noise_scale is None else args.noise_scale
    if not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]:
        refuse(f"--noise-scale must be in [{SCALE_RANGE[0]}, {SCALE_RANGE[1]}], got {scale}.")
    with open(os.path.join(args.run, "run.json"), encoding="utf-8") as file:
        settings = json.load(file)
    try:
        with np.load(os.path.join(args.run, "weights.npz")) as saved:
            weights = np.array(saved["kernel"], dtype=np.float64)
    except FileNotFoundError:
        refuse(f"{args.run} has no weights.npz (is its training finished?).")
    layer_settings = settings["layer"]
    device = args.device or layer_settings["device"]
    cell = HardwareCell(device=device, lanes=layer_settings["lanes"], layers=layer_settings["layers"])
    seed, task, length = settings["training"]["seed"], settings["task"], settings["length"]
    data = bit_task(task, args.sequence + 1, length=length, seed=TEST_SEED + seed)
    bits, scored = data.inputs[args.sequence].astype(np.int64), data.scored
    circuit = validated_circuit(cell, scored, weights, bits)

    os.makedirs(args.out, exist_ok=True)
    written = write_circuit_files(args.out, "sequence_device", circuit)
    steps = reports.step_counts(cell)
    sequence = reports.circuit_summary(circuit, device)
    report: dict[str, Any] = {
        "run": args.run, "program": PROGRAM,
        "command": "python -m train.export " + shlex.join(sys.argv[1:] if argv is None else argv),
        "task": task, "length": length, "steps": len(scored), "scored_steps": int(np.sum(scored)),
        "model": {"trained_on": layer_settings["device"], "lanes": cell.lanes, "layers": cell.layers,
                  "parameters": cell.num_weights, "trained_noisy": layer_settings["noisy"],
                  "trained_noise_scale": layer_settings["noise_scale"]},
        "device": device, "two_qubit_gate": steps["scored"]["two_qubit_gate"], "gate_set": sequence["gate_set"],
        "qubits": sorted(str(q) for q in circuit.all_qubits()),
        "sequence_index": args.sequence, "data": f"held-out sequence {args.sequence} of bit_task({task!r}, "
        f"length={length}, seed={TEST_SEED + seed})", "input_bits": [int(b) for b in bits],
        "targets": [int(t) for t in data.targets[args.sequence]],
        "per_step": steps, "sequence": sequence, "gate_times_ns": reports.gate_times_ns(device),
        "noise_figures": noise_figures(device),
        "files": {f"sequence_device.{ext}": text for ext, text in (
            ("json", "Cirq JSON of the whole sequence circuit, trained angles and input bits resolved"),
            ("qasm", "OpenQASM 2 of the same circuit"),
            ("pb", "cirq_google program proto of the same circuit (what Quantum Engine takes)"))},
    }
    if args.noisy_shots:
        report["estimate"] = estimates(settings, weights, args, device, scale)
    write_json(os.path.join(args.out, "report.json"), report)
    atomic_write(os.path.join(args.out, "report.md"), markdown(report))
    names = sorted([*map(os.path.basename, written.values()), "report.json", "report.md"]
                   + ([*STATE_FILES.values()] if args.noisy_shots else []))
    print(f"Wrote {os.path.join(args.out, '')}: {', '.join(names)}")
    print(f"{device}: {sequence['qubits']} qubits, depth {sequence['depth']}, {sequence['two_qubit']} "
          f"{report['two_qubit_gate']} per sequence, {sequence['time_per_shot_us']:.4g} us per shot")
    if args.noisy_shots:
        est = report["estimate"]
        print(f"accuracy per shot ({est['sequences']} sequences x {est['shots_per_sequence']} shots): noisy "
              f"(x{scale:g}) {est['noisy']['accuracy']:.4f}, noiseless {est['noiseless']['accuracy']:.4f}")
    return report


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def markdown(report: dict[str, Any]) -> str:
    """`report.md` from the report dictionary."""
    model = report["model"]
    trained = f"noise x{model['trained_noise_scale']:g}" if model["trained_noisy"] else "noiseless"
    lines = [f"# Export of {report['run']} (hardware-native, {report['task']} of {report['length']} bits)", "",
             f"Cell: {model['lanes']} lane(s) x {model['layers']} layer(s), {model['parameters']} angles, trained on "
             f"{model['trained_on']} ({trained}). "
             f"Device **{report['device']}**, gate set {', '.join(report['gate_set'])}.", "",
             f"Command: `{report['command']}`", "", f"Data: {report['data']}.", "",
             "| circuit | qubits | depth | 1q gates | 2q gates | measurements | us per shot |",
             "|---|---|---|---|---|---|---|"]
    rows = [("unscored step", report["per_step"]["unscored"]), ("scored step", report["per_step"]["scored"]),
            (f"sequence ({report['steps']} steps, {report['scored_steps']} scored)", report["sequence"])]
    for name, row in rows:
        lines.append(f"| {name} | {row['qubits']} | {row['depth']} | {row['one_qubit']} | {row['two_qubit']} | "
                     f"{row['measurements']} | {_fmt(row['time_per_shot_us'])} |")
    lines += ["", f"Two-qubit gate: {report['two_qubit_gate']}. Gate times (ns): "
              + ", ".join(f"{k} {v:g}" for k, v in report["gate_times_ns"].items()) + "."]
    if "estimate" in report:
        est = report["estimate"]
        lines += ["", f"## Shot-by-shot estimate ({est['sequences']} held-out sequences x {est['shots_per_sequence']} "
                  f"shots, {report['device']})", "",
                  "| channel | accuracy per shot | std. error | all readouts right | majority of shots | exact |",
                  "|---|---|---|---|---|---|"]
        for name, label in (("noisy", f"noise x{est['noise_scale']:g}"), ("noiseless", "noiseless")):
            e = est[name]
            lines.append(f"| {label} | {_fmt(e['accuracy'])} | {_fmt(e['accuracy_stderr'])} | {_fmt(e['sequence'])} | "
                         f"{_fmt(e['majority'])} | {_fmt(e['expected'])} |")
    lines += ["", "## Files", ""] + [f"- `{name}`: {text}" for name, text in report["files"].items()]
    return "\n".join(lines) + "\n"
