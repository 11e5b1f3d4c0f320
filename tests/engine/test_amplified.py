"""The engine with amplified neurons (SPEC section 8) against the Cirq circuits and numpy.

The amplified neuron circuit is simulated with `cirq` (success measurement projected) and
with TFQ (unitary form, ancillas projected afterwards), then compared with the engine's
neuron, whose factors are `c h(lambda)`, `s h(lambda)`; whole cells and sequences are
compared with the numpy reference; gradients with finite differences.
"""

import cirq
import numpy as np
import pytest

import qrnn_tfq  # noqa: F401
import tensorflow as tf
from qrnn_tfq.circuits import product_state, product_state_preparation, reference, resolver, simulate_postselected
from qrnn_tfq.circuits import simulate_postselected_tfq
from qrnn_tfq.circuits.amplify import amplified_cell_circuit, amplified_neuron_circuit, num_amplified_ancillas
from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.engine import (
    QRNNWeights,
    SequenceRequest,
    StateVectorEngine,
    StepRequest,
    apply_neuron,
    cell_step,
    neuron_factors,
    run_sequence,
)
from qrnn_tfq.engine.factors import applied_cos_sin
from qrnn_tfq.engine.sequence import initial_state
from qrnn_tfq.testing import random_weights, random_words

# (workspace, io, degree, order, rounds)
CASES = [(2, 1, 2, 1, 1), (2, 1, 2, 2, 2), (1, 2, 2, 2, 3), (2, 1, 1, 3, 1)]


def _numpy(weights):
    return [w.numpy() for w in weights]


@pytest.mark.parametrize("workspace, io, degree, order, rounds", CASES)
def test_amplified_neuron_equals_cirq_and_tfq(workspace, io, degree, order, rounds):
    cfg = QRNNConfig(workspace, io, stages=1, degree=degree, order=order, amplification=rounds)
    weights = random_weights(cfg, seed=order + 10 * rounds, dtype=tf.float32)
    theta, phi, work = _numpy(weights)
    params = resolver(cfg, theta, phi, work)
    lanes = cirq.LineQubit.range(cfg.num_lanes)
    ancillas = cirq.LineQubit.range(cfg.num_lanes, cfg.num_lanes + num_amplified_ancillas(cfg))
    cos, sin = applied_cos_sin(cfg, weights)
    angles = np.random.default_rng(order).uniform(0, 2 * np.pi, cfg.num_lanes)
    basis = 3 % 2**cfg.num_lanes  # a basis state, prepared by X on its 1 bits (lane 0 most significant)
    basis_preparation = cirq.Circuit(cirq.X(lanes[q]) for q in range(cfg.num_lanes) if basis >> (cfg.num_lanes - 1 - q) & 1)
    inputs = [(np.eye(2**cfg.num_lanes)[basis], basis_preparation),
              (product_state(angles), product_state_preparation(lanes, angles))]
    for neuron in range(cfg.num_neurons):
        for state, preparation in inputs:
            want = apply_neuron(cfg, tf.constant(state[None], tf.complex64), neuron, cos[neuron], sin[neuron]).numpy()[0]
            circuit = amplified_neuron_circuit(cfg, neuron, lanes, ancillas, cfg.schedule)
            got, _ = simulate_postselected(circuit, lanes, state, params, real=False)
            np.testing.assert_allclose(got, want, atol=1e-5)
            unitary = amplified_neuron_circuit(cfg, neuron, lanes, ancillas, cfg.schedule, measure_success=False)
            got_tfq, _ = simulate_postselected_tfq(preparation + unitary, lanes, params, real=False)
            np.testing.assert_allclose(got_tfq, want, atol=1e-5)


