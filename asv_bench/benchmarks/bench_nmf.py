"""asv benchmarks for nmf_numba.

What is measured
----------------
``time_iteration``
    ONE solver iteration on the tall factors ``W`` (m×k) and ``Ht = Hᵀ`` (n×k): the W half-step
    on ``X`` followed by the H half-step on ``Xᵀ`` -- the two calls the loop in
    :func:`nmf_numba.nmf` makes per iteration, without validation, init or objective checks.
``CDDense.time_blas_products``
    Only ``X @ Ht`` and ``Xᵀ @ W``: the two large products a CD/HALS iteration cannot avoid.  It
    is the floor that ``CDDense.time_iteration`` is judged against (the HALS sweeps and the k×k
    Gram matrices should add little on top of it).  ``CDCsr.time_spmm_products`` is the same
    floor for CSR input.
``FullFit``
    The public ``nmf(X, 16, max_iter=50, tol=0)`` end to end (validation, NNDSVDa init, 50
    iterations, final loss), the peak of the NumPy allocations made during the fit
    (``track_peak_alloc``, via tracemalloc) and the relative error it reaches
    (``track_relative_error``, a guard against "faster but wrong").  There is deliberately no
    ``peakmem_`` benchmark: a process's peak RSS is ~300 MB of interpreter, libraries and LLVM
    before the fit starts, which buries the 8-30 MiB a fit needs; tracemalloc sees exactly the
    arrays the fit allocates.

Conventions
-----------
* Data come from a fixed seed.  Dense X is a non-negative rank-20 matrix plus uniform noise;
  CSR X has uniformly random positions and uniform values.
* ``setup`` builds the data, the data operator (:class:`nmf_numba._data.Data`: ``X`` and ``Xᵀ``)
  and the factors once per process (memoised, so asv may re-run ``setup`` before every timed
  call cheaply) and gives every call fresh copies of the initial factors, so each timed call
  starts from the same point.  The first ``setup`` in a process also runs every measured
  function once so that Numba compilation is never timed.
* Timings use the default thread counts of Numba and of the BLAS; set ``NUMBA_NUM_THREADS`` /
  ``OMP_NUM_THREADS`` (or ``OPENBLAS_NUM_THREADS``) in the environment to pin them.
* ``NMF_NUMBA_BENCH_SMOKE=1`` in the environment (or ``bench_nmf.SMOKE = True``) divides every
  shape by ``SMOKE_DIVISOR`` so that ``tests/test_asv_smoke.py`` can run each benchmark once in
  seconds.  It is read when ``setup`` runs, so the parameters (and asv's result keys) never change.
"""

import functools
import os
import tracemalloc

import numpy as np
import scipy.sparse as sp

import nmf_numba
from nmf_numba._data import Data
from nmf_numba.metrics import relative_error
from nmf_numba.solvers import blas_bound, cd, make_step, mu

SMOKE = os.environ.get("NMF_NUMBA_BENCH_SMOKE", "") == "1"
SMOKE_DIVISOR = 10

SEED = 12345
K = 32  # rank of the one-iteration benchmarks
FIT_K = 16  # rank of the full fits
FIT_MAX_ITER = 50

DENSE_SHAPE = (2000, 1000)
DENSE_SHAPES = [(1000, 500), (2000, 1000), (4000, 2000)]
CSR_SHAPE = (10000, 2500)
CSR_DENSITY = 0.01
CSR_DENSITIES = [0.01, 0.05]
BETAS = [2.0, 1.0, 0.5]

_PLANTED_RANK = 20


# --------------------------------------------------------------------------------------------
# data, memoised per process
# --------------------------------------------------------------------------------------------


