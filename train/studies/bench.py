"""Benchmark of the engines: `python -m train.studies.bench` (issue: performance).

A tool that measures the library, not part of it (issue 18): it lives with the studies,
outside `qrnn_tfq`, whose users need none of it; it imports only `qrnn_tfq` (and, inside
its measuring subprocess, nothing of `train`), so `--compare-with` runs this same file
against another checkout's package (an older one kept it as `qrnn_tfq/bench.py`).

Times median-of-N training steps (the Keras train function of `SequenceTaskModel` the
programs run: forward with teacher forcing, loss, gradient, Adam update with clipping) and evaluation steps (forward only, argmax measurement) on seeded
random data, after a warm-up. Each case runs on every engine of `--engines` (default
"native" and "state_vector"; "native" is skipped, in one line, where its op is not built),
each case and engine in a fresh subprocess so that its peak memory (max RSS) is its own;
per case the table adds the ratios state_vector / native of both steps. A checkout from
before the engine names (`--compare-with`) runs its default engine for every name. Prints
a table and one machine-readable `BENCH_JSON` line (a row per case and engine).

`--compare-with CHECKOUT` times the same cases with another checkout's `qrnn_tfq` (say a
git worktree of an older commit), alternating the two, and prints the speed-up.

Throughput is counted in amplitude updates: one neuron or rotation touching one
amplitude of one sample. A training step counts its forward updates only, so its rate
is comparable with the evaluation rate (the gap is the cost of the gradient).

The roofline probe (`roofline_probe.cc` next to this file, built and run by `train/core/roofline.py`, compiled once per run with
`g++ -O3 -march=native -fopenmp-simd` into a temporary directory; without g++, or if the
compile fails, a one-line note and no probe column) is the case's forward pass written
as plainly fast as we know how, to say how far the engines are from the machine: plain
C++, no TensorFlow, states batch-last (blocks of 8 samples on the vector lanes), the
whole step fused, every neuron and rotation of the model with per-branch, per-sample
neuron factors gathered by input word, the renormalisations, and the output stage as
counted by `Case.amplitude_updates` (output neurons over 2^(W+I) amplitudes, word
distribution, argmax, postselection). It does what the model's evaluation step does,
in amount of arithmetic and memory traffic, not its numbers (random factors). It runs
on ONE core (the engines use every core TensorFlow gives them), the forward only (the
training step's ideal is about 3x it: the forward, the forward replayed from the kept
states, and the backward), in float32, without the framework's per-call costs (loss,
optimizer, Python); a last, partial block of samples costs a full one. `probe_s` is the
median of a few runs, and `eval_s / probe_s` each engine's distance from it. It is no
strict lower bound: batch-last, each neuron gathers every sample's factors by its input
word (about two thirds of the probe's time at mnist's sizes, measured once), which a
sample-by-sample layout (the native engine's) does not pay.
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
DEFAULT_ENGINES = ["native", "state_vector"]
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


def native_unavailable() -> str:
    """Why this process cannot run engine="native" ("" when it can, or when its checkout
    predates the native engine and runs its default engine for every name)."""
    try:
        import qrnn_tfq.native as native
    except ImportError:
        return ""
    return "" if native.available() else native.unavailable_reason()


def make_layer(case: Case, engine: str):
    """The case's `QRNN` on `engine`, or, in a checkout that knows no such engine name
    (`--compare-with`), on its default engine."""
    import qrnn_tfq

    topology = dict(stages=case.stages, degree=case.degree, order=case.order, seed=0, measurement="argmax")
    try:
        return qrnn_tfq.QRNN(workspace_lanes=case.workspace, io_lanes=case.io_width, engine=engine, **topology)
    except (TypeError, ValueError):  # no `engine` argument, or not this name: the checkout's default
        pass
    try:
        return qrnn_tfq.QRNN(workspace_lanes=case.workspace, io_lanes=case.io_width, **topology)
    except TypeError:  # a checkout before issue 14 (`--compare-with`): positional workspace, io_width
        return qrnn_tfq.QRNN(case.workspace, case.io_width, **topology)


def run_case(case: Case, repeats: int, device: str, engine: str) -> dict:
    """Time one case on one engine in this process; returns its figures (or, when the
    engine cannot run here, {"unavailable": why})."""
    import numpy as np

    import qrnn_tfq
    import qrnn_tfq.layers  # bits_to_words (explicit: the package loads its layers lazily)
    import tensorflow as tf

    reason = native_unavailable() if engine == "native" else ""
    if reason:
        return {"unavailable": reason}
    rng = np.random.default_rng(0)
    shape = (case.batch, case.steps, case.io_width)
    data = {
        "inputs": tf.constant(rng.integers(0, 2, shape), tf.float32),
        "targets": tf.constant(rng.integers(0, 2, shape), tf.float32),
        "scored": tf.constant(rng.random(shape[:2]) < 0.1),
    }
    target_words = qrnn_tfq.layers.bits_to_words(data["targets"], case.io_width)
    with tf.device("/GPU:0" if device == "gpu" else "/CPU:0"):
        layer = make_layer(case, engine)
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
        "engine": engine,
        "engine_run": getattr(layer, "engine_name", "default"),  # what ran ("default": a checkout without names)
        "qubits": case.workspace + case.io_width,
        "train_s": train_s,
        "eval_s": eval_s,
        "train_over_eval": train_s / eval_s,
        "eval_updates_per_s": updates / eval_s,
        "train_updates_per_s": updates / train_s,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }


def add_case_figures(rows: list[dict], probe_s: dict[str, float]) -> list[dict]:
    """Each row with its case's probe time, its eval_s / probe_s, and the case's ratios
    state_vector / native (None where a figure is missing)."""
    by_case: dict[str, dict[str, dict]] = {}
    for r in rows:
        by_case.setdefault(r["name"], {})[r["engine"]] = r
    out = []
    for r in rows:
        engines = by_case[r["name"]]
        both = "native" in engines and "state_vector" in engines
        probe = probe_s.get(r["name"])
        out.append({
            **r,
            "probe_s": probe,
            "eval_over_probe": r["eval_s"] / probe if probe else None,
            **{f"state_vector_over_native_{step}": engines["state_vector"][f"{step}_s"] / engines["native"][f"{step}_s"]
               if both else None for step in ("train", "eval")},
        })
    return out


def case_summary(row: dict) -> str:
    """The case's line under its rows: state_vector / native, and the probe time."""
    parts = []
    if row["state_vector_over_native_train"] is not None:
        parts.append(f"state_vector / native: train {row['state_vector_over_native_train']:.2f}x, "
                     f"eval {row['state_vector_over_native_eval']:.2f}x")
    if row["probe_s"] is not None:
        parts.append(f"probe (1 core, forward) {row['probe_s']:.4g} s")
    return f"{'':<10} {'; '.join(parts)}" if parts else ""


