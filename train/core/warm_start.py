"""The warm start of a run (`--warm-start N`): a few steps of minibatch L-BFGS before the run's
own optimizer.

Adam on the paper's initialisation (SPEC section 3: `phi ~ N(0, 0.01)`) first sits on a
plateau at chance level, where the output hardly depends on the input, for 150 to 600 steps
depending on the seed; seeds that leave it late end worse, since the cosine schedule has
decayed by then (docs/MNIST.md, issue 21). Minibatch L-BFGS (the paper's own optimizer, as
its code ran it) leaves the plateau within about ten steps. So the warm start trains the
member's freshly initialised model (same seed, same initial weights, same batches) for N
steps of `lbfgs-minibatch` with `--lbfgs-keep-best` (a step whose fixed-length iterations
diverge is undone), validating every `VALIDATE_EVERY` steps, in the member's `warm-start/`
folder (a run folder of its own: checkpoints, history, resumable); the run then starts from
the weights of its best validation, with a fresh optimizer. Only validation data choose them.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Mapping

from qrnn_tfq.training import BEST_CHECKPOINT, load_checkpoint, minibatch_lbfgs
from qrnn_tfq.training.checkpoint import Checkpoint
from qrnn_tfq.training.checkpoint import assign_arrays
from train.core import run_folder
from train.core.config import RunConfig

FOLDER = run_folder.WARM_START_FOLDER  # inside the member's folder
VALIDATE_EVERY = 5


def warm_start_run(run: RunConfig) -> RunConfig | None:
    """The warm start's own settings (None when `run` has none): `run` with the optimizer
    `lbfgs-minibatch` (keep-best, fixed step `warm_start_lr`, PyTorch's iterations and memory),
    `warm_start` steps, no schedule, rollback, patience or stopping loss."""
    steps = getattr(run, "warm_start", None)
    if not steps or not run.max_steps:  # a run of no steps (`--max-steps 0`) trains nothing, nor warms up
        return None
    return dataclasses.replace(
        run, optimizer="lbfgs-minibatch", lr=run.warm_start_lr, lr_decay_steps=None, lr_warmup=None, rollback=None,
        clip_norm=None, lbfgs_memory=minibatch_lbfgs.DEFAULT_MEMORY, lbfgs_iterations=minibatch_lbfgs.DEFAULT_ITERATIONS,
        lbfgs_line_search=None, lbfgs_keep_best=True, max_steps=steps, patience=None, stop_loss=None,
        target_loss=None, validate_every=min(VALIDATE_EVERY, steps), warm_start=None, warm_start_lr=None,
        init_from=None)


def warm_start_config(config: Mapping[str, Any], warm: RunConfig) -> dict[str, Any]:
    """What the warm start's checkpoints store (and `--resume` compares): the member's config
    (its model seed) with the warm start's settings."""
    return {**config, **warm.to_dict()}


def start_from(model: Any, path: str) -> Checkpoint:
    """Set `model`'s trainable weights to those of the checkpoint at `path` and return it (the
    warm start's best, `--init-from`'s, the best validation's for scoring).

    Raises:
        FileNotFoundError, ValueError: no checkpoint there, an unreadable one, or weights of
            other shapes (the callers say which run they wanted).
    """
    checkpoint = load_checkpoint(path)
    assign_arrays(list(model.trainable_weights), checkpoint.model_weights, "model weights", path)
    return checkpoint


def _summary(folder: str, best: Checkpoint) -> dict[str, Any]:
    return {"folder": folder, "best_step": best.step, "best_validation_loss": best.best_validation_loss}


def warm_summary(folder: str) -> dict[str, Any] | None:
    """What a member's summary reports of its warm start in `folder` (None if it has none)."""
    path = os.path.join(folder, BEST_CHECKPOINT)
    return _summary(folder, load_checkpoint(path)) if os.path.exists(path) else None


def load_warm_weights(model: Any, folder: str) -> dict[str, Any]:
    """Set `model`'s weights to the warm start's best validation's (`folder`/best.npz); returns
    `warm_summary`."""
    path = os.path.join(folder, BEST_CHECKPOINT)
    try:
        return _summary(folder, start_from(model, path))
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"error: the warm start left no usable {path}: {error}") from error
