"""Noisy estimate: the exported steps under a device's calibrated noise, step by step.

    simulator = NoisySimulator(cell, calibrated_noise_model("rainbow"))
    trace = simulator.run_sequence(inputs, targets)

The noise model is cirq_google's for the processor's median calibration
(`load_median_device_calibration` -> `noise_properties_from_calibration` ->
`NoiseModelFromGoogleNoiseProperties`): depolarising errors of single- and two-qubit gates
from randomized benchmarking and XEB, coherent two-qubit errors (`PhasedFSimGate`), idle
T1/T_phi decay of every qubit during every moment (a measurement moment lasts 4 us), and
readout errors before each measurement. The snapshots calibrate sqrt-iSWAP and Sycamore
gates, not CZ: a CZ circuit gets only the idle decay and readout errors on its CZs.

Whole-sequence postselection succeeds too rarely to sample, so the density matrix of the
cell's qubits is carried step by step ("infinite shots, postselected"): each step applies
the noisy gates; at each postselection the ancillas are projected on |0> (a readout error
can pass a wrong ancilla: the projection follows the model's readout channel) and the
success probability recorded; after the output stage the word distribution is read from
the in/out lanes (with their readout error), the lanes are projected on the measured word
(the target: teacher forcing, as training and the success estimate do) and reset to 0
exactly. Operations are fused into one superoperator per run of gates on at most two
qubits before simulating, which keeps a step to a few hundred matrix products.
"""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Sequence

import cirq
import numpy as np

from qrnn_tfq.circuits.neuron import PostselectTag
from qrnn_tfq.export.steps import CompiledCell
from qrnn_tfq.hardware.devices import noise_model

WORD_KEY = "noisy_word"


def calibrated_noise_model(device: str) -> cirq.NoiseModel:
    """cirq_google's noise model of `device`'s median calibration (see the module docstring):
    `qrnn_tfq.hardware.devices.noise_model` at scale 1."""
    return noise_model(device)


@dataclasses.dataclass(frozen=True)
class Channel:
    """A superoperator on qubit positions `axes` (tensor (2,)*4k: out rows, out cols, in rows, in cols)."""

    axes: tuple[int, ...]
    tensor: np.ndarray


@dataclasses.dataclass(frozen=True)
class Project:
    """Project qubit positions `axes` on |0...0> and record the probability (a postselection)."""

    axes: tuple[int, ...]


def expand_superoperator(tensor: np.ndarray, axes: tuple[int, ...], union: tuple[int, ...]) -> np.ndarray:
    """The superoperator `tensor` on `axes`, extended by the identity to `union` (as a matrix)."""
    k, m = len(axes), len(union)
    letters = iter(string.ascii_letters)
    out_r = [next(letters) for _ in union]
    out_c = [next(letters) for _ in union]
    in_r = [next(letters) for _ in union]
    in_c = [next(letters) for _ in union]
    where = [union.index(a) for a in axes]
    sub = [out_r[i] for i in where] + [out_c[i] for i in where] + [in_r[i] for i in where] + [in_c[i] for i in where]
    others = [i for i in range(m) if i not in where]
    deltas = [np.eye(2)] * (2 * len(others))
    delta_subs = [out_r[i] + in_r[i] for i in others] + [out_c[i] + in_c[i] for i in others]
    spec = ",".join(["".join(sub), *delta_subs]) + "->" + "".join(out_r + out_c + in_r + in_c)
    full = np.einsum(spec, tensor.reshape((2,) * (4 * k)), *deltas)
    return full.reshape(4**m, 4**m)


def superoperator(op: cirq.Operation) -> np.ndarray:
    """`sum_k K_k (x) conj(K_k)` of `op`'s Kraus operators: acts on the row-major `vec(rho)`."""
    return cirq.kraus_to_superoperator(cirq.kraus(op))


def _superoperator(op: cirq.Operation, axes: tuple[int, ...]) -> Channel:
    k = len(axes)
    return Channel(axes, superoperator(op).reshape((2,) * (4 * k)))


