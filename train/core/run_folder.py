"""A run owns its output folder (issue 11, item 2).

`RunLock` marks a folder as in use: a lock file created atomically (`O_CREAT | O_EXCL`)
that names the owner (pid, host, start, command). A second run on the folder stops with
an error naming the owner; a lock left by a run that died (its pid is gone on this host,
or is now another process) is taken over with a warning; the lock is removed when the run
ends, also on an exception or Ctrl-C. An ensemble or a group of seeds holds one lock, in
its top folder.

`check_out_folder` refuses to start a new run in a folder that already holds one (a
checkpoint in it or in its `seed<N>/` folders) unless `--resume` continues it or
`--overwrite` deletes it first; the message says whether the run there has the same
settings (compared with the `run` config its checkpoint saved) or which settings differ.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import time
import uuid
from typing import Any, Mapping

from qrnn_tfq.export.load import upgrade_run_settings
from qrnn_tfq.training import BEST_CHECKPOINT, LATEST_CHECKPOINT, load_checkpoint

LOCK_FILE = "run.lock"
# What a run writes into its folder (deleted by --overwrite; augment_codes.npz is a checked cache and stays).
RUN_FILES = (LATEST_CHECKPOINT, BEST_CHECKPOINT, "summary.json", "history.csv", "training_curve.png", "confusion_matrix.png")
_MEMBER_FOLDER = re.compile(r"seed\d+")
WARM_START_FOLDER = "warm-start"  # a member's warm start (train.core.warm_start), deleted with it by --overwrite


# ---- the lock ----------------------------------------------------------------------------


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat from the third (state) on (Linux), or None."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_start_time(pid: int) -> int | None:
    """The start time of process `pid` in clock ticks since boot (Linux), to tell a reused pid apart."""
    fields = _proc_stat(pid)
    try:
        return None if fields is None else int(fields[19])  # field 22: starttime
    except (IndexError, ValueError):
        return None


def process_alive(pid: int, start_time: int | None = None) -> bool:
    """Whether `pid` runs on this host (a zombie does not; nor a pid reused since `start_time`)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    except (OverflowError, ValueError):
        return False
    fields = _proc_stat(pid)
    if fields and fields[0] == "Z":
        return False
    now = process_start_time(pid)
    return start_time is None or now is None or now == start_time


class FolderInUse(SystemExit):
    """Another live run holds the folder's lock (exits the program with the message)."""


class RunLock:
    """`with RunLock(folder):` holds `folder/run.lock` (or `name`) for the duration.

    Raises:
        FolderInUse: another run that is alive (or on another host) holds the lock.
    """

    def __init__(self, folder: str, name: str = LOCK_FILE, command: str | None = None) -> None:
        self.folder = folder
        self.path = os.path.join(folder, name)
        self.owner = {
            "pid": os.getpid(), "host": socket.gethostname(), "start_time": process_start_time(os.getpid()),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"), "token": uuid.uuid4().hex,
            "command": command if command is not None else " ".join(sys.orig_argv),
        }
        self.held = False

    def __enter__(self) -> "RunLock":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def _create(self) -> bool:
        try:
            handle = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(handle, "w") as file:
            file.write(json.dumps(self.owner) + "\n")
        return True

    def _read(self, path: str) -> dict[str, Any] | None:
        """The owner written in a lock file; None if it vanished; {} if it cannot be read."""
        for _ in range(3):
            try:
                with open(path) as file:
                    text = file.read()
            except FileNotFoundError:
                return None
            try:
                owner = json.loads(text)
                return owner if isinstance(owner, dict) else {}
            except ValueError:
                time.sleep(0.05)  # being written between O_EXCL and the write
        return {}

    def _stale(self, owner: dict[str, Any]) -> bool:
        if not owner:  # unreadable: stale once it is older than a moment
            try:
                return time.time() - os.path.getmtime(self.path) > 5
            except OSError:
                return True
        if owner.get("host") != self.owner["host"] or not isinstance(owner.get("pid"), int):
            return False  # cannot tell from here
        return not process_alive(owner["pid"], owner.get("start_time"))

    def acquire(self) -> None:
        os.makedirs(self.folder, exist_ok=True)
        for _ in range(10):
            if self._create():
                self.held = True
                return
            owner = self._read(self.path)
            if owner is None:  # released meanwhile
                continue
            if not self._stale(owner):
                raise FolderInUse(self._in_use_message(owner))
            self._take_over(owner)
        raise FolderInUse(f"error: cannot lock {self.folder}: {self.path} keeps changing; is another run starting there?")

    def _take_over(self, owner: dict[str, Any]) -> None:
        """Move the stale lock aside (atomic), and put it back if it was renewed meanwhile."""
        aside = f"{self.path}.stale-{self.owner['token']}"
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return
        if self._read(aside) != owner:  # another run took it over first and wrote its own lock
            try:
                os.link(aside, self.path)
            except FileExistsError:
                pass
            os.remove(aside)
            return
        os.remove(aside)
        print(f"warning: {self.folder}: the run that locked it (pid {owner.get('pid')} on {owner.get('host')}, "
              f"started {owner.get('started')}) is no longer running; taking its lock over", file=sys.stderr, flush=True)

    def _in_use_message(self, owner: dict[str, Any]) -> str:
        if not owner:
            return f"error: {self.folder} is in use: {self.path} exists (unreadable); another run may be starting there."
        where = "" if owner.get("host") == self.owner["host"] else f" on host {owner.get('host')}"
        hint = ("wait for it to end or choose another --out" if not where else
                f"if it no longer runs there, delete {self.path}; or choose another --out")
        return (f"error: {self.folder} is in use by another run (pid {owner.get('pid')}{where}, started "
                f"{owner.get('started')}: {owner.get('command')}); {hint}.")

    def release(self) -> None:
        """Remove the lock file if it is still this run's."""
        if not self.held:
            return
        self.held = False
        if (self._read(self.path) or {}).get("token") == self.owner["token"]:
            os.remove(self.path)


