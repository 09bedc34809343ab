"""Per-entry weights and per-row sample weights (issue 21 item 2): the observed-only operator
with a weights array, its kernels against tests/reference.py, and the fits built on them."""

import importlib

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import nnls

import nmf_numba as nn
from nmf_numba import _threads
from nmf_numba._data import Data, ObservedOp, weighted_entries
from nmf_numba.kernels import csr as csr_k
from nmf_numba.losses import EPSILON, divergence
from nmf_numba.nmf import _validate
from nmf_numba.solvers import mu

from . import reference as ref
from .conftest import make_data, make_factors, rtol_for


def _weights(m=20, n=14, seed=0, zeros=0.3):
    """Positive weights in [0.2, 3) with a share of exact zeros."""
    rng = np.random.default_rng(seed)
    Wt = rng.random((m, n)) * 2.8 + 0.2
    Wt[rng.random((m, n)) < zeros] = 0.0
    return Wt


def _op(X, Wt, dtype):
    """The weighted operator of X (dense or CSR; every entry counts with its weight)."""
    X_fit, w, observed_only = weighted_entries(X, None, Wt, None)
    assert observed_only and w is not None and w.dtype == dtype
    return Data(X_fit, observed_only=True, weights=w)


# ---------------------------------------------------------------- kernels against the twins

@pytest.mark.parametrize("beta", [2.0, 1.0, 0.5, 1.5, 0.0, 3.0])
def test_weighted_mu_products_match_reference(beta, fmt, dtype):
    X = make_data(20, 14, seed=1, fmt=fmt, positive=beta <= 0).astype(dtype)
    Wt = _weights()
    A, H = make_factors(20, 14, 3, dtype)
    B = np.ascontiguousarray(H.T)
    data = _op(X, Wt, dtype)
    for op, Xo, Wo, A_, B_ in ((data.X_op, X, Wt, A, B), (data.Xt_op, X.T, Wt.T, B, A)):
        if beta == 2:
            system = op.normal_equations(B_)
            num, den = system.XB, system.model_times(A_)
        else:
            num, den = op.mu_products(A_, B_, beta, EPSILON)
        num_ref, den_ref = ref.weighted_mu_products(Xo, Wo, A_, B_, beta)
        rtol = rtol_for(dtype) * (10 if beta in (0.0, 3.0) else 1)
        np.testing.assert_allclose(num, num_ref, rtol=rtol, atol=rtol * np.abs(num_ref).max())
        np.testing.assert_allclose(den, den_ref, rtol=rtol, atol=rtol * np.abs(den_ref).max())


@pytest.mark.parametrize("beta", [2.0, 1.0, 0.5])
def test_weighted_mu_step_matches_reference(beta, fmt):
    X = make_data(20, 14, seed=2, fmt=fmt)
    Wt = _weights(seed=2)
    A0, H = make_factors(20, 14, 3)
    B = np.ascontiguousarray(H.T)
    A = A0.copy()
    mu.update(_op(X, Wt, np.float64).X_op, A, B, beta)
    np.testing.assert_allclose(A, ref.weighted_mu_update(X, Wt, A0, B, beta), rtol=1e-10)


@pytest.mark.parametrize("l1,l2,n_sweeps", [(0.0, 0.0, 1), (0.3, 0.0, 1), (0.0, 0.5, 3)])
def test_weighted_hals_rows_match_reference(l1, l2, n_sweeps, fmt, dtype):
    X = make_data(20, 14, seed=3, fmt=fmt).astype(dtype)
    Wt = _weights(seed=3)
    A0, H = make_factors(20, 14, 4, dtype)
    B = np.ascontiguousarray(H.T)
    data = _op(X, Wt, dtype)
    for op, Xo, Wo, A_, B_ in ((data.X_op, X, Wt, A0, B), (data.Xt_op, X.T, Wt.T, B, A0)):
        A = A_.copy()
        op.masked_hals(A, B_, l1, l2, n_sweeps)
        expected = ref.weighted_hals_rows(Xo, Wo, A_, B_, l1, l2, n_sweeps)
        rtol = 1e-10 if dtype == np.float64 else 1e-4
        np.testing.assert_allclose(A, expected, rtol=rtol, atol=rtol * 1e-2)


