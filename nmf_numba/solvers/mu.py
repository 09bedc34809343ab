"""Multiplicative updates for every β-divergence (Lee & Seung 2001; Févotte & Idier 2011).

The update is ``A ← A ⊙ (num ⊘ den)^γ`` with

* β = 2: ``num = X B``, ``den = A (BᵀB)``;
* β ≠ 2: ``num = (X ⊙ (A Bᵀ)^(β−2)) B``, ``den = (A Bᵀ)^(β−1) B`` (for β = 1 the column sums
  of B), formed by the data operator (fused over stored entries for CSR);

and the majorisation-minimisation exponent γ = 1/(2−β) for β < 1, 1/(β−1) for β > 2, 1 otherwise,
which makes the objective non-increasing for every β.  An L1/L2 penalty adds ``l1 + l2·A`` to
``den`` (scikit-learn's rule).

A graph penalty on W (GNMF, Cai et al. 2011; affinity ``Aff``, degrees ``d``, ``L = D − Aff``) uses
the paper's rules: for β = 2 ``num += λ Aff A`` and ``den += λ d ⊙ A``; for KL each column of A
solves the sparse linear system ``(diag(den_r) + λ L) a_r = a_r ⊙ num_r`` (an M-matrix, so the
solution stays non-negative; with λ = 0 it is the plain MU step).  Guards are scikit-learn's: zero
denominators become ``EPSILON`` and, for β ≤ 1, entries below float64's epsilon become exact zeros.
"""

import numpy as np
import scipy.sparse as sp

from .._data import free_part, put_free
from ..kernels.dense import mu_apply
from ..losses import EPSILON, projected_sq
from ._common import NO_PENALTY, HalfStep, Solver, every_beta, one_to_two

_TINY = float(np.finfo(np.float64).eps)


def gamma(beta):
    """Févotte & Idier's MM exponent for the β-divergence."""
    if beta < 1:
        return 1.0 / (2.0 - beta)
    if beta > 2:
        return 1.0 / (beta - 1.0)
    return 1.0


def products(op, A, B, beta, penalty=NO_PENALTY):
    """``(num, den)`` of the MU step on ``A`` (no graph term), the penalty in ``den``; and
    the least-squares products ``(X B, BᵀB)`` when the data operator has them (β = 2 on
    complete data), else None."""
    if beta == 2:  # den = (A Bᵀ) B over the entries that count
        system = op.normal_equations(B)
        return (system.XB, penalty.add_to_denominator(system.model_times(A), A),
                system.products)
    num, den = op.mu_products(A, B, beta, EPSILON)
    return num, penalty.add_to_denominator(den, A), None


def update(op, A, B, beta, penalty=NO_PENALTY, pgrad=False, omega=1.0, measure=False):
    """One MU step on ``A`` (in place) for ``X_op ≈ A Bᵀ``; returns a ``HalfStep``.

    The projected gradient is the one the step uses, ``den − num``, before the step.
    ``omega`` > 1 over-relaxes the step (exponent ``ω·γ``; see :func:`apply`).  ``measure``:
    for KL without a graph, also return the divergence at ``(A, B)`` before the step, from
    the step's own model values (``HalfStep.data_term``).
    """
    graph, free = penalty.graph, penalty.free
    if measure and beta == 1 and graph is None:
        num, den, data_term = op.kl_products_measured(A, B, EPSILON)
        den = penalty.add_to_denominator(den, A)
        pgrad_sq = projected_sq(A, den - num, free) if pgrad else None
        apply(A, num, den, beta, omega, free)
        return HalfStep(None, pgrad_sq, data_term=data_term)
    if free is not None and beta != 2 and not free.any():  # nothing to update, nothing to give
        return HalfStep(None, 0.0 if pgrad else None)
    num, den, least_squares = products(op, A, B, beta, penalty)
    if graph is not None and beta == 2:
        num = num + (graph.reg * (graph.affinity @ A)).astype(A.dtype, copy=False)
        den += (graph.reg * graph.degrees[:, None] * A).astype(A.dtype, copy=False)
    elif graph is not None:  # KL (validated)
        _graph_kl_solve(A, num, den, graph, free)
        return HalfStep(None, None)
    pgrad_sq = projected_sq(A, den - num, free) if pgrad else None
    apply(A, num, den, beta, omega, free)
    return HalfStep(least_squares, pgrad_sq)


