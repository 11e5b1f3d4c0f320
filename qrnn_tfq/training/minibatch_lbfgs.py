"""Minibatch L-BFGS with a fixed step size: the optimizer of the paper's MNIST 3-vs-6 runs.

The paper's code (SPEC section 6: 97.1 % on 3 vs 6) called PyTorch's
`torch.optim.LBFGS(params, lr)` with its defaults and no line search, once per training
step, each step on a new random batch. One such step runs up to `max_iterations` (20)
L-BFGS iterations on its batch: each takes the quasi-Newton direction `d` of the
two-loop recursion and moves the weights by `lr * d` (the first iteration of the run by
`lr * min(1, 1/|g|_1) * (-g)`), then evaluates the loss and gradient again. The memory of
the last `memory` (100) correction pairs carries over from batch to batch, so the first
pair of a step mixes two batches, as it did in PyTorch. An iteration ends the step early
when the direction is not a descent direction, the gradient is below `tolerance_grad`, or
the step or the change of loss is below `tolerance_change`.

This is `torch.optim.LBFGS.step` with `line_search_fn=None` rewritten for TensorFlow
weights: neither tf-keras nor TensorFlow Probability has a fixed-step L-BFGS
(`tfp.optimizer.lbfgs_minimize` always runs a line search and needs one objective; it is
`qrnn_tfq.training.lbfgs`, the full-batch variant). The bookkeeping is float64 NumPy on a
vector of about a thousand weights; the state lives in float64 variables, so a run
checkpoints it like Adam's slots and a resumed run continues exactly. The learning rate is
`learning_rate * scale`, with `scale` a variable a rollback lowers. It is a
`BatchOptimizer`: `SequenceTaskModel.compile(optimizer=MinibatchLbfgs())` takes one step
per batch.

With `line_search=True` (not the paper's setting; PyTorch offers "strong_wolfe" for it)
each iteration searches along its direction from the step `lr` with TensorFlow
Probability's Hager-Zhang line search (`tfp.optimizer.linesearch.hager_zhang`, approximate
Wolfe conditions) on the step's batch, so that no iteration raises the batch's loss; a
search that finds no decrease ends the step without moving.

With `keep_best=True` (not the paper's setting either) the fixed-step iterations run as
in PyTorch, but the step ends at the iterate of lowest loss it evaluated on its batch,
the last one included (one more evaluation): a step whose fixed-length moves diverge on
its batch is undone back to its best point instead of leaving the weights where the
divergence ended. The memory is kept; the next step skips the one correction pair that
the jump back would corrupt.
"""

from __future__ import annotations

import collections
import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import tensorflow as tf

DEFAULT_LEARNING_RATE = 0.1
DEFAULT_ITERATIONS = 20  # torch.optim.LBFGS max_iter
DEFAULT_MEMORY = 100  # torch.optim.LBFGS history_size
CURVATURE_FLOOR = 1e-10  # a pair with y.s at most this is skipped (PyTorch's constant)

ValueAndGradient = Callable[[], tuple[float, np.ndarray]]
# What tfp's line search sees at a step size x: the loss f, its slope df along the
# direction, and (passed through) the whole gradient.
_LinePoint = collections.namedtuple("_LinePoint", ["x", "f", "df", "full_gradient"])


