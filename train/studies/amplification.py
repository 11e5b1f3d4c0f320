"""Does amplitude amplification give the QRNN's activation? Numbers and plots (SPEC section 8).

    python -m train.studies.amplification --xor RUN [RUN ...] --mnist RUN [RUN ...] --rounds 0 1 2 3 4 6 --out runs/amplification

For one neuron (orders 1-3) it tabulates the fixed-point schedule of every round count:
queries, the guaranteed error `delta` at SPEC section 2's bound, the smallest success
probability, and how evenly the amplified branch weights `|g(lambda)|` treat branches
(the postselected model's nonlinearity is exactly that branches of different `lambda`
are weighted `sqrt(lambda)`). For trained runs of `train.elman --task xor` and
`train.mnist` it evaluates the same weights with `k` rounds instead of postselection:
accuracy (argmax, and the expected sampled accuracy), the fidelity of the teacher-forced
final state to the postselected one, and what a chip pays: the probability that every
ancilla of a step succeeds, and that a whole sequence (every step's ancillas and every
postselected word) does. Writes `amplification.json`, `amplification.md` and PNG plots.
"""

from __future__ import annotations

import argparse
import os
from typing import Any, Sequence

import numpy as np

from qrnn_tfq.amplification import amplified_gain, amplified_success, fixed_point_schedule, neuron_success_bound
from qrnn_tfq.training import QRNNSequenceModel, atomic_writer
from train.core.arguments import positive_int
from train.core.config import Rebuilt, RunConfig, rebuild
from train.core.mnist_eval import label_distribution, scores
from train.core.outputs import markdown_table, save_figure, subplots, write_json

XOR_SEQUENCES = 512  # fresh test sequences of the XOR task (seeded; --xor-sequences)
EVAL_SEED = 20261128


# ---- one neuron ----------------------------------------------------------------------------


def branch_successes(order: int, points: int = 2001) -> np.ndarray:
    """`lambda(eta) = cos^(2^(ord+1)) + sin^(2^(ord+1))` over a uniform grid of angles `eta`."""
    eta = np.linspace(0.0, np.pi / 2, points)
    return np.cos(eta) ** (2 ** (order + 1)) + np.sin(eta) ** (2 ** (order + 1))


def neuron_fidelity(success: np.ndarray, gain: np.ndarray) -> float:
    """Fidelity of the amplified to the postselected neuron on an even superposition of
    branches with these success probabilities: the branches keep their rotations, so only
    the weights `sqrt(lambda)` against `sqrt(lambda) h(lambda)` differ."""
    overlap = np.abs(np.sum(success * gain)) ** 2
    return float(overlap / (np.sum(success) * np.sum(success * np.abs(gain) ** 2)))


def neuron_table(orders: Sequence[int], rounds: Sequence[int]) -> list[dict[str, Any]]:
    """Per order and round count: queries, delta, smallest success, branch-weight spread and
    the fidelity to postselection on an even superposition of branches (angles uniform)."""
    rows = []
    for order in orders:
        bound = neuron_success_bound(order)
        lam = branch_successes(order)  # every success probability a branch can have, from bound to 1
        for k in rounds:
            schedule = None if k == 0 else fixed_point_schedule(k, bound)
            gain = np.ones_like(lam) if k == 0 else amplified_gain(lam, schedule)
            success = lam * np.abs(gain) ** 2
            rows.append({
                "order": order, "rounds": k, "queries": 2 * k + 1, "lower_bound": bound,
                "delta": None if k == 0 else schedule.delta,
                "min_success": float(success.min()),
                # max/min branch weight |g|: sqrt(1/bound) for postselection, -> 1 as k grows
                "weight_ratio": float(np.sqrt(success.max() / success.min())),
                "fidelity": neuron_fidelity(lam, gain),
            })
    return rows


def plot_neuron_summary(path: str, rows: list[dict[str, Any]]) -> None:
    figure, (left, right) = subplots(1, 2, figsize=(10, 4))
    for order in dict.fromkeys(row["order"] for row in rows):
        mine = [row for row in rows if row["order"] == order]
        ks = [row["rounds"] for row in mine]
        left.plot(ks, [row["min_success"] for row in mine], "o-", label=f"order {order}")
        right.plot(ks, [row["fidelity"] for row in mine], "o-", label=f"order {order}")
    left.set_ylabel("smallest success probability of a branch")
    right.set_ylabel("fidelity to the postselected neuron")
    for axes in (left, right):
        axes.set_xlabel("amplification rounds k (0: postselection)")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    figure.suptitle("One neuron, even superposition of branches with uniform angles", fontsize=10)
    save_figure(figure, path, dpi=110)


