"""Exporting a trained QRNN's circuits to Google devices (issue 12; docs/EXPORT.md).

Modules, each with one job:
    parity    parity-network synthesis of the neurons' parameter blocks
    compile   native gate set, placement, routing (`cirq.RouteCQC`) and validation on a device
    cells     the resolved cell blocks in the postselected or the amplified form
    steps     a compiled cell, the circuit of one step and of a whole sequence
    files     Cirq JSON, OpenQASM 2 and cirq_google proto, written atomically
    report    gate counts, depth, gate durations and run time per shot
    success   expected success probability per step and sequence, from the engine
    load      weights and `QRNNConfig` of a run folder or checkpoint
    noisy     step-by-step density-matrix estimate under a device's calibrated noise

Only `success` imports TensorFlow (through `qrnn_tfq`, when called); `load` imports the
checkpoint reader (`qrnn_tfq.training`) when called.
"""
