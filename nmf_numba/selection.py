"""Choosing the rank: fit quality, consensus stability and cross-validation per rank.

The cross-validation is Wold's: the entries of X are split at random into ``n_folds`` groups;
for each fold one group is hidden (treated as missing, see ``nmf(mask=...)``), the model is fitted
on the rest and scored on the hidden entries.  Too small a rank underfits the hidden entries, too
large a rank fits the noise of the observed ones, so the held-out error has a minimum near the
true rank.
"""

import sys
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from . import _validation
from ._random import as_rng, draw_seeds
from ._sklearn import convergence_warning
from .clustering import consensus
from .many import nmf_many
from .metrics import beta_divergence, explained_variance, relative_error
from .distributed import is_dask_array
from .nmf import nmf

__all__ = ["select_rank", "RankSelection"]


@dataclass
class RankSelection:
    """What :func:`select_rank` returns.

    Attributes
    ----------
    table : list of dict
        One row per rank: "rank", "loss" (objective of a fit on all the data), "relative_error",
        "explained_variance", "cv_error" and "cv_error_std" (mean and standard deviation over
        folds of the held-out error, the root mean squared error for β = 2 and the mean
        β-divergence per hidden entry otherwise), and with ``n_runs > 0`` "cophenetic" and
        "dispersion" of the consensus matrix.
    suggested_rank : int
    rule : str
        How ``suggested_rank`` was chosen.
    """

    table: list
    suggested_rank: int
    rule: str

    def column(self, name):
        """One column of the table as an array (e.g. ``res.column("cv_error")``)."""
        return np.array([row[name] for row in self.table])


def _folds(shape, n_folds, rng):
    """An (m, n) array of fold numbers 0..n_folds−1, each entry's fold drawn at random with
    equal group sizes."""
    size = shape[0] * shape[1]
    fold = np.arange(size) % n_folds
    rng.shuffle(fold)
    return fold.reshape(shape)


CV_TOL = {2.0: 1e-4, "other": 1e-3}
"""The fits' default ``tol`` with ``stop="relative"`` (a decrease of the objective over 10
iterations of at most ``tol`` times the objective itself, whatever the start): 1e-4 for
β = 2, 1e-3 for other β, whose multiplicative updates converge more slowly (the README
has the measurements)."""
CV_MAX_ITER = 2000
"""The fits' default ``max_iter``: room to converge (the rule above ends them first)."""


def select_rank(X, ranks, *, n_folds=5, n_runs=0, beta_loss="frobenius", random_state=None,
                stop_after=None, **nmf_kwargs):
    """Score each rank in ``ranks`` and suggest one.

    Parameters
    ----------
    X : array-like or scipy.sparse (n_samples, n_features)
    ranks : iterable of int
        Scored in increasing order; the table has one row per distinct rank.
    n_folds : int
        Cross-validation folds (each hides 1/n_folds of the entries).  The fold assignment is an
        m×n array of small integers and each fold's mask an m×n boolean array, so sparse X
        costs (n_folds + 1)·m·n bytes here (X itself is never
        densified: the held-out values and the model are read at the hidden entries only).
    n_runs : int
        Restarts per rank for the consensus measures (cophenetic, dispersion); 0 skips them.
    stop_after : int or None
        Stop scoring ranks once the mean held-out error has not improved for this many
        consecutive ranks (the minimum is then bracketed); None scores every rank.
        ``nmf(X, "auto")`` uses 2.
    beta_loss, random_state, **nmf_kwargs
        Passed to every :func:`nmf` fit.  Unless given, the fits run until they converge:
        ``stop="relative"``, ``tol=1e-4`` for β = 2 and 1e-3 otherwise (:data:`CV_TOL`),
        ``max_iter=2000``, and for β = 2 ``solver="hals"``.  Without ``init`` each fit starts from the fit of the next smaller
        rank on the same data (all of X, or the same fold's entries), with the new
        components drawn at random; the smallest rank from ``init="random"`` with a seed
        drawn from ``random_state``.  A given ``init`` starts every fit.

    Returns
    -------
    RankSelection
        ``suggested_rank`` is the rank with the lowest mean held-out error.

    Notes
    -----
    Fits stopped early, far from convergence, keep lowering the held-out error past the true
    rank (an underfitted model of the right rank loses to a larger one): converged fits are
    what make the minimum meaningful.  Starting each rank from the one below keeps that
    affordable, and never shows a fold's fit the entries it hides.  Fits that end on
    ``max_iter`` give one ConvergenceWarning for the call.
    """
    X = _validation.check_data(X)
    ranks = sorted({int(r) for r in ranks})
    if not ranks or ranks[0] < 1:
        raise ValueError(f"ranks must be a non-empty list of integers >= 1, got {ranks}.")
    n_folds = _validation.check_int(n_folds, "n_folds", 2)
    n_runs = _validation.check_int(n_runs, "n_runs", 0)
    if stop_after is not None:
        stop_after = _validation.check_int(stop_after, "stop_after", 1)
    for key in ("mask", "n_components"):
        if key in nmf_kwargs:
            raise ValueError(f"select_rank sets {key} itself; do not pass it.")
    beta = _validation.check_beta_loss(beta_loss)
    rng = as_rng(random_state)
    folds = _folds(X.shape, n_folds, rng)
    kw = dict(nmf_kwargs, beta_loss=beta)
    tol = CV_TOL[2.0] if beta == 2 else CV_TOL["other"]
    for key, value in (("stop", "relative"), ("tol", tol), ("max_iter", CV_MAX_ITER)):
        kw.setdefault(key, value)
    if beta == 2:
        kw.setdefault("solver", "hals")
    warm = "init" not in kw
    seed = int(draw_seeds(rng, 1)[0])
    observed = [folds != f for f in range(n_folds)]  # fold f hides the entries folds == f
    fold_fits = [None] * n_folds  # each fold's fit at the last rank
    full, table, at_max_iter = None, [], 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", convergence_warning())  # one summary below
        for rank in ranks:
            # the fit on all entries and one per fold, side by side (nmf_many)
            starts = [_start(kw, warm, previous, rank, X, seed + f)
                      for f, previous in enumerate([full] + fold_fits)]
            fits = nmf_many([X] * (n_folds + 1), rank, mask=[None] + observed,
                            random_state=seed, **dict(kw, init=[s["init"] for s in starts]))
            full, *fold_fits = fits.results
            at_max_iter += sum(fit.stop_reason == "max_iter" for fit in fits.results)
            row = {
                "rank": rank,
                "loss": full.loss,
                "relative_error": relative_error(X, full),
                "explained_variance": explained_variance(X, full),
            }
            errors = [_held_out_error(X, fit, folds == f, beta)
                      for f, fit in enumerate(fold_fits)]
            row["cv_error"] = float(np.mean(errors))
            row["cv_error_std"] = float(np.std(errors))
            if n_runs:
                cons = consensus(X, rank, n_runs=n_runs, random_state=seed,
                                 beta_loss=beta, **{k: v for k, v in nmf_kwargs.items()
                                                    if k != "init"})
                row["cophenetic"] = cons.cophenetic
                row["dispersion"] = cons.dispersion
            table.append(row)
            best_row = min(range(len(table)), key=lambda i: table[i]["cv_error"])
            if stop_after is not None and len(table) - 1 - best_row >= stop_after:
                break  # the minimum is bracketed
    if at_max_iter and kw["tol"] > 0:
        warnings.warn(f"{at_max_iter} of {len(table) * (n_folds + 1)} fits reached "
                      f"max_iter={kw['max_iter']} before converging (tol={kw['tol']:g}); "
                      "their errors may be too high. Increase max_iter to silence this.",
                      convergence_warning(), stacklevel=2)
    best = min(table, key=lambda r: r["cv_error"])
    rule = (f"lowest mean held-out error over {n_folds} folds of randomly hidden entries "
            "(Wold-style cross-validation)")
    return RankSelection(table, best["rank"], rule)


