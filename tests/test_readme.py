"""Every Python example in README.md runs as written.

Each fenced block whose info string is exactly `python` runs on its own in a fresh
interpreter (`sys.executable`, working directory the repository root, without an
inherited `TF_USE_LEGACY_KERAS`), as a reader would paste it. A block that must not run
(it needs data, a GPU or minutes) is fenced as ```python no-test instead: it still
renders as Python, and this test skips it. Keep the runnable blocks to a few seconds.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
README = REPO / "README.md"
FENCE = re.compile(r"^```(.*)$")


def python_blocks(text: str) -> list[tuple[int, str, bool]]:
    """The README's ```python blocks as (first line number, code, runs); `no-test` ones do not run."""
    blocks, code, start, info = [], None, 0, ""
    for number, line in enumerate(text.splitlines(), start=1):
        fence = FENCE.match(line)
        if code is None and fence:
            info, code, start = fence.group(1).split(), [], number + 1
        elif code is not None and line.strip() == "```":
            if info[:1] == ["python"]:
                if info[1:] not in ([], ["no-test"]):
                    raise ValueError(f"README.md line {start - 1}: unknown fence ```{' '.join(info)}; use python or python no-test.")
                blocks.append((start, "\n".join(code) + "\n", info[1:] == []))
            code = None
        elif code is not None:
            code.append(line)
    assert code is None, f"README.md: the block opened at line {start - 1} is never closed."
    return blocks


BLOCKS = python_blocks(README.read_text())


def test_the_readme_has_runnable_examples():
    runnable = [code for _, code, runs in BLOCKS if runs]
    assert any("model.fit(" in code for code in runnable), "the Keras example is gone or marked no-test"
    assert any("cell_circuit(" in code for code in runnable), "the Cirq example is gone or marked no-test"


def test_the_parser_reads_fences_and_the_no_test_marker():
    text = "```python\nprint(1)\n```\n```sh\nls\n```\n```python no-test\nboom()\n```\n"
    assert python_blocks(text) == [(2, "print(1)\n", True), (8, "boom()\n", False)]
    with pytest.raises(ValueError, match="unknown fence ```python skip"):
        python_blocks("```python skip\nx\n```\n")


@pytest.mark.parametrize("line, code, runs", BLOCKS, ids=[f"line{line}" for line, _, _ in BLOCKS])
def test_readme_block_runs(line, code, runs):
    if not runs:
        pytest.skip("fenced as ```python no-test")
    env = {key: value for key, value in os.environ.items() if key != "TF_USE_LEGACY_KERAS"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    numbered = "\n".join(f"{line + k:4d}  {text}" for k, text in enumerate(code.splitlines()))
    assert done.returncode == 0, (
        f"README.md block at line {line} failed (exit {done.returncode}):\n{numbered}\n"
        f"--- stderr (last 3000 characters) ---\n{done.stderr[-3000:]}"
    )