def apply(A, num, den, beta, omega=1.0, free=None):
    """``A ← A ⊙ (num ⊘ den)^(ω·γ)`` (in place) with scikit-learn's guards; ``den`` includes
    the penalty (see :func:`products`).

    ``free`` (a boolean array over A's columns; None: all): only those columns are updated.
    MU updates every entry at once from the same iterate, each entry's new value depending on
    the old ones only, so leaving the fixed columns out is the exact MU step of the free ones
    (the majorisation is separable over entries: the objective still never increases).

    ``ω = 1`` is the MM step, which never increases the objective.  ``ω > 1`` over-relaxes it
    (a longer step in log space along the same direction, which MU's local convergence allows
    up to ω < 2 and often beyond; Badeau, Bertin & Vincent, IEEE Trans. Neural Netw. 21(12),
    2010): it may increase the objective, so only an engine that checks the objective and
    undoes a bad step uses it (:class:`nmf_numba._engine.RelaxedRun`)."""
    dt = A.dtype.type
    zero_below = _TINY if beta <= 1 else 0.0
    A_free = free_part(A, free)
    mu_apply(A_free, free_part(num, free), free_part(den, free), dt(gamma(beta) * omega),
             dt(EPSILON), dt(zero_below))
    put_free(A, A_free, free)


def online_update(op, A, B, beta, num_sum, den_sum, rho, penalty=NO_PENALTY):
    """The online MU step of Lefèvre, Bach & Févotte (2011) on ``A`` (in place), scikit-learn's
    ``MiniBatchNMF`` rule: with this batch's ``num``, ``den`` and ``γ``,
    ``num_sum ← ρ·num_sum + A^(1/γ) ⊙ num``, ``den_sum ← ρ·den_sum + den`` (in place) and
    ``A ← (num_sum ⊘ den_sum)^γ``.  With ``ρ = 0`` this is the plain MU step.  ``op`` is the
    batch's operator for ``X_batchᵀ ≈ A Bᵀ`` (A = Hᵀ, B = the batch's W)."""
    num, den, _ = products(op, A, B, beta, penalty)
    if beta == 1:  # scikit-learn's rule: a zero column sum of B (the denominator) counts as 1
        den[:, B.sum(axis=0) == 0] += 1
    den[den == 0] = EPSILON
    g = gamma(beta)
    scaled = A if g == 1 else A ** (1.0 / g)
    num_sum *= rho
    num_sum += scaled * num
    den_sum *= rho
    den_sum += den
    np.divide(num_sum, den_sum, out=A)
    if g != 1:
        A **= g
    if beta <= 1:
        A[A < _TINY] = 0.0  # scikit-learn's guard


def _graph_kl_solve(A, num, den, graph, free=None):
    """GNMF's KL step: ``a_r ← (diag(den_r) + λ L)⁻¹ (a_r ⊙ num_r)`` for each column r (each
    free column: the columns are separate systems)."""
    from scipy.sparse.linalg import spsolve  # here: scipy.sparse.linalg is slow to import

    laplacian = graph.reg * (sp.diags(graph.degrees) - graph.affinity)
    for r in range(A.shape[1]):
        if free is not None and not free[r]:
            continue
        diagonal = np.maximum(den[:, r].astype(np.float64), EPSILON)
        system = (laplacian + sp.diags(diagonal)).tocsc()
        column = spsolve(system, A[:, r].astype(np.float64) * num[:, r])
        column[column < _TINY] = 0.0  # rounding below zero, and scikit-learn's β ≤ 1 guard
        A[:, r] = column


def _products_bound(beta):
    """β ∈ {1, 2}: the MU step is its BLAS products (other β raise the model to powers)."""
    return beta in (1, 2)


def _new_step(options):
    beta, pgrad, relaxation = options.beta, options.pgrad, options.relaxation

    def step(op, A, B, penalty):
        if relaxation is None:
            return update(op, A, B, beta, penalty, pgrad)
        return update(op, A, B, beta, penalty, pgrad, relaxation.omega, relaxation.measure)

    return step


def _from_products(A, XB, G, penalty, n_sweeps):
    apply(A, XB, penalty.add_to_denominator(np.dot(A, G), A), 2.0)


SOLVER = Solver(
    name="mu",
    summary=("multiplicative updates with Févotte & Idier's exponent (Lee & Seung, NIPS 2001; "
             "Févotte & Idier, Neural Comput. 2011)"),
    new_step=_new_step,
    observed_beta=every_beta,
    graph_betas=(1.0, 2.0),
    blas_bound=_products_bound,
    from_products=_from_products,
    dask_betas=every_beta,
    relax_betas=one_to_two,
    compiled=True,
)
