"""Run folders and commands of the programs before issue 14 (which named the workspace lanes
`--workspace` and `workspace`) still work: a run resumes exactly, its folder is recognised
as a run of the same settings, and the command its summary recorded runs again."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

from train import elman, mnist  # first: selects tf-keras before TensorFlow loads

import numpy as np
import pytest

from qrnn_tfq.training import LATEST_CHECKPOINT, load_checkpoint

FIXTURES = Path(__file__).parents[1] / "fixtures" / "train"
ELMAN = ["--task", "xor", "--workspace", "2", "--stages", "1", "--degree", "2", "--validate-every", "2",
         "--batch", "4", "--val-batch", "4", "--no-progress"]


def copy_run(name, tmp_path):
    folder = tmp_path / name
    shutil.copytree(FIXTURES / name, folder)
    assert load_checkpoint(folder / LATEST_CHECKPOINT).config["run"]["workspace"] == 2  # the old name
    return folder


# The expected weights were trained on another machine, whose CPU may round float32 sums
# differently in the last bit. Adam moves a weight by about its learning rate (5e-3 here) per
# step, so a resume that repeated or skipped a step, or lost the optimizer state, is far outside.
OTHER_MACHINE_ATOL = 1e-5


def assert_weights_as_uninterrupted(folder, name):
    checkpoint = load_checkpoint(folder / LATEST_CHECKPOINT)
    assert checkpoint.step == 6
    with np.load(FIXTURES / f"{name}_expected_step6.npz") as expected:
        for got, want in zip(checkpoint.model_weights, [expected[key] for key in expected.files], strict=True):
            np.testing.assert_allclose(got, want, rtol=0, atol=OTHER_MACHINE_ATOL)
    run = checkpoint.config["run"]
    assert run["workspace_lanes"] == 2 and "workspace" not in run  # saved under today's name from now on


def test_an_old_elman_run_resumes_exactly(tmp_path, capsys):
    folder = copy_run("elman_xor_186c535", tmp_path)
    with pytest.raises(SystemExit, match=r"already holds a run of these settings"):  # not "of other settings"
        elman.main([*ELMAN, "--max-steps", "6", "--out", str(folder)])
    [summary] = elman.main([*ELMAN, "--max-steps", "6", "--out", str(folder), "--resume"])
    assert (summary["resumed_from_step"], summary["steps"]) == (4, 6)
    assert summary["config"]["workspace_lanes"] == 2
    assert_weights_as_uninterrupted(folder, "elman_xor_186c535")
    with pytest.raises(SystemExit, match=r"its settings differ .*'workspace_lanes': \(2, 3\)"):
        elman.main([*ELMAN, "--workspace-lanes", "3", "--max-steps", "8", "--out", str(folder), "--resume"])


def test_an_old_mnist_run_resumes_exactly_with_the_command_its_summary_recorded(tmp_path):
    folder = copy_run("mnist_quick_186c535", tmp_path)
    recorded = json.loads((folder / "summary.json").read_text())["command"]
    argv = shlex.split(recorded)[3:]
    assert "--workspace" in argv  # the old spelling
    argv[argv.index("--out") + 1] = str(folder)
    argv[argv.index("--max-steps") + 1] = "6"
    summary = mnist.main([*argv, "--resume", "--test-size", "64"])
    assert (summary["resumed_from_step"], summary["steps"]) == (3, 6)
    assert_weights_as_uninterrupted(folder, "mnist_quick_186c535")
