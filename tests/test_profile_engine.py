"""The engine profile runs (a command, not a timed test): small model, both engines."""

import json

import pytest

from qrnn_tfq.native import available
from train.studies import profile_engine


@pytest.mark.skipif(not available(), reason="the native op is not built")
def test_profile_splits_a_training_step_on_both_engines(capsys):
    assert profile_engine.main(["--workspace", "2", "--batch", "3", "--steps", "4", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    rows = json.loads(out.split("PROFILE_JSON ", 1)[1])
    assert [r["engine"] for r in rows] == ["state_vector", "native"]
    for row in rows:
        assert all(row[k] > 0 for k in ("evaluation_s", "forward_s", "backward_s", "step_s"))
    assert rows[0]["kernels_per_step"] > 0  # the XLA loop body was found and counted
