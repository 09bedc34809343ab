"""transform() with fixed components, restarts (n_init) and res.labels() (issue 5)."""

import numpy as np
import pytest
import scipy.sparse as sp

import nmf_numba as nn

from . import reference as ref
from .conftest import make_data


def _low_rank(seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((60, 5)) @ rng.random((5, 40)) + 0.1 * rng.random((60, 40))


TRANSFORM_CASES = [
    ("hals", 2.0, {}),
    ("newton-cd", 1.0, {}),
    ("cd", 2.0, dict(alpha_W=0.01, l1_ratio=0.5, smoothness=0.3)),
    ("mu", 1.0, dict(alpha_W=0.01, l1_ratio=1.0)),
]


@pytest.mark.parametrize("solver,beta,extra", TRANSFORM_CASES)
def test_transform_of_the_training_data_returns_the_fitted_W(solver, beta, extra, fmt):
    X = _low_rank()
    X = sp.csr_matrix(X) if fmt == "csr" else X
    # plain solvers: the test is transform's; accelerated newton-cd stops on the objective
    # rule with a larger projected gradient here (README, issue 18's note)
    fit = nn.nmf(X, 5, solver=solver, beta_loss=beta, init="nndsvda", random_state=0,
                 max_iter=4000, tol=1e-12, accelerate=False, **extra)
    kw = {key: extra[key] for key in ("alpha_W", "l1_ratio", "smoothness") if key in extra}
    W = nn.transform(X, fit.H, beta_loss=beta, **kw)
    assert np.linalg.norm(W - fit.W) <= 1e-4 * np.linalg.norm(fit.W)
    assert W.dtype == fit.W.dtype and np.all(W >= 0)


@pytest.mark.parametrize("solver", ["anls", "cd", "hals", "pgd"])
def test_transform_minimises_the_convex_subproblem(solver):
    """Frobenius with H fixed: the solvers reach the exact NNLS solution of each row (mu only
    approaches the solution's zeros geometrically, ~2e-3 after 5000 updates here)."""
    X = make_data(30, 12, seed=3)
    H = np.random.default_rng(1).random((4, 12)) + 0.1
    expected = ref.nnls_rows(H @ H.T, X @ H.T)
    W = nn.transform(X, H, solver=solver, max_iter=5000, tol=1e-14)
    np.testing.assert_allclose(W, expected, rtol=1e-3, atol=1e-6)


def test_transform_float32_new_data_and_errors():
    X = _low_rank().astype(np.float32)
    fit = nn.nmf(X, 5, init="nndsvda", random_state=0, max_iter=50)
    W = nn.transform(X[:7], fit.H)
    assert W.shape == (7, 5) and W.dtype == np.float32
    with pytest.raises(ValueError, match=r"H has shape \(5, 40\), expected \(5, 39\)"):
        nn.transform(X[:, :39], fit.H)
    with pytest.raises(ValueError, match="H must be 2-D"):
        nn.transform(X, fit.H[0])
    with pytest.raises(ValueError, match="supports only beta_loss='frobenius'"):
        nn.transform(X, fit.H, beta_loss=1, solver="anls")


def test_transform_does_not_modify_inputs():
    X = _low_rank()
    H = nn.nmf(X, 5, init="nndsvda", random_state=0, max_iter=20).H
    X0, H0 = X.copy(), H.copy()
    nn.transform(X, H)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(H, H0)


def test_restarts_keep_the_lowest_objective_and_record_every_run():
    X = _low_rank(2)
    kw = dict(init="random", max_iter=30, tol=0)
    res = nn.nmf(X, 5, n_init=4, random_state=0, **kw)
    assert res.run_losses.shape == (4,)
    assert res.loss == res.run_losses.min() == res.run_losses[res.best_run]
    single = nn.nmf(X, 5, random_state=0, **kw)
    assert single.loss == res.run_losses[0]  # the first run is the plain one
    again = nn.nmf(X, 5, n_init=4, random_state=0, **kw)
    np.testing.assert_array_equal(again.run_losses, res.run_losses)
    assert len(set(res.run_losses)) == 4  # different seeds, different runs


def test_restarts_with_a_deterministic_init_use_random_later():
    X = _low_rank(3)
    res = nn.nmf(X, 5, init="nndsvda", n_init=3, random_state=0, max_iter=30, tol=0)
    first = nn.nmf(X, 5, init="nndsvda", random_state=0, max_iter=30, tol=0)
    assert res.run_losses[0] == first.loss
    assert len(set(res.run_losses)) == 3


def test_restarts_share_the_time_limit():
    X = _low_rank(4)
    res = nn.nmf(X, 5, n_init=50, time_limit=0.3, max_iter=10**6, tol=0, random_state=0)
    assert 1 <= res.run_losses.size < 50


def test_labels():
    X = _low_rank()
    res = nn.nmf(X, 5, init="nndsvda", random_state=0, max_iter=20)
    np.testing.assert_array_equal(res.labels(), res.W.argmax(axis=1))
    res.W[3] = 0
    assert res.labels()[3] == -1
