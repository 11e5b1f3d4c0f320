"""Helpers of the training tests: a run of the paper's protocol is `model.fit` with the run's callbacks."""

from __future__ import annotations

import qrnn_tfq  # noqa: F401  (selects tf-keras before TensorFlow loads)

import numpy as np
import pytest

from qrnn_tfq.training import LATEST_CHECKPOINT, RunRecord, SequenceTaskModel, fit_arguments, run_callbacks

# In-process resumes repeat the uninterrupted run's float32 operations in the same order, so
# they agree to the last bit on one machine; the checks allow round-off all the same.
RESUME_ATOL = 1e-6


class Run:
    """One run: a compiled `SequenceTaskModel`, its `RunRecord`, and its batches."""

    def __init__(self, network, optimizer, sample_batch, validation_batch, config, **callback_options):
        self.model = SequenceTaskModel(network, loss=config.loss, validation=config.validation, seed=config.seed)
        self.model.compile(optimizer=optimizer)
        self.record = RunRecord(config)
        self.batches = sample_batch, validation_batch
        self.options = callback_options

    @property
    def step(self) -> int:
        return int(self.model.steps_taken.numpy())

    def fit(self, **more_options):
        """`model.fit` with the run's callbacks; the record's result."""
        self.model.fit(**fit_arguments(self.record.config, self.model, *self.batches),
                       callbacks=run_callbacks(self.record, **{**self.options, **more_options}))
        return self.record.result()

    def validate(self) -> dict[str, float]:
        batch = self.batches[1]
        return self.model.evaluate({"inputs": batch.inputs, "targets": batch.targets, "scored": batch.scored},
                                   verbose=0, return_dict=True)


def flat(weights):
    return np.concatenate([np.asarray(w).ravel() for w in weights])


@pytest.fixture(scope="session")
def training_run():
    """`Run(network, optimizer, sample_batch, validation_batch, config, **run_callbacks options)`."""
    return Run


@pytest.fixture
def assert_resume_is_exact(tmp_path):
    """`check(make, steps, split)`: a run of `steps` steps ends with the weights of one stopped
    after `split` and resumed from its `latest.npz` in a fresh model (to round-off,
    `RESUME_ATOL`). `make(folder, steps=...)` returns a `Run`; `check` returns the
    uninterrupted run and its result."""

    def check(make, steps: int, split: int):
        whole = make(tmp_path / "whole", steps=steps)
        result = whole.fit()
        make(tmp_path / "parts", steps=split).fit()
        second = make(tmp_path / "parts", steps=steps)
        second.fit(resume=tmp_path / "parts" / LATEST_CHECKPOINT)
        np.testing.assert_allclose(flat(second.model.weights_to_train), flat(whole.model.weights_to_train),
                                   rtol=0, atol=RESUME_ATOL)
        return whole, result

    return check
