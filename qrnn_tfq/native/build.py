"""Build the native op library: `python -m qrnn_tfq.native.build` (`make native` calls it).

Compiles `kernels/*.cc` with the installed TensorFlow's own headers and flags
(`tf.sysconfig.get_compile_flags()` / `get_link_flags()`), for this machine's CPU
(`-march=native`), into `_qrnn_ops.so` next to the package. The file is written under a
temporary name and renamed, so a failed or interrupted build never leaves a half-written
library. Exit status 0 on success; on failure the compiler's last lines and one line
saying that the programs will run on the XLA engine.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile

KERNELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels")
# -fopenmp-simd: the `omp simd` loops vectorise without -ffast-math; -fcx-limited-range:
# plain complex products (no NaN-recovery calls), as TensorFlow's own complex kernels.
FLAGS = ["-O3", "-march=native", "-fopenmp-simd", "-fcx-limited-range", "-fPIC", "-shared"]


def compile_command(output: str, compiler: str = "g++") -> list[str]:
    """The compiler command that builds the library into `output`."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel  (only the build needs it)

    sources = sorted(glob.glob(os.path.join(KERNELS, "*.cc")))
    return [compiler, *FLAGS, *sources, "-o", output, *tf.sysconfig.get_compile_flags(), *tf.sysconfig.get_link_flags()]


def build(output: str, compiler: str = "g++") -> tuple[bool, str]:
    """Build into `output` atomically; returns (success, the compiler's output)."""
    if shutil.which(compiler) is None:
        return False, f"no C++ compiler `{compiler}` on PATH"
    directory = os.path.dirname(os.path.abspath(output))
    handle, partial = tempfile.mkstemp(prefix=".partial-", suffix=".so", dir=directory)
    os.close(handle)
    try:
        result = subprocess.run(compile_command(partial, compiler), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            return False, result.stderr
        os.replace(partial, output)
        return True, result.stderr
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def main(argv: list[str] | None = None) -> int:
    from qrnn_tfq.native.library import LIBRARY_PATH  # pylint: disable=import-outside-toplevel

    parser = argparse.ArgumentParser(prog="python -m qrnn_tfq.native.build", description=__doc__.split("\n")[0])
    parser.add_argument("--output", default=LIBRARY_PATH, help="where to write the library (default: %(default)s)")
    parser.add_argument("--compiler", default=os.environ.get("CXX", "g++"))
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow loads only for its flags: no log lines
    ok, log = build(args.output, args.compiler)
    if not ok:
        print("\n".join(log.strip().splitlines()[-15:]), file=sys.stderr)
        print("native op: build failed; the programs run on the XLA engine (engine='state_vector').", file=sys.stderr)
        return 1
    print(f"native op: built {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
