"""nmf(): agreement with scikit-learn, dense = CSR, monotonicity, dtypes, determinism, stopping."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.decomposition import non_negative_factorization
from sklearn.exceptions import ConvergenceWarning

import nmf_numba as nn

from . import reference as ref
from .conftest import make_data, make_factors

SKLEARN_BETAS = [2.0, 1.0, 0.5, 0.0, 1.5, 3.0]


def _sklearn_fit(X, W0, H0, solver, beta, max_iter):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        W, H, _ = non_negative_factorization(
            X, W0.copy(), H0.copy(), n_components=W0.shape[1], init="custom", solver=solver,
            beta_loss=beta, max_iter=max_iter, tol=0, shuffle=False,
        )
    return W, H


# beta <= 0 is undefined on data with zeros, which sparse data always has: dense only there.
MU_CASES = [(b, f) for b in SKLEARN_BETAS for f in ("dense", "csr") if b > 0 or f == "dense"]


@pytest.mark.parametrize("beta,fmt", MU_CASES)
def test_mu_matches_sklearn(beta, fmt):
    X = make_data(25, 18, fmt=fmt, positive=beta <= 0)
    W0, H0 = make_factors(25, 18, 4)
    res = nn.nmf(X, 4, solver="mu", beta_loss=beta, init=(W0, H0), max_iter=20, tol=0,
                 accelerate=False)
    W, H = _sklearn_fit(X, W0, H0, "mu", beta, 20)
    expected = ref.beta_divergence(X, W, H, beta)
    assert res.n_iter == 20
    assert res.loss == pytest.approx(expected, rel=1e-6)
    np.testing.assert_allclose(res.W @ res.H, W @ H, rtol=1e-6, atol=1e-9)


def test_cd_matches_sklearn(fmt):
    X = make_data(30, 20, fmt=fmt)
    W0, H0 = make_factors(30, 20, 5)
    res = nn.nmf(X, 5, solver="cd", init=(W0, H0), max_iter=20, tol=0, accelerate=False)
    W, H = _sklearn_fit(X, W0, H0, "cd", 2.0, 20)
    assert res.loss == pytest.approx(ref.beta_divergence(X, W, H, 2.0), rel=1e-6)
    np.testing.assert_allclose(res.W, W, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(res.H, H, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    "solver,beta",
    # hals is in tests/test_hals.py: its sweep count follows the cost of X B (nnz vs m·n)
    [("cd", 2.0), ("pgd", 2.0), ("mu", 2.0), ("mu", 1.0), ("mu", 0.5), ("mu", 1.5), ("mu", 3.0), ("mu", 0.0),
     ("mu", -0.5), ("newton-cd", 1.0)],
)
def test_dense_equals_csr(solver, beta, dtype):
    # beta <= 0 needs X > 0: a CSR matrix that stores every entry
    Xd = make_data(22, 15, dtype=dtype, positive=beta <= 0)
    W0, H0 = make_factors(22, 15, 3, dtype)
    kw = dict(solver=solver, beta_loss=beta, init=(W0, H0), max_iter=15, tol=0,
              accelerate=False)
    rd = nn.nmf(Xd, 3, **kw)
    rs = nn.nmf(sp.csr_matrix(Xd), 3, **kw)
    rtol = 1e-9 if dtype == np.float64 else 1e-3
    np.testing.assert_allclose(rd.W, rs.W, rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(rd.H, rs.H, rtol=rtol, atol=rtol * 1e-2)
    assert rd.loss == pytest.approx(rs.loss, rel=rtol)


MONOTONE_CASES = [(s, 2.0, f) for s in ("cd", "hals", "anls", "pgd") for f in ("dense", "csr")] + [
    ("newton-cd", 1.0, f) for f in ("dense", "csr")] + [
    ("mu", b, f) for b, f in MU_CASES + [(-1.0, "dense")]
]


@pytest.mark.parametrize("solver,beta,fmt", MONOTONE_CASES)
def test_objective_never_increases(solver, beta, fmt):
    X = make_data(20, 16, fmt=fmt, positive=beta <= 0)
    objectives = []

    def record(info):
        objectives.append(info.objective)

    res = nn.nmf(X, 4, solver=solver, beta_loss=beta, init="random", random_state=3,
                 max_iter=60, tol=0, callback=record)
    f = np.asarray(res.history["objective"])
    assert len(f) >= 2
    assert np.all(np.diff(f) <= 1e-10 * f[0]), f
    # every check after the initial one reached the callback
    np.testing.assert_array_equal(objectives, f[1:])


@pytest.mark.parametrize("init", ["random", "nndsvda"])
@pytest.mark.parametrize("solver,beta", [("cd", 2.0), ("hals", 2.0), ("anls", 2.0),
                                         ("pgd", 2.0), ("mu", 1.0), ("mu", 0.5),
                                         ("newton-cd", 1.0)])
def test_float32_in_float32_out(solver, beta, fmt, init):
    X = make_data(15, 12, dtype=np.float32, fmt=fmt)
    kw = dict(solver=solver, beta_loss=beta, max_iter=10, tol=0, random_state=0, init=init)
    res = nn.nmf(X, 3, **kw)
    assert res.W.dtype == np.float32 and res.H.dtype == np.float32
    assert np.all(res.W >= 0) and np.all(res.H >= 0)
    r64 = nn.nmf(X.astype(np.float64), 3, **kw)
    assert res.loss == pytest.approx(r64.loss, rel=1e-3)


def test_int_and_bool_become_float64():
    X = (np.arange(30).reshape(6, 5) % 4).astype(np.int64)
    res = nn.nmf(X, 2, max_iter=5, tol=0)
    assert res.W.dtype == np.float64
    res = nn.nmf(X > 1, 2, max_iter=5, tol=0)
    assert res.H.dtype == np.float64


@pytest.mark.parametrize("init", ["random", "nndsvdar", "nndsvda"])
def test_same_seed_same_result(init, fmt):
    X = make_data(20, 14, fmt=fmt)
    a = nn.nmf(X, 4, init=init, random_state=7, max_iter=30, solver="mu", beta_loss=1)
    b = nn.nmf(X, 4, init=init, random_state=7, max_iter=30, solver="mu", beta_loss=1)
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.H, b.H)
    g = nn.nmf(X, 4, init=init, random_state=np.random.default_rng(7), max_iter=5, tol=0)
    h = nn.nmf(X, 4, init=init, random_state=np.random.default_rng(7), max_iter=5, tol=0)
    np.testing.assert_array_equal(g.W, h.W)


def test_inputs_are_not_modified(fmt):
    X = make_data(12, 9, fmt=fmt)
    W0, H0 = make_factors(12, 9, 3)
    copies = [X.copy(), W0.copy(), H0.copy()]
    nn.nmf(X, 3, init=(W0, H0), max_iter=5, solver="mu", beta_loss=0.5)
    nn.nmf(X, 3, init=(W0, H0), max_iter=5, solver="cd")
    for before, after in zip(copies, [X, W0, H0]):
        if sp.issparse(before):
            assert (before != after).nnz == 0
        else:
            np.testing.assert_array_equal(before, after)


def test_unsorted_duplicate_csr_is_canonicalised_on_a_copy():
    data = np.array([1.0, 2.0, 3.0, 4.0])
    indices = np.array([2, 0, 2, 1])
    indptr = np.array([0, 3, 4])
    X = sp.csr_matrix((data, indices, indptr), shape=(2, 3))
    before = (X.data.copy(), X.indices.copy(), X.indptr.copy())
    res = nn.nmf(X, 2, solver="mu", beta_loss=1, max_iter=50, tol=0, random_state=0)
    for a, b in zip(before, (X.data, X.indices, X.indptr)):
        np.testing.assert_array_equal(a, b)
    canon = sp.csr_matrix(np.array([[2.0, 0, 4.0], [0, 4.0, 0]]))
    res2 = nn.nmf(canon, 2, solver="mu", beta_loss=1, max_iter=50, tol=0, random_state=0)
    assert res.loss == pytest.approx(res2.loss, rel=1e-12)


@pytest.mark.parametrize("solver,beta", [("cd", 2.0), ("mu", 2.0), ("mu", 1.0), ("mu", 0.5),
                                         ("newton-cd", 1.0), ("hals", 2.0), ("anls", 2.0),
                                         ("pgd", 2.0)])
def test_all_zero_lines_and_all_zero_matrix_are_finite(solver, beta, fmt):
    X = make_data(10, 8)
    X[3] = 0
    X[:, 2] = 0
    Xs = [X, np.zeros((6, 5))]
    for X in Xs:
        X = sp.csr_matrix(X) if fmt == "csr" else X
        for init in ("random", "nndsvd", "nndsvda"):
            res = nn.nmf(X, 2, solver=solver, beta_loss=beta, init=init, max_iter=20, random_state=0)
            for a in (res.W, res.H):
                assert np.all(np.isfinite(a)) and np.all(a >= 0)
            assert np.isfinite(res.loss) and np.isfinite(res.reconstruction_err)
            assert np.all(np.isfinite(res.history["objective"]))


def test_result_fields_and_history():
    X = make_data(16, 10)
    res = nn.nmf(X, 3, max_iter=7, tol=0, random_state=0)
    assert res.W.shape == (16, 3) and res.H.shape == (3, 10)
    assert res.solver == "hals" and res.beta == 2.0
    assert res.n_iter == 7 and res.stop_reason == "max_iter" and not res.converged
    h = res.history
    assert set(h) == {"iteration", "time", "objective"}
    assert len(h["iteration"]) == len(h["time"]) == len(h["objective"]) == 8
    np.testing.assert_array_equal(h["iteration"], np.arange(8))
    assert np.all(np.diff(h["time"]) >= 0)
    assert res.loss == pytest.approx(ref.beta_divergence(X, res.W, res.H, 2), rel=1e-10)
    assert res.loss == pytest.approx(h["objective"][-1], rel=1e-9)
    assert res.reconstruction_err == pytest.approx(np.linalg.norm(X - res.W @ res.H), rel=1e-10)


def test_history_every_tenth_iteration_for_beta_not_two():
    X = make_data(16, 10)
    res = nn.nmf(X, 3, solver="mu", beta_loss=1, max_iter=25, tol=0, random_state=0)
    np.testing.assert_array_equal(res.history["iteration"], [0, 10, 20, 25])
    assert res.loss == pytest.approx(res.history["objective"][-1], rel=1e-12)


def test_n_components_none():
    X = make_data(7, 5)
    assert nn.nmf(X, max_iter=3, tol=0).W.shape == (7, 5)
    W0, H0 = make_factors(7, 5, 2)
    assert nn.nmf(X, init=(W0, H0), max_iter=3, tol=0).H.shape == (2, 5)


@pytest.mark.parametrize("solver,beta", [("cd", 2.0), ("mu", 2.0), ("mu", 1.0)])
def test_tol_rule_compares_objectives_ten_iterations_apart(solver, beta):
    X = make_data(30, 20)
    res = nn.nmf(X, 4, solver=solver, beta_loss=beta, tol=1e-3, max_iter=1000, random_state=0)
    assert res.converged and res.stop_reason == "tol" and res.n_iter < 1000
    assert res.n_iter % 10 == 0
    it, f = res.history["iteration"], res.history["objective"]
    every10 = f[it % 10 == 0]
    drops = (every10[:-1] - every10[1:]) / f[0]
    assert drops[-1] < 1e-3 and np.all(drops[:-1] >= 1e-3)


def test_max_iter_warns_only_with_positive_tol():
    X = make_data(30, 20)
    with pytest.warns(ConvergenceWarning, match="Maximum number of iterations 3"):
        res = nn.nmf(X, 4, tol=1e-12, max_iter=3, random_state=0)
    assert res.stop_reason == "max_iter" and not res.converged
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.nmf(X, 4, tol=0, max_iter=3, random_state=0)


def test_callback_stops_and_sees_copies():
    X = make_data(20, 12)
    seen = []

    def stop_at_4(info):
        seen.append(info.iteration)
        info.W[:] = -1.0  # a copy: must not affect the fit
        return info.iteration >= 4

    res = nn.nmf(X, 3, max_iter=50, tol=0, callback=stop_at_4, random_state=0)
    assert res.stop_reason == "callback" and res.n_iter == 4 and seen == [1, 2, 3, 4]
    assert np.all(res.W >= 0)


def test_time_limit():
    X = make_data(40, 30)
    res = nn.nmf(X, 5, solver="mu", beta_loss=0.5, max_iter=10**6, tol=0, time_limit=0.2,
                 random_state=0)
    assert res.stop_reason == "time_limit" and 0 < res.n_iter < 10**6
    assert res.history["iteration"][-1] == res.n_iter
    assert res.history["time"][-1] < 5.0


def test_verbose_progress_bar(capsys):
    X = make_data(10, 8)
    nn.nmf(X, 2, max_iter=5, tol=0, verbose=True)
    err = capsys.readouterr().err
    assert "nmf[hals]" in err and "objective=" in err


@pytest.mark.parametrize("array_type", ["csr_array", "csc_matrix", "coo_matrix", "lil_matrix"])
def test_every_sparse_format_and_array_api(array_type):
    Xd = make_data(12, 9)
    X = getattr(sp, array_type)(Xd)
    a = nn.nmf(X, 3, solver="mu", beta_loss=1, max_iter=10, tol=0, random_state=0)
    b = nn.nmf(Xd, 3, solver="mu", beta_loss=1, max_iter=10, tol=0, random_state=0)
    np.testing.assert_allclose(a.W, b.W, rtol=1e-10)


def test_sparse_fit_never_densifies(monkeypatch):
    """A fit on sparse X must not call toarray/todense, for any beta or init."""
    import inspect

    def refuse(self, *args, **kwargs):
        raise AssertionError("sparse X was densified")

    patched = 0
    for _, cls in inspect.getmembers(sp, inspect.isclass):
        for klass in cls.__mro__:
            for name in ("toarray", "todense"):
                if name in vars(klass):
                    monkeypatch.setattr(klass, name, refuse)
                    patched += 1
    assert patched >= 2
    with pytest.raises(AssertionError, match="densified"):  # the patch does intercept CSR
        sp.csr_matrix(np.eye(2)).toarray()
    X = make_data(30, 20, fmt="csr")
    for beta in (2.0, 1.0, 0.5, 3.0):
        for init in ("nndsvd", "nndsvda", "random"):
            nn.nmf(X, 3, beta_loss=beta, init=init, max_iter=12, tol=0, random_state=0)
    W, H = np.ones((30, 1)), np.ones((1, 20))
    for metric in (nn.metrics.explained_variance, nn.metrics.relative_error):
        assert np.isfinite(metric(X, W, H))
    for beta in (2.0, 1.0, 0.5):
        assert np.isfinite(nn.metrics.beta_divergence(X, W, H, beta))


def test_sparse_peak_memory_is_far_below_dense():
    """On a tall sparse X the fit's numpy allocations stay far below one dense m×n array."""
    import tracemalloc

    m, n = 4000, 3000
    rng = np.random.default_rng(0)
    X = sp.random(m, n, density=0.002, format="csr", random_state=rng)
    nn.nmf(X, 4, solver="mu", beta_loss=1, max_iter=2, tol=0)  # compile outside the trace
    dense_bytes = m * n * 8
    for beta, solver in ((1.0, "mu"), (2.0, "cd"), (2.0, "mu")):
        tracemalloc.start()
        nn.nmf(X, 4, solver=solver, beta_loss=beta, max_iter=5, tol=0, random_state=0)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < dense_bytes / 20, (solver, beta, peak)


def test_large_float32_values_match_sklearn():
    """float32 data around 1e13: no overflow to NaN in the MU ratio (fastmath must not
    reassociate it), same loss as scikit-learn."""
    rng = np.random.default_rng(0)
    X = (rng.random((50, 40)) * 1e13).astype(np.float32)
    W0, H0 = (rng.random((50, 4)) * 1e6).astype(np.float32), (rng.random((4, 40)) * 1e6).astype(
        np.float32)
    res = nn.nmf(X, 4, solver="mu", init=(W0, H0), max_iter=20, tol=0)
    W, H = _sklearn_fit(X, W0, H0, "mu", 2.0, 20)
    assert np.all(np.isfinite(res.W)) and np.isfinite(res.loss)
    assert res.loss == pytest.approx(ref.beta_divergence(X, W, H, 2.0), rel=1e-3)
