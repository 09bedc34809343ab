"""Larger shapes (deselected by default; run with ``python -m pytest -m slow``)."""

import numpy as np
import pytest
import scipy.sparse as sp

import nmf_numba as nn

from . import reference as ref
from .test_nmf import _sklearn_fit

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("solver,beta", [("cd", 2.0), ("mu", 2.0), ("mu", 1.0), ("mu", 0.5)])
@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_matches_sklearn_at_benchmark_like_shapes(solver, beta, fmt):
    rng = np.random.default_rng(0)
    m, n, k = (2000, 600, 20) if fmt == "dense" else (6000, 2000, 20)
    X = rng.random((m, n)) if fmt == "dense" else sp.random(
        m, n, density=0.01, format="csr", random_state=rng)
    W0, H0 = rng.random((m, k)) + 0.05, rng.random((k, n)) + 0.05
    # accelerate=False: scikit-learn's iterations (the default extrapolates cd on CSR, KL's mu)
    res = nn.nmf(X, k, solver=solver, beta_loss=beta, init=(W0, H0), max_iter=30, tol=0,
                 accelerate=False)
    W, H = _sklearn_fit(X, W0, H0, solver, beta, 30)
    assert res.loss == pytest.approx(nn.metrics.beta_divergence(X, W, H, beta), rel=1e-6)
    if fmt == "dense":
        assert res.loss == pytest.approx(ref.beta_divergence(X, W, H, beta), rel=1e-6)
