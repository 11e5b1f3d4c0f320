"""The density-matrix engine: a `Program` run on a batch of sequences in TensorFlow.

    engine = DensityMatrixEngine(program)
    p = engine.probabilities(weights, inputs)        # (B, R) P(readout r reads 1), differentiable
    bits = engine.sample(weights, inputs, seed)      # (B, R) one shot per row: exact trajectories

The state is the density matrix of the live qubits (`Program` enters and removes them), a
complex128 tensor `(B, 2,...,2, 2,...,2)`: rows then columns, in the order the qubits
entered. Gradients are TensorFlow's own (the program is a few hundred small einsums, so
no hand-written backward is needed); `probabilities` is exactly the marginal of each
readout, `sample` draws each readout from its conditional distribution given the earlier
ones, which is how a device's shots are distributed (the effects are exact: see program.py).
"""

from __future__ import annotations

import string

import numpy as np
import tensorflow as tf

from qrnn_tfq.hardware.program import Apply, Enter, Leave, Program, Rotate

DTYPE = tf.complex128
MAX_LIVE_QUBITS = 8  # a (B, 4^8) complex128 state is 1 MiB per sequence


def _letters(live: int) -> tuple[list[str], list[str]]:
    letters = string.ascii_letters.replace("Z", "")
    return list(letters[:live]), list(letters[live:2 * live])


