"""accelerate=True: extrapolated coordinate descent (Ang & Gillis 2019) around "cd"/"hals", and
over-relaxed multiplicative updates around "mu" (β ∈ [1, 2])."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import nmf_numba as nn
from nmf_numba import _engine

from .conftest import make_data


def _low_rank(m=40, n=30, k=4, seed=0, noise=0.0):
    rng = np.random.default_rng(seed)
    X = rng.random((m, k)) @ rng.random((k, n))
    return X + noise * rng.random((m, n))


def _fit(X, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nn.nmf(X, **kw)


@pytest.fixture
def restarts(monkeypatch):
    """Counts the restarts of every accelerated run (the spy proves the engine ran)."""
    seen = []
    for engine in (_engine.ExtrapolatedRun, _engine.RelaxedRun):
        def iteration(self, _original=engine.iteration):
            out = _original(self)
            seen.append(self.restarts)
            return out

        monkeypatch.setattr(engine, "iteration", iteration)
    return seen


# (solver, β) pairs with an accelerated variant
VARIANTS = [("cd", 2.0), ("hals", 2.0), ("mu", 2.0), ("mu", 1.0), ("mu", 1.5)]


@pytest.mark.parametrize("solver,beta", VARIANTS)
@pytest.mark.parametrize("case", ["dense", "csr", "float32", "penalties", "mask"])
def test_recorded_objective_never_increases(solver, beta, case, restarts):
    X = _low_rank(noise=0.05)
    kw = dict(n_components=4, solver=solver, beta_loss=beta, accelerate=True, max_iter=80,
              tol=0, random_state=0)
    if case == "csr":
        X = sp.csr_matrix(np.where(X > 0.8, X, 0.0))
    elif case == "float32":
        X = X.astype(np.float32)
    elif case == "penalties":
        kw.update(alpha_W=0.01, l1_ratio=0.5)
    elif case == "mask":
        kw["mask"] = np.random.default_rng(1).random(X.shape) > 0.2
    res = _fit(X, **kw)
    assert restarts, "the extrapolated engine did not run"
    h = res.history["objective"]
    assert np.all(np.diff(h) <= 0), h
    assert res.W.dtype == X.dtype and np.all(res.W >= 0) and np.all(res.H >= 0)
    # the result is the state the history ends with, evaluated exactly (the history's values
    # come from the products, good to about eps(dtype)·‖X‖²)
    values = X.data if sp.issparse(X) else X
    slack = 8 * np.finfo(X.dtype).eps * float(np.sum(np.asarray(values, float) ** 2))
    assert abs(res.loss - h[-1]) <= 1e-8 * h[-1] + slack
    if beta != 2:  # the loss is the exact objective of the returned factors
        exact = nn.metrics.beta_divergence(X, res.W, res.H, beta)
        if case == "penalties":  # alpha 0.01 on both factors, scaled as scikit-learn
            m, n = X.shape
            for F, scale in ((res.W.astype(float), n), (res.H.astype(float), m)):
                exact += 0.01 * 0.5 * scale * (F.sum() + 0.5 * np.sum(F**2))
        if case != "mask":
            assert res.loss == pytest.approx(exact, rel=1e-5 if case == "float32" else 1e-10)


@pytest.mark.parametrize("solver,beta", VARIANTS)
def test_same_minimum_as_the_plain_solver(solver, beta, fmt):
    """On an exactly low-rank problem run to convergence both reach the same objective, the
    accelerated variant in fewer iterations."""
    X = _low_rank(seed=3)
    if fmt == "csr":
        X = sp.csr_matrix(X)
    kw = dict(n_components=4, solver=solver, beta_loss=beta, max_iter=20000, tol=1e-12,
              init="nndsvda", random_state=0)
    plain = _fit(X, accelerate=False, **kw)
    fast = _fit(X, accelerate=True, **kw)
    values = np.asarray(X.todense() if sp.issparse(X) else X)
    scale = 0.5 * np.sum(values**2) if beta == 2 else np.sum(values)
    assert abs(fast.loss - plain.loss) <= 1e-6 * scale
    assert fast.n_iter < plain.n_iter


@pytest.mark.parametrize("solver,beta", [("cd", 2.0), ("mu", 1.0)])
def test_restart_rule_undoes_an_overshoot(solver, beta, restarts):
    """From a start far from the data's scale the first extrapolations (over-relaxed steps)
    overshoot: they are undone (restarts counted) and the recorded objective still never
    rises."""
    X = _low_rank(60, 40, 5, seed=4, noise=0.1)
    W0 = np.full((60, 5), 3.0)
    H0 = np.random.default_rng(2).random((5, 40)) * 3
    res = _fit(X, n_components=5, init=(W0, H0), solver=solver, beta_loss=beta,
               accelerate=True, max_iter=60, tol=0)
    assert restarts[-1] > 0
    assert np.all(np.diff(res.history["objective"]) <= 0)


def test_fewer_iterations_on_sparse_data():
    X = sp.random(400, 200, density=0.05, format="csr", random_state=0)
    kw = dict(n_components=8, solver="cd", max_iter=400, tol=0, random_state=0)
    plain, fast = _fit(X, accelerate=False, **kw), _fit(X, accelerate=True, **kw)
    best = min(plain.history["objective"].min(), fast.history["objective"].min())

    def iterations_to(res, rel):
        return int(np.argmax(res.history["objective"] <= best * (1 + rel)))

    assert iterations_to(fast, 1e-3) < iterations_to(plain, 1e-3)


@pytest.mark.parametrize("solver,beta", [("newton-cd", 1.0)])
def test_mu_first_switches_to_the_solver(solver, beta, fmt, monkeypatch):
    """newton-cd's accelerated variant: over-relaxed MU, then Newton from MU's state; the
    recorded objective never rises and the loss is the exact objective of the result."""
    switched = []
    original = _engine.MuFirstRun._switch

    def spy(self):
        original(self)
        switched.append(self.switched_at)

    monkeypatch.setattr(_engine.MuFirstRun, "_switch", spy)
    rng = np.random.default_rng(5)
    X = rng.poisson(4 * rng.random((50, 5)) @ rng.random((5, 40))).astype(float)
    if fmt == "csr":
        X = sp.csr_matrix(X)
    res = _fit(X, n_components=5, solver=solver, beta_loss=beta, accelerate=True, tol=0,
               max_iter=150, random_state=0)
    assert switched and 10 < switched[0] < 150, switched
    h = res.history["objective"]
    assert np.all(np.diff(h) <= 0)
    assert res.loss == pytest.approx(nn.metrics.beta_divergence(X, res.W, res.H, 1.0),
                                     rel=1e-10)
    plain = _fit(X, n_components=5, solver=solver, beta_loss=beta, accelerate=False, tol=0,
                 max_iter=150, random_state=0)
    assert res.accelerated and not plain.accelerated
    assert res.loss <= plain.loss * (1 + 1e-3)


def _fast_path(X, **kw):
    return _fit(X, n_components=3, max_iter=5, random_state=0, **kw).accelerated


def test_auto_rule():
    """accelerate="auto" is on where the benchmarks measured it faster (solvers.auto_accelerate)
    and off elsewhere; res.accelerated says which ran."""
    rng = np.random.default_rng(0)
    dense = rng.random((30, 20))
    csr = sp.random(30, 20, density=0.3, format="csr", random_state=0)
    counts = sp.csr_matrix(rng.poisson(2.0, (30, 20)).astype(float))
    assert _fast_path(csr)                                   # β = 2 on CSR: cd extrapolated
    assert _fast_path(csr, solver="hals")
    assert not _fast_path(dense)                             # β = 2 dense: off
    assert not _fast_path(csr, solver="anls")                # no variant: off, no error
    assert _fast_path(counts, beta_loss=1)                   # KL: newton-cd after MU
    assert _fast_path(counts.toarray(), beta_loss=1)         # KL dense: mu over-relaxed
    assert not _fast_path(counts.toarray() + 1, beta_loss=0.5)  # other β: off
    assert not _fast_path(csr, missing="unobserved")         # missing values, β = 2: off
    assert not _fast_path(csr, stop="pgrad")
    assert not _fast_path(csr, accelerate=False)


def test_estimator_keeps_scikit_learns_iterations_unless_asked():
    from sklearn.decomposition import NMF as SkNMF

    X = sp.random(40, 30, density=0.3, format="csr", random_state=1)
    W0, H0 = nn.initialize(X, 4, "nndsvda", random_state=0)
    kw = dict(n_components=4, init="custom", max_iter=30, tol=0)
    ours = nn.NMF(**kw)
    W = ours.fit_transform(X, W=W0.copy(), H=H0.copy())
    assert not ours.result_.accelerated
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        W_sk = SkNMF(**kw).fit_transform(X, W=W0.copy(), H=H0.copy())
        fast = nn.NMF(accelerate=True, **kw)
        fast.fit(X, W=W0.copy(), H=H0.copy())
    np.testing.assert_allclose(ours.components_, SkNMF(**kw).fit(X, W=W0.copy(),
                               H=H0.copy()).components_, rtol=1e-10, atol=1e-12)
    assert W.shape == W_sk.shape
    assert fast.result_.accelerated
    assert nn.NMF(4, solver="hals", max_iter=5).fit(X).result_.accelerated  # "auto" rule


def test_options():
    X = make_data(20, 12)
    with pytest.raises(ValueError, match="solver='anls' has no accelerated variant"):
        nn.nmf(X, 3, solver="anls", accelerate=True)
    with pytest.raises(ValueError, match=r"solver='mu' has no accelerated variant .* "
                                         r"beta_loss=0.5"):
        nn.nmf(X, 3, solver="mu", beta_loss=0.5, accelerate=True)
    with pytest.raises(ValueError, match="no accelerated variant with a graph penalty"):
        nn.nmf(X, 3, solver="mu", beta_loss=1, accelerate=True, graph=np.eye(20),
               graph_reg=1.0)
    with pytest.raises(ValueError, match="stop='pgrad' is not supported"):
        nn.nmf(X, 3, solver="cd", accelerate=True, stop="pgrad")
    with pytest.raises(ValueError, match="Invalid accelerate 'yes'"):
        nn.nmf(X, 3, accelerate="yes")
    # "auto" where it is off: the same bits as accelerate=False
    a = _fit(X, n_components=3, random_state=0, max_iter=20)
    b = _fit(X, n_components=3, random_state=0, max_iter=20, accelerate=False)
    np.testing.assert_array_equal(a.W, b.W)
    assert not a.accelerated


def test_default_kl_fit_is_at_least_as_good_as_scikit_learns_on_real_counts():
    """What a user runs: nmf(X, k, beta_loss="kullback-leibler") with every other default,
    against scikit-learn's default KL fit (MU, 200 iterations, tol=1e-4) from the same start,
    on the Reuters word counts that ship in the lda package (test extra)."""
    from sklearn.decomposition import non_negative_factorization

    from nmf_numba import datasets

    X = datasets.load_reuters().X[:200]
    X = X[:, np.asarray(X.sum(axis=0)).ravel() > 0].tocsr()
    W0, H0 = nn.initialize(X, 10, "nndsvda", random_state=0)
    res = nn.nmf(X, 10, beta_loss="kullback-leibler", init=(W0, H0))
    assert res.accelerated and res.solver == "newton-cd"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        W, H, _ = non_negative_factorization(X, W0.copy(), H0.copy(), 10, init="custom",
                                             solver="mu", beta_loss="kullback-leibler")
    theirs = nn.metrics.beta_divergence(X, W, H, "kullback-leibler")
    assert res.loss <= theirs
