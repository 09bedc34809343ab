"""select_rank: cross-validation by hidden entries, consensus measures, the table (issue 5)."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import nmf_numba as nn
from nmf_numba import _compiled
from nmf_numba import selection


def _planted(r, seed, m=200, n=150, noise=0.1):
    rng = np.random.default_rng(seed)
    T = rng.random((m, r)) @ rng.random((r, n))
    return np.maximum(T + noise * T.std() * rng.standard_normal(T.shape), 0)


def test_select_rank_table_and_suggestion():
    X = _planted(3, 0, m=80, n=60)
    res = nn.select_rank(X, [2, 3, 4, 5], n_folds=3, n_runs=3, random_state=0, solver="hals",
                         max_iter=200, tol=1e-6)
    assert res.column("rank").tolist() == [2, 3, 4, 5]
    for key in ("loss", "relative_error", "explained_variance", "cv_error", "cv_error_std",
                "cophenetic", "dispersion"):
        assert np.all(np.isfinite(res.column(key))), key
    assert np.all(np.diff(res.column("loss")) < 0)  # more components fit the data better
    assert res.suggested_rank == 3
    assert "held-out" in res.rule


def test_select_rank_kl_and_errors():
    X = _planted(2, 1, m=40, n=30)
    res = nn.select_rank(X, [1, 2, 3], n_folds=2, beta_loss="kullback-leibler",
                         random_state=0, max_iter=100, tol=1e-6)
    assert res.suggested_rank in (2, 3) and np.all(res.column("cv_error") > 0)
    with pytest.raises(ValueError, match="ranks must be a non-empty list"):
        nn.select_rank(X, [])
    with pytest.raises(ValueError, match="select_rank sets mask itself"):
        nn.select_rank(X, [2], mask=np.ones(X.shape, bool))


def _grid_case(m, n, r, noise, seed):
    """The issue's planted data: ``clip(T + noise·mean(T)·N(0, 1), 0)`` with ``T`` of rank r."""
    rng = np.random.default_rng(seed)
    T = rng.random((m, r)) @ rng.random((r, n))
    return np.clip(T + noise * T.mean() * rng.standard_normal(T.shape), 0, None)


@pytest.mark.parametrize("r, noise", [(2, 0.05), (3, 0.05), (3, 0.2)])
def test_the_default_call_finds_the_planted_rank(r, noise):
    """Defaults only (no tol, solver or folds): the fast version of the issue's grid.  With
    the fits stopped early (the old defaults) the 5 % cells picked a larger rank."""
    X = _grid_case(60, 40, r, noise, seed=10 + r)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # the defaults converge here
        res = nn.select_rank(X, range(2, 2 * r + 2), random_state=0)
    assert res.suggested_rank == r
    cv = res.column("cv_error")
    assert cv[r - 2] < cv[r - 1]  # a real minimum, not a tie with the next rank


def test_each_rank_starts_from_the_one_below_on_the_same_entries(monkeypatch):
    X = _grid_case(30, 20, 2, 0.1, seed=1)
    calls = []
    many = nn.nmf_many

    def spy(Xs, k, **kw):  # one call per rank: all of X, then the folds
        calls.extend((k, mask, init) for mask, init in zip(kw["mask"], kw["init"]))
        return many(Xs, k, **kw)

    monkeypatch.setattr(selection, "nmf_many", spy)
    nn.select_rank(X, [4, 2, 3], n_folds=2, random_state=0)
    assert [k for k, _, _ in calls] == [2, 2, 2, 3, 3, 3, 4, 4, 4]  # increasing ranks
    for k, mask, init in calls[:3]:
        assert init == "random"
    for i, (k, mask, init) in enumerate(calls[3:], start=3):
        before_k, before_mask, _ = calls[i - 3]  # the same data one rank below
        assert (mask is None) == (before_mask is None)
        if mask is not None:
            np.testing.assert_array_equal(mask, before_mask)  # never the hidden entries
        W0, H0 = init
        assert W0.shape == (X.shape[0], k) and H0.shape == (k, X.shape[1])
    # a given init starts every fit
    calls.clear()
    nn.select_rank(X, [2, 3], n_folds=2, random_state=0, init="nndsvda")
    assert [init for _, _, init in calls] == ["nndsvda"] * 6


def test_the_folds_run_side_by_side_with_the_sequential_result(monkeypatch):
    """Each rank's fits (all of X and the folds, missing values included) go to the batched
    engine together, and the table is the one the fits give one after another."""
    X = _grid_case(40, 30, 3, 0.1, seed=5)
    engine, problems = _compiled._iterate_many, []

    def spy(*args):
        problems.append(len(args[0]))
        return engine(*args)

    monkeypatch.setattr(_compiled, "_iterate_many", spy)
    together = nn.select_rank(X, [2, 3, 4], n_folds=3, random_state=0)
    assert sum(problems) >= 3 * 4 and max(problems) >= 3  # the folds, side by side
    monkeypatch.setattr(_compiled, "batchable", lambda fit: False)
    problems.clear()
    apart = nn.select_rank(X, [2, 3, 4], n_folds=3, random_state=0)
    assert problems == []
    assert together.table == apart.table


