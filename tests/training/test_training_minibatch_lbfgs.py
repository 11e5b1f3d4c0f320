"""Tests for qrnn_tfq/training/minibatch_lbfgs.py: PyTorch's fixed-step L-BFGS, batch by batch."""

from __future__ import annotations

import qrnn_tfq  # noqa: F401  (selects tf-keras before TensorFlow loads)

import numpy as np
import pytest
import tensorflow as tf

from data.sequences import task_by_name
from qrnn_tfq.training import QRNNSequenceModel, SequenceTaskModel, TrainerConfig
from qrnn_tfq.training.minibatch_lbfgs import MinibatchLbfgs, two_loop_direction

TASK = task_by_name("xor", length=9)
VALIDATION = TASK.sample(8, seed=(5, 1))


class Quadratic:
    """f(x) = (x - c)^T A (x - c) / 2 on a NumPy position, the objective `step` sees."""

    def __init__(self, size: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        basis = np.linalg.qr(rng.normal(size=(size, size)))[0]
        self.matrix = basis @ np.diag(np.linspace(0.5, 3.0, size)) @ basis.T
        self.centre = rng.normal(size=size)
        self.position = np.zeros(size)
        self.moves: list[np.ndarray] = []

    def value_and_gradient(self) -> tuple[float, np.ndarray]:
        offset = self.position - self.centre
        return float(offset @ self.matrix @ offset / 2), self.matrix @ offset

    def move(self, delta: np.ndarray) -> None:
        self.moves.append(delta.copy())
        self.position = self.position + delta


def test_two_loop_recursion_is_the_bfgs_inverse_hessian_update():
    rng = np.random.default_rng(1)
    size, pairs = 6, 4
    steps = rng.normal(size=(pairs, size))
    changes = steps @ np.diag(rng.uniform(1, 2, size)) + 0.1 * rng.normal(size=(pairs, size))  # y.s > 0
    rho = 1 / np.einsum("ij,ij->i", steps, changes)
    assert np.all(rho > 0)
    h_diag, gradient = 0.7, rng.normal(size=size)
    inverse = h_diag * np.eye(size)
    for s, y, r in zip(steps, changes, rho, strict=True):  # oldest first
        left = np.eye(size) - r * np.outer(s, y)
        inverse = left @ inverse @ left.T + r * np.outer(s, s)
    np.testing.assert_allclose(two_loop_direction(gradient, steps, changes, rho, h_diag), -inverse @ gradient, rtol=1e-10)


def test_first_move_is_pytorchs_scaled_gradient_and_a_quadratic_is_solved():
    problem = Quadratic(5)
    optimizer = MinibatchLbfgs(learning_rate=1.0, max_iterations=20, memory=10)
    optimizer.build([tf.Variable(np.zeros(5))])
    _, gradient = problem.value_and_gradient()
    first_loss = optimizer.step(problem.value_and_gradient, problem.move)
    assert first_loss == pytest.approx(float(problem.centre @ problem.matrix @ problem.centre / 2))
    np.testing.assert_allclose(problem.moves[0], -min(1.0, 1 / np.abs(gradient).sum()) * gradient)
    np.testing.assert_allclose(problem.position, problem.centre, atol=1e-4)
    assert 2 <= optimizer.iterations <= 20 and optimizer.evaluations == optimizer.iterations


def test_memory_carries_over_steps_and_is_capped():
    problem = Quadratic(8, seed=2)
    optimizer = MinibatchLbfgs(learning_rate=0.5, max_iterations=4, memory=2)
    optimizer.build([tf.Variable(np.zeros(8))])
    start, _ = problem.value_and_gradient()
    for _ in range(3):
        optimizer.step(problem.value_and_gradient, problem.move)
    assert optimizer.iterations == 12
    assert int(optimizer.variables[2].numpy()) == 2  # "pairs"
    assert problem.value_and_gradient()[0] < start / 2
    for _ in range(30):  # until a tolerance ends the steps
        optimizer.step(problem.value_and_gradient, problem.move)
    np.testing.assert_allclose(problem.position, problem.centre, atol=1e-4)


def test_scale_lowers_the_step_and_a_zero_gradient_stops_at_once():
    problem = Quadratic(3)
    optimizer = MinibatchLbfgs(learning_rate=0.01)
    optimizer.build([tf.Variable(np.zeros(3))])
    optimizer.scale.assign(0.5)
    _, gradient = problem.value_and_gradient()
    optimizer.step(problem.value_and_gradient, problem.move)
    np.testing.assert_allclose(problem.moves[0], -0.005 * min(1.0, 1 / np.abs(gradient).sum()) * gradient, rtol=1e-6)
    solved = Quadratic(3)
    solved.position = solved.centre.copy()
    optimizer = MinibatchLbfgs()
    optimizer.build([tf.Variable(np.zeros(3))])
    assert optimizer.step(solved.value_and_gradient, solved.move) == 0.0
    assert solved.moves == [] and optimizer.iterations == 0


def test_line_search_keeps_a_too_large_step_from_diverging():
    losses = {}
    for line_search in (False, True):
        problem = Quadratic(6, seed=3)
        optimizer = MinibatchLbfgs(learning_rate=50.0, max_iterations=10, line_search=line_search)
        optimizer.build([tf.Variable(np.zeros(6))])
        values = []
        tracked = lambda: values.append(problem.value_and_gradient()) or values[-1]  # noqa: E731
        start = optimizer.step(tracked, problem.move)
        losses[line_search] = (start, problem.value_and_gradient()[0])
        if line_search:  # every accepted step lowers the loss; the search's trial points may not
            assert optimizer.evaluations >= optimizer.iterations
    assert losses[False][1] > losses[False][0]  # 50 x the quasi-Newton step overshoots
    assert losses[True][1] < 1e-6 * losses[True][0]


def test_keep_best_ends_a_diverging_step_at_its_best_iterate_and_skips_the_jump_pair():
    runs = {}
    for keep_best in (False, True):
        problem = Quadratic(6, seed=3)
        optimizer = MinibatchLbfgs(learning_rate=3.0, max_iterations=10, keep_best=keep_best)  # falls, then diverges
        optimizer.build([tf.Variable(np.zeros(6))])
        losses = []
        tracked = lambda: losses.append(problem.value_and_gradient()[0]) or problem.value_and_gradient()  # noqa: E731
        optimizer.step(tracked, problem.move)
        runs[keep_best] = problem, optimizer, losses
    plain, kept = runs[False][0], runs[True][0]
    assert len(kept.moves) == len(plain.moves) + 1  # the same iterates, then one jump back
    for got, want in zip(kept.moves[:-1], plain.moves, strict=True):
        np.testing.assert_array_equal(got, want)
    final = kept.value_and_gradient()[0]
    start, best = runs[True][2][0], min(runs[True][2])
    assert final == pytest.approx(best) and best < start / 2 and plain.value_and_gradient()[0] > 100 * start
    assert runs[True][1].evaluations == runs[False][1].evaluations + 1  # the last iterate is evaluated too

    optimizer = runs[True][1]
    pairs = int(optimizer._state["pairs"].numpy())
    assert float(optimizer._state["step_size"].numpy()) == 0.0  # step 0 marks the jump
    optimizer.max_iterations = 1
    optimizer.step(kept.value_and_gradient, kept.move)
    assert int(optimizer._state["pairs"].numpy()) == pairs  # the pair across the jump is skipped


def test_keep_best_changes_nothing_when_the_last_iterate_is_the_best():
    moves = {}
    for keep_best in (False, True):
        problem = Quadratic(5)
        optimizer = MinibatchLbfgs(learning_rate=1.0, max_iterations=20, memory=10, keep_best=keep_best)
        optimizer.build([tf.Variable(np.zeros(5))])
        optimizer.step(problem.value_and_gradient, problem.move)
        moves[keep_best] = problem.moves
    assert len(moves[True]) == len(moves[False])
    for got, want in zip(moves[True], moves[False], strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.fixture
def make(training_run):
    def make(folder=None, steps=4):
        model = QRNNSequenceModel(qrnn_tfq.QRNN(workspace_lanes=2, io_lanes=2, stages=1, degree=2, seed=0))
        optimizer = MinibatchLbfgs(learning_rate=0.1, max_iterations=4, memory=4)
        config = TrainerConfig(max_steps=steps, stop_loss=None, validate_every=2, seed=3, loss="nll")
        return training_run(model, optimizer, lambda step: TASK.sample(8, seed=(5, 0, step)), VALIDATION, config,
                            folder=folder)

    return make


def test_fit_minimises_and_resume_continues_exactly(make, assert_resume_is_exact):
    whole, result = assert_resume_is_exact(make, steps=4, split=2)
    optimizer = whole.model.optimizer
    assert optimizer.iterations == 16 and optimizer.evaluations == 16
    assert optimizer.learning_rate_scale is optimizer.scale  # what a rollback lowers
    assert result.history[-1].train_loss < result.history[0].train_loss
    assert 0 < result.min_postselection <= 1


def test_evaluations_per_step_are_capped_as_in_pytorch():
    problem = Quadratic(8, seed=4)
    optimizer = MinibatchLbfgs(learning_rate=0.1, max_iterations=3)  # max_eval = 3 * 5 // 4 = 3
    optimizer.build([tf.Variable(np.zeros(8))])
    optimizer.step(problem.value_and_gradient, problem.move)
    assert (optimizer.iterations, optimizer.evaluations) == (2, 3)  # torch.optim.LBFGS(max_iter=3) does the same


def test_bad_settings_are_errors():
    with pytest.raises(ValueError, match=r"`learning_rate` must be a finite number > 0.0, got 0"):
        MinibatchLbfgs(learning_rate=0)
    with pytest.raises(ValueError, match=r"`max_iterations` must be a positive int, got 2.5"):
        MinibatchLbfgs(max_iterations=2.5)
    with pytest.raises(ValueError, match=r"`memory` must be a positive int, got 0"):
        MinibatchLbfgs(memory=0)
    with pytest.raises(ValueError, match=r"`tolerance_change` must be a finite number >= 0.0, got -1"):
        MinibatchLbfgs(tolerance_change=-1)
    with pytest.raises(ValueError, match=r"`line_search` must be True or False, got 'yes'"):
        MinibatchLbfgs(line_search="yes")
    with pytest.raises(ValueError, match=r"`keep_best` must be True or False, and False with `line_search`, got True"):
        MinibatchLbfgs(line_search=True, keep_best=True)
    with pytest.raises(ValueError, match=r"not built yet"):
        MinibatchLbfgs().variables  # noqa: B018
    optimizer = MinibatchLbfgs()
    optimizer.build([tf.Variable(np.zeros(3))])
    with pytest.raises(ValueError, match=r"built for 3 weights, got 4"):
        optimizer.build([tf.Variable(np.zeros(4))])
    model = SequenceTaskModel(qrnn_tfq.QRNN(workspace_lanes=2, io_lanes=2, stages=1, degree=2, seed=0))
    with pytest.raises(ValueError, match=r"Could not interpret optimizer identifier"):  # neither Keras' nor a BatchOptimizer
        model.compile(optimizer=object())
