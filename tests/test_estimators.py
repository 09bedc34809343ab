"""The scikit-learn-compatible estimators (issue 6): scikit-learn's own test file and estimator
checks against ``nmf_numba.NMF``/``MiniBatchNMF``, equality with scikit-learn from the same
start, and what the estimators add."""

import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import nmf_numba as nn

from .conftest import make_data

sklearn = pytest.importorskip("sklearn", reason="the estimators are built on scikit-learn")

from sklearn.decomposition import NMF as SkNMF  # noqa: E402
from sklearn.decomposition._nmf import _beta_divergence  # noqa: E402

SKLEARN_IMPORT = "from sklearn.decomposition import NMF, MiniBatchNMF, non_negative_factorization"
# This one test of scikit-learn's file passes there only because scikit-learn writes the fitted
# components into the caller's H (init="custom"): the fit and the partial fits it compares all
# share that one array, so they are equal whatever they compute.  nmf_numba never modifies the
# caller's arrays (see test_caller_arrays_are_not_modified), so it cannot pass.
ALIASING_TEST = "test_minibatch_nmf_partial_fit"


def test_scikit_learns_own_test_file_passes(tmp_path):
    """scikit-learn's test_nmf.py, copied at test time with its estimator import swapped."""
    source = Path(sklearn.__file__).parent / "decomposition" / "tests" / "test_nmf.py"
    text = source.read_text()
    assert text.count(SKLEARN_IMPORT) == 1, "scikit-learn's test file changed its import line"
    swapped = tmp_path / "test_nmf_swapped.py"
    swapped.write_text(text.replace(
        SKLEARN_IMPORT, "from nmf_numba import NMF, MiniBatchNMF, non_negative_factorization"))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", str(swapped), "-q", "-p", "no:cacheprovider",
         "--deselect", f"{swapped.name}::{ALIASING_TEST}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=1800,
    )
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
    passed = int(re.search(r"(\d+) passed", summary).group(1))
    assert passed >= 250 and "failed" not in summary and "1 deselected" in summary, summary


def test_the_aliasing_test_needs_the_callers_H_modified():
    """The evidence for leaving out ALIASING_TEST: scikit-learn's MiniBatchNMF returns the
    caller's H array itself as components_ (updated in place); nmf_numba returns a new one."""
    rng = np.random.RandomState(42)
    X = np.abs(rng.randn(100, 5))
    W0, H0 = nn.initialize(X, 5, "random", 0)
    kw = dict(n_components=5, init="custom", random_state=0, max_iter=2, batch_size=10, tol=0,
              max_no_improvement=None)
    H_sk = H0.copy()
    sk = sklearn.decomposition.MiniBatchNMF(**kw).fit(X, W=W0.copy(), H=H_sk)
    ours_H = H0.copy()
    ours = nn.MiniBatchNMF(**kw).fit(X, W=W0.copy(), H=ours_H)
    assert sk.components_ is H_sk  # scikit-learn: the caller's array, modified
    assert ours.components_ is not ours_H
    np.testing.assert_array_equal(ours_H, H0)


# NMF takes sample_weight; scikit-learn then checks that integer weights give the fit of the
# repeated rows from its default start.  NMF is non-convex and that start (NNDSVDa) is computed
# from the data, whose repeated rows have another SVD than the weighted ones, so the fits
# differ; from the same start (W0's rows repeated) they agree (tests/test_weights.py).
_SAMPLE_WEIGHT_START = ("NMF is non-convex and its default start is computed from the data: "
                        "repeated rows give another start than weighted ones")
EXPECTED_FAILURES = {
    "NMF": {"check_sample_weight_equivalence_on_dense_data": _SAMPLE_WEIGHT_START,
            "check_sample_weight_equivalence_on_sparse_data": _SAMPLE_WEIGHT_START},
}


