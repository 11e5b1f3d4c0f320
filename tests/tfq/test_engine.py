"""The TFQ engine (coherent recurrence, SPEC section 8) against the state-vector engine."""

from __future__ import annotations

import cirq
import numpy as np
import pytest

import qrnn_tfq  # noqa: F401  (tf-keras before TensorFlow)
import tensorflow as tf
from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.engine import QRNNWeights, SequenceRequest, StepRequest
from qrnn_tfq.layers.engines import get_engine
from qrnn_tfq.testing import random_weights, random_words
from qrnn_tfq.tfq import NOISE_TRAJECTORIES, TFQEngine, projector_signs

CASES = [(2, 1, 1, 2), (2, 2, 1, 1), (3, 1, 0, 2)]  # (W, I, S, d)


def _config(workspace=2, io=1, stages=1, degree=2):
    return QRNNConfig(workspace, io, stages=stages, degree=degree, order=0, recurrence="coherent")


def _inputs(config, batch=3, steps=4, seed=0):
    inputs, targets, scored = random_words(config, batch, steps, seed=seed)
    scored = scored.numpy()
    scored[:, 1] = False  # a step no sample scores: not read out
    scored[0, -1] = True
    return inputs, targets, tf.constant(scored)


def _nll(probabilities, targets, scored):
    p = tf.gather(probabilities, targets, batch_dims=2)
    return -tf.reduce_sum(tf.where(scored, tf.math.log(p), tf.zeros_like(p))) / tf.reduce_sum(tf.cast(scored, p.dtype))


def _run(engine, config, weights, inputs, targets, scored, **options):
    return engine.run(config, weights, SequenceRequest(inputs, targets, scored, **options))


@pytest.mark.parametrize("workspace, io, stages, degree", CASES)
def test_distributions_equal_the_state_vector_engine(workspace, io, stages, degree):
    config = _config(workspace, io, stages, degree)
    weights = random_weights(config, seed=workspace + 10 * io)
    inputs, targets, scored = _inputs(config)
    exact = _run(get_engine("state_vector"), config, weights, inputs, targets, scored, measurement="argmax")
    out = _run(get_engine("tfq"), config, weights, inputs, targets, scored, measurement="argmax")
    read = scored.numpy().any(axis=0)
    assert not read[1] and read[-1]
    atol = 1e-5  # TFQ simulates in float32, the state-vector engine here in float64
    np.testing.assert_allclose(out.probabilities.numpy()[:, read], exact.probabilities.numpy()[:, read], atol=atol)
    np.testing.assert_array_equal(out.probabilities.numpy()[:, ~read], 0.0)  # not simulated
    # The argmax: TFQ's word is a most likely word of the exact distribution up to the
    # tolerance, so the two agree wherever the top two words differ by more than 2 atol.
    p, measured = exact.probabilities.numpy(), out.measured.numpy()
    chosen = np.take_along_axis(p, measured[..., None], -1)[..., 0]
    mask = scored.numpy()
    assert np.all(chosen[mask] >= p.max(-1)[mask] - 2 * atol)
    top_two = np.sort(p, -1)[..., -2:]
    clear = mask & (top_two[..., 1] - top_two[..., 0] > 2 * atol)
    assert clear.sum() >= mask.sum() - 1, "the check needs clear margins"
    np.testing.assert_array_equal(measured[clear], exact.measured.numpy()[clear])
    np.testing.assert_array_equal(measured[~mask], targets.numpy()[~mask])  # unscored: the target word
    np.testing.assert_allclose(out.postselection.numpy()[:, read], np.where(read, chosen, 1.0)[:, read], atol=atol)
    np.testing.assert_array_equal(out.postselection.numpy()[:, ~read], 1.0)
    np.testing.assert_array_equal(out.ancilla_success.numpy(), 1.0)
    assert out.final_state.shape == (3, 2**workspace) and out.probabilities.dtype == tf.float64


def _gradients(engine, config, weights, inputs, targets, scored, dtype):
    variables = [tf.Variable(tf.cast(w, dtype)) for w in weights]
    with tf.GradientTape() as tape:
        out = _run(engine, config, QRNNWeights(*variables), inputs, targets, scored, measurement="target")
        loss = _nll(out.probabilities, targets, scored)
    return np.concatenate([g.numpy().ravel() for g in tape.gradient(loss, variables)])


