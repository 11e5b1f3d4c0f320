"""Scoring of `python -m train.mnist`: class predictions from the label steps, accuracies
and the confusion matrix (see docs/MNIST.md, "Reading the label")."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from data.mnist_sequences import PixelSequences
from qrnn_tfq.training import QRNNSequenceModel, label_code_distribution, sampled_label_codes
from train.core.outputs import save_figure, subplots

EVAL_CHUNK = 512  # test images per evaluation run (the last chunk is padded: one compiled shape)


def label_distribution(model: QRNNSequenceModel, sequences: PixelSequences, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The exact joint label distribution (N, codes) and the codes of a sampling run (N,), in chunks."""
    size = len(sequences)
    chunk = min(EVAL_CHUNK, size)
    joints, sampled = [], []
    for number, start in enumerate(range(0, size, chunk)):
        indices = np.arange(start, start + chunk)
        real = indices < size
        batch = sequences.to_batch(np.where(real, indices, 0))  # pad the last chunk: one compiled shape
        arrays = {"inputs": batch.inputs, "targets": batch.targets, "scored": batch.scored}
        joints.append(label_code_distribution(model, arrays)[real])
        sampled.append(sampled_label_codes(model, arrays, (seed, number))[real])
    return np.concatenate(joints), np.concatenate(sampled)


def scores(joint: np.ndarray, sampled: np.ndarray, classes: np.ndarray, num_classes: int) -> dict[str, Any]:
    """Accuracies, loss and confusion matrix from a joint label distribution and sampled codes."""
    class_probabilities = joint[:, :num_classes]  # the valid codes are the class indices
    predicted = class_probabilities.argmax(axis=1)
    right = joint[np.arange(len(classes)), classes]
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (classes, predicted), 1)
    return {
        "images": int(len(classes)),
        "argmax_accuracy": float(np.mean(predicted == classes)),
        "argmax_errors": int(np.sum(predicted != classes)),
        "sampled_accuracy": float(np.mean(sampled == classes)),
        "expected_sampled_accuracy": float(right.mean()),
        "nll": float(-np.log(np.maximum(right, 1e-300)).mean()),
        "invalid_probability": float(np.mean(1 - class_probabilities.sum(axis=1))),
        "confusion_matrix": confusion.tolist(),
        "errors": np.flatnonzero(predicted != classes).tolist(),  # positions in the scored test images (argmax)
    }


def relative_luminance(rgba: np.ndarray) -> np.ndarray:
    """WCAG relative luminance (0 black .. 1 white) of sRGB colours (..., 3 or 4)."""
    rgb = np.asarray(rgba, dtype=np.float64)[..., :3]
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


def text_colours(rgba: np.ndarray) -> np.ndarray:
    """"black" or "white", whichever contrasts more with each background colour (..., 4)."""
    return np.where(relative_luminance(rgba) > 0.179, "black", "white")  # 0.179: equal contrast with both


def confusion_figure(confusion: Sequence[Sequence[int]], digits: Sequence[int], title: str) -> Any:
    """The confusion matrix as a figure: cells shaded by the fraction of the true digit, each
    with its count in the colour that reads on its shade."""
    matrix = np.asarray(confusion)
    size = max(3.0, 0.55 * len(digits) + 1.5)
    figure, axes = subplots(figsize=(size + 0.8, size))
    image = axes.imshow(matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1), cmap="Blues", vmin=0, vmax=1)
    colours = text_colours(image.cmap(image.norm(image.get_array())))
    for (row, column), count in np.ndenumerate(matrix):
        axes.text(column, row, str(count), ha="center", va="center", fontsize=8, color=str(colours[row, column]))
    axes.set_xticks(range(len(digits)), [str(d) for d in digits])
    axes.set_yticks(range(len(digits)), [str(d) for d in digits])
    axes.set_xlabel("predicted (argmax)")
    axes.set_ylabel("true")
    axes.set_title(title, fontsize=9)
    figure.colorbar(image, ax=axes, fraction=0.046, label="fraction of the true digit")
    figure.tight_layout()
    return figure


def plot_confusion(path: str, confusion: Sequence[Sequence[int]], digits: Sequence[int], title: str) -> None:
    save_figure(confusion_figure(confusion, digits, title), path, dpi=120)