@pytest.mark.parametrize("Estimator", [nn.NMF, nn.MiniBatchNMF])
def test_check_estimator_passes_every_check(Estimator):
    from sklearn.utils.estimator_checks import check_estimator

    expected = EXPECTED_FAILURES.get(Estimator.__name__, {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(Estimator(), on_fail=None, expected_failed_checks=expected)
    failed = [(r["check_name"], str(r["exception"])[:300]) for r in results
              if r["status"] == "failed"]
    assert not failed
    xfailed = {r["check_name"] for r in results if r["status"] == "xfail"}
    assert xfailed == set(expected)  # they still fail: no stale entry
    names = {r["check_name"] for r in results if r["status"] == "passed"}
    # the two checks scikit-learn's own NMF and MiniBatchNMF fail (their issue #18663)
    assert {"check_transformer_general", "check_transformer_data_not_an_array"} <= names
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert skipped <= {"check_array_api_input"}  # needs SCIPY_ARRAY_API=1 in the environment


def _objective(X, W, H, beta, alpha_W, alpha_H, l1_ratio):
    """scikit-learn's objective, from its own _beta_divergence."""
    m, n = X.shape
    return (_beta_divergence(X, W, H, beta)
            + alpha_W * l1_ratio * n * W.sum() + alpha_H * l1_ratio * m * H.sum()
            + 0.5 * alpha_W * (1 - l1_ratio) * n * (W**2).sum()
            + 0.5 * alpha_H * (1 - l1_ratio) * m * (H**2).sum())


@pytest.mark.parametrize("solver,beta", [("cd", 2), ("mu", 2), ("mu", 1), ("mu", 0.5)])
@pytest.mark.parametrize("alphas", [(0.0, 0.0), (0.01, 0.02)])
def test_same_iterations_and_objective_as_sklearn_from_the_same_init(solver, beta, alphas, fmt):
    """Same start: the same number of iterations (scikit-learn's stopping rules), the same last
    iterate; the returned W (transform's, for the final H) is no worse for cd, and for mu it is
    the MU W-solve of the same H (scikit-learn's MiniBatchNMF transform)."""
    rng = np.random.RandomState(0)
    X = rng.rand(60, 40) * rng.rand(40)
    X[X < 0.2] = 0
    W0, H0 = nn.initialize(X, 6, "random", 0)
    alpha_W, alpha_H = alphas
    kw = dict(n_components=6, init="custom", solver=solver, beta_loss=beta, alpha_W=alpha_W,
              alpha_H=alpha_H, l1_ratio=0.3, max_iter=2000)
    Xin = sp.csr_matrix(X) if fmt == "csr" else X
    sk = SkNMF(**kw)
    W_sk = sk.fit_transform(Xin, W=W0.copy(), H=H0.copy())
    ours = nn.NMF(**kw)
    W_ours = ours.fit_transform(Xin, W=W0.copy(), H=H0.copy())
    f_sk = _objective(X, W_sk, sk.components_, beta, alpha_W, alpha_H, 0.3)
    f_iterate = _objective(X, ours.result_.W, ours.result_.H, beta, alpha_W, alpha_H, 0.3)
    f_ours = _objective(X, W_ours, ours.components_, beta, alpha_W, alpha_H, 0.3)
    assert ours.n_iter_ == sk.n_iter_
    assert abs(f_iterate - f_sk) <= 1e-6 * f_sk
    np.testing.assert_allclose(ours.components_, sk.components_, rtol=1e-6, atol=1e-9)
    if solver == "cd":
        assert f_ours <= f_sk * (1 + 1e-12)
        assert abs(f_ours - f_sk) <= 1e-6 * f_sk
    else:
        assert abs(f_ours - f_sk) <= 1e-2 * f_sk
    np.testing.assert_allclose(ours.reconstruction_err_, np.sqrt(2 * _beta_divergence(
        X, W_ours, ours.components_, beta)), rtol=1e-10)


def test_shuffle_draws_sklearns_orders():
    X = make_data(30, 20, seed=3)
    W0, H0 = nn.initialize(X, 4, "random", 0)
    kw = dict(n_components=4, init="custom", shuffle=True, random_state=7, max_iter=15, tol=0)
    sk = SkNMF(**kw).fit(X, W=W0.copy(), H=H0.copy())
    ours = nn.NMF(**kw).fit(X, W=W0.copy(), H=H0.copy())
    np.testing.assert_allclose(ours.result_.H, sk.components_, rtol=1e-10, atol=1e-12)
    plain = nn.NMF(**{**kw, "shuffle": False}).fit(X, W=W0.copy(), H=H0.copy())
    assert not np.allclose(plain.result_.H, ours.result_.H)
    with pytest.raises(ValueError, match=r"solver='mu' has no component order to shuffle.*\['cd'\]"):
        nn.nmf(X, 4, solver="mu", shuffle=True)


@pytest.mark.parametrize("Estimator", [nn.NMF, nn.MiniBatchNMF])
def test_caller_arrays_are_not_modified(Estimator, fmt):
    X = make_data(20, 12, fmt=fmt)
    X_before = X.copy()
    W0, H0 = nn.initialize(X, 3, "random", 0)
    W, H = W0.copy(), H0.copy()
    est = Estimator(n_components=3, init="custom", max_iter=20)
    est.fit_transform(X, W=W, H=H)
    if Estimator is nn.MiniBatchNMF:  # scikit-learn's partial_fit also updates a custom H
        est = Estimator(n_components=3, init="custom").partial_fit(X, W=W, H=H)
        assert est.components_ is not H
        est.partial_fit(X)
    np.testing.assert_array_equal(W, W0)
    np.testing.assert_array_equal(H, H0)
    if sp.issparse(X):
        assert (X != X_before).nnz == 0
    else:
        np.testing.assert_array_equal(X, X_before)


def test_fit_then_transform_equals_fit_transform(fmt):
    """scikit-learn's #18663: here transform(X) on the training data is fit_transform's W."""
    X = make_data(40, 25, fmt=fmt, seed=5)
    for est in (nn.NMF(5, random_state=0), nn.NMF(5, solver="mu", random_state=0),
                nn.NMF(5, solver="hals", random_state=0), nn.MiniBatchNMF(5, random_state=0),
                nn.NMF(5, solver="newton-cd", beta_loss="kullback-leibler", random_state=0)):
        W = est.fit_transform(X)
        np.testing.assert_allclose(est.transform(X), W, rtol=1e-10, atol=1e-12)


def test_estimator_extras_go_through_nmf():
    X = make_data(40, 30, seed=2)
    est = nn.NMF(4, solver="anls", n_init=3, random_state=0, max_iter=50)
    est.fit(X)
    assert est.result_.solver == "anls" and len(est.result_.run_losses) == 3

    # nsNMF: components_ is S H, so inverse_transform is the model W S H
    est = nn.NMF(4, smoothness=0.5, random_state=0, max_iter=100).fit(X)
    res = est.result_
    np.testing.assert_allclose(est.components_, res.S @ res.H)

    # missing values: NaN in fit and in transform, reconstruction_err_ over observed entries
    Xn = X.copy()
    Xn[np.random.default_rng(0).random(X.shape) < 0.1] = np.nan
    est = nn.NMF(4, random_state=0, max_iter=100)
    W = est.fit_transform(Xn)
    assert np.all(np.isfinite(W)) and np.isfinite(est.reconstruction_err_)
    np.testing.assert_allclose(est.reconstruction_err_, nn.metrics.reconstruction_error(
        Xn, W, est.components_))
    np.testing.assert_allclose(est.transform(Xn), W, rtol=1e-10)
    with pytest.raises(ValueError, match="contains infinity"):
        nn.NMF(2).fit(np.where(np.isnan(Xn), np.inf, Xn))

    # a graph (per-sample data) goes to fit
    G = nn.knn_graph(X, n_neighbors=3)
    est = nn.NMF(4, graph_reg=1.0, random_state=0, max_iter=30).fit(X, graph=G)
    assert est.result_.loss > est.result_.data_loss

    # time_limit, callback; scikit-learn's parameter validation applies to the extras too
    seen = []
    nn.NMF(3, callback=lambda info: seen.append(info.iteration), max_iter=5, tol=0).fit(X)
    assert seen == [1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="The 'smoothness' parameter of NMF must be"):
        nn.NMF(3, smoothness=1.5).fit(X)
    with pytest.raises(ValueError, match="The 'solver' parameter of NMF must be"):
        nn.NMF(3, solver="als").fit(X)


def test_non_negative_factorization_extras():
    X = make_data(20, 15, seed=1)
    M = np.random.default_rng(1).random(X.shape) > 0.2
    W, H, n_iter = nn.non_negative_factorization(X, n_components=3, solver="hals", mask=M,
                                                 max_iter=30, random_state=0)
    assert W.shape == (20, 3) and H.shape == (3, 15) and 1 <= n_iter <= 30


def test_transform_keeps_the_fits_missing_rule():
    """transform(X) of a fit with missing="unobserved" solves over the stored entries only, as
    the W of fit_transform does (it used to treat the absent entries as zeros)."""
    X = sp.random(30, 20, density=0.3, format="csr", random_state=2) + 0
    X.data += 0.1
    est = nn.NMF(3, missing="unobserved", init="random", random_state=0, max_iter=50)
    W = est.fit_transform(X)
    np.testing.assert_allclose(est.transform(X), W, rtol=1e-12)
