"""Test session setup (pytest imports this before any test module)."""

import os

import numpy as np
import pytest

# TFQ needs tf-keras (SPEC section 7), and TensorFlow picks its Keras when first imported;
# `import qrnn_tfq` sets this itself, but a test module may import tensorflow first.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


def flat_weights(weights):
    """All weights as one vector (to compare two models exactly)."""
    return np.concatenate([w.numpy().ravel() for w in weights])


@pytest.fixture
def assert_resume_is_exact(tmp_path):
    """`check(make, steps, split)`: a run of `steps` steps ends with the same weights as one
    stopped after `split`, saved, restored from `latest.npz` and trained on. `make(folder,
    steps=...)` returns (trainer, model); `check` returns the uninterrupted run's result."""
    from qrnn_tfq.training import LATEST_CHECKPOINT  # pylint: disable=import-outside-toplevel

    def check(make, steps: int, split: int):
        whole, whole_model = make(tmp_path / "whole", steps=steps)
        result = whole.fit()
        first, _ = make(tmp_path / "parts", steps=split)
        first.fit()
        second, second_model = make(tmp_path / "parts", steps=steps)
        second.restore(tmp_path / "parts" / LATEST_CHECKPOINT)
        second.fit()
        np.testing.assert_array_equal(flat_weights(second_model.trainable_weights),
                                      flat_weights(whole_model.trainable_weights))
        return whole, result

    return check
