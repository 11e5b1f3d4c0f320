"""qrnn_tfq.hardware.devices: names, scale, Willow's device and figures, rainbow as noisy.py builds it."""

import math

import cirq
import cirq_google
import numpy as np
import pytest
from cirq.devices.noise_utils import OpIdentifier

from qrnn_tfq.hardware import devices

A, B, C = cirq.GridQubit(6, 0), cirq.GridQubit(6, 1), cirq.GridQubit(6, 2)  # Willow's longest row
RAINBOW_A, RAINBOW_B = cirq.GridQubit(4, 1), cirq.GridQubit(4, 2)  # a rainbow coupler
XZ = cirq.PhasedXZGate(x_exponent=0.5, z_exponent=0.25, axis_phase_exponent=-0.125)


def _noisy_density_matrix(model: cirq.NoiseModel, circuit: cirq.Circuit) -> np.ndarray:
    """The final density matrix of `circuit` under `model`, measurements dropped (their readout noise kept)."""
    noisy = cirq.Circuit(model.noisy_moments(circuit, sorted(circuit.all_qubits())))
    noisy = cirq.drop_empty_moments(cirq.Circuit(op for op in noisy.all_operations() if not cirq.is_measurement(op)))
    simulator = cirq.DensityMatrixSimulator(dtype=np.complex128)
    return simulator.simulate(noisy, qubit_order=sorted(circuit.all_qubits())).final_density_matrix


def test_names_and_gates():
    assert devices.HARDWARE_DEVICES == ("willow", "rainbow", "weber")
    assert [devices.two_qubit_gate(d) for d in devices.HARDWARE_DEVICES] == ["cz", "sqrt_iswap", "sqrt_iswap"]
    for call in (devices.two_qubit_gate, devices.hardware_device, devices.noise_properties, devices.noise_figures):
        with pytest.raises(ValueError, match=r"'sycamore'.*'willow', 'rainbow', 'weber'"):
            call("sycamore")


@pytest.mark.parametrize("scale", [0.0, 0.2, 4.5, -1.0, math.nan, math.inf])
def test_scale_out_of_range(scale):
    with pytest.raises(ValueError, match=rf"scale {scale!r} is outside \[0.25, 4.0\]"):
        devices.noise_properties("willow", scale)
    with pytest.raises(ValueError, match="outside"):
        devices.noise_model("rainbow", scale)


def test_willow_device_size_and_adjacency():
    device = devices.hardware_device("willow")
    qubits = device.metadata.qubit_set
    assert len(qubits) == 105 and qubits == set(devices.willow_qubits())
    pairs = {frozenset(p) for p in device.metadata.qubit_pairs}
    assert len(pairs) == 182
    assert pairs == {frozenset((a, b)) for a in qubits for b in qubits if a < b and a.is_adjacent(b)}
    assert devices.hardware_device("rainbow") is devices.hardware_device("rainbow")
    assert len(devices.hardware_device("rainbow").metadata.qubit_set) == 23
    assert len(devices.hardware_device("weber").metadata.qubit_set) == 53


def test_willow_validate_circuit():
    device = devices.hardware_device("willow")
    good = cirq.Circuit(
        XZ(A), XZ(B), cirq.CZ(A, B), cirq.CZ(B, C), cirq.Z(A), cirq.Z(B).with_tags(cirq_google.PhysicalZTag()),
        cirq.wait(C, nanos=20), cirq.measure(A, B, C, key="m"),
    )  # fmt: skip
    device.validate_circuit(good)
    with pytest.raises(ValueError, match="Qubit pair is not valid"):
        device.validate_circuit(cirq.Circuit(cirq.CZ(A, C)))
    with pytest.raises(ValueError, match="not supported"):
        device.validate_circuit(cirq.Circuit(cirq.SQRT_ISWAP(A, B)))


def test_willow_figures_are_the_sources():
    figures = devices.noise_figures("willow")
    shared = ["t1_us", "one_qubit_pauli_error", "two_qubit_pauli_error", "readout_p01", "readout_p10"]
    shared += ["one_qubit_ns", "two_qubit_ns", "measurement_ns"]
    assert {k: figures[k] for k in shared} == {k: devices.WILLOW_FIGURES[k] for k in shared}
    # Spot checks against the v1.6.0 calibration file's medians, written out once more.
    assert figures["two_qubit_pauli_error"] == pytest.approx(0.0034428202674625583, rel=1e-15)
    assert figures["t1_us"] == pytest.approx(70.17575594332381, rel=1e-15)
    # T_phi from the incoherent error: t/(3 T1) + t/(3 T_phi) = e_incoherent for t = 25 ns.
    t = 25.0
    e = t / (3 * figures["t1_us"] * 1e3) + t / (3 * figures["tphi_us"] * 1e3)
    assert e == pytest.approx(devices.WILLOW_FIGURES["one_qubit_incoherent_error"], rel=1e-12)
    props = devices.noise_properties("willow")
    figure = devices.WILLOW_FIGURES
    assert props.gate_pauli_errors[OpIdentifier(cirq.CZPowGate, B, A)] == figure["two_qubit_pauli_error"]
    assert props.t1_ns[C] == figure["t1_us"] * 1000
    assert list(props.readout_errors[C]) == [figure["readout_p01"], figure["readout_p10"]]
    assert props.gate_times_ns[cirq.CZPowGate] == 42.0


