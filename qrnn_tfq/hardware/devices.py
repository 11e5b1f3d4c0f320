"""Devices and noise models of three Google processors, by name (docs/HARDWARE.md, "Noise models").

    device = hardware_device("willow")               # a cirq_google.GridDevice
    model = noise_model("willow", scale=2.0)          # a cirq.NoiseModel at twice the noise

"rainbow" and "weber" are cirq_google 1.5's own: the device of the processor id and the
noise properties of its stored median calibration, exactly as
`qrnn_tfq.export.noisy.calibrated_noise_model` builds them. Their calibrations give gate
errors only for sqrt-iSWAP and Sycamore, so their two-qubit gate here is sqrt-iSWAP.

cirq 1.5 knows no Willow processor (and TFQ 0.7.6 pins cirq < 1.6), so "willow" is built
here from the median figures of the `willow_pink` calibration and device specification that
Cirq ships from v1.6 (`WILLOW_SOURCE`, `WILLOW_FIGURES`): the 105 qubits and 182 couplers
of that specification, CZ as the two-qubit gate, and the same medians on every qubit and
coupler, read the way cirq >= 1.6 reads them (`noise_properties_from_calibration`).

`scale` (0.25 to 4, for a noise-versus-accuracy curve) multiplies every Pauli error, every
readout error (scaled up to at most 0.5), the decay rates 1/T1 and 1/T_phi and every angle of the
coherent two-qubit errors (`fsim_errors`); gate durations stay.
"""

from __future__ import annotations

import functools

import cirq
import cirq_google
import numpy as np
from cirq.devices.noise_utils import OpIdentifier
from cirq_google.api import v2

HARDWARE_DEVICES = ("willow", "rainbow", "weber")
SCALE_RANGE = (0.25, 4.0)
MAX_READOUT_ERROR = 0.5  # a scaled-up readout error stops here (a coin flip), or at its unscaled value if worse

# Where the Willow figures come from: Cirq's repository, tag v1.6.0.
WILLOW_SOURCE = {
    "repository": "github.com/quantumlib/Cirq",
    "tag": "v1.6.0",
    "commit": "2a2b6f178d7c0eab54ff0e3488082926339052ea",
    "calibration": "cirq-google/cirq_google/devices/calibrations/willow_pink_d7v1-2024_08_16_calibration.json",
    "specification": "cirq-google/cirq_google/devices/specifications/"
    "willow_pink_d7v1-2024_08_16_device_spec_for_grid_device.proto.txt",
}

# Medians over the calibration's 105 qubits / 182 couplers (metric names of the JSON file),
# and the durations of the specification (gate_duration_picos / 1000).
WILLOW_FIGURES: dict[str, float] = {
    "t1_us": 70.17575594332381,  # single_qubit_idle_t1_micros
    "one_qubit_pauli_error": 0.00040461714515024894,  # single_qubit_rb_pauli_error_per_gate
    "one_qubit_incoherent_error": 0.00022663347551293844,  # single_qubit_rb_incoherent_error_per_gate
    "two_qubit_pauli_error": 0.0034428202674625583,  # two_qubit_parallel_cz_gate_xeb_pauli_error_per_cycle
    "cz_theta_error": 0.019498545040885044,  # two_qubit_parallel_cz_gate_xeb_entangler_theta_error_per_cycle
    "cz_phi_error": 0.010930817752147881,  # two_qubit_parallel_cz_gate_xeb_entangler_phi_error_per_cycle
    "readout_p01": 0.0037199999999999677,  # single_qubit_p00_error: P(read 1 | prepared 0)
    "readout_p10": 0.010619999999999984,  # single_qubit_p11_error: P(read 0 | prepared 1)
    "one_qubit_ns": 25.0,  # phased_xz
    "two_qubit_ns": 42.0,  # cz
    "physical_z_ns": 22.0,  # physical_zpow (a virtual Z takes no time)
    "measurement_ns": 600.0,  # meas
    "reset_ns": 160.0,  # reset (cirq_google 1.5's device proto has no reset gate: not in the device)
}

# Willow's qubits (row, first column, last column), read off the specification's valid_qubits;
# its couplers are exactly the nearest-neighbour pairs among them.
WILLOW_ROWS = (
    (0, 6, 8), (1, 5, 8), (2, 4, 10), (3, 3, 10), (4, 2, 12), (5, 1, 12), (6, 0, 14),
    (7, 2, 13), (8, 2, 12), (9, 4, 11), (10, 4, 10), (11, 6, 9), (12, 6, 8),
)  # fmt: skip