class DensityMatrixEngine:
    """Runs `program` on batched density matrices (see the module docstring)."""

    def __init__(self, program: Program) -> None:
        if program.max_live > MAX_LIVE_QUBITS:
            raise ValueError(f"The program holds {program.max_live} live qubits at once; the density-matrix engine "
                             f"takes at most {MAX_LIVE_QUBITS} ({16 * 4 ** program.max_live} bytes per sequence).")
        self.program = program
        self.matrices = [tf.constant(item.matrix.reshape((2,) * (4 * len(item.qubits))), DTYPE)
                         if isinstance(item, Apply) else None for item in program.items]
        self.effects = [tf.constant(item.effects, DTYPE) if isinstance(item, Leave) and item.effects is not None
                        else None for item in program.items]

    def _check(self, weights: tf.Tensor, inputs: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Weights and inputs as float64, and (B,) flags: False for a sequence with a bit not 0 or 1.

        Eager mode raises ValueError naming the bad value; a graph asserts when it runs
        (InvalidArgumentError); XLA drops assertions, so there `_run` returns NaN
        probabilities (and -1 shots) for the sequences with a bad bit, as the QRNN layers do.
        """
        weights = tf.convert_to_tensor(weights, tf.float64)
        inputs = tf.cast(tf.convert_to_tensor(inputs), tf.float64)
        if weights.shape.rank != 1 or weights.shape[0] != self.program.num_weights:
            raise ValueError(f"`weights` must have shape ({self.program.num_weights},), got {weights.shape}.")
        if inputs.shape.rank != 2 or inputs.shape[1] != self.program.steps:
            raise ValueError(f"`inputs` must have shape (B, {self.program.steps}) (one bit per step), got {inputs.shape}.")
        ok = tf.reduce_all(tf.logical_or(tf.equal(inputs, 0.0), tf.equal(inputs, 1.0)), axis=1)
        if tf.executing_eagerly():
            values = inputs.numpy()
            bad = values[~np.isin(values, (0.0, 1.0))]
            if bad.size:
                raise ValueError(f"`inputs` must be bits (0 or 1), got {float(bad[0])!r}.")
            return weights, inputs, ok
        check = tf.debugging.assert_equal(tf.reduce_all(ok), True, message="`inputs` must be bits (0 or 1).")
        with tf.control_dependencies([check]):
            return weights, tf.identity(inputs), ok

    def probabilities(self, weights: tf.Tensor, inputs: tf.Tensor) -> tf.Tensor:
        """(B, R): the probability that each readout reads 1 (its exact marginal)."""
        return self._run(weights, inputs, None)

    def sample(self, weights: tf.Tensor, inputs: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        """(B, R) int32: one shot per row, readouts drawn in order from their conditional distributions."""
        return tf.cast(self._run(weights, inputs, tf.convert_to_tensor(seed, tf.int64)), tf.int32)

    def _run(self, weights: tf.Tensor, inputs: tf.Tensor, seed: tf.Tensor | None) -> tf.Tensor:
        weights, inputs, ok = self._check(weights, inputs)
        batch = tf.shape(inputs)[0]
        rho = tf.ones([batch], DTYPE)  # zero live qubits
        live: list = []
        out: list = [None] * len(self.program.records)
        for k, item in enumerate(self.program.items):
            if isinstance(item, Enter):
                rows, cols = _letters(len(live))
                zero = tf.constant([[1, 0], [0, 0]], DTYPE)
                rho = tf.einsum(f"Z{''.join(rows)}{''.join(cols)},xy->Z{''.join(rows)}x{''.join(cols)}y", rho, zero)
                live.append(item.qubit)
            elif isinstance(item, Rotate):
                rho = self._rotate(rho, live, item, weights, inputs)
            elif isinstance(item, Apply):
                rho = self._apply(rho, live, item.qubits, self.matrices[k])
            else:
                rho, value = self._leave(rho, live, item, self.effects[k], seed, k)
                live.remove(item.qubit)
                if item.record is not None:
                    out[item.record] = value
        if any(v is None for v in out):
            raise AssertionError("A readout of the program was never recorded.")
        result = tf.stack(out, axis=1) if out else tf.zeros([batch, 0], tf.float64)
        invalid = -1.0 if seed is not None else float("nan")  # what XLA returns for a sequence with a bad bit
        return tf.where(ok[:, None], result, tf.constant(invalid, tf.float64))

    @staticmethod
    def _rotate(rho: tf.Tensor, live: list, item: Rotate, weights: tf.Tensor, inputs: tf.Tensor) -> tf.Tensor:
        angle = item.const + tf.reduce_sum(weights * item.linear)
        if item.step >= 0:
            angle = angle + tf.reduce_sum(weights * item.bilinear) * inputs[:, item.step]
        angle = angle * tf.ones_like(inputs[:, 0])
        c, s = tf.cos(angle / 2), tf.sin(angle / 2)
        real = tf.reshape(tf.stack([c, -s, s, c], axis=1), [-1, 2, 2])
        u = tf.complex(real, tf.zeros_like(real))  # real: conj(u) = u
        rows, cols = _letters(len(live))
        a = live.index(item.qubit)
        before = "".join(rows) + "".join(cols)
        after_rows = rows.copy()
        after_rows[a] = "x"
        rho = tf.einsum(f"Zx{rows[a]},Z{before}->Z{''.join(after_rows)}{''.join(cols)}", u, rho)
        after_cols = cols.copy()
        after_cols[a] = "y"
        return tf.einsum(f"Zy{cols[a]},Z{''.join(rows)}{''.join(cols)}->Z{''.join(rows)}{''.join(after_cols)}", u, rho)

    @staticmethod
    def _apply(rho: tf.Tensor, live: list, qubits: tuple, matrix: tf.Tensor) -> tf.Tensor:
        rows, cols = _letters(len(live))
        axes = [live.index(q) for q in qubits]
        fresh = iter("0123456789")  # placeholders, replaced below
        new_r = {a: next(fresh) for a in axes}
        new_c = {a: next(fresh) for a in axes}
        spare = [ch for ch in string.ascii_letters if ch not in rows + cols + ["Z"]]
        rename = {v: spare[i] for i, v in enumerate(list(new_r.values()) + list(new_c.values()))}
        out_r = [rename[new_r[a]] if a in new_r else r for a, r in enumerate(rows)]
        out_c = [rename[new_c[a]] if a in new_c else c for a, c in enumerate(cols)]
        spec_m = "".join(out_r[a] for a in axes) + "".join(out_c[a] for a in axes) + \
            "".join(rows[a] for a in axes) + "".join(cols[a] for a in axes)
        return tf.einsum(f"{spec_m},Z{''.join(rows)}{''.join(cols)}->Z{''.join(out_r)}{''.join(out_c)}", matrix, rho)

    @staticmethod
    def _leave(rho: tf.Tensor, live: list, item: Leave, effects: tf.Tensor | None, seed: tf.Tensor | None,
               k: int) -> tuple[tf.Tensor, tf.Tensor | None]:
        rows, cols = _letters(len(live))
        a = live.index(item.qubit)
        kept = "".join(r for i, r in enumerate(rows) if i != a) + "".join(c for i, c in enumerate(cols) if i != a)
        traced_cols = [rows[i] if i != a else cols[a] for i in range(len(live))]  # others traced
        if effects is None:
            diag_cols = cols.copy()
            diag_cols[a] = rows[a]
            return tf.einsum(f"Z{''.join(rows)}{''.join(diag_cols)}->Z{kept}", rho), None
        marginal = tf.einsum(f"Z{''.join(rows)}{''.join(traced_cols)}->Z{rows[a]}{cols[a]}", rho)  # (B, 2, 2)
        p1 = tf.clip_by_value(tf.math.real(tf.einsum("Zij,ij->Z", marginal, effects[1])), 0.0, 1.0)
        if seed is None:
            diag_cols = cols.copy()
            diag_cols[a] = rows[a]
            return tf.einsum(f"Z{''.join(rows)}{''.join(diag_cols)}->Z{kept}", rho), p1
        uniform = tf.random.stateless_uniform(tf.shape(p1), tf.stack([seed, tf.constant(k, tf.int64)]), dtype=tf.float64)
        bit = tf.cast(uniform < p1, tf.int32)
        chosen = tf.gather(effects, bit)  # (B, 2, 2)
        probability = tf.cast(tf.maximum(tf.where(bit == 1, p1, 1.0 - p1), 1e-300), DTYPE)
        conditioned = tf.einsum(f"Z{''.join(rows)}{''.join(cols)},Z{rows[a]}{cols[a]}->Z{kept}", rho, chosen)
        shape = tf.concat([[-1], tf.ones([2 * (len(live) - 1)], tf.int32)], axis=0)
        conditioned = conditioned / tf.reshape(probability, shape)
        return conditioned, tf.cast(bit, tf.float64)
