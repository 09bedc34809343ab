"""Determinism and threads: the same seed gives the same bits, the thread count does not change
the result, fits may run in several Python threads at once, and in forked processes.

A fit on fewer than ``nmf_numba._threads.settings.small_problem`` stored entries runs Numba and
the BLAS on one thread, so these tests lower the threshold (the ``parallel`` fixture) to send
small, fast data down the parallel path, and every fit records from its ``callback`` (which runs
on the calling thread inside the fit's thread context) what it ran on:

* ``numba.get_num_threads()`` and the BLAS's ``num_threads`` (threadpoolctl);
* the ``numba.get_thread_id()`` values a tiny ``prange`` probe saw: two distinct ids prove that
  Numba's pool really ran two threads, not just that the setting said 2.

The policy (``nmf_numba._threads.fit_threads``) for a problem above the threshold: dense data with
a BLAS-bound solver ("cd", "anls", "pgd", MU with β ∈ {1, 2}) keeps Numba on one thread and the
BLAS on all; CSR data and kernel-bound solvers ("hals", "newton-cd", MU with other β) give Numba
every thread and the BLAS one.
"""

import subprocess
import sys
import textwrap
import threading
import warnings

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import ThreadpoolController, threadpool_limits

import nmf_numba as nn
from nmf_numba import _threads

SOLVERS = [("cd", 2.0), ("hals", 2.0), ("anls", 2.0), ("pgd", 2.0), ("mu", 2.0), ("mu", 1.0),
           ("mu", 0.5), ("newton-cd", 1.0)]
BLAS_BOUND = {("cd", 2.0), ("anls", 2.0), ("pgd", 2.0), ("mu", 2.0), ("mu", 1.0)}
K = 6

needs_two_threads = pytest.mark.skipif(
    numba.config.NUMBA_NUM_THREADS < 2,
    reason=f"needs 2 Numba threads (NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS} here)")

_BLAS = ThreadpoolController().select(user_api="blas")
ALL_NUMBA = numba.config.NUMBA_NUM_THREADS  # a fit's threads where Numba gets them
ALL_BLAS = max((lib["num_threads"] for lib in _BLAS.info()), default=1)  # where the BLAS does


@pytest.fixture
def parallel(monkeypatch):
    """Every fit takes the parallel path, whatever its size."""
    monkeypatch.setattr(_threads.settings, "small_problem", 0)


def _data(fmt, seed=0):
    """Small data.  Dense: 300×300, so that with k = 6 the fit's big products (m·n·k = 540,000)
    are above the size (2 × 65536 × 4) from which OpenBLAS's GEMM splits over two threads."""
    rng = np.random.default_rng(seed)
    if fmt == "dense":
        return rng.random((300, 300)) + 0.01
    X = sp.random(300, 200, density=0.1, format="csr", random_state=seed)
    X.data += 0.01
    return X


@numba.njit(parallel=True, cache=False)
def _thread_ids(n_iter, work):
    ids = np.empty(n_iter, np.int64)
    sink = np.empty(n_iter)
    for i in numba.prange(n_iter):
        acc = 0.0
        for j in range(work):  # long enough that an idle worker picks up iterations
            acc += np.sqrt(j + i + 1.0)
        sink[i] = acc
        ids[i] = numba.get_thread_id()
    return ids, sink


def _pool_threads():
    """The distinct Numba thread ids a ``prange`` runs on, from the calling thread (retried a
    few times: a worker that has not woken yet may leave a short loop to the caller)."""
    seen = set()
    for _ in range(20):
        seen.update(_thread_ids(64, 20_000)[0].tolist())
        if len(seen) >= numba.get_num_threads():
            break
    return seen


class Record:
    """A fit's callback: what the iterations ran on."""

    def __init__(self, probe=True):
        self.probe = probe
        self.numba, self.blas, self.ids, self.calls = set(), set(), set(), 0

    def __call__(self, info):
        self.calls += 1
        self.numba.add(numba.get_num_threads())
        self.blas.update(lib["num_threads"] for lib in _BLAS.info())
        if self.probe:
            self.ids |= _pool_threads()
        return False

    def ran_on(self, numba_threads, blas_threads):
        """Assert the fit's iterations ran with this policy (BLAS: its setting; Numba: the
        setting and, with the probe, as many distinct pool threads)."""
        assert self.calls > 0
        assert self.numba == {numba_threads}, self.numba
        if blas_threads is not None:
            assert self.blas == {blas_threads}, self.blas
        if self.probe:  # one thread: only the caller's id (0); more: at least two ids
            assert len(self.ids) == 1 if numba_threads == 1 else 2 <= len(self.ids), self.ids


def _policy(fmt, solver, beta):
    """(Numba threads, BLAS threads) inside a fit above the threshold."""
    if fmt == "dense" and (solver, beta) in BLAS_BOUND:
        return 1, ALL_BLAS
    return ALL_NUMBA, 1