@pytest.mark.parametrize("workspace, io, degree, order, rounds", CASES[:3])
def test_amplified_cell_step_equals_reference_and_circuit(workspace, io, degree, order, rounds):
    cfg = QRNNConfig(workspace, io, stages=1, degree=degree, order=order, amplification=rounds)
    weights = random_weights(cfg, seed=3)
    theta, phi, work = _numpy(weights)
    rng = np.random.default_rng(5)
    psi = rng.normal(size=2**workspace) + 1j * rng.normal(size=2**workspace)
    psi /= np.linalg.norm(psi)
    for word in range(cfg.num_words):
        bits = [(word >> (io - 1 - j)) & 1 for j in range(io)]
        full, success = reference.cell_step(cfg, bits, theta, phi, work, np.kron(np.eye(cfg.num_words)[0], psi))
        p_ref = np.sum(np.abs(full.reshape(cfg.num_words, -1)) ** 2, axis=1)
        request = StepRequest(
            input_word=tf.constant([word]), target_word=tf.constant([1]), scored=tf.constant([False]),
            measurement="target", seed=tf.zeros([2], tf.int32), state=tf.constant(psi[None]),
        )
        out = cell_step(cfg, neuron_factors(cfg, weights), request)
        np.testing.assert_allclose(out.probabilities.numpy()[0], p_ref, atol=1e-10)
        np.testing.assert_allclose(out.ancilla_success.numpy()[0], success, rtol=1e-10)
        branch = full.reshape(cfg.num_words, -1)[1]
        np.testing.assert_allclose(out.state.numpy()[0], branch / np.linalg.norm(branch), atol=1e-10)
        # The whole amplified cell circuit, simulated with cirq, gives the same state.
        lanes = cirq.LineQubit.range(cfg.num_lanes)
        ancillas = cirq.LineQubit.range(cfg.num_lanes, cfg.num_lanes + num_amplified_ancillas(cfg))
        circuit = amplified_cell_circuit(cfg, lanes, ancillas, bits, schedule=cfg.schedule)
        got, p_circuit = simulate_postselected(
            circuit, lanes, np.kron(np.eye(cfg.num_words)[0], psi), resolver(cfg, theta, phi, work), real=False
        )
        np.testing.assert_allclose(got, full, atol=1e-9)
        assert p_circuit == pytest.approx(success, rel=1e-9)


def test_postselected_ancilla_success_is_the_product_of_neuron_successes():
    cfg = QRNNConfig(2, 2, stages=1, degree=2, order=2)
    weights = random_weights(cfg, seed=4)
    theta, phi, work = _numpy(weights)
    for word, bits in ((0, [0, 0]), (2, [1, 0])):
        _, success = reference.cell_step(cfg, bits, theta, phi, work)
        request = StepRequest(
            input_word=tf.constant([word]), target_word=tf.constant([0]), scored=tf.constant([False]),
            measurement="target", seed=tf.zeros([2], tf.int32), state=initial_state(cfg, 1, tf.float64),
        )
        out = cell_step(cfg, neuron_factors(cfg, weights), request)
        np.testing.assert_allclose(out.ancilla_success.numpy()[0], success, rtol=1e-10)


def test_amplification_raises_the_ancilla_success():
    plain = QRNNConfig(3, 1, stages=1, degree=2, order=2)
    weights = random_weights(plain, seed=0, spread=0.3)
    inputs, targets, scored = random_words(plain, 4, 5, seed=1)
    successes = []
    for rounds in (0, 1, 3):
        cfg = QRNNConfig(3, 1, stages=1, degree=2, order=2, amplification=rounds)
        out = run_sequence(cfg, weights, SequenceRequest(inputs, targets, scored))
        successes.append(out.ancilla_success.numpy())
    assert np.all(successes[1] > successes[0]) and np.all(successes[2] > successes[0])
    assert np.all(successes[2] > 1 - 2 * 16 * cfg.schedule.delta**2)  # 16 neurons, each >= 1 - delta^2


def test_amplified_gradients_match_finite_differences():
    cfg = QRNNConfig(2, 1, stages=1, degree=2, order=2, amplification=2)
    weights = random_weights(cfg, seed=7, spread=0.5)
    inputs, targets, scored = random_words(cfg, 3, 4, seed=2)
    engine = StateVectorEngine()

    def loss(w):
        out = engine.run(cfg, QRNNWeights(*w), SequenceRequest(inputs, targets, scored, measurement="target"))
        chosen = tf.gather(out.probabilities, targets, batch_dims=2)
        return -tf.reduce_sum(tf.math.log(chosen))

    variables = [tf.Variable(w) for w in weights]
    with tf.GradientTape() as tape:
        value = loss(variables)
    grads = tape.gradient(value, variables)
    rng = np.random.default_rng(0)
    for k, w in enumerate(weights):
        direction = rng.normal(size=w.shape)
        eps = 1e-6
        plus = [v if j != k else v + eps * direction for j, v in enumerate(weights)]
        minus = [v if j != k else v - eps * direction for j, v in enumerate(weights)]
        numeric = (loss(plus) - loss(minus)).numpy() / (2 * eps)
        np.testing.assert_allclose(np.sum(grads[k].numpy() * direction), numeric, rtol=1e-5, atol=1e-8)


def test_config_refuses_amplification_without_ancillas():
    with pytest.raises(ValueError, match="amplification=2 with order=0"):
        QRNNConfig(2, 1, order=0, amplification=2)
    with pytest.raises(ValueError, match="`amplification` must be an int >= 0.*got -1"):
        QRNNConfig(2, 1, amplification=-1)