def plot_neuron(path: str, order: int, rounds: Sequence[int]) -> None:
    bound = neuron_success_bound(order)
    lam = np.linspace(bound, 1.0, 400)
    figure, axes = subplots(figsize=(6, 4))
    for k in rounds:
        success = lam if k == 0 else amplified_success(lam, fixed_point_schedule(k, bound))
        axes.plot(lam, success, label="postselection (k = 0)" if k == 0 else f"k = {k} ({2 * k + 1} queries)")
    axes.set_xlabel("neuron success probability lambda(x) = c^2 + s^2")
    axes.set_ylabel("success probability after amplification")
    axes.set_title(f"Fixed-point amplification of an order-{order} neuron (w = {bound:g})", fontsize=10)
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    save_figure(figure, path, dpi=110)


# ---- trained runs --------------------------------------------------------------------------


def run_label(folder: str, run: RunConfig) -> str:
    """The run's folder name and how it was trained (postselected or with k rounds)."""
    trained = run.amplification or 0
    parts = os.path.normpath(folder).split(os.sep)
    name = "/".join(parts[-2:]) if parts[-1].startswith("seed") and len(parts) > 1 else parts[-1]
    return f"{name} (trained {'postselected' if not trained else f'k={trained}'})"


def sequence_costs(out: Any, scored: np.ndarray, reference_state: np.ndarray | None) -> dict[str, Any]:
    """From a teacher-forced run's `SequenceOutputs`: the fidelity of its final state to
    `reference_state` (the postselected run's) and what a chip must pass."""
    log_ancilla = np.log10(out.ancilla_success.numpy())  # (B, T)
    log_words = np.where(scored, 0.0, np.log10(np.maximum(out.postselection.numpy(), 1e-300)))  # unscored: postselected
    fidelity = None
    if reference_state is not None:
        overlaps = np.sum(np.conj(reference_state) * out.final_state.numpy(), axis=-1)
        fidelity = float(np.mean(np.abs(overlaps) ** 2))
    return {
        "fidelity": fidelity,
        "log10_ancilla_success_per_step": float(log_ancilla.mean()),
        "log10_sequence_success": float(np.median(log_ancilla.sum(1) + log_words.sum(1))),
    }


def xor_study(folder: str, rounds: Sequence[int], sequences: int = XOR_SEQUENCES) -> list[dict[str, Any]]:
    rebuilt = rebuild(folder)
    sample = rebuilt.data.sample(sequences, seed=EVAL_SEED)
    batch = {"inputs": sample.inputs, "targets": sample.targets, "scored": sample.scored.astype(np.float32)}
    scored = np.asarray(sample.scored, bool)
    rows, reference = [], None
    for k in rounds:
        layer = rebuilt.qrnn_layer(amplification=k)
        teacher = layer.run_sequences(batch, training=True)  # measures the targets
        reference = teacher.final_state.numpy() if k == 0 else reference
        costs = sequence_costs(teacher, scored, None if k == 0 else reference)
        targets = teacher.measured.numpy()
        argmax = layer.run_sequences(batch, training=False, measurement="argmax")
        right = (argmax.measured.numpy() == targets)[scored]
        expected = np.take_along_axis(teacher.probabilities.numpy(), targets[..., None], -1)[..., 0][scored]
        rows.append({"task": "xor", "run": run_label(folder, rebuilt.run), "rounds": k,
                     "argmax_accuracy": float(right.mean()), "expected_sampled_accuracy": float(expected.mean()),
                     **costs})
    return rows


def mnist_study(folder: str, rounds: Sequence[int]) -> list[dict[str, Any]]:
    rebuilt: Rebuilt = rebuild(folder)
    test = rebuilt.data.test
    batch = test.to_batch(np.arange(min(len(test), 256)))
    arrays = {"inputs": batch.inputs, "targets": batch.targets, "scored": batch.scored}
    rows, reference = [], None
    for k in rounds:
        layer = rebuilt.qrnn_layer(amplification=k)
        joint, sampled = label_distribution(QRNNSequenceModel(layer), test, seed=EVAL_SEED)
        result = scores(joint, sampled, test.class_indices, len(test.digits))
        teacher = layer.run_sequences(arrays, training=True)
        reference = teacher.final_state.numpy() if k == 0 else reference
        costs = sequence_costs(teacher, np.asarray(arrays["scored"], bool), None if k == 0 else reference)
        rows.append({"task": "mnist", "run": run_label(folder, rebuilt.run), "rounds": k,
                     "argmax_accuracy": result["argmax_accuracy"],
                     "expected_sampled_accuracy": result["expected_sampled_accuracy"],
                     "test_images": result["images"], **costs})
    return rows


