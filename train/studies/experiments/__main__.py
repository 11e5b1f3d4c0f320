"""`python -m train.studies.experiments NAME`: see `train.studies.experiments`."""

from train.studies.experiments.program import main

main()
