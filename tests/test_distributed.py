"""nmf() on Dask arrays (nmf_numba.distributed) against the single-machine nmf().

A LocalCluster with two worker processes (one thread each) is started once for this module; its
workers load the kernels once (``_warm_workers``).  Each distributed fit must equal the
single-machine fit from the same start after the same number of iterations, to 1e-8 relative
in float64, for dense and CSR blocks.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import nmf_numba as nn
from nmf_numba.solvers._common import scaled_penalties

da = pytest.importorskip("dask.array", reason="the Dask path needs the dask extra")
distributed = pytest.importorskip("distributed", reason="the Dask cluster tests need the dask extra (distributed)")

K = 4
N_ITER = 25


def _problem(fmt, dtype=np.float64, m=90, n=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((m, 5)) @ rng.random((5, n)) + 0.05 * rng.random((m, n))
    if fmt == "csr":
        X[rng.random((m, n)) < 0.6] = 0
        X = sp.csr_matrix(X)
    return X.astype(dtype)


def _dask(X, rows=25):
    return da.from_array(X, chunks=(rows, X.shape[1]), asarray=not sp.issparse(X))


def _warm_workers():
    """Compile (or load from Numba's cache) every kernel the tests use, on this worker."""
    warnings.simplefilter("ignore")
    for fmt in ("dense", "csr"):
        X = _problem(fmt, m=12, n=8)
        for solver, beta in (("cd", 2), ("hals", 2), ("mu", 2), ("mu", 1), ("mu", 0.5)):
            nn.nmf(X, 2, solver=solver, beta_loss=beta, init="random", max_iter=2,
                   random_state=0)
    return True


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=50,
    )
    with distributed.Client(cluster) as client:
        assert all(client.run(_warm_workers).values())
        yield client
    cluster.close()


def _rel(a, b):
    return np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max()


@pytest.mark.parametrize("fmt", ["dense", "csr"])
@pytest.mark.parametrize("solver,beta", [("mu", 2.0), ("cd", 2.0), ("mu", 1.0), ("mu", 0.5),
                                         ("hals", 2.0)])
def test_equals_single_machine_from_the_same_start(client, fmt, solver, beta):
    X = _problem(fmt)
    W0, H0 = nn.initialize(X, K, "random", random_state=1)
    kw = dict(solver=solver, beta_loss=beta, init=(W0, H0), max_iter=N_ITER, tol=0)
    one = nn.nmf(X, K, accelerate=False, **kw)  # the Dask path's auto: plain
    res = nn.nmf(_dask(X), K, **kw)
    assert isinstance(res.W, da.Array) and res.W.chunks[0] == (25, 25, 25, 15)
    assert isinstance(res.H, np.ndarray)
    assert res.n_iter == one.n_iter == N_ITER and res.stop_reason == "max_iter"
    assert _rel(res.W.compute(), one.W) < 1e-8
    assert _rel(res.H, one.H) < 1e-8
    assert res.loss == pytest.approx(one.loss, rel=1e-8)
    np.testing.assert_array_equal(res.history["iteration"], one.history["iteration"])
    np.testing.assert_allclose(res.history["objective"], one.history["objective"], rtol=1e-8)


@pytest.mark.parametrize("beta", [2.0, 1.0])
def test_stopping_rule_and_penalties_as_single_machine(client, beta):
    """The objective rule stops at the same iteration (for KL the check at iteration t is
    decided one round later, and that round's work is dropped)."""
    X = _problem("dense")
    W0, H0 = nn.initialize(X, K, "random", random_state=2)
    kw = dict(solver="mu", beta_loss=beta, init=(W0, H0), max_iter=200, tol=2e-3,
              alpha_W=0.01, alpha_H=0.02, l1_ratio=0.5)
    one = nn.nmf(X, K, accelerate=False, **kw)  # the Dask path's auto: plain
    res = nn.nmf(_dask(X), K, **kw)
    assert one.stop_reason == "tol" and one.n_iter <= 60
    assert (res.n_iter, res.stop_reason) == (one.n_iter, one.stop_reason)
    assert _rel(res.W.compute(), one.W) < 1e-8 and _rel(res.H, one.H) < 1e-8
    assert res.loss == pytest.approx(one.loss, rel=1e-8)
    np.testing.assert_allclose(res.history["objective"], one.history["objective"], rtol=1e-8)


def test_float32_blocks_stay_float32(client):
    X = _problem("dense", np.float32)
    W0, H0 = nn.initialize(X, K, "random", random_state=3)
    one = nn.nmf(X, K, solver="cd", init=(W0, H0), max_iter=10, tol=0)
    res = nn.nmf(_dask(X), K, solver="cd", init=(W0, H0), max_iter=10, tol=0)
    assert res.W.dtype == np.float32 and res.H.dtype == np.float32
    assert _rel(res.W.compute(), one.W) < 1e-4