_TWO_QUBIT_GATE = {"willow": "cz", "rainbow": "sqrt_iswap", "weber": "sqrt_iswap"}
_GATE_TYPE = {"cz": cirq.CZPowGate, "sqrt_iswap": cirq.ISwapPowGate}


def _check_device(device: str) -> str:
    if device not in HARDWARE_DEVICES:
        raise ValueError(f"Unknown hardware device {device!r}: choose one of {HARDWARE_DEVICES}.")
    return device


def _check_scale(scale: float) -> float:
    low, high = SCALE_RANGE
    if not low <= scale <= high:  # also false for nan
        raise ValueError(f"Noise scale {scale!r} is outside [{low}, {high}].")
    return float(scale)


def two_qubit_gate(device: str) -> str:
    """The device's calibrated two-qubit gate: "cz" (willow) or "sqrt_iswap" (rainbow, weber).

    Rainbow's and weber's calibrations have gate errors only for sqrt-iSWAP and Sycamore, so
    a circuit on them should entangle with sqrt-iSWAP to get gate noise at all.
    """
    return _TWO_QUBIT_GATE[_check_device(device)]


def willow_qubits() -> list[cirq.GridQubit]:
    """Willow's 105 qubits (`WILLOW_ROWS`), in row-major order."""
    return [cirq.GridQubit(r, c) for r, first, last in WILLOW_ROWS for c in range(first, last + 1)]


def _willow_pairs() -> list[tuple[cirq.GridQubit, cirq.GridQubit]]:
    qubits = set(willow_qubits())
    return [(q, n) for q in sorted(qubits) for n in (q + (0, 1), q + (1, 0)) if n in qubits]


def _willow_device() -> cirq_google.GridDevice:
    """The willow_pink specification, written as a DeviceSpecification proto (minus reset)."""
    spec = v2.device_pb2.DeviceSpecification()
    spec.valid_qubits.extend(f"{q.row}_{q.col}" for q in willow_qubits())
    targets = spec.valid_targets.add(name="2_qubit_targets", target_ordering=v2.device_pb2.TargetSet.SYMMETRIC)
    for a, b in _willow_pairs():
        targets.targets.add(ids=[f"{a.row}_{a.col}", f"{b.row}_{b.col}"])
    picos = {
        "cz": WILLOW_FIGURES["two_qubit_ns"],
        "meas": WILLOW_FIGURES["measurement_ns"],
        "phased_xz": WILLOW_FIGURES["one_qubit_ns"],
        "physical_zpow": WILLOW_FIGURES["physical_z_ns"],
        "virtual_zpow": None,
        "wait": None,
    }
    for name, ns in picos.items():
        gate = spec.valid_gates.add()
        getattr(gate, name).SetInParent()
        if ns is not None:
            gate.gate_duration_picos = int(round(ns * 1000))
    return cirq_google.GridDevice.from_proto(spec)


@functools.lru_cache(maxsize=None)
def hardware_device(device: str) -> cirq_google.GridDevice:
    """The device to validate circuits against: cirq_google's for rainbow/weber, Willow's here."""
    if _check_device(device) == "willow":
        return _willow_device()
    return cirq_google.engine.create_device_from_processor_id(device)


def _willow_tphi_ns() -> float:
    """T_phi from the RB incoherent error and T1, as `noise_properties_from_calibration` does.

    A 25 ns microwave gate has incoherent error t/(3 T1) + t/(3 T_phi), so
    T_phi = t / (3 (e_incoherent - t/(3 T1))) (here from the medians of e_incoherent and T1).
    """
    t, t1 = WILLOW_FIGURES["one_qubit_ns"], WILLOW_FIGURES["t1_us"] * 1000
    return t / (3 * (WILLOW_FIGURES["one_qubit_incoherent_error"] - t / (3 * t1)))


def _willow_properties() -> cirq_google.GoogleNoiseProperties:
    f = WILLOW_FIGURES
    qubits, pairs = willow_qubits(), _willow_pairs()
    one_qubit = cirq_google.GoogleNoiseProperties.single_qubit_gates()
    pauli = {OpIdentifier(g, q): f["one_qubit_pauli_error"] for q in qubits for g in one_qubit}
    both_orders = [p for a, b in pairs for p in ((a, b), (b, a))]
    pauli.update({OpIdentifier(cirq.CZPowGate, *p): f["two_qubit_pauli_error"] for p in both_orders})
    fsim = cirq.PhasedFSimGate(theta=f["cz_theta_error"], phi=f["cz_phi_error"])
    return cirq_google.GoogleNoiseProperties(
        gate_times_ns={
            cirq.CZPowGate: f["two_qubit_ns"],
            cirq.PhasedXZGate: f["one_qubit_ns"],
            cirq.ZPowGate: f["physical_z_ns"],
            cirq.MeasurementGate: f["measurement_ns"],
            cirq.ResetChannel: f["reset_ns"],
        },
        t1_ns={q: f["t1_us"] * 1000 for q in qubits},
        tphi_ns={q: _willow_tphi_ns() for q in qubits},
        readout_errors={q: np.array([f["readout_p01"], f["readout_p10"]]) for q in qubits},
        gate_pauli_errors=pauli,
        fsim_errors={OpIdentifier(cirq.CZPowGate, *p): fsim for p in both_orders},
    )


