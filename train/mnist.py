"""Train a QRNN to classify MNIST digits (SPEC section 5): `python -m train.mnist`.

    python -m train.mnist                      # digits 0 and 1, the paper's 12-qubit QRNN
    python -m train.mnist --digits 3,6
    python -m train.mnist --ensemble 4         # 4 models (seeds 0-3), averaged
    python -m train.mnist --digits all --augment umap --coordinates 2 --bits 6 --augment-input deskewed \
        --data ../shared/data/mnist            # all ten digits, 2 unsupervised UMAP coordinates
    python -m train.mnist --digits 3,6 --workspace 6 --stages 2 --degree 3 --optimizer lbfgs-minibatch \
        --batch 100 --max-steps 400 --patience 20  # the paper's L-BFGS, batch by batch (docs/MNIST.md)
    python -m train.mnist --workspace 6 --stages 2 --degree 3 --optimizer lbfgs-minibatch --batch 100 \
        --max-steps 300 --patience 15 --ensemble 4 --replace-above 0.2  # 0 vs 1, 99.72 % (docs/MNIST.md)
    python -m train.mnist --digits 3,6 --optimizer lbfgs   # full-batch L-BFGS on 1000 images per digit
    python -m train.mnist --quick              # a few hundred images, a few steps (tests, demos)

Data: the embedded 10x10 bits (`data/mnist10x10.npz`) unless `--data` names an IDX
folder, a Keras `mnist.npz` or an embedded-format npz ('raw': the search of
`data.mnist.load_mnist`). Pixel by pixel, each step reads the row-major and the
column-major pixel (I = 2, 99 steps); with `--augment` each image is reduced to
`--coordinates` numbers fitted on the training images (see `data.mnist_augment`).
Split: 500 training images per digit for validation (the paper's), the rest for training,
the official test set for testing.

Defaults: the paper's 0-vs-1 model, W=8, S=2, d=2, ord=2 (1212 parameters, 12 qubits
with ancillas), Adam with gradient-norm clipping at 0.5, 50 images per digit per batch
(each digit's images reshuffled every epoch), the proper loss -log p. The learning rate
starts at 0.003 and decays (cosine) to 5 % of that over 1500 steps: the paper's constant
0.005 diverged after about 350 steps here (docs/MNIST.md). When a validation loss exceeds
3 times the best one (`--rollback`), the weights and optimizer state go back to the best
validation's and the learning rate is halved. Every 10 steps the model is
validated on a fixed, seeded subset of 200 validation images (for speed): loss, word
accuracy at the label steps (argmax and sampled) and the smallest postselection
probability go to the progress bar; `latest.npz` is written then, and `best.npz` when
the validation loss improves. Training stops after `--patience` (40) validations without
improvement or at `--max-steps` (1500); the test set is then scored with the best
checkpoint's weights.

Test accuracy, two ways (`qrnn_tfq.training.classify`): "argmax" takes the most likely
*valid* class under the exact joint distribution of the label words (two digits: compare
p([0,0]) with p([0,1]) at the last step; ten digits: p(w1) * p(w2 | w1), each class's
label steps run teacher-forced from the state after the image); "sampled" is the paper's
metric, a run that samples the label words (seeded), where an invalid word counts as
wrong. Also reported: the expected sampled accuracy (mean probability of the right
label). An ensemble averages the members' joint label distributions; its sampled accuracy
samples from that average.

Output folder (default `runs/mnist-<digits>[-<augment>]-seed<N>`): `latest.npz`,
`best.npz`, `history.csv`, `training_curve.png`, `confusion_matrix.png` and
`summary.json` (with the command and the wall time); an ensemble puts each member in
`seed<N>/` and the ensemble's summary and confusion matrix beside them. `--resume`
continues every member from its `latest.npz` (a finished member is only evaluated;
`--resume-from best`: from `best.npz`). A run locks its folder (`run.lock`) and refuses a
folder that holds a run unless `--resume` continues it or `--overwrite` deletes it.
With `--replace-above LOSS` an ensemble sets aside a member whose best validation loss
stayed above LOSS (one that never left chance level) and trains the next unused seed in
its place, at most K times; the summary lists the set-aside members with their scores.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import os
import shlex
import sys
import time
from typing import Any, Sequence

from train import common  # first: it selects tf-keras before TensorFlow loads

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from data import mnist_augment  # noqa: E402
from qrnn_tfq.losses import LOSSES  # noqa: E402
from qrnn_tfq.training.lbfgs import DEFAULT_MEMORY  # noqa: E402
from qrnn_tfq.training import minibatch_lbfgs  # noqa: E402
from qrnn_tfq.training import (  # noqa: E402
    BEST_CHECKPOINT,
    LATEST_CHECKPOINT,
    OPTIMIZERS,
    VALIDATIONS,
    QRNNSequenceModel,
    Trainer,
    TrainerConfig,
    ScaledSchedule,
    TrainingResult,
    Lbfgs,
    LbfgsTrainer,
    load_checkpoint,
    make_optimizer,
)
from qrnn_tfq.training.checkpoint import assign_arrays  # noqa: E402
from train.mnist_data import CODES_FILE as CODES_FILE  # noqa: E402
from train.mnist_data import BalancedBatches as BalancedBatches  # noqa: E402
from train.mnist_data import MnistData, load_data, parse_digits  # noqa: E402
from train.mnist_eval import label_distribution, plot_confusion, scores  # noqa: E402
from train import quiet, run_folder  # noqa: E402
from train.outputs import CHECKPOINTS, ProgressBar, outputs_line  # noqa: E402

PROGRAM = "train.mnist"
DEFAULT_DIGITS = (0, 1)
DEFAULTS = common.Defaults(workspace=8, stages=2, degree=2, batch=50, validation_batch=200, learning_rate=0.003)
TRAINING_DEFAULTS = {"max_steps": 1500, "lr_decay_steps": 1500, "rollback": 3.0, "validate_every": 10, "patience": 40, "test_size": None,
                     "train_per_digit": None}
QUICK = {"max_steps": 6, "lr_decay_steps": 0, "rollback": 3.0, "validate_every": 3, "patience": 0, "batch": 10, "val_batch": 40,
         "test_size": 200, "train_per_digit": 100}
LBFGS_BATCH = 1000  # images per digit of the fixed L-BFGS batch
MINIBATCH_LBFGS = "lbfgs-minibatch"
LR_DECAY_FLOOR = 0.05  # the cosine decay ends at this fraction of the learning rate
# Arguments that do not change what a model computes, so `--resume` may change them.
_NOT_RUN_CONFIG = ("out", "resume", "resume_from", "overwrite", "max_steps", "patience", "stop_loss", "progress", "verbose",
                   "ensemble", "seed", "test_size", "seeds", "replace_above")

logger = logging.getLogger(__name__)


# ---- arguments ---------------------------------------------------------------------------


def rollback_factor(text: str) -> float:
    """'3' -> 3.0; 0 turns rollbacks off; anything else must exceed 1."""
    value = common.non_negative_float(text)
    if not (value == 0 or 1 < value < math.inf):
        raise argparse.ArgumentTypeError(f"expected 0 (off) or a factor > 1, got {text!r}")
    return value


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m {PROGRAM}", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_argument_group("data")
    group.add_argument("--digits", type=parse_digits, default=DEFAULT_DIGITS, help="digits to tell apart, e.g. 3,6 or all (default 0,1)")
    group.add_argument("--data", help="embedded-format npz, Keras mnist.npz or IDX folder; 'raw': MNIST's search "
                                      "($QRNN_MNIST_PATH, Keras cache, download) (default: the embedded 10x10 data)")
    group.add_argument("--augment", choices=("none", *mnist_augment.METHODS), default="none",
                       help="augmented MNIST: reduce each image to --coordinates numbers with PCA or UMAP (default none)")
    group.add_argument("--coordinates", type=int, choices=range(2, 5), default=2, help="coordinates per image, 2-4 (default 2)")
    group.add_argument("--bits", type=int, choices=range(1, 9), default=6, help="most significant bits fed per coordinate r (default 6)")
    group.add_argument("--supervised", action="store_true", help="fit UMAP with the training labels (the paper's choice)")
    group.add_argument("--augment-input", choices=mnist_augment.SOURCES, default="raw",
                       help="fit the reduction on the raw 28x28 images, the raw images deskewed (unsupervised, per image) "
                            "or the 10x10 bits (default raw)")
    group.add_argument("--train-per-digit", type=common.positive_int, help="use only this many training images per digit")
    group.add_argument("--test-size", type=common.positive_int, help="score a seeded subset of this many test images (default all)")
    common.add_model_arguments(parser, "(default: W=8, S=2, d=2)")

    group = parser.add_argument_group("training")
    group.add_argument("--optimizer", choices=(*OPTIMIZERS, "lbfgs", MINIBATCH_LBFGS),
                       help="optimizer (default adam); lbfgs: full-batch L-BFGS (tfp) on one fixed batch of --batch "
                            "images per digit (default 1000 with lbfgs), one iteration per step; --lr, --lr-decay-steps "
                            f"and --rollback do not apply. {MINIBATCH_LBFGS}: the paper's 3-vs-6 optimizer, PyTorch's "
                            "L-BFGS without line search, --lbfgs-iterations iterations of fixed step --lr (default "
                            f"{minibatch_lbfgs.DEFAULT_LEARNING_RATE}, constant) on each new batch")
    group.add_argument("--lbfgs-memory", type=common.positive_int,
                       help=f"correction pairs L-BFGS keeps (default {DEFAULT_MEMORY} with lbfgs, "
                            f"{minibatch_lbfgs.DEFAULT_MEMORY} with {MINIBATCH_LBFGS})")
    group.add_argument("--lbfgs-iterations", type=common.positive_int,
                       help=f"{MINIBATCH_LBFGS}: L-BFGS iterations per batch (default {minibatch_lbfgs.DEFAULT_ITERATIONS})")
    group.add_argument("--lbfgs-line-search", action="store_true", default=None,
                       help=f"{MINIBATCH_LBFGS}: search each step length (tfp's Hager-Zhang line search, from --lr) "
                            "instead of taking --lr as it is (the paper's setting)")
    group.add_argument("--lbfgs-keep-best", action="store_true", default=None,
                       help=f"{MINIBATCH_LBFGS}: end each step at the lowest loss its fixed-step iterations reached "
                            "on their batch, undoing a step that diverged (not the paper's setting)")
    group.add_argument("--lr", type=common.positive_float, help="(initial) learning rate (default 0.003)")
    group.add_argument("--lr-decay-steps", type=common.non_negative_int,
                       help="cosine decay of the learning rate to 5 %% of --lr over this many steps, then constant; "
                            "0: constant (default 1500)")
    group.add_argument("--rollback", type=rollback_factor, metavar="FACTOR",
                       help="when a validation loss exceeds FACTOR x the best one, go back to the best weights and "
                            "halve the learning rate; 0: never (default 3)")
    group.add_argument("--clip-norm", type=common.positive_float, default=0.5, help="global gradient-norm clip (default 0.5)")
    group.add_argument("--batch", type=common.positive_int, help="images per digit per step (default 50)")
    group.add_argument("--val-batch", type=common.positive_int, help="images in the fixed validation subset (default 200)")
    group.add_argument("--loss", choices=sorted(LOSSES), default="nll", help="'nll': -log p (default); 'paper': the paper's shifted loss")
    group.add_argument("--validation", choices=VALIDATIONS, default="teacher", help="validation loss of a teacher-forced or sampled run (default teacher)")
    group.add_argument("--validate-every", type=common.positive_int, help="steps between validations (default 10)")
    group.add_argument("--patience", type=common.non_negative_int,
                       help="stop after this many validations without a better loss; 0: never (default 40)")
    group.add_argument("--stop-loss", type=float, help="also stop once the validation loss is <= this (default: never)")
    group.add_argument("--max-steps", type=common.non_negative_int, help="step budget (default 1500)")

    group = parser.add_argument_group("run")
    group.add_argument("--seed", type=common.non_negative_int, default=0, help="seed of the (first) model (default 0)")
    group.add_argument("--init-from", metavar="RUN",
                       help="start from the best weights of an earlier run of the same topology (its folder, or "
                            "a checkpoint .npz; an ensemble member seed N takes RUN/seedN/best.npz), e.g. to polish "
                            "an Adam run with --optimizer lbfgs-minibatch; the optimizer starts afresh")
    group.add_argument("--ensemble", type=common.positive_int, default=1, help="train K models (seeds seed..seed+K-1) and average them")
    group.add_argument("--replace-above", type=common.positive_float, metavar="LOSS",
                       help="ensemble: a member whose best validation loss stays above LOSS is set aside and a model "
                            "of the next unused seed trained in its place, at most K times (default: keep every member)")
    group.add_argument("--out", help="output folder (default runs/mnist-<digits>-seed<N>)")
    common.add_resume_arguments(group, "continue from <out>/latest.npz (each member's) if it exists")
    group.add_argument("--quick", action="store_true", help="a few hundred images and a few steps (tests, demos)")
    group.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    group.add_argument("-v", "--verbose", action="store_true", help="log every validation; show TensorFlow's messages")
    return parser


def fill_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """Options left at None get the MNIST defaults (`--quick` ones first)."""
    given_lr = args.lr
    if args.optimizer == "lbfgs" and args.batch is None and not args.quick:
        args = argparse.Namespace(**{**vars(args), "batch": LBFGS_BATCH})
    args = common.fill_defaults(args, dataclasses.replace(DEFAULTS, **(
        {"batch": QUICK["batch"], "validation_batch": QUICK["val_batch"]} if args.quick else {})))
    values = dict(vars(args))
    for name, default in TRAINING_DEFAULTS.items():
        if values.get(name) is None:
            values[name] = QUICK[name] if args.quick else default
    for name in ("patience", "lr_decay_steps", "rollback"):  # 0: off
        if values[name] <= 0:
            values[name] = None
    if values["optimizer"] == "lbfgs":  # no learning rate
        values.update(lr=None, lr_decay_steps=None, rollback=None, lbfgs_memory=values["lbfgs_memory"] or DEFAULT_MEMORY,
                      lbfgs_iterations=None)
    elif values["optimizer"] == MINIBATCH_LBFGS:  # a constant step size, as the paper's
        values.update(lr=given_lr or minibatch_lbfgs.DEFAULT_LEARNING_RATE, lr_decay_steps=None, clip_norm=None,
                      lbfgs_memory=values["lbfgs_memory"] or minibatch_lbfgs.DEFAULT_MEMORY,
                      lbfgs_iterations=values["lbfgs_iterations"] or minibatch_lbfgs.DEFAULT_ITERATIONS)
    else:
        values.update(lbfgs_memory=None, lbfgs_iterations=None)
    if values["optimizer"] != MINIBATCH_LBFGS:
        values["lbfgs_line_search"] = values["lbfgs_keep_best"] = None
    values["digits"] = list(values["digits"])
    return argparse.Namespace(**values)


def run_config(args: argparse.Namespace) -> dict[str, Any]:
    """What determines a model's computation (stored in checkpoints, checked on `--resume`)."""
    config = {key: value for key, value in sorted(vars(args).items()) if key not in _NOT_RUN_CONFIG}
    config["program"] = PROGRAM
    return config


