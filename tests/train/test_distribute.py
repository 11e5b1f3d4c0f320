"""Two workers on the loopback interface train through `train.elman`'s and `train.mnist`'s own code path with
`--distribute multi-worker` (MultiWorkerMirroredStrategy, TF_CONFIG on free ports), and
after every step their weights equal one process trained on the combined batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from qrnn_tfq.training.distribute import local_tf_configs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STEPS = 4
PROGRAMS = {
    # A tiny Elman XOR model with plain SGD (so a wrongly normalised loss shows in the weights);
    # the global batch of 8 sequences is split 4 + 4 over the workers.
    "elman": ["--task", "xor", "--length", "9", "--workspace-lanes", "2", "--stages", "1", "--degree", "2",
              "--batch", "8", "--val-batch", "8", "--max-steps", str(STEPS), "--validate-every", "2",
              "--stop-loss", "-1", "--optimizer", "sgd", "--lr", "0.5", "--no-progress"],
    # MNIST's own defaults (Adam, clipping, cosine decay under the rollback's scaled schedule) on a
    # tiny model: 10 images per digit, a global batch of 20.
    "mnist": ["--quick", "--workspace-lanes", "2", "--stages", "1", "--degree", "1", "--max-steps", str(STEPS),
              "--validate-every", "2", "--no-progress"],
}

# Runs `python -m train.<program>` (its `main`) with a callback that records the weights after every step.
WORKER = textwrap.dedent("""
    import importlib
    import sys
    import numpy as np
    import tensorflow as tf

    class RecordWeights(tf.keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.rows = []

        def on_train_batch_end(self, batch, logs=None):
            self.rows.append(np.concatenate([w.numpy().ravel() for w in self.model.weights_to_train]))

    record = RecordWeights()
    importlib.import_module(f"train.{sys.argv[2]}").main(sys.argv[3:], callbacks=[record])
    np.save(sys.argv[1], np.array(record.rows))
""")


def start(program: str, weights: str, out: str, distribute: str, tf_config: str | None = None,
          extra: tuple[str, ...] = ()) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ROOT}
    env.pop("TF_CONFIG", None)
    if tf_config is not None:
        env["TF_CONFIG"] = tf_config
    command = [sys.executable, "-c", WORKER, weights, program, *PROGRAMS[program], "--distribute", distribute, "--out", out,
               *extra]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(processes: list[subprocess.Popen], timeout: float) -> list[tuple[int, str, str]]:
    """Wait for every process; kill them all if one fails or the time runs out."""
    deadline = time.monotonic() + timeout
    try:
        results = []
        for process in processes:
            stdout, stderr = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
            results.append((process.returncode, stdout, stderr))
        return results
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_two_workers_equal_one_process_on_the_combined_batch(tmp_path, program):
    started = time.monotonic()
    out = str(tmp_path / "run")
    processes = [start(program, str(tmp_path / f"worker{i}.npy"), out, "multi-worker", tf_config)
                 for i, tf_config in enumerate(local_tf_configs(2))]
    processes.append(start(program, str(tmp_path / "single.npy"), str(tmp_path / "single"), "none"))
    results = finish(processes, timeout=120)
    for code, stdout, stderr in results:
        assert code == 0, stderr[-3000:]
    single = np.load(tmp_path / "single.npy")
    assert single.shape[0] == STEPS
    for i in range(2):
        weights = np.load(tmp_path / f"worker{i}.npy")
        assert weights.shape == single.shape
        np.testing.assert_allclose(weights, single, atol=1e-5, err_msg=f"worker {i}")
    assert np.abs(single[-1] - single[0]).max() > 1e-3  # the weights did move
    # Only the chief (worker 0) wrote the run's files; worker 1 said so and wrote nothing.
    assert os.path.exists(os.path.join(out, "latest.npz"))
    assert os.path.exists(os.path.join(out, "summary.json"))
    assert "worker 1 of 2" in results[1][1]
    elapsed = time.monotonic() - started
    assert elapsed < 60, f"took {elapsed:.0f} s"


@pytest.mark.parametrize("index", [5])
def test_a_bad_tf_config_is_refused(tmp_path, index):
    tf_config = {"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": index}}
    code, _, stderr = finish([start("elman", str(tmp_path / "w.npy"), str(tmp_path / "run"), "multi-worker",
                                    json.dumps(tf_config))], 60)[0]
    assert code != 0
    assert f"task.index {index} must name one of its 1 workers" in stderr


def test_two_workers_resume_where_they_stopped(tmp_path):
    """Two workers stop after 2 steps; restarted with `--resume` both read the chief's latest.npz
    and go on to step 4 exactly as one uninterrupted process on the combined batch."""
    tf_configs = local_tf_configs(2)
    out = str(tmp_path / "run")

    def two_workers(name: str, *extra: str) -> None:
        processes = [start("elman", str(tmp_path / f"{name}{i}.npy"), out, "multi-worker", tf_config, extra)
                     for i, tf_config in enumerate(tf_configs)]
        for code, _, stderr in finish(processes, timeout=120):
            assert code == 0, stderr[-3000:]

    two_workers("first", "--max-steps", "2")
    two_workers("resumed", "--resume")
    finish([start("elman", str(tmp_path / "single.npy"), str(tmp_path / "single"), "none")], timeout=120)
    single = np.load(tmp_path / "single.npy")  # steps 1-4
    for i in range(2):
        np.testing.assert_allclose(np.load(tmp_path / f"first{i}.npy"), single[:2], atol=1e-5)
        np.testing.assert_allclose(np.load(tmp_path / f"resumed{i}.npy"), single[2:], atol=1e-5)
