"""Quality measures of a factorisation, for dense and sparse X (sparse X is never densified).

Every function takes ``X`` (n_samples × n_features), ``W`` (n_samples × k), ``H`` (k × n_features)
and validates them like :func:`nmf_numba.nmf` does.  With missing values (NaN in a dense X,
or ``mask=``: True = observed) they measure the observed entries only; with ``weights=``
(per-entry, as in :func:`nmf_numba.nmf`: a sparse weights matrix gives absent entries
weight 1) each entry's term is multiplied by its weight.  In place of ``W, H`` they also take the
:class:`~nmf_numba.NMFResult` of a fit (``metric(X, res)``), whose model is ``W S H`` for nsNMF
(``smoothness > 0``) and ``W H`` otherwise.  They measure the data term only, never penalties.
"""

import numpy as np
import scipy.sparse as sp
from ._sklearn import check_array

from . import _validation
from ._data import CsrOp, DenseOp, ObservedOp, _row_blocks
from .losses import divergence

__all__ = [
    "beta_divergence",
    "reconstruction_error",
    "relative_error",
    "explained_variance",
    "hoyer_sparsity",
    "clustering_accuracy",
]


def _prepare(X, W, H, mask=None, weights=None, sample_weight=None):
    if H is None and hasattr(W, "reconstruct"):  # an NMFResult: its model is (W S) H
        W, H = W.W_smoothed, W.H
    elif H is None:
        raise TypeError("Pass the factors W and H, or the NMFResult of a fit in place of W.")
    X, nan_observed = _validation.check_data_with_nan(X)
    observed = _validation.check_observed(X, nan_observed, mask, "zero")
    X_fit, entry_weights, observed_only = _validation.counted_entries(X, observed, weights,
                                                                      sample_weight, mask)
    if np.ndim(W) != 2:
        raise ValueError(f"W must be 2-D (n_samples, n_components), got shape {np.shape(W)}.")
    k = np.shape(W)[1]
    W = _validation.check_factor(W, (X.shape[0], k), X.dtype, "W")
    H = _validation.check_factor(H, (k, X.shape[1]), X.dtype, "H")
    if observed_only:
        op = ObservedOp(X_fit, entry_weights)
    else:
        op = CsrOp(X) if sp.issparse(X) else DenseOp(X)
    _validation.check_op_magnitude(op)
    return op, W, np.ascontiguousarray(H.T)


def beta_divergence(X, W, H=None, beta_loss="frobenius", mask=None, weights=None,
                    sample_weight=None):
    """``D_β(X | WH)`` with scikit-learn's definitions (½‖X − WH‖²_F for β = 2); with
    ``weights`` (per entry) and/or ``sample_weight`` (per row), ``Σ w_ij d_β(x_ij | (WH)_ij)``
    (½ for β = 2): a weighted fit's ``res.data_loss``.

    For β ≤ 0 the divergence is undefined where X is zero, and a ValueError says so."""
    beta = _validation.check_beta_loss(beta_loss)
    op, A, B = _prepare(X, W, H, mask, weights, sample_weight)
    _validation.check_zeros_for_beta(op.X.data.reshape(1, -1) if op.observed_only else op.X, beta)
    return float(divergence(op, A, B, beta))


def reconstruction_error(X, W, H=None, beta_loss="frobenius", mask=None, weights=None,
                         sample_weight=None):
    """scikit-learn's ``reconstruction_err_``: ``sqrt(2 · D_β(X | WH))`` (‖X − WH‖_F for β = 2),
    weighted as :func:`beta_divergence`."""
    return float(np.sqrt(2.0 * max(beta_divergence(X, W, H, beta_loss, mask, weights,
                                                   sample_weight), 0.0)))


def relative_error(X, W, H=None, mask=None, weights=None):
    """``‖X − WH‖_F / ‖X‖_F`` (weighted: ``sqrt(Σ w (x − v)² / Σ w x²)``).  For X = 0 it is 0
    when WH = 0 too, else inf."""
    op, A, B = _prepare(X, W, H, mask, weights)
    residual = op.residual_sq(A, B)
    if op.sq_norm == 0:
        return 0.0 if residual == 0 else float("inf")
    return float(np.sqrt(residual / op.sq_norm))


