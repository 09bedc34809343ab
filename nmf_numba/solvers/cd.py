"""Coordinate descent / HALS for the Frobenius loss (scikit-learn's ``solver="cd"``).

Each half-step is one cyclic sweep over the k columns of ``A``: the closed-form minimiser of the
objective in one coordinate, projected on ``[0, ∞)``.  This is Cichocki & Phan's HALS, which is the
same algorithm as scikit-learn's ``_update_cdnmf_fast`` with ``shuffle=False``.
"""

import numpy as np

from ..kernels.dense import hals_sweep
from ..kernels.graph import hals_graph_sweep
from ._common import (FROBENIUS_WORDS, NO_PENALTY, HalfStep, Solver, frobenius_only,
                      least_squares_pgrad_sq, pgrad_sq_at)


def update(op, A, B, penalty=NO_PENALTY, pgrad=False, shuffle_rng=None):
    """One HALS sweep on ``A`` (in place) for ``X_op ≈ A Bᵀ``; returns a ``HalfStep``.

    On observed-only data each row has its own Gram matrix over its observed entries.
    ``shuffle_rng`` (a RandomState): visit the columns in the order ``shuffle_rng.permutation(k)``
    (scikit-learn's ``shuffle=True``; the same draws for the same seed)."""
    if op.observed_only:
        return observed_update(op, A, B, penalty, pgrad, n_sweeps=1)
    return update_from_products(A, op.times(B), np.dot(B.T, B), penalty, pgrad, shuffle_rng)


def update_from_products(A, XB, G, penalty=NO_PENALTY, pgrad=False, shuffle_rng=None):
    """:func:`update` given the products ``XB = X_op B`` and ``G = BᵀB`` (the distributed path
    forms them as sums over row blocks)."""
    XBp, Gp = penalty.least_squares(XB, G)
    pgrad_sq = least_squares_pgrad_sq(A, XBp, Gp, pgrad, penalty.graph)
    if shuffle_rng is None:
        _, violation = sweep(A, Gp, XBp, penalty.graph)
    else:  # the sweep on the columns put in the drawn order, then put back
        order = np.asarray(shuffle_rng.permutation(A.shape[1]), dtype=np.intp)
        A_perm = np.ascontiguousarray(A[:, order])
        _, violation = sweep(A_perm, np.ascontiguousarray(Gp[np.ix_(order, order)]),
                             np.ascontiguousarray(XBp[:, order]), penalty.graph)
        A[:, order] = A_perm
    return HalfStep((XB, G), pgrad_sq, violation)


def sweep(A, G, XB, graph=None):
    """One HALS sweep on ``A`` (in place); returns ``‖A_new − A_old‖²_F`` and scikit-learn's
    violation (the sum of the projected partial derivatives' magnitudes met during the sweep).

    With a graph the rows of a column are coupled and the sweep runs serially
    (:func:`~nmf_numba.kernels.graph.hals_graph_sweep`; its violation is None); otherwise rows
    go in parallel."""
    if graph is None:
        change, violation = hals_sweep(A, G, XB).sum(axis=0)
        return float(change), float(violation)
    return hals_graph_sweep(A, G, XB, *graph.arrays, graph.degrees, graph.reg), None


def observed_update(op, A, B, penalty, pgrad, n_sweeps):
    """``n_sweeps`` per-row HALS sweeps on observed-only data (per-row Gram matrices)."""
    pgrad_sq = pgrad_sq_at(op, A, B, 2.0, penalty) if pgrad else None
    op.masked_hals(A, B, penalty.l1, penalty.l2, n_sweeps)
    return HalfStep(None, pgrad_sq)


def _new_step(options):
    pgrad, rng = options.pgrad, options.rng

    def step(op, A, B, penalty):
        return update(op, A, B, penalty, pgrad, rng)

    return step


def _from_products(A, XB, G, penalty, n_sweeps):
    update_from_products(A, XB, G, penalty)


SOLVER = Solver(
    name="cd",
    summary="coordinate descent / HALS, one sweep per half-step (scikit-learn's cd), β = 2",
    new_step=_new_step,
    supports_beta=frobenius_only,
    beta_words=FROBENIUS_WORDS,
    observed_beta=frobenius_only,
    graph_betas=(2.0,),
    shuffle=True,
    blas_bound=lambda beta: True,
    from_products=_from_products,
    dask_betas=frobenius_only,
)
