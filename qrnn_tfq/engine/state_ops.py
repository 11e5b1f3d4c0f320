"""Elementary operations on a batch of state vectors (SPEC sections 1-3).

Inside the engine a state is batch-last, `(2^m, B)` over `m` lanes, lane 0 the most
significant bit of the amplitude index: every lane's two halves are then contiguous runs
of whole batch rows, which XLA vectorises (2.6 times faster than batch-first here).
Every gate of the model is a real 2x2 rotation-like mix on one lane, possibly scaled per
branch, so one function, `mix_lane`, serves neurons and work-stage rotations alike.
States are real, except with amplified neurons (SPEC section 8), whose factors are complex;
every function here takes both (`tf.math.conj` and `abs2` cost nothing on real tensors).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from qrnn_tfq.config import normalize_interval as normalize_interval  # the renormalisation rule, TF-free


def tiny(dtype: tf.DType) -> float:
    """Smallest positive normal number of `dtype`: the floor of every norm and probability."""
    if tf.as_dtype(dtype) == tf.bfloat16:  # numpy's finfo does not know it; float32's exponent range
        dtype = tf.float32
    return float(np.finfo(tf.as_dtype(dtype).as_numpy_dtype).tiny)


def real_dtype(dtype: tf.DType) -> tf.DType:
    """float32 for complex64, float64 for complex128, the dtype itself if real."""
    return dtype.real_dtype


def as_dtype(value: tf.Tensor, dtype: tf.DType) -> tf.Tensor:
    """`value` in `dtype`; a real tensor becomes complex through `tf.complex`, whose
    gradient takes the real part quietly (a `tf.cast` would warn about it)."""
    if dtype.is_complex and not value.dtype.is_complex:
        value = tf.cast(value, dtype.real_dtype)
        return tf.complex(value, tf.zeros_like(value))
    return tf.cast(value, dtype)


def abs2(value: tf.Tensor) -> tf.Tensor:
    """`|value|^2` elementwise, real: `value^2` for a real tensor."""
    if value.dtype.is_complex:
        return tf.square(tf.math.real(value)) + tf.square(tf.math.imag(value))
    return tf.square(value)


def inverse_sqrt(value: tf.Tensor, floor: float | None = None) -> tf.Tensor:
    """`1 / sqrt(value)`, and 0 where `value` is at most `floor` (default `sqrt(tiny)`,
    1e-19 in float32: a postselection no amplification could reach): such a sample becomes
    the zero state and passes no gradient back, instead of being blown up by `1/sqrt(tiny)`
    (and the derivative `value^-1.5`) into inf and NaN."""
    floor = np.sqrt(tiny(value.dtype)) if floor is None else floor
    alive = value > floor
    return tf.where(alive, tf.math.rsqrt(tf.where(alive, value, tf.ones_like(value))), tf.zeros_like(value))


def _split(state: tf.Tensor, lane: int, num_lanes: int) -> tuple[tf.Tensor, tf.Tensor]:
    """The lane-0 and lane-1 halves, each (2^lane, 1, 2^(m-1-lane), B)."""
    split = tf.reshape(state, [2**lane, 2, 2 ** (num_lanes - 1 - lane), -1])
    return split[:, :1], split[:, 1:]


def _mix(state: tf.Tensor, lane: int, num_lanes: int, cos: tf.Tensor, sin: tf.Tensor) -> tf.Tensor:
    a0, a1 = _split(state, lane, num_lanes)
    mixed = tf.concat([cos * a0 - sin * a1, sin * a0 + cos * a1], axis=1)  # concat: XLA fuses it, stack it does not
    return tf.reshape(mixed, [2**num_lanes, -1])


def _unbroadcast(grad: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """Sum `grad` over the axes that `like` was broadcast along."""
    if like.shape.rank == 0:
        return tf.reduce_sum(grad)
    axes = [i for i, size in enumerate(like.shape) if size == 1 and grad.shape[i] != 1]
    return tf.reduce_sum(grad, axis=axes, keepdims=True) if axes else grad


def mix_lane(state: tf.Tensor, lane: int, num_lanes: int, cos: tf.Tensor, sin: tf.Tensor) -> tf.Tensor:
    """Apply `a0' = c a0 - s a1`, `a1' = s a0 + c a1` to `lane` on every branch.

    On each branch this is a rotation scaled by `sqrt(c^2 + s^2)` (by a complex `h` too,
    when amplified), so its adjoint is the same mix with `conj(c)`, `-conj(s)`: the
    gradient is written out instead of left to autodiff, whose slice gradients fill and
    add zero tensors. (TensorFlow's gradient of a complex `z` is `dL/dRe z + i dL/dIm z`,
    which a linear map pulls back through its conjugate transpose.)

    Args:
        state: (2^m, B) amplitudes.
        lane: the target lane, 0 .. m-1.
        num_lanes: `m`.
        cos: a scalar, or factors shaped by `branch_factors`: (2^lane, 1, 2^(m-1-lane), B)
            per sample or (..., 1) shared by the batch.
        sin: same shape as `cos`.

    Returns:
        (2^m, B) amplitudes, not renormalised.
    """

    @tf.custom_gradient
    def mix(state, cos, sin):
        def grad(upstream):
            a0, a1 = (tf.math.conj(a) for a in _split(state, lane, num_lanes))
            g0, g1 = _split(upstream, lane, num_lanes)
            d_cos = _unbroadcast(a0 * g0 + a1 * g1, cos)
            d_sin = _unbroadcast(a0 * g1 - a1 * g0, sin)
            return _mix(upstream, lane, num_lanes, tf.math.conj(cos), -tf.math.conj(sin)), d_cos, d_sin

        return _mix(state, lane, num_lanes, cos, sin), grad

    return mix(state, cos, sin)


def branch_factors(factors: tf.Tensor, lane: int, num_lanes: int) -> tf.Tensor:
    """(2^(m-1),) shared or (2^(m-1), B) per-sample factors -> the shape `mix_lane` takes."""
    return tf.reshape(factors, [2**lane, 1, 2 ** (num_lanes - 1 - lane), -1])


@tf.custom_gradient
def normalize(state: tf.Tensor) -> tf.Tensor:
    """Rescale every sample (column) to unit norm; an all-zero sample stays zero (no NaN)."""
    # Floor `tiny`: the deferred renormalisation lets norms shrink to 1e-20, and this
    # gradient (written out below) has no `norm^-1.5` factor to overflow.
    scale = inverse_sqrt(tf.reduce_sum(abs2(state), axis=0, keepdims=True), tiny(real_dtype(state.dtype)))
    scale = as_dtype(scale, state.dtype)
    unit = state * scale

    def grad(upstream):  # the projection of the upstream gradient off the unit vector
        overlap = tf.math.real(tf.reduce_sum(tf.math.conj(unit) * upstream, axis=0, keepdims=True))
        return scale * (upstream - unit * as_dtype(overlap, state.dtype))

    return unit, grad