def explained_variance(X, W, H=None, mask=None, weights=None):
    """``1 − ‖X − WH‖²_F / ‖X − 1μᵀ‖²_F`` with μ the column means of X (weighted: both
    sums weighted, μ the weighted column means).

    The denominator is summed as squared deviations from μ (two passes; for sparse X the stored
    entries' deviations plus ``(m − nnz_j) μ_j²`` for the implicit zeros of column j), not as
    ``‖X‖² − m‖μ‖²``, which cancels badly when the means are large.  When every column of X is
    constant the denominator is 0; the score is then 1.0 for a perfect reconstruction and 0.0
    otherwise (scikit-learn's ``explained_variance_score`` convention).
    """
    op, A, B = _prepare(X, W, H, mask, weights)
    residual = op.residual_sq(A, B)
    Xv = op.X
    n_samples = op.shape[0]
    if op.observed_only and op.weights is not None:  # weighted means and deviations
        w = op.weights.astype(np.float64)
        x = Xv.data.astype(np.float64)
        counts = np.bincount(Xv.indices, weights=w, minlength=op.shape[1])
        sums = np.bincount(Xv.indices, weights=w * x, minlength=op.shape[1])
        mu = sums / np.where(counts > 0, counts, 1.0)
        total = float(np.sum(w * (x - mu[Xv.indices]) ** 2))
        if total == 0:
            return 1.0 if residual == 0 else 0.0
        return float(1.0 - residual / total)
    if op.observed_only:  # column means and deviations over the observed entries only
        counts = np.bincount(Xv.indices, minlength=op.shape[1])
        sums = np.bincount(Xv.indices, weights=Xv.data.astype(np.float64), minlength=op.shape[1])
        mu = sums / np.maximum(counts, 1)
        total = float(np.sum((Xv.data.astype(np.float64) - mu[Xv.indices]) ** 2))
        if total == 0:
            return 1.0 if residual == 0 else 0.0
        return float(1.0 - residual / total)
    mu = np.asarray(Xv.sum(axis=0, dtype=np.float64)).ravel() / n_samples
    if sp.issparse(Xv):
        stored = np.sum((Xv.data.astype(np.float64) - mu[Xv.indices]) ** 2)
        n_stored = np.bincount(Xv.indices, minlength=op.shape[1])
        total = float(stored + np.dot(n_samples - n_stored, mu**2))
    else:
        total = float(sum(np.sum((Xv[rows].astype(np.float64) - mu) ** 2)
                          for rows in _row_blocks(*op.shape)))
    if total == 0:
        return 1.0 if residual == 0 else 0.0
    return float(1.0 - residual / total)


def hoyer_sparsity(A, axis=0):
    """Hoyer's (2004) sparsity ``(√n − ‖x‖₁/‖x‖₂) / (√n − 1)`` of each vector, averaged.

    ``axis=0`` scores the columns of ``A`` (vectors of length ``A.shape[0]``), ``axis=1`` the rows.
    ``A`` may be dense or sparse, with entries of any sign (the measure uses |x|).  The score is
    0 for a constant vector and 1 for a vector with one non-zero entry; an all-zero vector counts
    as 1 (nothing is active).  Each vector is scaled by its largest |x| first, so tiny or huge
    magnitudes neither under- nor overflow.  Vectors need at least 2 entries.
    """
    if isinstance(axis, bool) or axis not in (0, 1):
        raise ValueError(f"axis must be 0 (columns) or 1 (rows), got {axis!r}.")
    n = np.shape(A)[axis] if np.ndim(A) == 2 or sp.issparse(A) else 0
    l1, l2 = _scaled_norms(A, axis)
    if n < 2:
        raise ValueError(
            f"Hoyer sparsity needs vectors of at least 2 entries; axis={axis} gives length {n}."
        )
    root_n = np.sqrt(n)
    scores = np.ones(l1.shape[0])
    active = l2 > 0
    scores[active] = (root_n - l1[active] / l2[active]) / (root_n - 1.0)
    return float(np.clip(scores, 0.0, 1.0).mean())


def _scaled_norms(A, axis):
    """‖x‖₁ and ‖x‖₂ of each vector along ``axis`` after scaling it by its largest |x|."""
    if sp.issparse(A):
        C = abs(A.tocsc() if axis == 0 else A.tocsr())  # one compressed line per vector
        check_array(C, accept_sparse=("csr", "csc"), input_name="A")
        n_vectors = C.shape[1 - axis]
        owner = np.repeat(np.arange(n_vectors), np.diff(C.indptr))
        values = C.data.astype(np.float64)
    else:
        A = np.abs(check_array(A, dtype=np.float64, input_name="A"))
        vectors = A.T if axis == 0 else A  # one row per vector
        n_vectors = vectors.shape[0]
        owner = np.repeat(np.arange(n_vectors), vectors.shape[1])
        values = vectors.ravel()
    peak = np.zeros(n_vectors)
    np.maximum.at(peak, owner, values)
    scale = peak[owner]
    scaled = np.divide(values, scale, out=np.zeros_like(values), where=scale > 0)
    l1 = np.bincount(owner, scaled, minlength=n_vectors)
    l2 = np.sqrt(np.bincount(owner, scaled**2, minlength=n_vectors))
    return l1, l2


def clustering_accuracy(labels_true, labels_pred):
    """The fraction of samples whose cluster maps to their label under the best one-to-one
    matching of clusters to labels (Hungarian algorithm, ``scipy.optimize.linear_sum_assignment``).

    Clusters left without a label (more clusters than labels) count as wrong.  For a
    factorisation, ``labels_pred = res.W.argmax(axis=1)`` assigns each sample to its strongest
    component.
    """
    from scipy.optimize import linear_sum_assignment

    labels_true = np.asarray(labels_true).ravel()
    labels_pred = np.asarray(labels_pred).ravel()
    if labels_true.shape != labels_pred.shape:
        raise ValueError(
            f"labels_true and labels_pred must have the same length, got {labels_true.size} "
            f"and {labels_pred.size}."
        )
    if labels_true.size == 0:
        raise ValueError("clustering_accuracy needs at least one sample.")
    true_values, true_idx = np.unique(labels_true, return_inverse=True)
    pred_values, pred_idx = np.unique(labels_pred, return_inverse=True)
    counts = np.zeros((pred_values.size, true_values.size), dtype=np.int64)
    np.add.at(counts, (pred_idx, true_idx), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / labels_true.size)
