"""asv benchmarks: small problems, nmf_numba side by side with scikit-learn (issue 19).

What is measured
----------------
``SmallFits.time_fit``
    One whole call, for a fixed number of iterations (``tol=0``), on a small dense problem, by
    one of three sides (``SIDES``):

    * ``"nmf_numba cd"``: ``nmf(X, k, init=(W0, H0), solver="cd", max_iter=N, tol=0)``;
    * ``"nmf_numba default"``: ``nmf(X, k, init=(W0, H0), max_iter=N, tol=0)`` (``solver`` and
      ``accelerate`` left at ``"auto"``: what a user gets);
    * ``"sklearn cd"``: ``non_negative_factorization(X, W0.copy(), H0.copy(), k, init="custom",
      solver="cd", max_iter=N, tol=0)`` (the copies are part of the call: scikit-learn may write
      into a custom start).

    The cases (``CASES``) are dense 30×20 with k = 3 for 50 iterations, 100×50 with k = 5 and
    500×200 with k = 10 for 200 iterations, and the per-call overhead: 100×50 with k = 5 for ONE
    iteration -- in float64 and float32 (X, W0 and H0 all in that dtype, for both libraries).
    At these sizes an iteration costs microseconds, so validation, set-up, thread handling and
    the final loss weigh as much as the kernels; these benchmarks measure all of it.

Conventions
-----------
* Both sides start from the same ``W0, H0 = nmf_numba.initialize(X, k, "nndsvda",
  random_state=0)``; X is ``np.random.default_rng(0).random((m, n))`` (uniform in [0, 1),
  dense, no planted structure), cast to the dtype.  Data and start are memoised per process and
  read-only.
* ``setup`` makes one untimed call of the measured side, so that Numba compilation (and
  scikit-learn's first-call costs) are never timed.
* This module imports scikit-learn (``nmf_numba.initialize``'s NNDSVD does, and one side is
  scikit-learn), unlike ``bench_nmf``.
* ``asv_bench/compare.py --small`` prints the same cases as a table (milliseconds per call and
  scikit-learn / nmf_numba ratios, all measured interleaved in one process) from
  :data:`CASES`, :data:`SIDES` and :func:`make_call` here.
* Timings use the default thread counts of Numba and of the BLAS; set ``NUMBA_NUM_THREADS`` /
  ``OMP_NUM_THREADS`` in the environment to pin them.
* ``NMF_NUMBA_BENCH_SMOKE=1`` in the environment (or ``bench_small.SMOKE = True``) caps every
  case at ``SMOKE_MAX_ITER`` iterations, so that ``tests/test_asv_smoke.py`` runs each benchmark
  once in moments (the shapes are already small).  It is read when ``setup`` runs, so the
  parameters (and asv's result keys) never change.
"""

import functools
import os
import warnings
from collections import namedtuple

import numpy as np

import nmf_numba

SMOKE = os.environ.get("NMF_NUMBA_BENCH_SMOKE", "") == "1"
SMOKE_MAX_ITER = 2

SEED = 0
SmallCase = namedtuple("SmallCase", "m n k max_iter")
# issue 19's small cases: name -> (rows, columns, rank, iterations)
CASES = {
    "dense 30x20 k=3 50 it": SmallCase(30, 20, 3, 50),
    "dense 100x50 k=5 200 it": SmallCase(100, 50, 5, 200),
    "dense 500x200 k=10 200 it": SmallCase(500, 200, 10, 200),
    "overhead 100x50 k=5 1 it": SmallCase(100, 50, 5, 1),
}
DTYPES = ["float64", "float32"]
SIDES = ["nmf_numba cd", "nmf_numba default", "sklearn cd"]


@functools.lru_cache(maxsize=16)
def problem(case, dtype):
    """``(X, W0, H0)`` of ``case`` in ``dtype``: read-only, the same for every side."""
    c = CASES[case]
    X = np.random.default_rng(SEED).random((c.m, c.n)).astype(dtype)
    W0, H0 = nmf_numba.initialize(X, c.k, "nndsvda", random_state=0)
    W0, H0 = W0.astype(dtype, copy=False), H0.astype(dtype, copy=False)
    for a in (X, W0, H0):
        a.setflags(write=False)
    return X, W0, H0


def make_call(side, case, dtype, max_iter=None):
    """A function of no arguments that makes ONE call of ``side`` on ``case`` (warnings about
    hitting ``max_iter`` silenced).  ``max_iter`` overrides the case's iteration count."""
    X, W0, H0 = problem(case, dtype)
    k = CASES[case].k
    n_iter = CASES[case].max_iter if max_iter is None else max_iter
    if side == "nmf_numba cd":
        def call():
            return nmf_numba.nmf(X, k, init=(W0, H0), solver="cd", max_iter=n_iter, tol=0)
    elif side == "nmf_numba default":
        def call():
            return nmf_numba.nmf(X, k, init=(W0, H0), max_iter=n_iter, tol=0)
    elif side == "sklearn cd":
        from sklearn.decomposition import non_negative_factorization

        def call():
            return non_negative_factorization(X, W0.copy(), H0.copy(), k, init="custom",
                                              solver="cd", max_iter=n_iter, tol=0)
    else:
        raise ValueError(f"unknown side {side!r}; expected one of {SIDES}")

    def quiet_call():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: tol=0 always hits max_iter
            return call()

    return quiet_call


class SmallFits:
    """A whole call on a small dense problem, fixed iterations, ``tol=0``: nmf_numba's ``cd``,
    nmf_numba's default and scikit-learn's ``cd`` from the same NNDSVDa start (see the module
    docstring)."""

    params = [list(CASES), DTYPES, SIDES]
    param_names = ["case", "dtype", "side"]
    timeout = 120.0

    def setup(self, case, dtype, side):
        self._call = make_call(side, case, dtype, SMOKE_MAX_ITER if SMOKE else None)
        self._call()  # compile (never timed)

    def time_fit(self, case, dtype, side):
        self._call()
