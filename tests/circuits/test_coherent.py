"""The coherent sequence and readout circuits (SPEC section 8) against a step-by-step Cirq simulation."""

from __future__ import annotations

import cirq
import numpy as np
import pytest
import sympy

from qrnn_tfq.circuits import cell_circuit, neuron_circuit, resolver_values
from qrnn_tfq.circuits.coherent import (
    coherent_blocks,
    coherent_readout_circuits,
    coherent_sequence_circuit,
    coherent_symbol_names,
    input_symbol_name,
    input_symbol_names,
    input_values,
    sequence_resolver,
    split_controlled_rotations,
)
from qrnn_tfq.circuits import reference
from qrnn_tfq.config import QRNNConfig


def _config(workspace=2, io=1, stages=1, degree=2):
    return QRNNConfig(workspace, io, stages=stages, degree=degree, order=0, recurrence="coherent")


def _state_after(circuit, params, lanes, initial=None):
    simulator = cirq.Simulator(dtype=np.complex128)
    return simulator.simulate(circuit + cirq.Circuit(cirq.I.on_each(*lanes)), params, qubit_order=lanes, initial_state=initial).final_state_vector


@pytest.mark.parametrize("workspace, io, stages, degree", [(2, 1, 1, 2), (2, 2, 1, 1), (3, 1, 0, 2)])
def test_readout_is_the_cell_steps_then_the_output_stage(workspace, io, stages, degree):
    # Reference: the cell circuit of SPEC section 3 (order 0) for each step with a fixed
    # word, the state carried on with the output stage left out, then the output stage.
    config = _config(workspace, io, stages, degree)
    lanes = cirq.LineQubit.range(config.num_lanes)
    rng = np.random.default_rng(workspace + io)
    weights = resolver_values(config, *reference.random_weights(config, rng))
    words = rng.integers(0, config.num_words, 3)
    params = sequence_resolver(config, weights, words)
    stages_block, output = coherent_blocks(config, lanes)
    state = None
    for t, circuit in enumerate(coherent_readout_circuits(config, lanes, 3)):
        bits = [int(words[t]) >> (io - 1 - i) & 1 for i in range(io)]
        writes = cirq.Circuit(cirq.X(lanes[i]) for i, bit in enumerate(bits) if bit)
        state = _state_after(writes + stages_block + writes, weights, lanes, state)
        expected = _state_after(output, weights, lanes, state)
        np.testing.assert_allclose(_state_after(circuit, params, lanes), expected, atol=1e-10)
        # One step with word w and the output stage is exactly cell_circuit(word) at order 0.
        assert writes + stages_block + writes + output == cell_circuit(config, lanes, [], bits)


def test_sequence_circuit_leaves_the_io_lanes_in_zero():
    config = _config(2, 2, 1, 2)
    lanes = cirq.LineQubit.range(config.num_lanes)
    rng = np.random.default_rng(0)
    weights = resolver_values(config, *reference.random_weights(config, rng))
    words = rng.integers(0, config.num_words, 4)
    state = _state_after(coherent_sequence_circuit(config, lanes, 4), sequence_resolver(config, weights, words), lanes)
    marginal = np.sum(np.abs(state.reshape(config.num_words, -1)) ** 2, axis=1)
    np.testing.assert_allclose(marginal, [1, 0, 0, 0], atol=1e-12)


