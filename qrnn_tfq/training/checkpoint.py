"""Atomic, self-describing training checkpoints: one `.npz` file per checkpoint.

A checkpoint holds the model weights, the optimizer's variables, the step, the history
(one column per recorded quantity), the best validation loss, the run's configuration
and the rest of the trainer's state. Arrays are stored as arrays; everything else goes
into one JSON document under the key "metadata", which also lists every array's shape,
so that a checkpoint is checked in full when it is read. Files are written to a
temporary file in the same folder and moved into place with `os.replace`, so a reader
sees the old checkpoint or the new one, never half of one.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import zipfile
import zlib
from typing import Any, Mapping, Sequence

import numpy as np

from qrnn_tfq.atomic import atomic_writer as atomic_writer

FORMAT = "qrnn_tfq.training.checkpoint"
VERSION = 1
_METADATA = "metadata"

# What reading a damaged .npz can raise (FileNotFoundError is left alone).
_READ_ERRORS = (
    ValueError, KeyError, IndexError, TypeError, AttributeError, EOFError, OSError, zipfile.BadZipFile, zlib.error,
)


# The files of a run folder: the last step's state, and the best validation's.
BEST_CHECKPOINT = "best.npz"
LATEST_CHECKPOINT = "latest.npz"


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """The contents of a checkpoint file.

    Attributes:
        path: the file it was read from.
        model_weights: the model's weight arrays, in the model's order.
        optimizer_variables: the optimizer's variables, in the optimizer's order.
        step: optimizer steps taken.
        history: column name -> (steps,) float64 array (NaN where nothing was recorded).
        best_validation_loss: the lowest validation loss so far, None before validating.
        config: the run's configuration (JSON values).
        state: the rest of the trainer's state (JSON values).
    """

    path: str
    model_weights: tuple[np.ndarray, ...]
    optimizer_variables: tuple[np.ndarray, ...]
    step: int
    history: dict[str, np.ndarray]
    best_validation_loss: float | None
    config: dict[str, Any]
    state: dict[str, Any]


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write `text` (UTF-8) to `path` atomically."""
    with atomic_writer(path, "w") as file:
        file.write(text)


def _json_float(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def save_checkpoint(
    path: str | os.PathLike,
    *,
    model_weights: Sequence[Any],
    optimizer_variables: Sequence[Any],
    step: int,
    history: Mapping[str, Sequence[float]],
    best_validation_loss: float | None,
    config: Mapping[str, Any],
    state: Mapping[str, Any] | None = None,
) -> None:
    """Write a checkpoint atomically (see the module docstring).

    Args:
        path: the `.npz` file to write; its folder is created if needed.
        model_weights: arrays or variables (anything `np.asarray` takes).
        optimizer_variables: arrays or variables.
        step: optimizer steps taken, >= 0.
        history: equally long columns of numbers.
        best_validation_loss: None before the first validation.
        config: the run's configuration; must be JSON-serialisable.
        state: further trainer state; must be JSON-serialisable.

    Raises:
        ValueError: a negative step, history columns of different lengths, or a config or
            state that JSON cannot hold.
    """
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
        raise ValueError(f"`step` must be an int >= 0, got {step!r}.")
    model = [np.asarray(w) for w in model_weights]
    optimizer = [np.asarray(v) for v in optimizer_variables]
    columns = {name: np.asarray(values, dtype=np.float64) for name, values in history.items()}
    lengths = {name: column.shape for name, column in columns.items()}
    if len(set(lengths.values())) > 1 or any(len(shape) != 1 for shape in lengths.values()):
        raise ValueError(f"`history` must hold equally long 1-d columns, got shapes {lengths}.")
    metadata = {
        "format": FORMAT,
        "version": VERSION,
        "step": int(step),
        "best_validation_loss": _json_float(best_validation_loss),
        "config": dict(config),
        "state": dict(state or {}),
        "model": [list(w.shape) for w in model],
        "optimizer": [list(v.shape) for v in optimizer],
        "history": list(columns),
    }
    try:
        document = json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"`config` and `state` must be JSON-serialisable (finite numbers), got: {error}") from error
    arrays = {_METADATA: np.array(document)}
    arrays.update({f"model_{i:03d}": w for i, w in enumerate(model)})
    arrays.update({f"optimizer_{i:03d}": v for i, v in enumerate(optimizer)})
    arrays.update({f"history_{i:03d}": column for i, column in enumerate(columns.values())})
    with atomic_writer(path) as file:
        np.savez(file, **arrays)


