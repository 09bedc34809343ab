"""Alternating non-negative least squares with block principal pivoting (Kim & Park, SIAM J.
Sci. Comput. 2011).

Each half-step solves the W (or H) subproblem exactly: for every row, the non-negative least
squares problem ``min_{a ≥ 0} ‖X[i] − a Bᵀ‖²``, from the Gram matrix ``BᵀB`` and the row of
``X B``.  Rows are solved in parallel, each warm-started from the support of the current factor.
This is the "ALS" of the NMF literature done properly: exact non-negative subproblems, not
least squares clipped at zero.
"""

import functools
import warnings

from .._data import put_free
from ..kernels.dense import nnls_rows
from ._common import FROBENIUS_WORDS, NO_PENALTY, HalfStep, Solver, always, frobenius_only


def update(op, A, B, penalty=NO_PENALTY, pgrad=False):
    """Exact NNLS for every row of ``A`` (in place) given ``B``; returns a ``HalfStep``.

    With fixed columns (``penalty.free``) the NNLS is over the free columns, the fixed ones
    moved to the right-hand side (:meth:`nmf_numba._data.SharedGram.subproblem`): the exact
    minimiser over the free block."""
    system = op.normal_equations(B)  # complete data only (the registry's observed_beta)
    pgrad_sq = system.pgrad_sq(A, penalty) if pgrad else None
    A_free, XBp, Gp = system.subproblem(A, penalty)
    k = A_free.shape[1]
    unsolved = int(nnls_rows(Gp, XBp, A_free, 10 * k + 100).sum())
    put_free(A, A_free, penalty.free)
    if unsolved:  # block principal pivoting terminates in theory; say so if it did not here
        warnings.warn(
            f"anls: {unsolved} of {A.shape[0]} row subproblems hit the pivoting limit; their "
            "rows are the best feasible iterate found.",
            RuntimeWarning,
            stacklevel=4,
        )
    return HalfStep(system.products, pgrad_sq)


def _new_step(options):
    return functools.partial(update, pgrad=options.pgrad)


SOLVER = Solver(
    name="anls",
    summary=("alternating exact NNLS by block principal pivoting (Kim & Park, SIAM J. Sci. "
             "Comput. 2011)"),
    new_step=_new_step,
    supports_beta=frobenius_only,
    beta_words=FROBENIUS_WORDS,
    blas_bound=always,
    exact=True,
)
