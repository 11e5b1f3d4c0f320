"""The training programs' shared command-line arguments, built once with per-program defaults.

Every program (`train.elman`, `train.dna`, `train.mnist`) builds its model, training and
run options with `add_model_arguments`, `add_training_arguments` and `add_run_arguments`,
passing its `Defaults` (or one per task, labelled), and fills the options left unset with
`fill_defaults`. The parser keeps None for those options, so a run's settings can be
filled per task after parsing and a run of an older program (without an option) resumes
with unchanged settings; the help shows each program's actual defaults. `run_config`
turns the filled arguments into the program's typed `train.core.config.RunConfig` (a
value it refuses is a parser error); `settings` builds the same from keywords (the
studies of `train.studies.experiments`), and `command` spells them out as the equivalent
command line.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from typing import Any, Mapping

from qrnn_tfq.baselines import ENCODINGS
from qrnn_tfq.config import RECURRENCES
from qrnn_tfq.losses import LOSSES
from qrnn_tfq.training import OPTIMIZERS, VALIDATIONS
from qrnn_tfq.training.distribute import STRATEGIES
from train.core.config import ENGINES, MODELS, RESUME_SOURCES, RunConfig


@dataclasses.dataclass(frozen=True)
class Defaults:
    """A program's (or task's) defaults of the shared options (argument dest -> value).

    `patience`, `lr_decay_steps`, `rollback`, `warm_start` and `lr_warmup` 0 mean off;
    `stop_loss` None: never stop early.
    """

    workspace_lanes: int
    stages: int
    degree: int
    batch: int
    val_batch: int
    lr: float
    order: int = 2
    optimizer: str = "adam"
    loss: str = "paper"
    max_steps: int = 3000
    validate_every: int = 10
    patience: int = 0
    stop_loss: float | None = 1e-3
    lr_decay_steps: int = 0
    rollback: float = 0.0
    warm_start: int = 0
    lr_warmup: int = 0


# Defaults fields that 0 turns off (None in the filled arguments and the run config).
_ZERO_IS_OFF = ("patience", "lr_decay_steps", "rollback", "warm_start", "lr_warmup")
DefaultsTable = Mapping[str, Defaults]  # label ("" for the plain one, a task name, "--quick") -> defaults


# ---- types -------------------------------------------------------------------------------


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


def rollback_factor(text: str) -> float:
    """'3' -> 3.0; 0 turns rollbacks off; anything else must exceed 1."""
    value = non_negative_float(text)
    if not (value == 0 or 1 < value < math.inf):
        raise argparse.ArgumentTypeError(f"expected 0 (off) or a factor > 1, got {text!r}")
    return value


# ---- help texts of the defaults ----------------------------------------------------------


def _table(defaults: Defaults | DefaultsTable) -> DefaultsTable:
    return {"": defaults} if isinstance(defaults, Defaults) else defaults


def _shown(value: Any) -> str:
    return "never" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def default_text(defaults: Defaults | DefaultsTable, name: str) -> str:
    """'(default 8)', or per label '(default: xor 4, letters 6)' / '(default 1500; --quick: 6)'."""
    table = _table(defaults)
    values = {label: getattr(d, name) for label, d in table.items()}
    if len(set(map(_shown, values.values()))) == 1:
        return f"(default {_shown(next(iter(values.values())))})"
    if "" in values:
        rest = ", ".join(f"{label}: {_shown(v)}" for label, v in values.items() if label)
        return f"(default {_shown(values[''])}; {rest})"
    return "(default: " + ", ".join(f"{label} {_shown(v)}" for label, v in values.items()) + ")"


# ---- the argument groups -----------------------------------------------------------------


def add_model_arguments(parser: argparse.ArgumentParser, defaults: Defaults | DefaultsTable) -> argparse._ArgumentGroup:
    """QRNN topology and initialisation (SPEC sections 2-3), in the SPEC's names."""
    def text(name: str) -> str:
        return default_text(defaults, name)

    group = parser.add_argument_group("model (QRNN topology, SPEC section 3)")
    # --workspace: the name before issue 14; old commands (docs, summaries) still run.
    group.add_argument("--workspace-lanes", "--workspace", dest="workspace_lanes", type=positive_int, metavar="W",
                       help=f"workspace lanes W {text('workspace_lanes')}")
    group.add_argument("--stages", type=non_negative_int, metavar="S", help=f"work stages S {text('stages')}")
    group.add_argument("--degree", type=positive_int, metavar="D", help=f"neuron degree d {text('degree')}")
    group.add_argument("--order", type=non_negative_int, help=f"neuron order ord {text('order')}; 0 with --recurrence coherent")
    group.add_argument("--bias", type=float, default=math.pi / 2, help="neuron offset b (default pi/2)")
    group.add_argument("--theta-stddev", type=non_negative_float, default=0.1, help="spread of the initial biases (default 0.1)")
    group.add_argument("--phi-stddev", type=non_negative_float, default=0.01, help="spread of the initial weights (default 0.01)")
    group.add_argument("--work-stddev", type=non_negative_float, default=0.01,
                       help="spread of the initial work angles (default 0.01)")
    # Default None, not 0: runs from before the option resume with unchanged settings.
    group.add_argument("--amplification", type=non_negative_int, metavar="K",
                       help="K rounds of fixed-point amplitude amplification instead of each neuron's ideal "
                            "postselection, in training and evaluation (SPEC section 8; needs --order >= 1; default 0)")
    group.add_argument("--recurrence", choices=RECURRENCES,
                       help="postselected (the paper's QRNN) or coherent (SPEC section 8: order-0 neurons, nothing "
                            "measured; --order then defaults to 0) (default postselected)")
    group.add_argument("--engine", choices=ENGINES,
                       help="simulator: auto (native when its op is built, else state_vector), native (the fused "
                            "C++ op), state_vector (XLA), or tfq (TensorFlow Quantum's layers; coherent recurrence "
                            "only) (default auto)")
    group.add_argument("--shots", type=positive_int,
                       help="with --engine tfq: estimate every word probability from this many measurements per "
                            "Z string (default: exact)")
    group.add_argument("--noise", type=probability,
                       help="with --engine tfq: depolarizing probability on every qubit of every gate (default 0)")
    return group


