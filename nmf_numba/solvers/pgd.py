"""Alternating projected gradient (Lin, Neural Computation 2007), the "gradient descent" solver.

Each half-step runs projected-gradient iterations on the convex subproblem
``min_{A ≥ 0} ½‖X − A Bᵀ‖²``, whose gradient is ``A G − X B`` with ``G = BᵀB``, until the
projected gradient's norm falls below the subproblem tolerance.  The step size follows Lin's
"improved" search: starting from the previous step size ``α``, divide it by ``SHRINK = 0.1`` while
the sufficient-decrease condition ``(1 − σ)⟨∇, d⟩ + ½⟨d, d G⟩ ≤ 0`` (``σ = 0.01``,
``d = P[A − α∇] − A``) keeps holding, or multiply it by ``SHRINK`` until it holds.  The subproblem
tolerance starts at ``1e-3`` times the projected-gradient norm at the first call and is divided
by 10 whenever a subproblem ends after a single iteration (Lin's rule), each factor keeping its
own tolerance and step size.
"""

import numpy as np

from .._data import put_free
from ..losses import projected_sq
from ._common import FROBENIUS_WORDS, NO_PENALTY, HalfStep, Solver, always, frobenius_only

SIGMA = 0.01
SHRINK = 0.1  # the step-size factor (Lin's β, not the β-divergence's)
MAX_INNER = 1000
MAX_SEARCH = 20


def projected_gradient_norm(A, grad):
    """‖∇ᴾ‖_F: the gradient where A > 0, its negative part where A = 0."""
    return float(np.sqrt(projected_sq(A, grad)))


class PGD:
    """The half-step of one factor, with its state: the step size and the subproblem
    tolerance (Lin's rule keeps one of each per factor)."""

    def __init__(self, pgrad=False):
        self.pgrad = pgrad
        self.step_size = 1.0
        self.tol = None

    def __call__(self, op, A, B, penalty=NO_PENALTY):
        """Projected-gradient iterations on ``A`` (in place); returns a ``HalfStep``.

        With fixed columns (``penalty.free``) the iterations run on the free columns' problem
        (:meth:`nmf_numba._data.SharedGram.subproblem`).  That is the projection onto
        ``{A ≥ 0, A_F = given}``: the step is zero on the fixed entries, and the step-size
        search and the subproblem tolerance see the projected step and gradient only."""
        system = op.normal_equations(B)  # complete data only (the registry's observed_beta)
        full_A = A
        A, XB, G = system.subproblem(full_A, penalty)
        step_size = self.step_size
        grad = np.dot(A, G) - XB
        pgrad_sq = projected_sq(A, grad) if self.pgrad else None
        if self.tol is None:
            self.tol = 1e-3 * projected_gradient_norm(A, grad)
        n_inner = 0
        for n_inner in range(1, MAX_INNER + 1):
            if projected_gradient_norm(A, grad) <= self.tol:
                break
            step_size = _search(A, G, grad, step_size)
            grad = np.dot(A, G) - XB
        if n_inner == 1:
            self.tol *= 0.1
        self.step_size = step_size
        put_free(full_A, A, penalty.free)
        return HalfStep(system.products, pgrad_sq)


def _search(A, G, grad, step_size):
    """One projected-gradient step on A (in place) with Lin's step-size search; returns the
    step size."""
    def trial(size):
        new = np.maximum(A - size * grad, 0)
        d = new - A
        ok = (1 - SIGMA) * np.vdot(grad, d) + 0.5 * np.vdot(np.dot(d, G), d) <= 0
        return new, ok

    new, ok = trial(step_size)
    if ok:  # grow the step while the condition keeps holding
        for _ in range(MAX_SEARCH):
            bigger, still = trial(step_size / SHRINK)
            if not still or np.array_equal(bigger, new):
                break
            step_size, new = step_size / SHRINK, bigger
    else:  # shrink until it holds
        for _ in range(MAX_SEARCH):
            step_size *= SHRINK
            new, ok = trial(step_size)
            if ok:
                break
        if not ok:
            return step_size  # no decrease found: leave A as it is
    A[...] = new
    return step_size


def _new_step(options):
    return PGD(options.pgrad)


SOLVER = Solver(
    name="pgd",
    summary=("alternating projected gradient with Lin's step-size search (Lin, Neural Comput. "
             "2007)"),
    new_step=_new_step,
    supports_beta=frobenius_only,
    beta_words=FROBENIUS_WORDS,
    blas_bound=always,
)
