"""asv benchmarks for nmf_numba.

What is measured
----------------
``Kernels.time_iteration``
    ONE solver iteration on the tall factors ``W`` (m×k) and ``Ht = Hᵀ`` (n×k): the W half-step
    on ``X`` followed by the H half-step on ``Xᵀ`` -- the two calls the loop in
    :func:`nmf_numba.nmf` makes per iteration, without validation, init or objective checks --
    for every solver (and MU at three β), dense and CSR, three sizes, float64 and float32.
``ProductsFloor.time_products``
    Only ``X @ Ht`` and ``Xᵀ @ W``: the two large products that a CD/HALS/MU iteration cannot
    avoid.  It is the floor ``Kernels.time_iteration`` is judged against (the sweeps and the k×k
    Gram matrices should add little on top of it).
``Fits``
    ``nmf()`` end to end per solver × β × format at ``tol=1e-4``: its time, the process's peak
    memory (``peakmem_fit``) and, so that "faster but worse" cannot pass unnoticed, the
    objective it reaches, its iteration count and the NumPy allocations it makes (tracemalloc;
    these ``track_`` numbers come from one fit per combination in asv's ``setup_cache``).
``FullFit``
    The default path ``nmf(X, 16, max_iter=50, tol=0)``, float64 and float32.
``bench_memory``, ``bench_startup``, ``bench_tolerance``, ``bench_estimators``
    Memory at a scale where dense X would not fit, start-up (import, first call), the time to a
    tight tolerance, and the scikit-learn-compatible estimators against scikit-learn's.

Conventions
-----------
* Data come from a fixed seed.  Dense X is a non-negative rank-20 matrix plus uniform noise;
  CSR X has uniformly random positions and uniform values.
* ``setup`` builds the data, the data operator (:class:`nmf_numba._data.Data`: ``X`` and ``Xᵀ``)
  and the factors once per process (memoised, so asv may re-run ``setup`` before every timed
  call cheaply) and gives every call fresh copies of the initial factors, so each timed call
  starts from the same point.  The first ``setup`` in a process also runs every measured
  function once so that Numba compilation is never timed.
* The module does not import scikit-learn (about 1.7 s here), so that the ``Kernels``
  processes, which never need it, start quickly.
* Timings use the default thread counts of Numba and of the BLAS; set ``NUMBA_NUM_THREADS`` /
  ``OMP_NUM_THREADS`` (or ``OPENBLAS_NUM_THREADS``) in the environment to pin them.
* ``NMF_NUMBA_BENCH_SMOKE=1`` in the environment (or ``bench_nmf.SMOKE = True``) divides every
  shape by ``SMOKE_DIVISOR`` so that ``tests/test_asv_smoke.py`` can run each benchmark once in
  seconds.  It is read when ``setup`` runs, so the parameters (and asv's result keys) never change.
"""

import functools
import os
import tracemalloc
import warnings

import numpy as np
import scipy.sparse as sp

import nmf_numba
from nmf_numba._data import Data
from nmf_numba._sklearn import convergence_warning
from nmf_numba.metrics import relative_error
from nmf_numba import solvers
from nmf_numba._threads import fit_threads
from nmf_numba.solvers import StepOptions
from nmf_numba.solvers._common import NO_PENALTY

SMOKE = os.environ.get("NMF_NUMBA_BENCH_SMOKE", "") == "1"
SMOKE_DIVISOR = 10

SEED = 12345
K = 32  # rank of the one-iteration benchmarks
FIT_K = 16  # rank of the full fits
FIT_MAX_ITER = 50

FORMATS = ["dense", "csr"]
SIZES = ["small", "medium", "large"]
DTYPES = ["float64", "float32"]
SHAPES = {
    "dense": {"small": (1000, 500), "medium": (2000, 1000), "large": (4000, 2000)},
    "csr": {"small": (5000, 1250), "medium": (10000, 2500), "large": (20000, 5000)},
}
CSR_DENSITY = 0.01
# benchmark name -> (solver, β) of the kernel benchmarks
KERNEL_SOLVERS = {
    "cd": ("cd", 2.0),
    "hals": ("hals", 2.0),
    "anls": ("anls", 2.0),
    "pgd": ("pgd", 2.0),
    "mu-fro": ("mu", 2.0),
    "mu-kl": ("mu", 1.0),
    "mu-beta0.5": ("mu", 0.5),
    "newton-cd": ("newton-cd", 1.0),
}
# the fits: every solver at every β it supports (Itakura-Saito only on dense data: it needs X > 0)
FIT_CASES = {
    "cd/fro": ("cd", 2.0),
    "hals/fro": ("hals", 2.0),
    "anls/fro": ("anls", 2.0),
    "pgd/fro": ("pgd", 2.0),
    "mu/fro": ("mu", 2.0),
    "mu/kl": ("mu", 1.0),
    "newton-cd/kl": ("newton-cd", 1.0),
    "mu/beta0.5": ("mu", 0.5),
    "mu/is": ("mu", 0.0),
}
FIT_SHAPES = {"dense": (1000, 500), "csr": (5000, 1250)}
FIT_TOL = 1e-4

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


