"""Named studies of the sequence tasks (issue 4), each to a CSV and a PNG plot.

    python -m train.studies.experiments xor-init            # steps to loss 1e-3 vs bias b and initial spread
    python -m train.studies.experiments letters-topology    # steps vs workspace lanes, stages, degree (one at a time)
    python -m train.studies.experiments dna-memory          # steps vs length for QRNN (both protocols), RNN, LSTM
    python -m train.studies.experiments gradients           # gradient norms vs length, at init and after training
    python -m train.studies.experiments dna-memory --quick  # a tiny grid in seconds (what the tests run)

Each study writes `<out>/<name>.csv` (one row per run) and `<out>/<name>.png` (default
`docs/results/`; with `--quick`, `<name>-quick.*`). Rows already in the CSV are skipped,
so an interrupted study continues where it stopped; delete rows (or the file) to rerun
them. A run is exactly what the training programs do with the same settings: each job
holds the settings of `train.elman` or `train.dna` (by option name), filled by that
program's `settings` as its `main` fills them, and is trained by the same model
construction and `SequenceTaskModel.fit`: batches seeded by (seed, 0, step), the validation batch by
(seed, 1), Adam with clipping 0.5, validation every 10 steps, the paper's shifted loss.
So a row with seed N is reproduced by `python -m train.elman`/`train.dna` with `--seed N`
and the row's settings (the `command` column spells it out).

"Steps to target" is the first validation step whose loss is <= 1e-3 (`--target-loss`),
empty if the budget (`--max-steps`) ran out; medians count such runs as infinitely long.

Modules: `jobs` (a job, a study, one training run, the CSV), `sequence_studies`
(xor-init, letters-topology, dna-memory), `gradients` (the study) and `gradient_norms`
(the measurement), `plots`, `program` (the command: `STUDIES`, `make_parser`, `main`).
"""
