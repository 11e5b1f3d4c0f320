"""The trained values and `QRNNConfig` of a run, from its folder or one of its checkpoints.

A run folder of `train.elman`, `train.dna` or `train.mnist` holds `best.npz` (the weights
of the best validation) and `latest.npz`; `load_run` takes `best.npz` when there is one.
A checkpoint stores the run's settings under `config["run"]` (topology: `workspace_lanes`
(`workspace` in runs of the programs before issue 14), `stages`, `degree`, `order`, `bias`,
`amplification` and `recurrence` when the run had them) and the model's weights
`theta (N,)`, `phi (N, K)`, `work_angles (S, W)`; the in/out width follows from
`N = W (S + 1) + I`.

`run_qrnn_config` is the one function that turns a run's stored settings into its
`QRNNConfig`, and `upgrade_run_settings` the one place older names are read as today's.
They live here, in the library, because export must not import `train/` (the library
imports nothing from `train/` or `data/`); the training programs' typed run configuration
(`train.core.config.RunConfig`) builds its model's topology through them.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Mapping

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


# Run settings saved under an older name -> today's (the programs before issue 14). The one
# place old names are read as today's: the training programs (`train.core.config`) use it too.
LEGACY_RUN_NAMES = {"workspace": "workspace_lanes"}


def upgrade_run_settings(run: Mapping[str, Any]) -> dict[str, Any]:
    """`run` (a checkpoint's or summary's run settings) with older names read as today's
    (`LEGACY_RUN_NAMES`); a setting stored under both names keeps today's."""
    upgraded = {LEGACY_RUN_NAMES.get(key, key): value for key, value in run.items()}
    upgraded.update({key: value for key, value in run.items() if key in LEGACY_RUN_NAMES.values()})
    return upgraded


def _qrnn_settings(run: Mapping[str, Any]) -> dict[str, Any]:
    """A run's stored settings in today's names, checked to be a QRNN's with its topology."""
    run = upgrade_run_settings(run)
    if run.get("model", "qrnn") != "qrnn":
        raise ValueError(f"the run is of a classical {run['model']!r} baseline, not a QRNN.")
    missing = [key for key in ("workspace_lanes", "stages", "degree", "order") if key not in run]
    if missing:
        raise ValueError(f"its run settings lack the QRNN topology {missing}.")
    return run


def run_qrnn_config(run: Mapping[str, Any], io_lanes: int) -> QRNNConfig:
    """The `QRNNConfig` of a run's stored settings (older names read as today's) and its
    in/out width: the one place a run's topology is rebuilt (export here, the training
    programs and studies through `train.core.config.RunConfig.qrnn_config`).

    Raises:
        ValueError: settings of a classical baseline, or without the QRNN topology; a
            topology `QRNNConfig` refuses.
    """
    run = _qrnn_settings(run)
    options = {}
    if run.get("amplification"):
        options["amplification"] = int(run["amplification"])
        if run.get("amplification_bound") is not None:
            options["amplification_bound"] = float(run["amplification_bound"])
    if run.get("recurrence"):
        options["recurrence"] = str(run["recurrence"])
    return QRNNConfig(
        workspace_lanes=int(run["workspace_lanes"]), io_lanes=io_lanes, stages=int(run["stages"]),
        degree=int(run["degree"]), order=int(run["order"]), bias=float(run.get("bias", np.pi / 2)), **options,
    )


def _config(run: dict[str, Any], weights: tuple[np.ndarray, ...], checkpoint: str) -> QRNNConfig:
    try:
        run = _qrnn_settings(run)
    except ValueError as error:
        raise ValueError(f"Checkpoint {checkpoint!r}: {error}") from None
    if len(weights) != 3:
        raise ValueError(
            f"Checkpoint {checkpoint!r} holds {len(weights)} weight arrays; a QRNN has 3 (theta, phi, work_angles)."
        )
    io_lanes = weights[0].shape[0] - int(run["workspace_lanes"]) * (int(run["stages"]) + 1)
    config = run_qrnn_config(run, io_lanes)
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