def default_folder(args: argparse.Namespace) -> str:
    name = "mnist-" + "".join(str(d) for d in args.digits)
    if args.augment != "none":
        name += f"-{'s' if args.supervised else ''}{args.augment}{args.coordinates}-r{args.bits}"
        if args.augment_input != "raw":
            name += f"-{args.augment_input}"
    if args.quick:
        name += "-quick"
    if args.ensemble > 1:
        return os.path.join(common.RUNS_FOLDER, f"{name}-ensemble-seeds{args.seed}-{args.seed + args.ensemble - 1}")
    return os.path.join(common.RUNS_FOLDER, f"{name}-seed{args.seed}")


# ---- training ----------------------------------------------------------------------------


def make_mnist_optimizer(args: argparse.Namespace) -> tuple[Any, ScaledSchedule]:
    """`make_optimizer`, with the cosine decay of `--lr-decay-steps` (a function of the optimizer's
    step counter, which checkpoints keep, so a resumed run continues the schedule) under a
    `ScaledSchedule`, whose scale `--rollback` lowers; returns the optimizer and that schedule."""
    optimizer = make_optimizer(args.optimizer, args.lr, args.clip_norm)
    base = args.lr
    if args.lr_decay_steps is not None:
        base = tf.keras.optimizers.schedules.CosineDecay(args.lr, args.lr_decay_steps, alpha=LR_DECAY_FLOOR)
    schedule = ScaledSchedule(base)
    optimizer.learning_rate = schedule
    return optimizer, schedule


