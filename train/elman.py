"""Train a QRNN on Elman's tasks or the memorisation task (SPEC section 5).

    python -m train.elman --task xor --seeds 5

trains until the validation loss (the paper's shifted loss by default) is <= 1e-3 or the
step budget is spent, and prints the steps each seed needed and their median. Defaults
per task: xor W=4, S=1, d=3, batch 8 (the paper's Elman-XOR setting; median about 480
steps with b = pi/2); letters W=6, S=2, d=2 (the paper's fastest); memorize W=5, S=2,
d=3, batch 2 (the two sequences). Adam with learning rate 0.005, as the paper's code ran
Elman XOR. `--model rnn` or `--model lstm` trains a classical baseline (one-hot input,
hidden 22 or 10, linear read-out) on the same data, loss and stopping rule.
`--distribute mirrored` or `multi-worker` splits each step's batch over devices or
machines (see `--help` and the README).
"""

from __future__ import annotations

import argparse
from typing import Any, Sequence

from train.core import arguments, sequence_runs
from train.core.config import ElmanRun

PROGRAM = ElmanRun.PROGRAM
TASKS = ("memorize", "xor", "letters")
TASK_DEFAULTS = {
    "xor": arguments.Defaults(workspace_lanes=4, stages=1, degree=3, batch=8, val_batch=16, lr=0.005),
    "letters": arguments.Defaults(workspace_lanes=6, stages=2, degree=2, batch=8, val_batch=16, lr=0.005),
    "memorize": arguments.Defaults(workspace_lanes=5, stages=2, degree=3, batch=2, val_batch=2, lr=0.005),
}


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m {PROGRAM}", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--task", choices=TASKS, required=True, help="the sequence task")
    parser.add_argument("--length", type=arguments.positive_int,
                        help="words per sequence (default: xor/letters 36, memorize 20)")
    sequence_runs.add_shared_arguments(parser, TASK_DEFAULTS)
    return parser


def prefix(args: ElmanRun) -> str:
    """The default folder's name stem."""
    return f"elman-{args.task}" if args.model == "qrnn" else f"elman-{args.task}-{args.model}"


def settings(**values: Any) -> ElmanRun:
    """The configuration `python -m train.elman` runs with `values` (by dest, `task` among
    them), as `main` builds it (for the studies of `train.studies.experiments`)."""
    return arguments.settings(make_parser(), TASK_DEFAULTS[values["task"]], ElmanRun, **values)


def command(values: dict[str, Any]) -> str:
    """The command line that runs `settings(**values)`."""
    return arguments.command(make_parser(), values)


def main(argv: Sequence[str] | None = None, callbacks: Sequence[Any] | None = None) -> list[dict]:
    """Parse `argv`, train every seed and return the per-seed summaries; `callbacks` (Keras
    callbacks) go to every seed's training."""
    parser = make_parser()
    run = sequence_runs.parse(parser, argv, TASK_DEFAULTS, ElmanRun)
    return sequence_runs.run_program(parser, run, prefix(run), callbacks)


if __name__ == "__main__":
    main()
