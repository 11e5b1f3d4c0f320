"""Train a QRNN to classify MNIST digits (SPEC section 5): `python -m train.mnist`.

    python -m train.mnist                      # digits 0 and 1, the paper's 12-qubit QRNN
    python -m train.mnist --digits 3,6
    python -m train.mnist --ensemble 4         # 4 models (seeds 0-3), averaged
    python -m train.mnist --digits all --augment umap --coordinates 2 --bits 6 --augment-input deskewed \
        --data ../shared/data/mnist            # all ten digits, 2 unsupervised UMAP coordinates
    python -m train.mnist --digits 3,6 --workspace-lanes 6 --stages 2 --degree 3 --optimizer lbfgs-minibatch \
        --batch 100 --max-steps 400 --patience 20  # the paper's L-BFGS, batch by batch (docs/MNIST.md)
    python -m train.mnist --workspace-lanes 6 --stages 2 --degree 3 --optimizer lbfgs-minibatch --batch 100 \
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
(each digit's images reshuffled every epoch), the proper loss -log p. A warm start
(`--warm-start 20`: 20 steps of minibatch L-BFGS, train.core.warm_start) takes the model
off the chance-level plateau Adam sits on for 150-600 steps; Adam then starts from its
best weights, its learning rate rising from 0 to 0.003 over 300 steps (`--lr-warmup`) and
decaying (cosine) to 5 % over the next 1200: the paper's constant 0.005 diverged after
about 350 steps here (docs/MNIST.md). When a validation loss exceeds
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

`--distribute mirrored` (this machine's GPUs) or `multi-worker` (the machines TF_CONFIG
names, each running the same command) splits each step's batch over the replicas; only
worker 0 writes the outputs, the others say so and write nothing (see the README).
This module holds the program's options and defaults; training and scoring are in
`train/core/mnist_train.py`, the data in `train/core/mnist_data.py`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import sys
import time
from typing import Any, Sequence

from data import mnist_augment
from qrnn_tfq.training import OPTIMIZERS, minibatch_lbfgs
from qrnn_tfq.training.lbfgs import DEFAULT_MEMORY
from train.core import arguments, quiet, run_folder, runs, warm_start
from train.core.config import MnistRun
from train.core.mnist_data import CODES_FILE, parse_digits
from train.core.mnist_train import default_folder, member_config, member_folder, train_and_score
from train.core.outputs import CHECKPOINTS, outputs_line

PROGRAM = "train.mnist"
DEFAULT_DIGITS = (0, 1)
DEFAULTS = arguments.Defaults(
    workspace_lanes=8, stages=2, degree=2, batch=50, val_batch=200, lr=0.003, loss="nll", max_steps=1500,
    validate_every=10, patience=40, stop_loss=None, lr_decay_steps=1200, rollback=3.0, warm_start=20, lr_warmup=300,
)
QUICK = dataclasses.replace(DEFAULTS, max_steps=6, lr_decay_steps=0, validate_every=3, patience=0, batch=10, val_batch=40,
                            warm_start=0, lr_warmup=0)
QUICK_DATA = {"test_size": 200, "train_per_digit": 100}  # --quick's data options (default: all)
LBFGS_BATCH = 1000  # images per digit of the fixed L-BFGS batch
MINIBATCH_LBFGS = "lbfgs-minibatch"
WARM_START_LR = minibatch_lbfgs.DEFAULT_LEARNING_RATE  # the warm start's fixed step (0.1)


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

    group.add_argument("--warm-start", type=arguments.non_negative_int, metavar="N",
                       help=f"start with N steps of {MINIBATCH_LBFGS} (--lbfgs-keep-best, step --warm-start-lr) in "
                            "<member>/warm-start/, then train from its best validation's weights with --optimizer: "
                            "L-BFGS leaves the chance-level plateau of the initialisation in a few steps, Adam takes "
                            f"hundreds (docs/MNIST.md); 0: off {arguments.default_text(table, 'warm_start')}")
    group.add_argument("--warm-start-lr", type=arguments.positive_float,
                       help=f"fixed step of the warm start (default {WARM_START_LR})")
    group.add_argument("--lr-warmup", type=arguments.non_negative_int, metavar="N",
                       help="raise the learning rate linearly from 0 over the first N steps, then the cosine "
                            f"decay (needs --lr-decay-steps); 0: off {arguments.default_text(table, 'lr_warmup')}")

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
    given_lr, given_warmup, given_warm_start = args.lr, args.lr_warmup, args.warm_start
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
    if values["optimizer"] in ("lbfgs", MINIBATCH_LBFGS):  # the warm start and the rise are for a first-order optimizer
        values.update(warm_start=None, lr_warmup=None)
    if values["lr_decay_steps"] is None and given_warmup is None:  # the default rise leads into the cosine only
        values["lr_warmup"] = None
    if given_warm_start is None and (values["init_from"] or values["distribute"] != "none"):
        values["warm_start"] = None  # --init-from chooses the start instead; L-BFGS runs on one replica only
    values["warm_start_lr"] = (values["warm_start_lr"] or WARM_START_LR) if values["warm_start"] else None
    if values["optimizer"] != MINIBATCH_LBFGS:
        values["lbfgs_line_search"] = values["lbfgs_keep_best"] = None
    values["digits"] = list(values["digits"])
    return argparse.Namespace(**values)


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> MnistRun:
    """`argv` parsed, checked and filled into the run's typed configuration; a combination
    of options that cannot run is a parser error."""
    given = parser.parse_args(argv)  # as typed: what the user asked for, before the defaults
    args = fill_defaults(arguments.check_run_arguments(parser, given))
    if args.augment == "none" and (args.supervised or args.augment_input != "raw"):
        parser.error("--supervised and --augment-input need --augment pca or umap")
    if args.supervised and args.augment != "umap":
        parser.error("--supervised needs --augment umap")
    if args.lbfgs_line_search and args.lbfgs_keep_best:
        parser.error("--lbfgs-keep-best is for the fixed step: a line-searched step never raises the loss")
    if args.optimizer in ("lbfgs", MINIBATCH_LBFGS) and (given.warm_start or given.lr_warmup):
        parser.error(f"--warm-start and --lr-warmup start a first-order optimizer; --optimizer {args.optimizer} has "
                     "its own start")
    if given.warm_start and args.distribute != "none":
        parser.error(f"--warm-start runs minibatch L-BFGS, which runs on one replica: not with --distribute {args.distribute}")
    if given.warm_start and args.init_from:
        parser.error("--warm-start and --init-from both choose the starting weights; give one")
    if args.replace_above is not None and args.ensemble == 1:
        parser.error(f"--replace-above {args.replace_above} needs --ensemble K with K > 1")
    return arguments.run_config(parser, MnistRun, args)



def main(argv: Sequence[str] | None = None, callbacks: Sequence[Any] | None = None) -> dict[str, Any]:
    """Parse `argv`, train (or resume) every model, score the test set and write the outputs;
    `callbacks` (Keras callbacks) go to every member's training.

    Returns:
        The summary written to `<out>/summary.json` (on a worker that is not the chief, its
        members' training summaries; it writes nothing).
    """
    start = time.perf_counter()
    given = list(sys.argv[1:] if argv is None else argv)
    parser = make_parser()
    run = parse(parser, given)
    # The strategy first, before TensorFlow runs anything (MultiWorkerMirroredStrategy's rule).
    distribution = runs.make_distribution(
        parser, run, {"--batch (per digit)": run.batch * len(run.digits), "--val-batch": run.val_batch})
    quiet.configure_logging(run.verbose)
    command = f"python -m {PROGRAM}" + ("" if not given else " " + shlex.join(given))
    out = run.out or default_folder(run)
    seeds = list(range(run.seed, run.seed + run.ensemble))
    with distribution.lock(out):
        if distribution.chief:
            wanted = {member_folder(run, out, seed): {**member_config(run, seed), "seed": seed} for seed in seeds}
            run_folder.check_out_folder(out, wanted, resume=run.resume, overwrite=run.overwrite)
        summary = train_and_score(run, out, command, start, distribution, callbacks)
    if not distribution.chief:
        return summary
    results = ("summary.json", "history.csv", "training_curve.png", "confusion_matrix.png", CODES_FILE,
               os.path.join(warm_start.FOLDER, ""), *CHECKPOINTS)
    if run.ensemble == 1:
        print(outputs_line(out, results), flush=True)
    else:
        members = [m["folder"] for m in (*summary["members"], *summary["set_aside"])]
        print(outputs_line(out, ("summary.json", "confusion_matrix.png", CODES_FILE), members, results), flush=True)
    return summary


if __name__ == "__main__":
    main()
