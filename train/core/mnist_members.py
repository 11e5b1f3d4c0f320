"""What an MNIST model was trained on, so that an ensemble only averages members that belong together.

Each member's `summary.json` records `trained_on`: the digits, the embedding (the augment
settings, None for the pixel task) and a fingerprint of the sequences it read (sha256 of the
training, validation and test inputs, targets and labels, as loaded). An ensemble that loads
or resumes a member (`--resume`, or a member folder copied in) compares them with its own
and refuses a member trained on other digits, another embedding or other codes, naming the
difference, before it trains or scores anything. A member written before these records is
accepted, with a note.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from typing import Any

import numpy as np

from train.core.config import MnistRun
from train.core.mnist_data import MnistData
from train.core.run_folder import differences

logger = logging.getLogger(__name__)
EMBEDDING_FIELDS = ("augment", "coordinates", "bits", "supervised", "augment_input")
RECORDED_FIELDS = ("digits", "embedding", "codes")  # what `trained_on` records and `check_member` compares


def fingerprint(data: MnistData) -> str:
    """A short sha256 of every sequence and label the run reads (16 hex digits)."""
    digest = hashlib.sha256()
    for split in (data.train, data.validation, data.test):
        for array in (split.inputs, split.targets, split.labels):
            array = np.ascontiguousarray(array)
            digest.update(f"{array.dtype}{array.shape}".encode())
            digest.update(array.tobytes())
    return digest.hexdigest()[:16]


def trained_on(args: MnistRun, data: MnistData) -> dict[str, Any]:
    """The record of what a member of `args` trains on (see the module docstring)."""
    embedding = None if args.augment == "none" else {name: getattr(args, name) for name in EMBEDDING_FIELDS}
    return {"digits": list(args.digits), "embedding": embedding, "codes": fingerprint(data)}


def check_member(folder: str, seed: int, wanted: dict[str, Any]) -> None:
    """Refuse the member in `folder` if its summary records other data than `wanted`.

    Raises:
        SystemExit: names every differing field with both values (compared as `--resume` compares a
            checkpoint's settings: `train.core.run_folder.differences`).
    """
    path = os.path.join(folder, "summary.json")
    if not os.path.exists(path):
        return
    try:
        with open(path, encoding="utf-8") as file:
            recorded = json.load(file).get("trained_on")
    except (OSError, ValueError) as error:
        raise SystemExit(f"error: cannot read {path} to check what seed {seed} was trained on: {error}") from error
    if recorded is None:
        logger.warning("seed %d in %s does not record what it was trained on (an older run): not checked", seed, folder)
        return
    different = differences({field: recorded.get(field) for field in RECORDED_FIELDS}, wanted)
    if different:
        there = ", ".join(f"{field} {old!r}" for field, (old, _) in different.items())
        here = ", ".join(f"{field} {new!r}" for field, (_, new) in different.items())
        raise SystemExit(
            f"error: seed {seed} in {folder} was trained on {there}, this ensemble on {here}; an ensemble averages "
            "members of the same data only (move that member away, or --overwrite to train it again)")
