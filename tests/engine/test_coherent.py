"""The coherent recurrence (SPEC section 8) against the unrolled unitary Cirq circuit."""

import cirq
import numpy as np
import pytest

import qrnn_tfq  # noqa: F401
import tensorflow as tf
from qrnn_tfq.circuits import neuron_circuit, resolver
from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.engine import SequenceRequest, StateVectorEngine
from qrnn_tfq.testing import random_weights, random_words


def circuit_probabilities(cfg, weights, inputs):
    """p_t(w) of one sequence: the state carried unitarily, the output stage read out at each step."""
    lanes = cirq.LineQubit.range(cfg.num_lanes)
    params = resolver(cfg, *(w.numpy() for w in weights))
    simulator = cirq.Simulator(dtype=np.complex128)
    state = np.zeros(2**cfg.num_lanes, complex)
    state[0] = 1
    probabilities = []
    for word in inputs:
        bits = [(int(word) >> (cfg.io_lanes - 1 - j)) & 1 for j in range(cfg.io_lanes)]
        writes = cirq.Circuit(cirq.X(lanes[j]) for j, bit in enumerate(bits) if bit)
        step = cirq.Circuit(writes)
        W = cfg.workspace_lanes
        for k in range(cfg.num_workspace_neurons):
            if k >= W and k % W == 0:
                stage = k // W - 1
                step += cirq.Circuit(cirq.ry(params.value_of(cfg.work_name(stage, w))).on(lanes[cfg.io_lanes + w]) for w in range(W))
            step += neuron_circuit(cfg, k, lanes, [])
        step += writes
        step += cirq.Circuit(cirq.I.on_each(*lanes))
        state = simulator.simulate(step, params, qubit_order=lanes, initial_state=state).final_state_vector
        readout = cirq.Circuit(neuron_circuit(cfg, k, lanes, []) for k in range(cfg.num_workspace_neurons, cfg.num_neurons))
        readout += cirq.Circuit(cirq.I.on_each(*lanes))
        after = simulator.simulate(readout, params, qubit_order=lanes, initial_state=state).final_state_vector
        probabilities.append(np.sum(np.abs(after.reshape(cfg.num_words, -1)) ** 2, axis=1))
    return np.array(probabilities)


@pytest.mark.parametrize("workspace, io, stages, degree", [(2, 1, 1, 2), (2, 2, 2, 3), (3, 1, 0, 1)])
def test_coherent_engine_equals_unitary_circuit(workspace, io, stages, degree):
    cfg = QRNNConfig(workspace, io, stages=stages, degree=degree, order=0, recurrence="coherent")
    weights = random_weights(cfg, seed=workspace + io)
    inputs, targets, scored = random_words(cfg, 2, 4, seed=1)
    engine = StateVectorEngine()
    out = engine.run(cfg, weights, SequenceRequest(inputs, targets, scored, measurement="target"))
    for b in range(2):
        np.testing.assert_allclose(out.probabilities.numpy()[b], circuit_probabilities(cfg, weights, inputs.numpy()[b]), atol=1e-10)
    np.testing.assert_allclose(out.ancilla_success.numpy(), 1.0, atol=1e-12)
    # Nothing is measured: the state does not depend on the targets or the measurement.
    other_targets = (targets + 1) % cfg.num_words
    other = engine.run(cfg, weights, SequenceRequest(inputs, other_targets, scored, measurement="argmax"))
    np.testing.assert_allclose(other.probabilities.numpy(), out.probabilities.numpy(), atol=1e-12)


def test_coherent_gradients_match_finite_differences():
    cfg = QRNNConfig(2, 1, stages=1, degree=2, order=0, recurrence="coherent")
    weights = random_weights(cfg, seed=3, spread=0.7)
    inputs, targets, scored = random_words(cfg, 3, 5, seed=4)
    engine = StateVectorEngine()

    def loss(w):
        p = engine.run(cfg, w, SequenceRequest(inputs, targets, scored, measurement="target")).probabilities
        return -tf.reduce_sum(tf.where(scored, tf.math.log(tf.gather(p, targets, batch_dims=2)), 0.0))

    variables = [tf.Variable(w) for w in weights]
    with tf.GradientTape() as tape:
        value = loss(type(weights)(*variables))
    grads = tape.gradient(value, variables)
    rng = np.random.default_rng(0)
    for k, w in enumerate(weights):
        direction = rng.normal(size=w.shape)
        shifted = [[v if j != k else v + sign * 1e-6 * direction for j, v in enumerate(weights)] for sign in (1, -1)]
        numeric = (loss(type(weights)(*shifted[0])) - loss(type(weights)(*shifted[1]))).numpy() / 2e-6
        np.testing.assert_allclose(np.sum(grads[k].numpy() * direction), numeric, rtol=1e-5, atol=1e-8)


def test_coherent_needs_order_zero():
    with pytest.raises(ValueError, match="order 0 and no amplification, got order=2"):
        QRNNConfig(2, 1, order=2, recurrence="coherent")
    with pytest.raises(ValueError, match="`recurrence` must be one of .*got 'unitary'"):
        QRNNConfig(2, 1, order=0, recurrence="unitary")
    layer = qrnn_tfq.QRNN(workspace_lanes=2, io_lanes=1, order=0, recurrence="coherent", seed=0)
    assert layer.get_config()["recurrence"] == "coherent"
