"""The catalogue of hostile inputs, run through the whole public surface.

Every case states its exact outcome: a clear error (type and the words that name the problem)
or a correct result (finite, non-negative factors).  Every case runs through ``nmf``,
``transform``, the scikit-learn-compatible ``NMF`` estimator, the metrics, the command line and
the Dask path; the consensus and rank-selection functions get the error cases.  Whatever the
outcome, the caller's arrays are never modified, nothing segfaults or hangs.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import pytest
import scipy.sparse as sp

import nmf_numba as nn
from nmf_numba import cli, metrics

K = 3
rng = np.random.default_rng(0)
BASE = rng.random((12, 8)) + 0.05  # strictly positive: every β is defined on it


@dataclass
class Case:
    id: str
    make: Callable  # () -> X
    error: Optional[type] = None  # None: must succeed
    match: str = ""  # regex the error message must contain (nmf / transform)
    k: int = K
    kwargs: Optional[dict] = None


def _csr(data, indices, indptr, shape=(12, 8)):
    """A CSR matrix with exactly these arrays, bypassing scipy's checks (as corrupt input can)."""
    X = sp.csr_matrix(shape)
    X.data = np.asarray(data, dtype=np.float64)
    X.indices = np.asarray(indices, dtype=np.int32)
    X.indptr = np.asarray(indptr, dtype=np.int32)
    return X


def _csr_float_indices():
    X = _one_row_nnz([1.0, 2.0], [1, 3])
    X.indices = X.indices.astype(np.float64)  # scipy's check_format only warns
    return X


def _readonly(A):
    A = A.copy()
    A.setflags(write=False)
    return A


def _memmap():
    import tempfile

    path = os.path.join(tempfile.mkdtemp(), "x.npy")
    np.save(path, BASE)
    return np.load(path, mmap_mode="r")


def _pandas():
    pd = pytest.importorskip("pandas", reason="DataFrame input is tested where pandas is installed (test extra)")
    return pd.DataFrame(BASE, columns=[f"f{j}" for j in range(8)])


def _one_row_nnz(values, cols):
    """Row 0 holds ``values`` at ``cols`` (possibly unsorted or repeated); the rest is empty."""
    return _csr(values, cols, [0, len(cols)] + [len(cols)] * 11)


