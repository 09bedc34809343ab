"""What every solver declares, and what every half-step takes and returns: the solver's record,
the penalty on the factor it updates, its by-products, and the projected gradient used by
``stop="pgrad"``."""

from dataclasses import dataclass, field
from typing import Callable, NamedTuple, Optional

import numpy as np
from numba import njit

from .._numba import SERIAL
from ..losses import EPSILON, projected_sq


def every_beta(beta):
    return True


def frobenius_only(beta):
    return beta == 2


FROBENIUS_WORDS = "only beta_loss='frobenius' (beta=2)"


def _never(beta):
    return False


def always(beta):
    return True


def one_to_two(beta):
    return 1 <= beta <= 2


class StepOptions(NamedTuple):
    """What a half-step is made with: the β of the loss, whether it reports the projected
    gradient (``stop="pgrad"``), a random generator for solvers that draw (``shuffle``;
    None: no shuffling), and the over-relaxation of a multiplicative step (an object whose
    ``omega`` the engine sets before each step; None: no over-relaxation)."""

    beta: float
    pgrad: bool = False
    rng: object = None
    relaxation: object = None


@dataclass(frozen=True)
class Solver:
    """One solver's record (see :mod:`nmf_numba.solvers`).

    name, summary
        What users pass as ``solver=``; one line for the README's table and the command line.
    new_step
        ``new_step(StepOptions) -> step`` with ``step(op, A, B, penalty) -> HalfStep``; called
        once per factor per fit, so a step may keep state between its calls.
    supports_beta, beta_words
        Which β the solver minimises, and the same in words for error messages.
    observed_beta
        Which β it supports on observed-only, weighted data (a mask, NaN entries,
        ``missing="unobserved"``, ``weights``, ``sample_weight``: the operator
        :class:`nmf_numba._data.ObservedOp`); None: no missing values or weights.
    graph_betas
        The β for which it takes a graph penalty (GNMF); empty: none.
    shuffle
        Whether it supports ``shuffle=True`` (a random component order per sweep).
    blas_bound
        ``blas_bound(β)``: whether its dense half-step's time is in the two BLAS products
        rather than in Numba kernels (the thread policy of :mod:`nmf_numba._threads`).
    from_products
        ``from_products(A, XB, G, penalty, n_sweeps)``: the β = 2 half-step from the products
        ``X_op B`` and ``BᵀB``, which the Dask path forms as sums over row blocks.
    exact
        Whether one half-step solves its subproblem exactly (``transform`` then runs one).
    extrapolate
        Whether ``accelerate=True`` may wrap its half-steps in Ang & Gillis's extrapolation
        (:mod:`nmf_numba._engine`): block updates of the β = 2 least-squares problem.
    relax_betas
        ``relax_betas(β)``: the β for which ``accelerate=True`` over-relaxes its multiplicative
        step (exponent ``ω·γ``, ω adapted and safeguarded by :mod:`nmf_numba._engine`).
    mu_first
        Whether ``accelerate=True`` starts with over-relaxed MU until its progress slows,
        then runs this solver from there (:class:`nmf_numba._engine.MuFirstRun`).
    compiled
        Whether small problems run it in the compiled loop (:mod:`nmf_numba._compiled`, which
        holds its half-step) instead of the Python loop.
    dask_betas
        ``dask_betas(β)``: the β for which the Dask path runs it (β ≠ 2 on Dask: the MU
        numerator and denominator are reduced, so only "mu").

    Every solver supports L1/L2 penalties and nsNMF's smoothing (they change the numbers a
    half-step is given, not the half-step).
    """

    name: str
    summary: str
    new_step: Callable
    supports_beta: Callable = every_beta
    beta_words: str = "every beta_loss"
    observed_beta: Optional[Callable] = None
    graph_betas: tuple = ()
    shuffle: bool = False
    blas_bound: Callable = _never
    exact: bool = False
    extrapolate: bool = False
    relax_betas: Callable = field(default=_never)
    mu_first: bool = False
    from_products: Optional[Callable] = None
    dask_betas: Callable = field(default=_never)
    compiled: bool = False


