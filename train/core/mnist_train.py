"""Training and scoring of `python -m train.mnist`: each member of a run (or ensemble) is
trained by `train.core.runs.train_member` (shared with the sequence tasks: model, training,
resume, progress bar), scored on the test set with its best checkpoint's weights, and an
ensemble averages its members. Only the chief writes (see `train.core.runs`); the other
workers train and score nothing. The run's settings are a `train.core.config.MnistRun`."""

from __future__ import annotations

import logging
import os
import time
from typing import Any, Sequence

import numpy as np

from qrnn_tfq.training import BEST_CHECKPOINT, LATEST_CHECKPOINT, QRNNSequenceModel, TrainingResult
from train.core import mnist_members, runs
from train.core.warm_start import start_from
from train.core.config import MnistRun, run_data
from train.core.mnist_data import BalancedBatches, MnistData
from train.core.mnist_eval import label_distribution, plot_confusion, scores
from train.core.outputs import write_json

PROGRAM = MnistRun.PROGRAM
RUNS_FOLDER = "runs"

logger = logging.getLogger(__name__)


def default_folder(args: MnistRun) -> str:
    name = "mnist-" + "".join(str(d) for d in args.digits)
    if args.augment != "none":
        name += f"-{'s' if args.supervised else ''}{args.augment}{args.coordinates}-r{args.bits}"
        if args.augment_input != "raw":
            name += f"-{args.augment_input}"
    if args.quick:
        name += "-quick"
    if args.ensemble > 1:
        return os.path.join(RUNS_FOLDER, f"{name}-ensemble-seeds{args.seed}-{args.seed + args.ensemble - 1}")
    return os.path.join(RUNS_FOLDER, f"{name}-seed{args.seed}")


def member_folder(args: MnistRun, out: str, seed: int) -> str:
    return out if args.ensemble == 1 else os.path.join(out, f"seed{seed}")


def member_config(args: MnistRun, seed: int) -> dict[str, Any]:
    """What a member's checkpoints store (and `--resume` compares): the run config and the model's seed."""
    return {**args.to_dict(), "model_seed": seed}


def train_member(args: MnistRun, data: MnistData, seed: int, folder: str, distribution: runs.Distribution,
                 callbacks: Sequence[Any] | None = None) -> tuple[QRNNSequenceModel, TrainingResult, int | None,
                                                                  dict[str, Any] | None]:
    """Trains (or resumes) one model into `folder`; returns it with the best checkpoint's weights (the
    chief's), its result, the step it resumed from and its warm start's summary."""
    trained = runs.train_member(
        args, seed=seed, folder=folder, config=member_config(args, seed), io_lanes=data.io_lanes,
        sample_batch=BalancedBatches(data.train, args.batch, seed), validation_batch=data.validation.to_batch(),
        distribution=distribution, callbacks=callbacks, member=f"seed{seed}" if args.ensemble > 1 else None,
        description=f"mnist {','.join(map(str, args.digits))} seed {seed}", accuracy=True,
        start=None if args.init_from is None else lambda model: initial_weights(model, args.init_from, seed, args.ensemble),
    )
    model = trained.model
    best = os.path.join(folder, BEST_CHECKPOINT)
    if distribution.chief and os.path.exists(best):  # early stopping: score the weights of the best validation loss
        start_from(model, best)
    return model, trained.result, trained.resumed_from, trained.warm_start


def initial_weights(model: QRNNSequenceModel, source: str, seed: int, ensemble: int) -> str:
    """Assigns the best weights of the run at `source` (see `--init-from`) to `model`; returns the file read."""
    path = source
    if os.path.isdir(source):
        path = os.path.join(source, BEST_CHECKPOINT) if ensemble == 1 else os.path.join(source, f"seed{seed}", BEST_CHECKPOINT)
    try:
        start_from(model, path)
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"error: --init-from {source!r}: {error}") from error
    logger.info("initial weights from %s", path)
    return path


def member_summary(args: MnistRun, result: TrainingResult, model: QRNNSequenceModel, seed: int,
                   folder: str, resumed_from: int | None, test: dict[str, Any] | None,
                   times: dict[str, float], trained_on: dict[str, Any],
                   warm_start: dict[str, Any] | None = None) -> dict[str, Any]:
    summary = runs.result_summary(result, seed=seed, folder=folder, resumed_from=resumed_from,
                                  num_parameters=runs.count_parameters(model), train_seconds=times["train"],
                                  word_accuracy=True)
    weights = f"{BEST_CHECKPOINT} (step {result.best_step})" if result.best_step else "final"
    return {
        **summary,
        "test": None if test is None else {**test, "weights": weights},
        "train_wall_time_s": times["train"],
        "test_wall_time_s": times["test"],
        "config": {**member_config(args, seed), "max_steps": args.max_steps, "patience": args.patience},
        "trained_on": trained_on,
        "warm_start": warm_start,
    }


def failed(args: MnistRun, result: TrainingResult) -> bool:
    """Whether `--replace-above` sets this member aside: its best validation loss stayed above the bound
    (a member that was never validated is kept)."""
    loss = result.best_validation_loss
    return args.replace_above is not None and loss is not None and loss > args.replace_above


def _percent(value: float) -> str:
    return f"{100 * value:.2f} %"


