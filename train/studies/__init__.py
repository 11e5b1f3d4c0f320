"""Studies and tools built on the training programs: each imports the programs' public
functions and `train.core`, never another study (`tests/train/test_layout.py`).

    amplification  python -m train.studies.amplification: amplified neurons instead of postselection
    tfq_study      python -m train.studies.tfq_study: shots and noise on a coherent QRNN (TFQ)
    experiments    python -m train.studies.experiments NAME: the sequence-task studies
    mnist_knn      python -m train.studies.mnist_knn: a classical classifier on the QRNN's input bits
    bench          python -m train.studies.bench: time per training and evaluation step of the engine
    bench_workers  python -m train.studies.bench_workers: train.mnist's step on 1 and 2 workers
"""
