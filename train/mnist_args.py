"""The arguments of `python -m train.mnist`: its data, L-BFGS and ensemble options beside the
shared groups of `train.arguments`, its defaults (`DEFAULTS`, `QUICK`), their filling and
checks, and the default output folder. See `train/mnist.py` and docs/MNIST.md."""

from __future__ import annotations

import argparse
import dataclasses
import os
from typing import Any, Sequence

from train import arguments  # first: selects tf-keras before TensorFlow loads

from data import mnist_augment  # noqa: E402
from qrnn_tfq.training import OPTIMIZERS, minibatch_lbfgs  # noqa: E402
from qrnn_tfq.training.lbfgs import DEFAULT_MEMORY  # noqa: E402
from train import runs  # noqa: E402
from train.mnist_data import parse_digits  # noqa: E402

PROGRAM = "train.mnist"
RUNS_FOLDER = "runs"
DEFAULT_DIGITS = (0, 1)
DEFAULTS = arguments.Defaults(
    workspace_lanes=8, stages=2, degree=2, batch=50, val_batch=200, lr=0.003, loss="nll", max_steps=1500,
    validate_every=10, patience=40, stop_loss=None, lr_decay_steps=1500, rollback=3.0,
)
QUICK = dataclasses.replace(DEFAULTS, max_steps=6, lr_decay_steps=0, validate_every=3, patience=0, batch=10, val_batch=40)
QUICK_DATA = {"test_size": 200, "train_per_digit": 100}  # --quick's data options (default: all)
LBFGS_BATCH = 1000  # images per digit of the fixed L-BFGS batch
MINIBATCH_LBFGS = "lbfgs-minibatch"


def make_parser() -> argparse.ArgumentParser:
    from train import mnist  # its docstring is the help's description

    parser = argparse.ArgumentParser(prog=f"python -m {PROGRAM}", description=mnist.__doc__,
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
    group.add_argument("--train-per-digit", type=arguments.positive_int,
                       help=f"use only this many training images per digit (default all; --quick {QUICK_DATA['train_per_digit']})")
    group.add_argument("--test-size", type=arguments.positive_int,
                       help=f"score a seeded subset of this many test images (default all; --quick {QUICK_DATA['test_size']})")
    table = {"": DEFAULTS, "--quick": QUICK}
    arguments.add_model_arguments(parser, table)
    group = arguments.add_training_arguments(
        parser, table, optimizers=(*OPTIMIZERS, "lbfgs", MINIBATCH_LBFGS), batch_help="images per digit per step",
        optimizer_help=f"; lbfgs: full-batch L-BFGS (tfp) on one fixed batch of --batch images per digit (default "
                       f"{LBFGS_BATCH} with lbfgs), one iteration per step; --lr, --lr-decay-steps and --rollback do not "
                       f"apply. {MINIBATCH_LBFGS}: the paper's 3-vs-6 optimizer, PyTorch's L-BFGS without line search, "
                       f"--lbfgs-iterations iterations of fixed step --lr (default {minibatch_lbfgs.DEFAULT_LEARNING_RATE}, "
                       "constant) on each new batch. Neither runs with --distribute over several replicas")
    group.add_argument("--lbfgs-memory", type=arguments.positive_int,
                       help=f"correction pairs L-BFGS keeps (default {DEFAULT_MEMORY} with lbfgs, "
                            f"{minibatch_lbfgs.DEFAULT_MEMORY} with {MINIBATCH_LBFGS})")
    group.add_argument("--lbfgs-iterations", type=arguments.positive_int,
                       help=f"{MINIBATCH_LBFGS}: L-BFGS iterations per batch (default {minibatch_lbfgs.DEFAULT_ITERATIONS})")
    group.add_argument("--lbfgs-line-search", action="store_true", default=None,
                       help=f"{MINIBATCH_LBFGS}: search each step length (tfp's Hager-Zhang line search, from --lr) "
                            "instead of taking --lr as it is (the paper's setting)")
    group.add_argument("--lbfgs-keep-best", action="store_true", default=None,
                       help=f"{MINIBATCH_LBFGS}: end each step at the lowest loss its fixed-step iterations reached "
                            "on their batch, undoing a step that diverged (not the paper's setting)")

    group = arguments.add_run_arguments(parser, out_help="output folder (default runs/mnist-<digits>-seed<N>)",
                                        resume_help="continue from <out>/latest.npz (each member's) if it exists")
    group.add_argument("--init-from", metavar="RUN",
                       help="start from the best weights of an earlier run of the same topology (its folder, or "
                            "a checkpoint .npz; an ensemble member seed N takes RUN/seedN/best.npz), e.g. to polish "
                            "an Adam run with --optimizer lbfgs-minibatch; the optimizer starts afresh")
    group.add_argument("--ensemble", type=arguments.positive_int, default=1,
                       help="train K models (seeds seed..seed+K-1) and average them")
    group.add_argument("--replace-above", type=arguments.positive_float, metavar="LOSS",
                       help="ensemble: a member whose best validation loss stays above LOSS is set aside and a model "
                            "of the next unused seed trained in its place, at most K times (default: keep every member)")
    group.add_argument("--quick", action="store_true", help="a few hundred images and a few steps (tests, demos)")
    return parser


def fill_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """Options left at None get the MNIST defaults (`--quick`'s with --quick), and the
    L-BFGS optimizers theirs (options they do not use become None)."""
    given_lr = args.lr
    if args.optimizer == "lbfgs" and args.batch is None and not args.quick:
        args = argparse.Namespace(**{**vars(args), "batch": LBFGS_BATCH})
    args = arguments.fill_defaults(args, QUICK if args.quick else DEFAULTS)
    values = dict(vars(args))
    for name, default in QUICK_DATA.items():
        if values.get(name) is None and args.quick:
            values[name] = default
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


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """`argv` parsed, checked and filled; a combination of options that cannot run is a parser error."""
    args = fill_defaults(arguments.check_run_arguments(parser, parser.parse_args(argv)))
    if args.augment == "none" and (args.supervised or args.augment_input != "raw"):
        parser.error("--supervised and --augment-input need --augment pca or umap")
    if args.supervised and args.augment != "umap":
        parser.error("--supervised needs --augment umap")
    if args.lbfgs_line_search and args.lbfgs_keep_best:
        parser.error("--lbfgs-keep-best is for the fixed step: a line-searched step never raises the loss")
    if args.replace_above is not None and args.ensemble == 1:
        parser.error(f"--replace-above {args.replace_above} needs --ensemble K with K > 1")
    return args


def run_config(args: argparse.Namespace) -> dict[str, Any]:
    """What determines a model's computation (stored in checkpoints, checked on `--resume`)."""
    return runs.run_config(args, PROGRAM)


def default_folder(args: argparse.Namespace) -> str:
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


def member_folder(args: argparse.Namespace, out: str, seed: int) -> str:
    return out if args.ensemble == 1 else os.path.join(out, f"seed{seed}")
