"""Solvers.  Each module exposes one half-step ``update(op, A, B, ..., pgrad=False)`` that
improves the tall factor ``A`` in ``X_op ≈ A Bᵀ`` with ``B`` fixed; the orchestration calls it
once for W (with the operator of X) and once for H (with the operator of Xᵀ, ``A = Hᵀ``,
``B = W``).  It returns a :class:`~nmf_numba.solvers._common.HalfStep`: the products ``X_op B``
and ``BᵀB`` of a least-squares step (so the Frobenius objective costs only O(rows·k²)), and the
squared projected gradient when ``pgrad`` is asked for.
"""

import functools

from . import anls, cd, hals, mu, newton_cd, pgd
from ._common import HalfStep, pgrad_sq_at

__all__ = ["SUPPORTED_BETA", "auto_solver", "blas_bound", "make_step", "HalfStep", "pgrad_sq_at"]

_FROBENIUS = (lambda beta: beta == 2, "only beta_loss='frobenius' (beta=2)")

# Which β each solver accepts: a predicate and the words of the error message.
SUPPORTED_BETA = {
    "mu": (lambda beta: True, "every beta_loss"),
    "cd": _FROBENIUS,
    "hals": _FROBENIUS,
    "anls": _FROBENIUS,
    "pgd": _FROBENIUS,
    "newton-cd": (lambda beta: beta == 1, "only beta_loss='kullback-leibler' (beta=1)"),
}


def auto_solver(beta, sparse, graph=False):
    """The solver ``solver="auto"`` runs for a β, an input format and whether there is a graph
    penalty: the fastest to 1e-4 of the best objective in ``asv_bench/time_to_tol.py`` (the
    README's table).  β = 2: "hals" on dense data (≥ 2.3× faster than "cd", which is
    memory-bound there), "cd" on CSR (the products dominate, extra sweeps do not pay);
    KL: "newton-cd" on CSR, "mu" on dense data (whose Newton sweeps touch every entry) and with
    a graph; other β: "mu", the only solver."""
    if beta == 2:
        return "cd" if sparse else "hals"
    if beta == 1 and sparse and not graph:
        return "newton-cd"
    return "mu"


def blas_bound(solver, beta):
    """Whether a dense half-step's time is in its two BLAS products (X B and the model or
    Gram products) rather than in Numba kernels: "cd" (one cheap sweep), "anls", "pgd", and
    "mu" for β ∈ {1, 2}.  "hals" repeats its sweeps until they cost about half the products,
    "newton-cd" and MU for other β run kernels over every entry."""
    return solver in ("cd", "anls", "pgd") or (solver == "mu" and beta in (1, 2))


def make_step(solver, beta, pgrad=False, shuffle_rng=None):
    """The half-step ``step(op, A, B) -> HalfStep`` of a validated solver name and β.

    ``shuffle_rng``: "cd" visits the components in a random order drawn from it each sweep."""
    if shuffle_rng is not None:
        return functools.partial(cd.update, pgrad=pgrad, shuffle_rng=shuffle_rng)
    if solver == "mu":
        return functools.partial(mu.update, beta=beta, pgrad=pgrad)
    if solver == "pgd":
        return functools.partial(pgd.PGD().update, pgrad=pgrad)  # PGD keeps per-factor state
    module = {"cd": cd, "hals": hals, "anls": anls, "newton-cd": newton_cd}[solver]
    return functools.partial(module.update, pgrad=pgrad)
