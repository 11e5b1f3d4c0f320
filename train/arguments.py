"""The training programs' shared command-line arguments: topology, baselines, training, runs.

Types that refuse a bad value with argparse's usage message, per-program defaults
(`Defaults`, `fill_defaults`) and the argument groups every program in `train/` builds.
"""

from __future__ import annotations

import argparse
import dataclasses
import math

from qrnn_tfq.baselines import BASELINE_KINDS, ENCODINGS
from qrnn_tfq.config import RECURRENCES
from qrnn_tfq.engine.base import engine_names
from qrnn_tfq.losses import LOSSES
from qrnn_tfq.training import OPTIMIZERS, VALIDATIONS

RESUME_SOURCES = ("latest", "best")
ENGINES = tuple(engine_names())


@dataclasses.dataclass(frozen=True)
class Defaults:
    """A program's (or task's) default topology and optimizer settings."""

    workspace: int
    stages: int
    degree: int
    batch: int
    validation_batch: int
    learning_rate: float
    order: int = 2
    optimizer: str = "adam"


# ---- arguments ---------------------------------------------------------------------------


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {value}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def probability(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a probability in [0, 1), got {text}")
    return value


def add_model_arguments(parser: argparse.ArgumentParser, default_help: str = "") -> None:
    """QRNN topology and initialisation (SPEC sections 2-3); defaults None mean "per program/task"."""
    group = parser.add_argument_group("model (QRNN topology, SPEC section 3)")
    group.add_argument("--workspace", type=positive_int, help=f"workspace lanes W {default_help}")
    group.add_argument("--stages", type=non_negative_int, help=f"work stages S {default_help}")
    group.add_argument("--degree", type=positive_int, help=f"neuron degree d {default_help}")
    group.add_argument("--order", type=non_negative_int, help="neuron order ord (default 2)")
    group.add_argument("--bias", type=float, default=math.pi / 2, help="neuron offset b (default pi/2)")
    group.add_argument("--theta-stddev", type=non_negative_float, default=0.1, help="spread of the initial biases")
    group.add_argument("--phi-stddev", type=non_negative_float, default=0.01, help="spread of the initial weights")
    group.add_argument("--work-stddev", type=non_negative_float, default=0.01, help="spread of the initial work angles")
    # Default None, not 0: runs from before the option resume with unchanged settings.
    group.add_argument("--amplification", type=non_negative_int, metavar="K",
                       help="K rounds of fixed-point amplitude amplification instead of each neuron's ideal "
                            "postselection, in training and evaluation (SPEC section 8; needs --order >= 1; default 0)")
    group.add_argument("--recurrence", choices=RECURRENCES,
                       help="postselected (the paper's QRNN) or coherent (SPEC section 8: order-0 neurons, nothing "
                            "measured; --order then defaults to 0) (default postselected)")
    group.add_argument("--engine", choices=ENGINES,
                       help="simulator: state_vector, or tfq (TensorFlow Quantum's layers; coherent recurrence only) "
                            "(default state_vector)")
    group.add_argument("--shots", type=positive_int,
                       help="with --engine tfq: estimate every word probability from this many measurements per "
                            "Z string (default: exact)")
    group.add_argument("--noise", type=probability,
                       help="with --engine tfq: depolarizing probability on every qubit of every gate (default 0)")


MODELS = ("qrnn", *BASELINE_KINDS)


def add_baseline_arguments(parser: argparse.ArgumentParser) -> None:
    """`--model {qrnn,rnn,lstm}` and the classical baselines' options (`qrnn_tfq.baselines`)."""
    group = parser.add_argument_group("classical baselines")
    group.add_argument("--model", choices=MODELS, default="qrnn",
                       help="qrnn, or a classical baseline: rnn (SimpleRNN) or lstm, each with a linear read-out (default qrnn)")
    group.add_argument("--hidden", type=positive_int, help="baseline hidden size (default: the paper's, rnn 22, lstm 10)")
    group.add_argument("--encoding", choices=ENCODINGS, default="one_hot",
                       help="how a baseline reads a word: one_hot over the 2^I words (the paper's) or its I bits")


def check_baseline_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse options a classical baseline cannot honour (it has no measurement to sample)."""
    if getattr(args, "model", "qrnn") != "qrnn" and args.validation == "sampled":
        parser.error(f"--validation sampled needs the QRNN's measurements; --model {args.model} has none (use teacher)")


def add_training_arguments(parser: argparse.ArgumentParser, default_help: str = "") -> None:
    """Optimizer, loss, validation and run options."""
    group = parser.add_argument_group("training")
    group.add_argument("--optimizer", choices=OPTIMIZERS, help="optimizer (default adam; L-BFGS: train.mnist --optimizer lbfgs)")
    group.add_argument("--lr", type=positive_float, help=f"learning rate {default_help}")
    group.add_argument("--clip-norm", type=positive_float, default=0.5, help="global gradient-norm clip (default 0.5)")
    group.add_argument("--batch", type=positive_int, help=f"sequences per step {default_help}")
    group.add_argument("--val-batch", type=positive_int, help=f"sequences in the fixed validation batch {default_help}")
    group.add_argument("--loss", choices=sorted(LOSSES), default="paper",
                       help="'paper': the paper's shifted loss (its thresholds refer to it); 'nll': -log p (default paper)")
    group.add_argument("--validation", choices=VALIDATIONS, default="teacher",
                       help="validation loss of a teacher-forced run, or of one that samples the scored steps "
                            "as the paper's code did (default teacher)")
    group.add_argument("--validate-every", type=positive_int, default=10, help="steps between validations (default 10)")
    group.add_argument("--stop-loss", type=float, default=1e-3, help="stop at this validation loss (default 1e-3; a negative value never stops)")
    group.add_argument("--target-loss", type=float, help="report the steps to this validation loss (default: --stop-loss)")
    group.add_argument("--max-steps", type=non_negative_int, default=3000, help="step budget (default 3000)")

    group = parser.add_argument_group("run")
    group.add_argument("--seed", type=non_negative_int, default=0, help="first seed (default 0)")
    group.add_argument("--seeds", type=positive_int, default=1, help="run this many seeds and report the median steps")
    group.add_argument("--out", help="output folder (default runs/<program>-seed<N>)")
    add_resume_arguments(group, "continue from <out>/latest.npz (each seed's) if it exists")
    group.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    group.add_argument("-v", "--verbose", action="store_true", help="log every validation; show TensorFlow's messages")


def add_resume_arguments(group: argparse._ArgumentGroup, resume_help: str) -> None:
    """`--resume`, `--resume-from` and `--overwrite`: what a run does with a run already in its folder."""
    group.add_argument("--resume", action="store_true", help=resume_help)
    group.add_argument("--resume-from", choices=RESUME_SOURCES,
                       help="the checkpoint --resume continues from (implies --resume): latest.npz (default) or "
                            "best.npz, e.g. when latest.npz is damaged (the steps after the best one run again)")
    group.add_argument("--overwrite", action="store_true",
                       help="delete a run already in the folder and start afresh (else such a folder is refused)")


def check_run_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    """`--resume-from` implies `--resume`, which excludes `--overwrite`; returns the completed arguments."""
    if args.resume_from is not None:
        args = argparse.Namespace(**{**vars(args), "resume": True})
    if args.resume and args.overwrite:
        parser.error("--overwrite starts afresh; it cannot be combined with --resume or --resume-from")
    return args


def fill_defaults(args: argparse.Namespace, defaults: Defaults) -> argparse.Namespace:
    """A copy of `args` with the options left at None set from `defaults`."""
    values = dict(vars(args))
    for name, value in (
        ("workspace", defaults.workspace), ("stages", defaults.stages), ("degree", defaults.degree),
        ("order", defaults.order), ("batch", defaults.batch), ("val_batch", defaults.validation_batch),
        ("lr", defaults.learning_rate), ("optimizer", defaults.optimizer),
    ):
        if values.get(name) is None:
            values[name] = 0 if name == "order" and values.get("recurrence") == "coherent" else value
    return argparse.Namespace(**values)
