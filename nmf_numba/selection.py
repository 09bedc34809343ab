"""Choosing the rank: fit quality, consensus stability and cross-validation per rank.

The cross-validation is Wold's: the entries of X are split at random into ``n_folds`` groups;
for each fold one group is hidden (treated as missing, see ``nmf(mask=...)``), the model is fitted
on the rest and scored on the hidden entries.  Too small a rank underfits the hidden entries, too
large a rank fits the noise of the observed ones, so the held-out error has a minimum near the
true rank.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from . import _validation
from ._random import as_rng, draw_seeds
from .clustering import consensus
from .metrics import beta_divergence, explained_variance, relative_error
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


def select_rank(X, ranks, *, n_folds=5, n_runs=0, beta_loss="frobenius", random_state=None,
                **nmf_kwargs):
    """Score each rank in ``ranks`` and suggest one.

    Parameters
    ----------
    X : array-like or scipy.sparse (n_samples, n_features)
    ranks : iterable of int
    n_folds : int
        Cross-validation folds (each hides 1/n_folds of the entries).  The fold assignment is an
        m×n array of small integers, so sparse X costs m·n bytes here (X itself is never
        densified: the held-out values and the model are read at the hidden entries only).
    n_runs : int
        Restarts per rank for the consensus measures (cophenetic, dispersion); 0 skips them.
    beta_loss, random_state, **nmf_kwargs
        Passed to every :func:`nmf` fit (``init`` defaults to "random" with seeds drawn from
        ``random_state``).

    Returns
    -------
    RankSelection
        ``suggested_rank`` is the rank with the lowest mean held-out error.
    """
    X = _validation.check_data(X)
    ranks = [int(r) for r in ranks]
    if not ranks or any(r < 1 for r in ranks):
        raise ValueError(f"ranks must be a non-empty list of integers >= 1, got {ranks}.")
    n_folds = _validation.check_int(n_folds, "n_folds", 2)
    n_runs = _validation.check_int(n_runs, "n_runs", 0)
    for key in ("mask", "n_components"):
        if key in nmf_kwargs:
            raise ValueError(f"select_rank sets {key} itself; do not pass it.")
    beta = _validation.check_beta_loss(beta_loss)
    rng = as_rng(random_state)
    folds = _folds(X.shape, n_folds, rng)
    kw = dict(nmf_kwargs, beta_loss=beta)
    kw.setdefault("init", "random")

    table = []
    for rank in ranks:
        seed = int(draw_seeds(rng, 1)[0])
        full = nmf(X, rank, random_state=seed, **kw)
        row = {
            "rank": rank,
            "loss": full.loss,
            "relative_error": relative_error(X, full),
            "explained_variance": explained_variance(X, full),
        }
        errors = []
        for f in range(n_folds):
            hidden = folds == f
            fit = nmf(X, rank, mask=~hidden, random_state=seed, **kw)
            errors.append(_held_out_error(X, fit, hidden, beta))
        row["cv_error"] = float(np.mean(errors))
        row["cv_error_std"] = float(np.std(errors))
        if n_runs:
            cons = consensus(X, rank, n_runs=n_runs, random_state=seed,
                             **{k: v for k, v in kw.items() if k != "init"})
            row["cophenetic"] = cons.cophenetic
            row["dispersion"] = cons.dispersion
        table.append(row)
    best = min(table, key=lambda r: r["cv_error"])
    rule = (f"lowest mean held-out error over {n_folds} folds of randomly hidden entries "
            "(Wold-style cross-validation)")
    return RankSelection(table, best["rank"], rule)


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
