"""Memory of a CSR fit at a scale where the dense matrix could never exist.

Two sizes, 10 stored entries per row, k = 10, 3 iterations:

* ``ScaleCSR``: 200,000 × 20,000 (2 million stored entries, 24 MiB as CSR in float64; 32 GB if
  it were dense, more than the 24 GiB of the machine these numbers come from).  A few seconds
  per fit, so it is part of every run.
* ``ScaleCSRFull``: 2,000,000 × 200,000 (20 million entries, 237 MiB as CSR, 3.2 TB dense).
  10–80 s per fit, so it only runs with ``NMF_NUMBA_BENCH_FULL=1`` in the environment (asv
  shows it as skipped otherwise); ``tests/test_memory.py`` (``-m slow``) checks it too.

The package's memory model for CSR data is

    extra memory of a fit  ≤  one transposed copy of X  +  c · (m + n) · k · itemsize

(the transposed copy is what lets the H half-step run over rows; the second term is W, Hᵀ, the
returned H and the products of the size of a factor).  ``track_factor_copies`` measures ``c``;
``peakmem_fit`` is asv's peak resident memory of the whole process (the interpreter, the
libraries, LLVM and X itself included).

How the extra memory is measured: the resident high-water mark of the process is reset just
before the fit (Linux: ``/proc/self/clear_refs``), read after it (``VmHWM``), and the resident
size before the fit is subtracted.  Unlike tracemalloc this also sees what Numba's kernels
allocate.  Where the reset is not available, tracemalloc's peak is used instead.
"""

import os
import tracemalloc
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

import nmf_numba

SMOKE = os.environ.get("NMF_NUMBA_BENCH_SMOKE", "") == "1"
SMOKE_DIVISOR = 1000

SHAPE = (200_000, 20_000)
FULL_SHAPE = (2_000_000, 200_000)
FULL = os.environ.get("NMF_NUMBA_BENCH_FULL", "") == "1"
NNZ_PER_ROW = 10
K = 10
MAX_ITER = 3
SEED = 0
# case -> nmf() options
CASES = {
    "cd/random": dict(solver="cd", init="random"),
    "cd/nndsvda": dict(solver="cd", init="nndsvda"),
    "newton-cd-kl/random": dict(solver="newton-cd", beta_loss="kullback-leibler", init="random"),
}


def scale_matrix(shape=SHAPE, nnz_per_row=NNZ_PER_ROW, dtype=np.float64, seed=SEED):
    """A canonical CSR matrix with ``nnz_per_row`` entries in every row, built without temporaries
    larger than X: row i has one entry in each of ``nnz_per_row`` equal bands of columns, so its
    indices are sorted and distinct by construction."""
    m, n = shape
    rng = np.random.default_rng(seed)
    band = n // nnz_per_row
    indices = rng.integers(0, band, size=(m, nnz_per_row), dtype=np.int32)
    indices += np.arange(nnz_per_row, dtype=np.int32) * band
    data = rng.random(m * nnz_per_row, dtype=dtype)
    data += dtype(0.01)
    indptr = np.arange(0, m * nnz_per_row + 1, nnz_per_row, dtype=np.int32)
    return sp.csr_matrix((data, indices.ravel(), indptr), shape=(m, n))


def csr_nbytes(X):
    return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes


def _status_bytes(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise OSError(f"{key} not in /proc/self/status")


def _can_reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        _status_bytes("VmHWM")
        return True
    except OSError:
        return False


def extra_memory(fit):
    """``(result, bytes)``: run ``fit()`` and return what it added to the process's peak memory."""
    if _can_reset_peak():
        before = _status_bytes("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # the high-water mark is now the current resident size
        result = fit()
        return result, _status_bytes("VmHWM") - before
    tracemalloc.start()
    try:
        result = fit()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def factor_copies(X, extra, k):
    """``c`` in the memory model: (extra − one copy of X) / ((m + n) · k · itemsize)."""
    m, n = X.shape
    return (extra - csr_nbytes(X)) / ((m + n) * k * X.dtype.itemsize)


class ScaleCSR:
    """A 200,000 × 20,000 CSR fit (2 M stored entries, k = 10, 3 iterations)."""

    params = [list(CASES)]
    param_names = ["case"]
    timeout = 600.0
    number = 1
    repeat = 1
    shape = SHAPE

    def setup(self, case):
        shape = self.shape
        if SMOKE:
            shape = tuple(max(20, s // SMOKE_DIVISOR) for s in shape)
        self.X = scale_matrix(shape)
        self.options = dict(CASES[case], max_iter=MAX_ITER, tol=0, random_state=SEED)
        self._fit(self.X[: min(1000, shape[0])])  # compile on a slice: not part of the fit

    def _fit(self, X):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return nmf_numba.nmf(X, K, **self.options)

    def peakmem_fit(self, case):
        self._fit(self.X)

    def track_factor_copies(self, case):
        _, extra = extra_memory(lambda: self._fit(self.X))
        return factor_copies(self.X, extra, K)

    track_factor_copies.unit = "(m+n)·k arrays beyond one copy of X"


class ScaleCSRFull(ScaleCSR):
    """The same at 2,000,000 × 200,000 (20 M stored entries); only with
    ``NMF_NUMBA_BENCH_FULL=1`` (or under the smoke test, at its tiny size)."""

    shape = FULL_SHAPE

    def setup(self, case):
        if not (FULL or SMOKE):
            raise NotImplementedError("set NMF_NUMBA_BENCH_FULL=1 to run the full-size fits")
        super().setup(case)
