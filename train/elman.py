"""Train a QRNN on Elman's tasks or the memorisation task (SPEC section 5).

    python -m train.elman --task xor --seeds 5

trains until the validation loss (the paper's shifted loss by default) is <= 1e-3 or the
step budget is spent, and prints the steps each seed needed and their median. Defaults
per task: xor W=4, S=1, d=3, batch 8 (the paper's Elman-XOR setting; median about 480
steps with b = pi/2); letters W=6, S=2, d=2 (the paper's fastest); memorize W=5, S=2,
d=3, batch 2 (the two sequences). Adam with learning rate 0.005, as the paper's code ran
Elman XOR. `--model rnn` or `--model lstm` trains a classical baseline (one-hot input,
hidden 22 or 10, linear read-out) on the same data, loss and stopping rule.
"""

from __future__ import annotations

import argparse
from typing import Sequence

from train import common  # first: it selects tf-keras before TensorFlow loads

from data.sequences import task_by_name  # noqa: E402

TASKS = ("memorize", "xor", "letters")
TASK_DEFAULTS = {
    "xor": common.Defaults(workspace=4, stages=1, degree=3, batch=8, validation_batch=16, learning_rate=0.005),
    "letters": common.Defaults(workspace=6, stages=2, degree=2, batch=8, validation_batch=16, learning_rate=0.005),
    "memorize": common.Defaults(workspace=5, stages=2, degree=3, batch=2, validation_batch=2, learning_rate=0.005),
}


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m train.elman", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--task", choices=TASKS, required=True, help="the sequence task")
    parser.add_argument("--length", type=common.positive_int, help="words per sequence (default: xor/letters 36, memorize 20)")
    common.add_model_arguments(parser, "(default per task, see above)")
    common.add_baseline_arguments(parser)
    common.add_training_arguments(parser, "(default per task, see above)")
    return parser


def main(argv: Sequence[str] | None = None) -> list[dict]:
    """Parse `argv`, train every seed and return the per-seed summaries."""
    parser = make_parser()
    parsed = common.check_run_arguments(parser, parser.parse_args(argv))
    common.check_baseline_arguments(parser, parsed)
    args = common.fill_defaults(parsed, TASK_DEFAULTS[parsed.task])
    options = {} if args.length is None else {"length": args.length}
    try:
        task = task_by_name(args.task, **options)
    except ValueError as error:
        parser.error(str(error))
    prefix = f"elman-{args.task}" if args.model == "qrnn" else f"elman-{args.task}-{args.model}"
    return common.run_seeds(args, task, "train.elman", prefix)


if __name__ == "__main__":
    main()