@pytest.mark.parametrize("beta", [2.0, 1.0, 0.0, 0.5, 1.5, 3.0])
def test_weighted_divergence_matches_reference(beta, fmt, dtype):
    X = make_data(20, 14, seed=4, fmt=fmt, positive=beta <= 0).astype(dtype)
    Wt = _weights(seed=4)
    W, H = make_factors(20, 14, 3, dtype)
    data = _op(X, Wt, dtype)
    expected = ref.weighted_beta_divergence(X, Wt, W, H, beta)
    rtol = 1e-10 if dtype == np.float64 else 1e-5
    got = divergence(data.X_op, W, np.ascontiguousarray(H.T), beta)
    assert got == pytest.approx(expected, rel=rtol)
    got_t = divergence(data.Xt_op, np.ascontiguousarray(H.T), W, beta)  # the transpose too
    assert got_t == pytest.approx(expected, rel=rtol)
    metric = nn.metrics.beta_divergence(X, W, H, beta, weights=Wt)
    assert metric == pytest.approx(expected, rel=rtol)


def test_unit_weight_kernels_are_the_unweighted_arithmetic():
    """A weights array of ones takes the kernels' weighted branch: the same bits as the
    unweighted (masked) kernels, since 1·b = b exactly."""
    X = sp.random(30, 20, density=0.4, format="csr", random_state=3)
    A, H = make_factors(30, 20, 4)
    B = np.ascontiguousarray(H.T)
    args = (X.data, X.indices, X.indptr)
    A1, A2, c1, c2 = A.copy(), A.copy(), np.empty(30), np.empty(30)
    csr_k.masked_hals_rows(*args, np.empty(0), A1, B, 0.1, 0.2, 3, c1)
    csr_k.masked_hals_rows(*args, np.ones(X.nnz), A2, B, 0.1, 0.2, 3, c2)
    np.testing.assert_array_equal(A1, A2)
    np.testing.assert_array_equal(c1, c2)
    unit, ones = ObservedOp(X), ObservedOp(X, np.ones(X.nnz))
    for beta in (1.0, 0.5, 2.0):
        for a, b in zip(unit.mu_products(A, B, beta, EPSILON), ones.mu_products(A, B, beta,
                                                                                EPSILON)):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(ones.beta_terms(A, B, beta, EPSILON),
                                   unit.beta_terms(A, B, beta, EPSILON), rtol=1e-12)
    assert ones.residual_sq(A, B) == pytest.approx(unit.residual_sq(A, B), rel=1e-12)


# ---------------------------------------------------------------- weights 0/1 are a mask

@pytest.mark.parametrize("solver,beta", [("cd", 2.0), ("hals", 2.0), ("mu", 2.0), ("mu", 1.0),
                                         ("mu", 0.5), ("newton-cd", 1.0)])
def test_zero_one_weights_are_the_mask_bit_for_bit(solver, beta):
    rng = np.random.default_rng(5)
    X = make_data(25, 18, seed=5)
    M = rng.random(X.shape) < 0.7
    kw = dict(solver=solver, beta_loss=beta, init="random", random_state=0, max_iter=30,
              tol=0)
    masked = nn.nmf(X, 3, mask=M, **kw)
    weighted = nn.nmf(X, 3, weights=M.astype(float), **kw)
    # sparse, absent = 0: only X's stored entries (its non-zeros) under M count
    sparse_w = nn.nmf(sp.csr_matrix(X), 3, weights=sp.csr_matrix(M.astype(float)),
                      missing="unobserved", **kw)
    sparse_masked = nn.nmf(X, 3, mask=M & (X != 0), **kw)
    for res, expected in ((weighted, masked), (sparse_w, sparse_masked)):
        np.testing.assert_array_equal(res.W, expected.W)
        np.testing.assert_array_equal(res.H, expected.H)
        assert res.loss == expected.loss
        np.testing.assert_array_equal(res.history["objective"], expected.history["objective"])


