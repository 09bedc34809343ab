"""Regularised variants (issue 4): elastic net, graph-regularised NMF (GNMF), nsNMF."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.decomposition import non_negative_factorization
from sklearn.exceptions import ConvergenceWarning

import nmf_numba as nn
from nmf_numba.kernels.graph import hals_graph_sweep

from . import reference as ref
from .conftest import make_data, make_factors

PENALTIES = [(0.01, "same", 0.5), (0.05, 0.01, 1.0), (0.02, 0.0, 0.0)]


def _full_objective(X, W, H, beta, alpha_W, alpha_H, l1_ratio):
    m, n = X.shape
    alpha_H = alpha_W if alpha_H == "same" else alpha_H
    return (
        ref.beta_divergence(X, W, H, beta)
        + ref.penalty(W, alpha_W * l1_ratio * n, alpha_W * (1 - l1_ratio) * n)
        + ref.penalty(H, alpha_H * l1_ratio * m, alpha_H * (1 - l1_ratio) * m)
    )


def _chain_graph(m, weight=1.0):
    """A path graph 0 – 1 – … – m−1 plus one long edge, as CSR."""
    rows = np.r_[np.arange(m - 1), 0]
    cols = np.r_[np.arange(1, m), m - 1]
    A = sp.coo_matrix((np.full(rows.size, weight), (rows, cols)), shape=(m, m))
    return (A + A.T).tocsr()


# ------------------------------------------------------------------ elastic net


@pytest.mark.parametrize("penalties", PENALTIES)
@pytest.mark.parametrize("solver,beta", [("cd", 2.0), ("mu", 2.0), ("mu", 1.0), ("mu", 0.5),
                                         ("mu", 1.5), ("mu", 3.0)])
def test_elastic_net_matches_sklearn(solver, beta, penalties, fmt):
    alpha_W, alpha_H, l1_ratio = penalties
    X = make_data(30, 20, fmt=fmt, seed=4)
    W0, H0 = make_factors(30, 20, 4)
    kw = dict(alpha_W=alpha_W, alpha_H=alpha_H, l1_ratio=l1_ratio)
    res = nn.nmf(X, 4, solver=solver, beta_loss=beta, init=(W0, H0), max_iter=20, tol=0,
                 accelerate=False, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        W, H, _ = non_negative_factorization(
            X, W0.copy(), H0.copy(), n_components=4, init="custom", solver=solver,
            beta_loss=beta, max_iter=20, tol=0, **kw)
    expected = _full_objective(X, W, H, beta, alpha_W, alpha_H, l1_ratio)
    assert res.loss == pytest.approx(expected, rel=1e-6)
    assert res.data_loss == pytest.approx(ref.beta_divergence(X, W, H, beta), rel=1e-6)
    assert res.loss == pytest.approx(
        _full_objective(X, res.W, res.H, beta, alpha_W, alpha_H, l1_ratio), rel=1e-9)


def test_l1_sparsity_grows_with_alpha():
    rng = np.random.default_rng(0)
    X = rng.random((60, 5)) @ rng.random((5, 40)) + 0.1 * rng.random((60, 40))
    zeros, hoyer = [], []
    for alpha in (0.0, 0.01, 0.1, 1.0):
        res = nn.nmf(X, 5, solver="cd", init="nndsvda", alpha_W=alpha, l1_ratio=1.0,
                     max_iter=500, tol=1e-6)
        zeros.append(np.mean(np.r_[res.W.ravel(), res.H.ravel()] == 0))
        hoyer.append(nn.metrics.hoyer_sparsity(res.W) + nn.metrics.hoyer_sparsity(res.H, axis=1))
    assert np.all(np.diff(zeros) > 0), zeros
    assert np.all(np.diff(hoyer) > 0), hoyer


# ------------------------------------------------------------------ objective never increases

VARIANTS = {
    "elastic-net": dict(alpha_W=0.02, alpha_H=0.01, l1_ratio=0.4),
    "graph": dict(graph=_chain_graph(24), graph_reg=0.5),
    "smooth": dict(smoothness=0.5),
    "all": dict(alpha_W=0.01, l1_ratio=0.5, graph=_chain_graph(24), graph_reg=0.3, smoothness=0.3),
}
SOLVERS = {
    "elastic-net": [("cd", 2.0), ("hals", 2.0), ("anls", 2.0), ("pgd", 2.0), ("mu", 2.0),
                    ("mu", 1.0), ("mu", 0.5), ("newton-cd", 1.0)],
    "graph": [("cd", 2.0), ("hals", 2.0), ("mu", 2.0), ("mu", 1.0)],
    "smooth": [("cd", 2.0), ("hals", 2.0), ("anls", 2.0), ("mu", 2.0), ("mu", 1.0),
               ("newton-cd", 1.0)],
    "all": [("cd", 2.0), ("hals", 2.0), ("mu", 2.0), ("mu", 1.0)],
}
MONOTONE = [(v, s, b) for v in VARIANTS for s, b in SOLVERS[v]]


@pytest.mark.parametrize("variant,solver,beta", MONOTONE)
def test_full_objective_never_increases_and_dense_equals_csr(variant, solver, beta):
    # every entry stored: hals's sweep count depends on the stored-entry count (tests/test_hals.py)
    X = make_data(24, 18, seed=7, positive=True)
    W0, H0 = make_factors(24, 18, 3)
    kw = dict(VARIANTS[variant], solver=solver, beta_loss=beta, init=(W0, H0), max_iter=40, tol=0,
              accelerate=False)
    res = nn.nmf(X, 3, **kw)
    f = res.history["objective"]
    # a GNMF fit (without nsNMF) rescales its factors after every iteration (unit-norm rows of
    # H, as Cai et al. normalise the basis): the data term keeps, the graph term may rise a
    # little, so the objective falls overall with small steps back
    balanced = variant == "graph"
    assert np.all(np.diff(f) <= (1e-4 if balanced else 1e-10) * f[0]), np.diff(f)
    assert f[-1] < f[1] < f[0]
    assert np.all(res.W >= 0) and np.all(res.H >= 0)
    rs = nn.nmf(sp.csr_matrix(X), 3, **kw)
    np.testing.assert_allclose(rs.W, res.W, rtol=1e-8, atol=1e-10)
    assert rs.loss == pytest.approx(res.loss, rel=1e-9)


@pytest.mark.parametrize("variant", ["graph", "smooth"])
def test_full_objective_is_what_the_result_reports(variant):
    X = make_data(24, 18, seed=8)
    res = nn.nmf(X, 3, init="nndsvda", max_iter=15, tol=0, **VARIANTS[variant])
    expected = ref.beta_divergence(X, res.W_smoothed, res.H, 2.0)
    if variant == "graph":
        expected += ref.graph_penalty(VARIANTS["graph"]["graph"], res.W, 0.5, 2.0)
    assert res.loss == pytest.approx(expected, rel=1e-9)
    assert res.history["objective"][-1] == pytest.approx(expected, rel=1e-7)


# ------------------------------------------------------------------ GNMF


@pytest.mark.parametrize("beta", [2.0, 1.0])
def test_graph_penalty_matches_reference(beta):
    from nmf_numba.solvers._common import Graph

    S = _chain_graph(12, weight=0.7)
    S = S.tolil()
    S[3, 5] = S[5, 3] = 2.0
    S = S.tocsr()
    W = make_factors(12, 4, 3)[0]
    W[2, 1] = 0.0
    graph = Graph(S, np.asarray(S.sum(axis=1)).ravel(), 1.3, beta)
    assert graph.value(W) == pytest.approx(ref.graph_penalty(S, W, 1.3, beta), rel=1e-10)


def test_graph_sweep_matches_reference():
    rng = np.random.default_rng(0)
    m, k = 15, 3
    S = sp.random(m, m, density=0.3, random_state=1, format="csr")
    S = (S + S.T).tocsr()  # a self-loop on the diagonal is allowed
    A, B = rng.random((m, k)), rng.random((10, k))
    G, XB = B.T @ B, rng.random((m, 10)) @ B
    expected = ref.hals_graph_sweep(A, G, XB, S, 0.8)
    got = A.copy()
    degrees = np.asarray(S.sum(axis=1)).ravel()
    moved = hals_graph_sweep(got, G, XB, S.data, S.indices, S.indptr, degrees, 0.8)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert moved == pytest.approx(np.sum((expected - A) ** 2), rel=1e-12)


def test_graph_reg_zero_is_plain_nmf_and_graph_needs_reg():
    X = make_data(20, 10)
    kw = dict(init="nndsvda", random_state=0, max_iter=10, tol=0)
    plain = nn.nmf(X, 3, **kw)
    same = nn.nmf(X, 3, graph=_chain_graph(20), graph_reg=0, **kw)
    np.testing.assert_array_equal(plain.W, same.W)
    with pytest.raises(ValueError, match="graph_reg > 0 needs a graph"):
        nn.nmf(X, 3, graph_reg=1.0)


def test_dense_graph_equals_sparse_graph():
    X = make_data(20, 10)
    S = _chain_graph(20)
    kw = dict(init="nndsvda", random_state=0, max_iter=10, tol=0, graph_reg=0.4)
    a = nn.nmf(X, 3, graph=S, **kw)
    b = nn.nmf(X, 3, graph=S.toarray(), **kw)
    np.testing.assert_array_equal(a.W, b.W)


@pytest.mark.parametrize("graph,match", [
    (np.ones((5, 5)), r"graph must be a square \(n_samples, n_samples\) = \(20, 20\)"),
    (-_chain_graph(20), "graph must be non-negative"),
    (sp.triu(_chain_graph(20)).tocsr(), "graph must be symmetric"),
    (np.full((20, 20), np.nan), "graph contains NaN"),
])
def test_graph_validation(graph, match):
    with pytest.raises(ValueError, match=match):
        nn.nmf(make_data(20, 10), 3, graph=graph, graph_reg=1.0)


@pytest.mark.parametrize("solver,beta", [("anls", 2.0), ("pgd", 2.0), ("newton-cd", 1.0),
                                         ("mu", 0.5)])
def test_graph_unsupported_solvers(solver, beta):
    with pytest.raises(ValueError, match="does not support a graph penalty"):
        nn.nmf(make_data(20, 10), 3, solver=solver, beta_loss=beta, graph=_chain_graph(20),
               graph_reg=1.0)


def test_graph_auto_solver():
    X = make_data(20, 10)
    kw = dict(graph=_chain_graph(20), graph_reg=1.0, max_iter=5, tol=0)
    assert nn.nmf(X, 3, **kw).solver == "hals"
    assert nn.nmf(X, 3, beta_loss=1, **kw).solver == "mu"


# ------------------------------------------------------------------ nsNMF


def test_smoothness_zero_is_plain_nmf_and_result_exposes_S():
    X = make_data(20, 10)
    plain = nn.nmf(X, 3, init="nndsvda", random_state=0, max_iter=10, tol=0)
    zero = nn.nmf(X, 3, init="nndsvda", random_state=0, max_iter=10, tol=0, smoothness=0.0)
    np.testing.assert_array_equal(plain.W, zero.W)
    np.testing.assert_array_equal(zero.S, np.eye(3))
    res = nn.nmf(X, 3, init="nndsvda", random_state=0, max_iter=10, tol=0, smoothness=0.6)
    np.testing.assert_allclose(res.S, 0.4 * np.eye(3) + 0.2)
    np.testing.assert_allclose(res.reconstruct(), res.W @ res.S @ res.H)
    assert nn.metrics.relative_error(X, res) == pytest.approx(
        ref.relative_error(X, res.W @ res.S, res.H), rel=1e-10)
    assert nn.metrics.beta_divergence(X, res) == pytest.approx(res.data_loss, rel=1e-10)


@pytest.mark.parametrize("theta", [-0.1, 1.0, np.nan])
def test_smoothness_validation(theta):
    with pytest.raises((ValueError, TypeError), match="smoothness"):
        nn.nmf(make_data(20, 10), 3, smoothness=theta)


def test_nsnmf_sparsity_grows_with_theta_on_digits():
    from sklearn.datasets import load_digits

    X = load_digits().data
    hoyer_H, hoyer_W = [], []
    for theta in (0.0, 0.3, 0.6, 0.9):
        res = nn.nmf(X, 16, solver="hals", smoothness=theta, init="random", random_state=0,
                     max_iter=300, tol=0)
        hoyer_H.append(nn.metrics.hoyer_sparsity(res.H, axis=1))
        hoyer_W.append(nn.metrics.hoyer_sparsity(res.W, axis=0))
    assert np.all(np.diff(hoyer_H) > 0), hoyer_H
    assert np.all(np.diff(hoyer_W) > 0), hoyer_W


@pytest.mark.slow
def test_gnmf_clusters_digits_better_than_plain_nmf():
    """GNMF on scikit-learn's digits (k = 10, 5-NN binary graph on unit-norm samples), clusters
    = argmax over the rows of W with W's columns scaled to unit norm (a GNMF fit keeps its
    basis, the rows of H, at unit norm, so W's columns carry the components' magnitudes),
    5 seeds, mu 500 iterations."""
    from sklearn.datasets import load_digits
    from sklearn.metrics import normalized_mutual_info_score

    X, y = load_digits(return_X_y=True)
    X = X / np.linalg.norm(X, axis=1, keepdims=True)
    graph = nn.knn_graph(X, n_neighbors=5, weight="binary")
    scores = {0.0: [], 300.0: []}
    for seed in range(5):
        for lam in scores:
            res = nn.nmf(X, 10, solver="mu", graph=graph if lam else None, graph_reg=lam,
                         init="random", random_state=seed, max_iter=500, tol=1e-5)
            labels = (res.W / np.linalg.norm(res.W, axis=0)).argmax(axis=1)
            scores[lam].append((nn.metrics.clustering_accuracy(y, labels),
                                normalized_mutual_info_score(y, labels)))
    plain, gnmf = np.mean(scores[0.0], axis=0), np.mean(scores[300.0], axis=0)
    assert gnmf[0] > plain[0] + 0.05 and gnmf[1] > plain[1] + 0.1, (plain, gnmf)


def test_clustering_accuracy():
    from nmf_numba.metrics import clustering_accuracy

    assert clustering_accuracy([0, 0, 1, 1, 2], [5, 5, 3, 3, 3]) == pytest.approx(4 / 5)
    assert clustering_accuracy(["a", "b"], [1, 0]) == 1.0
    assert clustering_accuracy([0, 0, 0], [0, 1, 2]) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="same length"):
        clustering_accuracy([0, 1], [0])
