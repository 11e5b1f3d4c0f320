"""Fixed-point amplitude amplification of a neuron's postselection (SPEC sections 2 and 8).

Pure numpy: the Cirq circuits (`qrnn_tfq.circuits.amplify`) and the TensorFlow engine
(`qrnn_tfq.engine.amplified`) take their phases from here, so both run the same schedule.

Yoder, Low and Chuang (PRL 113, 210501 (2014)): with `L = 2 l + 1` queries, the state
`G(alpha_l, beta_l) ... G(alpha_1, beta_1) |s>` with
`G(alpha, beta) = S_s(alpha) S_t(beta)`, `S_t(beta) = I - (1 - e^{i beta}) |t><t|` and
`S_s(alpha) = I - (1 - e^{-i alpha}) |s><s|` succeeds with probability
`P_L(lambda) = 1 - delta^2 T_L(T_{1/L}(1/delta) sqrt(1 - lambda))^2 >= 1 - delta^2` for
every success probability `lambda >= w`, where `w = 1 - gamma^2`, `1/gamma = T_{1/L}(1/delta)`
and `alpha_j = -beta_{l+1-j} = 2 arccot(tan(2 pi j / L) sqrt(1 - gamma^2))`. (The paper
writes `G = -S_s S_t`; the sign is a global phase and left out here, as in the circuit.)

A neuron's unnormalised map on source branch `x` is `sqrt(lambda(x))` times a rotation,
`lambda(x) = c(x)^2 + s(x)^2` whatever the target's state, so the amplification is
oblivious and acts branch by branch: the success branch keeps its rotation and its weight
`sqrt(lambda)` becomes `g(lambda) = sqrt(lambda) h(lambda)`, `h` a complex polynomial in
`lambda` (`amplified_gain`). Writing the iterate as `a |s> + b |t>` (`<s|t> = sqrt(lambda)`)
makes that polynomial explicit: `S_t` maps `b -> b - (1 - e^{i beta})(a sqrt(lambda) + b)`,
`S_s` maps `a -> a - (1 - e^{-i alpha})(a + b sqrt(lambda))`, and `b / sqrt(lambda)` stays
a polynomial in `lambda`.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np


def neuron_success_bound(order: int) -> float:
    """SPEC section 2's lower bound `2^(1 - 2^ord)` on one neuron's success probability."""
    if isinstance(order, bool) or not isinstance(order, int) or order < 0:
        raise ValueError(f"`order` must be an int >= 0, got {order!r}.")
    return 2.0 ** (1 - 2**order)


@dataclasses.dataclass(frozen=True)
class FixedPointSchedule:
    """The phases of `rounds` rounds of fixed-point amplification for success `>= lower_bound`.

    Attributes:
        rounds: `l`, Grover-like rounds; the neuron runs `2 l + 1` times (`U`, then `U^dagger`
            and `U` once per round).
        lower_bound: `w`, every branch whose success probability is at least `w` succeeds
            with probability at least `1 - delta^2` after amplification.
        alphas: `alpha_1 .. alpha_l`, phases of the reflections about the start state.
        betas: `beta_1 .. beta_l`, phases of the reflections about the success subspace.
        delta: the guaranteed error: failure probability at most `delta^2` above `w`.
    """

    rounds: int
    lower_bound: float
    alphas: tuple[float, ...]
    betas: tuple[float, ...]
    delta: float

    @property
    def queries(self) -> int:
        """`L = 2 l + 1` applications of the neuron or its inverse."""
        return 2 * self.rounds + 1


def _check_bound(lower_bound: float) -> float:
    if isinstance(lower_bound, bool) or not isinstance(lower_bound, (int, float)) or not 0 < lower_bound <= 1:
        raise ValueError(f"`lower_bound` must be a success probability in (0, 1], got {lower_bound!r}.")
    return float(lower_bound)


def fixed_point_schedule(rounds: int, lower_bound: float) -> FixedPointSchedule:
    """The Yoder-Low-Chuang phases for `rounds` rounds and success probabilities `>= lower_bound`.

    Raises:
        ValueError: `rounds` is not an int >= 1 or `lower_bound` is not in (0, 1].
    """
    if isinstance(rounds, bool) or not isinstance(rounds, (int, np.integer)) or rounds < 1:
        raise ValueError(f"`rounds` must be an int >= 1, got {rounds!r}.")
    rounds, w = int(rounds), _check_bound(lower_bound)
    queries = 2 * rounds + 1
    gamma = math.sqrt(1.0 - w)
    # 1 / delta = T_L(1 / gamma), a Chebyshev polynomial outside [-1, 1]; delta -> 0 as w -> 1.
    delta = 0.0 if gamma == 0 else 1.0 / math.cosh(queries * math.acosh(1.0 / gamma))
    j = np.arange(1, rounds + 1)
    alphas = 2.0 * np.arctan2(1.0, np.tan(2.0 * np.pi * j / queries) * math.sqrt(w))  # 2 arccot(.)
    betas = -alphas[::-1]
    return FixedPointSchedule(rounds, w, tuple(float(a) for a in alphas), tuple(float(b) for b in betas), delta)


def rounds_for(lower_bound: float, delta: float) -> int:
    """The fewest rounds that keep the failure probability below `delta^2` for success `>= lower_bound`."""
    w = _check_bound(lower_bound)
    if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not 0 < delta < 1:
        raise ValueError(f"`delta` must be in (0, 1), got {delta!r}.")
    if w == 1.0:
        return 1
    # T_L(1/gamma) >= 1/delta  <=>  L >= acosh(1/delta) / acosh(1/gamma); L = 2 l + 1.
    queries = math.acosh(1.0 / delta) / math.acosh(1.0 / math.sqrt(1.0 - w))
    return max(1, math.ceil((queries - 1.0) / 2.0 - 1e-12))


def amplified_gain(success: np.ndarray, schedule: FixedPointSchedule) -> np.ndarray:
    """`h(lambda)`: the success amplitude after amplification is `sqrt(lambda) h(lambda)`.

    Args:
        success: success probabilities `lambda` in [0, 1] (any shape).
        schedule: the phases.

    Returns:
        complex128 array of `h`, the factor that multiplies a branch's `c` and `s`.
    """
    lam = np.asarray(success, dtype=np.float64)
    a = np.ones(lam.shape, np.complex128)
    b = np.zeros(lam.shape, np.complex128)  # b / sqrt(lambda), see the module docstring
    for alpha, beta in zip(schedule.alphas, schedule.betas):
        b = b - (1 - np.exp(1j * beta)) * (a + b)
        a = a - (1 - np.exp(-1j * alpha)) * (a + b * lam)
    return a + b


def amplified_success(success: np.ndarray, schedule: FixedPointSchedule) -> np.ndarray:
    """`P_L(lambda) = lambda |h(lambda)|^2`, the success probability after amplification."""
    lam = np.asarray(success, dtype=np.float64)
    return lam * np.abs(amplified_gain(lam, schedule)) ** 2
