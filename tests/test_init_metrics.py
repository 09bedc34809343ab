"""Initialisations against scikit-learn's, and the metrics against their NumPy twins."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.decomposition._nmf import _beta_divergence, _initialize_nmf

import nmf_numba as nn
from nmf_numba._validation import check_data

from . import reference as ref
from .conftest import make_data, make_factors


@pytest.mark.parametrize("init", ["random", "nndsvd", "nndsvda", "nndsvdar"])
def test_init_matches_sklearn(init, fmt):
    X = make_data(20, 15, fmt=fmt)
    W, H = nn.initialize(check_data(X), 4, init, 0)
    Ws, Hs = _initialize_nmf(X, 4, init=init, random_state=0)
    np.testing.assert_allclose(W, Ws, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(H, Hs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("init", ["random", "nndsvd", "nndsvda", "nndsvdar"])
def test_init_float32_and_non_negative(init, fmt):
    X = make_data(12, 9, dtype=np.float32, fmt=fmt)
    W, H = nn.initialize(X, 3, init, 0)
    assert W.dtype == np.float32 and H.dtype == np.float32
    assert np.all(W >= 0) and np.all(H >= 0)


def test_auto_init():
    X = make_data(10, 6)
    a = nn.initialize(X, 4, "auto", 0)
    b = nn.initialize(X, 4, "nndsvda", 0)
    np.testing.assert_array_equal(a[0], b[0])
    c = nn.initialize(X, 8, "auto", 0)  # more components than min(X.shape): random
    d = nn.initialize(X, 8, "random", 0)
    np.testing.assert_array_equal(c[1], d[1])


def test_nndsvd_on_zero_matrix_is_finite():
    for init in ("nndsvd", "nndsvda", "nndsvdar"):
        W, H = nn.initialize(np.zeros((5, 4)), 3, init, 0)
        assert np.all(np.isfinite(W)) and np.all(np.isfinite(H))


@pytest.mark.parametrize("beta", [2.0, 1.0, 0.0, 0.5, 1.5, 3.0])
def test_beta_divergence_metric(beta, fmt, dtype):
    X = make_data(14, 11, fmt=fmt, dtype=dtype, positive=beta <= 0)
    W, H = make_factors(14, 11, 3, dtype)
    rtol = 1e-9 if dtype == np.float64 else 1e-4
    got = nn.metrics.beta_divergence(X, W, H, beta)
    assert got == pytest.approx(ref.beta_divergence(X, W, H, beta), rel=rtol)
    if dtype == np.float64:
        assert got == pytest.approx(_beta_divergence(X, W, H, beta), rel=1e-9)
        assert nn.metrics.reconstruction_error(X, W, H, beta) == pytest.approx(
            _beta_divergence(X, W, H, beta, square_root=True), rel=1e-9
        )


def test_relative_error_and_explained_variance(fmt):
    X = make_data(16, 12, fmt=fmt)
    W, H = make_factors(16, 12, 3)
    assert nn.metrics.relative_error(X, W, H) == pytest.approx(ref.relative_error(X, W, H), 1e-10)
    assert nn.metrics.explained_variance(X, W, H) == pytest.approx(
        ref.explained_variance(X, W, H), rel=1e-10
    )


def test_metric_edge_cases():
    Z = np.zeros((4, 3))
    W, H = np.zeros((4, 1)), np.zeros((1, 3))
    assert nn.metrics.relative_error(Z, W, H) == 0.0
    assert nn.metrics.relative_error(Z, W + 1, H + 1) == np.inf
    assert nn.metrics.explained_variance(Z, W, H) == 1.0
    assert nn.metrics.explained_variance(np.ones((4, 3)), W, H) == 0.0
    # a perfect factorisation explains everything
    Wp, Hp = make_factors(8, 6, 2)
    assert nn.metrics.explained_variance(Wp @ Hp, Wp, Hp) == pytest.approx(1.0)
    assert nn.metrics.relative_error(sp.csr_matrix(Wp @ Hp), Wp, Hp) < 1e-6


@pytest.mark.parametrize("axis", [0, 1])
def test_hoyer_sparsity(axis):
    A = np.abs(np.random.default_rng(0).standard_normal((9, 5)))
    A[A < 0.7] = 0
    A[:, 2] = 0
    assert nn.metrics.hoyer_sparsity(A, axis) == pytest.approx(ref.hoyer_sparsity(A, axis))
    assert nn.metrics.hoyer_sparsity(np.eye(4), axis) == pytest.approx(1.0)
    assert nn.metrics.hoyer_sparsity(np.ones((4, 4)), axis) == pytest.approx(0.0)


def test_beta_divergence_metric_rejects_nonpositive_beta_with_zeros(fmt):
    X = make_data(6, 5, fmt=fmt)
    W, H = make_factors(6, 5, 2)
    with pytest.raises(ValueError, match="contains zeros"):
        nn.metrics.beta_divergence(X, W, H, "itakura-saito")


def test_explained_variance_with_large_means(fmt):
    """The denominator is summed as deviations: no cancellation when the means are large."""
    rng = np.random.default_rng(0)
    X = 1e4 + 1e-3 * rng.random((200, 50))
    mu = X.mean(axis=0)
    target = mu + 0.7 * (X - mu)  # explains 1 − 0.09 of the variance
    floor = target.min()
    W = np.hstack([np.ones((200, 1)), target - floor])
    H = np.vstack([np.full((1, 50), floor), np.eye(50)])
    Xin = sp.csr_matrix(X) if fmt == "csr" else X
    assert nn.metrics.explained_variance(Xin, W, H) == pytest.approx(0.91, rel=1e-6)


def test_explained_variance_sparse_counts_implicit_zeros():
    X = make_data(20, 8)
    W, H = make_factors(20, 8, 2)
    assert nn.metrics.explained_variance(sp.csr_matrix(X), W, H) == pytest.approx(
        ref.explained_variance(X, W, H), rel=1e-10
    )


def test_hoyer_sparse_negative_and_extreme_magnitudes():
    A = np.abs(np.random.default_rng(1).standard_normal((7, 4)))
    A[A < 0.8] = 0
    expected = ref.hoyer_sparsity(A, 0)
    assert nn.metrics.hoyer_sparsity(sp.csr_matrix(A), 0) == pytest.approx(expected)
    assert nn.metrics.hoyer_sparsity(-A, 0) == pytest.approx(expected)
    for scale in (1e-200, 1e160):
        assert nn.metrics.hoyer_sparsity(A * scale, 0) == pytest.approx(expected)
        assert nn.metrics.hoyer_sparsity(np.full((4, 4), scale), 1) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="axis"):
        nn.metrics.hoyer_sparsity(A, axis=True)