def test_unit_weights_everywhere_are_the_plain_fit():
    X = make_data(20, 14, seed=6)
    kw = dict(init="random", random_state=0, max_iter=20, tol=0)
    plain = nn.nmf(X, 3, **kw)
    for res in (nn.nmf(X, 3, weights=np.ones(X.shape), **kw),
                nn.nmf(X, 3, sample_weight=np.ones(20), **kw),
                nn.nmf(X, 3, weights=sp.csr_matrix(X.shape), **kw)):  # sparse: absent = 1
        np.testing.assert_array_equal(res.W, plain.W)
        assert res.loss == plain.loss


def test_forced_unit_weights_give_the_masked_iterates():
    """The weighted operator with a weights array of ones (not folded into the mask) runs the
    masked fit's iterates bit for bit; only the objective's sums go in another order."""
    X = make_data(20, 14, seed=7)
    M = np.random.default_rng(7).random(X.shape) < 0.7
    masked = nn.nmf(X, 3, mask=M, solver="cd", init="random", random_state=0, max_iter=15,
                    tol=0)
    fit = _validate(X, 3, **_defaults(mask=M, solver="cd"))
    X_fit = fit.data.X_op.X
    data = Data(X_fit, observed_only=True, weights=np.ones(X_fit.nnz))
    assert data.X_op.weights is not None
    from nmf_numba.solvers import cd
    W, Ht = (np.ascontiguousarray(a) for a in nn.init.initialize(X_fit, 3, "random", 0))
    Ht = np.ascontiguousarray(Ht.T)
    for _ in range(15):
        cd.update(data.X_op, W, Ht)
        cd.update(data.Xt_op, Ht, W)
    np.testing.assert_array_equal(W, masked.W)
    np.testing.assert_array_equal(Ht.T, masked.H)
    assert divergence(data.X_op, W, Ht, 2.0) == pytest.approx(masked.data_loss, rel=1e-12)


def _defaults(**kw):
    base = dict(beta_loss="frobenius", solver="auto", init="random", max_iter=15, tol=0.0,
                stop="objective", alpha_W=0.0, alpha_H="same", l1_ratio=0.0, graph=None,
                graph_reg=0.0, smoothness=0.0, n_init=1, mask=None, missing="zero",
                time_limit=None, callback=None, random_state=0, shuffle=False, verbose=False,
                accelerate=False)
    base.update(kw)
    return base


# ---------------------------------------------------------------- weighted fits

@pytest.mark.parametrize("solver,beta", [("cd", 2.0), ("hals", 2.0), ("mu", 2.0), ("mu", 1.0),
                                         ("mu", 0.5), ("mu", 0.0), ("mu", 3.0),
                                         ("newton-cd", 1.0)])
def test_weighted_objective_never_increases(solver, beta, fmt):
    X = make_data(20, 14, seed=8, fmt=fmt, positive=beta <= 0)
    Wt = _weights(seed=8)
    res = nn.nmf(X, 3, solver=solver, beta_loss=beta, weights=Wt, init="random",
                 random_state=1, max_iter=60, tol=0, alpha_W=0.01, l1_ratio=0.3)
    f = np.array(res.history["objective"])
    assert np.all(np.diff(f) <= 1e-10 * f[0]), np.diff(f)
    assert np.all(res.W >= 0) and np.all(res.H >= 0)
    # the loss is the weighted objective, the metric's (½ for β = 2) plus the penalties
    data_term = nn.metrics.beta_divergence(X, res.W, res.H, beta, weights=Wt)
    assert res.data_loss == pytest.approx(data_term, rel=1e-10)
    assert res.data_loss == pytest.approx(
        ref.weighted_beta_divergence(X, Wt, res.W, res.H, beta), rel=1e-9)
    assert res.loss > res.data_loss  # the penalties on top


