"""Neuron factors against a brute-force evaluation of SPEC section 2's formula."""

import itertools

import numpy as np
import pytest

import qrnn_tfq  # noqa: F401  (selects tf-keras before TensorFlow)
from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.engine import QRNNWeights, neuron_angles, neuron_cos_sin, neuron_factors
from qrnn_tfq.testing import random_weights


def brute_force_eta(cfg: QRNNConfig, weights: QRNNWeights) -> np.ndarray:
    theta, phi = weights.theta.numpy(), weights.phi.numpy()
    width = cfg.num_lanes - 1
    eta = np.zeros((cfg.num_neurons, 2**width))
    for k in range(cfg.num_neurons):
        for index, bits in enumerate(itertools.product((0, 1), repeat=width)):
            total = cfg.bias + theta[k]
            for j, subset in enumerate(cfg.subsets):
                total += phi[k, j] * np.prod([bits[p] for p in subset])
            eta[k, index] = total / 2
    return eta


@pytest.mark.parametrize("workspace, io, stages, degree", [(2, 1, 1, 1), (3, 2, 1, 2), (3, 2, 2, 3), (4, 1, 0, 4)])
def test_angles_match_brute_force(workspace, io, stages, degree):
    cfg = QRNNConfig(workspace, io, stages, degree)
    weights = random_weights(cfg, seed=workspace * 10 + degree)
    np.testing.assert_allclose(neuron_angles(cfg, weights).numpy(), brute_force_eta(cfg, weights), atol=1e-12)


@pytest.mark.parametrize("order", [0, 1, 2, 3])
def test_factors_are_powers_of_cos_and_sin(order):
    cfg = QRNNConfig(3, 2, 1, 2, order=order)
    weights = random_weights(cfg, seed=order)
    eta = brute_force_eta(cfg, weights)
    factors = neuron_factors(cfg, weights)
    num_ws = cfg.num_workspace_neurons
    cos, sin = neuron_cos_sin(cfg, weights)
    np.testing.assert_allclose(cos.numpy(), np.cos(eta) ** (2**order), atol=1e-12)
    np.testing.assert_allclose(sin.numpy(), np.sin(eta) ** (2**order), atol=1e-12)
    # The workspace table holds, for input word x, neuron k's factors on branches (x, rest).
    table = factors.workspace_table.numpy().reshape(cfg.num_words, num_ws, 2, -1)
    expected_cos = (np.cos(eta[:num_ws]) ** (2**order)).reshape(num_ws, cfg.num_words, -1)
    np.testing.assert_allclose(table[:, :, 0, :], expected_cos.transpose(1, 0, 2), atol=1e-12)
    np.testing.assert_allclose(factors.work_cos.numpy(), np.cos(weights.work_angles.numpy() / 2), atol=1e-12)
