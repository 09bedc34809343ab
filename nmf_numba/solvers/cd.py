"""Coordinate descent / HALS for the Frobenius loss (scikit-learn's ``solver="cd"``).

Each half-step is one cyclic sweep over the k columns of ``A``: the closed-form minimiser of the
objective in one coordinate, projected on ``[0, ∞)``.  This is Cichocki & Phan's HALS, which is the
same algorithm as scikit-learn's ``_update_cdnmf_fast`` with ``shuffle=False``.
"""

import functools

import numpy as np

from .._data import SharedGram
from ._common import FROBENIUS_WORDS, NO_PENALTY, HalfStep, Solver, always, frobenius_only


def update(op, A, B, penalty=NO_PENALTY, pgrad=False, shuffle_rng=None):
    """One HALS sweep on ``A`` (in place) for ``X_op ≈ A Bᵀ``; returns a ``HalfStep``.

    The sweep runs on the operator's least-squares system (one Gram matrix for complete data,
    one per row on observed-only data).  ``shuffle_rng`` (a RandomState or Generator): visit
    the columns in the order ``shuffle_rng.permutation(k)`` (scikit-learn's ``shuffle=True``;
    for an int seed the same orders as scikit-learn)."""
    system = op.normal_equations(B)
    pgrad_sq = system.pgrad_sq(A, penalty) if pgrad else None
    order = None
    if shuffle_rng is not None:
        order = np.asarray(shuffle_rng.permutation(A.shape[1]), dtype=np.intp)
    violation = system.sweeps(A, penalty, order=order)
    return HalfStep(system.products, pgrad_sq, violation)


def _new_step(options):
    return functools.partial(update, pgrad=options.pgrad, shuffle_rng=options.rng)


def _from_products(A, XB, G, penalty, n_sweeps):
    SharedGram(XB, G).sweeps(A, penalty)


SOLVER = Solver(
    name="cd",
    summary=("one cyclic HALS sweep per half-step, scikit-learn's `solver=\"cd\"` (Cichocki & Phan, "
             "IEICE 2009)"),
    new_step=_new_step,
    supports_beta=frobenius_only,
    beta_words=FROBENIUS_WORDS,
    observed_beta=frobenius_only,
    graph_betas=(2.0,),
    shuffle=True,
    blas_bound=always,
    from_products=_from_products,
    dask_betas=frobenius_only,
    extrapolate=True,
    compiled=True,
)