def fuse(circuit: cirq.AbstractCircuit, qubits: Sequence[cirq.Qid]) -> list[Channel | Project]:
    """The noisy circuit as a list of fused channels and projections (see the module docstring).

    A channel absorbs a later operation when every qubit of that operation was last touched
    by the channel (or not yet since it) and the two act on at most two qubits together.
    Measurements tagged `PostselectTag`, or with a `post_`/`success_` key, become projections.
    Other measurements are not allowed (the word is read by the simulator).

    Raises:
        ValueError: a measurement that is not a postselection, or an operation on more
            than two qubits.
    """
    index = {q: i for i, q in enumerate(qubits)}
    items: list[Channel | Project] = []
    matrices: dict[int, np.ndarray] = {}  # item -> its superoperator as a matrix, while it can grow
    last: dict[int, int] = {}  # qubit position -> last item that touched it
    for op in circuit.all_operations():
        axes = tuple(index[q] for q in op.qubits)
        if cirq.is_measurement(op):
            key = cirq.measurement_key_name(op)
            if not (PostselectTag() in op.tags or key.startswith(("post_", "success_"))):
                raise ValueError(f"Only postselections may be measured inside a step, got {op}.")
            items.append(Project(axes))
            last.update({a: len(items) - 1 for a in axes})
            continue
        if len(axes) > 2:
            raise ValueError(f"Operations act on at most two qubits after compilation, got {op}.")
        candidates = {last.get(a) for a in axes} - {None}
        host = max(candidates) if candidates else None
        if host is not None and isinstance(items[host], Channel):
            union = tuple(sorted(set(items[host].axes) | set(axes)))
            # The host's other qubits must not have been touched after it (by a projection, say).
            free = all(last[a] == host for a in items[host].axes if a not in axes)
            if len(union) <= 2 and free:
                own = expand_superoperator(superoperator(op).reshape((2,) * (4 * len(axes))), axes, union)
                grown = expand_superoperator(matrices[host].reshape((2,) * (4 * len(items[host].axes))), items[host].axes, union)
                matrices[host] = own @ grown
                items[host] = Channel(union, matrices[host].reshape((2,) * (4 * len(union))))
                last.update({a: host for a in axes})  # not the host's other qubits: a later item may own them
                continue
        channel = _superoperator(op, axes)
        items.append(channel)
        matrices[len(items) - 1] = channel.tensor.reshape(4 ** len(axes), 4 ** len(axes))
        last.update({a: len(items) - 1 for a in axes})
    return items