def train_member(args: argparse.Namespace, data: MnistData, seed: int, folder: str) -> tuple[QRNNSequenceModel, TrainingResult, int | None]:
    """Trains (or resumes) one model into `folder`; returns it with the best checkpoint's weights."""
    os.makedirs(folder, exist_ok=True)
    config = {**run_config(args), "model_seed": seed}
    model = common.build_model(args, data.io_lanes, seed)
    trainer_config = TrainerConfig(
        max_steps=args.max_steps, stop_loss=args.stop_loss, loss=args.loss, validate_every=args.validate_every,
        validation=args.validation, seed=seed, patience=args.patience, rollback_factor=args.rollback,
    )
    if args.optimizer == "lbfgs":  # one fixed batch: the first of the balanced batches
        fixed = BalancedBatches(data.train, args.batch, seed)(0)
        trainer = LbfgsTrainer(model, Lbfgs(memory=args.lbfgs_memory), lambda step: fixed,
                               data.validation.to_batch(), trainer_config, checkpoint_dir=folder, run_config=config)
    elif args.optimizer == MINIBATCH_LBFGS:
        optimizer = minibatch_lbfgs.MinibatchLbfgs(args.lr, args.lbfgs_iterations, args.lbfgs_memory,
                                                   line_search=bool(args.lbfgs_line_search),
                                                   keep_best=bool(args.lbfgs_keep_best))
        trainer = minibatch_lbfgs.MinibatchLbfgsTrainer(
            model, optimizer, BalancedBatches(data.train, args.batch, seed), data.validation.to_batch(), trainer_config,
            checkpoint_dir=folder, run_config=config, lr_scale=optimizer.scale)
    else:
        optimizer, schedule = make_mnist_optimizer(args)
        trainer = Trainer(model, optimizer,
                          BalancedBatches(data.train, args.batch, seed), data.validation.to_batch(), trainer_config,
                          checkpoint_dir=folder, run_config=config, lr_scale=schedule.scale)
    resumed_from = common.resume(trainer, folder, config, args.resume_from) if args.resume else None
    if args.init_from is not None and resumed_from is None:
        initial_weights(model, args.init_from, seed, args.ensemble)
    bar = ProgressBar(args.max_steps, trainer.step, f"mnist {','.join(map(str, args.digits))} seed {seed}", args.progress,
                      accuracy=True, history=trainer.history)
    trainer.on_step = bar
    try:
        result = trainer.fit()
    finally:
        bar.close()
    best = os.path.join(folder, BEST_CHECKPOINT)
    if os.path.exists(best):  # early stopping: score the weights of the best validation loss
        for variable, array in zip(model.trainable_weights, load_checkpoint(best).model_weights):
            variable.assign(array)
    return model, result, resumed_from


