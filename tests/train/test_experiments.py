"""Tests of `python -m train.studies.experiments NAME --quick` (called as `main(argv)`): each study
writes its CSV and PNG, skips rows already done, and the baselines' CLI options."""

from __future__ import annotations

import csv
import json
import shlex

import pytest

from train import dna, elman
from train.core import sequence_runs
from train.core.config import DnaRun, ElmanRun
from train.studies.experiments import jobs
from train.studies.experiments import program as experiments

PNG = b"\x89PNG\r\n\x1a\n"


def _rows(path):
    with open(path) as file:
        return list(csv.DictReader(file))


def test_dna_memory_quick_writes_csv_and_png_and_resumes(tmp_path, capsys):
    argv = ["dna-memory", "--quick", "--models", "rnn,lstm", "--lengths", "6", "--out", str(tmp_path), "--no-progress"]
    path = experiments.main(argv)
    rows = _rows(path)
    assert [(r["model"], r["protocol"], r["length"], r["seed"]) for r in rows] == [("rnn", "any", "6", "0"), ("lstm", "any", "6", "0")]
    assert all(r["steps"] == "3" and r["steps_to_target"] == "" and r["num_parameters"] for r in rows)
    assert rows[0]["command"].startswith("python -m train.dna --length 6 --protocol paper --model rnn --seed 0")
    assert (tmp_path / "dna-memory-quick.png").read_bytes()[:8] == PNG
    capsys.readouterr()
    experiments.main(argv + ["--lengths", "6,7"])  # the L = 6 rows are done: only L = 7 runs
    assert "dna-memory: 2 runs to do, 2 rows already" in capsys.readouterr().out
    rows_after = _rows(path)
    assert rows_after[:2] == rows and [r["length"] for r in rows_after[2:]] == ["7", "7"]
    experiments.main(argv + ["--lengths", "6,7,8", "--plot-only"])  # runs nothing, redraws
    assert "dna-memory: 0 runs to do, 4 rows already" in capsys.readouterr().out
    assert _rows(path) == rows_after


def test_gradients_quick(tmp_path):
    path = experiments.main(["gradients", "--quick", "--models", "rnn", "--lengths", "6", "--out", str(tmp_path), "--no-progress"])
    rows = _rows(path)
    assert [(r["model"], r["phase"], r["train_steps"]) for r in rows] == [("rnn", "init", "0"), ("rnn", "trained", "3")]
    assert all(float(r["gradient_norm"]) > 0 and float(r["early_gradient_norm"]) >= 0 and r["split_step"] == "1" for r in rows)
    assert (tmp_path / "gradients-quick.png").read_bytes()[:8] == PNG


@pytest.mark.parametrize("name, key", [("xor-init", "bias"), ("letters-topology", "workspace_lanes")])
def test_qrnn_studies_quick(tmp_path, name, key):
    path = experiments.main([name, "--quick", "--limit", "1", "--out", str(tmp_path), "--no-progress"])
    [row] = _rows(path)
    assert row[key] and row["seed"] == "0" and row["steps"] == "3" and 0 < float(row["min_postselection"]) <= 1
    assert (tmp_path / f"{name}-quick.png").read_bytes()[:8] == PNG


def test_bad_study_arguments(capsys):
    with pytest.raises(SystemExit, match="2"):
        experiments.make_parser().parse_args(["dna-memory", "--models", "gru"])
    assert "error: argument --models: models must be among ['qrnn', 'rnn', 'lstm'], got ['gru']" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="2"):
        experiments.make_parser().parse_args(["no-such-study"])
    assert "error: argument name: invalid choice: 'no-such-study'" in capsys.readouterr().err


def test_dna_baseline_cli_prints_888_parameters(tmp_path, capsys):
    out = tmp_path / "lstm"
    [summary] = dna.main(["--length", "6", "--model", "lstm", "--max-steps", "2", "--batch", "4", "--val-batch", "4",
                          "--out", str(out), "--no-progress"])
    assert "lstm baseline (hidden 10, one_hot input): 888 parameters" in capsys.readouterr().out
    assert summary["num_parameters"] == 888
    assert json.loads((out / "summary.json").read_text())["config"]["model"] == "lstm"
    with pytest.raises(SystemExit, match="2"):
        dna.main(["--length", "6", "--model", "rnn", "--validation", "sampled"])
    assert "error: --validation sampled needs the QRNN" in capsys.readouterr().err


def test_each_job_trains_the_settings_its_command_runs():
    """A job's settings, filled as the program fills them, equal its command parsed by the program."""
    for name, study in experiments.STUDIES.items():
        args = experiments.make_parser().parse_args([name, "--quick", "--seeds", "2", "--max-steps", "7"])
        for job in study.jobs(args):
            words = shlex.split(job.command())
            assert words[:3] == ["python", "-m", f"train.{job.program}"] and "--max-steps" in words
            defaults, kind = (elman.TASK_DEFAULTS, ElmanRun) if job.program == "elman" else (dna.DEFAULTS, DnaRun)
            parsed = sequence_runs.parse(jobs.PROGRAMS[job.program].make_parser(), words[3:], defaults, kind)
            assert parsed == job.args(), job.command()


def test_settings_refuse_an_unknown_name():
    with pytest.raises(TypeError, match=r"python -m train.dna has no options \['workspace'\]"):
        dna.settings(length=6, workspace=2)


def test_a_csv_of_the_old_column_names_is_continued(tmp_path, capsys):
    """letters-topology's CSV named the column `workspace` before issue 14: its rows still count as done."""
    fields = ["workspace", "stages", "degree", "seed", "steps_to_target", "steps", "command"]
    rows = [[w, "1", "1", "0", "", "3", f"python -m train.elman --task letters --workspace {w} --max-steps 3"] for w in "23"]
    (tmp_path / "letters-topology-quick.csv").write_text("\n".join(",".join(r) for r in [fields, *rows]) + "\n")
    experiments.main(["letters-topology", "--quick", "--out", str(tmp_path), "--no-progress"])
    assert "letters-topology: 0 runs to do, 2 rows already" in capsys.readouterr().out
    assert (tmp_path / "letters-topology-quick.png").read_bytes()[:8] == PNG
