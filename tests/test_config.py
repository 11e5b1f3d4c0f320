"""QRNNConfig: SPEC section 3's parameter counts, layout and argument checks."""

import math

import pytest

from qrnn_tfq.config import QRNNConfig


@pytest.mark.parametrize(
    "workspace, io, stages, degree, expected",
    [(8, 2, 2, 2, 1212), (6, 2, 2, 3, 1292), (5, 3, 1, 3, 837), (5, 3, 2, 3, 1162)],
)
def test_spec_parameter_counts(workspace, io, stages, degree, expected):
    assert QRNNConfig(workspace, io, stages, degree).num_parameters == expected


@pytest.mark.parametrize("workspace, io, stages, degree", [(1, 1, 0, 1), (4, 2, 1, 3), (3, 3, 3, 5)])
def test_parameter_count_formula(workspace, io, stages, degree):
    cfg = QRNNConfig(workspace, io, stages, degree)
    n = workspace + io
    per_neuron = 1 + sum(math.comb(n - 1, k) for k in range(1, degree + 1))
    assert cfg.num_neurons == workspace * (stages + 1) + io
    assert cfg.num_parameters == cfg.num_neurons * per_neuron + stages * workspace
    assert len(cfg.symbol_names()) == cfg.num_parameters


def test_layout():
    cfg = QRNNConfig(workspace_lanes=3, io_lanes=2, stages=1, degree=2)
    targets = [cfg.neuron_target(k) for k in range(cfg.num_neurons)]
    assert targets == [2, 3, 4, 2, 3, 4, 0, 1]
    assert cfg.neuron_sources(0) == (0, 1, 3, 4)
    assert cfg.subsets[:4] == ((0,), (1,), (2,), (3,))
    assert cfg.subsets[4] == (0, 1)
    assert cfg.neuron_subset_lanes(6, 4) == (1, 2)


def test_symbol_names_sort_in_weight_order():
    cfg = QRNNConfig(workspace_lanes=8, io_lanes=2, stages=2, degree=2)
    names = cfg.symbol_names()
    assert len(set(names)) == len(names)
    for prefix in ("theta_", "phi_", "work_"):
        group = [n for n in names if n.startswith(prefix)]
        assert group == sorted(group)
    assert cfg.phi_name(3, 12) == "phi_003_012"


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"workspace_lanes": 0, "io_lanes": 1}, ValueError, "`workspace_lanes` must be at least 1, got 0"),
        ({"workspace_lanes": 2, "io_lanes": 1, "degree": 3}, ValueError, "`degree` must be between 1 and .* got 3"),
        ({"workspace_lanes": 29, "io_lanes": 2}, ValueError, "at most 30, got 29 \\+ 2 = 31"),
        ({"workspace_lanes": 2.0, "io_lanes": 1}, TypeError, "`workspace_lanes` must be an int, got 2.0"),
        ({"workspace_lanes": 2, "io_lanes": 1, "order": -1}, ValueError, "`order` must be at least 0, got -1"),
        ({"workspace_lanes": 2, "io_lanes": 1, "bias": math.inf}, ValueError, "`bias` must be a finite number"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        QRNNConfig(**kwargs)


def test_neuron_out_of_range():
    with pytest.raises(ValueError, match="`neuron` must be between 0 and 7, got 8"):
        QRNNConfig(3, 2, 1, 2).neuron_target(8)
