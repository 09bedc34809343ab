"""Fixed (known) components: ``nmf(..., init=(W0, H0), fix_H=..., fix_W=...)``.

The fixed rows of H and columns of W stay bit-equal to the start for every solver, format,
dtype and β; the monotone solvers stay monotone; each solver's half-step on the free part is
the method's own step of the smaller problem (checked against the slow twins of
``tests/reference.py``); restarts, missing values, penalties, the estimator, the CLI and
``nmf_many`` take them; bad arguments get one-line errors; fixing nothing is today's fit.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import nmf_numba as nn
from nmf_numba import cli
from nmf_numba._data import Data, observed_matrix
from nmf_numba.solvers import Penalty, anls, cd, mu, newton_cd, pgd

from . import reference as ref
from .conftest import make_data, make_factors

K = 4
FIX_H = [0, 2]   # rows of H kept
FIX_W = [1]      # columns of W kept
# (solver, β) pairs; every solver, the MU family at three β, KL for newton-cd
CASES = [("mu", 2.0), ("mu", 1.0), ("mu", 0.5), ("cd", 2.0), ("hals", 2.0), ("anls", 2.0),
         ("pgd", 2.0), ("newton-cd", 1.0)]
# the objective never increases: block minimisation, MM, Newton with its safeguard, and
# projected gradient with Lin's sufficient-decrease search (each half-step decreases its
# subproblem)
MONOTONE = {"mu", "cd", "hals", "anls", "pgd", "newton-cd"}


def _fit(X, solver, beta, **kw):
    args = dict(solver=solver, beta_loss=beta, init=kw.pop("init"), max_iter=30, tol=0,
                accelerate=False)
    args.update(kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nn.nmf(X, K, **args)


def _problem(fmt="dense", dtype=np.float64, m=24, n=18, seed=0, positive=True):
    X = make_data(m, n, density=0.6, dtype=dtype, seed=seed, fmt=fmt, positive=positive)
    W0, H0 = make_factors(m, n, K, dtype=dtype, seed=seed + 1)
    return X, W0, H0


def _assert_monotone(res, dtype):
    f = np.asarray(res.history["objective"])
    slack = 50 * np.finfo(dtype).eps * f[0]
    assert np.all(np.diff(f) <= slack), np.diff(f).max()


@pytest.mark.parametrize("solver, beta", CASES, ids=[f"{s}-{b:g}" for s, b in CASES])
def test_fixed_components_stay_bit_equal(solver, beta, fmt, dtype):
    X, W0, H0 = _problem(fmt, dtype)
    res = _fit(X, solver, beta, init=(W0, H0), fix_H=FIX_H, fix_W=FIX_W)
    assert res.H.dtype == dtype and res.W.dtype == dtype
    assert np.array_equal(res.H[FIX_H], H0[FIX_H])
    assert np.array_equal(res.W[:, FIX_W], W0[:, FIX_W])
    free_H = np.setdiff1d(np.arange(K), FIX_H)
    free_W = np.setdiff1d(np.arange(K), FIX_W)
    assert not np.allclose(res.H[free_H], H0[free_H])  # the rest is learned
    assert not np.allclose(res.W[:, free_W], W0[:, free_W])
    assert res.fixed_H.tolist() == [True, False, True, False]
    assert res.fixed_W.tolist() == [False, True, False, False]
    if solver in MONOTONE:
        _assert_monotone(res, dtype)
    assert res.history["objective"][-1] < 0.5 * res.history["objective"][0]


@pytest.mark.parametrize("solver, beta", [("mu", 2.0), ("mu", 1.0), ("cd", 2.0), ("hals", 2.0),
                                          ("newton-cd", 1.0)])
def test_accelerated_variants_keep_them(solver, beta, fmt):
    """Extrapolation (cd, hals) and over-relaxation (mu, MU-first newton-cd) never move a
    fixed entry (a fixed column's change is exactly 0, so its extrapolation is itself), and
    the state they record never increases the objective."""
    X, W0, H0 = _problem(fmt)
    res = _fit(X, solver, beta, init=(W0, H0), fix_H=FIX_H, fix_W=FIX_W, accelerate=True,
               max_iter=60)
    assert res.accelerated
    assert np.array_equal(res.H[FIX_H], H0[FIX_H])
    assert np.array_equal(res.W[:, FIX_W], W0[:, FIX_W])
    _assert_monotone(res, np.float64)


@pytest.mark.parametrize("solver", ["cd", "hals", "anls"])
def test_the_free_row_is_the_exact_least_squares_solve(solver):
    """fix_H on all but one component: the H half-step (the last of the fit) minimises over
    one coordinate per column, which cd/hals do exactly as anls does, so the learned row is
    the NNLS solve for the final W with the fixed rows moved to the right-hand side."""
    X, W0, H0 = _problem()
    free = np.array([False, False, True, False])
    res = _fit(X, solver, 2.0, init=(W0, H0), fix_H=~free, max_iter=20)
    expected = ref.fixed_nnls_step(X.T, res.H.T, res.W, free).T
    np.testing.assert_allclose(res.H, expected, rtol=1e-9, atol=1e-12)


def _ops(X, M=None):
    if M is None:
        return Data(X)
    return Data(observed_matrix(X, M), observed_only=True)


def test_anls_w_step_is_scipy_nnls_on_the_reduced_right_hand_side(fmt):
    X, W0, H0 = _problem(fmt)
    free = np.array([True, False, True, False])
    W = W0.copy()
    anls.update(_ops(X).X_op, W, np.ascontiguousarray(H0.T), Penalty(free=free))
    expected = ref.fixed_nnls_step(X, W0, H0.T, free)
    np.testing.assert_allclose(W, expected, rtol=1e-9, atol=1e-12)
    assert np.array_equal(W[:, ~free], W0[:, ~free])


def test_anls_w_step_with_l2_penalty():
    X, W0, H0 = _problem()
    free = np.array([True, True, False, False])
    W = W0.copy()
    anls.update(_ops(X).X_op, W, np.ascontiguousarray(H0.T), Penalty(l2=0.7, free=free))
    np.testing.assert_allclose(W, ref.fixed_nnls_step(X, W0, H0.T, free, l2=0.7), rtol=1e-9,
                               atol=1e-12)


def test_pgd_w_step_converges_to_the_reduced_nnls():
    """PGD's half-step on the free block: many calls reach the same minimiser."""
    X, W0, H0 = _problem()
    free = np.array([True, False, True, True])
    W, step = W0.copy(), pgd.PGD()
    for _ in range(200):
        step(_ops(X).X_op, W, np.ascontiguousarray(H0.T), Penalty(free=free))
    assert np.array_equal(W[:, ~free], W0[:, ~free])
    np.testing.assert_allclose(W, ref.fixed_nnls_step(X, W0, H0.T, free), rtol=1e-4,
                               atol=1e-6)


@pytest.mark.parametrize("l1, l2", [(0.0, 0.0), (0.3, 0.5)])
def test_cd_w_step_is_the_sweep_over_the_free_coordinates(fmt, l1, l2):
    X, W0, H0 = _problem(fmt)
    free = np.array([False, True, True, False])
    W = W0.copy()
    cd.update(_ops(X).X_op, W, np.ascontiguousarray(H0.T), Penalty(l1, l2, free=free))
    np.testing.assert_allclose(W, ref.fixed_hals_sweep(X, W0, H0.T, free, l1=l1, l2=l2),
                               rtol=1e-10, atol=1e-12)


def test_cd_shuffled_sweep_visits_only_free_coordinates():
    X, W0, H0 = _problem()
    free = np.array([False, True, True, False])
    W = W0.copy()
    cd.update(_ops(X).X_op, W, np.ascontiguousarray(H0.T), Penalty(free=free),
              shuffle_rng=np.random.RandomState(3))
    assert np.array_equal(W[:, ~free], W0[:, ~free])
    assert not np.allclose(W[:, free], W0[:, free])


@pytest.mark.parametrize("l1, l2", [(0.0, 0.0), (0.2, 0.4)])
def test_masked_cd_w_step_is_the_sweep_over_the_free_coordinates(l1, l2):
    X, W0, H0 = _problem()
    M = np.random.default_rng(5).random(X.shape) > 0.3
    free = np.array([True, False, True, False])
    W = W0.copy()
    cd.update(_ops(X, M).X_op, W, np.ascontiguousarray(H0.T), Penalty(l1, l2, free=free))
    expected = ref.fixed_hals_sweep(X, W0, H0.T, free, M=M, l1=l1, l2=l2)
    np.testing.assert_allclose(W, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("beta", [2.0, 1.0, 0.5, 1.5])
def test_mu_w_step_updates_the_free_entries_only(fmt, beta):
    X, W0, H0 = _problem(fmt)
    free = np.array([True, False, False, True])
    W = W0.copy()
    mu.update(_ops(X).X_op, W, np.ascontiguousarray(H0.T), beta, Penalty(free=free))
    np.testing.assert_allclose(W, ref.fixed_mu_step(X, W0, H0.T, beta, free), rtol=1e-10)
    assert np.array_equal(W[:, ~free], W0[:, ~free])


@pytest.mark.parametrize("l1, l2", [(0.0, 0.0), (0.1, 0.3)])
def test_newton_cd_w_step_is_the_sweep_over_the_free_coordinates(fmt, l1, l2):
    """Newton steps on the free coordinates only, with the fixed ones in the model."""
    X, W0, H0 = _problem(fmt, positive=False)
    free = np.array([True, False, True, False])
    W = W0.copy()
    pgrad_sq = newton_cd.update(_ops(X).X_op, W, np.ascontiguousarray(H0.T),
                                Penalty(l1, l2, free=free), pgrad=True).pgrad_sq
    expected, expected_pgrad = ref.kl_newton_sweep(X, W0, H0.T, newton_cd.MAX_NEWTON, l1, l2,
                                                   free=free)
    np.testing.assert_allclose(W, expected, rtol=1e-9, atol=1e-12)
    assert pgrad_sq == pytest.approx(expected_pgrad, rel=1e-9)
    assert np.array_equal(W[:, ~free], W0[:, ~free])


@pytest.mark.parametrize("solver, beta", [("cd", 2.0), ("hals", 2.0), ("mu", 2.0), ("mu", 1.0)])
def test_with_missing_values_and_penalties(solver, beta):
    X, W0, H0 = _problem()
    M = np.random.default_rng(7).random(X.shape) > 0.25
    res = _fit(X, solver, beta, init=(W0, H0), fix_H=FIX_H, fix_W=FIX_W, mask=M,
               alpha_W=0.01, l1_ratio=0.5)
    assert np.array_equal(res.H[FIX_H], H0[FIX_H])
    assert np.array_equal(res.W[:, FIX_W], W0[:, FIX_W])
    _assert_monotone(res, np.float64)
    X_nan = X.copy()
    X_nan[~M] = np.nan  # NaN entries: the same fit
    res_nan = _fit(X_nan, solver, beta, init=(W0, H0), fix_H=FIX_H, fix_W=FIX_W,
                   alpha_W=0.01, l1_ratio=0.5)
    np.testing.assert_array_equal(res_nan.H, res.H)


def test_with_a_graph_and_smoothness():
    X, W0, H0 = _problem()
    graph = nn.knn_graph(X, 4)
    for kw in (dict(solver="cd", graph=graph, graph_reg=0.5),
               dict(solver="mu", beta=1.0, graph=graph, graph_reg=0.5),
               dict(solver="hals", smoothness=0.3)):
        beta = kw.pop("beta", 2.0)
        res = _fit(X, kw.pop("solver"), beta, init=(W0, H0), fix_H=FIX_H, fix_W=FIX_W, **kw)
        assert np.array_equal(res.H[FIX_H], H0[FIX_H])
        assert np.array_equal(res.W[:, FIX_W], W0[:, FIX_W])


@pytest.mark.parametrize("solver", ["cd", "mu"])
def test_every_restart_keeps_them(solver):
    X, W0, H0 = _problem()
    seen = []

    def callback(info):
        seen.append((info.H[FIX_H].copy(), info.W[:, FIX_W].copy()))

    res = _fit(X, solver, 2.0, init=(W0, H0), fix_H=FIX_H, fix_W=FIX_W, n_init=3,
               random_state=0, callback=callback, max_iter=10)
    assert len(res.run_losses) == 3 and len(seen) == 30
    for H_fixed, W_fixed in seen:
        assert np.array_equal(H_fixed, H0[FIX_H]) and np.array_equal(W_fixed, W0[:, FIX_W])
    assert np.array_equal(res.H[FIX_H], H0[FIX_H])
    assert len(set(np.round(res.run_losses, 12))) == 3  # the free components differ per run


def test_time_limit_and_callback_stop():
    X, W0, H0 = _problem()
    res = _fit(X, "cd", 2.0, init=(W0, H0), fix_H=FIX_H, callback=lambda info: True)
    assert res.stop_reason == "callback" and res.n_iter == 1
    res = _fit(X, "cd", 2.0, init=(W0, H0), fix_H=FIX_H, time_limit=1e-9, max_iter=10**6)
    assert res.stop_reason == "time_limit"
    assert np.array_equal(res.H[FIX_H], H0[FIX_H])


@pytest.mark.parametrize("solver, beta", [("cd", 2.0), ("hals", 2.0), ("mu", 2.0), ("mu", 1.0),
                                          ("anls", 2.0), ("newton-cd", 1.0)])
@pytest.mark.parametrize("nothing", [None, [], np.zeros(K, bool)], ids=["none", "empty", "mask"])
def test_fixing_nothing_is_todays_fit(solver, beta, nothing, fmt):
    X, W0, H0 = _problem(fmt)
    today = _fit(X, solver, beta, init=(W0, H0))
    res = _fit(X, solver, beta, init=(W0, H0), fix_H=nothing, fix_W=nothing)
    np.testing.assert_array_equal(res.W, today.W)
    np.testing.assert_array_equal(res.H, today.H)
    np.testing.assert_array_equal(res.history["objective"], today.history["objective"])
    assert not res.fixed_H.any() and not res.fixed_W.any()


def test_fixing_all_of_H_learns_W_as_transform_does():
    X, W0, H0 = _problem()
    res = _fit(X, "anls", 2.0, init=(W0, H0), fix_H=np.ones(K, bool), max_iter=3)
    assert np.array_equal(res.H, H0)
    np.testing.assert_allclose(res.W, nn.transform(X, H0, solver="anls"), rtol=1e-9,
                               atol=1e-12)
    res = _fit(X, "mu", 1.0, init=(W0, H0), fix_H=range(K), max_iter=50)  # indices: all
    assert np.array_equal(res.H, H0)
    _assert_monotone(res, np.float64)


def test_fixing_all_of_both_is_an_error():
    X, W0, H0 = _problem()
    with pytest.raises(ValueError, match="nothing to learn"):
        _fit(X, "cd", 2.0, init=(W0, H0), fix_H=np.arange(K), fix_W=np.ones(K, bool))


def test_a_component_fixed_in_both_factors_is_a_constant_term():
    X, W0, H0 = _problem()
    res = _fit(X, "hals", 2.0, init=(W0, H0), fix_H=[3], fix_W=[3])
    assert np.array_equal(res.H[3], H0[3]) and np.array_equal(res.W[:, 3], W0[:, 3])
    _assert_monotone(res, np.float64)


def test_an_all_zero_fixed_component_is_allowed():
    """A fixed zero row of H contributes nothing; the fit learns the others around it."""
    X, W0, H0 = _problem()
    H0 = H0.copy()
    H0[1] = 0.0
    res = _fit(X, "cd", 2.0, init=(W0, H0), fix_H=[1])
    assert np.all(res.H[1] == 0) and np.all(np.isfinite(res.W))
    _assert_monotone(res, np.float64)


@pytest.mark.parametrize("kw, error, match", [
    (dict(fix_H=[0], init="random"), ValueError, r"fix_H needs init=\(W0, H0\)"),
    (dict(fix_W=[0], init="nndsvda"), ValueError, r"fix_W needs init=\(W0, H0\)"),
    (dict(fix_H=np.ones(3, bool)), ValueError, "fix_H is a boolean mask of length 3"),
    (dict(fix_W=[4]), ValueError, "fix_W holds component index 4, out of range"),
    (dict(fix_H=[-1]), ValueError, "fix_H holds component index -1, out of range"),
    (dict(fix_H=[1, 1]), ValueError, "fix_H lists component 1 more than once"),
    (dict(fix_H=[0.0, 1.0]), TypeError, "fix_H must hold integer component indices"),
    (dict(fix_H=["a"]), TypeError, "fix_H must hold integer component indices"),
    (dict(fix_H="0"), TypeError, "fix_H must be component indices"),
    (dict(fix_H=[[0, 1]]), ValueError, "fix_H must be 1-D"),
    (dict(fix_H=0), ValueError, "fix_H must be 1-D"),
    (dict(fix_H=sp.csr_matrix([[1]])), TypeError, "fix_H must be component indices"),
])
def test_bad_arguments_get_a_one_line_error(kw, error, match):
    X, W0, H0 = _problem()
    kw.setdefault("init", (W0, H0))
    with pytest.raises(error, match=match) as info:
        _fit(X, "cd", 2.0, **kw)
    assert "\n" not in str(info.value)


def test_rank_search_refuses_them():
    X, W0, H0 = _problem()
    with pytest.raises(ValueError, match="n_components='auto'"):
        nn.nmf(X, "auto", init=(W0, H0), fix_H=[0])


def test_dask_refuses_them():
    da = pytest.importorskip("dask.array", reason="the Dask path needs the dask extra")
    X, W0, H0 = _problem()
    with pytest.raises(ValueError, match="not supported on a Dask array"):
        nn.nmf(da.from_array(X, chunks=(8, 18)), K, init=(W0, H0), fix_W=[0])


def test_nothing_passed_is_modified():
    X, W0, H0 = _problem()
    saved = X.copy(), W0.copy(), H0.copy()
    fix_H, fix_W = np.array([0, 2]), np.array([False, True, False, False])
    _fit(X, "cd", 2.0, init=(W0, H0), fix_H=fix_H, fix_W=fix_W, n_init=2, random_state=0)
    _fit(X, "mu", 1.0, init=(W0, H0), fix_H=fix_H, fix_W=fix_W)
    for before, after in zip(saved, (X, W0, H0)):
        np.testing.assert_array_equal(before, after)
    assert fix_H.tolist() == [0, 2] and fix_W.tolist() == [False, True, False, False]


def test_float32_data_keeps_the_start_in_its_dtype():
    """A float64 start for float32 data is cast once: the fixed rows equal H0 in float32."""
    X, W0, H0 = _problem(dtype=np.float32)
    res = _fit(X, "cd", 2.0, init=(W0.astype(np.float64), H0.astype(np.float64)), fix_H=[0])
    assert res.H.dtype == np.float32
    assert np.array_equal(res.H[0], H0[0])


def test_nmf_many_runs_them_as_single_calls():
    X, W0, H0 = _problem(m=12, n=10)
    Xs = np.stack([X, X * 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        many = nn.nmf_many(Xs, K, init=(W0, H0), fix_H=[0], solver="cd", max_iter=20, tol=0)
        single = nn.nmf(Xs[1], K, init=(W0, H0), fix_H=[0], solver="cd", max_iter=20, tol=0)
    np.testing.assert_array_equal(many.H[1], single.H)
    assert np.array_equal(many.H[0][0], H0[0]) and many[0].fixed_H.tolist() == [1, 0, 0, 0]


# ---------------------------------------------------------------- estimator and CLI


def test_estimator_fixes_the_given_components():
    X, W0, H0 = _problem()
    saved = W0.copy(), H0.copy()
    est = nn.NMF(K, init="custom", solver="cd", fix_H=[0, 2], fix_W=[1], max_iter=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        W = est.fit_transform(X, W=W0, H=H0)
    assert np.array_equal(est.components_[[0, 2]], H0[[0, 2]])
    assert np.array_equal(W[:, 1], W0[:, 1])  # fit_transform keeps the fit's W
    assert est.result_.fixed_H.tolist() == [True, False, True, False]
    np.testing.assert_array_equal(W0, saved[0])
    np.testing.assert_array_equal(H0, saved[1])
    assert est.get_params()["fix_H"] == [0, 2]
    assert est.transform(X).shape == (X.shape[0], K)  # transform unaffected


def test_estimator_fix_H_only_keeps_scikit_learns_transform_rule():
    X, W0, H0 = _problem()
    est = nn.NMF(K, init="custom", solver="cd", fix_H=[1], max_iter=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        W = est.fit_transform(X, W=W0, H=H0)
        np.testing.assert_allclose(W, est.transform(X))
    assert np.array_equal(est.components_[1], H0[1])


def test_estimator_needs_a_custom_init():
    X, _, _ = _problem()
    with pytest.raises(ValueError, match="fix_H/fix_W need init='custom'"):
        nn.NMF(K, fix_H=[0]).fit(X)


def test_cli_fix_H(tmp_path, capsys):
    X, _, H0 = _problem()
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "known.npy", H0[:2])
    out = tmp_path / "f.npz"
    rc = cli.main(["fit", str(tmp_path / "x.npy"), "-k", "4", "--fix-H",
                   str(tmp_path / "known.npy"), "--seed", "0", "--out", str(out), "-q"])
    assert rc == 0
    with np.load(out) as f:
        assert np.array_equal(f["H"][:2], H0[:2]) and f["H"].shape == (4, X.shape[1])
    summary = out.with_suffix(".json").read_text()
    assert '"fixed_components": 2' in summary


@pytest.mark.parametrize("rows, k, message", [
    (np.ones((2, 5)), "4", "its rows are components over X's 18 columns"),
    (np.ones((5, 18)), "4", "5 fixed components for -k 4"),
])
def test_cli_fix_H_errors_are_one_line(tmp_path, capsys, rows, k, message):
    X, _, _ = _problem()
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "known.npy", rows)
    rc = cli.main(["fit", str(tmp_path / "x.npy"), "-k", k, "--fix-H",
                   str(tmp_path / "known.npy"), "--out", str(tmp_path / "f.npz")])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and err.count("\n") == 1


@pytest.mark.parametrize("solver, beta", [("cd", 2), ("hals", 2), ("mu", 2), ("mu", 1),
                                          ("newton-cd", 1), ("mu", 0.5)])
def test_fixed_components_with_weights(solver, beta):
    """Fixed components and per-entry weights together: the fixed rows stay bit-equal, the
    weighted objective never increases, and the free part is the weighted fit's."""
    rng = np.random.default_rng(0)
    X, weights = rng.random((30, 20)) + 0.01, 2 * rng.random((30, 20))
    W0, H0 = nn.initialize(X, 4, "random", random_state=0)
    res = nn.nmf(X, 4, init=(W0, H0), fix_H=[0, 2], solver=solver, beta_loss=beta,
                 weights=weights, max_iter=60, tol=0)
    np.testing.assert_array_equal(res.H[[0, 2]], H0[[0, 2]])
    assert not np.array_equal(res.H[[1, 3]], H0[[1, 3]])
    objective = res.history["objective"]
    assert np.all(np.diff(objective) <= 1e-12 * objective[0])
    assert res.data_loss == pytest.approx(  # scikit-learn's β-divergence: ½‖·‖² for β = 2
        nn.metrics.beta_divergence(X, res.W, res.H, beta, weights=weights), rel=1e-9)
