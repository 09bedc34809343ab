"""Accelerated HALS (solver="hals")."""

import numpy as np
import pytest
import scipy.sparse as sp

import nmf_numba as nn
from nmf_numba._data import Data
from nmf_numba.solvers import cd, hals

from .conftest import make_data, make_factors


def _problems():
    rng = np.random.default_rng(0)
    yield "low-noise", rng.random((300, 10)) @ rng.random((10, 200)) + 1e-3 * rng.random((300, 200))
    rng = np.random.default_rng(1)
    yield "noisy", rng.random((300, 10)) @ rng.random((10, 200)) + 0.5 * rng.random((300, 200))
    yield "csr", sp.random(1000, 800, density=0.05, format="csr", random_state=2)


def test_alpha_zero_is_exactly_cd(fmt):
    X = make_data(40, 30, fmt=fmt)
    W0, H0 = make_factors(40, 30, 5)
    data = Data(X)
    A1, B1 = W0.copy(), np.ascontiguousarray(H0.T)
    A2, B2 = W0.copy(), np.ascontiguousarray(H0.T)
    for _ in range(3):
        cd.update(data.X_op, A1, B1)
        cd.update(data.Xt_op, B1, A1)
        hals.update(data.X_op, A2, B2, budget=0.0)
        hals.update(data.Xt_op, B2, A2, budget=0.0)
    np.testing.assert_array_equal(A1, A2)
    np.testing.assert_array_equal(B1, B2)


def test_sweep_bound_follows_the_cost_model():
    X = make_data(1000, 200)
    op = Data(X).X_op
    A, B = np.ones((1000, 10)), np.ones((200, 10))
    # rho = 1 + (1000·200·10 + 200·100) / (1000·100) = 21.2 → 1 + 0.5·21.2 = 11.6
    assert hals.max_sweeps(op, A, B) == 11
    assert hals.max_sweeps(op, A, B, budget=0.0) == 1


def test_sweep_repeats_stop_when_the_change_is_small():
    X = make_data(60, 40)
    W0, H0 = make_factors(60, 40, 4)
    data = Data(X)
    A, B = W0.copy(), np.ascontiguousarray(H0.T)
    hals.update(data.X_op, A, B, delta=1.0)  # first repeat can never beat 1.0 × the first change
    expected = W0.copy()
    from nmf_numba.kernels.dense import hals_sweep

    G, XB = B.T @ B, X @ B
    hals_sweep(expected, G, XB)
    hals_sweep(expected, G, XB)  # the sweep that found the change too small still ran
    np.testing.assert_allclose(A, expected, rtol=1e-12)


@pytest.mark.parametrize("name,X", list(_problems()), ids=lambda v: v if isinstance(v, str) else "")
def test_hals_reaches_a_lower_objective_than_cd_in_as_many_iterations(name, X):
    kw = dict(init="nndsvda", max_iter=60, tol=0, random_state=0, accelerate=False)
    f_cd = nn.nmf(X, 10, solver="cd", **kw).loss
    f_hals = nn.nmf(X, 10, solver="hals", **kw).loss
    assert f_hals <= f_cd * (1 + 1e-12)


def test_hals_rejects_other_betas():
    with pytest.raises(ValueError, match="solver='hals' supports only beta_loss='frobenius'"):
        nn.nmf(make_data(5, 4), 2, solver="hals", beta_loss=1)


def test_dense_equals_csr_when_every_entry_is_stored(dtype):
    """The formats differ only through the cost model (stored entries); with the same count of
    stored entries they give the same iterates."""
    Xd = make_data(22, 15, dtype=dtype, positive=True)
    W0, H0 = make_factors(22, 15, 3, dtype)
    kw = dict(solver="hals", init=(W0, H0), max_iter=15, tol=0, accelerate=False)
    rd = nn.nmf(Xd, 3, **kw)
    rs = nn.nmf(sp.csr_matrix(Xd), 3, **kw)
    rtol = 1e-9 if dtype == np.float64 else 1e-3
    np.testing.assert_allclose(rd.W, rs.W, rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(rd.H, rs.H, rtol=rtol, atol=rtol * 1e-2)
