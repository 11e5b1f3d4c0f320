"""Command-line training programs: `python -m train.elman`, `python -m train.dna`."""