CASES = [
    # values
    Case("negative", lambda: BASE - 0.5, ValueError,
         r"Negative values in data passed to X: \d+ entries are < 0 \(minimum -0.4\d*\)\. "
         "NMF needs non-negative data: shift or clip it first."),
    Case("nan-without-mask-is-missing", lambda: np.where(BASE > 0.9, np.nan, BASE)),
    Case("+inf", lambda: np.where(BASE > 0.9, np.inf, BASE), ValueError, "infinity"),
    Case("-inf", lambda: np.where(BASE > 0.9, -np.inf, BASE), ValueError, "infinity"),
    Case("all-nan", lambda: np.full((12, 8), np.nan), ValueError, "no observed|observed"),
    # shapes
    Case("0-d", lambda: np.float64(3.0), ValueError, "2D array"),
    Case("1-d", lambda: BASE[0], ValueError, "2D array"),
    Case("3-d", lambda: BASE[None], ValueError, "dim 3"),
    Case("0xn", lambda: np.zeros((0, 8)), ValueError, "0 sample"),
    Case("mx0", lambda: np.zeros((12, 0)), ValueError, "0 feature"),
    Case("1x1", lambda: np.array([[2.0]]), k=1),
    Case("k-greater-than-min", lambda: BASE, k=20),
    # the rank
    Case("k=0", lambda: BASE, ValueError, "n_components", k=0),
    Case("k=-2", lambda: BASE, ValueError, "n_components", k=-2),
    Case("k=2.5", lambda: BASE, TypeError, "n_components", k=2.5),
    Case("k=2.0", lambda: BASE, TypeError, "n_components", k=2.0),
    Case("k=True", lambda: BASE, TypeError, "n_components", k=True),
    Case("k=np.int64", lambda: BASE, k=np.int64(2)),
    # dtypes
    Case("object-numbers", lambda: BASE.astype(object)),
    Case("object-words", lambda: np.array([["a", "b"], ["c", "d"]], dtype=object), ValueError,
         "convert|could not", k=1),
    Case("strings", lambda: BASE.astype(str), TypeError, "text"),
    Case("bytes", lambda: BASE.astype("S8"), TypeError, "text"),
    Case("complex", lambda: BASE.astype(complex), ValueError, "[Cc]omplex"),
    Case("float16", lambda: BASE.astype(np.float16)),
    Case("bool", lambda: BASE > 0.5),
    Case("int64-near-2**63", lambda: (BASE / BASE.max() * (2**63 - 1024)).astype(np.int64)),
    # magnitudes
    Case("near-float-max", lambda: BASE * 1e300, ValueError, "too large"),
    Case("subnormal", lambda: BASE * 1e-310, ValueError, "too small"),
    Case("tiny-but-fine", lambda: BASE * 1e-150),
    Case("large-1e60", lambda: BASE * 1e60),
    # scikit-learn's NNDSVDa fill sets zeros of W and H to mean(X), so W H ~ mean(X)²: at 1e150
    # the initial model overflows, and the fit says so (the random start, √(mean/k), does not)
    Case("large-1e150-nndsvda-overflows", lambda: BASE * 1e150, FloatingPointError,
         "Rescale X"),
    Case("large-1e150-random-start", lambda: BASE * 1e150, kwargs=dict(init="random")),
    # degenerate data
    Case("all-zero", lambda: np.zeros((12, 8))),
    Case("zero-rows-and-columns",
         lambda: np.where(np.add.outer(np.arange(12) % 3 == 0, np.arange(8) % 4 == 0), 0, BASE)),
    Case("constant", lambda: np.full((12, 8), 3.0)),
    Case("single-non-zero", lambda: np.pad([[5.0]], ((4, 7), (2, 5)))),
    Case("csr-all-zero", lambda: sp.csr_matrix((12, 8))),
    # CSR structure
    Case("csr-unsorted-indices", lambda: _one_row_nnz([1.0, 2.0, 3.0], [5, 1, 3])),
    Case("csr-duplicate-entries", lambda: _one_row_nnz([1.0, 2.0], [3, 3])),
    Case("csr-explicit-zeros", lambda: _one_row_nnz([0.0, 2.0, 0.0], [1, 3, 6])),
    Case("csr-int64-indices", lambda: sp.csr_matrix(
        (BASE.ravel(), np.tile(np.arange(8, dtype=np.int64), 12),
         np.arange(0, 97, 8, dtype=np.int64)), shape=(12, 8))),
    Case("csr-index-out-of-range", lambda: _one_row_nnz([1.0, 2.0], [1, 9]), ValueError,
         "invalid CSR structure: indices must be < 8"),
    Case("csr-negative-index", lambda: _one_row_nnz([1.0, 2.0], [-1, 3]), ValueError,
         "invalid CSR structure: indices must be >= 0"),
    Case("csr-indptr-not-monotone", lambda: _csr([1.0, 2.0], [1, 3], [0, 2, 1] + [2] * 10),
         ValueError, "indptr must be a non-decreasing sequence"),
    # nothing stored: scipy's check_format skips the order check, ours does not
    Case("csr-indptr-not-monotone-nothing-stored",
         lambda: _csr([1.0], [99], [0, 1, 0] + [0] * 10), ValueError,
         "indptr must be a non-decreasing sequence"),
    Case("csr-shape-mismatch", lambda: _csr([1.0, 2.0], [1, 3], [0, 2, 2]), ValueError,
         "invalid CSR structure: index pointer size 3 should be 13"),
    Case("csr-float-indices", lambda: _csr_float_indices(), ValueError,
         "indices has dtype float64, not an integer one"),
    # arrays longer than the stored entries: scipy's check prunes them, on its own copy
    Case("csr-spare-capacity", lambda: _csr([1.0, 2.0, 3.0, 4.0], [1, 3, 0, 0],
                                            [0, 2] + [2] * 11)),
    Case("csr-negative-values", lambda: _one_row_nnz([-1.0, 2.0], [1, 3]), ValueError,
         "Negative values"),
    Case("csr-nan-value", lambda: _one_row_nnz([np.nan, 2.0], [1, 3]), ValueError, "NaN"),
    Case("coo", lambda: sp.coo_matrix(BASE)),
    Case("csc", lambda: sp.csc_matrix(BASE)),
    # memory layouts and containers
    Case("fortran-order", lambda: np.asfortranarray(BASE)),
    Case("non-contiguous", lambda: np.repeat(np.repeat(BASE, 2, 0), 2, 1)[::2, ::2]),
    Case("read-only", lambda: _readonly(BASE)),
    Case("memory-mapped", _memmap),
    Case("pandas-dataframe", _pandas),
    Case("nested-lists", lambda: BASE.tolist()),
    # β ≤ 0 with zeros
    Case("itakura-saito-with-zeros", lambda: np.where(BASE > 0.5, BASE, 0), ValueError,
         "undefined when X contains zeros", kwargs=dict(beta_loss="itakura-saito")),
    Case("beta=-1-with-zeros", lambda: np.where(BASE > 0.5, BASE, 0), ValueError,
         "undefined when X contains zeros", kwargs=dict(beta_loss=-1.0)),
    Case("itakura-saito-positive", lambda: BASE, kwargs=dict(beta_loss="itakura-saito")),
    # the range of β float64 can evaluate
    Case("beta=1e6", lambda: BASE, ValueError,
         r"beta_loss == 1000000.0, must be <= 100.0: float64 cannot evaluate",
         kwargs=dict(beta_loss=1e6)),
    Case("beta=-1e3", lambda: BASE, ValueError, r"beta_loss == -1000.0, must be >= -100.0",
         kwargs=dict(beta_loss=-1e3)),
    Case("beta=nan", lambda: BASE, ValueError, r"beta_loss == nan, must be a number",
         kwargs=dict(beta_loss=np.nan)),
    Case("beta=10", lambda: BASE, kwargs=dict(beta_loss=10.0)),
    Case("beta=-5-positive", lambda: BASE, kwargs=dict(beta_loss=-5.0)),
]

