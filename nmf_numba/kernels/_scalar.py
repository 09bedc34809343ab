"""Scalar helpers inlined into the kernels of :mod:`.dense` and :mod:`.csr`."""

import numpy as np
from numba import njit

from .._numba import SERIAL


@njit(inline="always", **SERIAL)
def power(base, exponent, one):
    """``base ** exponent`` with the exponents that common β values produce done without
    ``pow`` (β = 0.5, 1.5, 2.5, 0, 3 give ±0.5, ±1.5, ±1, 2).  ``one`` is 1 in base's dtype,
    which keeps float32 arithmetic in float32."""
    if exponent == 0.5:
        return np.sqrt(base)
    if exponent == -0.5:
        return one / np.sqrt(base)
    if exponent == 1.5:
        return base * np.sqrt(base)
    if exponent == -1.5:
        return one / (base * np.sqrt(base))
    if exponent == -1.0:
        return one / base
    if exponent == 1.0:
        return base
    if exponent == 2.0:
        return base * base
    return base**exponent


@njit(inline="always", **SERIAL)
def half_integer_power(base, halves, one):
    """``base ** (halves / 2)`` for ``halves`` in 1..16, by one square root and products
    (a fifth of the time of ``pow`` in the MU update's loop)."""
    root = np.sqrt(base) if halves % 2 else one
    result = one
    for _ in range(halves // 2):
        result *= base
    return result * root


@njit(inline="always", **SERIAL)
def divergence_terms(x, v, beta, eps):
    """The two stored-entry terms of ``D_β`` at one entry with ``x > eps`` (float64), the model
    value ``v`` clipped at ``eps`` (scikit-learn's definition): ``(x log(x/v), x)`` for β = 1,
    ``(x/v, log(x/v))`` for β = 0, ``(x^β, x v^(β−1))`` otherwise."""
    if v < eps:
        v = eps
    if beta == 1.0:
        return x * np.log(x / v), x
    if beta == 0.0:
        return x / v, np.log(x / v)
    return x**beta, x * v ** (beta - 1.0)
