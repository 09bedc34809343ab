"""Determinism and threads: the same seed gives the same bits, the thread count does not change
the result, fits may run in several Python threads at once, and in forked processes."""

import subprocess
import sys
import textwrap
import threading
import warnings

import numba
import numpy as np
import pytest
import scipy.sparse as sp

import nmf_numba as nn
from nmf_numba._data import SMALL_PROBLEM

SOLVERS = [("cd", 2.0), ("hals", 2.0), ("anls", 2.0), ("pgd", 2.0), ("mu", 2.0), ("mu", 1.0),
           ("mu", 0.5), ("newton-cd", 1.0)]


def _data(fmt, seed=0):
    """Large enough (> SMALL_PROBLEM stored entries) that fits use the thread pools."""
    rng = np.random.default_rng(seed)
    if fmt == "dense":
        X = rng.random((520, 400)) + 0.01
    else:
        X = sp.random(4000, 1000, density=0.06, format="csr", random_state=seed)
        X.data += 0.01
    stored = X.nnz if sp.issparse(X) else X.size
    assert stored > SMALL_PROBLEM
    return X


def _fit(X, solver, beta, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nn.nmf(X, 6, solver=solver, beta_loss=beta, max_iter=4, tol=0,
                      random_state=0, **kw)


@pytest.fixture(scope="module", params=["dense", "csr"])
def X(request):
    return _data(request.param)


@pytest.mark.parametrize("solver,beta", SOLVERS)
def test_same_seed_same_bits(X, solver, beta):
    a, b = _fit(X, solver, beta), _fit(X, solver, beta)
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.H, b.H)
    assert a.loss == b.loss


@pytest.mark.parametrize("solver,beta", SOLVERS)
def test_one_and_two_threads_agree(X, solver, beta):
    """Kernels split their work into a fixed number of chunks whatever the thread count, and
    OpenBLAS splits a product's output, not its sums: the results agree to the last bit on
    this machine (asserted to 1e-10 relative, the documented guarantee)."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 Numba threads")
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = _fit(X, solver, beta)
        numba.set_num_threads(2)
        two = _fit(X, solver, beta)
    finally:
        numba.set_num_threads(before)
    for a, b in ((one.W, two.W), (one.H, two.H)):
        assert np.abs(a - b).max() <= 1e-10 * np.abs(a).max()


@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_ten_threads_at_once_give_the_serial_results(fmt):
    """CSR fits are bit-identical to serial ones.  Dense fits agree to ~1e-13: their big
    products are OpenBLAS calls, and threadpoolctl's limits (one BLAS thread for the Numba-bound
    steps) are process-wide, so a concurrent fit can run a product with another BLAS thread
    count than the serial fit did, which changes the rounding (not the algorithm)."""
    data = [_data(fmt, seed) for seed in range(10)]
    solvers = [SOLVERS[i % len(SOLVERS)] for i in range(10)]
    serial = [_fit(X, s, b) for X, (s, b) in zip(data, solvers)]
    results, errors = [None] * 10, []

    def run(i):
        try:
            results[i] = _fit(data[i], *solvers[i])
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    for got, want in zip(results, serial):
        if fmt == "csr":  # Numba's kernels: the same bits
            np.testing.assert_array_equal(got.W, want.W)
            np.testing.assert_array_equal(got.H, want.H)
        else:  # see the docstring
            for a, b in ((got.W, want.W), (got.H, want.H)):
                assert np.abs(a - b).max() <= 1e-10 * np.abs(b).max()


def test_numba_uses_tbb_where_it_is_a_dependency():
    """tbb is installed with the package on x86-64 Linux; pip puts its library where the
    loader does not look, and nmf_numba._numba makes it loadable, so Numba must pick it."""
    import importlib.metadata
    import platform

    if not (sys.platform.startswith("linux") and platform.machine() == "x86_64"):
        pytest.skip("tbb is a dependency on x86-64 Linux and Windows only")
    try:
        importlib.metadata.version("tbb")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("tbb is not installed (installed without dependencies?)")
    _fit(_data("csr"), "cd", 2.0)  # a parallel kernel has run: the layer is chosen
    assert numba.threading_layer() == "tbb"


FORK_SCRIPT = textwrap.dedent("""
    import multiprocessing as mp, warnings, numba, numpy as np
    import nmf_numba as nn
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    data = [rng.random((520, 400)) + 0.01 for _ in range(4)]
    def fit(X):
        return nn.nmf(X, 5, solver="mu", beta_loss=1, max_iter=5, tol=0, random_state=0).W
    parent = [fit(X) for X in data]          # the parent has used the thread pool
    assert numba.threading_layer() == "tbb", numba.threading_layer()
    with mp.get_context("fork").Pool(2) as pool:
        children = pool.map_async(fit, data).get(timeout=240)
    assert all(np.array_equal(a, b) for a, b in zip(parent, children))
    print("ok")
""")


def test_a_fork_based_pool_runs_fits_after_the_parent_did():
    probe = subprocess.run(
        [sys.executable, "-c", "import numba, numpy as np, nmf_numba as nn, scipy.sparse as sp;"
         "nn.nmf(sp.random(4000, 1000, density=0.06, format='csr', random_state=0), 3,"
         " max_iter=2, tol=0); print(numba.threading_layer())"],
        capture_output=True, text=True, timeout=300)
    if probe.stdout.strip() != "tbb":
        pytest.skip(f"Numba's layer here is {probe.stdout.strip() or probe.stderr[-200:]!r}, "
                    "not TBB: use the 'spawn' or 'forkserver' start method")
    run = subprocess.run([sys.executable, "-c", FORK_SCRIPT], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-2000:]