# ---- what a folder holds -----------------------------------------------------------------


def current_names(settings: Mapping[str, Any]) -> dict[str, Any]:
    """`settings` (a checkpoint's or summary's run config) with older names read as today's
    (`qrnn_tfq.export.load.upgrade_run_settings`, the one place), so a run folder of an
    older program compares with today's settings."""
    return upgrade_run_settings(settings)


def run_folders(folder: str) -> list[str]:
    """`folder` and its `seed<N>` folders, those that hold a checkpoint (a run started there)."""
    candidates = [folder]
    if os.path.isdir(folder):
        candidates += sorted(entry.path for entry in os.scandir(folder) if entry.is_dir() and _MEMBER_FOLDER.fullmatch(entry.name))
    return [path for path in candidates
            if any(os.path.exists(os.path.join(path, name)) for name in (LATEST_CHECKPOINT, BEST_CHECKPOINT))]


def saved_settings(folder: str) -> tuple[dict[str, Any] | None, str]:
    """The settings of the run in `folder` (its checkpoint's run config and seed) and a few
    words on how far it got; (None, why) when no checkpoint can be read."""
    problems = []
    for name in (LATEST_CHECKPOINT, BEST_CHECKPOINT):
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            continue
        try:
            checkpoint = load_checkpoint(path)
        except ValueError as error:
            problems.append(str(error))
            continue
        settings = {**current_names(checkpoint.config.get("run", {})), "seed": checkpoint.config.get("trainer", {}).get("seed")}
        finished = os.path.exists(os.path.join(folder, "summary.json"))
        return settings, f"{name} at step {checkpoint.step}{', finished' if finished else ''}"
    return None, "; ".join(problems) or "no checkpoint"


def differences(saved: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Setting -> (saved, wanted) for every setting that differs."""
    return {key: (saved.get(key), wanted.get(key)) for key in sorted(set(saved) | set(wanted)) if saved.get(key) != wanted.get(key)}


def check_out_folder(out: str, wanted: Mapping[str, Mapping[str, Any]], *, resume: bool, overwrite: bool) -> None:
    """Refuse to start a new run over one in `out` (see the module docstring).

    Args:
        out: the run's (top) folder.
        wanted: each folder this run trains in -> the settings its checkpoint will hold
            (the run config, plus "seed": the trainer's seed).
        resume: `--resume`: the runs are continued (their checkpoints are checked then).
        overwrite: `--overwrite`: the run files found are deleted first.

    Raises:
        SystemExit: a run is there, and neither `resume` nor `overwrite`.
    """
    found = run_folders(out)
    if not found or resume:
        return
    if overwrite:
        for folder in found:
            deleted = [name for name in RUN_FILES if os.path.exists(os.path.join(folder, name))]
            deleted += [os.path.join(WARM_START_FOLDER, name) for name in RUN_FILES
                        if os.path.exists(os.path.join(folder, WARM_START_FOLDER, name))]
            for name in deleted:
                os.remove(os.path.join(folder, name))
            print(f"note: --overwrite: deleted the earlier run's {', '.join(deleted)} in {folder}", flush=True)
        return
    problems = []
    for folder in found:
        settings, state = saved_settings(folder)
        if folder not in wanted:
            problems.append(f"{folder} holds a run ({state}) that this one would not continue")
        elif settings is None:
            problems.append(f"{folder} holds a run whose settings cannot be read ({state})")
        elif differences(settings, wanted[folder]):
            problems.append(f"{folder} holds a run of other settings ({state}), as (there, now): "
                            f"{differences(settings, wanted[folder])}")
    if not problems:
        states = "; ".join(f"{folder}: {saved_settings(folder)[1]}" for folder in found)
        raise SystemExit(f"error: {out} already holds a run of these settings ({states}); --resume continues it, "
                         "--overwrite deletes it and starts afresh.")
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    raise SystemExit(f"error: {problems[0]}{more}; --overwrite deletes it and starts afresh, or choose another --out.")
