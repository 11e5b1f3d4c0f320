"""The fast engine equals the Cirq hardware circuits, ancillas included (SPEC sections 2-3).

The circuits are simulated with `cirq.Simulator` (reused ancillas, postselected where the
circuit marks it) and with TFQ's `tfq.layers.State` (fresh ancillas, postselected at the
end; TFQ starts from |0...0>, so inputs are prepared by gates).
"""

import cirq
import numpy as np
import pytest

import qrnn_tfq  # noqa: F401
import tensorflow as tf
from qrnn_tfq.circuits import (
    cell_circuit,
    neuron_circuit,
    num_cell_ancillas,
    num_neuron_ancillas,
    product_state,
    product_state_preparation,
    resolver,
    simulate_postselected,
    simulate_postselected_tfq,
)
from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.engine import QRNNWeights, StepRequest, apply_neuron, cell_step, neuron_cos_sin, neuron_factors

TOLERANCE = {tf.float64: 1e-10, tf.float32: 1e-5}
NEURON_CASES = [  # (workspace, io, degree, order): order 3 on few lanes keeps the qubits few
    (2, 1, 2, 0), (2, 2, 3, 0), (2, 1, 1, 1), (2, 2, 2, 1), (2, 2, 3, 1), (3, 1, 2, 2), (2, 2, 3, 2), (2, 1, 1, 3), (2, 1, 2, 3), (1, 2, 2, 3),
]


def numpy_weights(cfg, seed):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=cfg.num_neurons), rng.normal(size=(cfg.num_neurons, cfg.num_subsets)),
            rng.normal(size=(cfg.stages, cfg.workspace_lanes)))


def engine_weights(weights, dtype):
    return QRNNWeights(*(tf.constant(w, dtype) for w in weights))


def engine_neuron(cfg, weights, state, neuron, dtype):
    cos, sin = neuron_cos_sin(cfg, engine_weights(weights, dtype))
    out = apply_neuron(cfg, tf.constant(state[None], dtype), neuron, cos[neuron], sin[neuron])
    return out.numpy()[0]


@pytest.mark.parametrize("dtype", [tf.float64, tf.float32])
@pytest.mark.parametrize("workspace, io, degree, order", NEURON_CASES)
def test_neuron_equals_cirq_circuit(workspace, io, degree, order, dtype):
    cfg = QRNNConfig(workspace, io, stages=1, degree=degree, order=order)
    weights = numpy_weights(cfg, seed=workspace + 10 * degree + 100 * order)
    lanes = cirq.LineQubit.range(cfg.num_lanes)
    ancillas = cirq.LineQubit.range(cfg.num_lanes, cfg.num_lanes + num_neuron_ancillas(order))
    rng = np.random.default_rng(order)
    initial_states = [np.eye(2**cfg.num_lanes)[5 % 2**cfg.num_lanes], rng.normal(size=2**cfg.num_lanes)]
    for neuron in range(cfg.num_neurons):
        circuit = neuron_circuit(cfg, neuron, lanes, ancillas)
        for initial in initial_states:
            initial = initial / np.linalg.norm(initial)
            want, _ = simulate_postselected(circuit, lanes, initial, resolver(cfg, *weights))
            got = engine_neuron(cfg, weights, initial, neuron, dtype)
            np.testing.assert_allclose(got, want, atol=TOLERANCE[dtype], err_msg=f"neuron {neuron}")


@pytest.mark.parametrize("workspace, io, degree, order", [(2, 1, 2, 1), (2, 2, 3, 2), (1, 2, 2, 3)])
def test_neuron_equals_tfq_circuit(workspace, io, degree, order):
    cfg = QRNNConfig(workspace, io, stages=1, degree=degree, order=order)
    weights = numpy_weights(cfg, seed=order)
    lanes = cirq.GridQubit.rect(1, cfg.num_lanes)
    ancillas = cirq.GridQubit.rect(1, num_neuron_ancillas(order, fresh_ancillas=True), top=1)
    angles = np.random.default_rng(1).uniform(0, np.pi, cfg.num_lanes)
    circuits = [
        product_state_preparation(lanes, angles) + neuron_circuit(cfg, k, lanes, ancillas, fresh_ancillas=True)
        for k in range(cfg.num_neurons)
    ]
    states, _ = simulate_postselected_tfq(circuits, lanes, resolver(cfg, *weights))
    for neuron, want in enumerate(states):
        got = engine_neuron(cfg, weights, product_state(angles), neuron, tf.float32)
        np.testing.assert_allclose(got, want, atol=1e-5, err_msg=f"neuron {neuron}")


