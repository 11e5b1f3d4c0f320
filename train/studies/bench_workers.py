"""Time per training step of `train.mnist` on 1 and on several local workers.

    python -m train.studies.bench_workers                       # 1 process, then 2 workers on loopback
    python -m train.studies.bench_workers --workers 1 2 --steps 30 --threads 1

Each worker is a process running `train.mnist`'s own code path (its `main`) with
`--distribute multi-worker` (`MultiWorkerMirroredStrategy`, `TF_CONFIG` on free loopback
ports; 1 worker runs with `--distribute none`), the default MNIST configuration (W=8,
S=2, d=2, 50 images per digit per step: a global batch of 100, split across the workers)
and no validation until the last step. A Keras callback times every step; the first
`--warmup` steps (tracing, XLA compilation) are left out, and the median of the rest is
reported with the speed-up over one process. `--threads N` caps TensorFlow's intra-op
threads per process (`TF_NUM_INTRAOP_THREADS`), so that workers sharing a machine do not
oversubscribe its cores. Other arguments go to `train.mnist` (e.g. `--batch 25`: half the
global batch, on one process, shows what a worker's half costs). Prints a table, the
command and one `BENCH_JSON` line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap

from qrnn_tfq.training.distribute import local_tf_configs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# One worker: train.mnist's main with a callback that records the wall time of each step.
WORKER = textwrap.dedent("""
    import json, sys, time
    from train import mnist
    import tensorflow as tf

    class StepTimer(tf.keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_train_batch_begin(self, batch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter() - self.start)

    timer = StepTimer()
    mnist.main(sys.argv[2:], callbacks=[timer])
    with open(sys.argv[1], "w") as file:
        json.dump(timer.times, file)
""")


def run_workers(count: int, steps: int, threads: int | None, scratch: str, extra: list[str]) -> list[list[float]]:
    """Start `count` workers (one plain process for 1), wait for them; their step times."""
    tf_configs = local_tf_configs(count)
    out = os.path.join(scratch, f"run{count}")
    processes, files = [], []
    for index in range(count):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ROOT}
        env.pop("TF_CONFIG", None)
        if threads is not None:
            env["TF_NUM_INTRAOP_THREADS"] = str(threads)
        distribute = "none"
        if count > 1:
            env["TF_CONFIG"] = tf_configs[index]
            distribute = "multi-worker"
        files.append(os.path.join(scratch, f"times{count}-{index}.json"))
        command = [sys.executable, "-c", WORKER, files[-1], "--max-steps", str(steps), "--validate-every", str(steps),
                   "--patience", "0", "--test-size", "200", "--distribute", distribute, "--out", out, "--no-progress", *extra]
        processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True))
    try:
        for process in processes:
            _, stderr = process.communicate()
            if process.returncode != 0:
                raise SystemExit(f"a worker failed:\n{stderr[-3000:]}")
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    times = []
    for name in files:
        with open(name) as file:
            times.append(json.load(file))
    return times


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="python -m train.studies.bench_workers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to time (default 1 2)")
    parser.add_argument("--steps", type=int, default=30, help="training steps per run (default 30)")
    parser.add_argument("--warmup", type=int, default=5, help="first steps left out of the median (default 5)")
    parser.add_argument("--threads", type=int, help="TensorFlow intra-op threads per process (default: TensorFlow's)")
    args, extra = parser.parse_known_args(argv)
    if min(args.workers) < 1 or args.steps <= args.warmup:
        parser.error("--workers must be >= 1 and --steps > --warmup")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for count in args.workers:
            print(f"{count} worker(s): {args.steps} steps ...", file=sys.stderr, flush=True)
            per_worker = run_workers(count, args.steps, args.threads, scratch, extra)
            step = statistics.median(max(t[i] for t in per_worker) for i in range(args.warmup, args.steps))
            rows.append({"workers": count, "seconds_per_step": step, "threads": args.threads})
    for row in rows:
        row["speedup"] = rows[0]["seconds_per_step"] / row["seconds_per_step"]  # over the first count (1)
    print(f"{'workers':>7} {'s/step':>8} {'speed-up':>8}")
    for row in rows:
        print(f"{row['workers']:>7} {row['seconds_per_step']:>8.3f} {row['speedup']:>7.2f}x")
    print("command: python -m train.studies.bench_workers " + " ".join(sys.argv[1:] if argv is None else argv))
    print("BENCH_JSON " + json.dumps(rows))
    return rows


if __name__ == "__main__":
    main()
