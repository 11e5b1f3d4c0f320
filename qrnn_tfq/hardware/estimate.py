"""The noisy estimate of a hardware-native QRNN, shot by shot (docs/HARDWARE.md).

For each sequence the layer's channel is sampled `shots` times as exact trajectories
(`HardwareQRNN.sample`: each readout drawn from its distribution given the earlier ones,
which is how the device's shots of that sequence circuit are distributed), and each shot's
readouts are compared with the targets. Nothing is postselected: every shot counts.

Figures: `accuracy` (fraction of readouts right, over shots and sequences: the per-shot
accuracy), its standard error over sequences, `by_position` (per readout), `sequence`
(shots with every readout right), `majority` (per readout, the majority of the shots
right: what repeating the sequence buys) and `expected` (the exact marginals: infinitely
many shots). Finished sequences are kept in `state_path` (atomically, after each), so a
stopped estimate restarts where it stopped.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from qrnn_tfq.atomic import atomic_writer

MAX_SHOTS = 10**5


def _load_state(path: str | None, sequences: int, readouts: int, key: dict[str, Any]) -> dict[str, np.ndarray]:
    empty = {"done": np.zeros(sequences, bool), "right": np.zeros((sequences, readouts)),
             "all_right": np.zeros(sequences)}
    if path is None or not os.path.exists(path):
        return empty
    with np.load(path) as saved:
        same = all(str(saved[f"key_{k}"]) == str(v) for k, v in key.items() if f"key_{k}" in saved)
        if not same or saved["done"].shape != (sequences,):
            raise ValueError(f"{path} holds an estimate with other settings; delete it or choose another folder.")
        return {name: np.array(saved[name]) for name in empty}


def _save_state(path: str | None, state: dict[str, np.ndarray], key: dict[str, Any]) -> None:
    if path is None:
        return
    with atomic_writer(path) as handle:
        np.savez(handle, **state, **{f"key_{k}": np.array(str(v)) for k, v in key.items()})


def shot_estimate(layer: Any, inputs: np.ndarray, targets: np.ndarray, *, shots: int, seed: int = 0,
                  state_path: str | None = None, progress: Callable[[], None] | None = None) -> dict[str, Any]:
    """Samples `shots` shots of each sequence of `inputs` (M, T) and scores them against `targets` (M, R).

    Args:
        layer: a built `HardwareQRNN` (its channel: device, noise, scale).
        inputs: (M, T) input bits.
        targets: (M, R) readout targets.
        shots: shots per sequence (1 to 1e5).
        seed: sequence m uses the stateless seed (seed, m): the same seed, the same shots.
        state_path: where finished sequences are kept (an .npz), or None.
        progress: called after each sequence (a tqdm bar's update).
    """
    inputs, targets = np.asarray(inputs, np.float64), np.asarray(targets, np.float64)
    if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or not 1 <= shots <= MAX_SHOTS:
        raise ValueError(f"`shots` must be an integer in [1, {MAX_SHOTS}], got {shots!r}.")
    if inputs.ndim != 2 or targets.shape != (inputs.shape[0], layer.readouts):
        raise ValueError(f"`inputs` must be (M, T) and `targets` (M, {layer.readouts}), got {inputs.shape} and "
                         f"{targets.shape}.")
    config = {k: v for k, v in layer.get_config().items() if k not in ("name", "trainable")}
    weights = hashlib.sha256(np.asarray(layer.kernel.numpy(), np.float64).tobytes()).hexdigest()
    key = {"shots": shots, "seed": seed, "config": sorted(config.items()), "weights": weights,
           "data": hashlib.sha256(inputs.tobytes() + targets.tobytes()).hexdigest()}
    state = _load_state(state_path, inputs.shape[0], layer.readouts, key)
    expected = layer(inputs).numpy()  # (M, R) exact marginals
    for m in range(inputs.shape[0]):
        if not state["done"][m]:
            bits = layer.sample(np.repeat(inputs[m:m + 1], shots, axis=0), seed=seed * 1_000_003 + m).numpy()
            right = bits == targets[m]
            state["right"][m] = right.mean(axis=0)
            state["all_right"][m] = right.all(axis=1).mean()
            state["done"][m] = True
            _save_state(state_path, state, key)
        if progress is not None:
            progress()
    per_sequence = state["right"].mean(axis=1)
    return {
        "sequences": int(inputs.shape[0]), "shots_per_sequence": int(shots), "readouts_per_sequence": layer.readouts,
        "accuracy": float(per_sequence.mean()),
        "accuracy_stderr": float(per_sequence.std(ddof=1) / np.sqrt(len(per_sequence))) if len(per_sequence) > 1 else None,
        "by_position": [float(v) for v in state["right"].mean(axis=0)],
        "sequence": float(state["all_right"].mean()),
        "majority": float((state["right"] > 0.5).mean()),
        "expected": float(np.where(targets == 1, expected, 1 - expected).mean()),
    }