@pytest.mark.parametrize("solver", ["cd", "hals"])
def test_compiled_loop_runs_weighted_fits_as_the_python_loop(solver, monkeypatch):
    X = make_data(20, 14, seed=9)
    Wt = _weights(seed=9)
    kw = dict(solver=solver, weights=Wt, init="random", random_state=0, max_iter=40, tol=1e-6,
              alpha_W=0.01)
    from nmf_numba import _compiled
    assert _compiled.supports(_validate(X, 3, **_defaults(**{
        k: v for k, v in kw.items() if k != "weights"}), weights=Wt))
    compiled = nn.nmf(X, 3, **kw)
    monkeypatch.setattr(_threads.settings, "small_problem", 0)
    python = nn.nmf(X, 3, **kw)
    assert compiled.n_iter == python.n_iter
    np.testing.assert_allclose(compiled.W, python.W, rtol=1e-9, atol=1e-12)
    assert compiled.loss == pytest.approx(python.loss, rel=1e-12)


def test_a_heavy_weight_pulls_the_model_to_its_entry():
    """Rank-1 data with one entry set to 0: the unweighted rank-1 fit ignores it (0.74 there),
    a weight of 1e4 on it brings the model to it (0.002) at the others' expense."""
    rng = np.random.default_rng(10)
    X = np.outer(rng.random(30) + 0.5, rng.random(20) + 0.5) + 0.05 * rng.random((30, 20))
    X[4, 7] = 0.0
    Wt = np.ones(X.shape)
    Wt[4, 7] = 1e4
    kw = dict(init="nndsvda", max_iter=500, tol=1e-8)
    plain = nn.nmf(X, 1, **kw)
    heavy = nn.nmf(X, 1, weights=Wt, **kw)
    at_plain, at_heavy = (plain.W @ plain.H)[4, 7], (heavy.W @ heavy.H)[4, 7]
    assert at_plain > 0.5
    assert at_heavy < 0.01 * at_plain