def engine_cell(cfg, weights, workspace_state, word, dtype):
    """One engine step, measuring each output word in turn: (p (2^I,), next states (2^I, 2^W))."""
    words = cfg.num_words
    factors = neuron_factors(cfg, engine_weights(weights, dtype))
    states = tf.constant(np.repeat(workspace_state[None], words, 0), dtype)
    request = StepRequest(
        input_word=tf.fill([words], word), target_word=tf.range(words), scored=tf.zeros([words], tf.bool),
        measurement="target", seed=tf.zeros([2], tf.int32), state=states,
    )
    out = cell_step(cfg, factors, request)
    return out.probabilities.numpy()[0], out.state.numpy()


def circuit_cell_outputs(cfg, full_state):
    """Word marginals and the renormalised projections of the circuit's state (SPEC 3.6-3.7)."""
    blocks = full_state.reshape(cfg.num_words, -1)
    probabilities = np.sum(blocks**2, axis=1)
    return probabilities, blocks / np.sqrt(probabilities)[:, None]


def word_bits(cfg, word):
    return [(word >> (cfg.io_lanes - 1 - j)) & 1 for j in range(cfg.io_lanes)]


@pytest.mark.parametrize("dtype", [tf.float64, tf.float32])
@pytest.mark.parametrize("workspace, io, stages, degree, order", [(2, 1, 1, 2, 0), (2, 1, 1, 2, 1), (3, 2, 2, 2, 2), (2, 2, 1, 3, 3), (3, 1, 0, 1, 2)])
def test_cell_equals_cirq_circuit(workspace, io, stages, degree, order, dtype):
    cfg = QRNNConfig(workspace, io, stages=stages, degree=degree, order=order)
    weights = numpy_weights(cfg, seed=stages + 7 * order)
    lanes = cirq.LineQubit.range(cfg.num_lanes)
    ancillas = cirq.LineQubit.range(cfg.num_lanes, cfg.num_lanes + num_cell_ancillas(cfg))
    workspace_state = np.random.default_rng(3).normal(size=2**workspace)
    workspace_state /= np.linalg.norm(workspace_state)
    full_initial = np.zeros(2**cfg.num_lanes)
    full_initial[: 2**workspace] = workspace_state  # in/out lanes in 0
    for word in range(cfg.num_words):
        circuit = cell_circuit(cfg, lanes, ancillas, word_bits(cfg, word))
        full, _ = simulate_postselected(circuit, lanes, full_initial, resolver(cfg, *weights))
        want_p, want_next = circuit_cell_outputs(cfg, full)
        got_p, got_next = engine_cell(cfg, weights, workspace_state, word, dtype)
        np.testing.assert_allclose(got_p, want_p, atol=TOLERANCE[dtype])
        np.testing.assert_allclose(got_next, want_next, atol=TOLERANCE[dtype] * 10)


def test_cell_equals_tfq_circuit():
    cfg = QRNNConfig(2, 1, stages=1, degree=2, order=1)
    weights = numpy_weights(cfg, seed=4)
    lanes = cirq.GridQubit.rect(1, cfg.num_lanes)
    ancillas = cirq.GridQubit.rect(1, num_cell_ancillas(cfg, fresh_ancillas=True), top=1)
    angles = np.array([0.0, 0.7, 2.1])  # in/out lane in 0, a product state on the workspace
    workspace_state = product_state(angles[cfg.io_lanes :])
    prep = product_state_preparation(lanes, angles)
    circuits = [prep + cell_circuit(cfg, lanes, ancillas, word_bits(cfg, w), fresh_ancillas=True) for w in range(cfg.num_words)]
    states, _ = simulate_postselected_tfq(circuits, lanes, resolver(cfg, *weights))
    for word, full in enumerate(states):
        want_p, want_next = circuit_cell_outputs(cfg, full)
        got_p, got_next = engine_cell(cfg, weights, workspace_state, word, tf.float32)
        np.testing.assert_allclose(got_p, want_p, atol=1e-5)
        np.testing.assert_allclose(got_next, want_next, atol=1e-5)
