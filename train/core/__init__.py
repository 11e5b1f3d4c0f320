"""The training programs' shared machinery: imports nothing from the programs or the studies.

    arguments      the command-line options every program shares, with per-program defaults
    config         the typed run configuration (`RunConfig`), its data, and `rebuild`
    runs           one run: devices, one seed's training, resume, summaries and files
    sequence_runs  the seeds and folders of the sequence programs (train.elman, train.dna)
    mnist_data     MNIST's loading, splits, encoding and batches
    mnist_eval     MNIST's scoring and confusion matrix
    mnist_train    MNIST's members, ensemble and test scores
    run_folder     a run owns its folder (lock, refusing to overwrite)
    outputs        progress bar, result files, plots, tables
    quiet          TensorFlow's messages off a program's terminal; logging
"""