def test_rainbow_scale_one_is_noisy_py_model():
    circuit = cirq.Circuit(
        XZ(RAINBOW_A), XZ(RAINBOW_B) ** -1, cirq.SQRT_ISWAP(RAINBOW_A, RAINBOW_B), XZ(RAINBOW_B),
        cirq.SQRT_ISWAP_INV(RAINBOW_A, RAINBOW_B), cirq.measure(RAINBOW_A, RAINBOW_B, key="m"),
    )  # fmt: skip
    ours = _noisy_density_matrix(devices.noise_model("rainbow"), circuit)
    cirqs = cirq_google.NoiseModelFromGoogleNoiseProperties(cirq_google.engine.noise_properties_from_calibration(
        cirq_google.engine.load_median_device_calibration("rainbow")))  # what noisy.py built before it delegated
    theirs = _noisy_density_matrix(cirqs, circuit)
    np.testing.assert_allclose(ours, theirs, atol=1e-12)
    ideal = cirq.final_density_matrix(cirq.drop_terminal_measurements(circuit), dtype=np.complex128)
    assert np.abs(ours - ideal).max() > 1e-3  # the model does add noise
    assert devices.noise_properties("weber") == cirq_google.engine.noise_properties_from_calibration(
        cirq_google.engine.load_median_device_calibration("weber")
    )


@pytest.mark.parametrize("device, qubit", [("rainbow", RAINBOW_A), ("willow", A)])
def test_scale_two_doubles_one_qubit_fidelity_loss(device, qubit):
    circuit = cirq.Circuit([XZ(qubit)] * 6)
    ideal = cirq.final_state_vector(circuit, dtype=np.complex128)

    def loss(scale: float) -> float:
        rho = _noisy_density_matrix(devices.noise_model(device, scale), circuit)
        return 1 - float(np.real(ideal.conj() @ rho @ ideal))

    small, double = loss(1.0), loss(2.0)
    assert small > 0
    assert 1.9 < double / small < 2.05  # linear to first order in the (small) errors


def test_scale_multiplies_every_error():
    base, scaled = devices.noise_properties("rainbow"), devices.noise_properties("rainbow", 0.5)
    key = next(iter(base.gate_pauli_errors))
    assert scaled.gate_pauli_errors[key] == base.gate_pauli_errors[key] * 0.5
    assert scaled.t1_ns[RAINBOW_A] == base.t1_ns[RAINBOW_A] * 2
    assert scaled.tphi_ns[RAINBOW_A] == base.tphi_ns[RAINBOW_A] * 2
    np.testing.assert_array_equal(scaled.readout_errors[RAINBOW_A], np.asarray(base.readout_errors[RAINBOW_A]) * 0.5)
    fsim = next(iter(base.fsim_errors))
    assert scaled.fsim_errors[fsim].theta == base.fsim_errors[fsim].theta * 0.5
    assert scaled.gate_times_ns == base.gate_times_ns
    worst = devices.noise_properties("rainbow", 4.0).readout_errors
    assert max(max(e) for e in worst.values()) == devices.MAX_READOUT_ERROR  # rainbow's worst P(0|1) is 0.387


def test_willow_cz_gets_depolarising_noise():
    circuit = cirq.Circuit(cirq.CZ(A, B))
    noisy = cirq.Circuit(devices.noise_model("willow").noisy_moments(circuit, [A, B]))
    ops = list(noisy.all_operations())
    depolarising = [op for op in ops if isinstance(op.gate, cirq.DepolarizingChannel)]
    assert len(depolarising) == 1 and set(depolarising[0].qubits) == {A, B}
    assert ops.index(depolarising[0]) > ops.index(next(op for op in ops if isinstance(op.gate, cirq.CZPowGate)))
    # The Pauli error less the thermal and coherent (PhasedFSim) parts remains.
    assert 0.5 * devices.WILLOW_FIGURES["two_qubit_pauli_error"] < depolarising[0].gate.p
    assert depolarising[0].gate.p < devices.WILLOW_FIGURES["two_qubit_pauli_error"]
    assert any(isinstance(op.gate, cirq.PhasedFSimGate) for op in ops)
