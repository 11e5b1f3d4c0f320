"""Data-parallel training on `tf.distribute`: the strategies a run can ask for by name.

- "none": the default strategy (one device);
- "mirrored": `tf.distribute.MirroredStrategy` over this machine's GPUs (or its CPU when it
  has none: one replica);
- "multi-worker": `tf.distribute.MultiWorkerMirroredStrategy` across the machines that
  `TF_CONFIG` names (`{"cluster": {"worker": ["host0:port", "host1:port"]}, "task":
  {"type": "worker", "index": i}}`); worker 0 is the chief, which alone writes.

Each step's global batch is split across all replicas (`qrnn_tfq.training.fit_data`), and the
loss is normalised by the global batch's scored steps (`SequenceTaskModel`), so the weights
equal one device trained on the combined batch up to float32 round-off. A strategy must be
made before TensorFlow runs anything else (MultiWorkerMirroredStrategy's rule), and the
model and optimizer in its `scope()`.
"""

from __future__ import annotations

import json
import os
import socket

import tensorflow as tf

STRATEGIES = ("none", "mirrored", "multi-worker")


def _check_tf_config() -> dict:
    text = os.environ.get("TF_CONFIG")
    if not text:
        raise ValueError("`multi-worker` needs TF_CONFIG naming the cluster and this worker, e.g. "
                         '{"cluster": {"worker": ["host0:12345", "host1:12345"]}, "task": {"type": "worker", "index": 0}}; '
                         "it is not set.")
    try:
        config = json.loads(text)
        workers = config["cluster"]["worker"]
        index = config["task"]["index"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"TF_CONFIG must be JSON with cluster.worker and task.index, got {text!r} ({error}).") from error
    if not isinstance(workers, list) or not 0 <= int(index) < len(workers):
        raise ValueError(f"TF_CONFIG's task.index {index!r} must name one of its {len(workers)} workers, got {text!r}.")
    return config


def make_strategy(name: str) -> tf.distribute.Strategy | None:
    """The strategy called `name` (see the module docstring); None for "none".

    Raises:
        ValueError: an unknown name, or "multi-worker" without a usable TF_CONFIG.
    """
    if name not in STRATEGIES:
        raise ValueError(f"`distribute` must be one of {list(STRATEGIES)}, got {name!r}.")
    if name == "none":
        return None
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.MirroredStrategy([d.name for d in gpus] or None)
    _check_tf_config()
    return tf.distribute.MultiWorkerMirroredStrategy()


def is_chief(strategy: tf.distribute.Strategy | None) -> bool:
    """Whether this process writes the run's files (checkpoints, summaries, plots)."""
    return strategy is None or bool(strategy.extended.should_checkpoint)


def replicas(strategy: tf.distribute.Strategy | None) -> int:
    """Replicas in sync (1 without a strategy)."""
    return 1 if strategy is None else strategy.num_replicas_in_sync


def local_tf_configs(workers: int) -> list[str]:
    """`TF_CONFIG` values for `workers` processes on this machine, one per worker index,
    on free loopback ports: multi-worker training without a second machine (the tests,
    `train.studies.bench_workers`). A port is free when chosen; a process must bind it soon after."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"`workers` must be an int >= 1, got {workers!r}.")
    addresses = []
    for _ in range(workers):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            addresses.append(f"127.0.0.1:{sock.getsockname()[1]}")
    return [json.dumps({"cluster": {"worker": addresses}, "task": {"type": "worker", "index": i}})
            for i in range(workers)]
