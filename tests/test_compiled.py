"""The compiled small-problem loop (nmf_numba._compiled) against the Python loop it replaces.

Every test checks which loop ran: ``ran`` counts the calls of ``_compiled.iterate``; setting
``settings.small_problem`` to 0 sends the same fit through the Python loop."""

import numpy as np
import pytest
import scipy.sparse as sp

import nmf_numba as nn
from nmf_numba import _compiled, _threads
from nmf_numba.kernels import csr as csr_k
from nmf_numba.kernels import dense as dense_k

from .reference import EPSILON, hals_sweep_violation


@pytest.fixture
def ran(monkeypatch):
    """The number of compiled chunks run so far (a list whose length grows)."""
    calls = []
    iterate = _compiled.iterate

    def spy(*args):
        calls.append(1)
        return iterate(*args)

    monkeypatch.setattr(_compiled, "iterate", spy)
    return calls


def _python_loop(monkeypatch, X, k, **kw):
    with monkeypatch.context() as patch:
        patch.setattr(_threads.settings, "small_problem", 0)
        return nn.nmf(X, k, **kw)


def _data(fmt, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if fmt == "dense":
        return (rng.random((40, 25)) + 0.01).astype(dtype)
    X = sp.random(40, 30, density=0.3, format="csr", random_state=seed, dtype=np.float64)
    X.data += 0.01
    return X.astype(dtype)


CASES = [
    ("cd", 2.0, {}),
    ("hals", 2.0, {}),
    ("mu", 2.0, {}),
    ("mu", 1.0, {}),
    ("mu", 0.5, {}),
    ("mu", 0.0, {}),
    ("mu", 3.0, {}),
    ("cd", 2.0, dict(alpha_W=0.02, l1_ratio=0.5)),
    ("hals", 2.0, dict(alpha_W=0.01, alpha_H=0.03, l1_ratio=1.0)),
    ("mu", 1.0, dict(alpha_W=0.01, l1_ratio=0.3)),
    ("cd", 2.0, dict(stop="sklearn")),
    ("mu", 2.0, dict(stop="sklearn")),
    ("mu", 1.0, dict(stop="sklearn")),
    ("hals", 2.0, dict(stop="relative")),
    ("mu", 1.0, dict(stop="relative")),
]


@pytest.mark.parametrize("fmt", ["dense", "csr"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver, beta, extra", CASES)
def test_compiled_loop_gives_the_python_loops_fit(monkeypatch, ran, fmt, dtype, solver, beta,
                                                  extra):
    if fmt == "csr" and beta <= 0:
        pytest.skip("β ≤ 0 needs X > 0 everywhere")
    X = _data(fmt, dtype)
    kw = dict(solver=solver, beta_loss=beta, random_state=0, max_iter=150, tol=1e-5,
              accelerate=False, **extra)
    compiled = nn.nmf(X, 4, **kw)
    assert len(ran) == 1
    python = _python_loop(monkeypatch, X, 4, **kw)
    assert len(ran) == 1  # the second fit did not use it
    assert compiled.n_iter == python.n_iter
    assert compiled.stop_reason == python.stop_reason
    assert compiled.W.dtype == python.W.dtype == dtype
    tol = 1e-10 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(compiled.W, python.W, rtol=tol, atol=tol * np.abs(python.W).max())
    np.testing.assert_allclose(compiled.H, python.H, rtol=tol, atol=tol * np.abs(python.H).max())
    np.testing.assert_array_equal(compiled.history["iteration"], python.history["iteration"])
    np.testing.assert_allclose(compiled.history["objective"], python.history["objective"],
                               rtol=tol)
    assert np.all(np.diff(compiled.history["time"]) >= 0)
    assert compiled.loss == pytest.approx(python.loss, rel=tol)


@pytest.mark.parametrize("beta", [2.0, 1.0])
def test_callback_sees_every_check_and_can_stop_the_compiled_loop(monkeypatch, ran, beta):
    X = _data("dense", np.float64)
    seen = {"compiled": [], "python": []}

    def callback_for(key):
        def callback(info):
            seen[key].append((info.iteration, info.objective, info.W.sum(), info.H.sum()))
            return info.iteration >= 40
        return callback

    kw = dict(solver="mu", beta_loss=beta, random_state=0, max_iter=100, tol=0, accelerate=False)
    compiled = nn.nmf(X, 3, callback=callback_for("compiled"), **kw)
    assert len(ran) > 1  # a chunk per check
    python = _python_loop(monkeypatch, X, 3, callback=callback_for("python"), **kw)
    assert compiled.stop_reason == python.stop_reason == "callback"
    assert compiled.n_iter == python.n_iter == 40
    assert [s[0] for s in seen["compiled"]] == [s[0] for s in seen["python"]]
    np.testing.assert_allclose(np.array(seen["compiled"])[:, 1:],
                               np.array(seen["python"])[:, 1:], rtol=1e-10)


def test_time_limit_stops_the_compiled_loop(ran):
    X = _data("dense", np.float64)
    nn.nmf(X, 4, solver="cd", max_iter=2, tol=0, time_limit=10.0)  # compiled before timing
    ran.clear()
    res = nn.nmf(X, 4, solver="cd", max_iter=10**7, tol=0, time_limit=0.2, random_state=0)
    assert len(ran) > 1  # chunks, the time checked between them
    assert res.stop_reason == "time_limit"
    assert 0.2 <= res.history["time"][-1] < 2.0
    assert res.n_iter == res.history["iteration"][-1] < 10**7
    assert np.all(np.diff(res.history["iteration"]) == 1)  # β = 2: every iteration checked


@pytest.mark.parametrize("kw", [
    dict(solver="mu", beta_loss=1.0, accelerate=True),
    dict(solver="cd", shuffle=True),
    dict(solver="cd", stop="pgrad", tol=1e-3),
    dict(solver="cd", smoothness=0.3),
    dict(solver="anls"),
    dict(solver="newton-cd", beta_loss=1.0),
    dict(solver="cd", graph=sp.identity(40, format="csr"), graph_reg=0.1),
])
def test_what_the_compiled_loop_does_not_run_takes_the_python_loop(ran, kw):
    X = _data("dense", np.float64)
    nn.nmf(X, 3, max_iter=20, random_state=0, **kw)
    assert ran == []


@pytest.mark.parametrize("how", ["nan", "mask", "unobserved"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver, extra", [
    ("cd", {}), ("hals", {}), ("cd", dict(alpha_W=0.02, alpha_H=0.01, l1_ratio=0.5)),
    ("hals", dict(stop="relative")), ("cd", dict(stop="sklearn")),
])
def test_missing_values_in_the_compiled_loop(monkeypatch, ran, how, dtype, solver, extra):
    """cd/hals with missing values (each row's own Gram matrix, only the observed entries in
    the objective): the Python loop's iterates and stopping iteration."""
    X = _data("dense", dtype, seed=2)
    hidden = np.random.default_rng(5).random(X.shape) < 0.25
    kw = dict(solver=solver, random_state=0, max_iter=150, tol=1e-5, accelerate=False, **extra)
    if how == "nan":
        X[hidden] = np.nan
    elif how == "mask":
        kw["mask"] = ~hidden
    else:
        X = sp.csr_matrix(np.where(hidden, 0, X))
        kw["missing"] = "unobserved"
    compiled = nn.nmf(X, 4, **kw)
    assert len(ran) == 1
    python = _python_loop(monkeypatch, X, 4, **kw)
    assert len(ran) == 1
    assert compiled.n_iter == python.n_iter and compiled.stop_reason == python.stop_reason
    tol = 1e-10 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(compiled.W, python.W, rtol=tol, atol=tol * np.abs(python.W).max())
    np.testing.assert_allclose(compiled.H, python.H, rtol=tol, atol=tol * np.abs(python.H).max())
    np.testing.assert_allclose(compiled.history["objective"], python.history["objective"],
                               rtol=tol)
    assert compiled.loss == pytest.approx(python.loss, rel=tol)


@pytest.mark.parametrize("kw", [dict(solver="mu"), dict(solver="cd", accelerate=True)])
def test_missing_values_with_other_solvers_take_the_python_loop(ran, kw):
    X = _data("dense", np.float64)
    X[0, 0] = np.nan
    nn.nmf(X, 3, max_iter=20, random_state=0, **kw)
    assert ran == []


def test_above_the_threshold_takes_the_python_loop(monkeypatch, ran):
    X = _data("dense", np.float64)
    monkeypatch.setattr(_threads.settings, "small_problem", X.size)
    nn.nmf(X, 3, solver="cd", max_iter=5, random_state=0)
    assert ran == []
    monkeypatch.setattr(_threads.settings, "small_problem", X.size + 1)
    nn.nmf(X, 3, solver="cd", max_iter=5, random_state=0)
    assert len(ran) == 1


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("solver", ["mu", "cd"])
def test_overflow_in_the_compiled_loop_is_a_clear_error(ran, solver):
    X = (np.random.default_rng(0).random((20, 10)) * 1e30).astype(np.float32)
    with pytest.raises(FloatingPointError, match="became nan at iteration 1.*Rescale X"):
        nn.nmf(X, 3, solver=solver, init="random", random_state=0, max_iter=20, tol=0)
    assert len(ran) == 1  # inside the compiled loop, not at the start


def test_input_is_not_modified(ran):
    X = _data("dense", np.float64)
    W0, H0 = nn.initialize(X, 3, "nndsvda")
    copies = X.copy(), W0.copy(), H0.copy()
    nn.nmf(X, 3, init=(W0, H0), solver="cd", max_iter=10)
    assert len(ran) == 1
    for before, after in zip(copies, (X, W0, H0)):
        np.testing.assert_array_equal(before, after)


# ---------------------------------------------------------------- the serial twins

def test_serial_twins_are_the_parallel_kernels_bit_for_bit():
    rng = np.random.default_rng(3)
    X = rng.random((37, 23))
    A, B = rng.random((37, 4)), rng.random((23, 4))
    G, XB = B.T @ B, X @ B
    P = A @ B.T
    np.testing.assert_array_equal(dense_k.beta_terms(X, P, 0.5, EPSILON),
                                  dense_k.beta_terms_serial(X, P, 0.5, EPSILON))
    np.testing.assert_array_equal(dense_k.residual_sq(X, P), dense_k.residual_sq_serial(X, P))
    num, den = rng.random((37, 4)), rng.random((37, 4))
    A1, A2 = A.copy(), A.copy()
    dense_k.mu_apply(A1, num, den, 0.5, EPSILON, 0.0)
    dense_k.mu_apply_serial(A2, num, den, 0.5, EPSILON, 0.0)
    np.testing.assert_array_equal(A1, A2)
    S = sp.random(37, 23, density=0.4, format="csr", random_state=1)
    out1, out2 = np.empty((37, 4)), np.empty((37, 4))
    csr_k.spmm(S.data, S.indices, S.indptr, B, out1)
    csr_k.spmm_serial(S.data, S.indices, S.indptr, B, out2)
    np.testing.assert_array_equal(out1, out2)
    csr_k.mu_ratio_times(S.data, S.indices, S.indptr, A, B, 1.5, EPSILON, out1)
    csr_k.mu_ratio_times_serial(S.data, S.indices, S.indptr, A, B, 1.5, EPSILON, out2)
    np.testing.assert_array_equal(out1, out2)
    np.testing.assert_array_equal(csr_k.residual_terms(S.data, S.indices, S.indptr, A, B),
                                  csr_k.residual_terms_serial(S.data, S.indices, S.indptr, A, B))
    weights = np.random.default_rng(2).random(S.nnz) + 0.1
    for w in (np.empty(0, S.dtype), weights):  # unit weights (a mask) and weighted
        A1, A2, change1, change2 = A.copy(), A.copy(), np.empty(37), np.empty(37)
        csr_k.masked_hals_rows(S.data, S.indices, S.indptr, w, A1, B, 0.01, 0.02, 2, change1)
        csr_k.masked_hals_rows_serial(S.data, S.indices, S.indptr, w, A2, B, 0.01, 0.02, 2,
                                      change2)
        np.testing.assert_array_equal(A1, A2)
        np.testing.assert_array_equal(change1, change2)
    np.testing.assert_array_equal(
        csr_k.weighted_residual(S.data, S.indices, S.indptr, weights, A, B),
        csr_k.weighted_residual_serial(S.data, S.indices, S.indptr, weights, A, B))
    assert not dense_k.mu_apply_serial.targetoptions.get("parallel")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_finite_non_negative(dtype):
    x = np.arange(10, dtype=dtype)
    assert dense_k.finite_non_negative(x)
    for bad in (-1e-30, np.nan, np.inf, -np.inf):
        y = x.copy()
        y[7] = bad
        assert not dense_k.finite_non_negative(y)
    assert dense_k.finite_non_negative(np.empty(0, dtype))


def test_chunks_do_not_change_the_fit(monkeypatch, ran):
    X = _data("dense", np.float64)
    kw = dict(solver="hals", random_state=0, max_iter=60, tol=0)
    one = nn.nmf(X, 4, **kw)
    assert len(ran) == 1
    monkeypatch.setattr(_compiled, "CHUNK_SECONDS", 1e-7)  # a chunk per iteration or so
    many = nn.nmf(X, 4, **kw)
    assert len(ran) > 10
    np.testing.assert_array_equal(one.W, many.W)
    np.testing.assert_array_equal(one.history["objective"], many.history["objective"])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("m, k", [(1, 1), (7, 1), (30, 3), (53, 8)])
def test_hals_sweep_columns_is_the_reference_sweep(m, k, dtype):
    rng = np.random.default_rng(m + k)
    A = rng.random((m, k)).astype(dtype)
    A[rng.random((m, k)) < 0.3] = 0  # zeros: the projected part of the violation
    B = rng.random((11, k)).astype(dtype)
    G, XB = (B.T @ B).astype(dtype), (rng.random((m, 11)) @ B).astype(dtype)
    expected, violation = hals_sweep_violation(A, G, XB)
    A1 = A.copy()
    moved, got_violation = dense_k.hals_sweep_columns(A1, G, XB)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(A1, expected, rtol=tol, atol=tol)
    assert got_violation == pytest.approx(violation, rel=tol)
    assert moved == pytest.approx(float(np.sum((expected - A) ** 2)), rel=1e-4, abs=1e-12)
    # the parallel row-block kernel: the same sweep up to rounding
    A2 = A.copy()
    dense_k.hals_sweep(A2, G, XB)
    np.testing.assert_allclose(A1, A2, rtol=tol, atol=tol)
    # without the violation: the same sweep bit for bit, the violation not summed
    A3 = A.copy()
    moved3, skipped = dense_k.hals_sweep_columns(A3, G, XB, False)
    np.testing.assert_array_equal(A3, A1)
    assert moved3 == moved and skipped == 0.0


def test_hals_sweep_columns_skips_a_zero_or_subnormal_hessian():
    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    G = np.array([[0.0, 0.0], [0.0, 1e-310]])
    XB = np.ones((2, 2))
    before = A.copy()
    moved, _ = dense_k.hals_sweep_columns(A, G, XB)
    np.testing.assert_array_equal(A, before)
    assert moved == 0.0
