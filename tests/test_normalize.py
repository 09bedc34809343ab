"""Issue 21 item 3: ``normalize=`` (normalised, ordered factors) in nmf, restarts, nmf_many, Dask,
the estimator and the CLI; and GNMF's balanced factors (unit-norm basis, as Cai et al.)."""

import json

import numpy as np
import pytest
import scipy.sparse as sp

import nmf_numba as nn
from nmf_numba import cli
from nmf_numba._loop import normalize_factors
from nmf_numba.solvers._common import Graph

from .conftest import make_data, make_factors

MODES = ["H", "W", "both"]


def _fit(X, **kw):
    return nn.nmf(X, 4, **dict(dict(init="nndsvda", random_state=0, max_iter=30, tol=0), **kw))


def _rtol(dtype):
    return 1e-12 if np.dtype(dtype) == np.float64 else 1e-5


def _assert_normalised(res, mode, dtype):
    rtol = _rtol(dtype)
    ones = np.ones(res.H.shape[0])
    if mode in ("H", "both"):
        np.testing.assert_allclose(res.H.sum(axis=1), ones, rtol=rtol)
    if mode in ("W", "both"):
        np.testing.assert_allclose(res.W.sum(axis=0), ones, rtol=rtol)
    # descending share of the model, d_r = Σ_i W_ir Σ_j H_rj (res.scale for "both")
    d = res.W.sum(axis=0, dtype=np.float64) * res.H.sum(axis=1, dtype=np.float64)
    if mode == "both":
        assert res.scale.dtype == dtype
        d = res.scale.astype(np.float64)
    else:
        assert res.scale is None
    assert np.all(np.diff(d) <= 0), d


@pytest.mark.parametrize("mode", MODES)
def test_sums_order_and_model(mode, fmt, dtype):
    X = make_data(24, 15, dtype=dtype, fmt=fmt, seed=3)
    base = _fit(X)
    res = _fit(X, normalize=mode)
    assert res.normalize == mode and res.W.dtype == res.H.dtype == dtype
    _assert_normalised(res, mode, dtype)
    # the model (W H, or W diag(d) H) is the unnormalised fit's, to rounding
    np.testing.assert_allclose(res.reconstruct(), base.reconstruct(), rtol=50 * _rtol(dtype),
                               atol=50 * _rtol(dtype) * np.abs(base.reconstruct()).max())
    # and so is everything measured on it; the fit itself did not change
    assert res.loss == base.loss and res.n_iter == base.n_iter
    assert nn.metrics.relative_error(X, res) == pytest.approx(
        nn.metrics.relative_error(X, base), rel=1e-4 if dtype == np.float32 else 1e-10)


@pytest.mark.parametrize("mode", MODES)
def test_each_component_is_one_of_the_fit(mode):
    """The normalised components are the fit's components (outer products w_r h_r), reordered."""
    X = make_data(20, 12, seed=5)
    base = _fit(X)
    res = _fit(X, normalize=mode)
    Ws = res.W_scaled
    parts = [np.outer(Ws[:, r], res.H[r]) for r in range(4)]
    base_parts = [np.outer(base.W[:, r], base.H[r]) for r in range(4)]
    for part in parts:
        assert any(np.allclose(part, b, rtol=1e-10, atol=1e-12) for b in base_parts)
    masses = [p.sum() for p in parts]
    assert masses == sorted(masses, reverse=True)


def test_post_processing_only_and_none_is_todays_result():
    """normalize changes only the returned factors: they are normalize_factors() of the
    unnormalised result, bit for bit, and normalize=None returns those factors untouched."""
    X = make_data(20, 12, seed=6)
    kw = dict(alpha_W=0.05, l1_ratio=1.0)  # a penalised fit: normalising during it would differ
    base = _fit(X, **kw)
    assert base.normalize is None and base.scale is None
    same = _fit(X, normalize=None, **kw)
    np.testing.assert_array_equal(same.W, base.W)
    np.testing.assert_array_equal(same.H, base.H)
    for mode in MODES:
        res = _fit(X, normalize=mode, **kw)
        W, H, scale = normalize_factors(base.W, base.H, mode)
        np.testing.assert_array_equal(res.W, W)
        np.testing.assert_array_equal(res.H, H)
        assert (scale is None) == (mode != "both")
        assert res.loss == base.loss
        np.testing.assert_array_equal(res.history["objective"], base.history["objective"])


