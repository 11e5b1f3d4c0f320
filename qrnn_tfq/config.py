"""The QRNN's hyperparameters and the layout every other module shares (SPEC sections 1-3).

One frozen `QRNNConfig` fixes the lanes, the neurons, their subsets and the names of their
parameters, so that the Cirq circuits, the TensorFlow engine and the Keras weights agree
on what `phi_003_012` means without passing lists around.

Layout:
    lanes      0 .. I-1 are the in/out lanes, I .. I+W-1 the workspace lanes; lane 0 is
               the most significant bit of every basis-state index (Cirq's big-endian order).
    neurons    0 .. W-1 the input stage (targets: workspace lanes in order), then W neurons
               per work stage, then I output neurons (targets: in/out lanes in order).
    sources    of a neuron: every other lane, in lane order; subset `j` of a neuron is a
               tuple of source *positions* (0 .. n-2), enumerated by size then
               lexicographically (`itertools.combinations`), the same for every neuron.
    weights    `theta` (N,), `phi` (N, K), `work_angles` (S, W).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math

from qrnn_tfq.amplification import FixedPointSchedule, fixed_point_schedule, neuron_success_bound

RECURRENCES = ("postselected", "coherent")


def normalize_interval(order: int) -> int:
    """How many neurons may run between renormalisations without risking underflow.

    The neurons are linear, so renormalising once after several of them gives the same
    state as after each one. A neuron shrinks the squared norm by at least
    `min(c^2 + s^2) = 2^(1 - 2^(ord+1))`; allow a shrink to 1e-20 between renormalisations.
    """
    shrink_digits = (2 ** (order + 1) - 1) * math.log10(2.0)
    return max(1, int(20 // shrink_digits)) if shrink_digits > 0 else 1_000_000
MAX_LANES = 30  # 2^30 amplitudes per sample is already 4 GiB in float32.


@dataclasses.dataclass(frozen=True)
class QRNNConfig:
    """Topology of a QRNN cell (SPEC sections 1-3).

    Attributes:
        workspace_lanes: `W`, lanes that carry the cell state from step to step.
        io_lanes: `I`, lanes the input words are written to and output words read from.
        stages: `S`, work stages after the input stage.
        degree: `d`, largest subset of source lanes a neuron weight multiplies.
        order: `ord`, nesting order of the quantum neuron; 0 gives a coherent neuron.
        bias: the fixed offset `b` added to every neuron's angle (pi/2 in the paper).
        amplification: rounds of fixed-point amplitude amplification that replace each
            neuron's postselection (SPEC section 8); 0 is ideal postselection (the paper's
            model). Needs `order >= 1`.
        amplification_bound: the lower bound `w` on a neuron's success probability the
            amplification phases are computed for; None takes SPEC section 2's
            `2^(1 - 2^ord)`, which every branch meets.
        recurrence: "postselected" (the paper's QRNN: each step measures a word and
            renormalises) or "coherent" (SPEC section 8: order-0 neurons, the output stage
            only read out, no measurement; the whole sequence is one unitary circuit).
    """

    workspace_lanes: int
    io_lanes: int
    stages: int = 1
    degree: int = 2
    order: int = 2
    bias: float = math.pi / 2
    amplification: int = 0
    amplification_bound: float | None = None
    recurrence: str = "postselected"

    def __post_init__(self) -> None:
        for name, low in (("workspace_lanes", 1), ("io_lanes", 1), ("stages", 0), ("order", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"`{name}` must be an int, got {value!r} of type {type(value).__name__}.")
            if value < low:
                raise ValueError(f"`{name}` must be at least {low}, got {value}.")
        if isinstance(self.degree, bool) or not isinstance(self.degree, int):
            raise TypeError(f"`degree` must be an int, got {self.degree!r}.")
        if self.num_lanes > MAX_LANES:
            raise ValueError(
                f"`workspace_lanes + io_lanes` must be at most {MAX_LANES}, got "
                f"{self.workspace_lanes} + {self.io_lanes} = {self.num_lanes}: a state of "
                f"2^{self.num_lanes} amplitudes per sample does not fit in memory."
            )
        if not 1 <= self.degree <= self.num_lanes - 1:
            raise ValueError(
                f"`degree` must be between 1 and the number of source lanes "
                f"{self.num_lanes - 1} (workspace_lanes + io_lanes - 1), got {self.degree}."
            )
        if self.order > 8:
            raise ValueError(f"`order` must be at most 8 (2^order parameter blocks), got {self.order}.")
        if not math.isfinite(self.bias):
            raise ValueError(f"`bias` must be a finite number, got {self.bias}.")
        self._check_amplification()
        if self.recurrence not in RECURRENCES:
            raise ValueError(f"`recurrence` must be one of {RECURRENCES}, got {self.recurrence!r}.")
        if self.recurrence == "coherent" and (self.order != 0 or self.amplification):
            raise ValueError(
                "The coherent recurrence (SPEC section 8) needs neurons of order 0 and no amplification, got "
                f"order={self.order}, amplification={self.amplification}."
            )

    def _check_amplification(self) -> None:
        rounds, bound = self.amplification, self.amplification_bound
        if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 0:
            raise ValueError(f"`amplification` must be an int >= 0 (rounds; 0 is ideal postselection), got {rounds!r}.")
        if rounds and self.order < 1:
            raise ValueError(
                f"`amplification` needs neurons of order >= 1 (order 0 has nothing to postselect), got "
                f"amplification={rounds} with order={self.order}."
            )
        if bound is not None and (
            isinstance(bound, bool) or not isinstance(bound, (int, float)) or not 0 < bound <= 1
        ):
            raise ValueError(f"`amplification_bound` must be None or a probability in (0, 1], got {bound!r}.")

    @functools.cached_property
    def schedule(self) -> FixedPointSchedule | None:
        """The neurons' amplification phases (SPEC section 8), None without amplification."""
        if not self.amplification:
            return None
        bound = neuron_success_bound(self.order) if self.amplification_bound is None else float(self.amplification_bound)
        return fixed_point_schedule(self.amplification, bound)

    @property
    def renormalization_interval(self) -> int:
        """Workspace neurons between the engines' renormalisations: after each amplified
        neuron (its complex gain is no linear shrink), else `normalize_interval(order)`."""
        return 1 if self.amplification else normalize_interval(self.order)

    # ---- sizes ---------------------------------------------------------------------------

    @property
    def num_lanes(self) -> int:
        """`n = I + W`, the simulated qubits."""
        return self.io_lanes + self.workspace_lanes

    @property
    def num_words(self) -> int:
        """`2^I` output words."""
        return 2**self.io_lanes

    @property
    def num_neurons(self) -> int:
        """`N = W (S + 1) + I`."""
        return self.workspace_lanes * (self.stages + 1) + self.io_lanes

    @property
    def num_workspace_neurons(self) -> int:
        """Neurons of the input and work stages (they target workspace lanes)."""
        return self.workspace_lanes * (self.stages + 1)

    @property
    def num_subsets(self) -> int:
        """`K = sum_{k=1..d} C(n-1, k)`, weights `phi` per neuron."""
        return len(self.subsets)

    @property
    def num_parameters(self) -> int:
        """`P = N (1 + K) + S W` (SPEC section 3)."""
        return self.num_neurons * (1 + self.num_subsets) + self.stages * self.workspace_lanes

    @property
    def num_hardware_qubits(self) -> int:
        """`I + W + ord`: lanes plus reused ancillas."""
        return self.num_lanes + self.order

    @functools.cached_property
    def subsets(self) -> tuple[tuple[int, ...], ...]:
        """Source-position subsets of size 1..d, by size then lexicographically."""
        positions = range(self.num_lanes - 1)
        return tuple(s for k in range(1, self.degree + 1) for s in itertools.combinations(positions, k))

    # ---- neurons ------------------------------------------------------------------------

    def neuron_target(self, neuron: int) -> int:
        """The lane neuron `neuron` acts on."""
        if not 0 <= neuron < self.num_neurons:
            raise ValueError(f"`neuron` must be between 0 and {self.num_neurons - 1}, got {neuron}.")
        if neuron < self.num_workspace_neurons:
            return self.io_lanes + neuron % self.workspace_lanes
        return neuron - self.num_workspace_neurons

    def neuron_sources(self, neuron: int) -> tuple[int, ...]:
        """All lanes but the target, in lane order."""
        target = self.neuron_target(neuron)
        return tuple(lane for lane in range(self.num_lanes) if lane != target)

    def neuron_subset_lanes(self, neuron: int, subset: int) -> tuple[int, ...]:
        """The lanes whose product weight `phi[neuron, subset]` multiplies."""
        sources = self.neuron_sources(neuron)
        return tuple(sources[p] for p in self.subsets[subset])

    # ---- symbol names (fixed width, so that a sort by name keeps the weight order) --------

    def _width(self, count: int) -> int:
        return max(3, len(str(max(count - 1, 0))))

    def theta_name(self, neuron: int) -> str:
        return f"theta_{neuron:0{self._width(self.num_neurons)}d}"

    def phi_name(self, neuron: int, subset: int) -> str:
        return f"phi_{neuron:0{self._width(self.num_neurons)}d}_{subset:0{self._width(self.num_subsets)}d}"

    def work_name(self, stage: int, lane: int) -> str:
        """Symbol of the work-stage rotation of stage `stage` (0-based) on workspace lane `lane`."""
        return f"work_{stage:0{self._width(self.stages)}d}_{lane:0{self._width(self.workspace_lanes)}d}"

    def symbol_names(self) -> list[str]:
        """All parameter names in weight order: theta (N), phi (N, K) row-major, work (S, W)."""
        names = [self.theta_name(k) for k in range(self.num_neurons)]
        names += [self.phi_name(k, j) for k in range(self.num_neurons) for j in range(self.num_subsets)]
        names += [self.work_name(s, w) for s in range(self.stages) for w in range(self.workspace_lanes)]
        return names

    def state_bytes(self, batch_size: int, dtype_bytes: int = 4) -> int:
        """Bytes of one batch of full state vectors."""
        return batch_size * 2**self.num_lanes * dtype_bytes
