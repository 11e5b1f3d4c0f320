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

`--distribute mirrored` (this machine's GPUs) or `multi-worker` (the machines TF_CONFIG
names, each running the same command) splits each step's batch over the replicas; only
worker 0 writes the outputs, the others say so and write nothing (see the README).
The arguments are in `train/mnist_args.py`, training and scoring in `train/mnist_train.py`.
"""

from __future__ import annotations

import shlex
import sys
import time
from typing import Any, Sequence

from train import runs  # first: selects tf-keras before TensorFlow loads

from qrnn_tfq.training.lbfgs import DEFAULT_MEMORY as DEFAULT_MEMORY  # noqa: E402
from train import quiet, run_folder  # noqa: E402
from train.mnist_args import (  # noqa: E402
    DEFAULTS as DEFAULTS,
    LBFGS_BATCH as LBFGS_BATCH,
    PROGRAM as PROGRAM,
    QUICK as QUICK,
    default_folder as default_folder,
    fill_defaults as fill_defaults,
    make_parser as make_parser,
    member_folder as member_folder,
    parse as parse,
    run_config as run_config,
)
from train.mnist_data import CODES_FILE as CODES_FILE  # noqa: E402
from train.mnist_data import BalancedBatches as BalancedBatches  # noqa: E402
from train.mnist_data import parse_digits as parse_digits  # noqa: E402
from train.mnist_train import train_and_score  # noqa: E402
from train.outputs import CHECKPOINTS, outputs_line  # noqa: E402


def main(argv: Sequence[str] | None = None, callbacks: Sequence[Any] | None = None) -> dict[str, Any]:
    """Parse `argv`, train (or resume) every model, score the test set and write the outputs;
    `callbacks` (Keras callbacks) go to every member's `Trainer`.

    Returns:
        The summary written to `<out>/summary.json` (on a worker that is not the chief, its
        members' training summaries; it writes nothing).
    """
    start = time.perf_counter()
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = make_parser()
    args = parse(parser, arguments)
    # The strategy first, before TensorFlow runs anything (MultiWorkerMirroredStrategy's rule).
    distribution = runs.make_distribution(
        parser, args, {"--batch (per digit)": args.batch * len(args.digits), "--val-batch": args.val_batch})
    quiet.configure_logging(args.verbose)
    command = f"python -m {PROGRAM}" + ("" if not arguments else " " + shlex.join(arguments))
    out = args.out or default_folder(args)
    seeds = list(range(args.seed, args.seed + args.ensemble))
    with distribution.lock(out):
        if distribution.chief:
            wanted = {member_folder(args, out, seed): {**run_config(args), "model_seed": seed, "seed": seed} for seed in seeds}
            run_folder.check_out_folder(out, wanted, resume=args.resume, overwrite=args.overwrite)
        summary = train_and_score(args, out, command, start, distribution, callbacks)
    if not distribution.chief:
        return summary
    results = ("summary.json", "history.csv", "training_curve.png", "confusion_matrix.png", CODES_FILE, *CHECKPOINTS)
    if args.ensemble == 1:
        print(outputs_line(out, results), flush=True)
    else:
        members = [m["folder"] for m in (*summary["members"], *summary["set_aside"])]
        print(outputs_line(out, ("summary.json", "confusion_matrix.png", CODES_FILE), members, results), flush=True)
    return summary


if __name__ == "__main__":
    main()
