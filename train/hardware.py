"""Train a hardware-native QRNN on a device's noise model and estimate it shot by shot (docs/HARDWARE.md).

    python -m train.hardware --task xor --device willow --out runs/hw-xor-willow
    python -m train.hardware --task xor --device rainbow --out runs/hw-xor-rainbow
    python -m train.hardware --task parity --length 8 --device willow --lanes 2 --out runs/hw-parity

Trains `qrnn_tfq.layers.HardwareQRNN` with `model.fit` (Adam, binary cross-entropy on the
readouts) on the device's noise model (`--noiseless`: without; `--noise-scale`: scaled),
then samples `--shots` shots of `--sequences` held-out sequences on the same channel.
Writes into OUT: `run.json` (settings), `weights.npz` (the trained angles), `history.csv`
and `history.png` (loss per epoch), `estimate.json` (the shot-by-shot figures).
`python -m train.export OUT ...` exports the model's device circuits.
A stopped run continues with the same command (Keras `BackupAndRestore`).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import sys
import time
from typing import Any, Sequence

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from data.bit_tasks import BIT_TASKS, bit_task
from qrnn_tfq.atomic import atomic_write, atomic_writer
from qrnn_tfq.hardware.devices import HARDWARE_DEVICES
from qrnn_tfq.hardware.estimate import shot_estimate
from train.core import arguments, quiet
from train.core.hardware_runs import PROGRAM, TEST_SEED, make_layer
from train.core.outputs import save_figure, subplots, write_json
from train.core.run_folder import RunLock

DEFAULT_LENGTH = {"xor": 24, "parity": 8}
RUN_FILES = ("run.json", "weights.npz", "history.csv", "history.png", "estimate.json", "estimate_state.npz")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m {PROGRAM}", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=BIT_TASKS, default="xor", help="xor (Elman's stream) or parity")
    parser.add_argument("--length", type=arguments.positive_int, help="bits per sequence (xor 24, parity 8)")
    parser.add_argument("--device", choices=HARDWARE_DEVICES, default="willow", help="qubits, gates and noise")
    parser.add_argument("--lanes", type=int, choices=(1, 2), default=1, help="workspace qubits")
    parser.add_argument("--layers", type=arguments.positive_int, default=1, help="neuron layers per step")
    parser.add_argument("--input-angle", type=float, default=0.75,
                        help="start of each neuron's input angle, in units of pi (default 0.75; docs/HARDWARE.md)")
    parser.add_argument("--noiseless", action="store_true", help="train without the noise model")
    parser.add_argument("--noise-scale", type=float, default=1.0, help="scale of the noise model (0.25 to 4)")
    parser.add_argument("--curriculum", type=_lengths, default=(),
                        help="shorter lengths trained first, --epochs each, e.g. 1,2,4 (parity needs it: docs/HARDWARE.md)")
    parser.add_argument("--train-sequences", type=arguments.positive_int, default=256)
    parser.add_argument("--batch", type=arguments.positive_int, default=32)
    parser.add_argument("--epochs", type=arguments.positive_int, default=10)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=arguments.non_negative_int, default=0)
    parser.add_argument("--shots", type=arguments.positive_int, default=1000, help="shots per held-out sequence")
    parser.add_argument("--sequences", type=arguments.positive_int, default=100, help="held-out sequences")
    parser.add_argument("--out", required=True, help="the run's folder")
    parser.add_argument("--overwrite", action="store_true", help="delete a finished run in OUT first")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bars")
    parser.add_argument("-v", "--verbose", action="store_true", help="show TensorFlow's messages")
    return parser


def _lengths(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected lengths like 1,2,4, got {text!r}") from None
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"lengths must be positive, got {text!r}")
    return values


def run_settings(args: argparse.Namespace) -> dict[str, Any]:
    """What `run.json` stores: the layer's settings and the training's."""
    return {"program": PROGRAM, "task": args.task, "length": args.length,
            "layer": {"device": args.device, "lanes": args.lanes, "layers": args.layers, "noisy": not args.noiseless,
                      "noise_scale": args.noise_scale, "seed": args.seed,
                      "input_angle": args.input_angle * np.pi},
            "training": {"curriculum": list(args.curriculum), "train_sequences": args.train_sequences, "batch": args.batch, "epochs": args.epochs,
                         "lr": args.lr, "seed": args.seed}}


def _history_files(folder: str, loss: list[float], title: str) -> None:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["epoch", "loss"])
    writer.writerows([[i + 1, f"{v:.10g}"] for i, v in enumerate(loss)])
    atomic_write(os.path.join(folder, "history.csv"), text.getvalue())
    figure, axis = subplots(1, 1, figsize=(5, 3.2))
    axis.plot(range(1, len(loss) + 1), loss, marker="o")
    axis.set(xlabel="epoch", ylabel="binary cross-entropy", title=title)
    save_figure(figure, os.path.join(folder, "history.png"))


def _train_phase(args: argparse.Namespace, settings: dict[str, Any], phase: int, length: int,
                 weights: np.ndarray | None) -> tuple[np.ndarray, list[float]]:
    """`model.fit` on sequences of `length` bits from `weights` (None: the layer's seeded start).

    A finished phase is kept in `phase<k>.npz`, an unfinished one in Keras' `BackupAndRestore`
    folder, so that the same command continues a stopped run.
    """
    done = os.path.join(args.out, f"phase{phase}.npz")
    if os.path.exists(done):
        with np.load(done) as saved:
            return np.array(saved["kernel"]), [float(v) for v in saved["loss"]]
    train = bit_task(args.task, args.train_sequences, length=length, seed=args.seed + 7919 * phase)
    layer = make_layer(settings, train.scored)
    if weights is not None:
        layer.kernel.assign(weights)
    model = tf.keras.Sequential([layer])
    model.build(tf.TensorShape([None, len(train.scored)]))
    model.compile(tf.keras.optimizers.Adam(args.lr), loss="binary_crossentropy")
    tf.keras.utils.set_random_seed(args.seed + phase)
    history = model.fit(train.inputs, train.targets, batch_size=args.batch, epochs=args.epochs, shuffle=True,
                        verbose=2 if args.progress else 0,
                        callbacks=[tf.keras.callbacks.BackupAndRestore(os.path.join(args.out, "backup"))])
    result = layer.kernel.numpy()
    with atomic_writer(done) as file:
        np.savez(file, kernel=result, loss=np.array(history.history["loss"]))
    shutil.rmtree(os.path.join(args.out, "backup"), ignore_errors=True)
    return result, [float(v) for v in history.history["loss"]]


def _check_folder(args: argparse.Namespace, settings: dict[str, Any]) -> None:
    run_file = os.path.join(args.out, "run.json")
    if not os.path.exists(run_file):
        return
    if args.overwrite:
        for name in os.listdir(args.out):
            if name in RUN_FILES or (name.startswith("phase") and name.endswith(".npz")):
                os.remove(os.path.join(args.out, name))
        shutil.rmtree(os.path.join(args.out, "backup"), ignore_errors=True)
        return
    with open(run_file) as file:
        saved = json.load(file)
    if saved != settings:
        raise SystemExit(f"{args.out} holds a run with other settings; choose another --out or pass --overwrite.")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = make_parser()
    args = parser.parse_args(argv)
    args.length = args.length if args.length is not None else DEFAULT_LENGTH[args.task]
    if not 0.25 <= args.noise_scale <= 4:
        parser.error(f"argument --noise-scale: must be in [0.25, 4], got {args.noise_scale}")
    quiet.configure_logging(args.verbose)
    settings = run_settings(args)
    os.makedirs(args.out, exist_ok=True)
    with RunLock(args.out):
        _check_folder(args, settings)
        write_json(os.path.join(args.out, "run.json"), settings)
        full = bit_task(args.task, 1, length=args.length, seed=0)
        layer = make_layer(settings, full.scored)
        counts = layer.two_qubit_counts()
        print(f"{PROGRAM}: {args.task} ({args.length} bits), {args.device}, {args.lanes} lane(s) x {args.layers} "
              f"layer(s): {counts['step']} {counts['gate']} per step, {counts['readout']} per readout, "
              f"{counts['sequence']} per sequence; {'noiseless' if args.noiseless else f'noise x{args.noise_scale}'}")
        start = time.perf_counter()
        weights, loss = None, []
        for phase, length in enumerate((*args.curriculum, args.length)):
            weights, phase_loss = _train_phase(args, settings, phase, length, weights)
            loss += phase_loss
        seconds = time.perf_counter() - start
        layer.kernel.assign(weights)
        with atomic_writer(os.path.join(args.out, "weights.npz")) as file:
            np.savez(file, kernel=weights)
        _history_files(args.out, loss, f"{args.task}, {args.device}")
        test = bit_task(args.task, args.sequences, length=args.length, seed=TEST_SEED + args.seed)
        with tqdm(total=args.sequences, desc="shots", unit="sequence", disable=not args.progress) as bar:
            estimate = shot_estimate(layer, test.inputs, test.targets, shots=args.shots, seed=args.seed,
                                     state_path=os.path.join(args.out, "estimate_state.npz"), progress=bar.update)
        summary = {"estimate": estimate, "two_qubit_gates": counts, "training_seconds": round(seconds, 1),
                   "final_loss": loss[-1]}
        write_json(os.path.join(args.out, "estimate.json"), summary)
        shutil.rmtree(os.path.join(args.out, "backup"), ignore_errors=True)
    print(f"accuracy per shot {estimate['accuracy']:.4f} (+- {estimate['accuracy_stderr'] or 0:.4f}), all readouts "
          f"right {estimate['sequence']:.4f}, majority of shots {estimate['majority']:.4f}, exact "
          f"{estimate['expected']:.4f}; {args.sequences} sequences x {args.shots} shots")
    print(f"wrote run.json, weights.npz, history.csv, history.png, estimate.json to {args.out}")
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
