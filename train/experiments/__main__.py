"""`python -m train.experiments NAME`: see `train.experiments`."""

from train.experiments.program import main

main()
