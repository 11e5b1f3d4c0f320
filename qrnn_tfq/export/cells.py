"""The resolved cell circuits an export starts from, in the postselected or the amplified form.

A cell step (SPEC section 3) is split into two blocks around the input word:

    X(word) . stages . X(word) . output

`stages` holds the input stage and the work stages, `output` the output stage. Neither
depends on the input word, so each is compiled once and a step for any word is assembled
from them with `X` gates (`qrnn_tfq.export.device_cell`); `X(word) + stages + X(word) +
output` is exactly `qrnn_tfq.circuits.cell_circuit` (checked in the tests).

Forms:
    postselected  each neuron's `ord` reused ancillas, every postselection a measurement
                  tagged `PostselectTag` (success: it reads 0; SPEC section 2).
    amplified     each neuron with `rounds` rounds of fixed-point amplification and its
                  `2^ord - 1` ancillas measured once at its end (success: all read 0;
                  SPEC section 8, `qrnn_tfq.circuits.amplify`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import cirq
import numpy as np

from qrnn_tfq.amplification import FixedPointSchedule, fixed_point_schedule, neuron_success_bound
from qrnn_tfq.circuits.amplify import amplified_neuron_circuit, num_amplified_ancillas
from qrnn_tfq.circuits.cell import cell_blocks as circuit_cell_blocks
from qrnn_tfq.circuits.cell import resolver
from qrnn_tfq.circuits.neuron import neuron_circuit, num_neuron_ancillas
from qrnn_tfq.config import QRNNConfig

FORMS = ("postselected", "amplified")


@dataclasses.dataclass(frozen=True, eq=False)
class CellWeights:
    """Trained values of a cell: `theta (N,)`, `phi (N, K)`, `work_angles (S, W)` (float64)."""

    theta: np.ndarray
    phi: np.ndarray
    work_angles: np.ndarray

    def check(self, config: QRNNConfig) -> CellWeights:
        """Returns self if the shapes fit `config`, else raises ValueError naming the shapes."""
        expected = {
            "theta": (config.num_neurons,),
            "phi": (config.num_neurons, config.num_subsets),
            "work_angles": (config.stages, config.workspace_lanes),
        }
        for name, shape in expected.items():
            value = np.asarray(getattr(self, name))
            if value.shape != shape:
                raise ValueError(f"`{name}` must have shape {shape} for {config}, got {value.shape}.")
            if not np.all(np.isfinite(value)):
                raise ValueError(f"`{name}` must be finite, got {value.tolist()}.")
        return self

    def resolver(self, config: QRNNConfig) -> cirq.ParamResolver:
        """The symbol values of `config`'s circuits."""
        return resolver(config, self.theta, self.phi, self.work_angles)


def check_form(form: str, rounds: int) -> None:
    """Raises ValueError unless `form` is known and `rounds` fits it (>= 1 for "amplified")."""
    if form not in FORMS:
        raise ValueError(f"`form` must be one of {list(FORMS)}, got {form!r}.")
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 0:
        raise ValueError(f"`rounds` must be an int >= 0, got {rounds!r}.")
    if (form == "amplified") != (rounds > 0):
        raise ValueError(f"`rounds` must be >= 1 for the amplified form and 0 for the postselected one, got "
                         f"form={form!r}, rounds={rounds}.")


def schedule_for(config: QRNNConfig, rounds: int) -> FixedPointSchedule:
    """The amplification phases for `rounds` rounds, for the config's lower bound `w`.

    The bound is `config.amplification_bound` when the config has one, else SPEC section 2's
    `2^(1 - 2^ord)`, the bound the engine uses.
    """
    bound = getattr(config, "amplification_bound", None)
    return fixed_point_schedule(rounds, neuron_success_bound(config.order) if bound is None else float(bound))


def num_ancillas(config: QRNNConfig, form: str) -> int:
    """Ancillas of a cell of `form`: `ord` (postselected) or `2^ord - 1` (amplified)."""
    if form not in FORMS:
        raise ValueError(f"`form` must be one of {list(FORMS)}, got {form!r}.")
    return num_neuron_ancillas(config.order) if form == "postselected" else num_amplified_ancillas(config)


def logical_qubits(config: QRNNConfig, form: str) -> tuple[tuple[cirq.Qid, ...], tuple[cirq.Qid, ...]]:
    """Named logical qubits: lanes `lane_00 ..` (lane 0 first) and ancillas `ancilla_0 ..`."""
    lanes = tuple(cirq.NamedQubit(f"lane_{i:02d}") for i in range(config.num_lanes))
    ancillas = tuple(cirq.NamedQubit(f"ancilla_{j}") for j in range(num_ancillas(config, form)))
    return lanes, ancillas


def cell_blocks(
    config: QRNNConfig,
    lanes: Sequence[cirq.Qid],
    ancillas: Sequence[cirq.Qid],
    form: str = "postselected",
    rounds: int = 0,
) -> tuple[cirq.Circuit, cirq.Circuit]:
    """The symbolic blocks `(stages, output)` of a cell of `form` (see the module docstring)."""
    check_form(form, rounds)
    schedule = schedule_for(config, rounds) if form == "amplified" else None

    def neuron(k: int) -> cirq.Circuit:
        if schedule is None:
            return neuron_circuit(config, k, lanes, ancillas)
        return amplified_neuron_circuit(config, k, lanes, ancillas, schedule)

    return circuit_cell_blocks(config, tuple(lanes), neuron)


def resolved_blocks(
    config: QRNNConfig, weights: CellWeights, form: str = "postselected", rounds: int = 0
) -> tuple[cirq.Circuit, cirq.Circuit]:
    """`cell_blocks` on `logical_qubits` with the trained values resolved."""
    weights.check(config)
    lanes, ancillas = logical_qubits(config, form)
    values = weights.resolver(config)
    return tuple(cirq.resolve_parameters(block, values) for block in cell_blocks(config, lanes, ancillas, form, rounds))
