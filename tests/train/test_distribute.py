"""Two workers on the loopback interface train through `train.elman`'s and `train.mnist`'s own code path with
`--distribute multi-worker` (MultiWorkerMirroredStrategy, TF_CONFIG on free ports), and
after every step their weights equal one process trained on the combined batch, also
across a resume. No wall-clock limits: three TF processes share the machine's cores."""

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
    "elman": ["--task", "xor", "--length", "9", "--workspace-lanes", "2", "--stages", "1", "--degree", "1",
              "--batch", "8", "--val-batch", "8", "--max-steps", str(STEPS), "--validate-every", "2",
              "--stop-loss", "-1", "--optimizer", "sgd", "--lr", "0.5", "--no-progress"],
    # MNIST's own defaults (Adam, clipping, cosine decay under the rollback's scaled schedule) on a
    # tiny model: 10 images per digit, a global batch of 20.
    "mnist": ["--quick", "--workspace-lanes", "2", "--stages", "1", "--degree", "1", "--max-steps", str(STEPS),
              "--validate-every", "2", "--test-size", "64", "--no-progress"],
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
    """Wait for every process; if one is still running when the time runs out (or on an
    error), ask all that are left to stop (SIGTERM), and kill only those that do not."""
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
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# A free port is chosen, released, then bound by the worker a few seconds later; another
# process may take it meanwhile. A cluster that failed to bind starts again on new ports.
BIND_FAILURES = ("Address already in use", "Failed to bind", "failed to bind")


def two_workers(program: str, tmp_path, name: str, out: str, *extra: str) -> list[tuple[int, str, str]]:
    """`program` on two workers (weights to tmp_path/<name><i>.npy), once more on new ports if a port was taken."""
    for attempt in range(2):
        processes = [start(program, str(tmp_path / f"{name}{i}.npy"), out, "multi-worker", tf_config, extra)
                     for i, tf_config in enumerate(local_tf_configs(2))]
        results = finish(processes, timeout=180)
        if attempt == 0 and any(code and any(f in stderr for f in BIND_FAILURES) for code, _, stderr in results):
            continue
        for code, _, stderr in results:
            assert code == 0, stderr[-3000:]
        return results
    raise AssertionError("unreachable")


def start_single(program: str, tmp_path, name: str) -> subprocess.Popen:
    """`program` in one process with no strategy (the reference; it runs beside the workers)."""
    return start(program, str(tmp_path / f"{name}.npy"), str(tmp_path / name), "none")


def single(process: subprocess.Popen, tmp_path, name: str) -> np.ndarray:
    """The reference process's weights after every step, once it has finished."""
    [(code, _, stderr)] = finish([process], timeout=180)
    assert code == 0, stderr[-3000:]
    return np.load(tmp_path / f"{name}.npy")


def test_two_mnist_workers_equal_one_process_on_the_combined_batch(tmp_path):
    """MNIST's defaults (Adam, clipping, cosine decay under the rollback's scaled schedule) on
    two workers; only the chief writes. (Plain SGD on Elman: the resume test below.)"""
    out = str(tmp_path / "run")
    reference_process = start_single("mnist", tmp_path, "single")
    results = two_workers("mnist", tmp_path, "worker", out)
    reference = single(reference_process, tmp_path, "single")
    assert reference.shape[0] == STEPS
    for i in range(2):
        weights = np.load(tmp_path / f"worker{i}.npy")
        assert weights.shape == reference.shape
        np.testing.assert_allclose(weights, reference, atol=1e-5, err_msg=f"worker {i}")
    assert np.abs(reference[-1] - reference[0]).max() > 1e-3  # the weights did move
    # Only the chief (worker 0) wrote the run's files; worker 1 said so and wrote nothing.
    assert os.path.exists(os.path.join(out, "latest.npz"))
    assert os.path.exists(os.path.join(out, "summary.json"))
    assert "worker 1 of 2" in results[1][1]


@pytest.mark.parametrize("index", [5])
def test_a_bad_tf_config_is_refused(tmp_path, monkeypatch, capsys, index):
    """In this process (no worker's start-up): the program refuses before TensorFlow runs anything."""
    import train.elman  # pylint: disable=import-outside-toplevel  (the workers' import, only here)

    tf_config = {"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": index}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(tf_config))
    with pytest.raises(SystemExit) as exit_info:
        train.elman.main([*PROGRAMS["elman"], "--distribute", "multi-worker", "--out", str(tmp_path / "run")])
    assert exit_info.value.code != 0
    assert f"task.index {index} must name one of its 1 workers" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "run")


def test_two_elman_workers_equal_one_process_and_resume_where_they_stopped(tmp_path):
    """Plain SGD on Elman XOR (a wrongly normalised loss would show in the weights): two workers
    stop after 2 steps, each step equal to one process on the combined batch; restarted with
    `--resume` both read the chief's latest.npz and go on to step 4 as that process does."""
    out = str(tmp_path / "run")
    reference_process = start_single("elman", tmp_path, "single")  # steps 1-4
    results = two_workers("elman", tmp_path, "first", out, "--max-steps", "2")
    assert "worker 1 of 2" in results[1][1]
    two_workers("elman", tmp_path, "resumed", out, "--resume")
    reference = single(reference_process, tmp_path, "single")
    assert reference.shape[0] == STEPS and np.abs(reference[-1] - reference[0]).max() > 1e-3
    for i in range(2):
        np.testing.assert_allclose(np.load(tmp_path / f"first{i}.npy"), reference[:2], atol=1e-5, err_msg=f"worker {i}")
        np.testing.assert_allclose(np.load(tmp_path / f"resumed{i}.npy"), reference[2:], atol=1e-5, err_msg=f"worker {i}")
