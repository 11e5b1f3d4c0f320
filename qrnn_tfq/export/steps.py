"""A cell compiled for a device, the circuit of one time step and of a whole sequence.

    cell = compile_cell(config, weights, "rainbow", "cz")            # postselected form
    step = cell.step_circuit([0, 1])                                 # one step, input word 01
    sequence = sequence_circuit(cell, inputs, targets, reset="measured")

A step is `X(word) . stages . X(word) . output` on the device (`qrnn_tfq.export.cells`);
both blocks are compiled once, the output block starting where the stages block left the
qubits and ending with SWAPs back to where the stages block started, so steps follow one
another on the same placement. A sequence step then measures the in/out lanes (the word;
SPEC section 3 step 7) and resets them to 0, in one of two ways:

    measured  `X` on each in/out lane classically controlled by its own measured bit: the
              exact reset whatever was measured (the device rejects classical control);
    target    `X` on the lanes where the step's target word has a 1: a correct reset on
              the shots whose word equals the target (the postselected, teacher-forced
              shots; the other shots are discarded), and valid on the device.

Measurement keys: a step's measurements sit under the key path `step_003` (`cirq` writes
`step_003:post_n000_a0_0`); the word bits are `step_003:word_b0`, `..._b1`, lane 0 first.
In a sequence the postselections carry no `PostselectTag`: Cirq 1.5 drops the key path of
a tagged measurement inside a `cirq.CircuitOperation` when it runs, so the steps' keys
would collide. Their keys (`post_...`, `success_...`) still say what they are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import cirq
import numpy as np

from qrnn_tfq.circuits.cell import check_input_word
from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.export.cells import CellWeights, check_form, logical_qubits, resolved_blocks
from qrnn_tfq.export.compile import (
    CompiledCircuit,
    compile_circuit,
    load_device,
    split_measurements,
    strip_tags,
    two_qubit_form,
)

RESETS = ("measured", "target")
WORD_KEY = "word_b"


def step_path(step: int) -> str:
    """The key path of step `step`'s measurements, e.g. `step_003`."""
    return f"step_{step:03d}"


@dataclasses.dataclass(frozen=True)
class CompiledCell:
    """The two compiled blocks of a cell and where its logical qubits sit on the device.

    Attributes:
        config: the cell's configuration.
        form: "postselected" or "amplified".
        rounds: amplification rounds (0 for the postselected form).
        stages: the input and work stages, compiled.
        output: the output stage, compiled; it ends on `stages.placement`.
        lanes: the logical lane qubits, lane 0 first.
        ancillas: the logical ancillas.
    """

    config: QRNNConfig
    form: str
    rounds: int
    stages: CompiledCircuit
    output: CompiledCircuit
    lanes: tuple[cirq.Qid, ...]
    ancillas: tuple[cirq.Qid, ...]

    @property
    def device(self) -> str:
        return self.stages.device

    @property
    def gateset(self) -> str:
        return self.stages.gateset

    @property
    def placement(self) -> dict[cirq.Qid, cirq.GridQubit]:
        """Logical -> physical qubit at the start (and the end) of every step."""
        return self.stages.placement

    @property
    def io_qubits(self) -> tuple[cirq.GridQubit, ...]:
        """The physical in/out lanes at the start and end of a step, lane 0 first."""
        return tuple(self.placement[lane] for lane in self.lanes[: self.config.io_lanes])

    def writes(self, input_word: Sequence[int] | np.ndarray, placement: dict) -> list[cirq.Operation]:
        word = check_input_word(self.config, input_word)
        return [cirq.X(placement[self.lanes[i]]) for i, bit in enumerate(word) if bit]

    def step_circuit(self, input_word: Sequence[int] | np.ndarray) -> cirq.Circuit:
        """One step (SPEC section 3 steps 1-5) with input word `input_word`, on the device."""
        circuit = cirq.Circuit(self.writes(input_word, self.stages.placement))
        circuit += self.stages.circuit
        circuit.append(self.writes(input_word, self.stages.final_placement), strategy=cirq.InsertStrategy.NEW_THEN_INLINE)
        circuit += self.output.circuit
        return circuit