@pytest.mark.parametrize("solver,beta", [("cd", 2.0), ("mu", 2.0), ("mu", 1.0)])
def test_integer_sample_weights_are_duplicated_rows(solver, beta, fmt):
    """Row i with weight s_i = the data with row i repeated s_i times, from the same start
    (W0's rows repeated too).  To rounding, not bits: the weighted sums add s·x where the
    duplicated data add x s times, and the two fits run different kernels (weighted CSR
    entries against dense BLAS products)."""
    rng = np.random.default_rng(11)
    X = make_data(15, 12, seed=11, fmt=fmt)
    s = rng.integers(1, 4, size=15)
    W0, H0 = make_factors(15, 12, 3)
    rows = np.repeat(np.arange(15), s)
    X_dup = X[rows]
    kw = dict(solver=solver, beta_loss=beta, max_iter=50, tol=0, accelerate=False)
    weighted = nn.nmf(X, 3, init=(W0, H0), sample_weight=s, **kw)
    dup = nn.nmf(X_dup, 3, init=(W0[rows], H0), **kw)
    np.testing.assert_allclose(weighted.H, dup.H, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(weighted.W[rows], dup.W, rtol=1e-8, atol=1e-12)
    assert weighted.loss == pytest.approx(dup.loss, rel=1e-9)


def test_sample_weight_and_weights_multiply():
    X = make_data(12, 10, seed=12)
    Wt, s = _weights(12, 10, seed=12), np.arange(1.0, 13.0)
    kw = dict(init="random", random_state=0, max_iter=20, tol=0, solver="mu")
    a = nn.nmf(X, 3, weights=Wt, sample_weight=s, **kw)
    b = nn.nmf(X, 3, weights=Wt * s[:, None], **kw)
    np.testing.assert_allclose(a.W, b.W, rtol=1e-12)


def test_sparse_weights_absent_entries():
    """Absent = 1 with missing="zero", 0 with missing="unobserved"."""
    X = make_data(16, 12, seed=13, fmt="csr")
    Wd = _weights(16, 12, seed=13, zeros=0.0)
    Ws = sp.csr_matrix(np.where(np.random.default_rng(13).random(Wd.shape) < 0.5, Wd, 0.0))
    kw = dict(init="random", random_state=0, max_iter=20, tol=0, solver="mu", beta_loss=1)
    zero = nn.nmf(X, 3, weights=Ws, **kw)
    filled = np.where(Ws.toarray() > 0, Ws.toarray(), 1.0)
    np.testing.assert_allclose(zero.W, nn.nmf(X, 3, weights=filled, **kw).W, rtol=1e-12)
    unobserved = nn.nmf(X, 3, weights=Ws, missing="unobserved", **kw)
    stored = (X != 0).toarray()  # X's stored entries, here its non-zeros
    restricted = np.where(stored, Ws.toarray(), 0.0)
    np.testing.assert_allclose(unobserved.W, nn.nmf(X.toarray(), 3, weights=restricted, **kw).W,
                               rtol=1e-12)


def test_nan_entries_with_zero_weight():
    X = make_data(16, 12, seed=14)
    Wt = _weights(16, 12, seed=14)
    X_nan = np.where(Wt == 0, np.nan, X)
    kw = dict(init="random", random_state=0, max_iter=20, tol=0)
    np.testing.assert_array_equal(nn.nmf(X_nan, 3, weights=Wt, **kw).W,
                                  nn.nmf(X, 3, weights=Wt, **kw).W)


def test_rows_with_zero_weight():
    """The documented result for an undetermined row of W: "mu" sets it to 0, "cd" keeps its
    start; the other rows are fitted as if the row were absent."""
    X = make_data(12, 10, seed=15)
    W0, H0 = make_factors(12, 10, 3)
    Wt = _weights(12, 10, seed=15, zeros=0.0)
    Wt[3] = 0.0
    res_mu = nn.nmf(X, 3, init=(W0, H0), weights=Wt, solver="mu", max_iter=10, tol=0)
    assert np.all(res_mu.W[3] == 0)
    res_cd = nn.nmf(X, 3, init=(W0, H0), weights=Wt, solver="cd", max_iter=10, tol=0)
    np.testing.assert_array_equal(res_cd.W[3], W0[3])
    keep = np.arange(12) != 3
    without = nn.nmf(X[keep], 3, init=(W0[keep], H0), weights=Wt[keep], solver="cd",
                     max_iter=10, tol=0)
    np.testing.assert_allclose(res_cd.H, without.H, rtol=1e-12)


def test_transform_with_weights_is_weighted_nnls():
    X = make_data(10, 12, seed=16)
    Wt = _weights(10, 12, seed=16, zeros=0.2)
    _, H = make_factors(10, 12, 3)
    W = nn.transform(X, H, weights=Wt, max_iter=20000, tol=0)
    for i in range(10):
        root = np.sqrt(Wt[i])
        expected, _ = nnls(root[:, None] * H.T, root * X[i])
        np.testing.assert_allclose(W[i], expected, rtol=1e-6, atol=1e-8)


def test_weighted_metrics_match_reference():
    X = make_data(16, 12, seed=17)
    Wt = _weights(16, 12, seed=17)
    W, H = make_factors(16, 12, 3)
    R = X - W @ H
    expected = np.sqrt(np.sum(Wt * R**2) / np.sum(Wt * X**2))
    assert nn.metrics.relative_error(X, W, H, weights=Wt) == pytest.approx(expected, rel=1e-12)
    mu_w = (Wt * X).sum(axis=0) / Wt.sum(axis=0)
    ev = 1 - np.sum(Wt * R**2) / np.sum(Wt * (X - mu_w) ** 2)
    assert nn.metrics.explained_variance(X, W, H, weights=Wt) == pytest.approx(ev, rel=1e-12)
    err = nn.metrics.reconstruction_error(X, W, H, weights=Wt)
    assert err == pytest.approx(np.sqrt(np.sum(Wt * R**2)), rel=1e-12)
    s = np.arange(1.0, 17.0)
    assert nn.metrics.beta_divergence(X, W, H, 1, sample_weight=s) == pytest.approx(
        ref.weighted_beta_divergence(X, np.repeat(s[:, None], 12, axis=1), W, H, 1.0),
        rel=1e-12)


# ---------------------------------------------------------------- the estimator

def test_estimator_sample_weight_is_nmf_and_duplicated_rows():
    rng = np.random.default_rng(18)
    X = make_data(15, 12, seed=18)
    s = rng.integers(1, 4, size=15)
    W0, H0 = make_factors(15, 12, 3)
    est = nn.NMF(3, init="custom", solver="cd", max_iter=40, tol=0)
    W = est.fit_transform(X, W=W0, H=H0, sample_weight=s)
    res = nn.nmf(X, 3, init=(W0, H0), solver="cd", max_iter=40, tol=0, stop="sklearn",
                 sample_weight=s)
    np.testing.assert_array_equal(est.components_, res.H)
    rows = np.repeat(np.arange(15), s)
    dup = nn.NMF(3, init="custom", solver="cd", max_iter=40, tol=0).fit(
        X[rows], W=W0[rows], H=H0)
    np.testing.assert_allclose(est.components_, dup.components_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(W[rows], dup.transform(X[rows]), rtol=1e-6, atol=1e-9)
    assert est.reconstruction_err_ == pytest.approx(dup.reconstruction_err_, rel=1e-6)
    fitted = nn.NMF(3, init="custom", solver="cd", max_iter=40, tol=0).fit(
        X, W=W0, H=H0, sample_weight=s)
    np.testing.assert_array_equal(fitted.components_, est.components_)


# ---------------------------------------------------------------- bad input

X_BAD = make_data(6, 5, seed=19)


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(weights=-np.ones((6, 5))), ValueError, "weights has negative entries"),
    (dict(weights=np.full((6, 5), np.nan)), ValueError, "weights has NaN or infinite"),
    (dict(weights=np.full((6, 5), np.inf)), ValueError, "weights has NaN or infinite"),
    (dict(weights=sp.csr_matrix(-np.eye(6, 5))), ValueError, "weights has negative"),
    (dict(weights=np.ones((5, 6))), ValueError, r"weights has shape \(5, 6\), expected X's"),
    (dict(weights=np.ones(5)), ValueError, "weights has shape"),
    (dict(weights=np.ones((6, 5)), mask=np.ones((6, 5), bool)), ValueError,
     "weights and mask both say"),
    (dict(weights=np.zeros((6, 5))), ValueError, "Every weight is zero"),
    (dict(weights=np.array([["a"] * 5] * 6)), TypeError, "weights holds text"),
    (dict(sample_weight=np.ones(5)), ValueError, "sample_weight has shape"),
    (dict(sample_weight=-np.ones(6)), ValueError, "sample_weight must hold finite numbers"),
    (dict(sample_weight=np.full(6, np.nan)), ValueError, "sample_weight must hold finite"),
    (dict(weights=np.ones((6, 5)) * 2, solver="anls"), ValueError,
     "does not support missing values or weights"),
    (dict(weights=np.ones((6, 5)) * 2, solver="newton-cd", beta_loss=2), ValueError,
     "supports only beta_loss='kullback-leibler'"),
    (dict(weights=np.ones((6, 5)) * 2, graph=np.eye(6), graph_reg=1.0), ValueError,
     "graph penalty cannot be combined with missing values or weights"),
    (dict(sample_weight=np.ones(6), n_components="auto"), ValueError,
     "does not support weights or sample_weight"),
])
def test_bad_weights(kwargs, error, match):
    kwargs.setdefault("n_components", 2)
    with pytest.raises(error, match=match):
        nn.nmf(X_BAD, **kwargs)