class DensityMatrix:
    """A density matrix of `n` qubits as a tensor (2,)*2n (rows, then columns)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.tensor = np.zeros((2,) * (2 * n), dtype=np.complex128)
        self.tensor[(0,) * (2 * n)] = 1.0

    def apply(self, channel: Channel) -> None:
        k = len(channel.axes)
        axes = list(channel.axes) + [self.n + a for a in channel.axes]
        moved = np.tensordot(channel.tensor, self.tensor, axes=(list(range(2 * k, 4 * k)), axes))
        self.tensor = np.ascontiguousarray(np.moveaxis(moved, list(range(2 * k)), axes))

    def project(self, axes: Sequence[int], bits: Sequence[int]) -> float:
        """Projects qubits `axes` on `bits`, renormalises, returns the probability."""
        keep = [slice(None)] * (2 * self.n)
        for a, bit in zip(axes, bits):
            keep[a] = keep[self.n + a] = bit
        projected = np.zeros_like(self.tensor)
        projected[tuple(keep)] = self.tensor[tuple(keep)]
        probability = float(np.real(np.trace(projected.reshape(2**self.n, 2**self.n))))
        if probability <= 0:
            raise ValueError(f"Projection of qubits {list(axes)} on {list(bits)} has probability {probability}.")
        self.tensor = projected / probability
        return probability

    def flip(self, axes: Sequence[int]) -> None:
        """`X` on qubits `axes` (exact, noiseless: the reset after the word measurement)."""
        for a in axes:
            self.tensor = np.flip(np.flip(self.tensor, a), self.n + a)

    def marginal(self, axes: Sequence[int]) -> np.ndarray:
        """Probabilities of the basis states of qubits `axes` (first axis most significant)."""
        diagonal = np.real(np.diagonal(self.tensor.reshape(2**self.n, 2**self.n))).reshape((2,) * self.n)
        others = tuple(i for i in range(self.n) if i not in axes)
        return np.transpose(diagonal.sum(axis=others), np.argsort(np.argsort(axes))).reshape(-1).clip(0)


@dataclasses.dataclass(frozen=True, eq=False)
class SequenceTrace:
    """The noisy run of one sequence, teacher-forced (arrays over steps T).

    Attributes:
        probabilities: (T, 2^I) word distributions read after each step (with readout error).
        ancilla: (T,) probability that all the step's postselections read 0.
        word: (T,) probability of the target word, the step's word postselection.
    """

    probabilities: np.ndarray
    ancilla: np.ndarray
    word: np.ndarray


class NoisySimulator:
    """Runs a compiled cell's steps on a density matrix under `noise` (see the module docstring)."""

    def __init__(self, cell: CompiledCell, noise: cirq.NoiseModel | None) -> None:
        self.cell = cell
        self.noise = noise if noise is not None else cirq.NO_NOISE
        qubits = set(cell.stages.circuit.all_qubits()) | set(cell.output.circuit.all_qubits()) | set(cell.io_qubits)
        self.qubits = tuple(sorted(qubits))
        self.io_axes = tuple(self.qubits.index(q) for q in cell.io_qubits)
        self.programs: dict[tuple[int, ...], list[Channel | Project]] = {}

    def program(self, word: Sequence[int]) -> list[Channel | Project]:
        """The fused noisy step for input `word` (cached): gates, postselections, readout noise."""
        key = tuple(int(b) for b in word)
        if key not in self.programs:
            step = self.cell.step_circuit(key)
            step.append(cirq.Moment(cirq.measure(q, key=f"{WORD_KEY}{i}") for i, q in enumerate(self.cell.io_qubits)))
            noisy = cirq.Circuit(self.noise.noisy_moments(step, self.qubits))
            body = cirq.Circuit(
                op for op in noisy.all_operations()
                if not (cirq.is_measurement(op) and cirq.measurement_key_name(op).startswith(WORD_KEY))
            )
            self.programs[key] = fuse(body, self.qubits)
        return self.programs[key]

    def run_sequence(self, inputs: np.ndarray, targets: np.ndarray) -> SequenceTrace:
        """Runs the steps of one sequence, teacher-forced on `targets` (both (T, I) bits)."""
        inputs, targets = np.asarray(inputs), np.asarray(targets)
        if inputs.shape != targets.shape or inputs.ndim != 2 or inputs.shape[1] != self.cell.config.io_lanes:
            raise ValueError(f"`inputs` and `targets` must both have shape (T, {self.cell.config.io_lanes}), got "
                             f"{inputs.shape} and {targets.shape}.")
        state = DensityMatrix(len(self.qubits))
        probabilities, ancilla, word = [], [], []
        for step_input, target in zip(inputs, targets):
            success = 1.0
            for item in self.program(step_input):
                if isinstance(item, Channel):
                    state.apply(item)
                else:
                    success *= state.project(item.axes, [0] * len(item.axes))
            distribution = state.marginal(self.io_axes)
            probabilities.append(distribution / distribution.sum())
            word.append(state.project(self.io_axes, [int(b) for b in target]))
            state.flip([a for a, bit in zip(self.io_axes, target) if bit])
            ancilla.append(success)
        return SequenceTrace(np.array(probabilities), np.array(ancilla), np.array(word))


def _word_indices(bits: np.ndarray) -> np.ndarray:
    """(..., I) bits -> (...) word indices, lane 0 the most significant bit."""
    weights = 2 ** np.arange(bits.shape[-1] - 1, -1, -1)
    return (np.asarray(bits, dtype=np.int64) * weights).sum(axis=-1)


