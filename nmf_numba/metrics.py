"""Quality measures of a factorisation, for dense and sparse X (sparse X is never densified).

Every function takes ``X`` (n_samples × n_features), ``W`` (n_samples × k), ``H`` (k × n_features)
and validates them like :func:`nmf_numba.nmf` does.
"""

import numpy as np
import scipy.sparse as sp

from . import _validation
from ._data import CsrOp, DenseOp
from .losses import divergence

__all__ = [
    "beta_divergence",
    "reconstruction_error",
    "relative_error",
    "explained_variance",
    "hoyer_sparsity",
]


def _prepare(X, W, H):
    X = _validation.check_data(X)
    W = np.asarray(W) if not sp.issparse(W) else W
    k = W.shape[1] if np.ndim(W) == 2 else None
    if k is None:
        raise ValueError(f"W must be 2-D (n_samples, n_components), got shape {np.shape(W)}.")
    W = _validation.check_factor(W, (X.shape[0], k), X.dtype, "W")
    H = _validation.check_factor(H, (k, X.shape[1]), X.dtype, "H")
    op = CsrOp(X) if sp.issparse(X) else DenseOp(X)
    return op, W, np.ascontiguousarray(H.T)


def beta_divergence(X, W, H, beta_loss="frobenius"):
    """``D_β(X | WH)`` with scikit-learn's definitions (½‖X − WH‖²_F for β = 2).

    For β ≤ 0 the divergence is undefined where X is zero, and a ValueError says so."""
    beta = _validation.check_beta_loss(beta_loss)
    op, A, B = _prepare(X, W, H)
    _validation.check_zeros_for_beta(op.X, beta)
    return float(divergence(op, A, B, beta))


def reconstruction_error(X, W, H, beta_loss="frobenius"):
    """scikit-learn's ``reconstruction_err_``: ``sqrt(2 · D_β(X | WH))`` (‖X − WH‖_F for β = 2)."""
    return float(np.sqrt(2.0 * max(beta_divergence(X, W, H, beta_loss), 0.0)))


def relative_error(X, W, H):
    """``‖X − WH‖_F / ‖X‖_F``.  For X = 0 it is 0 when WH = 0 too, else inf."""
    op, A, B = _prepare(X, W, H)
    residual = op.residual_sq(A, B)
    if op.sq_norm == 0:
        return 0.0 if residual == 0 else float("inf")
    return float(np.sqrt(residual / op.sq_norm))


def explained_variance(X, W, H):
    """``1 − ‖X − WH‖²_F / ‖X − 1μᵀ‖²_F`` with μ the column means of X.

    When every column of X is constant the denominator is 0; the score is then 1.0 for a perfect
    reconstruction and 0.0 otherwise (scikit-learn's ``explained_variance_score`` convention).
    """
    op, A, B = _prepare(X, W, H)
    residual = op.residual_sq(A, B)
    n_samples = op.shape[0]
    col_sums = np.asarray(op.X.sum(axis=0, dtype=np.float64)).ravel()
    total = max(op.sq_norm - float(np.dot(col_sums, col_sums)) / n_samples, 0.0)
    if total == 0:
        return 1.0 if residual == 0 else 0.0
    return float(1.0 - residual / total)


def hoyer_sparsity(A, axis=0):
    """Hoyer's (2004) sparsity ``(√n − ‖x‖₁/‖x‖₂) / (√n − 1)`` of each vector, averaged.

    ``axis=0`` scores the columns of ``A`` (vectors of length ``A.shape[0]``), ``axis=1`` the rows.
    The score is 0 for a constant vector and 1 for a vector with one non-zero entry; an all-zero
    vector counts as 1 (nothing is active).  Vectors need at least 2 entries.
    """
    if axis not in (0, 1):
        raise ValueError(f"axis must be 0 (columns) or 1 (rows), got {axis!r}.")
    A = _validation.check_factor(A, np.shape(A), np.float64, "A")
    vectors = A if axis == 0 else A.T
    n = vectors.shape[0]
    if n < 2:
        raise ValueError(
            f"Hoyer sparsity needs vectors of at least 2 entries; axis={axis} gives length {n}."
        )
    l1 = np.abs(vectors).sum(axis=0)
    l2 = np.sqrt((vectors**2).sum(axis=0))
    root_n = np.sqrt(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = (root_n - l1 / l2) / (root_n - 1.0)
    scores[l2 == 0] = 1.0
    return float(np.clip(scores, 0.0, 1.0).mean())
