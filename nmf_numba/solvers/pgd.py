"""Alternating projected gradient (Lin, Neural Computation 2007), the "gradient descent" solver.

Each half-step runs projected-gradient iterations on the convex subproblem
``min_{A ≥ 0} ½‖X − A Bᵀ‖²``, whose gradient is ``A G − X B`` with ``G = BᵀB``, until the
projected gradient's norm falls below the subproblem tolerance.  The step size follows Lin's
"improved" search: starting from the previous step size ``α``, divide it by ``β = 0.1`` while
the sufficient-decrease condition ``(1 − σ)⟨∇, d⟩ + ½⟨d, d G⟩ ≤ 0`` (``σ = 0.01``,
``d = P[A − α∇] − A``) keeps holding, or multiply it by β until it holds.  The subproblem
tolerance starts at ``1e-3`` times the projected-gradient norm at the first call and is divided
by 10 whenever a subproblem ends after a single iteration (Lin's rule), each factor keeping its
own tolerance and step size.
"""

import numpy as np

from ._common import NO_PENALTY, HalfStep, projected_sq

SIGMA = 0.01
BETA = 0.1
MAX_INNER = 1000
MAX_SEARCH = 20


def projected_gradient_norm(A, grad):
    """‖∇ᴾ‖_F: the gradient where A > 0, its negative part where A = 0."""
    return float(np.sqrt(projected_sq(A, grad)))


class PGD:
    """The solver's state: a step size and a subproblem tolerance per factor (W and H)."""

    def __init__(self):
        self.alpha = {}
        self.tol = {}

    def update(self, op, A, B, penalty=NO_PENALTY, pgrad=False):
        """Projected-gradient iterations on ``A`` (in place); returns a ``HalfStep``."""
        XB_data = op.times(B)
        G_data = np.dot(B.T, B)
        XB, G = penalty.least_squares(XB_data, G_data)
        key = id(op)
        alpha = self.alpha.get(key, 1.0)
        grad = np.dot(A, G) - XB
        pgrad_sq = projected_sq(A, grad) if pgrad else None
        if key not in self.tol:
            self.tol[key] = 1e-3 * projected_gradient_norm(A, grad)
        n_inner = 0
        for n_inner in range(1, MAX_INNER + 1):
            if projected_gradient_norm(A, grad) <= self.tol[key]:
                break
            alpha = _search(A, G, grad, alpha)
            grad = np.dot(A, G) - XB
        if n_inner == 1:
            self.tol[key] *= 0.1
        self.alpha[key] = alpha
        return HalfStep((XB_data, G_data), pgrad_sq)


def _search(A, G, grad, alpha):
    """One projected-gradient step on A (in place) with Lin's step-size search; returns α."""
    def trial(step):
        new = np.maximum(A - step * grad, 0)
        d = new - A
        ok = (1 - SIGMA) * np.vdot(grad, d) + 0.5 * np.vdot(np.dot(d, G), d) <= 0
        return new, ok

    new, ok = trial(alpha)
    if ok:  # grow the step while the condition keeps holding
        for _ in range(MAX_SEARCH):
            bigger, still = trial(alpha / BETA)
            if not still or np.array_equal(bigger, new):
                break
            alpha, new = alpha / BETA, bigger
    else:  # shrink until it holds
        for _ in range(MAX_SEARCH):
            alpha *= BETA
            new, ok = trial(alpha)
            if ok:
                break
        if not ok:
            return alpha  # no decrease found: leave A as it is
    A[...] = new
    return alpha