def describe(name: str, test: dict[str, Any]) -> str:
    return (f"{name}: test accuracy {_percent(test['argmax_accuracy'])} argmax ({test['argmax_errors']} errors of "
            f"{test['images']}), {_percent(test['sampled_accuracy'])} sampled, "
            f"{_percent(test['expected_sampled_accuracy'])} expected sampled")


def train_and_score(args: MnistRun, out: str, command: str, start: float, distribution: runs.Distribution,
                    callbacks: Sequence[Any] | None = None) -> dict[str, Any]:
    """Train (or load) every member into `out`, score the test set and write the summaries; returns `out`'s.
    A worker that is not the chief trains alongside and returns its members' training summaries."""
    chief = distribution.chief
    data = run_data(args, out, write=chief)
    num_classes, classes = len(args.digits), data.test.class_indices
    seeds = list(range(args.seed, args.seed + args.ensemble))
    members, joints, set_aside = [], [], []
    trained_on = mnist_members.trained_on(args, data)
    queue = list(seeds)
    while queue:
        seed = queue.pop(0)
        folder = member_folder(args, out, seed)
        mnist_members.check_member(folder, seed, trained_on)
        member_start = time.perf_counter()
        try:
            model, result, resumed_from, warmed = train_member(args, data, seed, folder, distribution, callbacks)
        except KeyboardInterrupt:
            raise SystemExit(f"interrupted; `--resume` continues from {os.path.join(folder, LATEST_CHECKPOINT)}") from None
        trained = time.perf_counter()
        joint, test = None, None
        if chief:
            joint, sampled = label_distribution(model, data.test, seed)
            test = scores(joint, sampled, classes, num_classes)
        times = {"train": trained - member_start, "test": time.perf_counter() - trained}
        summary = member_summary(args, result, model, seed, folder, resumed_from, test, times, trained_on, warmed)
        trained_line = f"{result.steps} steps ({result.stopped}), {times['train']:.0f} s training"
        if chief:
            _write_member(args, folder, result, test, seed)
            print(describe(f"seed {seed}", test) + f"; {trained_line}", flush=True)
        else:
            print(f"seed {seed}: {trained_line}; the chief scores the test set", flush=True)
        if args.ensemble == 1:
            summary = {"program": PROGRAM, "command": command, "digits": list(args.digits), "data": data.description,
                       **({} if chief else {"worker": distribution.worker}), **summary,
                       "wall_time_s": time.perf_counter() - start}
            if chief:
                runs.write_summary(folder, summary)
            return summary
        if chief:
            runs.write_summary(folder, {"program": PROGRAM, "command": command, **summary})
        if failed(args, result) and len(set_aside) < args.ensemble:
            replacement = max(seeds) + 1
            print(f"seed {seed}: best validation loss {result.best_validation_loss:.4f} > --replace-above "
                  f"{args.replace_above}: set aside, seed {replacement} trains in its place", flush=True)
            set_aside.append(summary)
            seeds.append(replacement)  # every seed tried
            queue.append(replacement)
            continue
        members.append(summary)
        joints.append(joint)
    if not chief:
        return {"program": PROGRAM, "command": command, "worker": distribution.worker, "members": members,
                "set_aside": set_aside}
    return _ensemble(args, out, command, start, data, members, joints, set_aside)


def _write_member(args: MnistRun, folder: str, result: TrainingResult, test: dict[str, Any], seed: int) -> None:
    runs.write_run_files(folder, result, stop_loss=args.stop_loss, title=f"MNIST {list(args.digits)} seed {seed}")
    plot_confusion(os.path.join(folder, "confusion_matrix.png"), test["confusion_matrix"], args.digits,
                   f"seed {seed}: {_percent(test['argmax_accuracy'])} argmax, {_percent(test['sampled_accuracy'])} sampled")


def _ensemble(args: MnistRun, out: str, command: str, start: float, data: MnistData,
              members: list[dict[str, Any]], joints: list[np.ndarray], set_aside: list[dict[str, Any]]) -> dict[str, Any]:
    """Score the average of the members' joint label distributions; write and return the ensemble's summary."""
    average = np.mean(joints, axis=0)  # the members' output distributions at the label steps, averaged
    rng = np.random.default_rng([args.seed, args.ensemble, 7])
    cumulative = np.cumsum(average / average.sum(axis=1, keepdims=True), axis=1)
    sampled = (cumulative < rng.random((len(average), 1))).sum(axis=1).clip(max=average.shape[1] - 1)
    test = scores(average, sampled, data.test.class_indices, len(args.digits))
    plot_confusion(os.path.join(out, "confusion_matrix.png"), test["confusion_matrix"], args.digits,
                   f"ensemble of {args.ensemble}: {_percent(test['argmax_accuracy'])} argmax")
    print(describe(f"ensemble of {args.ensemble}", test), flush=True)
    keys = ("seed", "folder", "steps", "stopped", "best_step", "best_validation_loss", "test", "train_wall_time_s",
            "min_postselection", "trained_on", "warm_start")
    summary = {
        "program": PROGRAM, "command": command, "digits": list(args.digits), "data": data.description,
        "ensemble": {"seeds": [m["seed"] for m in members], "test": test},
        "members": [{key: m[key] for key in keys} for m in members],
        "set_aside": [{key: m[key] for key in keys} for m in set_aside],
        "num_parameters": members[0]["num_parameters"], "config": members[0]["config"],
        "wall_time_s": time.perf_counter() - start,
    }
    write_json(os.path.join(out, "summary.json"), summary)
    return summary
