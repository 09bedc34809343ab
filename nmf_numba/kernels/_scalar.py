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
