"""Keep TensorFlow's own messages off a program's terminal unless `-v` (issue 11, item 12).

TensorFlow writes start-up and compilation messages straight to file descriptor 2 from
C++: its own logging (hidden by `TF_CPP_MIN_LOG_LEVEL`) and absl's (the cuDNN/cuBLAS
factory lines, "All log messages before absl::InitializeLog() ...", the XLA service
lines), which no setting hides. So a program run as `python -m train.<name>` without
`-v` sets `TF_CPP_MIN_LOG_LEVEL` before TensorFlow loads and passes its native stderr
through a filter that drops those lines (and forwards everything else); Python's own
`sys.stderr` (errors, warnings, progress bars) writes to the terminal directly. Python
warnings of the `tensorflow` logger (e.g. about retracing) are shown with `-v` only,
and then once: TensorFlow adds a handler of its own, which `configure_logging` removes.

`train/__init__.py` calls `quiet_program()`: the only code Python runs before the imports
of a module run as `python -m train.<name>` is its package's, so that is where a program
can start hiding messages before TensorFlow loads. It acts only when the interpreter runs
one of the programs; imported by other code (`main(argv)` called from Python, tests) it
does nothing.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import sys
import threading
import warnings
from typing import Sequence

PACKAGE = "train"
# Lines of TensorFlow's C++ logging (tsl: "2026-01-01 10:00:00.123: E file.cc:12] ...") and of
# absl's ("E0000 00:00:1795841181.116545    6132 file.cc:8310] ..."), except fatal ones, and the
# notes that come with them.
NOISE = re.compile(
    rb"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] "
    rb"|[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\.)"
)


def program_arguments(argv: Sequence[str]) -> list[str] | None:
    """The arguments of `python [options] -m train.<name> ARGS...` (`sys.orig_argv`), or None
    when the interpreter does not run one of the programs."""
    argv, index = list(argv), 1
    while index < len(argv):
        word = argv[index]
        if word.startswith("-m"):  # "-m train.mnist" or "-mtrain.mnist"
            joined = len(word) > 2
            module = word[2:] if joined else (argv[index + 1] if index + 1 < len(argv) else "")
            rest = argv[index + 1:] if joined else argv[index + 2:]
            return rest if module.startswith(PACKAGE + ".") else None
        if not word.startswith("-") or word.startswith("-c"):  # a script or `-c`'s code
            return None
        index += 2 if word in ("-X", "-W") else 1  # options with a value
    return None


def verbose_requested(arguments: Sequence[str]) -> bool:
    """Whether `-v`/`--verbose` (or an abbreviation argparse accepts) is among `arguments`."""
    for word in arguments:
        if word == "--":
            return False
        if word == "-v" or (len(word) >= 5 and "--verbose".startswith(word)):
            return True
    return False


class NativeStderrFilter:
    """Routes file descriptor 2 through a pipe whose reader drops the lines matching `NOISE`
    and forwards the rest to the original stderr; `sys.stderr` is pointed at the original."""

    def __init__(self) -> None:
        sys.stderr.flush()
        self.original = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
        self.reader = threading.Thread(target=self._forward, args=(read_end,), name="native-stderr-filter", daemon=True)
        self.reader.start()
        encoding, errors = sys.stderr.encoding, sys.stderr.errors
        sys.stderr = open(os.dup(self.original), "w", buffering=1, encoding=encoding, errors=errors)  # noqa: SIM115
        atexit.register(self.close)

    def _forward(self, read_end: int) -> None:
        pending = b""
        while chunk := os.read(read_end, 65536):
            *lines, pending = (pending + chunk).split(b"\n")
            kept = b"".join(line + b"\n" for line in lines if not NOISE.match(line))
            if kept:
                os.write(self.original, kept)
        if pending and not NOISE.match(pending):
            os.write(self.original, pending)
        os.close(read_end)

    def close(self) -> None:
        """Put the original stderr back on descriptor 2 and forward what is left in the pipe."""
        sys.stderr.flush()
        os.dup2(self.original, 2)  # closes the pipe's write end: the reader sees its end
        self.reader.join(timeout=2)


def quiet_program(argv: Sequence[str] | None = None) -> NativeStderrFilter | None:
    """Before TensorFlow loads: in a program run without `-v`, hide TensorFlow's C++ messages
    (and google.api_core's warning about this Python version).

    Args:
        argv: the interpreter's command line (default `sys.orig_argv`).

    Returns:
        The installed filter, or None (not a program, `-v`, or no stderr to filter).
    """
    arguments = program_arguments(sys.orig_argv if argv is None else argv)
    if arguments is None or verbose_requested(arguments):
        return None
    # cirq_google's import (train.export) warns that google.api_core will drop this Python.
    warnings.filterwarnings("ignore", message=".*Python version.*google.api_core.*", category=FutureWarning)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        return NativeStderrFilter()
    except (OSError, ValueError, AttributeError):  # no descriptor 2, or an unusual sys.stderr
        return None


def configure_logging(verbose: bool) -> None:
    """Logging of a program: ours at INFO with `-v` (else WARNING), one handler; the
    `tensorflow` logger's warnings only with `-v` when run as a program."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import tensorflow as tf  # pylint: disable=import-outside-toplevel  (loaded by now; its logger is made on first use)

    tf_logger = tf.get_logger()
    for handler in list(tf_logger.handlers):  # its own handler besides the root's printed every warning twice
        tf_logger.removeHandler(handler)
    if program_arguments(sys.orig_argv) is not None:
        tf_logger.setLevel(logging.WARNING if verbose else logging.ERROR)