def test_nan_under_a_positive_weight_is_an_error():
    X = X_BAD.copy()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="X is NaN at entries whose weight is > 0"):
        nn.nmf(X, 2, weights=np.ones((6, 5)))
    with pytest.raises(ValueError, match="X is NaN at entries whose weight is > 0"):
        nn.nmf(X, 2, weights=sp.csr_matrix((6, 5)))  # sparse: absent = 1


def test_dask_refuses_weights():
    da = pytest.importorskip("dask.array")
    with pytest.raises(ValueError, match="weights: not supported for a Dask array"):
        nn.nmf(da.from_array(X_BAD, chunks=(3, 5)), 2, weights=np.ones((6, 5)))
    with pytest.raises(ValueError, match="sample_weight: not supported for a Dask array"):
        nn.nmf(da.from_array(X_BAD, chunks=(3, 5)), 2, sample_weight=np.ones(6))


def test_inputs_are_not_modified():
    X = make_data(10, 8, seed=20)
    X[0, 0] = np.nan
    Wt = _weights(10, 8, seed=20)
    Wt[0, 0] = 0.0
    Ws = sp.csr_matrix(Wt)
    s = np.arange(1.0, 11.0)
    copies = [X.copy(), Wt.copy(), Ws.copy(), s.copy()]
    W0, H0 = make_factors(10, 8, 2)
    W0c, H0c = W0.copy(), H0.copy()
    nn.nmf(X, 2, weights=Wt, sample_weight=s, init=(W0, H0), max_iter=5)
    nn.nmf(np.nan_to_num(X), 2, weights=Ws, max_iter=5)  # sparse: absent = 1, no NaN
    nn.metrics.relative_error(X, W0, H0, weights=Wt)
    nn.transform(X, H0, weights=Wt, max_iter=5)
    np.testing.assert_array_equal(X, copies[0])
    np.testing.assert_array_equal(Wt, copies[1])
    assert (Ws != copies[2]).nnz == 0 and Ws.nnz == copies[2].nnz
    np.testing.assert_array_equal(s, copies[3])
    np.testing.assert_array_equal(W0, W0c)
    np.testing.assert_array_equal(H0, H0c)


