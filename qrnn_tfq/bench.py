"""Benchmark of the engine: `python -m qrnn_tfq.bench` (issue: performance).

Times median-of-N training steps (forward with teacher forcing, loss, gradient, Adam
update with clipping) and evaluation steps (forward only, argmax measurement) on seeded
random data, after a warm-up; each case runs in a fresh subprocess so that its peak
memory (max RSS) is its own. Prints a table and one machine-readable `BENCH_JSON` line.

Throughput is counted in amplitude updates: one neuron or rotation touching one
amplitude of one sample. A training step counts its forward updates only, so its rate
is comparable with the evaluation rate (the gap is the cost of the gradient).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import time


@dataclasses.dataclass(frozen=True)
class Case:
    """One benchmark configuration."""

    name: str
    workspace: int
    io_width: int
    stages: int
    degree: int
    steps: int
    batch: int
    order: int = 2

    def amplitude_updates(self) -> int:
        """Forward amplitude updates of one pass over the batch."""
        per_step = (self.workspace * (self.stages + 1) + self.stages * self.workspace) * 2**self.workspace
        per_step += self.io_width * 2 ** (self.workspace + self.io_width)
        return per_step * self.steps * self.batch


CASES = {
    "mnist": Case("mnist", 8, 2, 2, 2, steps=99, batch=100),
    "dna-100": Case("dna-100", 5, 3, 1, 3, steps=99, batch=128),
    "dna-300": Case("dna-300", 5, 3, 1, 3, steps=299, batch=128),
    "dna-1000": Case("dna-1000", 5, 3, 1, 3, steps=999, batch=128),
    **{f"qubits-{q}": Case(f"qubits-{q}", q - 2, 2, 2, 2, steps=20, batch=16) for q in (8, 10, 12, 14, 16)},
    "tiny": Case("tiny", 2, 1, 1, 1, steps=5, batch=4),
}
DEFAULT_CASES = ["mnist", "dna-100", "dna-300", "dna-1000", "qubits-8", "qubits-10", "qubits-12", "qubits-14", "qubits-16"]


def run_case(case: Case, repeats: int, device: str) -> dict:
    """Time one case in this process; returns its figures."""
    import numpy as np

    import qrnn_tfq
    import tensorflow as tf
    from qrnn_tfq.losses import word_nll

    rng = np.random.default_rng(0)
    shape = (case.batch, case.steps, case.io_width)
    data = {
        "inputs": tf.constant(rng.integers(0, 2, shape), tf.float32),
        "targets": tf.constant(rng.integers(0, 2, shape), tf.float32),
        "scored": tf.constant(rng.random(shape[:2]) < 0.1),
    }
    target_words = qrnn_tfq.layers.bits_to_words(data["targets"], case.io_width)
    with tf.device("/GPU:0" if device == "gpu" else "/CPU:0"):
        layer = qrnn_tfq.QRNN(case.workspace, case.io_width, case.stages, case.degree, case.order, seed=0, measurement="argmax")
        optimizer = tf.keras.optimizers.Adam(0.005, global_clipnorm=0.5)
        layer(data, training=True)

        @tf.function
        def train_step():
            with tf.GradientTape() as tape:
                out = layer.run_sequences(data, training=True)
                loss = word_nll(out.probabilities, target_words, data["scored"])
            grads = tape.gradient(loss, layer.trainable_weights)
            optimizer.apply_gradients(zip(grads, layer.trainable_weights))
            return loss

        @tf.function
        def eval_step():
            return layer.run_sequences(data, training=False).probabilities

        def median_time(fn) -> float:
            fn()  # warm-up: tracing and compilation
            fn()
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                result = fn()
                _ = result.numpy()
                times.append(time.perf_counter() - start)
            return statistics.median(times)

        train_s = median_time(train_step)
        eval_s = median_time(eval_step)
    updates = case.amplitude_updates()
    return {
        **dataclasses.asdict(case),
        "qubits": case.workspace + case.io_width,
        "train_s": train_s,
        "eval_s": eval_s,
        "train_over_eval": train_s / eval_s,
        "eval_updates_per_s": updates / eval_s,
        "train_updates_per_s": updates / train_s,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }


def format_table(rows: list[dict]) -> str:
    header = f"{'case':<10} {'qubits':>6} {'batch':>5} {'steps':>5} {'train s':>9} {'eval s':>9} {'train/eval':>10} {'eval Mupd/s':>11} {'peak GiB':>8}"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['name']:<10} {r['qubits']:>6} {r['batch']:>5} {r['steps']:>5} {r['train_s']:>9.4f} {r['eval_s']:>9.4f} "
            f"{r['train_over_eval']:>10.2f} {r['eval_updates_per_s'] / 1e6:>11.1f} {r['peak_rss_gib']:>8.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", default=DEFAULT_CASES, choices=sorted(CASES))
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions per case (median)")
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case here, print JSON
    args = parser.parse_args(argv)
    if args.device == "gpu":
        import qrnn_tfq  # noqa: F401
        import tensorflow as tf

        if not tf.config.list_physical_devices("GPU"):
            parser.error("--device gpu: TensorFlow sees no GPU on this machine.")
    if args.case:
        print(json.dumps(run_case(CASES[args.case], args.repeats, args.device)))
        return 0
    rows = []
    for name in args.cases:
        command = [sys.executable, "-m", "qrnn_tfq.bench", "--case", name, "--repeats", str(args.repeats), "--device", args.device]
        result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
        if result.returncode != 0:
            sys.stderr.write(result.stderr)
            return result.returncode
        rows.append(json.loads(result.stdout.strip().splitlines()[-1]))
        print(f"{name}: train {rows[-1]['train_s']:.4f} s, eval {rows[-1]['eval_s']:.4f} s", file=sys.stderr, flush=True)
    print(format_table(rows))
    print("command: python -m qrnn_tfq.bench " + " ".join(argv if argv is not None else sys.argv[1:]))
    print("BENCH_JSON " + json.dumps(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
