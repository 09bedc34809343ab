"""Multiplicative updates for every β-divergence (Lee & Seung 2001; Févotte & Idier 2011).

The update is ``A ← A ⊙ (num ⊘ den)^γ`` with

* β = 2: ``num = X B``, ``den = A (BᵀB)``;
* β ≠ 2: ``num = (X ⊙ (A Bᵀ)^(β−2)) B``, ``den = (A Bᵀ)^(β−1) B`` (for β = 1 the column sums
  of B), formed by the data operator (fused over stored entries for CSR);

and the majorisation-minimisation exponent γ = 1/(2−β) for β < 1, 1/(β−1) for β > 2, 1 otherwise,
which makes the objective non-increasing for every β.  An L1/L2 penalty adds ``l1 + l2·A`` to
``den`` (scikit-learn's rule).  Guards are scikit-learn's: zero
denominators become ``EPSILON`` and, for β ≤ 1, entries below float64's epsilon become exact zeros.
"""

import numpy as np

from ..kernels.dense import mu_apply
from ..losses import EPSILON
from ._common import NO_PENALTY, HalfStep, projected_sq

_TINY = float(np.finfo(np.float64).eps)


def gamma(beta):
    """Févotte & Idier's MM exponent for the β-divergence."""
    if beta < 1:
        return 1.0 / (2.0 - beta)
    if beta > 2:
        return 1.0 / (beta - 1.0)
    return 1.0


def update(op, A, B, beta, penalty=NO_PENALTY, pgrad=False):
    """One MU step on ``A`` (in place) for ``X_op ≈ A Bᵀ``; returns a ``HalfStep``.

    The projected gradient is the one the step uses, ``den − num``, before the step.
    """
    dt = A.dtype.type
    if beta == 2:
        G = np.dot(B.T, B)
        XB = op.times(B)
        den = penalty.add_to_denominator(np.dot(A, G), A)
        pgrad_sq = projected_sq(A, den - XB) if pgrad else None
        mu_apply(A, XB, den, dt(1), dt(EPSILON), dt(0))
        return HalfStep((XB, G), pgrad_sq)
    num, den = op.mu_products(A, B, beta, EPSILON)
    penalty.add_to_denominator(den, A)
    pgrad_sq = projected_sq(A, den - num) if pgrad else None
    zero_below = _TINY if beta <= 1 else 0.0
    mu_apply(A, num, den, dt(gamma(beta)), dt(EPSILON), dt(zero_below))
    return HalfStep(None, pgrad_sq)