@pytest.mark.parametrize("mode", MODES)
def test_zero_components(mode):
    W = np.array([[1.0, 0.0, 2.0, 3.0], [2.0, 0.0, 1.0, 1.0]])
    H = np.array([[1.0, 1.0], [5.0, 1.0], [0.0, 0.0], [2.0, 2.0]])  # col 1 of W, row 2 of H zero
    W0, H0 = W.copy(), H.copy()
    Wn, Hn, scale = normalize_factors(W, H, mode)
    np.testing.assert_array_equal(W, W0)  # inputs untouched
    np.testing.assert_array_equal(H, H0)
    assert np.all(np.isfinite(Wn)) and np.all(np.isfinite(Hn))
    # d = (4·4, 3·2, 0·10, 0·3): component 3 first, then 0, then the dead ones in their order
    np.testing.assert_array_equal(Wn[:, 2:], 0.0)
    np.testing.assert_array_equal(Hn[2:], 0.0)
    model = (Wn * scale) @ Hn if mode == "both" else Wn @ Hn
    np.testing.assert_allclose(model, W @ H, rtol=1e-14)
    if mode == "both":
        np.testing.assert_allclose(scale, [16.0, 6.0, 0.0, 0.0])
        np.testing.assert_allclose(Wn[:, :2].sum(axis=0), 1.0)
        np.testing.assert_allclose(Hn[:2].sum(axis=1), 1.0)


def test_zero_component_of_a_fit():
    """MU keeps a zero column of the start at zero: it comes back as zeros with scale 0, last."""
    X = make_data(15, 10, seed=2, positive=True)
    W0, H0 = make_factors(15, 10, 3)
    W0[:, 0] = 0.0
    res = nn.nmf(X, 3, solver="mu", init=(W0, H0), max_iter=20, tol=0, normalize="both")
    assert res.scale[-1] == 0 and np.all(res.scale[:-1] > 0)
    np.testing.assert_array_equal(res.W[:, -1], 0.0)
    np.testing.assert_array_equal(res.H[-1], 0.0)
    assert np.all(np.isfinite(res.W)) and np.all(np.isfinite(res.H))