class Graph(NamedTuple):
    """A graph regulariser on the sample factor W (GNMF, Cai et al. 2011).

    ``affinity`` is the symmetric non-negative affinity (canonical CSR, float64),
    ``degrees = affinity·1``, ``L = D − affinity``.  The penalty is ``(λ/2)·tr(Wᵀ L W)`` for β = 2 and, for KL, the paper's
    ``(λ/2)·Σ_jl a_jl (KL(w_j‖w_l) + KL(w_l‖w_j)) = λ·Σ_r w_rᵀ L log w_r``.
    """

    affinity: object
    degrees: np.ndarray
    reg: float
    beta: float

    @property
    def arrays(self):
        return self.affinity.data, self.affinity.indices, self.affinity.indptr

    def laplacian_times(self, A):
        """``L A`` in float64."""
        A64 = A.astype(np.float64, copy=False)
        return self.degrees[:, None] * A64 - self.affinity @ A64

    def balance(self, W, Ht, keep=None):
        """Rescale the factors in place so that every basis vector (a row of H, a column of
        ``Ht``) has unit Euclidean norm, W's column absorbing its norm: the model ``W H`` and
        the data term are unchanged, the graph term is measured on W at the basis' fixed scale.
        Returns the norms ``d`` (float64; 1 where a row of H is all zero, which is left as is,
        and for the components ``keep`` marks, e.g. fixed ones).

        Why: the objective is not scale-invariant, since ``W → W/c, H → c·H`` keeps the fit
        and divides the graph term by c², so the solvers drift towards a small W and a large H
        and the graph's effect fades.  Cai, He, Han & Huang (TPAMI 2011) fix the scale the
        same way: their reference code (``GNMF_Multi.m``, ``NormalizeUV`` with ``Norm = 2``)
        scales the basis U (our H) to unit-norm columns and the representation V (our W) by
        the norms, at the start and on the final factors; the engines here do it after every
        iteration (:mod:`nmf_numba._engine`), so the drift cannot build up during a run."""
        d = np.sqrt(np.einsum("jr,jr->r", Ht, Ht, dtype=np.float64))
        d[d == 0] = 1.0
        if keep is not None:
            d[keep] = 1.0
        Ht /= d.astype(Ht.dtype)
        W *= d.astype(W.dtype)
        return d

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
    plus a :class:`Graph` term on W, plus fixed components.

    The numbers arrive already scaled (scikit-learn's ``alpha_W·l1_ratio·n_features`` and so
    on).  In a least-squares step the L1 term shifts the linear term (``X B − l1``) and the L2
    term the Gram diagonal (``BᵀB + l2·I``); in a multiplicative step both join the denominator.

    ``free`` (a boolean array over A's k columns; None: every column) is the constraint of
    fixed components (``fix_H``/``fix_W`` of :func:`nmf_numba.nmf`): the columns it leaves out
    keep their values, as if an indicator penalty (0 at those values, ∞ elsewhere) were added.
    Each half-step then minimises over the free columns only, the fixed ones entering the
    others' gradients (:class:`nmf_numba._data.SharedGram`'s ``subproblem``).  Their value
    terms are constants and stay in :meth:`value`, so the objective is the fit's full one.
    """

    l1: float = 0.0
    l2: float = 0.0
    graph: Optional[Graph] = None  # on W only
    free: Optional[np.ndarray] = None

    def value(self, A):
        total = 0.0 if self.graph is None else self.graph.value(A)
        if not (self.l1 or self.l2):
            return total
        return total + elastic_net_value(A, float(self.l1), float(self.l2))

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


@njit(**SERIAL)
def elastic_net_value(A, l1, l2):
    """``l1·Σ A + ½·l2·‖A‖²_F`` in float64 (``A ≥ 0``): :meth:`Penalty.value` without the
    graph, shared with the compiled small-problem loop."""
    if l1 == 0.0 and l2 == 0.0:
        return 0.0
    total = 0.0
    sq = 0.0
    for i in range(A.shape[0]):
        for r in range(A.shape[1]):
            a = np.float64(A[i, r])
            total += a
            sq += a * a
    return l1 * total + 0.5 * l2 * sq


def scaled_penalties(shape, alpha_W, alpha_H, l1_ratio, graph=None):
    """The penalties on W and H of an m×n fit, with scikit-learn's scaling: ``alpha_W`` times
    ``n_features`` for W, ``alpha_H`` times ``n_samples`` for H, split by ``l1_ratio`` into
    L1 and L2 (the graph term, if any, joins W's)."""
    m, n = shape
    return (Penalty(alpha_W * l1_ratio * n, alpha_W * (1.0 - l1_ratio) * n, graph),
            Penalty(alpha_H * l1_ratio * m, alpha_H * (1.0 - l1_ratio) * m))


class HalfStep(NamedTuple):
    """The by-products of one half-step on ``A`` in ``X_op ≈ A Bᵀ``.

    ``products`` is ``(X_op B, BᵀB)`` for a least-squares step (β = 2), from which the orchestration
    gets the Frobenius objective in O(rows·k²); None otherwise.  ``pgrad_sq`` is
    ``‖∇ᴾ_A f‖²_F`` at the point the step started from, when asked for (else None).
    ``violation`` is what scikit-learn's ``cd`` stops on (``stop="sklearn"``): the sum over the
    sweep of ``|∇ᴾ|`` at each coordinate just before its update (``cd`` only, else None).
    ``data_term`` is ``D_β(X_op | A Bᵀ)`` at the pair the step started from, when the step
    measured it on the way (the over-relaxed KL step; else None).
    """

    products: Optional[tuple] = None
    pgrad_sq: Optional[float] = None
    violation: Optional[float] = None
    data_term: Optional[float] = None


def pgrad_sq_at(op, A, B, beta, penalty=NO_PENALTY):
    """``‖∇ᴾ_A‖²`` of ``D_β(X | A Bᵀ)`` plus the penalty, from scratch (used at the
    initialisation)."""
    if beta == 2:
        return op.normal_equations(B).pgrad_sq(A, penalty)
    num, den = op.mu_products(A, B, beta, EPSILON)
    return projected_sq(A, penalty.add_to_denominator(den, A) - num, penalty.free)