def _scaled(shape):
    """The shape actually used: ``shape``, or shrunk for the smoke test."""
    if SMOKE:
        return tuple(max(4, s // SMOKE_DIVISOR) for s in shape)
    return tuple(shape)


@functools.lru_cache(maxsize=4)
def _dense_matrix(m, n):
    rng = np.random.default_rng(SEED)
    U = rng.random((m, _PLANTED_RANK))
    V = rng.random((_PLANTED_RANK, n))
    X = U @ V / _PLANTED_RANK + 0.1 * rng.random((m, n))
    return np.ascontiguousarray(X)


@functools.lru_cache(maxsize=4)
def _csr_matrix(m, n, density):
    rng = np.random.default_rng(SEED)
    nnz = max(1, int(round(density * m * n)))
    flat = rng.choice(m * n, size=nnz, replace=False)
    values = rng.random(nnz) + 0.01  # strictly positive stored entries
    X = sp.csr_matrix((values, (flat // n, flat % n)), shape=(m, n))
    X.sum_duplicates()  # canonical: sorted indices, no duplicates (what nmf() would pass on)
    return X


def _matrix(fmt, shape, density=CSR_DENSITY):
    """The benchmark matrix of nominal ``shape`` (shrunk under SMOKE)."""
    m, n = _scaled(shape)
    if fmt == "dense":
        return _dense_matrix(m, n)
    if fmt == "csr":
        return _csr_matrix(m, n, density)
    raise ValueError(f"unknown format {fmt!r}")


def _problem(fmt, shape, density, k):
    """``(X, Data(X), W0, Ht0)``: the data, its operator and read-only initial tall factors."""
    return _problem_cached(fmt, _scaled(shape), density, k)


@functools.lru_cache(maxsize=4)
def _problem_cached(fmt, actual_shape, density, k):
    m, n = actual_shape
    X = _dense_matrix(m, n) if fmt == "dense" else _csr_matrix(m, n, density)
    data = Data(X)
    W0, H0 = nmf_numba.initialize(X, k, "random", random_state=SEED)
    W0 = np.ascontiguousarray(W0)
    Ht0 = np.ascontiguousarray(H0.T)
    W0.setflags(write=False)
    Ht0.setflags(write=False)
    return X, data, W0, Ht0


_WARMED = set()


def _warm_once(key, *calls):
    """Run each call once per process and key (compiles the kernels); True if it ran them."""
    if key in _WARMED:
        return False
    for call in calls:
        call()
    _WARMED.add(key)
    return True


# --------------------------------------------------------------------------------------------
# one iteration = W half-step on X, then H half-step on Xᵀ
# --------------------------------------------------------------------------------------------


def _cd_iteration(data, W, Ht):
    cd.update(data.X_op, W, Ht)
    cd.update(data.Xt_op, Ht, W)


def _mu_iteration(data, W, Ht, beta):
    mu.update(data.X_op, W, Ht, beta)
    mu.update(data.Xt_op, Ht, W, beta)


class _OneIteration:
    """Shared setup: memoised problem, fresh factors, JIT warmed on the first setup."""

    timeout = 120.0
    fmt = "dense"

    def _load(self, shape, density, k, solver, beta=2.0):
        self.X, self.data, self._W0, self._Ht0 = _problem(self.fmt, shape, density, k)
        self.W, self.Ht = self._W0.copy(), self._Ht0.copy()
        self._key = (type(self).__name__, self.fmt, _scaled(shape), density, k)
        # the thread settings nmf() uses around its iterations (see _data.thread_limits)
        self._limits = self.data.thread_limits(blas_bound(solver, beta))
        self._limits.__enter__()

    def teardown(self, *params):
        limits = getattr(self, "_limits", None)
        if limits is not None:
            limits.__exit__(None, None, None)
            self._limits = None

    def _warm(self, params, *calls):
        """Run ``calls`` once per process for this class, problem and ``params``."""
        if _warm_once(self._key + (params,), *calls):
            # the warm-up moved the factors: start the timed call from W0, Ht0 again
            self.W, self.Ht = self._W0.copy(), self._Ht0.copy()


class CDDense(_OneIteration):
    """Coordinate descent (HALS), dense float64, k = 32."""

    params = [DENSE_SHAPES]
    param_names = ["shape"]
    fmt = "dense"
    timeout = 90.0

    def setup(self, shape):
        self._load(shape, None, K, "cd")
        self.Xt = self.data.Xt_op.X  # the C-contiguous Xᵀ the H half-step uses
        self._warm(
            (shape,),
            lambda: self.time_iteration(shape),
            lambda: self.time_blas_products(shape),
        )

    def time_iteration(self, shape):
        _cd_iteration(self.data, self.W, self.Ht)

    def time_blas_products(self, shape):
        np.dot(self.X, self.Ht)
        np.dot(self.Xt, self.W)


class MUDense(_OneIteration):
    """Multiplicative updates, dense float64 2000×1000, k = 32, for β = 2 (Frobenius),
    1 (Kullback-Leibler) and 0.5 (a general β: non-integer powers of the model)."""

    params = [BETAS]
    param_names = ["beta"]
    fmt = "dense"

    def setup(self, beta):
        self._load(DENSE_SHAPE, None, K, "mu", beta)
        self._warm((beta,), lambda: self.time_iteration(beta))

    def time_iteration(self, beta):
        _mu_iteration(self.data, self.W, self.Ht, beta)


class OtherSolversDense(_OneIteration):
    """One iteration of the other Frobenius solvers, dense float64 2000×1000, k = 32: accelerated
    HALS (repeated sweeps on the same products), ANLS (an exact NNLS per row by block principal
    pivoting) and projected gradient.  Compare with CDDense at the same shape."""

    params = [["hals", "anls", "pgd"]]
    param_names = ["solver"]
    fmt = "dense"

    def setup(self, solver):
        self._load(DENSE_SHAPE, None, K, solver)
        self._step = make_step(solver, 2.0)
        self._warm((solver,), lambda: self.time_iteration(solver))

    def time_iteration(self, solver):
        self._step(self.data.X_op, self.W, self.Ht)
        self._step(self.data.Xt_op, self.Ht, self.W)


class CDCsr(_OneIteration):
    """Coordinate descent (HALS), CSR float64 10000×2500, k = 32."""

    params = [CSR_DENSITIES]
    param_names = ["density"]
    fmt = "csr"
    timeout = 90.0

    def setup(self, density):
        self._load(CSR_SHAPE, density, K, "cd")
        self._warm(
            (density,),
            lambda: self.time_iteration(density),
            lambda: self.time_spmm_products(density),
        )

    def time_iteration(self, density):
        _cd_iteration(self.data, self.W, self.Ht)

    def time_spmm_products(self, density):
        self.data.X_op.times(self.Ht)
        self.data.Xt_op.times(self.W)


class MUCsr(_OneIteration):
    """Multiplicative updates, CSR float64 10000×2500 at 1 %, k = 32, β ∈ {2, 1, 0.5}.

    β = 0.5 is expected to be by far the slowest: its denominator needs ``(W Hᵀ)^(β−1)`` at
    every entry, zero or not, so it costs O(m·n·k) whatever the density.
    """

    params = [BETAS]
    param_names = ["beta"]
    fmt = "csr"

    def setup(self, beta):
        self._load(CSR_SHAPE, CSR_DENSITY, K, "mu", beta)
        self._warm((beta,), lambda: self.time_iteration(beta))

    def time_iteration(self, beta):
        _mu_iteration(self.data, self.W, self.Ht, beta)


# --------------------------------------------------------------------------------------------
# the public API end to end
# --------------------------------------------------------------------------------------------


class FullFit:
    """``nmf(X, 16, max_iter=50, tol=0)``: dense 2000×1000 and CSR 10000×2500 at 1 %, float64
    and float32 (every kernel runs in X's dtype)."""

    params = [["dense", "csr"], ["float64", "float32"]]
    param_names = ["format", "dtype"]
    timeout = 180.0

    def setup(self, fmt, dtype):
        shape = DENSE_SHAPE if fmt == "dense" else CSR_SHAPE
        self.X = _matrix(fmt, shape).astype(dtype)
        _warm_once(("FullFit", fmt, dtype, _scaled(shape)), self._fit)

    def _fit(self):
        return nmf_numba.nmf(self.X, FIT_K, max_iter=FIT_MAX_ITER, tol=0, random_state=SEED)

    def time_full_fit(self, fmt, dtype):
        self._fit()

    def track_peak_alloc(self, fmt, dtype):
        tracemalloc.start()
        try:
            self._fit()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return round(peak / 2**20, 3)

    track_peak_alloc.unit = "MiB"

    def track_relative_error(self, fmt, dtype):
        res = self._fit()
        return relative_error(self.X, res.W, res.H)

    track_relative_error.unit = "relative error"