def _start(kw, warm, previous, rank, X, seed):
    """The keyword arguments of a fit at ``rank``: ``kw``, with its start from ``previous``
    (the fit at a smaller rank on the same entries) and new components drawn from ``seed``
    when warm-starting, else ``init="random"`` or the caller's ``init``."""
    if not warm:
        return kw
    if previous is None:
        return dict(kw, init="random")
    new = rank - previous.W.shape[1]
    rng = np.random.default_rng(seed)
    scale = np.sqrt(max(float(X.sum()) / (X.shape[0] * X.shape[1]), 0.0) / rank)
    W0 = np.hstack([previous.W_scaled, scale * rng.random((X.shape[0], new))])  # the model's
    H0 = np.vstack([previous.H, scale * rng.random((new, X.shape[1]))])
    return dict(kw, init=(W0.astype(previous.W.dtype), H0.astype(previous.H.dtype)))


def _held_out_error(X, fit, hidden, beta):
    """RMSE (β = 2) or mean β-divergence per entry of the fit's model on the hidden entries,
    evaluated there only."""
    rows, cols = np.nonzero(hidden)
    values = np.asarray(X[rows, cols], dtype=np.float64).ravel()
    model = np.einsum("ik,ik->i", fit.W_smoothed[rows], fit.H.T[cols])
    if beta == 2:
        return float(np.sqrt(np.mean((model - values) ** 2)))
    pattern = sp.csr_matrix((np.ones(rows.size, dtype=bool), (rows, cols)), shape=X.shape)
    held_out = sp.csr_matrix((values, (rows, cols)), shape=X.shape)
    return beta_divergence(held_out, fit, beta_loss=beta, mask=pattern) / rows.size


def auto_rank(X, max_components, **options):
    """``nmf(X, "auto", ...)``: the rank by :func:`select_rank`, then the fit (registered
    with :mod:`nmf_numba.nmf` below)."""
    if options.get("weights") is not None or options.get("sample_weight") is not None:
        raise ValueError("n_components='auto' does not support weights or sample_weight yet "
                         "(its cross-validation scores unweighted held-out entries); pass an "
                         "int.")
    if is_dask_array(X) or options["mask"] is not None or options["missing"] != "zero":
        raise ValueError("n_components='auto' needs X in memory without missing values (its "
                         "cross-validation hides entries itself); pass an int.")
    if options["graph"] is not None or options["smoothness"]:
        raise ValueError("n_components='auto' does not support graph or smoothness yet; "
                         "pass an int (nmf_numba.select_rank scores ranks).")
    X = _validation.check_data(X)
    limit = min(X.shape) if max_components is None else _validation.check_int(
        max_components, "max_components", 1)
    scoring = {key: options[key] for key in ("alpha_W", "alpha_H", "l1_ratio")}
    selection = select_rank(X, range(1, min(limit, min(X.shape)) + 1, 1),
                            beta_loss=options["beta_loss"],
                            random_state=options["random_state"], stop_after=2, **scoring)
    res = nmf(X, selection.suggested_rank, **options)
    res.rank_selection = selection
    return res


sys.modules[__package__ + ".nmf"].RANK_SEARCH[:] = [auto_rank]