def _problem(fmt, shape, density, k, dtype="float64"):
    """``(X, Data(X), W0, Ht0)``: the data in ``dtype``, its operator and read-only initial tall
    factors."""
    return _problem_cached(fmt, _scaled(shape), density, k, dtype)


@functools.lru_cache(maxsize=4)
def _problem_cached(fmt, actual_shape, density, k, dtype):
    m, n = actual_shape
    X = _dense_matrix(m, n) if fmt == "dense" else _csr_matrix(m, n, density)
    X = X.astype(dtype)
    data = Data(X)
    # scikit-learn's random start, sqrt(mean(X) / k)·|N(0, 1)|, drawn here rather than by
    # nmf_numba.initialize, which would import scikit-learn into every Kernels process
    rng = np.random.default_rng(SEED)
    scale = np.sqrt(X.mean() / k)
    W0 = (scale * np.abs(rng.standard_normal((m, k)))).astype(dtype)
    Ht0 = (scale * np.abs(rng.standard_normal((n, k)))).astype(dtype)
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


class _OneIteration:
    """Shared setup: memoised problem, fresh factors, JIT warmed on the first setup."""

    timeout = 180.0

    def _load(self, fmt, size, dtype, solver, beta=2.0):
        shape = SHAPES[fmt][size]
        density = CSR_DENSITY if fmt == "csr" else None
        self.X, self.data, self._W0, self._Ht0 = _problem(fmt, shape, density, K, dtype)
        self.W, self.Ht = self._W0.copy(), self._Ht0.copy()
        self._key = (type(self).__name__, fmt, _scaled(shape), dtype, solver, beta)
        # the thread settings nmf() uses around its iterations (see nmf_numba._threads)
        self._limits = fit_threads(self.data.sparse, solvers.get(solver).blas_bound(beta),
                                   self.data.X_op.n_stored)
        self._limits.__enter__()

    def teardown(self, *params):
        limits = getattr(self, "_limits", None)
        if limits is not None:
            limits.__exit__(None, None, None)
            self._limits = None

    def _warm(self, *calls):
        """Run ``calls`` once per process for this class and problem."""
        if _warm_once(self._key, *calls):
            # the warm-up moved the factors: start the timed call from W0, Ht0 again
            self.W, self.Ht = self._W0.copy(), self._Ht0.copy()


class Kernels(_OneIteration):
    """One iteration of every solver's kernels: dense and CSR, three sizes, float64 and float32,
    k = 32.  ``mu-*`` are multiplicative updates at β = 2, 1 and 0.5 (a general β: non-integer
    powers of the model, O(m·n·k) per iteration even on CSR data); ``newton-cd`` runs at β = 1.

    ``hals`` is the accelerated variant (several sweeps on the same products), ``anls`` an exact
    NNLS per row by block principal pivoting, ``pgd`` projected gradient with a line search."""

    params = [list(KERNEL_SOLVERS), FORMATS, SIZES, DTYPES]
    param_names = ["solver", "format", "size", "dtype"]

    def setup(self, solver, fmt, size, dtype):
        name, beta = KERNEL_SOLVERS[solver]
        self._load(fmt, size, dtype, name, beta)
        record = solvers.get(name)
        self._step_W = record.new_step(StepOptions(beta))
        self._step_H = record.new_step(StepOptions(beta))
        self._warm(lambda: self.time_iteration(solver, fmt, size, dtype))

    def time_iteration(self, solver, fmt, size, dtype):
        self._step_W(self.data.X_op, self.W, self.Ht, NO_PENALTY)
        self._step_H(self.data.Xt_op, self.Ht, self.W, NO_PENALTY)


class ProductsFloor(_OneIteration):
    """Only ``X @ Ht`` and ``Xᵀ @ W`` (k = 32): the two large products that a CD/HALS/MU iteration
    cannot avoid, the floor that ``Kernels.time_iteration`` is judged against.  Dense: the BLAS
    calls; CSR: the package's own parallel sparse × dense kernels."""

    params = [FORMATS, SIZES, DTYPES]
    param_names = ["format", "size", "dtype"]

    def setup(self, fmt, size, dtype):
        self._load(fmt, size, dtype, "cd")
        self._warm(lambda: self.time_products(fmt, size, dtype))

    def time_products(self, fmt, size, dtype):
        self.data.X_op.times(self.Ht)
        self.data.Xt_op.times(self.W)


# --------------------------------------------------------------------------------------------
# the public API end to end
# --------------------------------------------------------------------------------------------


