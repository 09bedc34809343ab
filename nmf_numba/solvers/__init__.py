"""The solver registry: every fact about a solver, in one record per solver.

Each solver module declares ``SOLVER = Solver(...)``: its name, the β it supports, the data it
takes, the options it supports, whether its work is the BLAS products, and how to make its
half-step.  Validation, ``solver="auto"``, the estimators' parameter constraints, the command
line's choices, the Dask path and the README's solver table read the records; adding a solver is
one module and one line in ``_MODULES`` below (or :func:`register` at run time).

A half-step improves the tall factor ``A`` in ``X_op ≈ A Bᵀ`` with ``B`` fixed::

    step = solver.new_step(StepOptions(beta, pgrad, rng))   # one per factor, per fit
    halfstep = step(op, A, B, penalty)                        # A updated in place

and returns a :class:`HalfStep`.  The loop calls it once for W (with the operator of X) and once
for H (with the operator of Xᵀ, ``A = Hᵀ``, ``B = W``); per-solver state (PGD's step size, the
shuffle order's generator) lives in the step object made for that factor.
"""

from ._common import HalfStep, Penalty, Solver, StepOptions, pgrad_sq_at
from . import anls, cd, hals, mu, newton_cd, pgd

__all__ = ["Solver", "StepOptions", "SOLVERS", "register", "get", "names", "check",
           "auto_solver",
           "HalfStep", "Penalty", "pgrad_sq_at"]

SOLVERS = {}
"""name → :class:`Solver`, in the order they were registered."""


def register(solver):
    """Add a solver to the registry (a solver of the same name is replaced); returns it."""
    if not isinstance(solver, Solver):
        raise TypeError(f"register() takes a Solver record, got {solver!r}.")
    SOLVERS[solver.name] = solver
    return solver


def get(name):
    """The record of a registered solver name (a ValueError listing the names otherwise)."""
    if isinstance(name, str) and name in SOLVERS:
        return SOLVERS[name]
    raise ValueError(f"Invalid solver {name!r}: use one of {names()}.")


def names(with_auto=True):
    """The solver names users may pass, "auto" first."""
    return (["auto"] if with_auto else []) + list(SOLVERS)


def check(name, beta, *, sparse=False, graph=False, observed=False, shuffle=False,
          dask=False, transform=False):
    """The record of the solver a fit runs (``"auto"`` resolved), after checking that it
    supports the β, the data and the options; a ValueError that names what does not fit and
    which solvers would, otherwise."""
    if isinstance(name, str) and name == "auto":
        name = auto_solver(beta, sparse=sparse, graph=graph, observed=observed, dask=dask,
                           transform=transform)
    solver = get(name)
    if not solver.supports_beta(beta):
        able = [s.name for s in SOLVERS.values() if s.supports_beta(beta)]
        raise ValueError(f"solver={name!r} supports {solver.beta_words}; got beta_loss={beta:g}. "
                         f"Solvers for this beta_loss: {able}.")
    if observed and (solver.observed_beta is None or not solver.observed_beta(beta)):
        able = [s.name for s in SOLVERS.values()
                if s.observed_beta is not None and s.observed_beta(beta)]
        raise ValueError(
            f"Missing values (NaN, mask= or missing='unobserved') are not supported by "
            f"solver={name!r} with beta_loss={beta:g}; solvers that support them: {able}.")
    if observed and graph:
        raise ValueError("A graph penalty cannot be combined with missing values yet.")
    if graph and beta not in solver.graph_betas:
        able = [s.name for s in SOLVERS.values() if beta in s.graph_betas]
        raise ValueError(
            f"A graph penalty is not supported by solver={name!r} with beta_loss={beta:g}. "
            + (f"Solvers with a graph for this beta_loss: {able}." if able else
               "Graph-regularised NMF supports beta_loss='frobenius' and 'kullback-leibler'."))
    if shuffle and not solver.shuffle:
        able = [s.name for s in SOLVERS.values() if s.shuffle]
        raise ValueError(f"shuffle=True needs a solver with a component order to shuffle "
                         f"({able}); solver={name!r} has none.")
    if dask and not solver.dask_betas(beta):
        able = [s.name for s in SOLVERS.values() if s.dask_betas(beta)]
        raise ValueError(f"solver={name!r} does not run on a Dask array with "
                         f"beta_loss={beta:g}; solvers that do: {able} (the others run on one "
                         "machine: compute X first).")
    return solver


def auto_solver(beta, *, sparse=False, graph=False, observed=False, dask=False,
                transform=False):
    """The solver ``solver="auto"`` runs: the fastest to 1e-4 of the best objective in
    ``asv_bench/time_to_tol.py`` (the README's table) for the β, the input format and the
    options.

    * fits, β = 2: "hals" on dense data (its repeated sweeps pay where "cd" is memory-bound),
      "cd" on CSR (the products dominate) and with missing values; on Dask "hals";
    * fits, KL: "newton-cd" on CSR without a graph or missing values, else "mu" (dense Newton
      sweeps touch every entry);
    * ``transform`` (W with H fixed, a convex problem for β ∈ [1, 2]): "anls" for β = 2
      (exact, one step), "newton-cd" for KL; with missing values "cd" for β = 2;
    * every other β: "mu", the only solver for them.
    """
    if beta == 2:
        if observed:
            return "cd"
        if transform:
            return "anls"
        return "hals" if dask or not sparse else "cd"
    if beta == 1 and not (observed or graph or dask) and (sparse or transform):
        return "newton-cd"
    return "mu"


_MODULES = (mu, cd, hals, anls, pgd, newton_cd)  # the registry: one entry per solver module
for _module in _MODULES:
    register(_module.SOLVER)


def _betas(predicate):
    """The β of ``predicate`` in words, over the three named losses and "other β"."""
    named = [(2.0, "2"), (1.0, "1"), (0.0, "0")]
    hits = [words for beta, words in named if predicate(beta)]
    if predicate(0.5) and predicate(3.0) and len(hits) == 3:
        return "every β"
    return ", ".join(hits) if hits else "–"


def table():
    """The README's solver table (markdown), read from the registry: a test checks that the
    README holds exactly this."""
    rows = ["| solver | β | missing values | graph (GNMF) | Dask | what it is |",
            "|---|---|---|---|---|---|"]
    for s in SOLVERS.values():
        observed = "–" if s.observed_beta is None else _betas(s.observed_beta)
        graph = ", ".join(f"{b:g}" for b in s.graph_betas) or "–"
        rows.append(f"| `{s.name}` | {_betas(s.supports_beta)} | {observed} | {graph} | "
                    f"{_betas(s.dask_betas)} | {s.summary} |")
    return "\n".join(rows)