def test_nsnmf_with_weights():
    """nsNMF (model W S H) runs on the weighted operator as on missing values: monotone, and
    the loss is the metric's for the fit's result (its model W S H)."""
    X = make_data(16, 12, seed=21)
    Wt = _weights(16, 12, seed=21)
    res = nn.nmf(X, 3, weights=Wt, smoothness=0.3, solver="cd", init="random",
                 random_state=0, max_iter=40, tol=0)
    f = np.array(res.history["objective"])
    assert np.all(np.diff(f) <= 1e-12 * f[0])
    assert res.loss == pytest.approx(nn.metrics.beta_divergence(X, res, weights=Wt),
                                     rel=1e-10)


@pytest.mark.parametrize("l1,l2", [(0.0, 0.0), (0.2, 0.3)])
def test_weighted_kl_newton_sweep_matches_reference(l1, l2, fmt, dtype):
    X = make_data(20, 14, seed=22, fmt=fmt).astype(dtype)
    Wt = _weights(seed=22)
    A0, H = make_factors(20, 14, 3, dtype)
    B = np.ascontiguousarray(H.T)
    op = _op(X, Wt, dtype).X_op
    A = A0.copy()
    pgrad = op.kl_newton_sweep(A, B, l1, l2, 2, EPSILON)
    expected, expected_pgrad = ref.kl_newton_sweep(X, A0, B, 2, l1, l2, weights=Wt)
    rtol = 1e-9 if dtype == np.float64 else 2e-3
    np.testing.assert_allclose(A, expected, rtol=rtol, atol=rtol * 1e-2)
    assert pgrad == pytest.approx(expected_pgrad, rel=rtol)


def test_weighted_newton_cd_descends_to_the_mu_objective():
    X = make_data(20, 14, seed=23)
    Wt = _weights(seed=23)
    kw = dict(beta_loss=1, weights=Wt, init="nndsvda", tol=0)
    newton = nn.nmf(X, 3, solver="newton-cd", max_iter=300, **kw)
    f = np.array(newton.history["objective"])
    assert np.all(np.diff(f) <= 1e-12 * f[0])
    assert newton.data_loss == pytest.approx(
        ref.weighted_beta_divergence(X, Wt, newton.W, newton.H, 1.0), rel=1e-9)
    mu_fit = nn.nmf(X, 3, solver="mu", max_iter=3000, **kw)
    assert newton.loss <= mu_fit.loss * (1 + 1e-3)


@pytest.mark.parametrize("fmt", ["dense", "csr"])
@pytest.mark.parametrize("solver, beta", [("cd", 2), ("mu", 2), ("mu", 1), ("mu", 3),
                                          ("newton-cd", 1)])
