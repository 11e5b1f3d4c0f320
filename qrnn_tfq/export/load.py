"""The trained values and `QRNNConfig` of a run, from its folder or one of its checkpoints.

A run folder of `train.elman`, `train.dna` or `train.mnist` holds `best.npz` (the weights
of the best validation) and `latest.npz`; `load_run` takes `best.npz` when there is one.
A checkpoint stores the run's settings under `config["run"]` (topology: `workspace_lanes`
(`workspace` in runs of the programs before issue 14), `stages`, `degree`, `order`, `bias`,
and `amplification` when the run had it) and the
model's weights `theta (N,)`, `phi (N, K)`, `work_angles (S, W)`; the in/out width follows
from `N = W (S + 1) + I`.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np

from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.export.cells import CellWeights

CHECKPOINT_NAMES = ("best.npz", "latest.npz")


@dataclasses.dataclass(frozen=True, eq=False)
class LoadedRun:
    """What an export needs from a run.

    Attributes:
        checkpoint: the checkpoint file read.
        config: the model's configuration.
        weights: its trained values (float64).
        run: the run's settings as stored (JSON values).
        seed: the trainer's seed (data streams are seeded from it), None if not stored.
        step: the optimizer step of the checkpoint.
    """

    checkpoint: str
    config: QRNNConfig
    weights: CellWeights
    run: dict[str, Any]
    seed: int | None
    step: int


def find_checkpoint(path: str | os.PathLike) -> str:
    """The checkpoint file of `path`: the file itself, or a run folder's best or latest one.

    Raises:
        FileNotFoundError: nothing at `path`, or a folder without a checkpoint (the message
            names the member folders of an ensemble).
    """
    path = os.fspath(path)
    if os.path.isfile(path):
        return path
    if not os.path.isdir(path):
        raise FileNotFoundError(f"No run folder or checkpoint at {path!r}.")
    for name in CHECKPOINT_NAMES:
        candidate = os.path.join(path, name)
        if os.path.isfile(candidate):
            return candidate
    members = sorted(d for d in os.listdir(path) if os.path.isfile(os.path.join(path, d, CHECKPOINT_NAMES[0])))
    hint = f"; it holds the runs {members}: export one of them" if members else ""
    raise FileNotFoundError(f"No {' or '.join(CHECKPOINT_NAMES)} in {path!r}{hint}.")


def _config(run: dict[str, Any], weights: tuple[np.ndarray, ...], checkpoint: str) -> QRNNConfig:
    if run.get("model", "qrnn") != "qrnn":
        raise ValueError(f"Checkpoint {checkpoint!r} is of a classical {run['model']!r} baseline, not a QRNN.")
    if "workspace" in run and "workspace_lanes" not in run:  # the programs' name before issue 14
        run = {**run, "workspace_lanes": run["workspace"]}
    missing = [key for key in ("workspace_lanes", "stages", "degree", "order") if key not in run]
    if missing:
        raise ValueError(f"Checkpoint {checkpoint!r} does not store the QRNN topology: its run settings lack {missing}.")
    if len(weights) != 3:
        raise ValueError(
            f"Checkpoint {checkpoint!r} holds {len(weights)} weight arrays; a QRNN has 3 (theta, phi, work_angles)."
        )
    workspace_lanes, stages = int(run["workspace_lanes"]), int(run["stages"])
    io_lanes = weights[0].shape[0] - workspace_lanes * (stages + 1)
    options = {}
    if run.get("amplification"):
        options["amplification"] = int(run["amplification"])
        if run.get("amplification_bound") is not None:
            options["amplification_bound"] = float(run["amplification_bound"])
    config = QRNNConfig(
        workspace_lanes=workspace_lanes, io_lanes=io_lanes, stages=stages, degree=int(run["degree"]),
        order=int(run["order"]), bias=float(run.get("bias", np.pi / 2)), **options,
    )
    CellWeights(*weights).check(config)
    return config


def load_run(path: str | os.PathLike) -> LoadedRun:
    """Reads a run folder or checkpoint (see the module docstring).

    Raises:
        FileNotFoundError: no checkpoint at `path`.
        ValueError: a corrupt checkpoint, one of a classical baseline, or weights that do not
            fit the stored topology.
    """
    from qrnn_tfq.training.checkpoint import load_checkpoint  # pylint: disable=import-outside-toplevel

    checkpoint = find_checkpoint(path)
    saved = load_checkpoint(checkpoint)
    run = dict(saved.config.get("run", {}))
    weights = tuple(np.asarray(w, dtype=np.float64) for w in saved.model_weights)
    config = _config(run, weights, checkpoint)
    seed = saved.config.get("trainer", {}).get("seed")
    return LoadedRun(checkpoint, config, CellWeights(*weights), run, None if seed is None else int(seed), saved.step)
