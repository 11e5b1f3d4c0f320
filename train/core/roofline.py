"""The bench's roofline probe: build `train/studies/roofline_probe.cc` and time a case's fused forward.

`python -m train.studies.bench` calls `probe_times`; the probe itself and what it does and
does not measure are described in `roofline_probe.cc` and in the bench's docstring. Only
TF-free imports here: the bench's parent process must not load TensorFlow, whose memory
its measuring subprocesses would inherit in their peak RSS.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from typing import Any, Mapping

from qrnn_tfq.config import QRNNConfig

SOURCE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "studies", "roofline_probe.cc")


def build_probe(directory: str, compiler: str = "g++") -> tuple[str | None, str]:
    """Compile `roofline_probe.cc` into `directory`: its path and "", or None and why not."""
    binary = os.path.join(directory, "roofline_probe")
    if shutil.which(compiler) is None:
        return None, f"no roofline probe: {compiler} is not installed"
    command = [compiler, "-O3", "-march=native", "-fopenmp-simd", "-std=c++17", "-o", binary, SOURCE]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        first = (result.stderr.strip().splitlines() or ["no message"])[0]
        return None, f"no roofline probe: the compile failed ({first})"
    return binary, ""


def probe_arguments(case: Any) -> list[int]:
    """The probe's command-line sizes for a bench `Case`: its topology, batch, steps and the
    engines' renormalisation interval (`QRNNConfig.renormalization_interval`)."""
    config = QRNNConfig(case.workspace, case.io_width, stages=case.stages, degree=case.degree, order=case.order)
    return [case.workspace, case.io_width, case.stages, case.steps, case.batch, config.renormalization_interval]


def run_probe(binary: str, case: Any, runs: int = 3) -> float:
    """Median seconds of the probe's forward over the case's batch and steps."""
    times = []
    for _ in range(runs):
        result = subprocess.run([binary, *map(str, probe_arguments(case))], capture_output=True, text=True, check=True)
        times.append(float(result.stdout.split()[0]))
    return statistics.median(times)


def probe_times(cases: Mapping[str, Any]) -> tuple[dict[str, float], list[str]]:
    """The probe's seconds per case name (built once, in a temporary directory), and a note
    when it could not be built."""
    with tempfile.TemporaryDirectory() as scratch:
        binary, note = build_probe(scratch)
        if binary is None:
            print(note, file=sys.stderr, flush=True)
            return {}, [f"note: {note}"]
        times = {}
        for name, case in cases.items():
            times[name] = run_probe(binary, case)
            print(f"{name} (probe): {times[name]:.4g} s", file=sys.stderr, flush=True)
        return times, []
