"""Sampling the exported circuits with Cirq, keeping the shots whose postselections read 0,
reproduces the engine's word distributions within sampling error (SPEC sections 2-4)."""

import cirq
import numpy as np
import pytest

from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.export.cells import CellWeights
from qrnn_tfq.export.steps import WORD_KEY, compile_cell, sequence_circuit, step_path
from qrnn_tfq.export.success import make_layer, success_probabilities

CONFIG = QRNNConfig(1, 1, 0, 1, 1)  # two neurons of order 1: enough shots pass their postselections
SHOTS = 2000


def weights() -> CellWeights:
    rng = np.random.default_rng(28)  # word distributions about (0.35, 0.65) at both steps
    return CellWeights(
        rng.normal(0, 1.2, size=CONFIG.num_neurons),
        rng.normal(0, 1.2, size=(CONFIG.num_neurons, CONFIG.num_subsets)),
        rng.normal(0, 1.2, size=(CONFIG.stages, CONFIG.workspace_lanes)),
    )


def fast_to_sample(circuit: cirq.Circuit) -> cirq.Circuit:
    """The same circuit with each run of gates between measurements merged into one matrix
    gate: Cirq simulates mid-circuit measurements shot by shot, and this keeps that fast."""
    flat = cirq.unroll_circuit_op(circuit, deep=True, tags_to_check=None)
    return cirq.merge_k_qubit_unitaries(
        flat, k=len(flat.all_qubits()), rewriter=lambda op: cirq.MatrixGate(cirq.unitary(op)).on(*op.qubits)
    )


def word_of(measurements: dict, step: int) -> np.ndarray:
    bits = [measurements[f"{step_path(step)}:{WORD_KEY}{i}"][:, 0] for i in range(CONFIG.io_lanes)]
    return sum(bit << (CONFIG.io_lanes - 1 - i) for i, bit in enumerate(bits))  # lane 0 most significant


def postselections_passed(measurements: dict, step: int) -> np.ndarray:
    keys = [key for key in measurements if key.startswith(f"{step_path(step)}:post_")]
    assert keys, "the step has no postselections"
    return np.all([measurements[key][:, 0] == 0 for key in keys], axis=0)


def assert_within_sampling_error(words: np.ndarray, expected: np.ndarray) -> None:
    counts = np.bincount(words, minlength=expected.size)
    kept = counts.sum()
    assert kept > 200, f"too few accepted shots ({kept}) to compare"
    sigma = np.sqrt(expected * (1 - expected) / kept)
    np.testing.assert_array_less(np.abs(counts / kept - expected), 4.5 * sigma + 1e-3)


@pytest.mark.parametrize("gateset", ["cz", "sqrt_iswap"])
def test_two_sampled_steps_reproduce_the_teacher_forced_engine(gateset):
    cell = compile_cell(CONFIG, weights(), "rainbow", gateset)
    inputs = np.array([[1], [0]])
    scored = np.array([[False, True]])
    # Teacher-force step 0 onto its likelier word, so that enough shots go on to step 1.
    first = success_probabilities(CONFIG, weights(), {"inputs": inputs[None], "targets": inputs[None], "scored": scored})
    targets = np.array([[int(np.argmax(first.probabilities[0, 0]))], [1]])
    circuit = sequence_circuit(cell, inputs, targets, reset="target")
    result = cirq.Simulator(seed=11, split_untangled_states=False).run(fast_to_sample(circuit), repetitions=SHOTS)
    measurements = {str(key): value[:, 0, :] for key, value in result.records.items()}  # (shots, bits)

    engine = success_probabilities(CONFIG, weights(), {"inputs": inputs[None], "targets": targets[None], "scored": scored})
    first, second = engine.probabilities[0]

    passed_first = postselections_passed(measurements, 0)
    assert_within_sampling_error(word_of(measurements, 0)[passed_first], first)
    # Acceptance of the neurons' postselections matches the engine's ancilla success.
    accept = engine.ancilla[0, 0]  # binomial: 4.5 standard deviations of a rate from SHOTS shots
    assert passed_first.mean() == pytest.approx(accept, abs=4.5 * np.sqrt(accept * (1 - accept) / SHOTS))

    # Step 1 follows the shots whose step 0 passed and measured the target (teacher forcing).
    kept = passed_first & (word_of(measurements, 0) == targets[0, 0]) & postselections_passed(measurements, 1)
    assert_within_sampling_error(word_of(measurements, 1)[kept], second)


def test_engine_layer_holds_the_exported_weights():
    layer = make_layer(CONFIG, weights())
    np.testing.assert_allclose(layer.trainable_weights[1].numpy(), weights().phi)