def _check_number(name: str, value: object, low: float, *, inclusive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not (value >= low if inclusive else value > low):
        raise ValueError(f"`{name}` must be a finite number {'>=' if inclusive else '>'} {low}, got {value!r}.")
    return float(value)


def _check_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive int, got {value!r}.")
    return value


def two_loop_direction(gradient: np.ndarray, steps: np.ndarray, changes: np.ndarray, rho: np.ndarray,
                       h_diag: float) -> np.ndarray:
    """`-H g` for the L-BFGS inverse-Hessian estimate `H` of the pairs (oldest first), from `h_diag * I`."""
    q = -gradient
    alphas = np.empty(len(rho))
    for i in range(len(rho) - 1, -1, -1):
        alphas[i] = rho[i] * steps[i].dot(q)
        q = q - alphas[i] * changes[i]
    r = h_diag * q
    for i in range(len(rho)):
        beta = rho[i] * changes[i].dot(r)
        r = r + (alphas[i] - beta) * steps[i]
    return r


class MinibatchLbfgs:
    """PyTorch's L-BFGS without line search (see the module docstring), state in variables.

    Args:
        learning_rate: the fixed step size (PyTorch's `lr`; the paper tried 0.003 to 0.3).
        max_iterations: iterations per step, i.e. per batch (PyTorch's `max_iter`, 20).
        memory: correction pairs kept (PyTorch's `history_size`, 100).
        tolerance_grad: a step ends once the gradient's sup norm is at most this.
        tolerance_change: a step ends once the move or the change of loss is below this.
        line_search: search each step length with tfp's Hager-Zhang line search (see the
            module docstring) instead of taking `learning_rate` as it is; a step then also
            ends after `max_iterations * 5 // 4` evaluations (PyTorch's `max_eval`).
        keep_best: end each fixed-step step at its lowest-loss iterate (see the module
            docstring); not with `line_search`, whose iterations never raise the loss.

    Raises:
        ValueError: a setting out of range.
    """

    def __init__(self, learning_rate: float = DEFAULT_LEARNING_RATE, max_iterations: int = DEFAULT_ITERATIONS,
                 memory: int = DEFAULT_MEMORY, tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9,
                 line_search: bool = False, keep_best: bool = False) -> None:
        self.learning_rate = _check_number("learning_rate", learning_rate, 0.0, inclusive=False)
        self.max_iterations = _check_count("max_iterations", max_iterations)
        self.memory = _check_count("memory", memory)
        self.tolerance_grad = _check_number("tolerance_grad", tolerance_grad, 0.0, inclusive=True)
        self.tolerance_change = _check_number("tolerance_change", tolerance_change, 0.0, inclusive=True)
        if not isinstance(line_search, bool):
            raise ValueError(f"`line_search` must be True or False, got {line_search!r}.")
        self.line_search = line_search
        if not isinstance(keep_best, bool) or (keep_best and line_search):
            raise ValueError(f"`keep_best` must be True or False, and False with `line_search`, got {keep_best!r}.")
        self.keep_best = keep_best
        self.max_evaluations = self.max_iterations * 5 // 4  # PyTorch's default max_eval; binds with line_search
        self.scale = tf.Variable(1.0, trainable=False, dtype=tf.float32, name="learning_rate_scale")
        self._state: dict[str, tf.Variable] | None = None
        self._functions: tuple[Callable[..., Any], Callable[..., Any]] | None = None

    # ---- state -----------------------------------------------------------------------------

    def build(self, var_list: Sequence[tf.Variable]) -> None:
        """Creates the state for these weights (once; later calls with the same size are no-ops)."""
        size = int(sum(int(np.prod(v.shape)) for v in var_list))
        if self._state is not None:
            if int(self._state["direction"].shape[0]) != size:
                raise ValueError(f"This MinibatchLbfgs was built for {int(self._state['direction'].shape[0])} "
                                 f"weights, got {size}.")
            return
        zeros = lambda shape: tf.Variable(tf.zeros(shape, tf.float64), trainable=False)  # noqa: E731
        self._state = {
            "iterations": zeros(()),  # all iterations so far (PyTorch's state['n_iter'])
            "evaluations": zeros(()),
            "pairs": zeros(()),  # valid rows at the end of `steps` / `changes` / `rho`
            "h_diag": zeros(()),
            "step_size": zeros(()),
            "previous_loss": zeros(()),
            "direction": zeros((size,)),
            "previous_gradient": zeros((size,)),
            "steps": zeros((self.memory, size)),  # s = t d
            "changes": zeros((self.memory, size)),  # y = g_new - g_old
            "rho": zeros((self.memory,)),  # 1 / y.s
        }

    @property
    def variables(self) -> list[tf.Variable]:
        """The state, in a fixed order (what checkpoints store)."""
        if self._state is None:
            raise ValueError("MinibatchLbfgs is not built yet: call `build(weights)` first.")
        return list(self._state.values())

    @property
    def learning_rate_scale(self) -> tf.Variable:
        """`scale`: the learning rate is `learning_rate * scale` (a rollback lowers it)."""
        return self.scale

    @property
    def iterations(self) -> int:
        return 0 if self._state is None else int(self._state["iterations"].numpy())

    @property
    def evaluations(self) -> int:
        return 0 if self._state is None else int(self._state["evaluations"].numpy())

    # ---- one step ----------------------------------------------------------------------------

    def step(self, value_and_gradient: ValueAndGradient, move: Callable[[np.ndarray], None]) -> float:
        """Up to `max_iterations` iterations on one batch; returns the loss before the first.

        Args:
            value_and_gradient: the batch's loss and flat gradient at the current weights.
            move: adds a flat float64 vector to the weights.
        """
        if self._state is None:
            raise ValueError("MinibatchLbfgs is not built yet: call `build(weights)` first.")
        s = {name: variable.numpy() for name, variable in self._state.items()}
        pairs = int(s["pairs"])
        steps, changes, rho = s["steps"][self.memory - pairs:], s["changes"][self.memory - pairs:], s["rho"][self.memory - pairs:]
        learning_rate = self.learning_rate * float(self.scale.numpy())
        iterations, evaluations = int(s["iterations"]), int(s["evaluations"]) + 1
        direction, step_size, h_diag = s["direction"], float(s["step_size"]), float(s["h_diag"])
        previous_gradient, previous_loss = s["previous_gradient"], float(s["previous_loss"])

        loss, gradient = value_and_gradient()
        first_loss, first_evaluation = loss, evaluations - 1
        offset = best_offset = np.zeros_like(gradient)  # the step's moves so far, and where its lowest loss was
        best_loss, at_best, moved_unevaluated = loss, True, False
        if np.max(np.abs(gradient)) <= self.tolerance_grad:
            self._state["evaluations"].assign(float(evaluations))
            return first_loss
        for n in range(1, self.max_iterations + 1):
            iterations += 1
            if iterations == 1:
                direction, h_diag = -gradient, 1.0
                steps, changes, rho = steps[:0], changes[:0], rho[:0]
            else:
                change, step = gradient - previous_gradient, direction * step_size
                curvature = change.dot(step)
                if curvature > CURVATURE_FLOOR:
                    keep = max(0, len(rho) + 1 - self.memory)
                    steps = np.concatenate([steps[keep:], step[None]])
                    changes = np.concatenate([changes[keep:], change[None]])
                    rho = np.concatenate([rho[keep:], [1.0 / curvature]])
                    h_diag = curvature / change.dot(change)
                direction = two_loop_direction(gradient, steps, changes, rho, h_diag)
            previous_gradient, previous_loss = gradient, loss
            step_size = learning_rate * (min(1.0, 1.0 / np.sum(np.abs(gradient))) if iterations == 1 else 1.0)
            if gradient.dot(direction) > -self.tolerance_change:  # not a descent direction
                break
            if self.line_search:
                step_size, loss, gradient, used = self._search(value_and_gradient, move, loss, gradient, direction,
                                                               step_size)
                evaluations += used
                if step_size == 0.0 or n == self.max_iterations:
                    break
            else:
                move(step_size * direction)
                offset, at_best = offset + step_size * direction, False
                if n == self.max_iterations:
                    moved_unevaluated = True
                    break
                loss, gradient = value_and_gradient()
                evaluations += 1
                if loss < best_loss:
                    best_loss, best_offset, at_best = loss, offset, True
            if (evaluations - first_evaluation >= self.max_evaluations
                    or np.max(np.abs(gradient)) <= self.tolerance_grad
                    or np.max(np.abs(step_size * direction)) <= self.tolerance_change
                    or abs(loss - previous_loss) < self.tolerance_change):
                break
        if self.keep_best:
            if moved_unevaluated:
                loss, _ = value_and_gradient()
                evaluations += 1
                if loss < best_loss:
                    best_loss, best_offset, at_best = loss, offset, True
            if not at_best:  # back to the best iterate; the next step's first pair would span the jump
                move(best_offset - offset)
                step_size = 0.0  # s = 0: the next step skips that pair (y.s <= CURVATURE_FLOOR)
        pairs = len(rho)
        padded = lambda rows, shape: np.concatenate([np.zeros((self.memory - pairs, *shape)), rows])  # noqa: E731
        values = {
            "iterations": iterations, "evaluations": evaluations, "pairs": pairs, "h_diag": h_diag,
            "step_size": step_size, "previous_loss": previous_loss, "direction": direction,
            "previous_gradient": previous_gradient, "steps": padded(steps, direction.shape),
            "changes": padded(changes, direction.shape), "rho": padded(rho, ()),
        }
        for name, value in values.items():
            self._state[name].assign(np.asarray(value, np.float64))
        return first_loss

    def _step_functions(self, objective: Callable[..., Any],
                        var_list: Sequence[tf.Variable]) -> tuple[Callable[..., Any], Callable[..., Any]]:
        """The compiled `evaluate` (loss, flat gradient, p_min) and `move` of the first call's
        objective and weights."""
        if self._functions is not None:
            return self._functions
        weights = list(var_list)
        sizes = [int(np.prod(w.shape)) for w in weights]

        @tf.function(reduce_retracing=True)
        def evaluate(batch: Mapping[str, tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
            loss, gradients, min_postselection = objective(batch)
            return loss, tf.concat([tf.reshape(g, [-1]) for g in gradients], 0), min_postselection

        @tf.function(reduce_retracing=True)
        def move(delta: tf.Tensor) -> None:
            for weight, part in zip(weights, tf.split(delta, sizes)):
                weight.assign_add(tf.cast(tf.reshape(part, weight.shape), weight.dtype))

        self._functions = evaluate, move
        return self._functions

    def minimize_batch(self, objective: Callable[..., Any], var_list: Sequence[tf.Variable],
                       batch: Mapping[str, tf.Tensor]) -> tuple[float, float]:
        """One `step` on `batch`; returns its loss before the step and the smallest
        postselection probability of the step's evaluations.

        Args:
            objective: `batch -> (loss, gradients, min_postselection)` at the current weights.
            var_list: the weights, in the order of the gradients (the first call's are kept).
        """
        self.build(var_list)
        evaluate, move = self._step_functions(objective, var_list)
        smallest = [1.0]

        def value_and_gradient() -> tuple[float, np.ndarray]:
            loss, gradient, batch_min = evaluate(batch)
            smallest[0] = min(smallest[0], float(batch_min))
            return float(loss), gradient.numpy().astype(np.float64)

        loss = self.step(value_and_gradient, lambda delta: move(tf.constant(delta)))
        return loss, smallest[0]

    @staticmethod
    def _search(value_and_gradient: ValueAndGradient, move: Callable[[np.ndarray], None], loss: float,
                gradient: np.ndarray, direction: np.ndarray, step_size: float) -> tuple[float, float, np.ndarray, int]:
        """Hager-Zhang line search along `direction` from the current weights; leaves the
        weights at the step found and returns (step, loss, gradient, evaluations) there, or
        (0, the old loss and gradient, evaluations) with the weights unchanged if no step
        lowers the loss."""
        from tensorflow_probability.python.optimizer import linesearch  # pylint: disable=import-outside-toplevel

        at, evaluations = [0.0], [0]

        def point(x: float, f: float, g: np.ndarray) -> _LinePoint:
            constant = lambda value: tf.constant(value, tf.float64)  # noqa: E731
            return _LinePoint(constant(x), constant(f), constant(g.dot(direction)), constant(g))

        def along(x: tf.Tensor) -> _LinePoint:
            x = float(x)
            move((x - at[0]) * direction)
            at[0] = x
            evaluations[0] += 1
            f, g = value_and_gradient()
            return point(x, f if math.isfinite(f) else math.inf, g)

        result = linesearch.hager_zhang(along, initial_step_size=tf.constant(step_size, tf.float64),
                                        value_at_zero=point(0.0, loss, gradient))
        found, found_loss = float(result.left.x), float(result.left.f)
        if not (found > 0 and math.isfinite(found_loss) and found_loss < loss):
            move(-at[0] * direction)
            return 0.0, loss, gradient, evaluations[0]
        move((found - at[0]) * direction)
        return found, found_loss, result.left.full_gradient.numpy(), evaluations[0]


__all__ = ["DEFAULT_ITERATIONS", "DEFAULT_LEARNING_RATE", "DEFAULT_MEMORY", "MinibatchLbfgs", "two_loop_direction"]
