"""Kernels on CSR matrices given as scipy's ``(data, indices, indptr)`` arrays.

Same conventions as :mod:`nmf_numba.kernels.dense` (tall factors, ``X ≈ A Bᵀ``, scalars in the
arrays' dtype, per-row partial sums).  Nothing here ever forms a dense rows×cols array: the model
``A Bᵀ`` is evaluated only at the stored entries, one k-long dot product each.
"""

import numpy as np
from numba import njit, prange

from .._numba import PARALLEL


@njit(**PARALLEL)
def spmm(data, indices, indptr, B, out):
    """``out ← X B`` for CSR ``X`` (rows×cols) and dense ``B`` (cols×k)."""
    n_rows = indptr.shape[0] - 1
    k = B.shape[1]
    zero = out.dtype.type(0)
    for i in prange(n_rows):
        for t in range(k):
            out[i, t] = zero
        for p in range(indptr[i], indptr[i + 1]):
            x = data[p]
            j = indices[p]
            for t in range(k):
                out[i, t] += x * B[j, t]


@njit(**PARALLEL)
def mu_ratio_times(data, indices, indptr, A, B, beta, eps, out):
    """Fused MU numerator ``out ← (X ⊙ (A Bᵀ)^(β−2)) B`` over the stored entries of X.

    One pass over each row: the model value ``a_i · b_j`` is computed at each stored ``(i, j)``,
    clipped at ``eps`` when β < 2 (scikit-learn's guard), turned into the ratio and accumulated.
    """
    n_rows = indptr.shape[0] - 1
    k = B.shape[1]
    zero = out.dtype.type(0)
    one = out.dtype.type(1)
    two = out.dtype.type(2)
    for i in prange(n_rows):
        for t in range(k):
            out[i, t] = zero
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            v = zero
            for t in range(k):
                v += A[i, t] * B[j, t]
            if beta < two and v < eps:
                v = eps
            x = data[p]
            if beta == one:
                r = x / v
            elif beta == zero:
                r = x / (v * v)
            else:
                r = x * v ** (beta - two)
            for t in range(k):
                out[i, t] += r * B[j, t]


@njit(**PARALLEL)
def beta_terms(data, indices, indptr, A, B, beta, eps):
    """The stored-entry sums of ``D_β(X | A Bᵀ)`` in float64, as in the dense ``beta_terms``.

    Returns ``(s1, s2)``; the term over every entry (``Σ A Bᵀ`` or ``Σ (A Bᵀ)^β``) is computed by
    the caller without densifying X.
    """
    n_rows = indptr.shape[0] - 1
    k = B.shape[1]
    part = np.zeros((n_rows, 2))
    for i in prange(n_rows):
        s1 = 0.0
        s2 = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            x = np.float64(data[p])
            if x <= eps:
                continue
            j = indices[p]
            v = 0.0
            for t in range(k):
                v += np.float64(A[i, t]) * np.float64(B[j, t])
            if v < eps:
                v = eps
            if beta == 1.0:
                s1 += x * np.log(x / v)
                s2 += x
            elif beta == 0.0:
                s1 += x / v
                s2 += np.log(x / v)
            else:
                s1 += x**beta
                s2 += x * v ** (beta - 1.0)
        part[i, 0] = s1
        part[i, 1] = s2
    return part[:, 0].sum(), part[:, 1].sum()
