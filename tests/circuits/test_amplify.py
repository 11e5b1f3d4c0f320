"""Amplified neurons (SPEC section 8): the Cirq circuit against the branch-by-branch formula."""

from __future__ import annotations

import cirq
import numpy as np
import pytest

from qrnn_tfq.amplification import (
    amplified_gain,
    amplified_success,
    fixed_point_schedule,
    neuron_success_bound,
    rounds_for,
)
from qrnn_tfq.circuits import product_state, reference, resolver, simulate_postselected
from qrnn_tfq.circuits.amplify import amplified_cell_circuit, amplified_neuron_circuit, num_amplified_ancillas
from qrnn_tfq.config import QRNNConfig

# (workspace_lanes, io_lanes, degree, order, rounds)
CASES = [(2, 1, 2, 1, 1), (2, 1, 1, 1, 3), (2, 1, 2, 2, 2), (2, 1, 1, 3, 2), (1, 2, 2, 2, 1)]


def _setup(workspace_lanes, io_lanes, degree, order, seed):
    config = QRNNConfig(workspace_lanes=workspace_lanes, io_lanes=io_lanes, stages=1, degree=degree, order=order)
    rng = np.random.default_rng(seed)
    theta, phi, work_angles = reference.random_weights(config, rng)
    lanes = cirq.LineQubit.range(config.num_lanes)
    ancillas = cirq.LineQubit.range(config.num_lanes, config.num_lanes + num_amplified_ancillas(config))
    return config, rng, theta, phi, resolver(config, theta, phi, work_angles), lanes, ancillas


@pytest.mark.parametrize("workspace_lanes, io_lanes, degree, order, rounds", CASES)
def test_amplified_circuit_is_the_branchwise_map(workspace_lanes, io_lanes, degree, order, rounds):
    """Simulated and postselected on success, each neuron is `h(lambda(x)) [[c, -s], [s, c]]` per branch."""
    config, rng, theta, phi, params, lanes, ancillas = _setup(workspace_lanes, io_lanes, degree, order, seed=order)
    schedule = fixed_point_schedule(rounds, neuron_success_bound(order))
    states = [reference.basis_state(config, i) for i in (0, 2**config.num_lanes - 1)]
    states += [product_state(rng.uniform(0, 2 * np.pi, config.num_lanes)), reference.random_state(config, rng)]
    for neuron in range(config.num_neurons):
        circuit = amplified_neuron_circuit(config, neuron, lanes, ancillas, schedule)
        for state in states:
            got, p_got = simulate_postselected(circuit, lanes, state, params, real=False)
            want, p_want = reference.apply_neuron(config, neuron, state, theta, phi, schedule=schedule)
            np.testing.assert_allclose(got, want, atol=1e-9)
            assert p_got == pytest.approx(p_want, rel=1e-9)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_success_is_oblivious_to_the_target(order):
    """Before amplification the success probability on a branch is c^2 + s^2 for every target state."""
    config, rng, theta, phi, params, lanes, _ = _setup(2, 1, 2, order, seed=10 + order)
    fresh = cirq.LineQubit.range(config.num_lanes, config.num_lanes + 2**order - 1)
    from qrnn_tfq.circuits import neuron_circuit

    circuit = neuron_circuit(config, 0, lanes, fresh, fresh_ancillas=True)
    target = config.neuron_target(0)
    for index in range(2**config.num_lanes):
        if reference.lane_bit(config, index, target):
            continue
        eta = reference.neuron_eta(config, 0, theta, phi, index)
        lam = np.cos(eta) ** (2 ** (order + 1)) + np.sin(eta) ** (2 ** (order + 1))
        for angle in rng.uniform(0, 2 * np.pi, 3):  # the target in cos|0> + sin|1>
            state = np.zeros(2**config.num_lanes)
            state[index] = np.cos(angle)
            state[index | 1 << (config.num_lanes - 1 - target)] = np.sin(angle)
            _, p = simulate_postselected(circuit, lanes, state, params)
            assert p == pytest.approx(lam, rel=1e-9)