# ---- output --------------------------------------------------------------------------------


def plot_models(path: str, rows: list[dict[str, Any]]) -> None:
    figure, (left, right) = subplots(1, 2, figsize=(12, 4.5))
    for task in dict.fromkeys(row["run"] for row in rows):
        mine = [row for row in rows if row["run"] == task]
        ks = [row["rounds"] for row in mine]
        left.plot(ks, [100 * row["argmax_accuracy"] for row in mine], "o-", label=f"{task}: argmax")
        left.plot(ks, [100 * row["expected_sampled_accuracy"] for row in mine], "s--", label=f"{task}: sampled (expected)")
        right.plot(ks, [row["log10_sequence_success"] for row in mine], "o-", label=f"{task}: whole sequence")
        right.plot(ks, [row["log10_ancilla_success_per_step"] for row in mine], "s--", label=f"{task}: ancillas of one step")
    left.set_xlabel("amplification rounds k (0: ideal postselection)")
    left.set_ylabel("test accuracy (%)")
    left.legend(fontsize=6)
    right.set_xlabel("amplification rounds k")
    right.set_ylabel("log10 success probability (median sequence / mean step)")
    right.legend(fontsize=8)
    for axes in (left, right):
        axes.grid(alpha=0.3)
    figure.suptitle("Trained models evaluated with amplified neurons instead of postselection", fontsize=10)
    save_figure(figure, path, dpi=110)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m train.studies.amplification", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xor", metavar="RUN", nargs="+", default=[], help="run folders of train.elman --task xor")
    parser.add_argument("--mnist", metavar="RUN", nargs="+", default=[], help="run folders of train.mnist (one model each)")
    parser.add_argument("--xor-sequences", type=positive_int, default=XOR_SEQUENCES,
                        help=f"fresh test sequences of each XOR run (default {XOR_SEQUENCES})")
    parser.add_argument("--rounds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 6], help="round counts (0: postselection)")
    parser.add_argument("--orders", type=int, nargs="+", default=[1, 2, 3], help="neuron orders of the neuron table")
    parser.add_argument("--out", default="runs/amplification", help="output folder (default runs/amplification)")
    parser.add_argument("-v", "--verbose", action="store_true", help="show TensorFlow's messages")
    args = parser.parse_args(argv)
    if any(k < 0 for k in args.rounds) or any(o < 1 for o in args.orders):
        parser.error(f"--rounds must be >= 0 and --orders >= 1, got {args.rounds} and {args.orders}")
    os.makedirs(args.out, exist_ok=True)
    rounds = sorted(set(args.rounds) | {0})
    result: dict[str, Any] = {"neuron": neuron_table(args.orders, rounds), "models": []}
    for order in args.orders:
        plot_neuron(os.path.join(args.out, f"neuron_order{order}.png"), order, rounds)
    plot_neuron_summary(os.path.join(args.out, "neuron_summary.png"), result["neuron"])
    for folder in args.xor:
        result["models"] += xor_study(folder, rounds, args.xor_sequences)
    for folder in args.mnist:
        result["models"] += mnist_study(folder, rounds)
    write_json(os.path.join(args.out, "amplification.json"), result)
    text = ["# Amplification study", "", "## One neuron", "",
            markdown_table(result["neuron"], ["order", "rounds", "queries", "lower_bound", "delta", "min_success", "weight_ratio", "fidelity"])]
    if result["models"]:
        plot_models(os.path.join(args.out, "models.png"), result["models"])
        text += ["", "## Trained models", "", markdown_table(result["models"], [
            "run", "rounds", "argmax_accuracy", "expected_sampled_accuracy", "fidelity",
            "log10_ancilla_success_per_step", "log10_sequence_success"])]
    with atomic_writer(os.path.join(args.out, "amplification.md"), "w") as file:
        file.write("\n".join(text) + "\n")
    print("\n".join(text))
    print(f"Wrote {args.out}/: amplification.json, amplification.md, neuron_order*.png, neuron_summary.png"
          + (", models.png" if result["models"] else ""))
    return result


if __name__ == "__main__":
    main()
