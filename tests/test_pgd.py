"""Alternating projected gradient (solver="pgd")."""

import numpy as np

import nmf_numba as nn
from nmf_numba._data import Data
from nmf_numba.kernels.dense import nnls_rows
from nmf_numba.solvers import pgd

from .conftest import make_data, make_factors


def test_subproblem_converges_to_the_exact_nnls_solution(fmt):
    """Driven to a tight tolerance, one PGD half-step lands on the exact NNLS solution."""
    X = make_data(40, 25, fmt=fmt)
    W0, H0 = make_factors(40, 25, 4)
    data = Data(X)
    B = np.ascontiguousarray(H0.T)
    step = pgd.PGD()
    step.tol = 1e-11
    A = W0.copy()
    step(data.X_op, A, B)
    exact = np.zeros_like(W0)
    nnls_rows(B.T @ B, data.X_op.times(B), exact, 200)
    np.testing.assert_allclose(A, exact, rtol=1e-6, atol=1e-8)


def test_tolerance_tightens_when_a_subproblem_ends_at_once():
    X = make_data(30, 20)
    data = Data(X)
    W0, H0 = make_factors(30, 20, 3)
    step = pgd.PGD()
    A, B = W0.copy(), np.ascontiguousarray(H0.T)
    step.tol = 1e30  # satisfied before any iteration
    step(data.X_op, A, B)
    np.testing.assert_array_equal(A, W0)
    assert step.tol == 1e30 * 0.1


def test_projected_gradient_norm():
    A = np.array([[0.0, 1.0], [2.0, 0.0]])
    grad = np.array([[3.0, -1.0], [4.0, -2.0]])
    # entry (0,0): A = 0 and grad > 0 → 0; the others count in full
    assert pgd.projected_gradient_norm(A, grad) == np.sqrt(1 + 16 + 4)


def test_pgd_reaches_a_low_objective():
    rng = np.random.default_rng(0)
    X = rng.random((200, 8)) @ rng.random((8, 100))
    res = nn.nmf(X, 8, solver="pgd", init="random", random_state=0, max_iter=200, tol=0)
    assert nn.metrics.relative_error(X, res.W, res.H) < 1e-2
