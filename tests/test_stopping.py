"""Stopping rules: stop="pgrad" (projected-gradient stationarity) and its gradients."""

import numpy as np
import pytest

import nmf_numba as nn
from nmf_numba._data import Data
from nmf_numba import solvers
from nmf_numba.solvers import StepOptions, pgrad_sq_at
from nmf_numba.solvers._common import NO_PENALTY

from . import reference as ref
from .conftest import make_data, make_factors

def make_step(solver, beta, pgrad=False):
    return solvers.get(solver).new_step(StepOptions(beta, pgrad))


STEP_CASES = [(s, 2.0) for s in ("mu", "cd", "hals", "anls", "pgd")] + [("mu", 1.0), ("mu", 0.5)]


@pytest.mark.parametrize("beta", [2.0, 1.0, 0.5])
def test_reference_gradient_is_the_derivative(beta):
    """The reference gradient against central finite differences of the divergence."""
    X = make_data(6, 5, positive=True)
    W, H = make_factors(6, 5, 2)
    gW, gH = ref.gradients(X, W, H, beta)
    h = 1e-6
    for (i, r) in [(0, 0), (3, 1), (5, 0)]:
        Wp, Wm = W.copy(), W.copy()
        Wp[i, r] += h
        Wm[i, r] -= h
        fd = (ref.beta_divergence(X, Wp, H, beta) - ref.beta_divergence(X, Wm, H, beta)) / (2 * h)
        assert gW[i, r] == pytest.approx(fd, rel=1e-5)
    for (r, j) in [(0, 0), (1, 4)]:
        Hp, Hm = H.copy(), H.copy()
        Hp[r, j] += h
        Hm[r, j] -= h
        fd = (ref.beta_divergence(X, W, Hp, beta) - ref.beta_divergence(X, W, Hm, beta)) / (2 * h)
        assert gH[r, j] == pytest.approx(fd, rel=1e-5)


@pytest.mark.parametrize("beta", [2.0, 1.0, 0.5])
def test_pgrad_at_matches_reference(beta, fmt):
    X = make_data(15, 11, fmt=fmt)
    W, H = make_factors(15, 11, 3)
    W[2, 1] = 0.0  # a zero entry: only a negative gradient counts there
    H[0, 4] = 0.0
    data = Data(X)
    Ht = np.ascontiguousarray(H.T)
    gW, gH = ref.gradients(X, W, H, beta)
    assert pgrad_sq_at(data.X_op, W, Ht, beta) == pytest.approx(ref.projected_sq(W, gW), rel=1e-10)
    assert pgrad_sq_at(data.Xt_op, Ht, W, beta) == pytest.approx(
        ref.projected_sq(H, gH), rel=1e-10)


@pytest.mark.parametrize("solver,beta", STEP_CASES + [("newton-cd", 1.0)])
def test_each_half_step_reports_the_gradient_at_its_start(solver, beta, fmt):
    k = 1 if solver == "newton-cd" else 3  # newton-cd: the first coordinate's gradient is exact
    X = make_data(14, 10, fmt=fmt)
    W, H = make_factors(14, 10, k)
    W[0, 0] = 0.0
    data = Data(X)
    Ht = np.ascontiguousarray(H.T)
    expected = ref.projected_sq(W, ref.gradients(X, W, H, beta)[0])
    half = make_step(solver, beta, pgrad=True)(data.X_op, W, Ht, NO_PENALTY)
    assert half.pgrad_sq == pytest.approx(expected, rel=1e-9)
    assert (half.products is None) == (beta != 2)
    assert make_step(solver, beta)(data.X_op, W, Ht, NO_PENALTY).pgrad_sq is None


@pytest.mark.parametrize("solver,beta", [("cd", 2.0), ("hals", 2.0), ("anls", 2.0), ("pgd", 2.0),
                                         ("newton-cd", 1.0)])
def test_stop_pgrad(solver, beta, fmt):
    X = make_data(30, 20, fmt=fmt, seed=3)
    res = nn.nmf(X, 3, solver=solver, beta_loss=beta, init="nndsvda", stop="pgrad", tol=1e-4,
                 max_iter=5000)
    pg = res.history["pgrad"]
    assert res.stop_reason == "tol" and res.converged
    assert pg[0] == 1.0 and pg[-1] < 1e-4 <= pg[-2]
    assert len(pg) == len(res.history["objective"])
    # a stationary point: the projected gradient at the returned factors is small too
    W0, H0 = nn.init.initialize(X, 3, "nndsvda")
    gW, gH = ref.gradients(X, res.W, res.H, beta)
    gW0, gH0 = ref.gradients(X, W0, H0, beta)
    final = ref.projected_sq(res.W, gW) + ref.projected_sq(res.H, gH)
    initial = ref.projected_sq(W0, gW0) + ref.projected_sq(H0, gH0)
    assert np.sqrt(final / initial) < 1e-3


def test_stop_pgrad_warns_in_its_own_words():
    from sklearn.exceptions import ConvergenceWarning

    with pytest.warns(ConvergenceWarning, match="relative projected gradient fell below"):
        nn.nmf(make_data(20, 10), 3, stop="pgrad", tol=1e-12, max_iter=5)


def test_invalid_stop():
    with pytest.raises(ValueError, match=r"Invalid stop 'grad': use one of \['objective', 'pgrad', 'sklearn', 'relative'\]"):
        nn.nmf(make_data(5, 4), 2, stop="grad")


@pytest.mark.parametrize("solver,beta", [("cd", 2), ("mu", 2), ("mu", 1)])
def test_stop_sklearn_stops_where_sklearn_does(solver, beta, fmt):
    """stop="sklearn": scikit-learn's violation rule (cd) / MU rule, hence its iteration count."""
    from sklearn.decomposition import non_negative_factorization

    X = make_data(40, 30, seed=4, fmt=fmt)
    W0, H0 = nn.initialize(X, 5, "random", 0)
    for tol in (1e-2, 1e-4):
        _, _, n_sk = non_negative_factorization(X, W0.copy(), H0.copy(), 5, init="custom",
                                                solver=solver, beta_loss=beta, tol=tol,
                                                max_iter=3000)
        res = nn.nmf(X, 5, init=(W0, H0), solver=solver, beta_loss=beta, tol=tol,
                     max_iter=3000, stop="sklearn", accelerate=False)
        assert res.n_iter == n_sk and res.stop_reason == "tol"


@pytest.mark.parametrize("solver, beta", [("cd", 2.0), ("mu", 1.0)])
def test_relative_rule_is_the_decrease_against_the_current_objective(solver, beta):
    """stop="relative": stop at the first multiple of 10 where f[i−10] − f[i] ≤ tol·f[i]."""
    X = np.random.default_rng(4).random((40, 30)) + 0.1
    tol = 1e-3
    res = nn.nmf(X, 4, solver=solver, beta_loss=beta, stop="relative", tol=tol,
                 max_iter=5000, random_state=0, accelerate=False)
    assert res.stop_reason == "tol"
    f = dict(zip(res.history["iteration"].tolist(), res.history["objective"].tolist()))
    ends = [i for i in range(10, res.n_iter + 1, 10)]
    decreased = [(f[i - 10] - f[i]) <= tol * f[i] for i in ends]
    assert decreased[-1] and not any(decreased[:-1])
    # the start's rule with the same tol stops earlier: f[0] is far above f[i]
    early = nn.nmf(X, 4, solver=solver, beta_loss=beta, tol=tol, max_iter=5000,
                   random_state=0, accelerate=False)
    assert early.n_iter < res.n_iter