def initial_weights(model: QRNNSequenceModel, source: str, seed: int, ensemble: int) -> str:
    """Assigns the best weights of the run at `source` (see `--init-from`) to `model`; returns the file read."""
    path = source
    if os.path.isdir(source):
        path = os.path.join(source, BEST_CHECKPOINT) if ensemble == 1 else os.path.join(source, f"seed{seed}", BEST_CHECKPOINT)
    try:
        assign_arrays(list(model.trainable_weights), load_checkpoint(path).model_weights, "model weights", path)
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"error: --init-from {source!r}: {error}") from error
    logger.info("initial weights from %s", path)
    return path


def member_summary(args: argparse.Namespace, result: TrainingResult, model: QRNNSequenceModel, seed: int,
                   folder: str, resumed_from: int | None, test: dict[str, Any], times: dict[str, float]) -> dict[str, Any]:
    last, p_min = result.last_validation, result.min_postselection
    new_steps = result.steps - (resumed_from or 0)
    return {
        "seed": seed,
        "folder": folder,
        "steps": result.steps,
        "stopped": result.stopped,
        "best_step": result.best_step,
        "best_validation_loss": result.best_validation_loss,
        "final_validation": None if last is None else {
            "step": last.step, "loss": last.validation_loss, "argmax_word_accuracy": last.validation_argmax_accuracy,
            "sampled_word_accuracy": last.validation_sampled_accuracy,
        },
        "test": {**test, "weights": f"{BEST_CHECKPOINT} (step {result.best_step})" if result.best_step else "final"},
        "rollbacks": list(result.rollbacks),
        "final_lr_scale": result.lr_scale,
        "min_postselection": p_min,
        "amplification_overhead": 1 / math.sqrt(p_min) if p_min > 0 else None,
        "num_parameters": model.layer.qrnn_config.num_parameters,
        "train_wall_time_s": times["train"],
        "test_wall_time_s": times["test"],
        "seconds_per_step": times["train"] / new_steps if new_steps else None,
        "resumed_from_step": resumed_from,
        "config": {**run_config(args), "model_seed": seed, "max_steps": args.max_steps, "patience": args.patience},
    }