@pytest.mark.parametrize("workspace, io, stages, degree", CASES)
def test_gradients_equal_the_state_vector_engine(workspace, io, stages, degree):
    config = _config(workspace, io, stages, degree)
    weights = random_weights(config, seed=7 + workspace, spread=0.7)
    data = _inputs(config, seed=1)
    exact = _gradients(get_engine("state_vector"), config, weights, *data, tf.float64)
    adjoint = _gradients(get_engine("tfq"), config, weights, *data, tf.float32)
    assert np.abs(exact).max() > 1e-2  # not vacuous
    # TFQ's adjoint differentiates each gate by a float32 finite difference: 3e-4 relative.
    np.testing.assert_allclose(adjoint, exact, rtol=1e-3, atol=1e-4)


def test_parameter_shift_gradients_equal_the_state_vector_engine():
    # Degree 2: rotations with two controls, which TFQ's own parameter-shift split gets
    # wrong (up to 40 % off); the engine splits them itself (`split_controlled_rotations`).
    config = _config(2, 1, 1, 2)
    weights = random_weights(config, seed=9, spread=0.7)
    data = _inputs(config, batch=2, steps=3, seed=1)
    exact = _gradients(get_engine("state_vector"), config, weights, *data, tf.float64)
    shifted = _gradients(get_engine("tfq", differentiator="parameter_shift"), config, weights, *data, tf.float32)
    assert np.abs(exact).max() > 1e-2
    np.testing.assert_allclose(shifted, exact, rtol=1e-4, atol=1e-4)


def test_shots_agree_within_sampling_error():
    config = _config(2, 2, 1, 2)
    weights = random_weights(config, seed=5)
    inputs, targets, scored = _inputs(config, batch=2, steps=3, seed=2)
    shots = 1000
    exact = _run(get_engine("tfq"), config, weights, inputs, targets, scored).probabilities.numpy()
    sampled = _run(get_engine("tfq", shots=shots), config, weights, inputs, targets, scored).probabilities.numpy()
    read = scored.numpy().any(axis=0)
    np.testing.assert_allclose(sampled[:, read].sum(axis=-1), 1.0, atol=1e-6)
    # Standard error of p(w) = 2^-I sum_S sign * z_S with each z_S from its own `shots` samples.
    signs = projector_signs(config)
    z = exact[:, read] @ signs  # (B, R, 2^I): [1, <Z_1>, ..., <Z_3>]
    error = np.sqrt(np.sum(1 - z[..., 1:] ** 2, axis=-1, keepdims=True) / shots) / config.num_words
    deviation = np.abs(sampled[:, read] - exact[:, read])
    assert np.all(deviation <= 5 * error + 1e-6), (deviation / error).max()
    assert deviation.max() > 0  # sampled, not exact


def test_shots_gradient_estimates_the_exact_gradient():
    config = _config(2, 1, 0, 1)
    weights = random_weights(config, seed=3, dtype=tf.float32)
    data = _inputs(config, batch=2, steps=2, seed=3)
    exact = _gradients(get_engine("state_vector"), config, weights, *data, tf.float64)
    shots = _gradients(get_engine("tfq", shots=2000), config, weights, *data, tf.float32)
    assert np.all(np.isfinite(shots))
    # Parameter shift on 2000-shot estimates: over 30 repetitions each component's standard
    # deviation was at most 0.03 (0.07 the largest deviation seen); 0.15 is 5 of them.
    assert np.sum(np.abs(exact) > 0.3) >= 3  # the tolerance is small against the gradient
    np.testing.assert_allclose(shots, exact, atol=0.15)


def test_noise_moves_the_distributions_toward_uniform(density_matrix_probabilities):
    config = _config(2, 1, 1, 2)
    theta, phi, work_angles = random_weights(config, seed=11, spread=0.3)
    weights = QRNNWeights(tf.tensor_scatter_nd_update(theta, [[config.num_neurons - 1]], [1.2]), phi, work_angles)
    inputs, targets, _ = _inputs(config, batch=2, steps=2, seed=4)
    scored = tf.ones_like(inputs, tf.bool)
    engine = get_engine("tfq", noise=0.02)
    exact = _run(get_engine("tfq"), config, weights, inputs, targets, scored).probabilities.numpy()
    noisy = _run(engine, config, weights, inputs, targets, scored).probabilities.numpy()
    np.testing.assert_allclose(noisy.sum(axis=-1), 1.0, atol=1e-6)
    # The exact noisy distributions (cirq's density matrices of the same noisy circuits):
    # depolarizing noise contracts every distribution toward uniform.
    expected = density_matrix_probabilities(engine, config, [w.numpy() for w in weights], inputs.numpy(), range(2))
    peaked = np.abs(exact - 0.5) > 0.2
    assert peaked.any(), exact
    assert np.all(np.abs(expected - 0.5)[peaked] < np.abs(exact - 0.5)[peaked] - 0.05), (exact, expected)
    # The engine averages NOISE_TRAJECTORIES trajectories, each <Z> in [-1, 1]: the standard
    # error of p(0) = (1 + <Z>) / 2 is at most sqrt(1 - <Z>^2) / (2 sqrt(trajectories)).
    z = 2 * expected[..., 0] - 1
    error = np.sqrt(1 - z**2) / (2 * np.sqrt(NOISE_TRAJECTORIES))
    deviation = np.abs(noisy[..., 0] - expected[..., 0])
    assert np.all(deviation <= 5 * error + 1e-6), (deviation / error).max()


