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

``ManyFits.time_fits``
    Many small fits in one go: 1000 dense 64×32 matrices (a stack ``(p, m, n)``), k = 4, 200
    iterations each (``solver="cd"``, ``tol=0``), by one of four sides (``MANY_SIDES``):

    * ``"nmf_many"``: ``nmf_many(Xs, k, ...)``, the fits side by side on Numba's default
      threads;
    * ``"nmf_many 1 thread"``: the same call inside ``numba.set_num_threads(1)`` (restored
      after), so ``nmf_many`` / ``nmf_many 1 thread`` is what the threads bring;
    * ``"nmf_numba loop"``: a Python loop of ``nmf(Xs[i], k, ...)``;
    * ``"sklearn loop"``: a Python loop of ``non_negative_factorization(Xs[i], ...,
      solver="cd")``.

    Two cases (``MANY_CASES``), float64 and float32: ``"starts given"``, where every side starts
    problem i from the same ``nmf_numba.initialize(Xs[i], 4, "random", random_state=i)``
    (``init=(W0s, H0s)`` stacks for ``nmf_many``, ``init=(W0s[i], H0s[i])`` for our loop,
    ``init="custom"`` with copies of them for scikit-learn), and ``"default init"``, where each
    side computes its default start itself, NNDSVDa here (ours ``init="auto"``,
    scikit-learn's ``init=None``; ``random_state=i`` for problem i): the difference between
    the two rows is what initialisation costs (a randomized SVD per problem).

Conventions
-----------
* ``SmallFits``: both sides start from the same ``W0, H0 = nmf_numba.initialize(X, k,
  "nndsvda", random_state=0)``; X is ``np.random.default_rng(0).random((m, n))`` (uniform in
  [0, 1), dense, no planted structure), cast to the dtype.  ``ManyFits``: the stack is
  ``np.random.default_rng(0).random((p, m, n))`` cast to the dtype.  Data and starts are
  memoised per process and read-only.
* ``setup`` makes one untimed call of the measured side (``ManyFits``: on 2 problems for 2
  iterations), so that Numba compilation (and scikit-learn's first-call costs) are never timed.
  A ``ManyFits`` call lasts seconds: asv times one call per sample (``number = 1``), without
  warm-up calls.
* This module imports scikit-learn (``nmf_numba.initialize``'s NNDSVD does, and one side is
  scikit-learn), unlike ``bench_nmf``.
* ``asv_bench/compare.py --small`` prints the same cases as a table (milliseconds per call and
  scikit-learn / nmf_numba ratios, all measured interleaved in one process) from
  :data:`CASES`, :data:`SIDES` and :func:`make_call` here, and then the ``ManyFits`` table
  (seconds per call, ratios of the loops and of one thread to ``nmf_many``) from
  :data:`MANY_CASES`, :data:`MANY_SIDES` and :func:`make_many_call`.
* Timings use the default thread counts of Numba and of the BLAS; set ``NUMBA_NUM_THREADS`` /
  ``OMP_NUM_THREADS`` in the environment to pin them.
* ``NMF_NUMBA_BENCH_SMOKE=1`` in the environment (or ``bench_small.SMOKE = True``) caps every
  case at ``SMOKE_MAX_ITER`` iterations and ``ManyFits`` at the first ``SMOKE_MANY_PROBLEMS``
  problems, so that ``tests/test_asv_smoke.py`` runs each benchmark once in moments (the shapes
  are already small).  It is read when ``setup`` runs, so the parameters (and asv's result
  keys) never change.
"""

import functools
import os
import warnings
from collections import namedtuple

import numba
import numpy as np

import nmf_numba

SMOKE = os.environ.get("NMF_NUMBA_BENCH_SMOKE", "") == "1"
SMOKE_MAX_ITER = 2
SMOKE_MANY_PROBLEMS = 8

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

ManyCase = namedtuple("ManyCase", "p m n k max_iter start")
# issue 19's many small fits: name -> (problems, rows, columns, rank, iterations, start), where
# start is "given" (the same random starts for every side) or "default" (each side's own)
MANY_CASES = {
    "1000 of 64x32 k=4 200 it, starts given": ManyCase(1000, 64, 32, 4, 200, "given"),
    "1000 of 64x32 k=4 200 it, default init": ManyCase(1000, 64, 32, 4, 200, "default"),
}
MANY_SIDES = ["nmf_many", "nmf_many 1 thread", "nmf_numba loop", "sklearn loop"]


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

    return _quiet(call)


def _quiet(call):
    """``call`` with warnings silenced (ConvergenceWarning: tol=0 always hits max_iter)."""
    def quiet_call():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call()

    return quiet_call


@functools.lru_cache(maxsize=4)
def _many_stack(p, m, n, k, dtype):
    """``(Xs (p, m, n), W0s (p, m, k), H0s (p, k, n))`` in ``dtype``, read-only: problem i
    starts from ``nmf_numba.initialize(Xs[i], k, "random", random_state=i)``."""
    Xs = np.random.default_rng(SEED).random((p, m, n)).astype(dtype)
    starts = [nmf_numba.initialize(X, k, "random", random_state=i) for i, X in enumerate(Xs)]
    W0s = np.stack([W0 for W0, _ in starts]).astype(dtype, copy=False)
    H0s = np.stack([H0 for _, H0 in starts]).astype(dtype, copy=False)
    for a in (Xs, W0s, H0s):
        a.setflags(write=False)
    return Xs, W0s, H0s


def many_problem(case, dtype, p=None):
    """``(Xs, W0s, H0s)`` of ``case`` in ``dtype``: its first ``p`` problems (all by default)
    and their random starts, read-only, the same for every side."""
    c = MANY_CASES[case]
    Xs, W0s, H0s = _many_stack(c.p, c.m, c.n, c.k, dtype)
    p = c.p if p is None else p
    return Xs[:p], W0s[:p], H0s[:p]


def make_many_call(side, case, dtype, p=None, max_iter=None):
    """A function of no arguments that fits the first ``p`` problems of ``case`` (all by
    default) ONCE by ``side`` (warnings silenced) and returns the side's own result:
    ``nmf_many``'s, or the list of the loop's results.  ``max_iter`` overrides the case's."""
    c = MANY_CASES[case]
    Xs, W0s, H0s = many_problem(case, dtype, p)
    k, given = c.k, c.start == "given"
    options = dict(solver="cd", max_iter=c.max_iter if max_iter is None else max_iter, tol=0)
    if side in ("nmf_many", "nmf_many 1 thread"):
        start = (dict(init=(W0s, H0s)) if given
                 else dict(init="auto", random_state=list(range(len(Xs)))))

        def call():
            return nmf_numba.nmf_many(Xs, k, **start, **options)

        if side == "nmf_many 1 thread":
            on_default_threads = call

            def call():
                threads = numba.get_num_threads()
                numba.set_num_threads(1)
                try:
                    return on_default_threads()
                finally:
                    numba.set_num_threads(threads)
    elif side == "nmf_numba loop":
        starts = [dict(init=(W0, H0)) if given else dict(init="auto", random_state=i)
                  for i, (W0, H0) in enumerate(zip(W0s, H0s))]

        def call():
            return [nmf_numba.nmf(X, k, **start, **options) for X, start in zip(Xs, starts)]
    elif side == "sklearn loop":
        from sklearn.decomposition import non_negative_factorization

        if given:
            def call():  # the copies are part of the call, as in SmallFits
                return [non_negative_factorization(X, W0.copy(), H0.copy(), k, init="custom",
                                                   **options)
                        for X, W0, H0 in zip(Xs, W0s, H0s)]
        else:
            def call():
                return [non_negative_factorization(X, n_components=k, init=None,
                                                   random_state=i, **options)
                        for i, X in enumerate(Xs)]
    else:
        raise ValueError(f"unknown side {side!r}; expected one of {MANY_SIDES}")
    return _quiet(call)


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


class ManyFits:
    """Many small fits (1000 dense 64×32, k = 4, 200 iterations, ``tol=0``): ``nmf_many`` on
    the default threads and on one, a Python loop of ``nmf`` and one of scikit-learn's
    ``non_negative_factorization``, from the same random starts or from each side's default
    NNDSVDa (see the module docstring)."""

    params = [list(MANY_CASES), DTYPES, MANY_SIDES]
    param_names = ["case", "dtype", "side"]
    number = 1  # a call lasts seconds
    repeat = (1, 5, 60.0)
    warmup_time = 0.0  # setup compiles; a warm-up call would cost a whole call
    timeout = 600.0

    def setup(self, case, dtype, side):
        if SMOKE:
            self._call = make_many_call(side, case, dtype, SMOKE_MANY_PROBLEMS, SMOKE_MAX_ITER)
        else:
            self._call = make_many_call(side, case, dtype)
        make_many_call(side, case, dtype, 2, 2)()  # compile (never timed)

    def time_fits(self, case, dtype, side):
        self._call()