def _read(path: str, npz: Any) -> Checkpoint:
    metadata = json.loads(str(npz[_METADATA][()]))
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ValueError(f"it is not a {FORMAT} file (metadata format {metadata.get('format')!r})")
    if metadata.get("version") != VERSION:
        raise ValueError(f"its version {metadata.get('version')!r} is not the supported {VERSION}")

    def arrays(prefix: str, shapes: list) -> tuple[np.ndarray, ...]:
        out = []
        for i, shape in enumerate(shapes):
            array = npz[f"{prefix}_{i:03d}"]
            if list(array.shape) != list(shape):
                raise ValueError(f"array {prefix}_{i:03d} has shape {array.shape}, its metadata says {tuple(shape)}")
            out.append(array)
        return tuple(out)

    history = {name: npz[f"history_{i:03d}"] for i, name in enumerate(metadata["history"])}
    if len({column.shape for column in history.values()}) > 1:
        raise ValueError("its history columns differ in length")
    step = metadata["step"]
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"its step {step!r} is not an int >= 0")
    best = metadata["best_validation_loss"]
    return Checkpoint(
        path=path,
        model_weights=arrays("model", metadata["model"]),
        optimizer_variables=arrays("optimizer", metadata["optimizer"]),
        step=step,
        history=history,
        best_validation_loss=None if best is None else float(best),
        config=dict(metadata["config"]),
        state=dict(metadata["state"]),
    )


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read and check a checkpoint written by `save_checkpoint`.

    Raises:
        FileNotFoundError: there is no file at `path`.
        ValueError: the file is corrupt, truncated, not a checkpoint, or its arrays do not
            match its metadata; the message names the file.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No checkpoint at {path!r}.")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return _read(path, npz)
    except _READ_ERRORS as error:
        raise ValueError(f"Checkpoint {path!r} is corrupt or truncated: {type(error).__name__}: {error}") from error


def check_arrays(variables: Sequence[Any], arrays: Sequence[np.ndarray], what: str, path: str) -> None:
    """Check that checkpoint arrays match variables in number and shapes.

    Args:
        variables: `tf.Variable`s (anything with `shape`).
        arrays: the checkpoint's arrays, in the same order.
        what: "model weights" or "optimizer variables", for the message.
        path: the checkpoint file, for the message.

    Raises:
        ValueError: the number or a shape differs.
    """
    if len(variables) != len(arrays):
        raise ValueError(
            f"Checkpoint {path!r} does not match: it has {len(arrays)} {what}, the run has {len(variables)}."
        )
    for i, (variable, array) in enumerate(zip(variables, arrays)):
        if tuple(variable.shape) != tuple(array.shape):
            name = getattr(variable, "name", f"#{i}")
            raise ValueError(
                f"Checkpoint {path!r} does not match: {what} {i} ({name}) has shape {tuple(array.shape)} "
                f"in the checkpoint and {tuple(variable.shape)} in the run."
            )


def assign_arrays(variables: Sequence[Any], arrays: Sequence[np.ndarray], what: str, path: str) -> None:
    """`check_arrays`, then assign each array to its variable (nothing is assigned on a mismatch)."""
    check_arrays(variables, arrays, what, path)
    for variable, array in zip(variables, arrays):
        variable.assign(array)
