"""Benchmark of the engine: `python -m train.studies.bench` (issue: performance).

A tool that measures the library, not part of it (issue 18): it lives with the studies,
outside `qrnn_tfq`, whose users need none of it; it imports only `qrnn_tfq` (and, inside
its measuring subprocess, nothing of `train`), so `--compare-with` runs this same file
against another checkout's package (an older one kept it as `qrnn_tfq/bench.py`).

Times median-of-N training steps (the Keras train function of `SequenceTaskModel` the
programs run: forward with teacher forcing, loss, gradient, Adam update with clipping) and evaluation steps (forward only, argmax measurement) on seeded
random data, after a warm-up; each case runs in a fresh subprocess so that its peak
memory (max RSS) is its own. Prints a table and one machine-readable `BENCH_JSON` line.

`--compare-with CHECKOUT` times the same cases with another checkout's `qrnn_tfq` (say a
git worktree of an older commit), alternating the two, and prints the speed-up.

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
import shutil
import statistics
import subprocess
import sys
import tempfile
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
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout
DEFAULT_CASES = ["mnist", "dna-100", "dna-300", "dna-1000", "qubits-8", "qubits-10", "qubits-12", "qubits-14", "qubits-16"]


def _training_step(layer, data, target_words, optimizer):
    """The step the training programs take: `SequenceTaskModel`'s Keras train function (the
    batch from a dataset iterator, the loss over the scored steps, gradient, clipped Adam),
    or, in a checkout from before it (`--compare-with`), the same computation in one
    `tf.function`, as that checkout's `Trainer` ran it."""
    import tensorflow as tf
    from qrnn_tfq.losses import word_nll

    try:
        from qrnn_tfq.training.task_model import SequenceTaskModel
    except ImportError:
        @tf.function
        def train_step():
            with tf.GradientTape() as tape:
                out = layer.run_sequences(data, training=True)
                loss = word_nll(out.probabilities, target_words, data["scored"])
            grads = tape.gradient(loss, layer.trainable_weights)
            optimizer.apply_gradients(zip(grads, layer.trainable_weights))
            return loss

        return train_step
    model = SequenceTaskModel(layer, loss="nll")
    model.compile(optimizer=optimizer)
    iterator = iter(tf.data.Dataset.from_tensors(data).repeat())
    train_function = model.make_train_function()
    return lambda: train_function(iterator)["loss"]


def run_case(case: Case, repeats: int, device: str) -> dict:
    """Time one case in this process; returns its figures."""
    import numpy as np

    import qrnn_tfq
    import qrnn_tfq.layers  # bits_to_words (explicit: the package loads its layers lazily)
    import tensorflow as tf

    rng = np.random.default_rng(0)
    shape = (case.batch, case.steps, case.io_width)
    data = {
        "inputs": tf.constant(rng.integers(0, 2, shape), tf.float32),
        "targets": tf.constant(rng.integers(0, 2, shape), tf.float32),
        "scored": tf.constant(rng.random(shape[:2]) < 0.1),
    }
    target_words = qrnn_tfq.layers.bits_to_words(data["targets"], case.io_width)
    with tf.device("/GPU:0" if device == "gpu" else "/CPU:0"):
        topology = dict(stages=case.stages, degree=case.degree, order=case.order, seed=0, measurement="argmax")
        try:
            layer = qrnn_tfq.QRNN(workspace_lanes=case.workspace, io_lanes=case.io_width, **topology)
        except TypeError:  # a checkout before issue 14 (`--compare-with`): positional workspace, io_width
            layer = qrnn_tfq.QRNN(case.workspace, case.io_width, **topology)
        optimizer = tf.keras.optimizers.Adam(0.005, global_clipnorm=0.5)
        layer(data, training=True)
        train_step = _training_step(layer, data, target_words, optimizer)

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


def measure(name: str, repeats: int, device: str, package_root: str | None = None) -> dict:
    """Run one case in a fresh subprocess, with `qrnn_tfq` from `package_root` if given."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, "-m", "train.studies.bench"]
    with tempfile.TemporaryDirectory() as scratch:
        if package_root is not None:  # this file, run against another checkout's package
            script = shutil.copy(__file__, os.path.join(scratch, "qrnn_bench.py"))
            command = [sys.executable, script]
            env["PYTHONPATH"] = os.path.abspath(package_root)
        command += ["--case", name, "--repeats", str(repeats), "--device", device]
        result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=package_root or REPO)
    if result.returncode != 0:
        raise RuntimeError(f"benchmark case {name!r} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def compare(names: list[str], repeats: int, device: str, other: str, rounds: int = 2) -> list[dict]:
    """Before/after in one run: alternate the other checkout and this one, keep the best of each."""
    rows = []
    for name in names:
        runs: dict[str, list[dict]] = {"before": [], "after": []}
        for _ in range(rounds):
            runs["before"].append(measure(name, repeats, device, other))
            runs["after"].append(measure(name, repeats, device))
        best = {k: min(v, key=lambda r: r["train_s"]) for k, v in runs.items()}
        rows.append({
            "name": name,
            "before_train_s": best["before"]["train_s"], "after_train_s": best["after"]["train_s"],
            "before_eval_s": best["before"]["eval_s"], "after_eval_s": best["after"]["eval_s"],
            "train_speedup": best["before"]["train_s"] / best["after"]["train_s"],
            "eval_speedup": best["before"]["eval_s"] / best["after"]["eval_s"],
            "before_peak_rss_gib": best["before"]["peak_rss_gib"], "after_peak_rss_gib": best["after"]["peak_rss_gib"],
        })
        print(f"{name}: train {rows[-1]['train_speedup']:.2f}x, eval {rows[-1]['eval_speedup']:.2f}x", file=sys.stderr, flush=True)
    return rows


def format_comparison(rows: list[dict]) -> str:
    header = f"{'case':<10} {'train before':>12} {'train after':>11} {'speed-up':>8} {'eval before':>11} {'eval after':>10} {'speed-up':>8} {'GiB before':>10} {'GiB after':>9}"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['name']:<10} {r['before_train_s']:>12.4f} {r['after_train_s']:>11.4f} {r['train_speedup']:>7.2f}x "
            f"{r['before_eval_s']:>11.4f} {r['after_eval_s']:>10.4f} {r['eval_speedup']:>7.2f}x "
            f"{r['before_peak_rss_gib']:>10.2f} {r['after_peak_rss_gib']:>9.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.studies.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", default=DEFAULT_CASES, choices=sorted(CASES))
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions per case (median)")
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    parser.add_argument("--compare-with", metavar="CHECKOUT", help="another checkout (e.g. a git worktree of an older "
                        "commit): time each case there and here, alternately, and print the speed-up")
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
    if args.compare_with:
        rows = compare(args.cases, args.repeats, args.device, args.compare_with)
        print(format_comparison(rows))
    else:
        rows = []
        for name in args.cases:
            rows.append(measure(name, args.repeats, args.device))
            print(f"{name}: train {rows[-1]['train_s']:.4f} s, eval {rows[-1]['eval_s']:.4f} s", file=sys.stderr, flush=True)
        print(format_table(rows))
    print("command: python -m train.studies.bench " + " ".join(argv if argv is not None else sys.argv[1:]))
    print("BENCH_JSON " + json.dumps(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
