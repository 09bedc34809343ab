"""The one-row coordinate Newton sweep for the Kullback-Leibler loss, shared by the dense and the
CSR ``kl_newton_sweep`` kernels (Hsieh & Dhillon, KDD 2011).

For one row ``x`` of the data (its stored values and their column indices), the row ``a`` of the
factor being updated and the model ``p = a Bᵀ`` at the same entries, the KL objective as a
function of a step ``s`` on one coordinate ``a_r`` is

    f(s) = s·c_r − Σ_j x_j log(p_j + s·b_jr) + const,      c_r = Σ_j b_jr (all columns),

whose derivatives at ``s = 0`` are ``g = c_r − Σ x_j b_jr / p_j`` and
``h = Σ x_j b_jr² / p_j²``; only entries with ``x_j > 0`` enter the sums, so a CSR row costs its
stored entries.  A penalty ``l1·a_r + ½·l2·a_r²`` adds ``l1 + l2·a_r`` to ``g`` and ``l2`` to ``h``.  The projected Newton step is ``s = max(−a_r, −g/h)``; ``p`` is shifted by
``s·b_r`` at once, so the next coordinate sees the current model.

Safeguard.  ``f'`` is concave (``f''' < 0``), so a Newton step that increases ``a_r`` never
overshoots and always decreases ``f``.  A decreasing step can overshoot; by concavity
``f(s) − f(0) ≤ s·(f'(0) + f'(s)) / 2``, so the step is accepted when ``f'(0) + f'(s) ≥ 0`` and
halved otherwise.  ``f'(s)`` is the next Newton iteration's gradient, so the check costs nothing
extra unless it fails.  The objective therefore never increases (up to rounding).
"""

import numpy as np
from numba import njit

from .._numba import SERIAL

# Halvings of a failing decreasing step before it is abandoned (the step is then 2⁻³⁰ of the
# Newton step: nothing left to gain).
_MAX_HALVINGS = 30


@njit(inline="always", **SERIAL)
def _derivatives(x, cols, p, B, r, c, eps):
    """``(g, h)`` at the current model ``p``, accumulated in float64."""
    g = c
    h = 0.0
    for t in range(x.shape[0]):
        xt = np.float64(x[t])
        if xt > 0.0:
            b = np.float64(B[cols[t], r])
            if b > 0.0:
                v = np.float64(p[t])
                if v < eps:
                    v = eps
                q = xt * b / v
                g -= q
                h += q * b / v
    return g, h


@njit(inline="always", **SERIAL)
def _shift(x, cols, p, B, r, s):
    """``p ← p + s·b_r`` where it is used (entries with ``x > 0``)."""
    s = p.dtype.type(s)
    for t in range(x.shape[0]):
        if x[t] > 0:
            p[t] += s * B[cols[t], r]


@njit(**SERIAL)
def newton_row(x, cols, p, a, B, colsum, l1, l2, max_newton, eps):
    """Cyclic coordinate Newton over the k entries of ``a`` (in place; ``p`` kept in step).

    A call, not inlined into the kernels' parallel loops: Numba's parallel transformation is slow
    on a large loop body (compile times in the README's performance section), and a row's work
    dwarfs the call.

    Returns ``Σ_r (∇ᴾ_r)²``: the squared projected gradient of each coordinate as its update
    found it (after the earlier coordinates of the row moved).
    """
    k = a.shape[0]
    pgrad_sq = 0.0
    for r in range(k):
        a0 = np.float64(a[r])
        c = np.float64(colsum[r]) + l1
        g, h = _derivatives(x, cols, p, B, r, c + l2 * a0, eps)
        h += l2
        if a0 > 0.0 or g < 0.0:
            pgrad_sq += g * g
        ar = a0
        for _ in range(max_newton):
            if h > 0.0:
                s = -g / h
            else:  # no stored x > 0 meets b_r > 0 and l2 = 0: f is linear with slope c_r + l1 ≥ 0
                s = -ar if g > 0.0 else 0.0
            if s < -ar:
                s = -ar
            if s == 0.0:
                break
            _shift(x, cols, p, B, r, s)
            g_new, h_new = _derivatives(x, cols, p, B, r, c + l2 * (ar + s), eps)
            n_half = 0
            while s < 0.0 and g + g_new < 0.0 and n_half < _MAX_HALVINGS:
                _shift(x, cols, p, B, r, -0.5 * s)  # take back half the step
                s *= 0.5
                g_new, h_new = _derivatives(x, cols, p, B, r, c + l2 * (ar + s), eps)
                n_half += 1
            if s < 0.0 and g + g_new < 0.0:  # no safe step: undo it
                _shift(x, cols, p, B, r, -s)
                break
            ar = max(ar + s, 0.0)
            g, h = g_new, h_new + l2
        a[r] = a.dtype.type(ar)
    return pgrad_sq