def test_restarts():
    X = make_data(20, 12, seed=8)
    kw = dict(init="random", random_state=0, n_init=3, max_iter=20, tol=0)
    base = nn.nmf(X, 3, **kw)
    res = nn.nmf(X, 3, normalize="both", **kw)
    assert res.best_run == base.best_run
    np.testing.assert_array_equal(res.run_losses, base.run_losses)
    _assert_normalised(res, "both", np.float64)
    np.testing.assert_allclose(res.reconstruct(), base.reconstruct(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_nmf_many_passes_it_through(mode):
    Xs = [make_data(16, 10, seed=s) for s in range(3)]
    kw = dict(init="nndsvda", random_state=0, max_iter=15, tol=0, normalize=mode)
    many = nn.nmf_many(Xs, 3, **kw)
    for X, res in zip(Xs, many.results):
        single = nn.nmf(X, 3, **kw)
        np.testing.assert_array_equal(res.W, single.W)
        np.testing.assert_array_equal(res.H, single.H)
        _assert_normalised(res, mode, np.float64)
    # the batched path (compiled loop) and the single call's (the same) normalise alike
    assert all(r.normalize == mode for r in many.results)


def test_dask():
    da = pytest.importorskip("dask.array", reason="the Dask path needs the dask extra")
    X = make_data(30, 12, seed=4, positive=True)
    Xd = da.from_array(X, chunks=(10, 12))
    kw = dict(init="random", random_state=0, max_iter=10, tol=0)
    base = nn.nmf(Xd, 3, **kw)
    res = nn.nmf(Xd, 3, normalize="both", **kw)
    assert hasattr(res.W, "compute")  # W stays a Dask array
    W = res.W.compute()
    np.testing.assert_allclose(W.sum(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(res.H.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose((W * res.scale) @ res.H, base.W.compute() @ base.H,
                               rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="Invalid normalize"):
        nn.nmf(Xd, 3, normalize="rows")


def test_transform_and_labels_for_both():
    X = make_data(24, 15, seed=9)
    base = nn.nmf(X, 3, init="nndsvda", random_state=0, max_iter=400, tol=1e-10)
    res = nn.nmf(X, 3, init="nndsvda", random_state=0, max_iter=400, tol=1e-10, normalize="both")
    # transform against the unit-sum H estimates W diag(scale), the model's sample factor
    # (to the fit's accuracy: the fit's W is not exactly the least-squares W for its H)
    W = nn.transform(X, res.H)
    np.testing.assert_allclose(W, res.W_scaled, rtol=1e-2, atol=1e-2)
    np.testing.assert_allclose((W / res.scale).sum(axis=0), 1.0, rtol=1e-2)
    np.testing.assert_array_equal(res.labels(), nn.clustering.labels(res))
    # argmax of W diag(d): the component that contributes most to the sample, as in "H" mode
    np.testing.assert_array_equal(res.labels(), nn.nmf(
        X, 3, init="nndsvda", random_state=0, max_iter=400, tol=1e-10, normalize="H").labels())


@pytest.mark.parametrize("value", ["rows", "h", 1, True])
def test_bad_values(value):
    with pytest.raises(ValueError, match=r"^Invalid normalize .*: use None, 'H', 'W' or 'both'\.$"):
        nn.nmf(make_data(10, 8), 2, normalize=value)


def test_nsnmf_is_refused():
    with pytest.raises(ValueError, match="normalize is not supported with smoothness > 0"):
        nn.nmf(make_data(10, 8), 2, smoothness=0.3, normalize="H")


# ------------------------------------------------------------------ the estimator and the CLI


@pytest.mark.parametrize("mode", [None, *MODES])
def test_estimator(mode):
    X = make_data(24, 15, seed=10)
    plain = nn.NMF(3, init="nndsvda", max_iter=100, random_state=0)
    Wp = plain.fit_transform(X)
    est = nn.NMF(3, init="nndsvda", max_iter=100, random_state=0, normalize=mode)
    W = est.fit_transform(X)
    if mode in ("H", "both"):
        np.testing.assert_allclose(est.components_.sum(axis=1), 1.0, rtol=1e-12)
    if mode == "both":
        assert np.all(np.diff(est.scale_) <= 0)
        np.testing.assert_allclose(est.result_.W.sum(axis=0), 1.0, rtol=1e-12)
    else:
        assert est.scale_ is None
    if mode is None:
        np.testing.assert_array_equal(W, Wp)
        np.testing.assert_array_equal(est.components_, plain.components_)
    # fit_transform = transform; inverse_transform is the model, the unnormalised one's
    np.testing.assert_allclose(est.transform(X), W, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(est.inverse_transform(W), plain.inverse_transform(Wp),
                               rtol=1e-5, atol=1e-6)
    assert est.reconstruction_err_ == pytest.approx(plain.reconstruction_err_, rel=1e-6)


def test_estimator_bad_value():
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="'normalize' parameter"):
        nn.NMF(2, normalize="rows").fit(make_data(10, 8))


def test_cli(tmp_path):
    X = make_data(20, 12, seed=11)
    path = tmp_path / "x.npy"
    np.save(path, X)
    out = tmp_path / "f.npz"
    assert cli.main(["fit", str(path), "-k", "3", "--seed", "0", "--normalize", "both",
                     "--out", str(out), "-q"]) == 0
    summary = json.loads(out.with_suffix(".json").read_text())
    with np.load(out) as f:
        W, H, scale = f["W"], f["H"], f["scale"]
    np.testing.assert_allclose(summary["scale"], scale)
    assert summary["parameters"]["normalize"] == "both"
    np.testing.assert_allclose(W.sum(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(H.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(np.diff(scale) <= 0)
    # the summary's errors are the model's (W diag(scale) H), those of the unnormalised fit
    plain = tmp_path / "p.npz"
    assert cli.main(["fit", str(path), "-k", "3", "--seed", "0", "--out", str(plain), "-q"]) == 0
    other = json.loads(plain.with_suffix(".json").read_text())
    assert other["scale"] is None
    assert summary["relative_error"] == pytest.approx(other["relative_error"], rel=1e-10)
    with np.load(plain) as f:
        assert "scale" not in f.files


def test_cli_bad_value(tmp_path, capsys):
    path = tmp_path / "x.npy"
    np.save(path, make_data(10, 8))
    assert cli.main(["fit", str(path), "-k", "2", "--normalize", "rows"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--normalize" in err and "invalid choice" in err


# ------------------------------------------------------------------ GNMF: a balanced basis


def _digits(n=300):
    from sklearn.datasets import load_digits

    X = load_digits().data[:n]
    return X / np.linalg.norm(X, axis=1, keepdims=True)


@pytest.mark.parametrize("solver", ["mu", "cd", "hals"])
def test_graph_keeps_the_scale_of_W(solver):
    """GNMF's graph term shrinks as W → W/c, H → c·H; before the balance, W's largest column
    norm fell from 3.4–6.1 (λ = 0) to 1.7 (λ = 1000) on these 300 digits; now the basis (rows
    of H) has unit norm and W keeps its scale (6.3–7.0 at λ = 1000)."""
    X = _digits()
    graph = nn.knn_graph(X, n_neighbors=5)
    norms = {}
    for lam in (0.0, 1000.0):
        res = nn.nmf(X, 6, solver=solver, graph=graph if lam else None, graph_reg=lam,
                     init="random", random_state=0, max_iter=200, tol=0)
        norms[lam] = np.linalg.norm(res.W, axis=0).max()
        if lam:
            np.testing.assert_allclose(np.linalg.norm(res.H, axis=1), 1.0, rtol=1e-12)
            # the reported objective is the one of the returned (balanced) factors
            expected = (0.5 * np.linalg.norm(X - res.W @ res.H) ** 2
                        + 0.5 * lam * np.vdot(res.W, (sp.diags(np.asarray(graph.sum(1)).ravel())
                                                      - graph) @ res.W))
            assert res.loss == pytest.approx(expected, rel=1e-9)
            assert res.history["objective"][-1] == pytest.approx(expected, rel=1e-9)
    assert norms[1000.0] >= 0.8 * norms[0.0], norms


def test_graph_balance_with_extrapolation():
    X = _digits(120)
    graph = nn.knn_graph(X, n_neighbors=5)
    res = nn.nmf(X, 4, solver="hals", graph=graph, graph_reg=100.0, accelerate=True,
                 init="random", random_state=0, max_iter=60, tol=0)
    assert res.accelerated
    np.testing.assert_allclose(np.linalg.norm(res.H, axis=1), 1.0, rtol=1e-12)
    laplacian = sp.diags(np.asarray(graph.sum(1)).ravel()) - graph
    expected = (0.5 * np.linalg.norm(X - res.W @ res.H) ** 2
                + 50.0 * np.vdot(res.W, laplacian @ res.W))
    assert res.loss == pytest.approx(expected, rel=1e-9)
    f = res.history["objective"]
    assert f[-1] < f[0]


@pytest.mark.parametrize("solver,beta", [("cd", 2), ("hals", 2), ("mu", 2), ("mu", 1),
                                         ("anls", 2), ("pgd", 2), ("newton-cd", 1)])
def test_fits_without_a_graph_never_balance(monkeypatch, solver, beta, fmt):
    """The balance is confined to graph fits (tests/bit_fixtures.py compares every other fit's
    bits before and after: 139 cases, 0 differences)."""
    def fail(*args):
        raise AssertionError("balanced a fit without a graph")

    monkeypatch.setattr(Graph, "balance", fail)
    X = make_data(30, 12, seed=1, fmt=fmt, positive=beta != 2)
    for accelerate in (False, "auto"):
        nn.nmf(X, 3, solver=solver, beta_loss=beta, max_iter=5, tol=0, accelerate=accelerate)
    nn.nmf(X, 3, solver="mu", graph=sp.eye(30, format="csr"), graph_reg=0.0, max_iter=5)


def test_graph_with_nsnmf_is_not_balanced(monkeypatch):
    """nsNMF's S does not commute with rescaling: its graph fits are left as before."""
    calls = []
    monkeypatch.setattr(Graph, "balance", lambda self, W, Ht: calls.append(1))
    X = make_data(20, 10, seed=2)
    nn.nmf(X, 3, solver="mu", graph=sp.eye(20, format="csr") + sp.eye(20, k=1, format="csr")
           + sp.eye(20, k=-1, format="csr"), graph_reg=1.0, smoothness=0.3, max_iter=5)
    assert calls == []
