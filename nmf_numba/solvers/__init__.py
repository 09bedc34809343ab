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

from ._common import HalfStep, Penalty, Solver, StepOptions, one_to_two, pgrad_sq_at
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
    if solver.dask_betas(2.0) and solver.from_products is None:
        raise TypeError(f"solver {solver.name!r}: dask_betas includes β = 2, which needs "
                        "from_products (the Dask path forms the products over row blocks).")
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


def _problems(solver, beta, graph, observed, shuffle, dask, accelerate=False):
    """What ``solver`` lacks for this fit, in words (empty: it runs it)."""
    lacks = []
    if accelerate and not (solver.extrapolate or solver.relax_betas(beta) or solver.mu_first):
        lacks.append(f"has no accelerated variant (accelerate=True) for beta_loss={beta:g}")
    if accelerate and graph and not solver.extrapolate:
        lacks.append("has no accelerated variant with a graph penalty")
    if not solver.supports_beta(beta):
        lacks.append(f"supports {solver.beta_words}; got beta_loss={beta:g}")
    if observed and (solver.observed_beta is None or not solver.observed_beta(beta)):
        lacks.append(f"does not support missing values or weights (NaN, mask=, "
                     f"missing='unobserved', weights=, sample_weight=) with beta_loss={beta:g}")
    if graph and beta not in solver.graph_betas:
        lacks.append(f"does not support a graph penalty with beta_loss={beta:g}")
    if shuffle and not solver.shuffle:
        lacks.append("has no component order to shuffle (shuffle=True)")
    if dask and not solver.dask_betas(beta):
        lacks.append(f"does not run on a Dask array with beta_loss={beta:g} (compute X first "
                     "to use it on one machine)")
    return lacks


def check(name, beta, *, sparse=False, graph=False, observed=False, shuffle=False,
          dask=False, transform=False, accelerate=False):
    """The record of the solver a fit runs (``"auto"`` resolved), after checking that it
    supports the β, the data and the options; otherwise a ValueError that says what it lacks
    and which solvers would run this fit.  ``accelerate``: True (the accelerated variant is
    required), False or "auto"."""
    if observed and graph:
        raise ValueError("A graph penalty cannot be combined with missing values or weights "
                         "yet.")
    if observed and shuffle:
        raise ValueError("shuffle=True is not supported with missing values or weights (NaN, "
                         "mask=, missing='unobserved', weights=, sample_weight=): each row's "
                         "sweep has its own Gram matrix.")
    if isinstance(name, str) and name == "auto":
        name = auto_solver(beta, sparse=sparse, graph=graph, observed=observed, dask=dask,
                           transform=transform, accelerate=accelerate is not False)
    solver = get(name)
    required = accelerate is True
    lacks = _problems(solver, beta, graph, observed, shuffle, dask, required)
    if lacks:
        able = [s.name for s in SOLVERS.values()
                if not _problems(s, beta, graph, observed, shuffle, dask, required)]
        raise ValueError(f"solver={name!r} " + " and ".join(lacks) + ". "
                         + (f"Solvers for this fit: {able}." if able else
                            "No solver runs this combination."))
    return solver


def auto_solver(beta, sparse=False, graph=False, *, observed=False, dask=False,
                transform=False, accelerate=True):
    """The solver ``solver="auto"`` runs: the fastest to 1e-4 of the best objective in
    ``asv_bench/time_to_tol.py`` (the README's table) for the β, the input format and the
    options.

    * fits, β = 2: "hals" on dense data (its repeated sweeps pay where "cd" is memory-bound),
      "cd" on CSR (the products dominate) and with missing values; on Dask "hals";
    * fits, KL: "newton-cd" without a graph, missing values or Dask; on dense data only with
      its accelerated variant (``accelerate`` not False: MU first, then Newton), since plain
      dense Newton sweeps touch every entry and lose to "mu"; else "mu";
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
    if beta == 1 and not (observed or graph or dask) and (sparse or transform or accelerate):
        return "newton-cd"
    return "mu"


def auto_accelerate(solver, beta, *, sparse=False, observed=False, graph=False, dask=False,
                    stop="objective"):
    """Whether ``accelerate="auto"`` turns the accelerated variant of ``solver`` (a record)
    on: where ``asv_bench/time_to_tol.py`` measured it faster to 1e-3 and 1e-4 of the best
    objective than the plain solver (the README's table).

    * β = 2, "cd"/"hals" on CSR data (extrapolation: ~4× fewer iterations on tf-idf); off on
      dense data (no fewer iterations on dense low-rank data) and with missing values (not
      measured);
    * KL: "mu" over-relaxed (about half the iterations, dense and CSR), "newton-cd" after
      over-relaxed MU (faster, and a lower objective on real counts);
    * off with a graph, with ``stop="pgrad"`` and on Dask; off for "mu" with β ∉ {1, 2}
      (each iteration would need an objective evaluation of its own).
    """
    if graph or dask or stop == "pgrad":
        return False
    if solver.extrapolate:
        return beta == 2 and sparse and not observed
    if solver.mu_first:
        return not observed
    return beta == 1 and solver.relax_betas(beta)


_MODULES = (mu, cd, hals, anls, pgd, newton_cd)  # the registry: one entry per solver module
for _module in _MODULES:
    register(_module.SOLVER)


def _acceleration(solver):
    """What ``accelerate=True`` does to a solver, in the table's words."""
    if solver.extrapolate:
        return "extrapolated"
    if solver.mu_first:
        return "over-relaxed `mu` first"
    if solver.relax_betas(1.0):
        return "over-relaxed, β ∈ [1, 2]" if solver.relax_betas is one_to_two else "over-relaxed"
    return "–"


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
    rows = ["| solver | β | missing values, weights | graph (GNMF) | Dask | `accelerate=True` | "
            "compiled loop | what it is |",
            "|---|---|---|---|---|---|---|---|"]
    for s in SOLVERS.values():
        observed = "–" if s.observed_beta is None else _betas(s.observed_beta)
        graph = ", ".join(f"{b:g}" for b in s.graph_betas) or "–"
        compiled = _betas(s.supports_beta) if s.compiled else "–"
        rows.append(f"| `{s.name}` | {_betas(s.supports_beta)} | {observed} | {graph} | "
                    f"{_betas(s.dask_betas)} | {_acceleration(s)} | {compiled} | "
                    f"{s.summary} |")
    return "\n".join(rows)