def _fit(X, solver, beta, callback=None, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nn.nmf(X, K, solver=solver, beta_loss=beta, max_iter=4, tol=0,
                      random_state=0, callback=callback, **kw)


@pytest.fixture
def restore_blas():
    """Put every BLAS's thread count back after the test (whatever a failing test left)."""
    saved = [(lib, lib.num_threads) for lib in ThreadpoolController().lib_controllers]
    yield
    for lib, n_threads in saved:
        lib.set_num_threads(n_threads)


def _blas_threads():
    return {lib.filepath: lib.num_threads for lib in ThreadpoolController().lib_controllers
            if lib.user_api == "blas"}


@pytest.fixture(scope="module", params=["dense", "csr"])
def data(request):
    return request.param, _data(request.param)


def _same_bits(a, b):
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.H, b.H)
    assert a.loss == b.loss
    np.testing.assert_array_equal(a.history["objective"], b.history["objective"])


@needs_two_threads
def test_the_threshold_decides_whether_numba_gets_the_threads(monkeypatch):
    """CSR data, whose policy above the threshold is every Numba thread and one BLAS thread;
    below it (fewer stored entries than the setting) a fit runs on one thread of each."""
    X = _data("csr")  # 6000 stored entries
    assert _threads.settings.small_problem > X.nnz  # the default
    for small_problem, threads in ((_threads.settings.small_problem, 1), (X.nnz + 1, 1),
                                   (X.nnz, ALL_NUMBA), (0, ALL_NUMBA)):
        monkeypatch.setattr(_threads.settings, "small_problem", small_problem)
        rec = Record()
        _fit(X, "mu", 1.0, callback=rec)
        rec.ran_on(threads, 1)


@needs_two_threads
@pytest.mark.parametrize("solver,beta", SOLVERS)
def test_same_seed_same_bits(parallel, data, solver, beta):
    """Two fits with one seed on the parallel path give the same bits."""
    fmt, X = data
    recs = [Record(), Record()]
    a, b = (_fit(X, solver, beta, callback=rec) for rec in recs)
    for rec in recs:
        rec.ran_on(*_policy(fmt, solver, beta))
    _same_bits(a, b)


@needs_two_threads
@pytest.mark.parametrize("solver,beta", SOLVERS)
def test_one_and_two_threads_agree(parallel, data, solver, beta):
    """The thread count does not change the result.

    Where Numba gets the threads (CSR, kernel-bound solvers) the fit runs once with Numba on one
    thread and once on two (the probe sees 1, then 2 pool threads); kernels split their work into
    a fixed number of chunks whatever the thread count, so the bits are the same.  Where the
    BLAS gets them (dense data, BLAS-bound solvers: Numba is on one thread either way) the fit
    runs once with the BLAS limited to one thread and once on two; OpenBLAS splits a product's
    output, not its sums, so the results agree to the last bit on this machine, asserted to
    1e-10 relative (the documented guarantee: another BLAS may split differently)."""
    fmt, X = data
    numba_threads, blas_threads = _policy(fmt, solver, beta)
    one, two = Record(), Record()
    if numba_threads > 1:
        before = numba.get_num_threads()
        try:
            numba.set_num_threads(1)
            a = _fit(X, solver, beta, callback=one)
            numba.set_num_threads(2)
            b = _fit(X, solver, beta, callback=two)
        finally:
            numba.set_num_threads(before)
        one.ran_on(1, 1)
        two.ran_on(2, 1)
        _same_bits(a, b)
    else:
        if ALL_BLAS < 2:
            pytest.skip("the BLAS runs on one thread here")
        with threadpool_limits(1, user_api="blas"):
            a = _fit(X, solver, beta, callback=one)
        b = _fit(X, solver, beta, callback=two)
        one.ran_on(1, 1)
        two.ran_on(1, ALL_BLAS)
        for u, v in ((a.W, b.W), (a.H, b.H), (a.history["objective"], b.history["objective"])):
            assert np.abs(u - v).max() <= 1e-10 * np.abs(u).max()


