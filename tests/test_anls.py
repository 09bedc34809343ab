"""ANLS with block principal pivoting (solver="anls") and its row-wise NNLS kernel."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import nnls

import nmf_numba as nn
from nmf_numba.kernels.dense import nnls_rows

from . import reference as ref
from .conftest import make_data


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 30), st.integers(1, 9), st.integers(0, 2**16), st.booleans())
def test_nnls_rows_equals_scipy_nnls(n_rows, k, seed, warm):
    """Random least-squares rows (targets of any sign), cold or warm started."""
    rng = np.random.default_rng(seed)
    B = rng.random((k + 5, k))
    X = rng.standard_normal((n_rows, k + 5))
    G, C = B.T @ B, X @ B
    A = rng.random((n_rows, k)) * rng.integers(0, 2, (n_rows, k)) if warm else np.zeros((n_rows, k))
    assert nnls_rows(G, C, A, 200).sum() == 0
    expected = np.array([nnls(B, x)[0] for x in X])
    np.testing.assert_allclose(A, expected, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(A, ref.nnls_rows(G, C), rtol=1e-6, atol=1e-8)


def test_nnls_rows_float32():
    rng = np.random.default_rng(3)
    B = rng.random((12, 4))
    X = rng.standard_normal((20, 12))
    G, C = (B.T @ B).astype(np.float32), (X @ B).astype(np.float32)
    A = np.zeros((20, 4), np.float32)
    nnls_rows(G, C, A, 100)
    assert A.dtype == np.float32
    np.testing.assert_allclose(A, [nnls(B, x)[0] for x in X], rtol=1e-3, atol=1e-4)


def test_nnls_rows_with_a_zero_column_in_B_stays_finite():
    B = np.array([[1.0, 0.0, 2.0], [0.5, 0.0, 1.0], [2.0, 0.0, 0.1]])  # column 1 is zero
    X = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]])
    A = np.ones((2, 3))
    nnls_rows(B.T @ B, X @ B, A, 100)
    assert np.all(np.isfinite(A)) and np.all(A >= 0)
    assert np.all(A[:, 1] == 0)
    np.testing.assert_allclose(A, [nnls(B, x)[0] for x in X], atol=1e-9)


@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_anls_objective_never_increases_and_beats_cd(fmt):
    X = make_data(60, 40, fmt=fmt)
    kw = dict(init="random", random_state=1, max_iter=40, tol=0)
    res = nn.nmf(X, 5, solver="anls", **kw)
    f = res.history["objective"]
    assert np.all(np.diff(f) <= 1e-10 * f[0])
    assert np.all(res.W >= 0) and np.all(res.H >= 0)
    # each ANLS half-step solves its subproblem exactly: the first one cannot do worse than
    # a single coordinate sweep from the same point
    one_anls = nn.nmf(X, 5, solver="anls", **dict(kw, max_iter=1)).loss
    one_cd = nn.nmf(X, 5, solver="cd", **dict(kw, max_iter=1)).loss
    assert one_anls <= one_cd * (1 + 1e-12)


def test_anls_dense_equals_csr_and_float32(dtype):
    Xd = make_data(25, 18, dtype=dtype)
    kw = dict(solver="anls", init="random", random_state=0, max_iter=10, tol=0)
    rd, rs = nn.nmf(Xd, 3, **kw), nn.nmf(sp.csr_matrix(Xd), 3, **kw)
    assert rd.W.dtype == dtype
    rtol = 1e-9 if dtype == np.float64 else 1e-3
    np.testing.assert_allclose(rd.W, rs.W, rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(rd.H, rs.H, rtol=rtol, atol=rtol * 1e-2)
