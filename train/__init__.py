"""The training programs, their shared machinery and the studies built on them.

Layout (imports point one way, down this list; `tests/train/test_layout.py` checks it):

    train/elman.py, dna.py, mnist.py, export.py   the programs (`python -m train.<name>`)
    train/studies/                                studies and tools; each imports the
                                                  programs' public functions and train.core,
                                                  never another study
    train/core/                                   the programs' shared machinery (arguments,
                                                  the typed run configuration, one run, run
                                                  folders, outputs, MNIST data and scoring)

The one import-order rule: tf-keras (Keras 2) is selected before TensorFlow loads, which
`qrnn_tfq.require_legacy_keras` does here, so every module below imports in the usual
order. A program run as `python -m train.<name>` keeps TensorFlow's own messages off the
terminal (`train.core.quiet`), which must start before TensorFlow loads: Python runs
this file before the program module's imports, so it starts here, and only when the
interpreter runs one of the programs (`import train` from other code changes nothing else).
"""

from qrnn_tfq._keras import require_legacy_keras
from train.core.quiet import quiet_program

require_legacy_keras()
quiet_program()