def test_sample_weight_alone_runs_on_rows_scaled_not_entry_by_entry(monkeypatch, fmt, solver,
                                                                    beta):
    """Per-row weights alone: the fit of ``diag(s^(1/β)) X`` with W rescaled at the end, the
    same objective and iterates (to rounding) as the per-entry weights path, which a weights
    array of the same values takes; a sparse X stays as sparse.  (Not "hals": its number of
    sweeps per half-step follows the stored entries, which the two paths count differently.)"""
    nmf_module = importlib.import_module("nmf_numba.nmf")  # (nmf_numba.nmf is the function)

    rng = np.random.default_rng(4)
    X = rng.random((25, 18)) + 0.05
    if fmt == "csr":
        X[X < 0.5] = 0.0
        X = sp.csr_matrix(X)
    s = rng.uniform(0.2, 3.0, 25)
    W0, H0 = nn.initialize(X, 3, "random", random_state=0)
    kw = dict(init=(W0, H0), solver=solver, beta_loss=beta, max_iter=40, tol=0,
              accelerate=False)
    calls = []
    row_scaled = nmf_module._row_scaled
    monkeypatch.setattr(nmf_module, "_row_scaled",
                        lambda *a: calls.append(1) or row_scaled(*a))
    fast = nn.nmf(X, 3, sample_weight=s, **kw)
    assert calls == [1] and fast.W.shape == (25, 3)
    entrywise = nn.nmf(X, 3, weights=np.repeat(s[:, None], 18, axis=1), **kw)
    tol = 1e-7
    np.testing.assert_allclose(fast.W, entrywise.W, rtol=tol, atol=tol * 1e-2)
    np.testing.assert_allclose(fast.H, entrywise.H, rtol=tol, atol=tol * 1e-2)
    assert fast.loss == pytest.approx(entrywise.loss, rel=tol * 1e-2)
    np.testing.assert_allclose(fast.history["objective"], entrywise.history["objective"],
                               rtol=tol * 1e-2)


def test_sample_weight_takes_the_entry_path_where_rows_cannot_be_rescaled(monkeypatch):
    nmf_module = importlib.import_module("nmf_numba.nmf")  # (nmf_numba.nmf is the function)

    rng = np.random.default_rng(5)
    X = rng.random((20, 12)) + 0.05
    s = rng.uniform(0.5, 2.0, 20)
    ran = []
    row_scaled = nmf_module._row_scaled
    monkeypatch.setattr(nmf_module, "_row_scaled",
                        lambda *a: ran.append(row_scaled(*a) is not None) or row_scaled(*a))
    nn.nmf(X, 2, sample_weight=s, alpha_W=0.01, random_state=0, max_iter=5)   # W penalty
    nn.nmf(X, 2, sample_weight=np.r_[0.0, s[1:]], random_state=0, max_iter=5)  # s_i = 0
    nn.nmf(X, 2, sample_weight=s, beta_loss=0.5, solver="mu", random_state=0, max_iter=5)
    nn.nmf(X, 2, sample_weight=s, n_init=2, random_state=0, max_iter=5)
    assert ran == [False, False, False, False]
    nn.nmf(X, 2, sample_weight=s, random_state=0, max_iter=5)
    assert ran[-1] is True


def test_sparse_x_with_every_entry_weighted_is_bounded(monkeypatch):
    """sample_weight with a W penalty on a sparse X counts every entry one by one (no dense
    copy of X is made); above DENSE_WEIGHTS_LIMIT entries that is refused with the ways out."""
    from nmf_numba import _data

    X = sp.random(30, 20, density=0.2, format="csr", random_state=0)
    s = np.linspace(0.5, 2.0, 30)
    res = nn.nmf(X, 2, sample_weight=s, alpha_W=0.01, random_state=0, max_iter=5)
    dense = nn.nmf(X.toarray(), 2, sample_weight=s, alpha_W=0.01, random_state=0, max_iter=5)
    assert res.loss == pytest.approx(dense.loss, rel=1e-9)
    monkeypatch.setattr(_data, "DENSE_WEIGHTS_LIMIT", 30 * 20 - 1)
    with pytest.raises(ValueError, match="every entry of the sparse X count"):
        nn.nmf(X, 2, sample_weight=s, alpha_W=0.01, random_state=0, max_iter=5)