def compile_cell(
    config: QRNNConfig,
    weights: CellWeights,
    device: str,
    gateset: str,
    *,
    form: str = "postselected",
    rounds: int = 0,
    placement: dict | None = None,
    synthesis: bool = True,
) -> CompiledCell:
    """Compiles both blocks of the cell of `form` with the trained `weights` (see module).

    Args:
        config: the cell's configuration.
        weights: the trained values.
        device: "rainbow" or "weber".
        gateset: "cz" or "sqrt_iswap".
        form: "postselected" or "amplified".
        rounds: amplification rounds (>= 1 for "amplified", 0 otherwise).
        placement: logical -> physical qubit; None lets the router choose.
        synthesis: parity networks for the parameter blocks.

    Raises:
        ValueError: a bad form, weights that do not fit `config`, or a device or gate set
            that is not known.
    """
    check_form(form, rounds)
    lanes, ancillas = logical_qubits(config, form)
    stages, output = resolved_blocks(config, weights, form, rounds)
    if placement is None:
        placement = default_placement(stages, device)
    first = compile_circuit(stages, device, gateset, placement=placement, restore=False, synthesis=synthesis)
    second = compile_circuit(
        output, device, gateset, placement=first.final_placement, end_placement=first.placement, synthesis=synthesis
    )
    return CompiledCell(config, form, rounds, first, second, lanes, ancillas)


def default_placement(circuit: cirq.AbstractCircuit, device: str) -> dict:
    """The placement `cirq.RouteCQC` would choose (`cirq.LineInitialMapper` on the device graph)."""
    graph = load_device(device).metadata.nx_graph
    return dict(cirq.LineInitialMapper(graph).initial_mapping(two_qubit_form(split_measurements(circuit))))


def block(circuit: cirq.FrozenCircuit, path: tuple[str, ...]) -> cirq.CircuitOperation:
    """`circuit` as a sub-circuit whose measurement keys sit under `path`."""
    return cirq.CircuitOperation(circuit, use_repetition_ids=False).with_key_path(path)


def _word_measurement(cell: CompiledCell, step: int) -> list[cirq.Operation]:
    path = (step_path(step),)
    return [
        cirq.measure(q, key=cirq.MeasurementKey(f"{WORD_KEY}{i}", path)) for i, q in enumerate(cell.io_qubits)
    ]


def _reset(cell: CompiledCell, step: int, target: Sequence[int] | None, reset: str) -> list[cirq.Operation]:
    path = (step_path(step),)
    if reset == "measured":
        return [
            cirq.X(q).with_classical_controls(cirq.MeasurementKey(f"{WORD_KEY}{i}", path))
            for i, q in enumerate(cell.io_qubits)
        ]
    bits = check_input_word(cell.config, target)
    return [cirq.X(q) for q, bit in zip(cell.io_qubits, bits) if bit]


def sequence_circuit(
    cell: CompiledCell,
    inputs: np.ndarray,
    targets: np.ndarray | None = None,
    *,
    reset: str = "measured",
) -> cirq.Circuit:
    """The circuit of a whole sequence on the device (see the module docstring).

    Each step is one `cirq.CircuitOperation` per block (the blocks are shared, so Cirq's
    JSON stores each once), the input word's `X` gates, the word measurement and the reset.

    Args:
        cell: the compiled cell.
        inputs: (T, I) input bits, lane 0 first.
        targets: (T, I) target bits; needed for `reset="target"`.
        reset: "measured" or "target".

    Raises:
        ValueError: bad shapes or bits, or an unknown `reset`.
    """
    if reset not in RESETS:
        raise ValueError(f"`reset` must be one of {list(RESETS)}, got {reset!r}.")
    inputs = np.asarray(inputs)
    width = cell.config.io_lanes
    if inputs.ndim != 2 or inputs.shape[1] != width or inputs.shape[0] < 1:
        raise ValueError(f"`inputs` must have shape (T, {width}) with T >= 1, got {inputs.shape}.")
    if reset == "target":
        if targets is None or np.shape(targets) != inputs.shape:
            raise ValueError(f"`targets` must have the shape {inputs.shape} of `inputs` for reset='target', got "
                             f"{None if targets is None else np.shape(targets)}.")
    stages = cirq.FrozenCircuit(strip_tags(cell.stages.circuit))  # see the module docstring on tags
    output = cirq.FrozenCircuit(strip_tags(cell.output.circuit))
    circuit = cirq.Circuit()
    for t, word in enumerate(inputs):
        path = (step_path(t),)
        circuit.append(cell.writes(word, cell.stages.placement), strategy=cirq.InsertStrategy.NEW_THEN_INLINE)
        circuit.append(block(stages, path), strategy=cirq.InsertStrategy.NEW_THEN_INLINE)
        circuit.append(cell.writes(word, cell.stages.final_placement), strategy=cirq.InsertStrategy.NEW_THEN_INLINE)
        circuit.append(block(output, path), strategy=cirq.InsertStrategy.NEW_THEN_INLINE)
        circuit.append(_word_measurement(cell, t), strategy=cirq.InsertStrategy.NEW_THEN_INLINE)
        circuit.append(_reset(cell, t, None if targets is None else targets[t], reset),
                       strategy=cirq.InsertStrategy.NEW_THEN_INLINE)
    return circuit