@pytest.mark.parametrize("rounds, bound", [(1, 0.5), (2, 2.0**-3), (4, 2.0**-3), (6, 2.0**-7)])
def test_fixed_point_guarantee(rounds, bound):
    """Every branch with lambda >= w succeeds with probability at least 1 - delta^2."""
    schedule = fixed_point_schedule(rounds, bound)
    lam = np.linspace(bound, 1.0, 4001)
    assert np.min(amplified_success(lam, schedule)) >= 1 - schedule.delta**2 - 1e-12
    # ... and amplification helps where the bound holds: more rounds, smaller delta.
    assert fixed_point_schedule(rounds + 1, bound).delta < schedule.delta


def test_gain_matches_the_two_dimensional_picture():
    """h(lambda) from the polynomial recursion equals the explicit 2x2 reflections."""
    schedule = fixed_point_schedule(3, 0.1)
    for lam in (0.05, 0.1, 0.4, 0.93):
        r = np.sqrt(lam)
        s = np.array([r, np.sqrt(1 - lam)], complex)  # |s> in the basis |t>, |t_perp>
        t = np.array([1, 0], complex)
        v = s.copy()
        for alpha, beta in zip(schedule.alphas, schedule.betas):
            v = v - (1 - np.exp(1j * beta)) * t * (t.conj() @ v)
            v = v - (1 - np.exp(-1j * alpha)) * s * (s.conj() @ v)
        assert v[0] == pytest.approx(r * amplified_gain(lam, schedule), abs=1e-12)


def test_rounds_for_reaches_delta():
    for bound, delta in ((0.5, 0.01), (2.0**-3, 0.1), (2.0**-7, 0.05)):
        rounds = rounds_for(bound, delta)
        assert fixed_point_schedule(rounds, bound).delta <= delta
        if rounds > 1:
            assert fixed_point_schedule(rounds - 1, bound).delta > delta


def test_amplified_cell_uses_one_set_of_ancillas():
    config = QRNNConfig(workspace_lanes=2, io_lanes=1, stages=1, degree=1, order=2)
    lanes = cirq.LineQubit.range(3)
    ancillas = cirq.LineQubit.range(3, 6)
    circuit = amplified_cell_circuit(config, lanes, ancillas, [1], schedule=fixed_point_schedule(1, 0.125))
    assert circuit.all_qubits() == set(lanes) | set(ancillas)
    assert sum(1 for op in circuit.all_operations() if cirq.is_measurement(op)) == config.num_neurons


def test_errors_name_the_value():
    with pytest.raises(ValueError, match="`rounds` must be an int >= 1, got 0"):
        fixed_point_schedule(0, 0.5)
    with pytest.raises(ValueError, match=r"`lower_bound` must be a success probability in \(0, 1\], got 1.5"):
        fixed_point_schedule(1, 1.5)
    with pytest.raises(ValueError, match="order >= 1.*got order 0"):
        num_amplified_ancillas(QRNNConfig(workspace_lanes=2, io_lanes=1, order=0))


@pytest.mark.parametrize("order, rounds", [(1, 1), (2, 2), (2, 4), (3, 3)])
def test_every_branch_succeeds_with_one_minus_delta_squared(order, rounds):
    """The circuit itself, on every basis branch: success >= 1 - delta^2 (lambda >= w always holds)."""
    config, _, theta, phi, params, lanes, ancillas = _setup(2, 1, 2, order, seed=20 + order)
    schedule = fixed_point_schedule(rounds, neuron_success_bound(order))
    for neuron in range(config.num_neurons):
        circuit = amplified_neuron_circuit(config, neuron, lanes, ancillas, schedule)
        for index in range(2**config.num_lanes):
            _, success = simulate_postselected(circuit, lanes, index, params, real=False)
            assert success >= 1 - schedule.delta**2 - 1e-9