class Fits:
    """``nmf(X, 16, solver=..., beta_loss=..., tol=1e-4, max_iter=300)`` end to end, per solver ×
    β × format, float64: dense 1000×500 and CSR 5000×1250 at 1 %, NNDSVDa start.

    Beside the time (``time_fit``) and the process's peak resident memory (``peakmem_fit``),
    the ``track_`` benchmarks record what the fit reached, so a change that is faster because
    it stops earlier or converges somewhere worse shows up next to the speed-up:
    ``track_objective`` (the final objective divided by the objective at the start, so the
    number does not depend on the scale of X), ``track_n_iter`` and ``track_peak_alloc`` (the NumPy allocations during
    the fit, via tracemalloc; ``peakmem_`` also counts the interpreter, the libraries and LLVM).
    Itakura-Saito (β = 0) runs on dense data only: it is undefined where X has zeros."""

    params = [list(FIT_CASES), FORMATS]
    param_names = ["case", "format"]
    timeout = 600.0

    def setup_cache(self):
        """``{(case, format): (objective ratio, iterations, peak MiB)}``: one fit of every
        combination, in one process, for the ``track_`` benchmarks (what a fit reaches does
        not need a fresh process per parameter set and method)."""
        results = {}
        for case in FIT_CASES:
            for fmt in FORMATS:
                try:
                    self.setup(None, case, fmt)
                except NotImplementedError:
                    continue
                res = self._fit()
                results[case, fmt] = (res.loss / res.history["objective"][0], res.n_iter,
                                      _traced_peak_mib(self._fit))
        return results

    def setup(self, results, case, fmt):
        solver, beta = FIT_CASES[case]
        if beta <= 0 and fmt == "csr":
            raise NotImplementedError("β ≤ 0 needs X > 0 everywhere; CSR data has zeros")
        density = CSR_DENSITY if fmt == "csr" else None
        self.X = _matrix(fmt, FIT_SHAPES[fmt], density or CSR_DENSITY)
        self.kwargs = dict(solver=solver, beta_loss=beta, tol=FIT_TOL, max_iter=300,
                           random_state=SEED)
        if SMOKE:
            self.kwargs["max_iter"] = 5
        # compile with a 2-iteration fit: the same kernels, not the whole fit's time
        _warm_once(("Fits", case, fmt, self.X.shape),
                   lambda: nmf_numba.nmf(self.X, FIT_K, **dict(self.kwargs, max_iter=2)))

    def _fit(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", convergence_warning())
            return nmf_numba.nmf(self.X, FIT_K, **self.kwargs)

    def time_fit(self, results, case, fmt):
        self._fit()

    def peakmem_fit(self, results, case, fmt):
        self._fit()

    def track_objective(self, results, case, fmt):
        return results[case, fmt][0]

    track_objective.unit = "objective / initial objective"

    def track_n_iter(self, results, case, fmt):
        return results[case, fmt][1]

    track_n_iter.unit = "iterations"

    def track_peak_alloc(self, results, case, fmt):
        return results[case, fmt][2]

    track_peak_alloc.unit = "MiB"


def _traced_peak_mib(fit):
    tracemalloc.start()
    try:
        fit()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return round(peak / 2**20, 3)


class FullFit:
    """The default path, ``nmf(X, 16, max_iter=50, tol=0)`` (``solver="auto"``): dense 1000×500
    and CSR 5000×1250 at 1 %, float64 and float32 (every kernel runs in X's dtype)."""

    params = [FORMATS, DTYPES]
    param_names = ["format", "dtype"]
    timeout = 300.0

    def setup_cache(self):
        """``{(format, dtype): (peak MiB, relative error)}`` for the ``track_`` benchmarks, one
        fit each in one process."""
        results = {}
        for fmt in FORMATS:
            for dtype in DTYPES:
                self.setup(None, fmt, dtype)
                res = self._fit()
                results[fmt, dtype] = (_traced_peak_mib(self._fit),
                                       relative_error(self.X, res.W, res.H))
        return results

    def setup(self, results, fmt, dtype):
        self.X = _matrix(fmt, FIT_SHAPES[fmt]).astype(dtype)
        _warm_once(("FullFit", fmt, dtype, self.X.shape), self._fit)

    def _fit(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", convergence_warning())
            return nmf_numba.nmf(self.X, FIT_K, max_iter=FIT_MAX_ITER, tol=0, random_state=SEED)

    def time_full_fit(self, results, fmt, dtype):
        self._fit()

    def track_peak_alloc(self, results, fmt, dtype):
        return results[fmt, dtype][0]

    track_peak_alloc.unit = "MiB"

    def track_relative_error(self, results, fmt, dtype):
        return results[fmt, dtype][1]

    track_relative_error.unit = "relative error"