def test_symbols_are_the_weights_then_the_input_bits_in_sorted_order():
    config = _config(2, 2, 1, 2)
    lanes = cirq.LineQubit.range(config.num_lanes)
    names = coherent_symbol_names(config, 12)
    weights, inputs = names[: len(config.symbol_names())], names[len(config.symbol_names()) :]
    assert weights == config.symbol_names()
    # TFQ's PQC sorts symbols by name: the input bits sort after every weight, in step order.
    assert sorted(names) == sorted(weights) + inputs
    assert input_symbol_names(config, 12)[:3] == ["x_000_0", "x_000_1", "x_001_0"]
    assert input_symbol_name(config, 1000, 7, 1) == "x_007_1" and input_symbol_name(config, 1001, 7, 1) == "x_0007_1"
    output_neurons = range(config.num_workspace_neurons, config.num_neurons)
    output_names = {config.theta_name(k) for k in output_neurons}
    output_names |= {config.phi_name(k, j) for k in output_neurons for j in range(config.num_subsets)}
    assert cirq.parameter_names(coherent_sequence_circuit(config, lanes, 12)) == set(names) - output_names
    assert cirq.parameter_names(coherent_readout_circuits(config, lanes, 12, [11])[0]) == set(names)
    # Readout t uses the inputs of steps 0..t only.
    readout = coherent_readout_circuits(config, lanes, 12, [2])[0]
    assert {n for n in cirq.parameter_names(readout) if n.startswith("x_")} == set(input_symbol_names(config, 12)[:6])
    # TFQ takes gate arguments `symbol` or `number * symbol` only.
    readout = coherent_readout_circuits(config, lanes, 2, [1])[0]
    gates = [getattr(op, "sub_operation", op).gate for op in readout.all_operations()]
    symbolic = [gate for gate in gates if cirq.is_parameterized(gate)]  # controlled ones: their rotation
    assert {str(s) for gate in symbolic for s in gate.exponent.free_symbols} == cirq.parameter_names(readout)
    for gate in symbolic:
        (symbol,) = gate.exponent.free_symbols
        assert (gate.exponent / symbol).is_number, gate


def test_input_values_are_the_word_bits_msb_first():
    config = _config(2, 2, 1, 2)
    np.testing.assert_array_equal(input_values(config, np.array([[2, 1, 3]])), [[1, 0, 0, 1, 1, 1]])
    with pytest.raises(ValueError, match=r"`input_words` must be word indices in 0..3, got \[4\]"):
        input_values(config, np.array([4]))


def test_order_zero_neuron_is_the_coherent_neuron():
    config = _config()
    lanes = cirq.LineQubit.range(config.num_lanes)
    stages_block, _ = coherent_blocks(config, lanes)
    assert cirq.Circuit(stages_block[: len(neuron_circuit(config, 0, lanes, []))]) == neuron_circuit(config, 0, lanes, [])


def test_errors_name_the_bad_value():
    lanes = cirq.LineQubit.range(3)
    with pytest.raises(ValueError, match="recurrence='coherent'.*got recurrence='postselected', order=2"):
        coherent_sequence_circuit(QRNNConfig(2, 1), lanes, 3)
    with pytest.raises(ValueError, match="`steps` must be an int >= 1 .*got 0"):
        coherent_sequence_circuit(_config(), lanes, 0)
    with pytest.raises(ValueError, match=r"`readout_steps` must lie in 0..2, got \[3\]"):
        coherent_readout_circuits(_config(), lanes, 3, [1, 3])
    with pytest.raises(ValueError, match="`lanes` must hold 3 qubits, got 2"):
        coherent_sequence_circuit(_config(), lanes[:2], 3)


def test_split_controlled_rotations_keeps_the_unitary():
    config = _config(2, 1, 1, 2)
    lanes = cirq.LineQubit.range(config.num_lanes)
    rng = np.random.default_rng(3)
    weights = resolver_values(config, *reference.random_weights(config, rng))
    params = sequence_resolver(config, weights, [1, 0])
    readout = coherent_readout_circuits(config, lanes, 2, [1])[0]
    split = split_controlled_rotations(readout)
    controlled = [op for op in split.all_operations() if isinstance(op, cirq.ControlledOperation)]
    assert controlled and all(not cirq.is_parameterized(op) for op in controlled)  # only C-X are controlled
    assert max(len(op.controls) for op in controlled) == 2
    np.testing.assert_allclose(
        cirq.unitary(cirq.resolve_parameters(split, params)), cirq.unitary(cirq.resolve_parameters(readout, params)), atol=1e-10
    )