def format_table(rows: list[dict]) -> str:
    """A row per case and engine (with eval s / probe s when the probe ran), then a line
    per case with its ratios."""
    probe = any(r.get("probe_s") for r in rows)
    header = (f"{'case':<10} {'engine':<12} {'qubits':>6} {'batch':>5} {'steps':>5} {'train s':>9} {'eval s':>9} "
              f"{'train/eval':>10} {'eval Mupd/s':>11} {'peak GiB':>8}" + (f" {'eval/probe':>10}" if probe else ""))
    lines = [header, "-" * len(header)]
    for i, r in enumerate(rows):
        line = (f"{r['name']:<10} {r['engine']:<12} {r['qubits']:>6} {r['batch']:>5} {r['steps']:>5} {r['train_s']:>9.4f} "
                f"{r['eval_s']:>9.4f} {r['train_over_eval']:>10.2f} {r['eval_updates_per_s'] / 1e6:>11.1f} "
                f"{r['peak_rss_gib']:>8.2f}")
        if probe:
            line += f" {r['eval_over_probe']:>9.1f}x" if r.get("eval_over_probe") else f" {'-':>10}"
        lines.append(line)
        if i + 1 == len(rows) or rows[i + 1]["name"] != r["name"]:
            summary = case_summary(r)
            if summary:
                lines.append(summary)
    return "\n".join(lines)