@needs_two_threads
@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_ten_threads_at_once_give_the_serial_results(parallel, restore_blas, fmt):
    """Ten fits in ten Python threads at once, on the parallel path, give the serial results.

    Each concurrent fit asserts its Numba thread count (``set_num_threads`` is per calling
    thread); the probe's thread ids are pooled over the ten fits (two calling threads contending
    for one pool need not each get a worker).  The BLAS setting is not asserted per fit: the
    threadpoolctl limits are process-wide, so a concurrent fit may run a product with another
    BLAS thread count than the serial fit did, which changes the rounding of dense fits (not the
    algorithm): those agree to 1e-10, CSR fits (Numba's kernels) to the bit."""
    data = [_data(fmt, seed) for seed in range(10)]
    solvers = [SOLVERS[i % len(SOLVERS)] for i in range(10)]
    serial = [_fit(X, s, b) for X, (s, b) in zip(data, solvers)]
    results, errors = [None] * 10, []
    records = [Record() for _ in range(10)]

    def run(i):
        try:
            results[i] = _fit(data[i], *solvers[i], callback=records[i])
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    for rec, (solver, beta) in zip(records, solvers):
        assert rec.numba == {_policy(fmt, solver, beta)[0]}, (solver, beta, rec.numba)
    assert len(set().union(*(rec.ids for rec in records))) >= 2
    for got, want in zip(results, serial):
        if fmt == "csr":  # Numba's kernels: the same bits
            np.testing.assert_array_equal(got.W, want.W)
            np.testing.assert_array_equal(got.H, want.H)
        else:  # see the docstring
            for a, b in ((got.W, want.W), (got.H, want.H)):
                assert np.abs(a - b).max() <= 1e-10 * np.abs(b).max()


@needs_two_threads
def test_overlapping_fits_leave_the_blas_thread_count_as_it_was(restore_blas):
    """Two fits in two Python threads whose thread contexts overlap (A enters, B enters, A
    leaves, B leaves: what ten concurrent fits do) leave every BLAS with its thread count of
    before.  Where it stays at 1, later work in the process, and the initialisation of fits
    that run meanwhile, use another BLAS thread count than they would have (a 4000×1000 CSR fit
    in ten concurrent ones then differs in its last bits from the serial one)."""
    before = _blas_threads()
    assert min(before.values()) > 1
    a, b = (_threads.fit_threads(True, False, 10**9) for _ in range(2))  # CSR: BLAS on 1
    a.__enter__()
    b.__enter__()
    a.__exit__(None, None, None)
    b.__exit__(None, None, None)
    assert _blas_threads() == before
    # and while one of them is still inside, the BLAS stays on one thread
    a, b = (_threads.fit_threads(True, False, 10**9) for _ in range(2))
    a.__enter__()
    b.__enter__()
    a.__exit__(None, None, None)
    assert max(_blas_threads().values()) == 1
    b.__exit__(None, None, None)
    assert _blas_threads() == before


def test_numba_uses_tbb_where_it_is_a_dependency(parallel):
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
    import multiprocessing as mp, sys, warnings, numba, numpy as np, scipy.sparse as sp
    import nmf_numba as nn
    from nmf_numba import _threads
    warnings.simplefilter("ignore")
    _threads.settings.small_problem = 0          # small data takes the parallel path

    @numba.njit(parallel=True)
    def thread_ids(work):
        ids = np.empty(64, np.int64)
        sink = np.empty(64)
        for i in numba.prange(64):
            acc = 0.0
            for j in range(work):
                acc += np.sqrt(j + i + 1.0)
            sink[i] = acc
            ids[i] = numba.get_thread_id()
        return ids, sink

    def fit(X):
        seen = set()
        def callback(info):
            seen.add(("numba", numba.get_num_threads()))
            for _ in range(20):
                seen.update(("id", int(t)) for t in thread_ids(20_000)[0])
                if len([s for s in seen if s[0] == "id"]) >= 2:
                    break
        W = nn.nmf(X, 5, solver="mu", beta_loss=1, max_iter=5, tol=0, random_state=0,
                   callback=callback).W
        return W, sorted(seen)

    data = [sp.random(300, 200, density=0.1, format="csr", random_state=s) for s in range(4)]
    parent = [fit(X) for X in data]             # the parent has used the thread pool
    if numba.threading_layer() != "tbb":
        print("layer", numba.threading_layer())
        sys.exit(0)
    def parallel(seen):
        ids = [s for s in seen if s[0] == "id"]
        return ("numba", numba.config.NUMBA_NUM_THREADS) in seen and len(ids) >= 2
    assert all(parallel(seen) for _, seen in parent), [seen for _, seen in parent]
    with mp.get_context("fork").Pool(2) as pool:
        children = pool.map_async(fit, data).get(timeout=240)
    assert all(parallel(seen) for _, seen in children), [seen for _, seen in children]
    assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(parent, children))
    print("ok")
""")


@needs_two_threads
def test_a_fork_based_pool_runs_fits_after_the_parent_did():
    """The parent runs CSR fits on Numba's pool (two thread ids seen from each fit's callback),
    then a fork-based pool runs the same fits: each child also runs two pool threads, and gets
    the parent's bits.  Skipped where Numba's layer is not TBB (the others are not fork-safe)."""
    run = subprocess.run([sys.executable, "-c", FORK_SCRIPT], capture_output=True, text=True,
                         timeout=300)
    out = run.stdout.strip()
    if run.returncode == 0 and out.startswith("layer"):
        pytest.skip(f"Numba's layer here is {out.split()[-1]!r}, not TBB: use the 'spawn' or "
                    "'forkserver' start method")
    assert run.returncode == 0 and out == "ok", run.stderr[-2000:]