@functools.lru_cache(maxsize=None)
def _base_properties(device: str) -> cirq_google.GoogleNoiseProperties:
    """The unscaled properties (cached: never handed out, `noise_properties` copies them)."""
    if device == "willow":
        return _willow_properties()
    calibration = cirq_google.engine.load_median_device_calibration(device)
    return cirq_google.engine.noise_properties_from_calibration(calibration)


def _scale_readout(errors: np.ndarray, scale: float) -> np.ndarray:
    """`errors * scale`, capped at `MAX_READOUT_ERROR` or at `errors` if already worse (so scale 1 is exact)."""
    return np.minimum(errors * scale, np.maximum(errors, MAX_READOUT_ERROR))


def noise_properties(device: str, scale: float = 1.0) -> cirq_google.GoogleNoiseProperties:
    """The device's noise properties with every error scaled by `scale` (module docstring).

    Pauli errors, readout errors (scaled up to at most `MAX_READOUT_ERROR`), 1/T1, 1/T_phi and the
    PhasedFSimGate angles of `fsim_errors` are multiplied by `scale`; durations are kept.
    At scale 1 rainbow/weber equal `noise_properties_from_calibration` of the median calibration.
    """
    base = _base_properties(_check_device(device))
    s = _check_scale(scale)
    return cirq_google.GoogleNoiseProperties(
        gate_times_ns=dict(base.gate_times_ns),
        t1_ns={q: t / s for q, t in base.t1_ns.items()},
        tphi_ns={q: t / s for q, t in base.tphi_ns.items()},
        readout_errors={q: _scale_readout(np.asarray(e, dtype=float), s) for q, e in base.readout_errors.items()},
        gate_pauli_errors={k: p * s for k, p in base.gate_pauli_errors.items()},
        fsim_errors={
            k: cirq.PhasedFSimGate(theta=g.theta * s, zeta=g.zeta * s, chi=g.chi * s, gamma=g.gamma * s, phi=g.phi * s)
            for k, g in base.fsim_errors.items()
        },
    )


def noise_model(device: str, scale: float = 1.0) -> cirq.NoiseModel:
    """cirq_google's noise model of `noise_properties(device, scale)`.

    Per moment: thermal decay (T1, T_phi) of every qubit for the moment's longest gate,
    the coherent two-qubit errors, depolarising noise after each known gate (its Pauli error
    minus the thermal and coherent parts) and readout errors before each measurement.
    Virtual Z gates (ZPowGate without `cirq_google.PhysicalZTag`) are noiseless.
    """
    return cirq_google.NoiseModelFromGoogleNoiseProperties(noise_properties(device, scale))


def noise_figures(device: str) -> dict[str, float]:
    """The medians a doc table shows (unscaled): T1, T_phi (us), Pauli and readout errors, durations (ns).

    readout_p01 is P(read 1 | prepared 0), readout_p10 is P(read 0 | prepared 1); the
    two-qubit figures are those of `two_qubit_gate(device)`.
    """
    props = _base_properties(_check_device(device))
    gate = _GATE_TYPE[two_qubit_gate(device)]

    def median(values) -> float:
        return float(np.median(list(values)))

    def pauli(kind: type) -> float:
        return median(p for k, p in props.gate_pauli_errors.items() if k.gate_type is kind)

    return {
        "t1_us": median(props.t1_ns.values()) / 1000,
        "tphi_us": median(props.tphi_ns.values()) / 1000,
        "one_qubit_pauli_error": pauli(cirq.PhasedXZGate),
        "two_qubit_pauli_error": pauli(gate),
        "readout_p01": median(e[0] for e in props.readout_errors.values()),
        "readout_p10": median(e[1] for e in props.readout_errors.values()),
        "one_qubit_ns": float(props.gate_times_ns[cirq.PhasedXZGate]),
        "two_qubit_ns": float(props.gate_times_ns[gate]),
        "measurement_ns": float(props.gate_times_ns[cirq.MeasurementGate]),
    }
