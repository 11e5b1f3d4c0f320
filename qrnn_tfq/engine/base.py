"""The engine interface the Keras layer talks to, and the state-vector engine behind it.

A layer holds an `Engine` and calls `run` (a whole sequence) or `step` (one step, for
`tf.keras.layers.RNN`); engines differ in how they simulate, not in what they return.
Both take the topology, the weights and one request value (`SequenceRequest`,
`StepRequest`) that holds everything else. The layers choose an engine by name
(`qrnn_tfq.layers.engines`); this package knows no other engine.
"""

from __future__ import annotations

import abc
import os
from typing import Any

import tensorflow as tf

from qrnn_tfq.config import QRNNConfig
from qrnn_tfq.engine.factors import QRNNWeights, neuron_factors
from qrnn_tfq.engine.compiled import CompiledRun
from qrnn_tfq.engine.sequence import SequenceOutputs, SequenceRequest
from qrnn_tfq.engine.step import StepOutputs, StepRequest, cell_step

# Amplitude-sized tensors a training step keeps alive per neuron and time step (the
# state before and after each mix, and its gradient): a deliberately generous estimate.
_LIVE_STATES_PER_NEURON = 4


def physical_memory_bytes() -> int:
    """Physical memory of this machine."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def estimated_bytes(
    config: QRNNConfig, batch_size: int | tf.Tensor, steps: int | tf.Tensor, dtype: tf.DType, training: bool
) -> int | tf.Tensor:
    """Rough peak memory of one `run`: the states a gradient through all steps keeps.

    Plain arithmetic: sizes may be float64 scalar tensors (known only when a graph runs).
    """
    per_state = batch_size * 2**config.workspace_lanes * dtype.size
    kept = _LIVE_STATES_PER_NEURON * config.num_neurons * (steps if training else 1)
    full_states = batch_size * 2**config.num_lanes * dtype.size * (steps if training else 1) * config.io_lanes * 2
    return per_state * kept + full_states


def _memory_message(config: QRNNConfig, batch: Any, steps: Any, need_gib: Any, dtype: tf.DType, training: bool) -> list:
    """The too-large message in pieces; the sizes are strings, or string tensors at run time."""
    return [
        f"A QRNN with {config.num_lanes} lanes (workspace_lanes={config.workspace_lanes}, "
        f"io_lanes={config.io_lanes}) on a batch of ", batch, " x ", steps, " steps needs about ", need_gib,
        f" GiB ({dtype.name}, training={training}), more than the {physical_memory_bytes() / 2**30:.1f} GiB "
        "of this machine: use fewer lanes, a smaller batch or shorter sequences.",
    ]


def check_memory(
    config: QRNNConfig, batch_size: int | tf.Tensor, steps: int | tf.Tensor, *, dtype: tf.DType, training: bool
) -> tf.Tensor | None:
    """Refuse a run that would clearly not fit in this machine's memory.

    With int sizes it raises ValueError at once and returns None. With scalar int tensors
    (sizes a graph leaves unknown until it runs, such as a `tf.data` batch) it returns a
    scalar bool, True when the run fits, that depends on an assertion with the same
    message. XLA drops assertions, so the caller must act on the value too (the QRNN
    layer then runs none of the samples and outputs NaN).

    Raises:
        ValueError: int sizes whose run needs more than the physical memory.
    """
    have = physical_memory_bytes()
    if not (tf.is_tensor(batch_size) or tf.is_tensor(steps)):
        need = estimated_bytes(config, batch_size, steps, dtype, training)
        if need > have:
            raise ValueError("".join(_memory_message(config, str(batch_size), str(steps), f"{need / 2**30:.1f}", dtype, training)))
        return None
    sizes = [tf.cast(size, tf.float64) for size in (batch_size, steps)]
    need = estimated_bytes(config, *sizes, dtype, training)
    fits = need <= have
    as_text = [tf.strings.as_string(tf.cast(size, tf.int64)) for size in sizes]
    message = _memory_message(config, *as_text, tf.strings.as_string(need / 2**30, precision=1), dtype, training)
    check = tf.debugging.Assert(fits, [tf.strings.join(message)])
    with tf.control_dependencies([check]):
        return tf.identity(fits)


class Engine(abc.ABC):
    """Simulates the QRNN recurrence (SPEC sections 3-4) for a Keras layer."""

    name: str = ""

    def check_config(self, config: QRNNConfig) -> None:
        """Raise ValueError when this engine cannot run `config`; layers call it when made."""

    @abc.abstractmethod
    def run(self, config: QRNNConfig, weights: QRNNWeights, request: SequenceRequest) -> SequenceOutputs:
        """A whole sequence, as `qrnn_tfq.engine.run_sequence`."""

    @abc.abstractmethod
    def step(self, config: QRNNConfig, weights: QRNNWeights, request: StepRequest) -> StepOutputs:
        """One step, as `qrnn_tfq.engine.cell_step` with weights instead of factors."""


class StateVectorEngine(Engine):
    """Postselected recurrence on batched real state vectors, XLA-compiled (SPEC section 7).

    Args:
        jit_compile: compile with XLA (False: plain graphs).

    Attributes:
        compiled: the `CompiledRun` every `run` goes through; one engine shares its
            compilations among all the layers that use it.
    """

    name = "state_vector"

    def __init__(self, jit_compile: bool = True) -> None:
        self.jit_compile = jit_compile
        self.compiled = CompiledRun(jit_compile)

    def run(self, config: QRNNConfig, weights: QRNNWeights, request: SequenceRequest) -> SequenceOutputs:
        return self.compiled(config, weights, request.filled(config, weights.theta.dtype))

    def step(self, config: QRNNConfig, weights: QRNNWeights, request: StepRequest) -> StepOutputs:
        return cell_step(config, neuron_factors(config, weights), request)