def add_baseline_arguments(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """`--model {qrnn,rnn,lstm}` and the classical baselines' options (`qrnn_tfq.baselines`)."""
    group = parser.add_argument_group("classical baselines")
    group.add_argument("--model", choices=MODELS, default="qrnn",
                       help="qrnn, or a classical baseline: rnn (SimpleRNN) or lstm, each with a linear read-out (default qrnn)")
    group.add_argument("--hidden", type=positive_int, help="baseline hidden size (default: the paper's, rnn 22, lstm 10)")
    group.add_argument("--encoding", choices=ENCODINGS, default="one_hot",
                       help="how a baseline reads a word: one_hot over the 2^I words (the paper's) or its I bits")
    return group


def check_baseline_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse options a classical baseline cannot honour (it has no measurement to sample)."""
    if getattr(args, "model", "qrnn") != "qrnn" and args.validation == "sampled":
        parser.error(f"--validation sampled needs the QRNN's measurements; --model {args.model} has none (use teacher)")


def add_training_arguments(parser: argparse.ArgumentParser, defaults: Defaults | DefaultsTable, *,
                           optimizers: tuple[str, ...] = OPTIMIZERS, optimizer_help: str = "",
                           batch_help: str = "sequences per step") -> argparse._ArgumentGroup:
    """Optimizer, learning-rate schedule, loss, validation and stopping."""
    def text(name: str) -> str:
        return default_text(defaults, name)

    group = parser.add_argument_group("training")
    group.add_argument("--optimizer", choices=optimizers, help=f"optimizer {text('optimizer')}{optimizer_help}")
    group.add_argument("--lr", type=positive_float, help=f"(initial) learning rate {text('lr')}")
    group.add_argument("--lr-decay-steps", type=non_negative_int,
                       help="cosine decay of the learning rate to 5 %% of --lr over this many steps, then constant; "
                            f"0: constant {text('lr_decay_steps')}")
    group.add_argument("--rollback", type=rollback_factor, metavar="FACTOR",
                       help="when a validation loss exceeds FACTOR x the best one, go back to the best weights and "
                            f"halve the learning rate; 0: never {text('rollback')}")
    group.add_argument("--clip-norm", type=positive_float, default=0.5, help="global gradient-norm clip (default 0.5)")
    group.add_argument("--batch", type=positive_int, help=f"{batch_help} {text('batch')}")
    group.add_argument("--val-batch", type=positive_int, help=f"sequences in the fixed validation batch {text('val_batch')}")
    group.add_argument("--loss", choices=sorted(LOSSES),
                       help=f"'paper': the paper's shifted loss (its thresholds refer to it); 'nll': -log p {text('loss')}")
    group.add_argument("--validation", choices=VALIDATIONS, default="teacher",
                       help="validation loss of a teacher-forced run, or of one that samples the scored steps "
                            "as the paper's code did (default teacher)")
    group.add_argument("--validate-every", type=positive_int, help=f"steps between validations {text('validate_every')}")
    group.add_argument("--patience", type=non_negative_int,
                       help=f"stop after this many validations without a better loss; 0: never {text('patience')}")
    group.add_argument("--stop-loss", type=float,
                       help=f"stop at this validation loss (a negative value never stops) {text('stop_loss')}")
    group.add_argument("--target-loss", type=float, help="report the steps to this validation loss (default: --stop-loss)")
    group.add_argument("--max-steps", type=non_negative_int, help=f"step budget {text('max_steps')}")
    return group


def add_run_arguments(parser: argparse.ArgumentParser, *, out_help: str, resume_help: str) -> argparse._ArgumentGroup:
    """Seed, output folder, resume, devices (`--distribute`), TensorBoard, progress and messages."""
    group = parser.add_argument_group("run")
    group.add_argument("--seed", type=non_negative_int, default=0, help="(first) seed (default 0)")
    group.add_argument("--out", help=out_help)
    add_resume_arguments(group, resume_help)
    group.add_argument("--distribute", choices=STRATEGIES, default="none",
                       help="none: one device; mirrored: this machine's GPUs (its CPU when it has none); "
                            "multi-worker: the machines TF_CONFIG names, each running this same command (worker 0 "
                            "writes the outputs; --resume reads <out> on every worker: a shared or copied folder). "
                            "Each step's batch is split across the replicas (default none)")
    group.add_argument("--tensorboard", metavar="DIR",
                       help="also write TensorBoard logs to DIR (DIR/seed<N> for several seeds or members)")
    group.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    group.add_argument("-v", "--verbose", action="store_true", help="log every validation; show TensorFlow's messages")
    return group


def add_resume_arguments(group: argparse._ArgumentGroup, resume_help: str) -> None:
    """`--resume`, `--resume-from` and `--overwrite`: what a run does with a run already in its folder."""
    group.add_argument("--resume", action="store_true", help=resume_help)
    group.add_argument("--resume-from", choices=RESUME_SOURCES,
                       help="the checkpoint --resume continues from (implies --resume): latest.npz (default) or "
                            "best.npz, e.g. when latest.npz is damaged (the steps after the best one run again)")
    group.add_argument("--overwrite", action="store_true",
                       help="delete a run already in the folder and start afresh (else such a folder is refused)")


# ---- after parsing -----------------------------------------------------------------------


def check_run_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    """`--resume-from` implies `--resume`, which excludes `--overwrite`; returns the completed arguments."""
    if args.resume_from is not None:
        args = argparse.Namespace(**{**vars(args), "resume": True})
    if args.resume and args.overwrite:
        parser.error("--overwrite starts afresh; it cannot be combined with --resume or --resume-from")
    return args


def fill_defaults(args: argparse.Namespace, defaults: Defaults) -> argparse.Namespace:
    """A copy of `args` with the options left at None set from `defaults` (order 0 for a
    coherent recurrence); `patience`, `lr_decay_steps`, `rollback`, `warm_start` and `lr_warmup` 0
    become None (off)."""
    values = dict(vars(args))
    for field in dataclasses.fields(Defaults):
        name = field.name
        if name in values and values[name] is None:
            coherent = name == "order" and values.get("recurrence") == "coherent"
            values[name] = 0 if coherent else getattr(defaults, name)
    for name in _ZERO_IS_OFF:
        if name in values and not values[name]:
            values[name] = None
    return argparse.Namespace(**values)


def parser_defaults(parser: argparse.ArgumentParser) -> dict[str, Any]:
    """Every option's parser default, by dest (what `parse_args` gives an option not given)."""
    return {action.dest: action.default for action in parser._actions if action.dest != argparse.SUPPRESS
            and action.default != argparse.SUPPRESS}


def run_config(parser: argparse.ArgumentParser, kind: type[RunConfig], args: argparse.Namespace) -> RunConfig:
    """The filled arguments as the program's typed configuration; a value it refuses is a parser error."""
    try:
        return kind(**vars(args))
    except ValueError as error:
        parser.error(str(error))


def settings(parser: argparse.ArgumentParser, defaults: Defaults, kind: type[RunConfig], **values: Any) -> RunConfig:
    """The configuration of the program whose parser is `parser`, given `values` by dest
    (as parsing, checking and filling the equivalent command gives it). Values are not
    checked as the parser's types check them, only as `kind` checks them.

    Raises:
        TypeError: a name that is none of the parser's options.
        ValueError: a value `kind` refuses.
    """
    known = parser_defaults(parser)
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise TypeError(f"{parser.prog} has no options {unknown}; known: {sorted(known)}.")
    return kind(**vars(fill_defaults(check_run_arguments(parser, argparse.Namespace(**{**known, **values})), defaults)))


def command(parser: argparse.ArgumentParser, values: Mapping[str, Any]) -> str:
    """The command line of `values` (dest -> value, in their order): '<prog> --name value ...';
    a float keeps its exact repr (a change of 1e-6 in b changes a run)."""
    options = {action.dest: action for action in parser._actions if action.option_strings}
    words = [parser.prog]
    for name, value in values.items():
        action = options[name]
        flag = action.option_strings[0]
        if isinstance(value, bool):
            if value != action.default:
                words.append(flag)
        elif value is not None:
            words += [flag, repr(value) if isinstance(value, float) else str(value)]
    return " ".join(words)
