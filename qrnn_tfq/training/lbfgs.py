"""Full-batch L-BFGS for QRNN training, as the paper's MNIST 3-vs-6 runs (SPEC section 6).

The optimizer is TensorFlow Probability's `tfp.optimizer.lbfgs_minimize`; `Lbfgs` runs it
one iteration per call and keeps its whole state (position, objective, gradient and the
last `memory` correction pairs) in variables, so a run checkpoints it as it does Adam's
slots and a resumed run continues exactly (tfp continues from
`previous_optimizer_results` bit for bit). It is a `BatchOptimizer`:
`SequenceTaskModel.compile(optimizer=Lbfgs())` trains one L-BFGS iteration per step.
L-BFGS needs the same objective at every iteration, so every step must get the same batch
(checked at every step against the first). When tfp's line search fails, or tfp stops with the gradient still above the
tolerance (in float32 a step that rounds to zero counts as converged for tfp, whose
position and objective tolerances are 0), the memory is dropped and the next step
restarts L-BFGS from the current weights, as restarted L-BFGS does; `Lbfgs.restarts`
counts these.
An iteration evaluates the loss and gradient once or more (line search);
`train_loss` of a step is the objective before it, and the smallest postselection
probability is taken over all its evaluations.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import tensorflow as tf

logger = logging.getLogger(__name__)
DEFAULT_SCALE = 0.1  # first steps of about 0.01 x the gradient
DEFAULT_MEMORY = 20  # correction pairs kept (PyTorch's LBFGS default history_size is 100; tfp's examples use 10-50)


def _tfp() -> Any:
    try:
        import tensorflow_probability as tfp  # pylint: disable=import-outside-toplevel
    except ImportError as error:  # pragma: no cover - tfp is a dependency
        raise ImportError("L-BFGS needs tensorflow-probability: pip install -c requirements.lock -e .") from error
    return tfp


class Lbfgs:
    """L-BFGS state in variables, advanced one `tfp.optimizer.lbfgs_minimize` iteration at a time.

    Args:
        memory: correction pairs kept (tfp's `num_correction_pairs`).
        tolerance: stop (converged) once the gradient's sup norm is at most this.
        scale: L-BFGS works on the weights divided by this, i.e. with `scale**2` times the
            identity as its first inverse-Hessian estimate. tfp starts from the identity and
            has no option for another estimate; a QRNN's first gradients (norm ~10) then
            throw the angles many periods away and the line search fails. From the second
            iteration on L-BFGS rescales itself, so only the first steps depend on it.

    Raises:
        ValueError: `memory` not a positive int, or `tolerance` or `scale` out of range.
    """

    def __init__(self, memory: int = DEFAULT_MEMORY, tolerance: float = 1e-8, scale: float = DEFAULT_SCALE) -> None:
        if isinstance(memory, bool) or not isinstance(memory, int) or memory < 1:
            raise ValueError(f"`memory` must be a positive int, got {memory!r}.")
        if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 <= tolerance < math.inf:
            raise ValueError(f"`tolerance` must be a finite number >= 0, got {tolerance!r}.")
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale < math.inf:
            raise ValueError(f"`scale` must be a finite number > 0, got {scale!r}.")
        self.scale = float(scale)
        self.memory = memory
        self.tolerance = float(tolerance)
        self._state: dict[str, tf.Variable] | None = None
        self._first_batch: dict[str, np.ndarray] | None = None
        self._functions: tuple[Callable[..., Any], Callable[..., Any]] | None = None

    def build(self, var_list: Sequence[tf.Variable]) -> None:
        """Creates the state for these weights (once; later calls with the same size are no-ops)."""
        size = int(sum(int(np.prod(v.shape)) for v in var_list))
        if self._state is not None:
            if int(self._state["position"].shape[0]) != size:
                raise ValueError(f"This Lbfgs was built for {int(self._state['position'].shape[0])} weights, got {size}.")
            return
        zeros = lambda shape, dtype=tf.float32: tf.Variable(tf.zeros(shape, dtype), trainable=False)  # noqa: E731
        self._state = {
            "started": zeros((), tf.int32),
            "restarts": zeros((), tf.int32),
            "converged": zeros((), tf.int32),
            "failed": zeros((), tf.int32),
            "num_iterations": zeros((), tf.int32),
            "num_objective_evaluations": zeros((), tf.int32),
            "position": zeros((size,)),
            "objective_value": zeros(()),
            "objective_gradient": zeros((size,)),
            "position_deltas": zeros((self.memory, size)),
            "gradient_deltas": zeros((self.memory, size)),
        }
        self._batch_min = tf.Variable(1.0, trainable=False)  # smallest postselection over a step's evaluations

    @property
    def learning_rate_scale(self) -> None:
        """None: L-BFGS has no learning rate (a rollback cannot lower one)."""
        return None

    @property
    def variables(self) -> list[tf.Variable]:
        """The state, in a fixed order (what checkpoints store)."""
        if self._state is None:
            raise ValueError("Lbfgs is not built yet: call `build(weights)` first.")
        return list(self._state.values())

    @property
    def started(self) -> bool:
        """Whether `start` has evaluated the initial position (checkpointed, like the rest)."""
        return self._state is not None and bool(self._state["started"].numpy())

    @property
    def restarts(self) -> int:
        """How often a failed line search made L-BFGS start over (see the module docstring)."""
        return 0 if self._state is None else int(self._state["restarts"].numpy())

    def restart_if_stalled(self) -> bool:
        """After an iteration that failed, or that stopped short of the gradient tolerance:
        forget the memory, so that the next call of `start` begins anew."""
        state = self._state
        short = bool(state["converged"].numpy()) and float(tf.reduce_max(tf.abs(state["objective_gradient"]))) > self.tolerance
        if not (bool(state["failed"].numpy()) or short):
            return False
        self._state["started"].assign(0)
        self._state["restarts"].assign_add(1)
        return True

    def state(self, name: str) -> tf.Variable:
        """One state variable by tfp's name, e.g. "num_iterations" or "objective_value"."""
        self.variables  # noqa: B018  (raises if not built)
        return self._state[name]

    def _results(self) -> Any:
        state = self._state
        from tensorflow_probability.python.optimizer import lbfgs  # pylint: disable=import-outside-toplevel

        return lbfgs.LBfgsOptimizerResults(
            converged=tf.cast(state["converged"], tf.bool),
            failed=tf.cast(state["failed"], tf.bool),
            **{name: tf.identity(state[name]) for name in (
                "num_iterations", "num_objective_evaluations", "position", "objective_value",
                "objective_gradient", "position_deltas", "gradient_deltas")},
        )

    def _store(self, results: Any) -> None:
        for name, value in results._asdict().items():
            self._state[name].assign(tf.cast(value, self._state[name].dtype))
        self._state["started"].assign(1)

    def start(self, value_and_gradients: Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor]], position: tf.Tensor) -> None:
        """Evaluates the objective at `position` (no step): the state L-BFGS iterates from."""
        results = _tfp().optimizer.lbfgs_minimize(
            value_and_gradients, initial_position=position, max_iterations=0,
            num_correction_pairs=self.memory, tolerance=self.tolerance)
        self._store(results)

    def iterate(self, value_and_gradients: Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor]]) -> tf.Tensor:
        """One more iteration from the stored state; returns the new position."""
        results = _tfp().optimizer.lbfgs_minimize(
            value_and_gradients, initial_position=None, previous_optimizer_results=self._results(),
            max_iterations=self._state["num_iterations"] + 1,
            num_correction_pairs=self.memory, tolerance=self.tolerance)
        self._store(results)
        return results.position


    # ---- one training step (the BatchOptimizer protocol) ---------------------------------------

    def _check_fixed(self, batch: Mapping[str, tf.Tensor]) -> None:
        arrays = {key: np.asarray(value) for key, value in batch.items()}
        if self._first_batch is None:
            self._first_batch = arrays
        elif any(not np.array_equal(arrays[key], self._first_batch[key]) for key in arrays):
            raise ValueError(f"L-BFGS needs the same batch at every step; the batch of iteration "
                             f"{int(self._state['num_iterations'].numpy()) + 1} is a different one.")

    def _step_functions(self, objective: Callable[..., Any], var_list: Sequence[tf.Variable]) -> tuple[Callable[..., Any], Callable[..., Any]]:
        """The compiled `start` and `iterate` of the first call's objective and weights."""
        if self._functions is not None:
            return self._functions
        weights = list(var_list)
        sizes = [int(np.prod(w.shape)) for w in weights]

        def assign(position: tf.Tensor) -> None:
            for weight, part in zip(weights, tf.split(self.scale * position, sizes)):
                weight.assign(tf.reshape(part, weight.shape))

        # One compiled objective for `start` and `iterate`: tfp's L-BFGS and its line search
        # call it in about eight places, each of which would trace the model's forward and
        # backward pass anew and, inlined, be optimized anew at the first call (two thirds
        # of a run's compile time). A function call computes the same operations.
        @tf.function(reduce_retracing=True, experimental_attributes={"_noinline": True})
        def value_and_gradients(position: tf.Tensor, batch: Mapping[str, tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
            assign(position)
            loss, gradients, min_postselection = objective(batch)
            self._batch_min.assign(tf.minimum(self._batch_min, min_postselection))
            return loss, self.scale * tf.concat([tf.reshape(g, [-1]) for g in gradients], 0)  # d/d position

        def on(batch: Mapping[str, tf.Tensor]) -> Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor]]:
            return lambda position: value_and_gradients(position, batch)

        @tf.function(reduce_retracing=True)
        def start(batch: Mapping[str, tf.Tensor]) -> None:
            position = tf.concat([tf.reshape(w, [-1]) for w in weights], 0) / self.scale
            self.start(on(batch), position)
            assign(position)

        @tf.function(reduce_retracing=True)
        def iterate(batch: Mapping[str, tf.Tensor]) -> tf.Tensor:
            before = self.state("objective_value").read_value()
            assign(self.iterate(on(batch)))
            return before

        self._functions = start, iterate
        return self._functions

    def minimize_batch(self, objective: Callable[..., Any], var_list: Sequence[tf.Variable],
                       batch: Mapping[str, tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
        """One L-BFGS iteration on `batch` (the same at every step); returns the objective
        before it and the smallest postselection probability of its evaluations.

        Args:
            objective: `batch -> (loss, gradients, min_postselection)` at the current weights.
            var_list: the weights, in the order of the gradients (the first call's are kept).

        Raises:
            ValueError: a batch other than the first step's.
        """
        self.build(var_list)
        self._check_fixed(batch)
        start, iterate = self._step_functions(objective, var_list)
        self._batch_min.assign(1.0)
        if not self.started:
            start(batch)
        loss = iterate(batch)
        if self.restart_if_stalled():
            logger.info("L-BFGS stalled after %d iterations; restarting from the current weights",
                        int(self._state["num_iterations"].numpy()))
        return loss, self._batch_min.read_value()


__all__ = ["DEFAULT_MEMORY", "Lbfgs"]