def sampled_accuracy(probabilities: np.ndarray, targets: np.ndarray, scored: np.ndarray, shots: int,
                     rng: np.random.Generator) -> dict[str, float]:
    """Accuracies at the scored steps of `shots` words sampled per step from `probabilities`.

    Args:
        probabilities: (B, T, 2^I) word distributions (teacher-forced).
        targets: (B, T, I) target bits.
        scored: (B, T) bool.
        shots: shots per sequence (each samples every scored step once).
        rng: the random generator.

    Returns:
        "word": sampled word equals the target; "last_bit": the last in/out lane's bit is the
        target's (the XOR bit of Elman's task); "expected_word": mean target probability
        (infinitely many shots).
    """
    index = _word_indices(targets)  # (B, T)
    words, bits, expected = [], [], []
    for b, t in zip(*np.nonzero(scored)):
        distribution = np.clip(probabilities[b, t], 0, None)
        distribution = distribution / distribution.sum()
        drawn = rng.choice(distribution.size, size=shots, p=distribution)
        words.append(drawn == index[b, t])
        bits.append((drawn & 1) == (index[b, t] & 1))
        expected.append(distribution[index[b, t]])
    if not words:
        return {"word": None, "last_bit": None, "expected_word": None}  # no scored step
    return {"word": float(np.mean(words)), "last_bit": float(np.mean(bits)), "expected_word": float(np.mean(expected))}


def noisy_estimate(
    simulator: NoisySimulator,
    batch: dict[str, np.ndarray],
    engine_probabilities: np.ndarray,
    engine_ancilla: np.ndarray,
    *,
    shots: int,
    seed: int = 0,
    progress: object = None,
) -> dict[str, object]:
    """Noisy against noiseless: accuracies and acceptance rates on the sequences of `batch`.

    Args:
        simulator: the noisy simulator of the compiled cell.
        batch: {"inputs", "targets", "scored"} of B sequences, (B, T, I) and (B, T).
        engine_probabilities: (B, T, 2^I) the noiseless engine's teacher-forced distributions.
        engine_ancilla: (B, T) the engine's ancilla success per step.
        shots: words sampled per scored step and sequence from each distribution.
        seed: seeds the sampling (the same draws for noisy and noiseless).
        progress: called with no argument after each sequence (a progress bar's update).

    Returns:
        JSON-ready figures (see docs/EXPORT.md).
    """
    inputs, targets = np.asarray(batch["inputs"]), np.asarray(batch["targets"])
    scored = np.asarray(batch["scored"]).astype(bool)
    traces = []
    for b in range(inputs.shape[0]):
        traces.append(simulator.run_sequence(inputs[b], targets[b]))
        if progress is not None:
            progress()
    noisy = np.stack([trace.probabilities for trace in traces])  # (B, T, 2^I)
    ancilla = np.stack([trace.ancilla for trace in traces])  # (B, T)
    word = np.where(scored, 1.0, np.stack([trace.word for trace in traces]))
    index = _word_indices(targets)
    engine_word = np.where(scored, 1.0, np.take_along_axis(engine_probabilities, index[..., None], -1)[..., 0])

    def acceptance(ancillas: np.ndarray, words: np.ndarray) -> dict[str, float]:
        step = ancillas * words
        unscored = words[~scored]
        return {"ancilla_per_step_mean": float(ancillas.mean()),
                "word_postselection_mean": float(unscored.mean()) if unscored.size else None,
                "step_mean": float(step.mean()),
                "sequence_log10_mean": float(np.mean(np.log10(np.maximum(np.prod(step, axis=1), 1e-300))))}

    return {
        "sequences": int(inputs.shape[0]),
        "steps_per_sequence": int(inputs.shape[1]),
        "scored_steps": int(scored.sum()),
        "shots_per_sequence": shots,
        "noisy": {**sampled_accuracy(noisy, targets, scored, shots, np.random.default_rng(seed)),
                  **acceptance(ancilla, word)},
        "noiseless": {**sampled_accuracy(engine_probabilities, targets, scored, shots, np.random.default_rng(seed)),
                      **acceptance(np.asarray(engine_ancilla), engine_word)},
    }