def measure(name: str, engine: str, repeats: int, device: str, package_root: str | None = None) -> dict:
    """Run one case on one engine in a fresh subprocess, with `qrnn_tfq` from `package_root`
    if given; its figures, or {"unavailable": why} when the engine cannot run there."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, "-m", "train.studies.bench"]
    with tempfile.TemporaryDirectory() as scratch:
        if package_root is not None:  # this file, run against another checkout's package
            script = shutil.copy(__file__, os.path.join(scratch, "qrnn_bench.py"))
            command = [sys.executable, script]
            env["PYTHONPATH"] = os.path.abspath(package_root)
        command += ["--case", name, "--engines", engine, "--repeats", str(repeats), "--device", device]
        result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=package_root or REPO)
    if result.returncode != 0:
        raise RuntimeError(f"benchmark case {name!r} on engine {engine!r} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure_all(names: list[str], engines: list[str], repeats: int, device: str) -> tuple[list[dict], list[str]]:
    """Every case on every engine (an engine that cannot run is dropped after its first
    try); the rows and one-line notes."""
    rows, notes, engines = [], [], list(engines)
    for name in names:
        for engine in list(engines):
            row = measure(name, engine, repeats, device)
            if "unavailable" in row:
                notes.append(f"note: engine {engine!r} skipped: {row['unavailable']}")
                print(notes[-1], file=sys.stderr, flush=True)
                engines.remove(engine)
                continue
            rows.append(row)
            print(f"{name} ({engine}): train {row['train_s']:.4f} s, eval {row['eval_s']:.4f} s", file=sys.stderr, flush=True)
    return rows, notes


def compare(names: list[str], engines: list[str], repeats: int, device: str, other: str, rounds: int = 2) -> list[dict]:
    """Before/after in one run: alternate the other checkout and this one, keep the best of
    each, per case and engine (a checkout without the engine's name runs its default)."""
    rows = []
    for name in names:
        for engine in engines:
            runs: dict[str, list[dict]] = {"before": [], "after": []}
            for _ in range(rounds):
                runs["before"].append(measure(name, engine, repeats, device, other))
                runs["after"].append(measure(name, engine, repeats, device))
            reasons = [r["unavailable"] for v in runs.values() for r in v if "unavailable" in r]
            if reasons:
                print(f"note: {name} on engine {engine!r} skipped: {reasons[0]}", file=sys.stderr, flush=True)
                continue
            best = {k: min(v, key=lambda r: r["train_s"]) for k, v in runs.items()}
            rows.append({
                "name": name, "engine": engine,
                "before_train_s": best["before"]["train_s"], "after_train_s": best["after"]["train_s"],
                "before_eval_s": best["before"]["eval_s"], "after_eval_s": best["after"]["eval_s"],
                "train_speedup": best["before"]["train_s"] / best["after"]["train_s"],
                "eval_speedup": best["before"]["eval_s"] / best["after"]["eval_s"],
                "before_peak_rss_gib": best["before"]["peak_rss_gib"], "after_peak_rss_gib": best["after"]["peak_rss_gib"],
            })
            print(f"{name} ({engine}): train {rows[-1]['train_speedup']:.2f}x, eval {rows[-1]['eval_speedup']:.2f}x",
                  file=sys.stderr, flush=True)
    return rows


def format_comparison(rows: list[dict]) -> str:
    header = f"{'case':<10} {'engine':<12} {'train before':>12} {'train after':>11} {'speed-up':>8} {'eval before':>11} {'eval after':>10} {'speed-up':>8} {'GiB before':>10} {'GiB after':>9}"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['name']:<10} {r['engine']:<12} {r['before_train_s']:>12.4f} {r['after_train_s']:>11.4f} {r['train_speedup']:>7.2f}x "
            f"{r['before_eval_s']:>11.4f} {r['after_eval_s']:>10.4f} {r['eval_speedup']:>7.2f}x "
            f"{r['before_peak_rss_gib']:>10.2f} {r['after_peak_rss_gib']:>9.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.studies.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", default=DEFAULT_CASES, choices=sorted(CASES))
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions per case (median)")
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    parser.add_argument("--engines", nargs="+", default=DEFAULT_ENGINES, choices=DEFAULT_ENGINES,
                        help="the engines to time each case on, each in its own subprocess")
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
        print(json.dumps(run_case(CASES[args.case], args.repeats, args.device, args.engines[0])))
        return 0
    if args.compare_with:
        rows = compare(args.cases, args.engines, args.repeats, args.device, args.compare_with)
        print(format_comparison(rows))
    else:
        rows, notes = measure_all(args.cases, args.engines, args.repeats, args.device)
        from train.core import roofline  # pylint: disable=import-outside-toplevel  (the parent only: the measuring
        # subprocess, run against another checkout by --compare-with, imports nothing of train)

        probe_s, probe_notes = roofline.probe_times({name: CASES[name] for name in args.cases})
        rows = add_case_figures(rows, probe_s)
        print(format_table(rows))
        for note in notes + probe_notes:
            print(note)
    print("command: python -m train.studies.bench " + " ".join(argv if argv is not None else sys.argv[1:]))
    print("BENCH_JSON " + json.dumps(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
