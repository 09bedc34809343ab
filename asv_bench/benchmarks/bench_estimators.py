"""asv benchmarks: the drop-in estimator ``nmf_numba.NMF().fit`` against scikit-learn's
``sklearn.decomposition.NMF().fit``.

Both run with scikit-learn's default parameters (solver "cd", init "nndsvda", tol 1e-4,
max_iter 200) except ``n_components=16``: the default ``"auto"`` means ``n_features``
components, which nobody fits on data this size.  They take the same iterations (nmf_numba's
estimator stops on scikit-learn's rule), which ``track_n_iter`` records for both, and
``track_relative_error`` guards the quality of what is timed.

Data: dense 2000×1000, a rank-20 non-negative matrix plus noise, and CSR 20000×5000 at 1 %
density with tf-idf-like values (the generators of ``bench_tolerance``).  The fits the
``track_`` benchmarks read happen once, in asv's ``setup_cache``; ``setup`` of ``time_fit`` runs
nmf_numba's estimator for two iterations, so that Numba compilation is never timed.
``NMF_NUMBA_BENCH_SMOKE=1`` shrinks the shapes for ``tests/test_asv_smoke.py``.
"""

import functools
import os
import warnings


import nmf_numba

from .bench_tolerance import csr_tfidf, dense_lowrank

SMOKE = os.environ.get("NMF_NUMBA_BENCH_SMOKE", "") == "1"
SMOKE_DIVISOR = 10
N_COMPONENTS = 16
SHAPES = {"dense": (2000, 1000), "csr": (20000, 5000)}
CSR_DENSITY = 0.01


@functools.lru_cache(maxsize=4)
def _data(fmt, smoke):
    m, n = SHAPES[fmt]
    if smoke:
        m, n = max(8, m // SMOKE_DIVISOR), max(8, n // SMOKE_DIVISOR)
    return dense_lowrank(m, n) if fmt == "dense" else csr_tfidf(m, n, CSR_DENSITY * (
        10 if smoke else 1))


def _estimator(library, **options):
    if library == "nmf_numba":
        return nmf_numba.NMF(n_components=N_COMPONENTS, **options)
    from sklearn.decomposition import NMF

    return NMF(n_components=N_COMPONENTS, **options)


def _fit(library, X, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning
        return _estimator(library, **options).fit(X)


class EstimatorFit:
    """``NMF(n_components=16).fit(X)``, nmf_numba's and scikit-learn's, dense and CSR."""

    params = [["nmf_numba", "sklearn"], ["dense", "csr"]]
    param_names = ["library", "format"]
    number = 1
    repeat = 3
    timeout = 600.0

    def setup_cache(self):
        """``{(library, format): (n_iter, relative error)}`` of one fit each."""
        results = {}
        for library in self.params[0]:
            for fmt in self.params[1]:
                X = _data(fmt, SMOKE)
                fitted = _fit(library, X)
                error = nmf_numba.metrics.relative_error(X, fitted.transform(X),
                                                         fitted.components_)
                results[library, fmt] = (fitted.n_iter_, error)
        return results

    def setup(self, results, library, fmt):
        self.X = _data(fmt, SMOKE)
        if library == "nmf_numba":
            _fit(library, self.X, max_iter=2)  # compiles the kernels

    def time_fit(self, results, library, fmt):
        _fit(library, self.X)

    def track_n_iter(self, results, library, fmt):
        return results[library, fmt][0]

    track_n_iter.unit = "iterations"

    def track_relative_error(self, results, library, fmt):
        return results[library, fmt][1]

    track_relative_error.unit = "‖X − WH‖ / ‖X‖"
