"""An MNIST ensemble averages only members trained on the same data (issue 21): each member
records what it was trained on, and a member of other digits, embedding or codes is refused;
a missing `umap` extra is a one-line error."""

from __future__ import annotations

import dataclasses
import json
import sys

import pytest

from train import mnist
from train.core import mnist_members

TINY = ["--quick", "--workspace-lanes", "2", "--stages", "1", "--degree", "1", "--no-progress",
        "--max-steps", "2", "--validate-every", "2", "--test-size", "32", "--warm-start", "0"]


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory):
    out = tmp_path_factory.mktemp("members") / "ensemble"
    return out, mnist.main([*TINY, "--out", str(out), "--ensemble", "2"])


def test_every_member_records_what_it_was_trained_on(ensemble):
    out, summary = ensemble
    first, second = summary["members"]
    assert first["trained_on"] == second["trained_on"]
    assert first["trained_on"]["digits"] == [0, 1] and first["trained_on"]["embedding"] is None
    assert len(first["trained_on"]["codes"]) == 16
    written = json.loads((out / "seed1" / "summary.json").read_text())
    assert written["trained_on"] == first["trained_on"]


@pytest.mark.parametrize("field, value", [("digits", [3, 6]), ("codes", "0123456789abcdef"),
                                          ("embedding", {"augment": "umap", "coordinates": 2})])
def test_a_member_trained_on_other_data_is_refused_naming_the_field(ensemble, field, value, tmp_path):
    out, _ = ensemble
    path = out / "seed1" / "summary.json"
    original = path.read_text()
    summary = json.loads(original)
    summary["trained_on"][field] = value
    path.write_text(json.dumps(summary))
    try:
        with pytest.raises(SystemExit, match=rf"seed 1 in .*seed1 was trained on {field} .*this ensemble on"):
            mnist.main([*TINY, "--out", str(out), "--ensemble", "2", "--resume"])
    finally:
        path.write_text(original)


def test_matching_and_older_members_are_accepted(ensemble, caplog):
    out, first = ensemble
    again = mnist.main([*TINY, "--out", str(out), "--ensemble", "2", "--resume"])
    assert again["ensemble"]["test"] == first["ensemble"]["test"]  # loaded and scored, not retrained
    path = out / "seed1" / "summary.json"
    original = path.read_text()
    older = json.loads(original)
    del older["trained_on"]
    path.write_text(json.dumps(older))
    try:
        with caplog.at_level("WARNING"):
            mnist.main([*TINY, "--out", str(out), "--ensemble", "2", "--resume"])
        assert "does not record what it was trained on" in caplog.text
    finally:
        path.write_text(original)


def test_the_fingerprint_follows_the_codes(ensemble):
    run = mnist.parse(mnist.make_parser(), TINY)
    from train.core.config import run_data  # noqa: PLC0415

    data = run_data(run, str(ensemble[0]), write=False)
    inputs = data.test.inputs.copy()
    inputs[0, 0, 0] ^= 1
    changed = dataclasses.replace(data, test=dataclasses.replace(data.test, inputs=inputs))
    assert mnist_members.fingerprint(changed) != mnist_members.fingerprint(data)
    assert mnist_members.fingerprint(data) == mnist_members.fingerprint(run_data(run, str(ensemble[0]), write=False))


def test_a_missing_umap_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "umap", None)  # `import umap` raises ImportError
    with pytest.raises(SystemExit) as stop:
        mnist.main([*TINY, "--augment", "umap", "--augment-input", "bits", "--out", str(tmp_path / "run")])
    message = str(stop.value)
    assert message.count("\n") == 0 and message.startswith("error: ")
    assert "pip install -c requirements.lock -e '.[umap]'" in message
