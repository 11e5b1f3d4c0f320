"""Exported files round-trip: Cirq JSON exactly, the proto to 32-bit angles, QASM by unitary."""

import os

import cirq
import numpy as np
import pytest

from qrnn_tfq.circuits import PostselectTag, neuron_circuit
from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.export.compile import compile_circuit, load_device
from qrnn_tfq.export.files import (
    read_json,
    read_proto,
    read_qasm,
    write_circuit_files,
    write_json,
)
from qrnn_tfq.export.steps import compile_cell, sequence_circuit

CONFIG = QRNNConfig(2, 1, 1, 2, 2)


def random_weights(config: QRNNConfig, seed: int):
    from qrnn_tfq.export.cells import CellWeights

    rng = np.random.default_rng(seed)
    return CellWeights(
        rng.normal(size=config.num_neurons),
        rng.normal(size=(config.num_neurons, config.num_subsets)),
        rng.normal(size=(config.stages, config.workspace_lanes)),
    )


@pytest.fixture(scope="module", params=["cz", "sqrt_iswap"])
def cell(request):
    return compile_cell(CONFIG, random_weights(CONFIG, 0), "rainbow", request.param)


@pytest.fixture(scope="module")
def unitary_circuit():
    """A compiled neuron with fresh ancillas: no measurements, so it has a unitary."""
    lanes = cirq.LineQubit.range(CONFIG.num_lanes)
    ancillas = cirq.LineQubit.range(CONFIG.num_lanes, CONFIG.num_lanes + 3)
    circuit = neuron_circuit(CONFIG, 2, lanes, ancillas, fresh_ancillas=True)
    circuit = cirq.resolve_parameters(circuit, random_weights(CONFIG, 1).resolver(CONFIG))
    return compile_circuit(circuit, "rainbow", "sqrt_iswap").circuit


def test_json_round_trip_is_exact_and_keeps_the_postselect_tags(cell, tmp_path):
    step = cell.step_circuit([1])
    paths = write_circuit_files(tmp_path, "cell", step)
    back = read_json(paths["json"])
    assert back == step
    tagged = [op for op in back.all_operations() if PostselectTag() in op.tags]
    assert len(tagged) == CONFIG.num_neurons * 3  # order 2: three postselections per neuron
    assert sorted(os.listdir(tmp_path)) == ["cell.json", "cell.pb", "cell.qasm"]  # no temporary files left


def test_sequence_json_round_trip_with_classical_control(cell, tmp_path):
    inputs = np.array([[1], [0], [1]])
    sequence = sequence_circuit(cell, inputs, reset="measured")
    assert read_json(write_json(tmp_path / "sequence.json", sequence)) == sequence
    assert any(isinstance(op, cirq.ClassicallyControlledOperation) for op in sequence.all_operations())


def test_proto_round_trip_equals_up_to_32_bit_angles(cell, tmp_path):
    step = cell.step_circuit([0])
    back = read_proto(write_circuit_files(tmp_path, "cell", step)["proto"])
    assert len(back) == len(step)
    for moment, original in zip(back, step):
        assert sorted(moment.qubits) == sorted(original.qubits)
        for op in original:
            twin = moment.operation_at(op.qubits[0])
            assert twin.qubits == op.qubits
            if cirq.is_measurement(op):
                assert cirq.measurement_key_name(twin) == cirq.measurement_key_name(op)
            else:
                np.testing.assert_allclose(cirq.unitary(twin), cirq.unitary(op), atol=1e-6)
    load_device("rainbow").validate_circuit(back)


def test_proto_of_a_unitary_circuit_has_its_unitary(unitary_circuit, tmp_path):
    back = read_proto(write_circuit_files(tmp_path, "neuron", unitary_circuit)["proto"])
    qubits = sorted(unitary_circuit.all_qubits())
    cirq.testing.assert_allclose_up_to_global_phase(
        back.unitary(qubit_order=qubits), unitary_circuit.unitary(qubit_order=qubits), atol=1e-5
    )


def test_qasm_round_trip_has_the_same_unitary(unitary_circuit, tmp_path):
    back = read_qasm(write_circuit_files(tmp_path, "neuron", unitary_circuit)["qasm"])
    qubits = sorted(unitary_circuit.all_qubits())  # cirq.qasm numbers them in this order: q_0, q_1, ...
    names = [cirq.NamedQubit(f"q_{i}") for i in range(len(qubits))]
    cirq.testing.assert_allclose_up_to_global_phase(
        back.unitary(qubit_order=names), unitary_circuit.unitary(qubit_order=qubits), atol=1e-8
    )


def test_qasm_keeps_the_mid_circuit_measurements(cell, tmp_path):
    step = cell.step_circuit([1])
    back = read_qasm(write_circuit_files(tmp_path, "cell", step)["qasm"])
    keys = sorted(cirq.measurement_key_names(step))
    # circuit_from_qasm names a bit `<creg>_<index>`; cirq.qasm names a register `m_<key>`.
    assert sorted(key.removeprefix("m_").rsplit("_", 1)[0] for key in cirq.measurement_key_names(back)) == keys


def test_a_failed_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "cell.json"
    path.write_text("old")
    with pytest.raises(TypeError, match="must be a cirq.Circuit, got str"):
        write_json(path, "not a circuit")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["cell.json"]


def test_cell_json_loads_without_this_package(cell, tmp_path):
    """Where qrnn_tfq cannot be installed (cirq >= 1.6 for Willow-class devices), a stand-in
    class for the tag is all `cirq.read_json` needs (docs/EXPORT.md)."""

    class StandInPostselectTag:
        pass

    path = write_json(tmp_path / "cell.json", cell.step_circuit([1]))
    resolvers = [lambda name: StandInPostselectTag if name == "qrnn_tfq.PostselectTag" else None,
                 *cirq.DEFAULT_RESOLVERS]
    back = cirq.read_json(path, resolvers=resolvers)
    assert back.map_operations(lambda op: op.untagged) == cell.step_circuit([1]).map_operations(lambda op: op.untagged)
    assert any(isinstance(tag, StandInPostselectTag) for op in back.all_operations() for tag in op.tags)


@pytest.mark.parametrize("device", ["rainbow", "weber"])
def test_what_the_devices_accept(device):
    """The facts docs/EXPORT.md states: mid-circuit measurements pass validation and the
    proto; resets, classical control and repeat-until loops serialize but do not validate."""
    import cirq_google

    grid = load_device(device)
    a = min(grid.metadata.qubit_set)
    accepted = cirq.Circuit(cirq.X(a), cirq.measure(a, key="post_0"), cirq.X(a), cirq.measure(a, key="post_1"))
    grid.validate_circuit(accepted)
    rejected = {
        "reset": cirq.Circuit(cirq.measure(a, key="m"), cirq.ResetChannel().on(a)),
        "classical control": cirq.Circuit(cirq.measure(a, key="m"), cirq.X(a).with_classical_controls("m")),
        "repeat until": cirq.Circuit(cirq.CircuitOperation(
            cirq.FrozenCircuit(cirq.X(a) ** 0.5, cirq.measure(a, key="m")), use_repetition_ids=False,
            repeat_until=cirq.KeyCondition(cirq.MeasurementKey("m")))),
    }
    for name, circuit in rejected.items():
        reason = "nondeterministic repetitions" if name == "repeat until" else "not supported"
        with pytest.raises(ValueError, match=reason):
            grid.validate_circuit(circuit)
        if name != "repeat until":
            assert cirq_google.CIRCUIT_SERIALIZER.deserialize(cirq_google.CIRCUIT_SERIALIZER.serialize(circuit)) == circuit
