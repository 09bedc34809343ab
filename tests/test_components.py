"""consensus_components (cNMF, Kotliar et al. 2019): planted programs are recovered at the
defaults, the rank is readable from stability and error, dense = CSR, float32, validation,
one warning, the density filter, the figures."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment
from sklearn.exceptions import ConvergenceWarning

import nmf_numba as nn
from nmf_numba import components as cc
from nmf_numba.many import nmf_many

from .conftest import make_data

PLANTED_K = 4


def planted(k=PLANTED_K, m=120, n=60, noise=0.1, seed=0):
    """X = W H + noise with k programs of disjoint supports (Gamma weights, equal norms) and
    sparse usages W ~ Gamma(0.5, 1) (columns of equal norm); noise 10 % of the mean."""
    rng = np.random.default_rng(seed)
    H = np.zeros((k, n))
    for i, block in enumerate(np.array_split(rng.permutation(n), k)):
        H[i, block] = rng.gamma(2.0, 1.0, block.size)
    H /= np.linalg.norm(H, axis=1, keepdims=True)
    W = rng.gamma(0.5, 1.0, (m, k))
    W /= np.linalg.norm(W, axis=0, keepdims=True)
    T = W @ H
    return np.clip(T + noise * T.mean() * rng.standard_normal(T.shape), 0, None), H


def matched_cosines(A, B):
    """Cosines of the rows of A and B paired by the optimal matching."""
    A = A / np.linalg.norm(A, axis=1, keepdims=True)
    B = B / np.linalg.norm(B, axis=1, keepdims=True)
    C = A @ B.T
    rows, cols = linear_sum_assignment(-C)
    return C[rows, cols]


@pytest.fixture(scope="module")
def sweep():
    X, H = planted()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return X, H, nn.consensus_components(X, range(2, 8), n_runs=20, random_state=0)


def test_planted_programs_are_recovered_at_the_defaults(sweep):
    X, H, result = sweep
    res = result[PLANTED_K]
    assert isinstance(res, nn.ComponentConsensus)
    assert res.H.shape == (PLANTED_K, X.shape[1]) and res.W.shape == (X.shape[0], PLANTED_K)
    assert matched_cosines(res.H, H).min() >= 0.95
    # the matching can fail: programs on other supports do not match
    wrong = np.roll(H, 7, axis=1)
    assert matched_cosines(res.H, wrong).min() < 0.95
    np.testing.assert_allclose(res.H.sum(axis=1), 1.0)  # unit sum, as cNMF
    assert np.all(res.H >= 0) and np.all(res.W >= 0)
    # the refit is transform's exact NNLS and the error is its relative error
    np.testing.assert_allclose(res.W, nn.transform(X, res.H), rtol=1e-10, atol=1e-12)
    assert res.error == pytest.approx(nn.metrics.relative_error(X, res.W, res.H))
    assert res.error_name == "relative_error" and res.error < 0.1


def test_the_rank_is_read_from_stability_and_error(sweep):
    """Above the planted rank the stability falls (replicates split a program in different
    ways) while the error no longer improves; up to it the error falls steeply.  Below the
    planted rank the replicates merge programs the same way every time, so the stability
    there can be as high as at the planted rank (seen on these data at k = 2): the rank is the
    largest k whose stability is still high, at the elbow of the error."""
    _, _, result = sweep
    assert result.ks == list(range(2, 8))
    ks, stability, error = (result.column(c) for c in ("k", "stability", "error"))
    at = ks == PLANTED_K
    assert stability[at][0] >= 0.95
    assert np.all(stability[ks > PLANTED_K] < 0.95)
    assert ks[stability >= 0.95].max() == PLANTED_K
    assert np.all(stability[ks > PLANTED_K] < stability[at][0])
    assert np.all(np.diff(stability[ks >= PLANTED_K]) < 0)  # falls with every extra rank
    assert error[ks == PLANTED_K - 1][0] > 3 * error[at][0]  # the elbow
    assert error[ks == ks.max()][0] > 0.9 * error[at][0]
    row = result.table[0]
    assert set(row) == {"k", "stability", "error", "n_kept"}
    assert [r.k for r in result] == result.ks and len(result) == 6


def test_pooled_components_labels_and_density(sweep):
    _, _, result = sweep
    res = result[PLANTED_K]
    n = res.n_runs * PLANTED_K
    assert res.components.shape == (n, 60) and res.labels.shape == (n,)
    np.testing.assert_allclose(np.linalg.norm(res.components, axis=1), 1.0)
    assert res.n_neighbors == int(0.3 * res.n_runs)
    np.testing.assert_array_equal(res.kept, res.labels >= 0)
    assert np.all(res.local_density[res.kept] < res.density_threshold)
    assert set(res.labels[res.kept]) == set(range(PLANTED_K))
    assert res.seeds.shape == (res.n_runs,) and res.losses.shape == (res.n_runs,)


def test_density_filter_drops_an_injected_outlier():
    X, _ = planted(seed=1)
    seeds = nn._random.draw_seeds(0, 12)
    runs = nmf_many([X] * 12, PLANTED_K, init="random", random_state=[int(s) for s in seeds],
                    **cc.FIT_DEFAULTS, tol=1e-4)
    outlier = np.random.default_rng(5).random(X.shape[1])
    runs.H[3][2] = outlier  # replicate 3's third component: a random direction
    index = 3 * PLANTED_K + 2
    beta = 2.0
    res = cc._consensus(X, PLANTED_K, runs, seeds, 0, 12, cc.DENSITY_THRESHOLD,
                        cc.LOCAL_NEIGHBORHOOD_SIZE, beta)
    assert res.labels[index] == -1 and not res.kept[index]
    assert res.local_density[index] > cc.DENSITY_THRESHOLD
    assert np.count_nonzero(~res.kept) == 1  # only the outlier
    everything = cc._consensus(X, PLANTED_K, runs, seeds, 0, 12, 2.5,
                               cc.LOCAL_NEIGHBORHOOD_SIZE, beta)
    assert everything.kept.all()  # unit vectors are at most 2 apart


def test_a_threshold_that_keeps_too_few_is_an_error():
    X, _ = planted()
    with pytest.raises(ValueError, match=r"keeps 0 of the 12 .* Raise density_threshold above"):
        nn.consensus_components(X, 3, n_runs=4, density_threshold=1e-12, random_state=0)


def test_dense_and_csr_agree_and_inputs_are_not_modified():
    X, _ = planted(k=3, m=40, n=24, noise=0.3, seed=3)  # the noise clips entries to zero
    assert 0.05 < np.mean(X == 0) < 0.5
    Xs = sp.csr_matrix(X)
    X0, data0 = X.copy(), Xs.data.copy()
    # the same iterations: "auto" picks hals for dense and cd for CSR, and on small problems
    # the compiled loop's dense and CSR cd/hals sweeps differ (mu's agree to rounding)
    options = {"init": "random", "solver": "mu", "tol": 0, "max_iter": 100}
    # at the planted rank: below or above it the replicates' problems are degenerate, and
    # rounding differences alone can send a replicate to another of its equal optima
    dense = nn.consensus_components(X, [3], n_runs=5, random_state=1, **options)
    sparse = nn.consensus_components(Xs, [3], n_runs=5, random_state=1, **options)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Xs.data, data0)
    assert options == {"init": "random", "solver": "mu", "tol": 0, "max_iter": 100}
    d, c = dense[3], sparse[3]
    # the same partition; k-means may number the clusters differently (n_init near-ties)
    np.testing.assert_array_equal(d.labels[:, None] == d.labels, c.labels[:, None] == c.labels)
    perm = np.array([c.labels[np.flatnonzero(d.labels == i)[0]] for i in range(3)])
    np.testing.assert_allclose(d.components, c.components, atol=1e-9)
    np.testing.assert_allclose(d.H, c.H[perm], rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(d.W, c.W[:, perm], rtol=1e-6, atol=1e-9)
    assert d.stability == pytest.approx(c.stability, rel=1e-7)
    assert d.error == pytest.approx(c.error, rel=1e-7)
    # at the defaults (different solvers) the same consensus, up to the order of the clusters
    dense, sparse = (nn.consensus_components(data, 3, n_runs=5, random_state=1)
                     for data in (X, Xs))
    assert matched_cosines(dense.H, sparse.H).min() > 0.9999
    assert dense.error == pytest.approx(sparse.error, rel=1e-4)


def test_float32_and_kl():
    X, H = planted(m=60, n=40)
    res = nn.consensus_components(X.astype(np.float32), PLANTED_K, n_runs=6, random_state=0)
    assert res.H.dtype == np.float32 and res.W.dtype == np.float32
    assert res.components.dtype == np.float32
    assert matched_cosines(res.H.astype(np.float64), H).min() >= 0.95
    kl = nn.consensus_components(X, PLANTED_K, n_runs=6, random_state=0,
                                 beta_loss="kullback-leibler")
    assert kl.error_name == "beta_divergence"
    assert kl.error == pytest.approx(nn.metrics.beta_divergence(X, kl.W, kl.H, beta_loss=1))


def test_same_seed_same_result_and_a_list_repeats_the_single_call():
    X = make_data(25, 15, seed=4, positive=True)
    one = nn.consensus_components(X, 3, n_runs=4, random_state=7)
    again = nn.consensus_components(X, 3, n_runs=4, random_state=7)
    both = nn.consensus_components(X, [2, 3], n_runs=4, random_state=7)
    for other in (again, both[3]):
        np.testing.assert_array_equal(one.H, other.H)
        np.testing.assert_array_equal(one.seeds, other.seeds)
    np.testing.assert_array_equal(one.seeds, nn._random.draw_seeds(7, 4))  # as consensus()
    run = nn.nmf(X, 3, init="random", random_state=int(one.seeds[1]), **cc.FIT_DEFAULTS,
                 tol=1e-4)
    np.testing.assert_allclose(one.components[3:6] * np.linalg.norm(run.H, axis=1)[:, None],
                               run.H, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"n_runs": 1}, ValueError, "n_runs == 1, must be >= 2"),
    ({"density_threshold": 0}, ValueError, "density_threshold == 0"),
    ({"density_threshold": float("nan")}, ValueError, "density_threshold == nan"),
    ({"local_neighborhood_size": 0}, ValueError, "local_neighborhood_size must be > 0"),
    ({"local_neighborhood_size": 1.5}, ValueError, "local_neighborhood_size"),
    ({"k": 0}, ValueError, "k == 0, must be >= 1"),
    ({"k": []}, ValueError, "k is an empty sequence"),
    ({"k": "3"}, TypeError, "k must be an int"),
    ({"k": [2, 0]}, ValueError, "k == 0"),
    ({"init": "nndsvda"}, ValueError, "init='random'.*Leave init out"),
    ({"mask": np.ones((10, 8), bool)}, ValueError, "does not take mask"),
    ({"n_init": 3}, ValueError, "does not take n_init"),
    ({"beta_loss": "bogus"}, ValueError, "beta_loss"),
    ({"random_state": "x"}, ValueError, "random_state must be"),
])
def test_bad_input_errors(kwargs, error, match):
    X = make_data(10, 8, positive=True)
    args = {"k": 2, "n_runs": 3, **kwargs}
    k = args.pop("k")
    with pytest.raises(error, match=match):
        nn.consensus_components(X, k, **args)


def test_negative_data_is_refused():
    with pytest.raises(ValueError, match="non-negative|negative"):
        nn.consensus_components(-np.ones((5, 4)), 2, n_runs=2)


def test_one_convergence_warning_for_the_call():
    X = make_data(20, 12, seed=2, positive=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nn.consensus_components(X, [2, 3], n_runs=4, random_state=0, max_iter=3)
    converge = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(converge) == 1
    assert str(converge[0].message).startswith("8 of 8 NMF replicates did not converge")


def test_figures(sweep):
    pytest.importorskip("matplotlib", reason="plots need the plot extra (matplotlib)")
    from matplotlib.figure import Figure

    from nmf_numba import plot

    _, _, result = sweep
    fig = plot.stability_error(result)
    assert isinstance(fig, Figure) and len(fig.axes) == 2  # the error on a twin axis
    left, right = fig.axes
    np.testing.assert_array_equal(left.lines[0].get_ydata(), result.column("stability"))
    np.testing.assert_array_equal(right.lines[0].get_ydata(), result.column("error"))
    res = result[PLANTED_K]
    fig = plot.component_clusters(res)
    n_kept = int(res.kept.sum())
    D = fig.axes[0].images[0].get_array()
    assert D.shape == (n_kept, n_kept)
    np.testing.assert_allclose(np.diag(D), 0.0, atol=1e-12)
    # ordered by cluster: within-cluster distances (diagonal blocks) are the small ones
    sizes = np.bincount(res.labels[res.kept])
    first = sizes[0]
    assert D[:first, :first].mean() < D[:first, first:].mean()
