"""What every half-step takes and returns: the penalty on the factor it updates, its
by-products, and the projected gradient used by ``stop="pgrad"``."""

from typing import NamedTuple, Optional

import numpy as np

from ..losses import EPSILON


class Graph(NamedTuple):
    """A graph regulariser on the sample factor W (GNMF, Cai et al. 2011).

    ``S`` is the symmetric non-negative affinity (canonical CSR, float64), ``degrees = S·1``,
    ``L = D − S``.  The penalty is ``(λ/2)·tr(Wᵀ L W)`` for β = 2 and, for KL, the paper's
    ``(λ/2)·Σ_jl S_jl (KL(w_j‖w_l) + KL(w_l‖w_j)) = λ·Σ_r w_rᵀ L log w_r``.
    """

    S: object
    degrees: np.ndarray
    reg: float
    beta: float

    @property
    def arrays(self):
        return self.S.data, self.S.indices, self.S.indptr

    def laplacian_times(self, A):
        """``L A`` in float64."""
        A64 = A.astype(np.float64, copy=False)
        return self.degrees[:, None] * A64 - self.S @ A64

    def value(self, A):
        A64 = A.astype(np.float64, copy=False)
        if self.beta == 2:
            return 0.5 * self.reg * float(np.vdot(A64, self.laplacian_times(A64)))
        log_A = np.log(np.maximum(A64, _LOG_FLOOR))
        return self.reg * float(np.vdot(A64, self.laplacian_times(log_A)))


# log(0) in the KL graph penalty: w·log w → 0 as w → 0, and this floor keeps L log W finite.
_LOG_FLOOR = 1e-300


class Penalty(NamedTuple):
    """``l1·Σ A + ½·l2·‖A‖²_F`` on the factor being updated (``A ≥ 0``, so ``Σ A = ‖A‖₁``),
    plus a :class:`Graph` term on W.

    The numbers arrive already scaled (scikit-learn's ``alpha_W·l1_ratio·n_features`` and so
    on).  In a least-squares step the L1 term shifts the linear term (``X B − l1``) and the L2
    term the Gram diagonal (``BᵀB + l2·I``); in a multiplicative step both join the denominator.
    """

    l1: float = 0.0
    l2: float = 0.0
    graph: Optional[Graph] = None  # on W only

    def value(self, A):
        total = 0.0 if self.graph is None else self.graph.value(A)
        if not (self.l1 or self.l2):
            return total
        A64 = A.astype(np.float64, copy=False)
        return total + float(self.l1 * A64.sum() + 0.5 * self.l2 * np.vdot(A64, A64))

    def least_squares(self, XB, G):
        """``(X B − l1, BᵀB + l2·I)``: the linear term and Hessian of the penalised subproblem."""
        if self.l1:
            XB = XB - XB.dtype.type(self.l1)
        if self.l2:
            G = G.copy()
            G.flat[:: G.shape[0] + 1] += G.dtype.type(self.l2)
        return XB, G

    def add_to_denominator(self, den, A):
        """``den + l1 + l2·A`` (in place) for a multiplicative step."""
        if self.l1:
            den += den.dtype.type(self.l1)
        if self.l2:
            den += den.dtype.type(self.l2) * A
        return den


NO_PENALTY = Penalty()


class HalfStep(NamedTuple):
    """The by-products of one half-step on ``A`` in ``X_op ≈ A Bᵀ``.

    ``products`` is ``(X_op B, BᵀB)`` for a least-squares step (β = 2), from which the orchestration
    gets the Frobenius objective in O(rows·k²); None otherwise.  ``pgrad_sq`` is
    ``‖∇ᴾ_A f‖²_F`` at the point the step started from, when asked for (else None).
    ``violation`` is what scikit-learn's ``cd`` stops on (``stop="sklearn"``): the sum over the
    sweep of ``|∇ᴾ|`` at each coordinate just before its update (``cd`` only, else None).
    """

    products: Optional[tuple] = None
    pgrad_sq: Optional[float] = None
    violation: Optional[float] = None


def projected_sq(A, grad):
    """``‖∇ᴾ‖²_F``: the gradient where ``A > 0``, its negative part where ``A = 0``."""
    pg = np.where(A > 0, grad, np.minimum(grad, 0))
    return float(np.vdot(pg, pg))


def least_squares_pgrad_sq(A, XB, G, pgrad, graph=None):
    """``‖∇ᴾ_A‖²`` of ``½‖X − A Bᵀ‖²`` (``∇ = A G − X B``; pass the penalised ``XB``, ``G``; a
    β = 2 graph term adds ``λ L A``) if ``pgrad``, else None; call it before the step changes
    ``A``."""
    if not pgrad:
        return None
    grad = np.dot(A, G) - XB
    if graph is not None:
        grad = grad + graph.reg * graph.laplacian_times(A)
    return projected_sq(A, grad)


def pgrad_sq_at(op, A, B, beta, penalty=NO_PENALTY):
    """``‖∇ᴾ_A‖²`` of ``D_β(X | A Bᵀ)`` plus the penalty, from scratch (used at the
    initialisation)."""
    if beta == 2 and op.observed_only:  # ∇ = (M ⊙ (A Bᵀ − X)) B + l1 + l2·A
        grad = penalty.add_to_denominator(op.model_times(A, B), A) - op.times(B)
        return projected_sq(A, grad)
    if beta == 2:
        XB, G = penalty.least_squares(op.times(B), np.dot(B.T, B))
        return least_squares_pgrad_sq(A, XB, G, True, penalty.graph)
    num, den = op.mu_products(A, B, beta, EPSILON)
    return projected_sq(A, penalty.add_to_denominator(den, A) - num)
