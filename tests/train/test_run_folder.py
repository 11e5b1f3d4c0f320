"""A run owns its folder (issue 11, items 2 and 3): the lock file of `train.core.run_folder`, the
refusal to start over a run already in the folder, `--overwrite`, and `--resume-from best`
after a damaged `latest.npz`."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess

import pytest

from train import elman
from train.core import run_folder, sequence_runs
from train.studies.experiments import program as experiments

from qrnn_tfq.training import BEST_CHECKPOINT, LATEST_CHECKPOINT, load_checkpoint

TINY = ["--task", "xor", "--workspace", "2", "--degree", "1", "--length", "9", "--batch", "4", "--val-batch", "4",
        "--no-progress"]


def write_lock(folder, pid, host=None, **extra):
    folder.mkdir(parents=True, exist_ok=True)
    owner = {"pid": pid, "host": host or socket.gethostname(), "started": "2026-01-01 00:00:00", "command": "an earlier run",
             **extra}
    (folder / run_folder.LOCK_FILE).write_text(json.dumps(owner))


def dead_process():
    """The pid of a process that has ended and the start time it had, as its lock records them:
    should the pid be reused meanwhile, the start time tells the new process apart."""
    process = subprocess.Popen(["sleep", "60"])
    start_time = run_folder.process_start_time(process.pid)
    process.kill()
    process.wait()  # ended and reaped
    return process.pid, {"start_time": start_time}


@pytest.fixture
def sleeper():
    process = subprocess.Popen(["sleep", "60"])
    yield process.pid
    process.kill()
    process.wait()


# ---- the lock ----------------------------------------------------------------------------


def test_lock_is_created_with_the_owner_and_removed_at_exit(tmp_path):
    with run_folder.RunLock(str(tmp_path / "run")) as lock:
        owner = json.loads((tmp_path / "run" / run_folder.LOCK_FILE).read_text())
        assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname() and owner["token"] == lock.owner["token"]
        with pytest.raises(run_folder.FolderInUse, match=rf"{tmp_path / 'run'} is in use by another run \(pid {os.getpid()},"):
            run_folder.RunLock(str(tmp_path / "run")).acquire()
    assert not (tmp_path / "run" / run_folder.LOCK_FILE).exists()


def test_lock_is_removed_on_an_exception(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with run_folder.RunLock(str(tmp_path)):
            raise KeyboardInterrupt
    assert not (tmp_path / run_folder.LOCK_FILE).exists()


def test_a_live_owner_keeps_the_lock(tmp_path, sleeper):
    write_lock(tmp_path, sleeper)
    with pytest.raises(SystemExit, match=rf"error: {tmp_path} is in use by another run \(pid {sleeper}, .*an earlier run\)"):
        run_folder.RunLock(str(tmp_path)).acquire()
    assert json.loads((tmp_path / run_folder.LOCK_FILE).read_text())["pid"] == sleeper  # left alone


def test_a_lock_of_another_host_is_not_judged_from_here(tmp_path):
    write_lock(tmp_path, dead_process()[0], host="elsewhere")
    with pytest.raises(SystemExit, match=rf"on host elsewhere.*if it no longer runs there, delete {tmp_path / 'run.lock'}"):
        run_folder.RunLock(str(tmp_path)).acquire()


@pytest.mark.parametrize("stale", ["dead pid", "reused pid"])
def test_a_stale_lock_is_taken_over_with_a_warning(tmp_path, capsys, stale):
    if stale == "dead pid":
        pid, extra = dead_process()
    else:  # this process's pid, but the lock's process started at another time: the pid was reused
        pid, extra = os.getpid(), {"start_time": run_folder.process_start_time(os.getpid()) + 1}
    write_lock(tmp_path, pid, **extra)
    with run_folder.RunLock(str(tmp_path)) as lock:
        assert json.loads((tmp_path / run_folder.LOCK_FILE).read_text())["token"] == lock.owner["token"]
    assert f"the run that locked it (pid {pid} on {socket.gethostname()}" in capsys.readouterr().err
    assert not (tmp_path / run_folder.LOCK_FILE).exists()


def test_release_leaves_a_lock_that_is_no_longer_ours(tmp_path):
    lock = run_folder.RunLock(str(tmp_path))
    lock.acquire()
    write_lock(tmp_path, os.getpid(), token="someone else's")
    lock.release()
    assert (tmp_path / run_folder.LOCK_FILE).exists()


# ---- the programs ------------------------------------------------------------------------


def test_a_program_refuses_a_folder_in_use_and_takes_a_stale_one_over(tmp_path, sleeper, capsys):
    out = tmp_path / "run"
    write_lock(out, sleeper)
    with pytest.raises(SystemExit, match=rf"error: {out} is in use by another run \(pid {sleeper},"):
        elman.main([*TINY, "--max-steps", "2", "--out", str(out)])
    assert not (out / LATEST_CHECKPOINT).exists()
    group = tmp_path / "group"  # several seeds: one lock, in the top folder
    write_lock(group, sleeper)
    with pytest.raises(SystemExit, match=rf"error: {group} is in use by another run \(pid {sleeper},"):
        elman.main([*TINY, "--max-steps", "2", "--seeds", "2", "--out", str(group)])

    pid, extra = dead_process()
    write_lock(out, pid, **extra)  # as a run killed with kill -9 leaves it
    [summary] = elman.main([*TINY, "--max-steps", "2", "--out", str(out)])
    assert "is no longer running; taking its lock over" in capsys.readouterr().err
    assert summary["steps"] == 2 and not (out / run_folder.LOCK_FILE).exists()


def test_the_lock_is_released_when_a_run_is_interrupted(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sequence_runs, "train_seed", interrupted)
    with pytest.raises(KeyboardInterrupt):
        elman.main([*TINY, "--out", str(tmp_path)])
    assert not (tmp_path / run_folder.LOCK_FILE).exists()


def test_a_run_in_the_folder_is_refused_without_resume_or_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    elman.main([*TINY, "--max-steps", "2", "--out", str(out)])
    before = (out / "summary.json").read_text()
    with pytest.raises(SystemExit, match=r"already holds a run of these settings .*latest.npz at step 2, finished.*"
                                         r"--resume continues it, --overwrite deletes it"):
        elman.main([*TINY, "--max-steps", "2", "--out", str(out)])
    with pytest.raises(SystemExit, match=r"holds a run of other settings .*\{'lr': \(0.005, 0.01\)\}.*--overwrite"):
        elman.main([*TINY, "--max-steps", "2", "--out", str(out), "--lr", "0.01"])
    with pytest.raises(SystemExit, match=r"other settings .*'seed': \(0, 1\)"):  # seed 1 after seed 0
        elman.main([*TINY, "--max-steps", "2", "--out", str(out), "--seed", "1"])
    shutil.copytree(out, tmp_path / "group" / "seed0")  # a member of an earlier group
    with pytest.raises(SystemExit, match=r"group/seed0 holds a run \(latest.npz at step 2, finished\) that this one "
                                         r"would not continue"):
        elman.main([*TINY, "--max-steps", "2", "--out", str(tmp_path / "group")])
    assert (out / "summary.json").read_text() == before  # nothing was touched

    [replaced] = elman.main([*TINY, "--max-steps", "2", "--out", str(out), "--lr", "0.01", "--overwrite"])
    assert replaced["config"]["lr"] == json.loads((out / "summary.json").read_text())["config"]["lr"] == 0.01
    assert load_checkpoint(out / LATEST_CHECKPOINT).config["run"]["lr"] == 0.01
    with pytest.raises(SystemExit, match="2"):
        elman.main([*TINY, "--out", str(out), "--resume", "--overwrite"])
    assert "error: --overwrite starts afresh; it cannot be combined with --resume" in capsys.readouterr().err


def test_resume_from_best_after_a_damaged_latest(tmp_path, capsys):
    tiny = [*TINY, "--validate-every", "2"]
    reference = tmp_path / "reference"
    elman.main([*tiny, "--max-steps", "8", "--out", str(reference)])
    out = tmp_path / "run"
    elman.main([*tiny, "--max-steps", "4", "--out", str(out)])
    best_at_4 = (out / BEST_CHECKPOINT).read_bytes()
    elman.main([*tiny, "--max-steps", "8", "--out", str(out), "--resume"])
    (out / BEST_CHECKPOINT).write_bytes(best_at_4)  # a best checkpoint older than latest.npz
    (out / LATEST_CHECKPOINT).write_bytes(b"damaged")
    with pytest.raises(SystemExit, match=rf"(?s)cannot resume from {out / LATEST_CHECKPOINT}: .*corrupt.*\n"
                                         rf"{out / BEST_CHECKPOINT} is intact \(step 4, validation loss .*\): "
                                         r"add --resume-from best to continue from it"):
        elman.main([*tiny, "--max-steps", "8", "--out", str(out), "--resume"])
    [resumed] = elman.main([*tiny, "--max-steps", "8", "--out", str(out), "--resume-from", "best"])
    assert (resumed["resumed_from_step"], resumed["steps"]) == (4, 8)
    assert (out / "history.csv").read_text() == (reference / "history.csv").read_text()  # as if never interrupted
    (out / BEST_CHECKPOINT).write_bytes(b"damaged too")
    (out / LATEST_CHECKPOINT).write_bytes(b"damaged")
    with pytest.raises(SystemExit, match=r"There is no intact best.npz to continue from; --overwrite starts afresh"):
        elman.main([*tiny, "--max-steps", "8", "--out", str(out), "--resume"])


def test_a_study_locks_its_own_files_only(tmp_path, sleeper, capsys):
    write_lock(tmp_path, sleeper)  # another study's run (or a training run) in the folder: no matter
    (tmp_path / run_folder.LOCK_FILE).rename(tmp_path / "xor-init-quick.lock")
    experiments.main(["dna-memory", "--quick", "--plot-only", "--out", str(tmp_path), "--no-progress"])
    assert "dna-memory: 0 rows in" in capsys.readouterr().out and not (tmp_path / "dna-memory-quick.lock").exists()
    write_lock(tmp_path, sleeper)
    (tmp_path / run_folder.LOCK_FILE).rename(tmp_path / "dna-memory-quick.lock")
    with pytest.raises(SystemExit, match=rf"error: {tmp_path} is in use by another run \(pid {sleeper},"):
        experiments.main(["dna-memory", "--quick", "--plot-only", "--out", str(tmp_path), "--no-progress"])