def failed(args: argparse.Namespace, result: TrainingResult) -> bool:
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


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse `argv`, train (or resume) every model, score the test set and write the outputs.

    Returns:
        The summary written to `<out>/summary.json`.
    """
    start = time.perf_counter()
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = make_parser()
    args = fill_defaults(common.check_run_arguments(parser, parser.parse_args(arguments)))
    if args.augment == "none" and (args.supervised or args.augment_input != "raw"):
        parser.error("--supervised and --augment-input need --augment pca or umap")
    if args.supervised and args.augment != "umap":
        parser.error("--supervised needs --augment umap")
    if args.lbfgs_line_search and args.lbfgs_keep_best:
        parser.error("--lbfgs-keep-best is for the fixed step: a line-searched step never raises the loss")
    if args.replace_above is not None and args.ensemble == 1:
        parser.error(f"--replace-above {args.replace_above} needs --ensemble K with K > 1")
    quiet.configure_logging(args.verbose)
    command = f"python -m {PROGRAM}" + ("" if not arguments else " " + shlex.join(arguments))
    out = args.out or default_folder(args)
    seeds = list(range(args.seed, args.seed + args.ensemble))
    with run_folder.RunLock(out):
        wanted = {member_folder(args, out, seed): {**run_config(args), "model_seed": seed, "seed": seed} for seed in seeds}
        run_folder.check_out_folder(out, wanted, resume=args.resume, overwrite=args.overwrite)
        summary = train_and_score(args, out, command, start)
    results = ("summary.json", "history.csv", "training_curve.png", "confusion_matrix.png", CODES_FILE, *CHECKPOINTS)
    if args.ensemble == 1:
        print(outputs_line(out, results), flush=True)
    else:
        members = [m["folder"] for m in (*summary["members"], *summary["set_aside"])]
        print(outputs_line(out, ("summary.json", "confusion_matrix.png", CODES_FILE), members, results), flush=True)
    return summary


def member_folder(args: argparse.Namespace, out: str, seed: int) -> str:
    return out if args.ensemble == 1 else os.path.join(out, f"seed{seed}")


def train_and_score(args: argparse.Namespace, out: str, command: str, start: float) -> dict[str, Any]:
    """Train (or load) every member into `out`, score the test set and write the summaries; returns `out`'s."""
    data = load_data(args, out)
    num_classes = len(args.digits)
    classes = data.test.class_indices
    seeds = list(range(args.seed, args.seed + args.ensemble))
    members, joints, set_aside = [], [], []
    queue = list(seeds)
    while queue:
        seed = queue.pop(0)
        folder = member_folder(args, out, seed)
        member_start = time.perf_counter()
        try:
            model, result, resumed_from = train_member(args, data, seed, folder)
        except KeyboardInterrupt:
            raise SystemExit(f"interrupted; `--resume` continues from {os.path.join(folder, LATEST_CHECKPOINT)}") from None
        trained = time.perf_counter()
        joint, sampled = label_distribution(model, data.test, seed)
        test = scores(joint, sampled, classes, num_classes)
        times = {"train": trained - member_start, "test": time.perf_counter() - trained}
        summary = member_summary(args, result, model, seed, folder, resumed_from, test, times)
        common.write_history_csv(os.path.join(folder, "history.csv"), result.history)
        common.plot_history(os.path.join(folder, "training_curve.png"), result.history, args.stop_loss,
                            f"MNIST {args.digits} seed {seed}")
        plot_confusion(os.path.join(folder, "confusion_matrix.png"), test["confusion_matrix"], args.digits,
                       f"seed {seed}: {_percent(test['argmax_accuracy'])} argmax, {_percent(test['sampled_accuracy'])} sampled")
        print(describe(f"seed {seed}", test) + f"; {result.steps} steps ({result.stopped}), {times['train']:.0f} s training",
              flush=True)
        if args.ensemble == 1:
            summary = {"program": PROGRAM, "command": command, "digits": list(args.digits), "data": data.description,
                       **summary, "wall_time_s": time.perf_counter() - start}
            common.write_json(os.path.join(folder, "summary.json"), summary)
            return summary
        common.write_json(os.path.join(folder, "summary.json"), {"program": PROGRAM, "command": command, **summary})
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

    average = np.mean(joints, axis=0)  # the members' output distributions at the label steps, averaged
    rng = np.random.default_rng([args.seed, args.ensemble, 7])
    cumulative = np.cumsum(average / average.sum(axis=1, keepdims=True), axis=1)
    sampled = (cumulative < rng.random((len(average), 1))).sum(axis=1).clip(max=average.shape[1] - 1)
    test = scores(average, sampled, classes, num_classes)
    plot_confusion(os.path.join(out, "confusion_matrix.png"), test["confusion_matrix"], args.digits,
                   f"ensemble of {args.ensemble}: {_percent(test['argmax_accuracy'])} argmax")
    print(describe(f"ensemble of {args.ensemble}", test), flush=True)
    keys = ("seed", "folder", "steps", "stopped", "best_step", "best_validation_loss", "test", "train_wall_time_s",
            "min_postselection")
    summary = {
        "program": PROGRAM, "command": command, "digits": list(args.digits), "data": data.description,
        "ensemble": {"seeds": [m["seed"] for m in members], "test": test},
        "members": [{key: m[key] for key in keys} for m in members],
        "set_aside": [{key: m[key] for key in keys} for m in set_aside],
        "num_parameters": members[0]["num_parameters"], "config": members[0]["config"],
        "wall_time_s": time.perf_counter() - start,
    }
    common.write_json(os.path.join(out, "summary.json"), summary)
    return summary


if __name__ == "__main__":
    main()
