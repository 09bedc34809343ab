"""What every half-step returns, and the projected gradient used by ``stop="pgrad"``."""

from typing import NamedTuple, Optional

import numpy as np

from ..losses import EPSILON


class HalfStep(NamedTuple):
    """The by-products of one half-step on ``A`` in ``X_op ≈ A Bᵀ``.

    ``products`` is ``(X_op B, BᵀB)`` for a least-squares step (β = 2), from which the orchestration
    gets the Frobenius objective in O(rows·k²); None otherwise.  ``pgrad_sq`` is
    ``‖∇ᴾ_A f‖²_F`` at the point the step started from, when asked for (else None).
    """

    products: Optional[tuple] = None
    pgrad_sq: Optional[float] = None


def projected_sq(A, grad):
    """``‖∇ᴾ‖²_F``: the gradient where ``A > 0``, its negative part where ``A = 0``."""
    pg = np.where(A > 0, grad, np.minimum(grad, 0))
    return float(np.vdot(pg, pg))


def least_squares_pgrad_sq(A, XB, G, pgrad):
    """``‖∇ᴾ_A‖²`` of ``½‖X − A Bᵀ‖²`` (``∇ = A G − X B``) if ``pgrad``, else None; call it
    before the step changes ``A``."""
    return projected_sq(A, np.dot(A, G) - XB) if pgrad else None


def pgrad_sq_at(op, A, B, beta):
    """``‖∇ᴾ_A D_β(X | A Bᵀ)‖²`` from scratch (used once, at the initialisation)."""
    if beta == 2:
        return projected_sq(A, np.dot(A, np.dot(B.T, B)) - op.times(B))
    num, den = op.mu_products(A, B, beta, EPSILON)
    return projected_sq(A, den - num)
