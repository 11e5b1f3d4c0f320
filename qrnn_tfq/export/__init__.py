"""Exporting a trained QRNN's circuits to Google devices (issue 12, item 3; SPEC sections 2, 3, 8).

Modules, each with one job:
    parity    parity-network synthesis of the neurons' parameter blocks
    compile   gate set, placement, routing (`cirq.RouteCQC`) and validation on a device
    cells     the resolved cell blocks in the postselected or the amplified form
    steps     a compiled cell, the circuit of one step and of a whole sequence
"""
