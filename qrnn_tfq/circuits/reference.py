"""A plain float64 numpy reference of the fast neuron and the cell step (SPEC sections 2-3).

Written for obviousness, not speed: it loops over basis indices. States are real vectors
of length `2^n` over the lanes, lane 0 the most significant bit. Tests compare the
postselected Cirq circuits and the TensorFlow engine against it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qrnn_tfq.amplification import FixedPointSchedule, amplified_gain
from qrnn_tfq.config import QRNNConfig


def lane_bit(config: QRNNConfig, index: int, lane: int) -> int:
    """Bit of `lane` in basis index `index` (lane 0 is the most significant bit)."""
    return (index >> (config.num_lanes - 1 - lane)) & 1


def neuron_eta(config: QRNNConfig, neuron: int, theta: np.ndarray, phi: np.ndarray, index: int) -> float:
    """`eta(x) = (b + theta + sum_S phi_S prod_{i in S} x_i) / 2` on basis index `index` (SPEC 2).

    Args:
        theta: `(N,)` biases of all neurons.
        phi: `(N, K)` subset weights of all neurons.
        index: a basis index of all lanes; the target's bit is ignored.
    """
    total = config.bias + theta[neuron]
    for subset in range(config.num_subsets):
        if all(lane_bit(config, index, lane) for lane in config.neuron_subset_lanes(neuron, subset)):
            total += phi[neuron, subset]
    return 0.5 * total


def apply_neuron(
    config: QRNNConfig,
    neuron: int,
    state: np.ndarray,
    theta: np.ndarray,
    phi: np.ndarray,
    *,
    order: int | None = None,
    schedule: FixedPointSchedule | None = None,
) -> tuple[np.ndarray, float]:
    """The fast neuron of SPEC section 2 on a full state vector.

    On every branch `x` of the source lanes: `a0' = c a0 - s a1`, `a1' = s a0 + c a1` with
    `c = cos(eta)^(2^ord)`, `s = sin(eta)^(2^ord)`; then renormalise. With a `schedule`
    (SPEC section 8, amplified neuron) `c` and `s` are both multiplied by the complex
    `h(c^2 + s^2)` of `qrnn_tfq.amplification.amplified_gain`, and the state is complex.

    Returns:
        The renormalised state `(2^n,)` and the squared norm before renormalising, which
        is the postselection success probability of the hardware neuron.
    """
    order = config.order if order is None else order
    state = np.asarray(state, dtype=np.float64 if schedule is None else np.complex128)
    target = config.neuron_target(neuron)
    target_mask = 1 << (config.num_lanes - 1 - target)
    new = np.zeros_like(state)
    for index0 in range(2**config.num_lanes):
        if index0 & target_mask:
            continue
        index1 = index0 | target_mask
        eta = neuron_eta(config, neuron, theta, phi, index0)
        c, s = np.cos(eta) ** (2**order), np.sin(eta) ** (2**order)
        if schedule is not None:
            gain = amplified_gain(c * c + s * s, schedule)
            c, s = c * gain, s * gain
        a0, a1 = state[index0], state[index1]
        new[index0] = c * a0 - s * a1
        new[index1] = s * a0 + c * a1
    probability = float(np.sum(np.abs(new) ** 2))
    return new / np.sqrt(probability), probability


def apply_ry(config: QRNNConfig, lane: int, angle: float, state: np.ndarray) -> np.ndarray:
    """`ry(angle) = [[cos a/2, -sin a/2], [sin a/2, cos a/2]]` on `lane`."""
    mask = 1 << (config.num_lanes - 1 - lane)
    c, s = np.cos(angle / 2), np.sin(angle / 2)
    new = np.array(state, dtype=np.result_type(state, np.float64))
    for index0 in range(2**config.num_lanes):
        if not index0 & mask:
            a0, a1 = state[index0], state[index0 | mask]
            new[index0], new[index0 | mask] = c * a0 - s * a1, s * a0 + c * a1
    return new


def apply_x(config: QRNNConfig, lane: int, state: np.ndarray) -> np.ndarray:
    """Pauli X on `lane`: swap the amplitudes of the two values of its bit."""
    mask = 1 << (config.num_lanes - 1 - lane)
    return np.array([state[index ^ mask] for index in range(2**config.num_lanes)], dtype=np.result_type(state, np.float64))


def basis_state(config: QRNNConfig, index: int = 0) -> np.ndarray:
    """The basis state `|index>` of the lanes."""
    state = np.zeros(2**config.num_lanes)
    state[index] = 1.0
    return state


def cell_step(
    config: QRNNConfig,
    input_word: Sequence[int],
    theta: np.ndarray,
    phi: np.ndarray,
    work_angles: np.ndarray,
    state: np.ndarray | None = None,
    *,
    order: int | None = None,
) -> tuple[np.ndarray, float]:
    """SPEC section 3 steps 1-5 on `state` (all lanes 0 if None); the state before measurement.

    Args:
        input_word: `I` bits, lane 0 first.
        theta, phi, work_angles: weights of shapes `(N,)`, `(N, K)`, `(S, W)`.
        state: the lanes' state at the start of the step (in/out lanes normally 0).
        order: neuron order; `config.order` if None.

    Returns:
        The state after the output stage (complex with `config.amplification`, SPEC
        section 8) and the product of all neurons' ancilla success probabilities.
    """
    dtype = np.float64 if config.schedule is None else np.complex128
    state = basis_state(config) if state is None else state
    state = np.asarray(state, dtype=dtype)
    W, I = config.workspace_lanes, config.io_lanes
    probability = 1.0

    def neuron(k: int) -> None:
        nonlocal state, probability
        state, p = apply_neuron(config, k, state, theta, phi, order=order, schedule=config.schedule)
        probability *= p

    ones = [lane for lane, bit in enumerate(input_word) if bit]
    for lane in ones:  # step 1
        state = apply_x(config, lane, state)
    for k in range(W):  # step 2
        neuron(k)
    for stage in range(config.stages):  # step 3
        for w in range(W):
            state = apply_ry(config, I + w, work_angles[stage, w], state)
        for k in range(W * (stage + 1), W * (stage + 2)):
            neuron(k)
    for lane in ones:  # step 4
        state = apply_x(config, lane, state)
    for k in range(config.num_workspace_neurons, config.num_neurons):  # step 5
        neuron(k)
    return state, probability


def random_weights(
    config: QRNNConfig, rng: np.random.Generator, scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights `theta (N,)`, `phi (N, K)`, `work_angles (S, W)`, all `~ N(0, scale)`, for tests."""
    theta = rng.normal(0.0, scale, size=config.num_neurons)
    phi = rng.normal(0.0, scale, size=(config.num_neurons, config.num_subsets))
    work_angles = rng.normal(0.0, scale, size=(config.stages, config.workspace_lanes))
    return theta, phi, work_angles


def random_state(config: QRNNConfig, rng: np.random.Generator) -> np.ndarray:
    """A random real unit vector over the lanes (entangled in general), for tests."""
    state = rng.normal(size=2**config.num_lanes)
    return state / np.linalg.norm(state)
