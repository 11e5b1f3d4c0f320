"""Command-line training programs: `python -m train.elman`, `python -m train.dna`, `python -m train.mnist`, ...

Importing the package first hides TensorFlow's own messages from a program run without
`-v` (see `train.quiet`); this runs before any program module imports TensorFlow.
"""

from train.quiet import quiet_program as _quiet_program

_quiet_program()
