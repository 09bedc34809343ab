"""Accelerated HALS (Gillis & Glineur, Neural Computation 2012).

A HALS sweep costs O(rows·k²) once the products ``X B`` (O(stored entries·k)) and ``BᵀB``
(O(cols·k²)) are formed, so repeating the cheap sweep on the same products before switching to
the other factor pays off.  The repeats stop when

* their number reaches ``1 + α·ρ`` (``α``: ``SWEEP_BUDGET``, not a penalty weight), where ``ρ = 1 + (cost of X B + cost of BᵀB) / cost of one
  sweep`` (with costs counted in multiply-adds: ``stored·k``, ``cols·k²`` and ``rows·k²``), or
* a sweep changes ``A`` by less than ``δ`` times what the first sweep changed it
  (``‖A_l − A_{l−1}‖_F ≤ δ ‖A_1 − A_0‖_F``).

The paper's defaults are α = 0.5 and δ = 0.1.  With α = 0 (``budget=0``) this is exactly ``cd``.
"""

import functools

from .._data import SharedGram
from ._common import FROBENIUS_WORDS, NO_PENALTY, HalfStep, Solver, frobenius_only

SWEEP_BUDGET = 0.5  # the paper's α
DELTA = 0.1


def max_sweeps(op, A, B, budget=SWEEP_BUDGET):
    """The ``1 + α·ρ`` bound on sweeps per half-step."""
    return sweep_bound(op.n_stored, A.shape[0], B.shape[0], A.shape[1], budget)


def sweep_bound(n_stored, rows, cols, k, budget=SWEEP_BUDGET):
    """``1 + α·ρ`` for ``n_stored`` stored entries of a rows×cols ``X_op`` and rank k."""
    sweep_cost = rows * k * k
    rho = 1.0 + (n_stored * k + cols * k * k) / max(sweep_cost, 1)
    return max(1, int(1.0 + budget * rho))


def update(op, A, B, penalty=NO_PENALTY, pgrad=False, budget=SWEEP_BUDGET, delta=DELTA):
    """Repeated HALS sweeps on ``A`` (in place) for ``X_op ≈ A Bᵀ``; returns a ``HalfStep``.

    On observed-only data each row's Gram matrix is formed once and swept ``max_sweeps``
    times (the δ rule applies to a shared Gram matrix only)."""
    system = op.normal_equations(B)
    pgrad_sq = system.pgrad_sq(A, penalty) if pgrad else None
    system.sweeps(A, penalty, max_sweeps(op, A, B, budget), delta)
    return HalfStep(system.products, pgrad_sq)


def _new_step(options):
    return functools.partial(update, pgrad=options.pgrad)


def _from_products(A, XB, G, penalty, n_sweeps):
    SharedGram(XB, G).sweeps(A, penalty, n_sweeps, DELTA)


SOLVER = Solver(
    name="hals",
    summary=("accelerated HALS: repeated sweeps on the same products while they pay (Gillis & "
             "Glineur, Neural Comput. 2012)"),
    new_step=_new_step,
    supports_beta=frobenius_only,
    beta_words=FROBENIUS_WORDS,
    observed_beta=frobenius_only,
    graph_betas=(2.0,),
    from_products=_from_products,
    dask_betas=frobenius_only,
    extrapolate=True,
    compiled=True,
)