@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_nndsvda_from_the_distributed_randomized_svd(client, fmt):
    """On exactly low-rank data the randomized SVD finds the same subspace as one machine's:
    NNDSVD's factors agree (their product to rounding)."""
    rng = np.random.default_rng(4)
    X = rng.random((80, K)) @ rng.random((K, 30))
    if fmt == "csr":
        X = sp.csr_matrix(X)
    one = nn.nmf(X, K, init="nndsvd", max_iter=1, tol=0, solver="mu", random_state=0)
    res = nn.nmf(_dask(X, 20), K, init="nndsvd", max_iter=1, tol=0, solver="mu", random_state=5)
    assert _rel(res.W.compute(), one.W) < 1e-6 and _rel(res.H, one.H) < 1e-6
    filled = nn.nmf(_dask(X, 20), K, init="nndsvda", max_iter=1, tol=0, solver="mu")
    assert np.all(filled.W.compute() > 0) and np.all(filled.H > 0)


def test_random_init_is_reproducible_and_sensibly_scaled(client):
    X = _problem("csr")
    a = nn.nmf(_dask(X), K, init="random", random_state=7, max_iter=2, tol=0)
    b = nn.nmf(_dask(X), K, init="random", random_state=7, max_iter=2, tol=0)
    np.testing.assert_array_equal(a.W.compute(), b.W.compute())
    np.testing.assert_array_equal(a.H, b.H)
    # the same scale as one machine's random start: sqrt(mean(X) / k)
    one = nn.nmf(X, K, init="random", random_state=7, max_iter=2, tol=0)
    assert 0.5 < a.history["objective"][0] / one.history["objective"][0] < 2


def test_callback_and_time_limit(client):
    X = _problem("dense")
    seen = []

    def callback(info):
        seen.append(info.iteration)
        assert isinstance(info.W, da.Array) and info.H.shape == (K, X.shape[1])
        return info.iteration >= 3

    res = nn.nmf(_dask(X), K, solver="cd", init="random", callback=callback, max_iter=50)
    assert res.stop_reason == "callback" and res.n_iter == 3 and seen == [1, 2, 3]
    res = nn.nmf(_dask(X), K, solver="mu", beta_loss=1, init="random", time_limit=1e-9,
                 max_iter=50)
    assert res.stop_reason == "time_limit" and res.n_iter == 1


def test_threaded_scheduler_without_a_client():
    """Dask's default scheduler works too (no dask.distributed Client)."""
    X = _problem("dense")
    W0, H0 = nn.initialize(X, K, "random", random_state=1)
    with __import__("dask").config.set(scheduler="threads"):
        res = nn.nmf(_dask(X), K, solver="cd", init=(W0, H0), max_iter=5, tol=0)
    one = nn.nmf(X, K, solver="cd", init=(W0, H0), max_iter=5, tol=0)
    assert _rel(res.W.compute(), one.W) < 1e-10


def test_column_chunks_are_merged():
    X = _problem("dense")
    Xd = da.from_array(X, chunks=(30, 10))
    W0, H0 = nn.initialize(X, K, "random", random_state=1)
    res = nn.nmf(Xd, K, solver="mu", init=(W0, H0), max_iter=5, tol=0, random_state=0)
    one = nn.nmf(X, K, solver="mu", init=(W0, H0), max_iter=5, tol=0)
    assert _rel(res.H, one.H) < 1e-10