CASE_IDS = [c.id for c in CASES]


_SPARSE_ARRAYS = ("data", "indices", "indptr", "row", "col")


def _snapshot(X):
    if sp.issparse(X):
        return ("sparse",) + tuple(getattr(X, a).copy() for a in _SPARSE_ARRAYS if hasattr(X, a))
    if hasattr(X, "to_numpy"):
        return ("frame", X.to_numpy(copy=True))
    if isinstance(X, list):
        return ("list", [list(row) for row in X])
    return ("array", np.array(X, copy=True))


def _assert_unchanged(X, snap):
    kind = snap[0]
    if kind == "sparse":
        arrays = [getattr(X, a) for a in _SPARSE_ARRAYS if hasattr(X, a)]
        for a, b in zip(arrays, snap[1:], strict=True):
            np.testing.assert_array_equal(a, b)
    elif kind == "frame":
        np.testing.assert_array_equal(X.to_numpy(), snap[1])
    elif kind == "list":
        assert X == snap[1]
    else:
        np.testing.assert_array_equal(np.asarray(X), snap[1])


def _assert_factor(A, shape=None):
    A = np.asarray(A)
    assert np.all(np.isfinite(A)), "non-finite factor"
    assert np.all(A >= 0), "negative factor"
    if shape is not None:
        assert A.shape == shape