def test_one_warning_for_fits_that_did_not_converge():
    X = _grid_case(30, 20, 2, 0.1, seed=2)
    with pytest.warns(ConvergenceWarning, match="of 6 fits reached max_iter=3") as record:
        nn.select_rank(X, [2, 3], n_folds=2, random_state=0, max_iter=3)
    assert len([w for w in record if issubclass(w.category, ConvergenceWarning)]) == 1


@pytest.mark.slow
@pytest.mark.parametrize("m, n", [(200, 150), (1000, 500)])
def test_the_default_call_on_the_issues_grid(m, n):
    """Issue 20's grid with the defaults: planted rank 3, 5, 8 × noise 5, 10, 20 % of the
    mean, ranks 2 … 2r + 1."""
    hits = 0
    for r in (3, 5, 8):
        for noise in (0.05, 0.10, 0.20):
            X = _grid_case(m, n, r, noise, seed=100 + r)
            hits += nn.select_rank(X, range(2, 2 * r + 2), random_state=0).suggested_rank == r
    assert hits >= 8


@pytest.mark.slow
def test_the_default_call_on_poisson_counts():
    """KL on Poisson counts: W, H ~ Gamma(0.5, 1), X ~ Poisson(10·W H), ranks 3, 5, 8 × 3 seeds."""
    hits = 0
    for r in (3, 5, 8):
        for seed in range(3):
            rng = np.random.default_rng(seed)
            W, H = rng.gamma(0.5, 1, (200, r)), rng.gamma(0.5, 1, (r, 150))
            X = rng.poisson(10 * W @ H).astype(float)
            res = nn.select_rank(X, range(2, 2 * r + 2), beta_loss="kullback-leibler",
                                 random_state=0)
            hits += res.suggested_rank == r
    assert hits >= 8


@pytest.mark.parametrize("r, seed", [(2, 3), (4, 5)])
def test_auto_n_components_finds_the_planted_rank(r, seed):
    X = _grid_case(60, 40, r, 0.05, seed=seed)
    res = nn.nmf(X, "auto", random_state=0)
    assert res.W.shape == (60, r) and res.H.shape == (r, 40)
    table = res.rank_selection
    assert table.suggested_rank == r
    scored = table.column("rank").tolist()
    assert scored == list(range(1, r + 3))  # bracketed: two ranks past the minimum, no more
    # the returned fit is the plain call at that rank
    plain = nn.nmf(X, r, random_state=0)
    np.testing.assert_array_equal(res.W, plain.W)
    assert nn.nmf(X, r).rank_selection is None


def test_auto_n_components_limits_and_refusals():
    X = _grid_case(40, 30, 3, 0.05, seed=7)
    res = nn.nmf(X, "auto", max_components=2, random_state=0)
    assert res.rank_selection.column("rank").tolist() == [1, 2] and res.W.shape[1] == 2
    with pytest.raises(ValueError, match="max_components goes with n_components='auto'"):
        nn.nmf(X, 3, max_components=4)
    with pytest.raises(ValueError, match="without missing values"):
        nn.nmf(X, "auto", mask=np.ones(X.shape, bool))
    with pytest.raises(ValueError, match="graph or smoothness"):
        nn.nmf(X, "auto", smoothness=0.2)
    with pytest.raises(ValueError, match="nmf_many takes an int"):
        nn.nmf_many(np.stack([X, X]), "auto")


def test_stop_after_brackets_the_minimum():
    X = _grid_case(40, 30, 2, 0.05, seed=8)
    full = nn.select_rank(X, range(1, 7), n_folds=2, random_state=0)
    short = nn.select_rank(X, range(1, 7), n_folds=2, random_state=0, stop_after=2)
    assert short.suggested_rank == full.suggested_rank == 2
    assert short.column("rank").tolist() == [1, 2, 3, 4]
    np.testing.assert_array_equal(short.column("cv_error"), full.column("cv_error")[:4])


def test_the_estimator_searches_the_rank():
    """``NMF(n_components="search")``: the rank of ``nmf(X, "auto")`` with the estimator's own
    settings, the table in ``rank_selection_``; scikit-learn's "auto" keeps its meaning."""
    from nmf_numba import NMF

    X = _grid_case(60, 40, 3, 0.05, seed=11)
    est = NMF(n_components="search", random_state=0, max_iter=400)
    W = est.fit_transform(X)
    assert est.n_components_ == 3 == W.shape[1] == est.components_.shape[0]
    assert est.rank_selection_.suggested_rank == 3
    assert est.rank_selection_.column("rank").tolist() == [1, 2, 3, 4, 5]
    assert est.transform(X).shape == (60, 3)
    limited = NMF(n_components="search", max_components=2, random_state=0).fit(X)
    assert limited.n_components_ == 2
    assert NMF(random_state=0).fit(X).n_components_ == 40  # scikit-learn's "auto": n_features
    assert NMF(2, random_state=0).fit(X).rank_selection_ is None
    with pytest.raises(ValueError, match="max_components goes with n_components='search'"):
        NMF(3, max_components=4).fit(X)
    with pytest.raises(ValueError, match="init='custom' fixes it"):
        NMF(n_components="search", init="custom").fit(X, W=W, H=est.components_)