@pytest.mark.parametrize("kwargs,match", [
    (dict(solver="anls"), "solver='anls'|Invalid solver"),
    (dict(solver="cd", beta_loss=1), "solver='cd' supports only beta_loss='frobenius'"),
    (dict(graph=np.eye(90), graph_reg=1.0), "graph.*not supported for a Dask array"),
    (dict(n_init=3), "n_init.*not supported"),
    (dict(stop="pgrad"), "stop.*not supported"),
    (dict(init="nndsvdar"), "Invalid init"),
])
def test_unsupported_options_say_so(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nn.nmf(_dask(_problem("dense")), K, **kwargs)


def test_bad_blocks_raise_the_single_machine_error():
    X = _problem("dense")
    X[3, 4] = -1.0
    with pytest.raises(ValueError, match="[Nn]egative"):
        nn.nmf(_dask(X), K, max_iter=2)


def test_input_is_not_modified():
    X = _problem("dense")
    W0, H0 = nn.initialize(X, K, "random", random_state=1)
    copies = X.copy(), W0.copy(), H0.copy()
    nn.nmf(_dask(X), K, solver="cd", init=(W0, H0), max_iter=3, tol=0)
    for a, b in zip((X, W0, H0), copies):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------------------------
# accelerate=True: Ang & Gillis's extrapolation with W's rows on the blocks
# --------------------------------------------------------------------------------------------


@pytest.fixture
def verdicts(monkeypatch):
    """The client's verdict on each extrapolated pair (True: accepted) and the restarts so far,
    per iteration of every Dask extrapolated run (the spy proves the engine ran)."""
    from nmf_numba import distributed as dask_path

    seen = []
    original = dask_path._DaskExtrapolatedRun.iteration

    def iteration(self):
        out = original(self)
        seen.append((self.accepted, self.restarts))
        return out

    monkeypatch.setattr(dask_path._DaskExtrapolatedRun, "iteration", iteration)
    return seen


def _exact_objective(X, res):
    X = X.toarray() if sp.issparse(X) else X
    return 0.5 * float(np.sum((X - res.W.compute() @ res.H) ** 2))


@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_accelerated_cd_equals_single_machine(client, fmt, verdicts):
    """The same scheme as one machine's ExtrapolatedRun: the same verdicts and objectives (the
    products summed over blocks differ from one machine's only by rounding)."""
    X = _problem(fmt)
    W0, H0 = nn.initialize(X, K, "random", random_state=1)
    kw = dict(solver="cd", init=(W0, H0), max_iter=40, tol=0, accelerate=True)
    one = nn.nmf(X, K, **kw)
    res = nn.nmf(_dask(X), K, **kw)
    assert len(verdicts) == 40 and verdicts[-1][1] > 0  # it ran, and restarted
    np.testing.assert_array_equal(res.history["iteration"], one.history["iteration"])
    np.testing.assert_allclose(res.history["objective"], one.history["objective"], rtol=1e-10)
    assert res.loss == pytest.approx(one.loss, rel=1e-10)
    assert _rel(res.W.compute(), one.W) < 1e-7 and _rel(res.H, one.H) < 1e-7


@pytest.mark.parametrize("solver", ["cd", "hals"])
@pytest.mark.parametrize("last", ["rejected", "accepted"])
def test_accelerated_history_never_rises_and_the_result_is_the_state(client, solver, last,
                                                                     verdicts):
    """Stopped right after a rejected (or an accepted) pair: the blocks have not applied that
    verdict yet, and the result must still be the state the history ends with."""
    X = _problem("csr")
    kw = dict(solver=solver, init="random", random_state=1, tol=0, accelerate=True,
              alpha_W=0.001, l1_ratio=0.5)
    nn.nmf(_dask(X), K, max_iter=30, **kw)
    n_iter = 1 + max(i for i, (accepted, _) in enumerate(verdicts)
                     if accepted == (last == "accepted"))
    verdicts.clear()
    res = nn.nmf(_dask(X), K, max_iter=n_iter, **kw)
    assert len(verdicts) == n_iter and verdicts[-1][0] == (last == "accepted")
    assert verdicts[-1][1] > 0  # restarts happened
    h = res.history["objective"]
    assert np.all(np.diff(h) <= 0), h
    W = res.W.compute()
    assert np.all(W >= 0) and np.all(res.H >= 0)
    penalty_W, penalty_H = scaled_penalties(X.shape, 0.001, 0.001, 0.5)
    penalty = penalty_W.value(W) + penalty_H.value(res.H.T)
    assert res.loss == pytest.approx(_exact_objective(X, res) + penalty, rel=1e-12)
    assert res.loss == pytest.approx(h[-1], rel=1e-10)


@pytest.mark.parametrize("kwargs,match", [
    (dict(solver="mu", accelerate=True),
     r"accelerate=True with solver='mu' is not supported for a Dask array.*\['cd', 'hals'\]"),
    (dict(solver="mu", beta_loss=1, accelerate=True),
     r"accelerate=True with beta_loss=1 is not supported for a Dask array.*\['cd', 'hals'\]"),
    (dict(accelerate="yes"), "Invalid accelerate 'yes'"),
])
def test_accelerate_options_say_so(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nn.nmf(_dask(_problem("dense")), K, **kwargs)


def test_accelerate_auto_is_off_on_dask():
    X = _problem("dense")
    W0, H0 = nn.initialize(X, K, "random", random_state=1)
    kw = dict(solver="cd", init=(W0, H0), max_iter=5, tol=0)
    with __import__("dask").config.set(scheduler="sync"):
        auto = nn.nmf(_dask(X), K, accelerate="auto", **kw)
        off = nn.nmf(_dask(X), K, accelerate=False, **kw)
    np.testing.assert_array_equal(auto.W.compute(), off.W.compute())
    np.testing.assert_array_equal(auto.history["objective"], off.history["objective"])


def test_accelerate_costs_no_extra_round_trip(client, monkeypatch):
    """Per iteration, the accelerated run makes as many dask.persist and dask.compute calls
    (one of each: a round) as the plain one."""
    import dask

    calls = {"persist": 0, "compute": 0}

    def counting(name):
        original = getattr(dask, name)

        def call(*args, **kwargs):
            calls[name] += 1
            return original(*args, **kwargs)
        return call

    for name in calls:
        monkeypatch.setattr(dask, name, counting(name))
    Xd = _dask(_problem("csr"))

    def count(accelerate, max_iter):
        calls.update(persist=0, compute=0)
        nn.nmf(Xd, K, solver="cd", init="random", random_state=0, max_iter=max_iter, tol=0,
               accelerate=accelerate)
        return np.array([calls["persist"], calls["compute"]])

    per_iteration = {acc: (count(acc, 12) - count(acc, 2)) / 10 for acc in (False, True)}
    np.testing.assert_array_equal(per_iteration[False], [1, 1])
    np.testing.assert_array_equal(per_iteration[True], per_iteration[False])