def _expect(case, call):
    """Run ``call()``; check the case's outcome; return the result (None for errors)."""
    if case.error is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call()
    with pytest.raises(case.error, match=case.match):
        call()
    return None


def _shape(X):
    return np.shape(X.to_numpy() if hasattr(X, "to_numpy") else X)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_nmf(case):
    X = case.make()
    snap = _snapshot(X)
    res = _expect(case, lambda: nn.nmf(X, case.k, max_iter=30, random_state=0,
                                       **(case.kwargs or {})))
    if res is not None:
        m, n = _shape(X)
        _assert_factor(res.W, (m, int(case.k)))
        _assert_factor(res.H, (int(case.k), n))
        assert np.isfinite(res.loss) and res.loss >= 0
    _assert_unchanged(X, snap)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_transform(case):
    X = case.make()
    snap = _snapshot(X)
    n = _shape(X)[-1] if np.ndim(X) >= 1 and _shape(X) else 1
    k = int(case.k) if isinstance(case.k, (int, np.integer)) and case.k > 0 else K
    H = np.random.default_rng(1).random((k, max(n, 1)))
    H_snap = H.copy()
    if case.error is TypeError and "n_components" in case.match:
        pytest.skip("transform takes H, not a rank")
    if case.error is ValueError and "n_components" in case.match:
        pytest.skip("transform takes H, not a rank")
    beta = (case.kwargs or {}).get("beta_loss", "frobenius")
    if case.id == "large-1e150-nndsvda-overflows":  # transform starts from √(mean/k): fine
        case = Case(case.id, case.make)
    W = _expect(case, lambda: nn.transform(X, H, beta_loss=beta))
    if W is not None:
        _assert_factor(W, (_shape(X)[0], k))
    _assert_unchanged(X, snap)
    np.testing.assert_array_equal(H, H_snap)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_estimator(case):
    """scikit-learn's validation runs first in the estimator, so its errors may be worded its
    way: the type is checked (ValueError or TypeError, as scikit-learn raises them)."""
    X = case.make()
    snap = _snapshot(X)
    beta = (case.kwargs or {}).get("beta_loss", "frobenius")
    solver = "mu" if beta != "frobenius" else "cd"
    init = (case.kwargs or {}).get("init", "random" if case.id == "k-greater-than-min" else None)
    est = nn.NMF(n_components=case.k, max_iter=30, random_state=0, beta_loss=beta,
                 solver=solver, init=init)
    # scikit-learn's validate_data runs first and turns numeric strings into numbers, as
    # scikit-learn's own NMF does: the drop-in behaves the same
    if case.error is None or case.id in ("strings", "bytes"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            W = est.fit_transform(X)
        _assert_factor(W)
        _assert_factor(est.components_)
    else:
        with pytest.raises((ValueError, TypeError, FloatingPointError)):
            est.fit(X)
        assert not hasattr(est, "components_")  # nothing half-fitted
    _assert_unchanged(X, snap)


@pytest.mark.parametrize("case", [c for c in CASES if c.error is None], ids=lambda c: c.id)
def test_metrics_on_good_inputs(case):
    X = case.make()
    snap = _snapshot(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = nn.nmf(X, case.k, max_iter=20, random_state=0, **(case.kwargs or {}))
        for value in (metrics.relative_error(X, res), metrics.explained_variance(X, res)):
            assert np.isfinite(value) or np.isnan(value) and case.id in ("all-zero",
                                                                          "csr-all-zero")
    _assert_unchanged(X, snap)


@pytest.mark.parametrize("case", [c for c in CASES if c.error in (ValueError, TypeError) and
                                  "n_components" not in c.match and c.kwargs is None],
                         ids=lambda c: c.id)
def test_metrics_consensus_and_rank_selection_reject_bad_data(case):
    X = case.make()
    W = np.ones((max(_shape(X)[0] if np.ndim(X) else 1, 1), K))
    H = np.ones((K, max(_shape(X)[-1] if np.ndim(X) else 1, 1)))
    with pytest.raises((ValueError, TypeError)):
        metrics.relative_error(X, W, H)
    with pytest.raises((ValueError, TypeError)):
        nn.consensus(X, 2, n_runs=2, random_state=0, max_iter=5)
    with pytest.raises((ValueError, TypeError)):
        nn.select_rank(X, [1, 2], n_folds=2, random_state=0, max_iter=5)


def _cli_input(X, tmp_path):
    """The case's X as a file for the command line, or None when no file format holds it."""
    if sp.issparse(X):
        if X.format == "csr" and not (len(X.indptr) == X.shape[0] + 1
                                      and np.all(np.diff(X.indptr) >= 0)):
            return None  # a corrupt structure cannot be written by scipy
        if X.format == "csr" and X.indices.dtype.kind not in "iu":
            return None  # loading casts the indices to integers: the file is a different case
        path = tmp_path / "x.npz"
        try:
            sp.save_npz(path, X.tocsr())
        except (ValueError, IndexError):
            return None
        return path
    A = np.asarray(X.to_numpy() if hasattr(X, "to_numpy") else X)
    if A.dtype == object or A.dtype.kind in "USc":
        return None
    path = tmp_path / "x.npy"
    np.save(path, A)
    return path


@pytest.mark.parametrize("case", [c for c in CASES if c.kwargs is None], ids=lambda c: c.id)
def test_command_line(case, tmp_path, capsys):
    X = case.make()
    path = _cli_input(X, tmp_path)
    if path is None:
        pytest.skip("no input file format holds this case")
    out = tmp_path / "out" / "f.npz"
    k = case.k
    rc = cli.main(["fit", str(path), "-k", str(k), "--out", str(out), "--max-iter", "20",
                   "--seed", "0", "--quiet"] + (["--init", "random"] if k > 8 else []))
    captured = capsys.readouterr()
    if case.error is None:
        assert rc == 0, captured.err
        with np.load(out) as f:
            _assert_factor(f["W"])
            _assert_factor(f["H"])
    else:
        assert rc == 2
        assert captured.err.count("\n") == 1 and captured.err.startswith("nmf-numba: error:")
        assert not out.exists() and not list((tmp_path / "out").glob("*")) \
            if (tmp_path / "out").exists() else True


@pytest.mark.parametrize("case", [c for c in CASES if c.kwargs is None and
                                  isinstance(c.make(), np.ndarray) and c.make().ndim == 2
                                  and c.make().dtype.kind in "biuf" and min(c.make().shape) > 0],
                         ids=lambda c: c.id)
def test_dask_path(case):
    da = pytest.importorskip("dask.array", reason="the Dask path needs the dask extra")
    import dask

    X = case.make()
    snap = _snapshot(X)
    Xd = da.from_array(X, chunks=(5, X.shape[1]))
    with dask.config.set(scheduler="synchronous"):
        if case.id == "nan-without-mask-is-missing":  # no missing values on the Dask path
            with pytest.raises(ValueError, match="missing values are not supported"):
                nn.nmf(Xd, case.k, max_iter=10, random_state=0)
        elif case.error is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = nn.nmf(Xd, case.k, max_iter=10, random_state=0,
                             init="random" if case.k > min(X.shape) else "auto")
            _assert_factor(res.W.compute())
            _assert_factor(res.H)
        else:
            with pytest.raises(case.error):
                nn.nmf(Xd, case.k, max_iter=10, random_state=0)
    _assert_unchanged(X, snap)


# --------------------------------------------------------------------------------------------
# custom starts, and runs that must stop
# --------------------------------------------------------------------------------------------

W0, H0 = nn.initialize(BASE, K, "random", random_state=0)

INIT_CASES = [
    ("nan-in-W0", (np.where(W0 > 0.5, np.nan, W0), H0), ValueError, "NaN"),
    ("inf-in-H0", (W0, np.where(H0 > 0.5, np.inf, H0)), ValueError, "infinity"),
    ("negative-W0", (-W0, H0), ValueError, "Negative values in data passed to init W0"),
    ("wrong-shape", (W0.T, H0), ValueError, r"init W0 has shape \(3, 12\), expected \(12, 3\)"),
    ("wrong-k", (W0[:, :2], H0[:2]), ValueError, "expected"),
    ("strings", (W0.astype(str), H0), TypeError, "text"),
    ("sparse-W0", (sp.csr_matrix(W0), H0), TypeError, "dense"),
    ("three-factors", (W0, H0, H0), ValueError, "tuple"),
    ("all-zero-column", (np.where(np.arange(K) == 1, 0.0, W0), H0), None, ""),
    ("int-dtype", (np.ones((12, K), int), np.ones((K, 8), int)), None, ""),
    ("float32-for-float64-X", (W0.astype(np.float32), H0.astype(np.float32)), None, ""),
    ("all-zero", (np.zeros_like(W0), np.zeros_like(H0)), None, ""),
]


@pytest.mark.parametrize("name,init,error,match", INIT_CASES, ids=[c[0] for c in INIT_CASES])
@pytest.mark.parametrize("solver", ["cd", "mu"])
def test_custom_init(name, init, error, match, solver):
    copies = [np.array(a.toarray() if sp.issparse(a) else a, copy=True) for a in init]
    if error is not None:
        with pytest.raises(error, match=match):
            nn.nmf(BASE, K, init=init, solver=solver, max_iter=10)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = nn.nmf(BASE, K, init=init, solver=solver, max_iter=10)
        assert res.W.dtype == BASE.dtype
        _assert_factor(res.W, (12, K))
        _assert_factor(res.H, (K, 8))
    for a, c in zip(init, copies):
        np.testing.assert_array_equal(a.toarray() if sp.issparse(a) else a, c)


def test_huge_max_iter_stops_at_the_time_limit():
    X = np.random.default_rng(2).random((200, 100))
    nn.nmf(X, 4, max_iter=2, tol=0)  # compiled before the clock starts
    t0 = time.perf_counter()
    res = nn.nmf(X, 4, max_iter=10**12, tol=0, time_limit=0.3)
    elapsed = time.perf_counter() - t0
    assert res.stop_reason == "time_limit" and 0.3 <= elapsed < 3.0


def test_a_raising_callback_propagates_and_leaves_nothing_behind():
    X = BASE.copy()
    calls = []

    def callback(info):
        calls.append(info.iteration)
        info.W[:] = -1  # the callback's copies cannot damage the fit or the caller
        if info.iteration == 3:
            raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        nn.nmf(X, K, callback=callback, init=(W0, H0), solver="cd", max_iter=50)
    assert calls == [1, 2, 3]
    np.testing.assert_array_equal(X, BASE)
    est = nn.NMF(K, callback=callback, max_iter=50)
    calls.clear()
    with pytest.raises(RuntimeError, match="stop here"):
        est.fit(X)
    assert not hasattr(est, "components_")


def test_keyboard_interrupt_stops_a_long_fit_promptly(tmp_path):
    script = textwrap.dedent("""
        import sys, numpy as np, nmf_numba as nn
        X = np.random.default_rng(0).random((400, 300))
        nn.nmf(X, 5, solver="mu", beta_loss=0.5, max_iter=2, tol=0)   # compile first
        print("fitting", flush=True)
        nn.nmf(X, 5, solver="mu", beta_loss=0.5, max_iter=10**9, tol=0)
        print("not interrupted", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "fitting", proc.stderr.read()
        time.sleep(1.0)
        t0 = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=30)
        stopped_after = time.perf_counter() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rc != 0 and "KeyboardInterrupt" in proc.stderr.read()
    assert stopped_after < 5.0


def test_catalogue_size():
    """The closing note quotes this number."""
    assert len(CASES) + len(INIT_CASES) >= 60