def test_engines_are_shared_per_option_set():
    assert get_engine("tfq") is get_engine("tfq")
    assert get_engine("tfq", shots=100) is get_engine("tfq", shots=100)
    assert get_engine("tfq", shots=100) is not get_engine("tfq")
    assert (get_engine("tfq", noise=0.01).noise, get_engine("tfq", shots=7).shots) == (0.01, 7)


def test_errors_name_the_bad_value():
    postselected = QRNNConfig(2, 1, order=2)
    weights = random_weights(postselected, seed=0)
    inputs, targets, scored = random_words(postselected, 1, 2, seed=0)
    engine = get_engine("tfq")
    with pytest.raises(ValueError, match="only the coherent recurrence.*got recurrence='postselected', order=2"):
        engine.run(postselected, weights, SequenceRequest(inputs, targets, scored))
    config = _config()
    weights = random_weights(config, seed=0)
    with pytest.raises(ValueError, match="cannot mask steps"):
        engine.run(config, weights, SequenceRequest(inputs, targets, scored, mask=tf.ones_like(scored)))
    with pytest.raises(ValueError, match=r"starts every sequence from \|0...0>"):
        engine.run(config, weights, SequenceRequest(inputs, targets, scored, state=tf.ones([1, 4])))
    with pytest.raises(ValueError, match="`measurement` must be one of .*got 'mode'"):
        engine.run(config, weights, SequenceRequest(inputs, targets, scored, measurement="mode"))
    with pytest.raises(ValueError, match="runs whole sequences.*QRNN\\(..., engine='tfq'\\)"):
        step = StepRequest(
            input_word=inputs[:, 0], target_word=targets[:, 0], scored=scored[:, 0], measurement="target",
            seed=tf.zeros([2], tf.int32), state=tf.ones([1, 4]),
        )
        engine.step(config, weights, step)
    with pytest.raises(ValueError, match="adjoint differentiator needs exact expectations"):
        TFQEngine(shots=10, differentiator="adjoint")
    with pytest.raises(ValueError, match="`differentiator` must be None or one of .*got 'backprop'"):
        TFQEngine(differentiator="backprop")
    with pytest.raises(ValueError, match="`shots` must be None .*got 0"):
        TFQEngine(shots=0)
    with pytest.raises(ValueError, match=r"`noise` must be a depolarizing probability in \[0, 1\), got 1.5"):
        get_engine("tfq", noise=1.5)
    with pytest.raises(ValueError, match=r"`engine` must be one of \['auto', 'native', 'state_vector', 'tfq'\], got 'qsim'"):
        get_engine("qsim")


def test_noise_channels_follow_every_gate_on_its_qubits():
    config = _config(2, 1, 1, 2)
    engine = get_engine("tfq", noise=0.01)
    circuit = engine.readout_circuit(config, 2, 1)
    ops = list(circuit.all_operations())
    gates = [op for op in ops if not isinstance(op.gate, cirq.DepolarizingChannel)]
    assert len(ops) == sum(1 + len(op.qubits) for op in gates)
    for qubit in circuit.all_qubits():  # on each qubit: gate, channel, gate, channel, ...
        mine = [op for op in ops if qubit in op.qubits]
        assert all(isinstance(op.gate, cirq.DepolarizingChannel) == (k % 2 == 1) for k, op in enumerate(mine))
        assert {op.gate.p for op in mine[1::2]} == {0.01}
    # Noise acts on the circuit with its controlled rotations split (parameter shift's form).
    assert not any(isinstance(op, cirq.ControlledOperation) and cirq.is_parameterized(op) for op in gates)
