"""β-divergences between X and the model W H, dense and CSR, never densifying X.

The definitions are scikit-learn's (``sklearn.decomposition._nmf._beta_divergence``):

* β = 2: ``½ ‖X − WH‖²_F``;
* β = 1 (generalised Kullback-Leibler): ``Σ x log(x / v) − x + v``;
* β = 0 (Itakura-Saito): ``Σ x / v − log(x / v) − 1``;
* other β: ``Σ (x^β + (β−1) v^β − β x v^(β−1)) / (β(β−1))``,

where ``v`` is an entry of WH.  For β ≠ 2 entries with ``x ≤ EPSILON`` are left out of the
x-dependent terms and ``v`` is clipped at ``EPSILON`` there, ``EPSILON`` being float32's machine
epsilon, exactly as scikit-learn does, so the numbers can be compared with it directly.
"""

import numpy as np
from numba import njit

from ._numba import SERIAL

__all__ = ["EPSILON", "BETA_LOSSES", "divergence", "divergence_from_terms",
           "frobenius_from_parts", "projected_sq"]

# scikit-learn's guard against division by zero and negative powers of zero (for every dtype).
EPSILON = float(np.finfo(np.float32).eps)

BETA_LOSSES = {"frobenius": 2.0, "kullback-leibler": 1.0, "itakura-saito": 0.0}


def divergence(op, A, B, beta):
    """``D_β(X | A Bᵀ)`` for a data operator ``op`` of ``X`` and tall factors ``A``, ``B``."""
    if beta == 2:
        return 0.5 * op.residual_sq(A, B)
    s1, s2, s3 = op.beta_terms(A, B, beta, EPSILON)
    return divergence_from_terms(s1, s2, s3, beta, op.n_entries)


@njit(**SERIAL)
def divergence_from_terms(s1, s2, s3, beta, n_entries):
    """``D_β`` (β ≠ 2) from the sums of a data operator's ``beta_terms`` over ``n_entries``
    entries (shared by :func:`divergence` and the compiled loop)."""
    if beta == 1:
        value = s1 + s3 - s2
    elif beta == 0:
        value = s1 - n_entries - s2
    else:
        value = (s1 - beta * s2 + (beta - 1.0) * s3) / (beta * (beta - 1.0))
    return max(value, 0.0)  # a divergence is >= 0; rounding can leave a tiny negative


def projected_sq(A, grad, free=None):
    """``‖∇ᴾ‖²_F``: the gradient where ``A > 0``, its negative part where ``A = 0`` (the
    stationarity measure of the non-negative problem).  ``free``: a boolean array over A's
    columns; only those count (the others are fixed components, not variables)."""
    if free is not None:
        A, grad = A[:, free], grad[:, free]
    pg = np.where(A > 0, grad, np.minimum(grad, 0))
    return float(np.vdot(pg, pg))


@njit(**SERIAL)
def frobenius_from_parts(sq_norm_x, A, XB, G):
    """``‖X − A Bᵀ‖²`` from ``‖X‖²``, ``XB = X B`` and ``G = BᵀB`` in O(rows·k²), float64.

    The loop's cheap estimate (the products are the ones the update just used).  It cancels
    down to the residual, so it is only good to about ``eps(dtype)·‖X‖²``: enough for the
    stopping rule; the final loss is computed by ``residual_sq`` instead.  Compiled, so that
    the Python loop and the compiled small-problem loop share it; ``AᵀA`` goes to the BLAS."""
    A64 = A.astype(np.float64)
    cross = 0.0
    for i in range(A.shape[0]):
        for r in range(A.shape[1]):
            cross += A64[i, r] * np.float64(XB[i, r])
    AtA = np.dot(A64.T, A64)
    model = 0.0
    for r in range(G.shape[0]):
        for s in range(G.shape[1]):
            model += AtA[r, s] * np.float64(G[r, s])
    return max(sq_norm_x - 2.0 * cross + model, 0.0)
