"""Test session setup (pytest imports this before any test module)."""

import os

# TFQ needs tf-keras (SPEC section 7), and TensorFlow picks its Keras when first imported;
# `import qrnn_tfq` sets this itself, but a test module may import tensorflow first.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


# The slowest files first (their test time on this 2-core machine, 15-120 s each): with
# `--dist loadfile` each worker takes whole files in collection order, so a slow file
# collected last leaves the other worker idle while it runs (longest-first scheduling).
SLOWEST_FILES = (
    "tests/train/test_distribute.py",
    "tests/train/test_train_mnist.py",
    "tests/test_readme.py",
    "tests/training/test_training_lbfgs.py",
    "tests/train/test_scale_out.py",
    "tests/training/test_task_model.py",
    "tests/train/test_program_output.py",
    "tests/test_imports.py",
)


def pytest_collection_modifyitems(config, items):  # noqa: ARG001  (pytest's hook signature)
    rank = {path: i for i, path in enumerate(SLOWEST_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: the rest keep their order
