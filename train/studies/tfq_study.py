"""What finite shots and a noise model do to a trained coherent QRNN (SPEC section 8, issue 13).

    python -m train.studies.tfq_study --dna runs/tfq/dna-L5-coherent --mnist runs/tfq/mnist-coherent \\
        --shots 10 100 1000 --noise 0.0001 0.001 0.01 --out runs/tfq/study

Takes the best weights of coherent runs of `train.dna` and `train.mnist` (trained with
either engine: one weight layout) and evaluates them on fresh test data with
    - the state-vector engine (exact),
    - the TFQ engine, exact expectations (`tfq.layers.Expectation`),
    - the TFQ engine with `--shots` measurements per Z string (`SampledExpectation`),
    - the TFQ engine with depolarizing noise `--noise` per qubit of every gate, estimated
      with `--noise-shots` shots (each shot one noisy trajectory).
Scores: argmax accuracy at the scored step (the DNA base; the MNIST label) and the expected
sampled accuracy (the mean probability of the right answer), with the seconds each took.
Writes `tfq_study.json` and `tfq_study.md` into `--out`.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any, Sequence

import numpy as np

from qrnn_tfq import QRNN
from qrnn_tfq.training import QRNNSequenceModel, atomic_writer
from train.core import quiet
from train.core.arguments import positive_int, probability
from train.core.config import Rebuilt, rebuild
from train.core.mnist_eval import label_distribution, scores
from train.core.outputs import markdown_table, write_json

EVAL_SEED = 20261128
KEYS = ("task", "engine", "shots", "noise", "argmax_accuracy", "expected_sampled_accuracy", "samples", "seconds")


def settings(shots: Sequence[int], noise: Sequence[float], noise_shots: int) -> list[dict[str, Any]]:
    """The simulators to compare: exact (both engines), then shots, then noise with shots."""
    rows = [{"engine": "state_vector", "shots": None, "noise": 0.0}, {"engine": "tfq", "shots": None, "noise": 0.0}]
    rows += [{"engine": "tfq", "shots": s, "noise": 0.0} for s in shots]
    rows += [{"engine": "tfq", "shots": noise_shots, "noise": p} for p in noise]
    return rows


def make_layer(rebuilt: Rebuilt, setting: dict[str, Any]) -> QRNN:
    """The run's trained QRNN on the simulator of `setting` (engine, shots, noise)."""
    if rebuilt.run.recurrence != "coherent":
        raise SystemExit(f"error: the TFQ engine runs only coherent runs (--recurrence coherent), got "
                         f"recurrence={rebuilt.run.recurrence!r}")
    return rebuilt.qrnn_layer(**setting)


def dna_rows(folder: str, grid: list[dict[str, Any]], sequences: int) -> list[dict[str, Any]]:
    rebuilt = rebuild(folder)
    task = rebuilt.data
    sample = task.sample(sequences, seed=EVAL_SEED)
    batch = {"inputs": sample.inputs, "targets": sample.targets, "scored": sample.scored.astype(np.float32)}
    scored = np.asarray(sample.scored, bool)
    rows = []
    for setting in grid:
        layer = make_layer(rebuilt, setting)
        start = time.perf_counter()
        out = layer.run_sequences(batch, training=True)  # coherent: nothing is measured, targets only label
        probabilities, targets = out.probabilities.numpy(), out.measured.numpy()
        seconds = time.perf_counter() - start
        right = np.take_along_axis(probabilities, targets[..., None], -1)[..., 0][scored]
        rows.append({"task": f"dna L={task.length}", **setting, "samples": sequences, "seconds": seconds,
                     "argmax_accuracy": float(np.mean((probabilities.argmax(-1) == targets)[scored])),
                     "expected_sampled_accuracy": float(right.mean())})
    return rows


def mnist_rows(folder: str, grid: list[dict[str, Any]], test_size: int) -> list[dict[str, Any]]:
    rebuilt = rebuild(folder, test_size=test_size)
    test = rebuilt.data.test
    rows = []
    for setting in grid:
        layer = make_layer(rebuilt, setting)
        start = time.perf_counter()
        joint, sampled = label_distribution(QRNNSequenceModel(layer), test, seed=EVAL_SEED)
        seconds = time.perf_counter() - start
        result = scores(joint, sampled, test.class_indices, len(test.digits))
        rows.append({"task": "mnist " + "/".join(str(d) for d in test.digits), **setting, "samples": result["images"],
                     "seconds": seconds, "argmax_accuracy": result["argmax_accuracy"],
                     "expected_sampled_accuracy": result["expected_sampled_accuracy"]})
    return rows


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m train.studies.tfq_study", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dna", metavar="RUN", nargs="*", default=[], help="run folders of train.dna --recurrence coherent")
    parser.add_argument("--mnist", metavar="RUN", nargs="*", default=[], help="run folders of train.mnist --recurrence coherent")
    parser.add_argument("--shots", type=positive_int, nargs="*", default=[10, 100, 1000], help="shot counts")
    parser.add_argument("--noise", type=probability, nargs="*", default=[1e-4, 1e-3, 1e-2],
                        help="depolarizing probabilities per qubit of every gate")
    parser.add_argument("--noise-shots", type=positive_int, default=1000, help="shots of the noisy runs (default 1000)")
    parser.add_argument("--sequences", type=positive_int, default=128, help="DNA test sequences (default 128)")
    parser.add_argument("--test-size", type=positive_int, default=100, help="MNIST test images (default 100)")
    parser.add_argument("--out", default="runs/tfq-study", help="output folder (default runs/tfq-study)")
    parser.add_argument("-v", "--verbose", action="store_true", help="show TensorFlow's messages")
    args = parser.parse_args(argv)
    if not args.dna and not args.mnist:
        parser.error("name at least one run: --dna RUN or --mnist RUN")
    quiet.configure_logging(args.verbose)
    grid = settings(args.shots, args.noise, args.noise_shots)
    rows = [row for folder in args.dna for row in dna_rows(folder, grid, args.sequences)]
    rows += [row for folder in args.mnist for row in mnist_rows(folder, grid, args.test_size)]
    os.makedirs(args.out, exist_ok=True)
    write_json(os.path.join(args.out, "tfq_study.json"), {"runs": {"dna": args.dna, "mnist": args.mnist}, "rows": rows})
    text = "# Coherent QRNN: exact, finite shots, depolarizing noise\n\n" + markdown_table(rows, KEYS) + "\n"
    with atomic_writer(os.path.join(args.out, "tfq_study.md"), "w") as file:
        file.write(text)
    print(text + f"Wrote {args.out}/: tfq_study.json, tfq_study.md")
    return rows


if __name__ == "__main__":
    main()
